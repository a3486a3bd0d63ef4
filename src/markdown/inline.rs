//! Inline Markdown (CommonMark's second phase): code spans, emphasis, strong emphasis and GFM
//! strikethrough by the delimiter-run rules, links and images (inline, reference and autolinks),
//! entities, backslash escapes and line breaks. Raw HTML is kept as the text it is.

use std::collections::BTreeMap;

use super::math::MathFinder;
use super::node::{link, Node};

/// Link reference definitions, by normalized label. The first definition of a label wins.
#[derive(Clone, Debug, Default)]
pub struct Definitions(BTreeMap<String, Definition>);

/// What a label is defined as, and where.
#[derive(Clone, Debug)]
struct Definition {
    destination: String,
    title: String,
    /// The offset of the paragraph the definition was made in.
    start: usize,
}

impl Definitions {
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The definitions made in paragraphs that start before `offset`.
    pub fn before(&self, offset: usize) -> Definitions {
        let mut made = self.0.clone();
        made.retain(|_, definition| definition.start < offset);
        Definitions(made)
    }

    fn get(&self, label: &str) -> Option<(String, String)> {
        if self.0.is_empty() || label.len() > 999 {
            return None;
        }
        let definition = self.0.get(&normalize_label(label))?;
        Some((definition.destination.clone(), definition.title.clone()))
    }
}

/// A label as definitions and references are matched: whitespace collapsed, the case of ASCII
/// letters ignored. (CommonMark folds the case of every letter; Unicode's case tables would add
/// several KB to the widget for labels that differ only in the case of other letters.)
fn normalize_label(label: &str) -> String {
    label
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_lowercase()
}

/// Takes the link reference definitions at the start of the text of a paragraph that starts at
/// `start` into `definitions`; returns the text after them.
pub fn take_definitions(text: &str, start: usize, definitions: &mut Definitions) -> String {
    let mut position = 0;
    while let Some((end, label, destination, title)) = definition(text, position) {
        definitions.0.entry(label).or_insert(Definition {
            destination,
            title,
            start,
        });
        position = end;
    }
    text[position..].to_owned()
}

/// One definition (`[label]: destination "title"`) at `start`: where it ends, and its parts.
fn definition(text: &str, start: usize) -> Option<(usize, String, String, String)> {
    let (label, mut position) = link_label(text, start)?;
    if label.trim().is_empty() {
        return None;
    }
    position = text[position..].strip_prefix(':').map(|_| position + 1)?;
    position = skip_whitespace(text, position, true);
    let (destination, after_destination) = destination(text, position)?;
    if destination.is_empty() && !text[position..].starts_with('<') {
        return None;
    }
    let destination = unescape(destination);
    let label = normalize_label(label);
    // A title, on the same line or the next, must end its line.
    let title_start = skip_whitespace(text, after_destination, true);
    if title_start > after_destination {
        if let Some((title, after_title)) = title(text, title_start) {
            if let Some(end) = line_end(text, after_title) {
                return Some((end, label, destination, unescape(title)));
            }
        }
    }
    let end = line_end(text, after_destination)?;
    Some((end, label, destination, String::new()))
}

/// The end of the line at `position` (past its newline) if only spaces and tabs are left on it.
fn line_end(text: &str, position: usize) -> Option<usize> {
    let rest = &text[position..];
    let line = rest.find('\n').map_or(rest, |newline| &rest[..newline]);
    if !line.bytes().all(|b| b == b' ' || b == b'\t') {
        return None;
    }
    Some((position + line.len() + 1).min(text.len()))
}

/// Skips spaces and tabs, and with `newline` at most one line ending.
fn skip_whitespace(text: &str, mut position: usize, newline: bool) -> usize {
    let bytes = text.as_bytes();
    let mut newlines = 0;
    while let Some(&byte) = bytes.get(position) {
        match byte {
            b' ' | b'\t' => {}
            b'\n' if newline && newlines == 0 => newlines += 1,
            _ => break,
        }
        position += 1;
    }
    position
}

