//! Where a text's TeX formulas are: `$…$` and `\(…\)` inline, `$$…$$` and `\[…\]` on a line of
//! their own. Only the finding is here, since the inline parser needs it for every reply; turning a
//! formula into MathML is `chat_rich::math`'s, which loads when a reply first has one (see
//! `crate::rich`).

/// A formula found in a text: its byte range (delimiters included), its TeX, whether displayed.
pub type Found = (std::ops::Range<usize>, String, bool);

/// Finds formulas in one text (a paragraph's inline content), asked position by position by the
/// inline parser, which asks only where no code span, link or tag has taken the text.
///
/// `$…$` opens at a `$` not followed by a space and closes at the next `$` not after a space,
/// not before a digit and not part of `$$`, so that prices (`$5 and $10`) stay text; `$$…$$` and
/// `\(…\)` close at the next of their kind; `\[…\]` is math only on lines of its own (in a
/// sentence, `\[` is an escaped bracket). A backslash before a delimiter keeps it text. Every
/// closer is found once, when the finder is made; each question is then a binary search: linear
/// in the text however its delimiters are arranged.
pub struct MathFinder {
    /// Every closer of each kind, in order.
    dollar: Vec<usize>,
    double: Vec<usize>,
    paren: Vec<usize>,
    bracket: Vec<usize>,
}

impl MathFinder {
    /// The closers of `text`.
    pub fn new(text: &str) -> Self {
        let bytes = text.as_bytes();
        let escaped = |at: usize| is_escaped(bytes, at);
        let find = |what: &str| -> Vec<usize> {
            text.match_indices(what)
                .map(|(at, _)| at)
                .filter(|&at| !escaped(at))
                .collect()
        };
        let line_end = |at: usize| {
            let spaces = bytes[at..]
                .iter()
                .take_while(|&&byte| byte == b' ' || byte == b'\t')
                .count();
            bytes.get(at + spaces).is_none_or(|&byte| byte == b'\n')
        };
        MathFinder {
            dollar: find("$")
                .into_iter()
                .filter(|&at| {
                    at > 0
                        && !bytes[at - 1].is_ascii_whitespace()
                        && bytes[at - 1] != b'$'
                        && !bytes
                            .get(at + 1)
                            .is_some_and(|&byte| byte.is_ascii_digit() || byte == b'$')
                })
                .collect(),
            double: find("$$"),
            paren: find("\\)"),
            bracket: find("\\]")
                .into_iter()
                .filter(|&at| line_end(at + 2))
                .collect(),
        }
    }

    /// The formula that starts at `at` in `text` (the text the finder was made of), if one does.
    pub fn at(&self, text: &str, at: usize) -> Option<Found> {
        let bytes = text.as_bytes();
        if is_escaped(bytes, at) {
            return None;
        }
        let rest = &text[at..];
        let (open, close, display, closers) = if rest.starts_with("$$") {
            ("$$", "$$", true, &self.double)
        } else if rest.starts_with('$') {
            let first = bytes.get(at + 1)?;
            if first.is_ascii_whitespace() {
                return None;
            }
            ("$", "$", false, &self.dollar)
        } else if rest.starts_with("\\(") {
            ("\\(", "\\)", false, &self.paren)
        } else if rest.starts_with("\\[") && line_start(bytes, at) {
            ("\\[", "\\]", true, &self.bracket)
        } else {
            return None;
        };
        let inner = at + open.len();
        let end = *closers.get(closers.partition_point(|&closer| closer < inner))?;
        (end > inner).then(|| (at..end + close.len(), text[inner..end].to_owned(), display))
    }
}

/// Whether the byte at `at` is escaped by an odd run of backslashes before it.
fn is_escaped(bytes: &[u8], at: usize) -> bool {
    bytes[..at]
        .iter()
        .rev()
        .take_while(|&&byte| byte == b'\\')
        .count()
        % 2
        == 1
}

/// Whether only spaces come before `at` on its line.
fn line_start(bytes: &[u8], at: usize) -> bool {
    let spaces = bytes[..at]
        .iter()
        .rev()
        .take_while(|&&byte| byte == b' ' || byte == b'\t')
        .count();
    at == spaces || bytes[at - spaces - 1] == b'\n'
}

/// Every formula in `text`, as the inline parser would find them if nothing else took the text.
pub fn find_math(text: &str) -> Vec<Found> {
    let finder = MathFinder::new(text);
    let mut found = Vec::new();
    let mut at = 0;
    while at < text.len() {
        match finder.at(text, at) {
            Some(formula) => {
                at = formula.0.end;
                found.push(formula);
            }
            None => at += text[at..].chars().next().map_or(1, char::len_utf8),
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources(text: &str) -> Vec<(String, bool)> {
        find_math(text)
            .into_iter()
            .map(|(_, tex, display)| (tex, display))
            .collect()
    }

    #[test]
    fn finds_math_but_leaves_prices_alone() {
        assert_eq!(sources("It costs $5 and $10 today."), []);
        assert_eq!(
            sources("Let $x^2$ be, and \\(y\\) too."),
            [("x^2".to_owned(), false), ("y".to_owned(), false)]
        );
        assert_eq!(
            sources("$$\\sum_i i$$ and\n\\[a=b\\]"),
            [("\\sum_i i".to_owned(), true), ("a=b".to_owned(), true)]
        );
        assert_eq!(
            sources("an \\[escaped\\] bracket"),
            [],
            "in a sentence, not math"
        );
        assert_eq!(sources("\\$5 and $x$"), [("x".to_owned(), false)]);
        assert_eq!(sources("$ x$ and $x $ and $$"), []);
        assert_eq!(sources("$x$5"), [], "a closer before a digit is none");
        assert_eq!(sources("é$é$é"), [("é".to_owned(), false)]);
    }
}
