//! Which link targets are allowed, decided on the URL's scheme as the browser's URL parser finds it
//! (WHATWG URL, "scheme state"): leading and trailing C0 controls and spaces are dropped, tabs and
//! newlines anywhere are removed, and the scheme is compared without case. Entities are already
//! decoded by the Markdown parser, so `&#106;avascript:` arrives here as `javascript:`.

/// The schemes a link may use.
const SAFE_SCHEMES: [&str; 3] = ["http", "https", "mailto"];

/// The URL's scheme in lower case, or `None` for a relative URL.
pub fn scheme(url: &str) -> Option<String> {
    let trimmed = url.trim_matches(|c: char| c <= ' ');
    let cleaned: String = trimmed
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    let (scheme, _) = cleaned.split_once(':')?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    let valid = first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then(|| scheme.to_ascii_lowercase())
}

/// Whether a link to `url` may be followed: absolute `http:`, `https:` or `mailto:` only.
pub fn is_safe_link(url: &str) -> bool {
    scheme(url).is_some_and(|scheme| SAFE_SCHEMES.contains(&scheme.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_as_the_browser_reads_them() {
        for safe in [
            "https://example.com",
            "HTTP://x",
            " mailto:a@b.c",
            "ht\ttps://x",
            "\u{1}https://x",
        ] {
            assert!(is_safe_link(safe), "{safe:?}");
        }
        for unsafe_url in [
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            " javascript:alert(1)",
            "java\tscript:alert(1)",
            "java\nscript:alert(1)",
            "\u{0}javascript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "vbscript:msgbox(1)",
            "/relative/path",
            "#anchor",
            "//example.com",
            "",
            "https",
        ] {
            assert!(!is_safe_link(unsafe_url), "{unsafe_url:?}");
        }
    }
}