/// A link label (`[...]`, no unescaped brackets inside, at most 999 characters) at `start`: its
/// text and where it ends.
fn link_label(text: &str, start: usize) -> Option<(&str, usize)> {
    let bytes = text.as_bytes();
    if bytes.get(start) != Some(&b'[') {
        return None;
    }
    let mut position = start + 1;
    while let Some(&byte) = bytes.get(position) {
        match byte {
            b'\\' => position += 1,
            b'[' => return None,
            b']' => {
                let label = &text[start + 1..position];
                return (label.len() <= 999).then_some((label, position + 1));
            }
            _ => {}
        }
        position += 1;
    }
    None
}

/// A link destination at `start`: `<...>`, or text without spaces with balanced parentheses.
/// Returns it raw (escapes and entities not yet decoded) and where it ends.
fn destination(text: &str, start: usize) -> Option<(&str, usize)> {
    let bytes = text.as_bytes();
    if bytes.get(start) == Some(&b'<') {
        let mut position = start + 1;
        while let Some(&byte) = bytes.get(position) {
            match byte {
                b'\\' => position += 1,
                b'\n' | b'<' => return None,
                b'>' => return Some((&text[start + 1..position], position + 1)),
                _ => {}
            }
            position += 1;
        }
        return None;
    }
    let mut position = start;
    let mut depth = 0usize;
    while let Some(&byte) = bytes.get(position) {
        match byte {
            b'\\'
                if bytes
                    .get(position + 1)
                    .is_some_and(u8::is_ascii_punctuation) =>
            {
                position += 1
            }
            // Deeper nesting is not a destination (as CommonMark allows): a failed link scans
            // no further than this.
            b'(' if depth == 32 => return None,
            b'(' => depth += 1,
            b')' if depth == 0 => break,
            b')' => depth -= 1,
            byte if byte <= b' ' || byte == 0x7f => break,
            _ => {}
        }
        position += 1;
    }
    (depth == 0).then_some((&text[start..position], position))
}

/// A link title at `start` (`"..."`, `'...'` or `(...)`): raw, and where it ends.
fn title(text: &str, start: usize) -> Option<(&str, usize)> {
    let bytes = text.as_bytes();
    let close = match bytes.get(start)? {
        b'"' => b'"',
        b'\'' => b'\'',
        b'(' => b')',
        _ => return None,
    };
    let mut position = start + 1;
    while let Some(&byte) = bytes.get(position) {
        if byte == b'\\' {
            position += 2;
            continue;
        }
        if byte == close {
            return Some((&text[start + 1..position], position + 1));
        }
        if close == b')' && byte == b'(' {
            return None;
        }
        position += 1;
    }
    None
}

/// Decodes backslash escapes and entities.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut position = 0;
    let bytes = text.as_bytes();
    while position < text.len() {
        let byte = bytes[position];
        if byte == b'\\'
            && bytes
                .get(position + 1)
                .is_some_and(u8::is_ascii_punctuation)
        {
            out.push(bytes[position + 1] as char);
            position += 2;
        } else if let Some((decoded, length)) =
            (byte == b'&').then(|| entity(&text[position..])).flatten()
        {
            out.push_str(&decoded);
            position += length;
        } else {
            let character = text[position..].chars().next().expect("on a boundary");
            out.push(character);
            position += character.len_utf8();
        }
    }
    out
}

