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

/// The host a link goes to, when its text reads as another address (`[your-bank.com/login]
/// (https://evil.example/)`): shown beside the text, so the person sees where it goes. `None` when
/// the text is no address, or names the target's host or a domain the target is under.
pub fn misleading_host(text: &str, href: &str) -> Option<String> {
    let target = host_of(href)?;
    let shown = shown_host(text)?;
    let bare = |host: &str| host.strip_prefix("www.").unwrap_or(host).to_owned();
    let (target_bare, shown_bare) = (bare(&target), bare(&shown));
    let same = target_bare == shown_bare || target_bare.ends_with(&format!(".{shown_bare}"));
    (!same).then_some(target)
}

/// The host of an `http:` or `https:` URL as the browser reads it (controls and spaces around it
/// and tabs and newlines in it dropped, any run of `/` and `\` after the scheme), in lower case,
/// without user name or port.
pub(crate) fn host_of(url: &str) -> Option<String> {
    if !matches!(scheme(url).as_deref(), Some("http" | "https")) {
        return None;
    }
    let cleaned: String = url
        .trim_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    let (_, rest) = cleaned.split_once(':')?;
    let rest = rest.trim_start_matches(['/', '\\']);
    let authority = rest.split(['/', '?', '#', '\\']).next()?;
    let host = authority.rsplit('@').next()?;
    let host = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// The host a link's text shows, when the whole text reads as an address: an optional `http://`
/// or `https://`, then a name of dot-separated labels ending in letters, then anything after a
/// `/`, `?` or `#`.
fn shown_host(text: &str) -> Option<String> {
    let text = text.trim();
    if text.chars().any(char::is_whitespace) {
        return None;
    }
    let lower = text.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
        .unwrap_or(&lower);
    let host = rest.split(['/', '?', '#']).next()?;
    let host = host.split(':').next()?;
    let labels: Vec<&str> = host.split('.').collect();
    let top = labels.last()?;
    let looks_like_host = labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        && top.len() >= 2
        && top.bytes().all(|b| b.is_ascii_alphabetic());
    looks_like_host.then(|| host.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_whose_text_names_another_host_is_told() {
        let cases = [
            (
                "your-site.com/account",
                "https://evil.example/steal",
                Some("evil.example"),
            ),
            (
                "https://bank.example",
                "https://bank.example.evil.test/",
                Some("bank.example.evil.test"),
            ),
            (
                "HTTPS://Shop.Example/cart",
                "https://user@evil.example:8443/x",
                Some("evil.example"),
            ),
            ("example.com", "https://www.example.com/about", None),
            ("www.example.com", "https://example.com", None),
            ("example.com", "https://docs.example.com/guide", None),
            ("the docs", "https://evil.example", None),
            ("read more", "https://example.com", None),
            ("v1.2", "https://example.com", None),
            ("a@b.example", "mailto:a@b.example", None),
            // Written the ways the browser reads as the same address.
            (
                "bank.example",
                "https:\\\\evil.example/",
                Some("evil.example"),
            ),
            (
                "bank.example",
                "ht\ttps://evil.example",
                Some("evil.example"),
            ),
            ("bank.example", " HTTPS:evil.example", Some("evil.example")),
            (
                "bank.example",
                "https:///evil.example",
                Some("evil.example"),
            ),
            ("example.com", "mailto:x@evil.example", None),
        ];
        for (text, href, expected) in cases {
            assert_eq!(
                misleading_host(text, href).as_deref(),
                expected,
                "{text} -> {href}"
            );
        }
    }

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
