//! Citation markers in a reply's text: `[1]`, `[2]`... that refer to the sources the provider
//! sent beside the reply. Plain data; [`super::dom::link_citations`] links them in the DOM.

use std::ops::Range;

use chat_protocol::Source;

use super::url::host_of;

/// What a source is shown as, wherever it is linked: its title, else its host; `None` when it is
/// no web (http or https) address, and so is not linked at all.
pub fn label(source: &Source) -> Option<String> {
    let host = host_of(&source.url)?;
    Some(if source.title.is_empty() {
        host
    } else {
        source.title.clone()
    })
}

/// The markers `[n]` in `text` with `n` from 1 to `count`: each one's byte range and its `n`.
/// A number of more than three digits, zero, or above `count` is no marker; nor is a `[n]`
/// followed by `(` or `[`...`]`-then-`(` (that is a Markdown link, already made one).
pub fn markers(text: &str, count: usize) -> Vec<(Range<usize>, usize)> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(offset) = text[at..].find('[') {
        let start = at + offset;
        at = start + 1;
        let digits = bytes[at..]
            .iter()
            .take(4)
            .take_while(|byte| byte.is_ascii_digit())
            .count();
        let end = at + digits;
        if !(1..=3).contains(&digits) || bytes.get(end) != Some(&b']') {
            continue;
        }
        let Ok(n) = text[at..end].parse::<usize>() else {
            continue;
        };
        if (1..=count).contains(&n) && bytes.get(end + 1) != Some(&b'(') {
            found.push((start..end + 1, n));
            at = end + 1;
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_markers_within_the_sources() {
        let text = "Rust[1][2] is fast [3] and safe [10]; see [0], [x], [1234] and [2](link).";
        let found: Vec<_> = markers(text, 3)
            .into_iter()
            .map(|(range, n)| (&text[range], n))
            .collect();
        assert_eq!(found, [("[1]", 1), ("[2]", 2), ("[3]", 3)]);
        assert!(markers("[1]", 0).is_empty());
        assert!(markers("[", 3).is_empty());
        assert_eq!(markers("é[1]ü", 1)[0].0, 2..5);
    }
}