/// Named entities decoded here; others stay as written.
const ENTITIES: [(&str, &str); 78] = [
    ("amp", "&"),
    ("lt", "<"),
    ("gt", ">"),
    ("quot", "\""),
    ("apos", "'"),
    ("nbsp", "\u{a0}"),
    ("copy", "©"),
    ("reg", "®"),
    ("trade", "™"),
    ("hellip", "…"),
    ("mdash", "—"),
    ("ndash", "–"),
    ("lsquo", "‘"),
    ("rsquo", "’"),
    ("ldquo", "“"),
    ("rdquo", "”"),
    ("sbquo", "‚"),
    ("bdquo", "„"),
    ("laquo", "«"),
    ("raquo", "»"),
    ("lsaquo", "‹"),
    ("rsaquo", "›"),
    ("middot", "·"),
    ("bull", "•"),
    ("times", "×"),
    ("divide", "÷"),
    ("deg", "°"),
    ("plusmn", "±"),
    ("micro", "µ"),
    ("para", "¶"),
    ("sect", "§"),
    ("euro", "€"),
    ("pound", "£"),
    ("yen", "¥"),
    ("cent", "¢"),
    ("larr", "←"),
    ("rarr", "→"),
    ("uarr", "↑"),
    ("darr", "↓"),
    ("harr", "↔"),
    ("lArr", "⇐"),
    ("rArr", "⇒"),
    ("hArr", "⇔"),
    ("le", "≤"),
    ("ge", "≥"),
    ("ne", "≠"),
    ("asymp", "≈"),
    ("equiv", "≡"),
    ("infin", "∞"),
    ("minus", "−"),
    ("prime", "′"),
    ("Prime", "″"),
    ("frac12", "½"),
    ("frac14", "¼"),
    ("frac34", "¾"),
    ("sup2", "²"),
    ("sup3", "³"),
    ("alpha", "α"),
    ("beta", "β"),
    ("gamma", "γ"),
    ("delta", "δ"),
    ("pi", "π"),
    ("sigma", "σ"),
    ("mu", "μ"),
    ("lambda", "λ"),
    ("theta", "θ"),
    ("omega", "ω"),
    ("Delta", "Δ"),
    ("Sigma", "Σ"),
    ("Omega", "Ω"),
    ("check", "✓"),
    ("iexcl", "¡"),
    ("iquest", "¿"),
    ("shy", "\u{ad}"),
    ("ensp", "\u{2002}"),
    ("emsp", "\u{2003}"),
    ("thinsp", "\u{2009}"),
    ("colon", ":"),
];

/// An entity at the start of `text` (`&name;`, `&#123;`, `&#x1F;`): its text and its length.
fn entity(text: &str) -> Option<(String, usize)> {
    let body = text.strip_prefix('&')?;
    let end = body.bytes().take(33).position(|b| b == b';')?;
    let name = &body[..end];
    let decoded = if let Some(number) = name.strip_prefix('#') {
        let (digits, radix, most) = match number.strip_prefix(['x', 'X']) {
            Some(hex) => (hex, 16, 6),
            None => (number, 10, 7),
        };
        if digits.is_empty() || digits.len() > most || !digits.chars().all(|c| c.is_digit(radix)) {
            return None;
        }
        let code = u32::from_str_radix(digits, radix).ok()?;
        let character = char::from_u32(code)
            .filter(|&c| c != '\0')
            .unwrap_or('\u{fffd}');
        character.to_string()
    } else {
        let (_, value) = ENTITIES.iter().find(|(known, _)| *known == name)?;
        (*value).to_owned()
    };
    Some((decoded, end + 2))
}

/// The length of a complete HTML tag (open, closing or comment) at the start of `text`.
pub fn html_tag(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    if bytes.first() != Some(&b'<') {
        return None;
    }
    if let Some(comment) = text.strip_prefix("<!--") {
        return comment.find("-->").map(|end| 4 + end + 3);
    }
    let name = |position: usize| {
        let mut end = position;
        if !bytes.get(end).is_some_and(u8::is_ascii_alphabetic) {
            return None;
        }
        while bytes
            .get(end)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'-')
        {
            end += 1;
        }
        Some(end)
    };
    let space = |mut position: usize| {
        while bytes.get(position).is_some_and(u8::is_ascii_whitespace) {
            position += 1;
        }
        position
    };
    if bytes.get(1) == Some(&b'/') {
        let end = space(name(2)?);
        return (bytes.get(end) == Some(&b'>')).then_some(end + 1);
    }
    let mut position = name(1)?;
    loop {
        let after_space = space(position);
        match bytes.get(after_space)? {
            b'>' => return Some(after_space + 1),
            b'/' => return (bytes.get(after_space + 1) == Some(&b'>')).then_some(after_space + 2),
            _ if after_space == position => return None,
            b if b.is_ascii_alphabetic() || *b == b'_' || *b == b':' => {
                position = after_space + 1;
                while bytes
                    .get(position)
                    .is_some_and(|b| b.is_ascii_alphanumeric() || b"_.:-".contains(b))
                {
                    position += 1;
                }
                let equals = space(position);
                if bytes.get(equals) == Some(&b'=') {
                    let value = space(equals + 1);
                    position = match bytes.get(value)? {
                        quote @ (b'"' | b'\'') => {
                            value + 1 + text[value + 1..].find(*quote as char)? + 1
                        }
                        _ => {
                            let mut end = value;
                            while bytes.get(end).is_some_and(|b| {
                                !b.is_ascii_whitespace() && !b"\"'=<>`".contains(b)
                            }) {
                                end += 1;
                            }
                            if end == value {
                                return None;
                            }
                            end
                        }
                    };
                }
            }
            _ => return None,
        }
    }
}

/// An autolink at the start of `text` (`<https://...>`, `<a@b.c>`): its target, its text and its
/// length.
fn autolink(text: &str) -> Option<(String, String, usize)> {
    let body = text.strip_prefix('<')?;
    // An autolink holds no spaces, controls or `<`: the scan stops at the first.
    let end = body
        .bytes()
        .position(|b| b == b'>' || b <= b' ' || b == b'<' || b == 0x7f)?;
    if end == 0 || body.as_bytes()[end] != b'>' {
        return None;
    }
    let inner = &body[..end];
    if let Some((scheme, _)) = inner.split_once(':') {
        let mut characters = scheme.chars();
        let valid = (2..=32).contains(&scheme.len())
            && characters.next().is_some_and(|c| c.is_ascii_alphabetic())
            && characters.all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c));
        if valid {
            return Some((inner.to_owned(), inner.to_owned(), end + 2));
        }
    }
    let (local, domain) = inner.split_once('@')?;
    let local_ok = !local.is_empty()
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".!#$%&'*+/=?^_`{|}~-".contains(c));
    let domain_ok = domain.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    });
    (local_ok && domain_ok).then(|| (format!("mailto:{inner}"), inner.to_owned(), end + 2))
}

/// A piece of a paragraph's inline content while delimiters are being matched.
enum Piece {
    Text(String),
    /// A node, and how deeply its elements nest.
    Node(Node, usize),
    /// A run of `*`, `_` or `~` that may open or close emphasis.
    Delimiter {
        character: u8,
        count: usize,
        /// The run's length as written (for the "multiple of 3" rule).
        length: usize,
        open: bool,
        close: bool,
    },
    /// A `[` or `![` that may start a link or an image.
    Bracket {
        image: bool,
        /// Where the link text starts in the source.
        text_start: usize,
    },
}

/// Emphasis and links nested deeper than this stay text: the nodes stay shallow enough to walk
/// recursively.
const MAX_DEPTH: usize = 32;

impl Piece {
    fn node(node: Node) -> Piece {
        Piece::Node(node, 1)
    }

    fn depth(&self) -> usize {
        match self {
            Piece::Node(_, depth) => *depth,
            _ => 0,
        }
    }
}

/// The depth of an element around `pieces`.
fn depth_around(pieces: &[Piece]) -> usize {
    1 + pieces.iter().map(Piece::depth).max().unwrap_or(0)
}

/// Parses inline text into nodes.
pub fn parse(text: &str, definitions: &Definitions) -> Vec<Node> {
    let mut parser = Inline {
        text,
        definitions,
        pieces: Vec::new(),
        brackets: Vec::new(),
        inactive: 0,
        backtick_runs: None,
        comments_end: false,
        math: None,
    };
    parser.run();
    let mut pieces = parser.pieces;
    process_emphasis(&mut pieces, 0);
    into_nodes(pieces)
}

struct Inline<'a> {
    text: &'a str,
    definitions: &'a Definitions,
    pieces: Vec<Piece>,
    /// Indices in `pieces` of open brackets, innermost last.
    brackets: Vec<usize>,
    /// The brackets below this height were open when a link closed: they can no longer make a
    /// link (links do not nest), only an image.
    inactive: usize,
    /// For each length of a run of backticks, where the last such run starts (found once, so that
    /// a code span without a closing run costs no scan to the end of the text).
    backtick_runs: Option<BTreeMap<usize, usize>>,
    /// No `-->` follows: no later `<!--` can be a comment.
    comments_end: bool,
    /// The closers of formulas, found once, when the text first has an opener.
    math: Option<MathFinder>,
}

impl Inline<'_> {
    fn run(&mut self) {
        let text = self.text;
        let bytes = text.as_bytes();
        let mut position = 0;
        let mut plain = 0;
        while position < bytes.len() {
            if !b"\\`*_~![]<&\n$".contains(&bytes[position]) {
                position += 1;
                continue;
            }
            self.push_text(&text[plain..position]);
            position = self.special(position);
            plain = position;
        }
        self.push_text(&text[plain..]);
    }

    /// Handles the special character at `position`; returns where plain text resumes.
    fn special(&mut self, position: usize) -> usize {
        let text = self.text;
        let bytes = text.as_bytes();
        // A formula that starts here.
        let opens = match bytes[position] {
            b'$' => true,
            b'\\' => matches!(bytes.get(position + 1), Some(b'(' | b'[')),
            _ => false,
        };
        if opens {
            let finder = self.math.get_or_insert_with(|| MathFinder::new(text));
            if let Some((range, tex, display)) = finder.at(text, position) {
                self.pieces.push(Piece::node(Node::Math {
                    tex,
                    display,
                    raw: text[range.clone()].to_owned(),
                }));
                return range.end;
            }
        }
        match bytes[position] {
            b'\\' => match bytes.get(position + 1) {
                Some(b'\n') => {
                    self.pieces
                        .push(Piece::node(Node::element("br", Vec::new())));
                    position + 2
                }
                Some(next) if next.is_ascii_punctuation() => {
                    self.push_text(&text[position + 1..position + 2]);
                    position + 2
                }
                _ => {
                    self.push_text("\\");
                    position + 1
                }
            },
            b'`' => self.code_span(position),
            b'*' | b'_' | b'~' => self.delimiter_run(position),
            b'!' if bytes.get(position + 1) == Some(&b'[') => {
                self.brackets.push(self.pieces.len());
                self.pieces.push(Piece::Bracket {
                    image: true,
                    text_start: position + 2,
                });
                position + 2
            }
            b'[' => {
                self.brackets.push(self.pieces.len());
                self.pieces.push(Piece::Bracket {
                    image: false,
                    text_start: position + 1,
                });
                position + 1
            }
            b']' => self.close_bracket(position),
            b'<' => {
                if let Some((target, shown, length)) = autolink(&text[position..]) {
                    let node = link(target, String::new(), vec![Node::Text(shown)]);
                    self.pieces.push(Piece::node(node));
                    position + length
                } else if let Some(length) = self.raw_html(position) {
                    self.push_text(&text[position..position + length]);
                    position + length
                } else {
                    self.push_text("<");
                    position + 1
                }
            }
            b'&' => match entity(&text[position..]) {
                Some((decoded, length)) => {
                    self.push_text(&decoded);
                    position + length
                }
                None => {
                    self.push_text("&");
                    position + 1
                }
            },
            b'\n' => {
                // Two spaces or more before a line ending make a hard break.
                let mut spaces = 0;
                if let Some(Piece::Text(last)) = self.pieces.last_mut() {
                    let kept = last.trim_end_matches(' ').len();
                    spaces = last.len() - kept;
                    last.truncate(kept);
                }
                if spaces >= 2 {
                    self.pieces
                        .push(Piece::node(Node::element("br", Vec::new())));
                } else {
                    self.push_text("\n");
                }
                position + 1
            }
            _ => {
                self.push_text(&text[position..position + 1]);
                position + 1
            }
        }
    }

    fn push_text(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        match self.pieces.last_mut() {
            Some(Piece::Text(last)) => last.push_str(text),
            _ => self.pieces.push(Piece::Text(text.to_owned())),
        }
    }

    /// A code span, or the backticks as text when no run of the same length closes it.
    fn code_span(&mut self, start: usize) -> usize {
        let bytes = self.text.as_bytes();
        let length = bytes[start..].iter().take_while(|&&b| b == b'`').count();
        let runs = self
            .backtick_runs
            .get_or_insert_with(|| backtick_runs(bytes));
        if runs.get(&length).is_none_or(|&last| last <= start) {
            // No run of the same length follows: the backticks are text.
            self.push_text(&self.text[start..start + length]);
            return start + length;
        }
        // A closing run follows, and the text up to it is taken: the scan costs what it takes.
        let mut position = start + length;
        while position < bytes.len() {
            if bytes[position] != b'`' {
                position += 1;
                continue;
            }
            let run = bytes[position..].iter().take_while(|&&b| b == b'`').count();
            if run == length {
                let code = self.text[start + length..position].replace('\n', " ");
                let code = match code.strip_prefix(' ').and_then(|c| c.strip_suffix(' ')) {
                    Some(inner) if !code.bytes().all(|b| b == b' ') => inner.to_owned(),
                    _ => code,
                };
                self.pieces.push(Piece::node(Node::Element {
                    tag: "code",
                    attrs: Vec::new(),
                    children: vec![Node::Text(code)],
                }));
                return position + run;
            }
            position += run;
        }
        self.push_text(&self.text[start..start + length]);
        start + length
    }

    /// The length of raw HTML (a tag or a comment) at `position`.
    fn raw_html(&mut self, position: usize) -> Option<usize> {
        let rest = &self.text[position..];
        let comment = rest.starts_with("<!--");
        if comment && self.comments_end {
            return None;
        }
        let found = html_tag(rest);
        self.comments_end |= comment && found.is_none();
        found
    }

    /// A run of `*`, `_` or `~`, with whether it can open or close emphasis.
    fn delimiter_run(&mut self, start: usize) -> usize {
        let text = self.text;
        let character = text.as_bytes()[start];
        let length = text.as_bytes()[start..]
            .iter()
            .take_while(|&&b| b == character)
            .count();
        let end = start + length;
        if character == b'~' && length > 2 {
            self.push_text(&text[start..end]);
            return end;
        }
        let before = text[..start].chars().next_back();
        let after = text[end..].chars().next();
        let space = |c: Option<char>| c.is_none_or(char::is_whitespace);
        let punctuation = |c: Option<char>| c.is_some_and(is_punctuation);
        let left = !space(after) && (!punctuation(after) || space(before) || punctuation(before));
        let right = !space(before) && (!punctuation(before) || space(after) || punctuation(after));
        let (open, close) = match (character, length) {
            // `~~` opens before anything but whitespace, inside words too.
            (b'~', 2) => (!space(after), right),
            // `_` and a single `~` do not open or close inside a word.
            (b'_', _) | (b'~', _) => (
                left && (!right || punctuation(before)),
                right && (!left || punctuation(after)),
            ),
            _ => (left, right),
        };
        self.pieces.push(Piece::Delimiter {
            character,
            count: length,
            length,
            open,
            close,
        });
        end
    }

    /// A `]`: closes a link or image when a destination or a defined label follows.
    fn close_bracket(&mut self, position: usize) -> usize {
        let Some(opener) = self.brackets.pop() else {
            self.push_text("]");
            return position + 1;
        };
        let Piece::Bracket { image, text_start } = self.pieces[opener] else {
            unreachable!("brackets index bracket pieces")
        };
        let active = image || self.brackets.len() >= self.inactive;
        self.inactive = self.inactive.min(self.brackets.len());
        let target = active.then(|| self.target(text_start, position)).flatten();
        let Some((destination, title, end)) = target else {
            self.push_text("]");
            return position + 1;
        };
        process_emphasis(&mut self.pieces, opener + 1);
        let depth = depth_around(&self.pieces[opener + 1..]);
        if depth > MAX_DEPTH {
            self.push_text("]");
            return position + 1;
        }
        let children = into_nodes(self.pieces.drain(opener + 1..).collect());
        self.pieces.pop();
        let node = if image {
            Node::Image {
                src: destination,
                alt: children.iter().map(Node::text).collect(),
            }
        } else {
            // No links in links: the brackets still open can no longer make one.
            self.inactive = self.brackets.len();
            link(destination, title, children)
        };
        self.pieces.push(Piece::Node(node, depth));
        end
    }

    /// What follows the `]` at `close`: an inline destination and title, or a reference to a
    /// definition. Returns the destination, the title and where the link ends.
    fn target(&self, text_start: usize, close: usize) -> Option<(String, String, usize)> {
        let text = self.text;
        let after = close + 1;
        if text[after..].starts_with('(') {
            if let Some(found) = inline_target(text, after + 1) {
                return Some(found);
            }
        }
        let (label, end) = match link_label(text, after) {
            Some((label, end)) if !label.is_empty() => (label, end),
            // `[text][]` and `[text]` refer to their text.
            Some((_, end)) => (&text[text_start..close], end),
            None => (&text[text_start..close], after),
        };
        let (destination, title) = self.definitions.get(label)?;
        Some((destination, title, end))
    }
}

/// For each length of a run of backticks in `bytes`, where the last such run starts.
fn backtick_runs(bytes: &[u8]) -> BTreeMap<usize, usize> {
    let mut runs = BTreeMap::new();
    let mut position = 0;
    while position < bytes.len() {
        if bytes[position] == b'`' {
            let run = bytes[position..].iter().take_while(|&&b| b == b'`').count();
            runs.insert(run, position);
            position += run;
        } else {
            position += 1;
        }
    }
    runs
}

/// An inline link's `(destination "title")`, from just after the `(`.
fn inline_target(text: &str, start: usize) -> Option<(String, String, usize)> {
    let bytes = text.as_bytes();
    let mut position = skip_any_whitespace(text, start);
    if bytes.get(position) == Some(&b')') {
        return Some((String::new(), String::new(), position + 1));
    }
    let (raw, end) = destination(text, position)?;
    let destination = unescape(raw);
    position = skip_any_whitespace(text, end);
    let mut title_text = String::new();
    if position > end {
        if let Some((raw, end)) = title(text, position) {
            title_text = unescape(raw);
            position = skip_any_whitespace(text, end);
        }
    }
    (bytes.get(position) == Some(&b')')).then(|| (destination, title_text, position + 1))
}

fn skip_any_whitespace(text: &str, mut position: usize) -> usize {
    while text
        .as_bytes()
        .get(position)
        .is_some_and(u8::is_ascii_whitespace)
    {
        position += 1;
    }
    position
}

/// The blocks of punctuation and symbols outside ASCII (Unicode's P and S categories, which
/// CommonMark counts as punctuation around delimiter runs), by their main blocks rather than
/// Unicode's full tables.
const PUNCTUATION: [(char, char); 22] = [
    ('\u{a1}', '\u{a9}'),     // Latin-1 punctuation and symbols: ¡ ¢ £ § ©
    ('\u{ab}', '\u{ac}'),     // « ¬
    ('\u{ae}', '\u{b1}'),     // ® ¯ ° ±
    ('\u{b4}', '\u{b4}'),     // ´
    ('\u{b6}', '\u{b8}'),     // ¶ · ¸
    ('\u{bb}', '\u{bb}'),     // »
    ('\u{bf}', '\u{bf}'),     // ¿
    ('\u{d7}', '\u{d7}'),     // ×
    ('\u{f7}', '\u{f7}'),     // ÷
    ('\u{60c}', '\u{60d}'),   // Arabic comma
    ('\u{61b}', '\u{61f}'),   // Arabic semicolon and question mark
    ('\u{66a}', '\u{66d}'),   // Arabic percent sign and separators
    ('\u{6d4}', '\u{6d4}'),   // Arabic full stop
    ('\u{2010}', '\u{2027}'), // dashes, quotation marks, bullets, ellipsis
    ('\u{2030}', '\u{205e}'), // per mille, primes, guillemets, reference marks
    ('\u{20a0}', '\u{20cf}'), // currency signs
    ('\u{2100}', '\u{2bff}'), // letterlike symbols, arrows, mathematical operators, shapes
    ('\u{2e00}', '\u{2e7f}'), // supplemental punctuation
    ('\u{3001}', '\u{303f}'), // CJK punctuation
    ('\u{ff01}', '\u{ff0f}'), // fullwidth punctuation
    ('\u{ff1a}', '\u{ff20}'),
    ('\u{1f000}', '\u{1faff}'), // emoji and pictographs
];

/// Punctuation or a symbol, as CommonMark counts them for delimiter runs.
fn is_punctuation(character: char) -> bool {
    if character.is_ascii() {
        character.is_ascii_punctuation()
    } else {
        PUNCTUATION
            .iter()
            .any(|&(first, last)| (first..=last).contains(&character))
    }
}

/// Matches emphasis delimiters in `pieces[bottom..]` (CommonMark's "process emphasis"). The
/// pieces are taken back one by one onto `pieces` as onto a stack, so a match only moves what it
/// wraps.
fn process_emphasis(pieces: &mut Vec<Piece>, bottom: usize) {
    let rest: Vec<Piece> = pieces.drain(bottom..).collect();
    // For each kind of closer, the index below which no opener can match it: a search that
    // failed once is not repeated, so the time stays linear.
    let mut openers_bottom = [bottom; 18];
    for piece in rest {
        pieces.push(piece);
        while close_emphasis(pieces, &mut openers_bottom) {}
    }
}

/// Matches the last piece, if it is a closing delimiter, with an opener before it. Returns whether
/// the last piece is still a closing delimiter with more to match.
fn close_emphasis(pieces: &mut Vec<Piece>, openers_bottom: &mut [usize; 18]) -> bool {
    let closer = pieces.len() - 1;
    let Piece::Delimiter {
        character,
        count: closer_count,
        length: closer_length,
        open: closer_open,
        close: true,
    } = pieces[closer]
    else {
        return false;
    };
    let kind = match character {
        b'*' => 0,
        b'_' => 6,
        _ => 12,
    } + usize::from(closer_open) * 3
        + if character == b'~' {
            closer_count
        } else {
            closer_length % 3
        };
    let opener = (openers_bottom[kind]..closer)
        .rev()
        .find(|&index| match pieces[index] {
            Piece::Delimiter {
                character: c,
                count,
                length,
                open: true,
                close,
            } if c == character => {
                if character == b'~' {
                    count == closer_count
                } else {
                    let both = close || closer_open;
                    !(both
                        && (length + closer_length) % 3 == 0
                        && !(length % 3 == 0 && closer_length % 3 == 0))
                }
            }
            _ => false,
        })
        .filter(|&opener| depth_around(&pieces[opener + 1..closer]) <= MAX_DEPTH);
    let Some(opener) = opener else {
        openers_bottom[kind] = closer;
        return false;
    };
    let Piece::Delimiter {
        count: opener_count,
        ..
    } = pieces[opener]
    else {
        unreachable!("found above")
    };
    let used = if character == b'~' {
        closer_count
    } else if opener_count >= 2 && closer_count >= 2 {
        2
    } else {
        1
    };
    let tag = match (character, used) {
        (b'~', _) => "del",
        (_, 2) => "strong",
        _ => "em",
    };
    let closer_piece = pieces.pop().expect("the closer");
    let inner: Vec<Piece> = pieces.drain(opener + 1..).collect();
    let depth = depth_around(&inner);
    let element = Node::Element {
        tag,
        attrs: Vec::new(),
        children: into_nodes(inner),
    };
    if opener_count == used {
        pieces.pop();
    } else if let Piece::Delimiter { count, .. } = &mut pieces[opener] {
        *count -= used;
    }
    pieces.push(Piece::Node(element, depth));
    // What lay between the opener and the closer is one node now: no search may start above it.
    let top = pieces.len() - 1;
    for bottom in openers_bottom.iter_mut() {
        *bottom = (*bottom).min(top);
    }
    if closer_count == used {
        return false;
    }
    let mut closer_piece = closer_piece;
    if let Piece::Delimiter { count, .. } = &mut closer_piece {
        *count -= used;
    }
    pieces.push(closer_piece);
    true
}

/// The nodes of matched pieces; what did not match is text.
fn into_nodes(pieces: Vec<Piece>) -> Vec<Node> {
    let mut nodes: Vec<Node> = Vec::new();
    for piece in pieces {
        let node = match piece {
            Piece::Node(node, _) => node,
            Piece::Text(text) => Node::Text(text),
            Piece::Delimiter {
                character, count, ..
            } => Node::Text((character as char).to_string().repeat(count)),
            Piece::Bracket { image, .. } => Node::Text(if image { "![" } else { "[" }.to_owned()),
        };
        match (nodes.last_mut(), node) {
            (Some(Node::Text(last)), Node::Text(text)) => last.push_str(&text),
            (_, node) => nodes.push(node),
        }
    }
    nodes
}
