//! Syntax highlighting for a reply's fenced code: the code split into tokens of a few kinds, for
//! the languages replies carry most (JavaScript and TypeScript, Python, Rust, JSON, shell, HTML
//! and XML, CSS, SQL, Go, Java, C and C++, C#, YAML, diffs). A language it does not know gets no
//! tokens and stays plain.
//!
//! One pass over the bytes, in which every step consumes at least one byte and looks ahead a
//! bounded distance: time linear in the code, whatever it holds (an unclosed string or comment
//! runs to the end once). Token boundaries fall on ASCII bytes or the end, so on character
//! boundaries. Plain data, tested natively; the DOM layer turns tokens into spans.

use alloc::vec;
use alloc::vec::Vec;
use core::ops::Range;

/// A token's kind; each is styled by a theme custom property.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Token {
    /// A keyword of the language.
    Keyword,
    /// A string or character literal.
    String,
    /// A comment.
    Comment,
    /// A number (and a CSS colour or dimension).
    Number,
    /// `true`, `false`, `null` and the like.
    Literal,
    /// A type (a capitalised name), a tag, a CSS selector.
    Type,
    /// An attribute, a property, an object key.
    Attribute,
    /// A preprocessor line, a decorator, a shell variable, a diff's header.
    Meta,
    /// A diff's added line.
    Inserted,
    /// A diff's removed line.
    Deleted,
}

impl Token {
    /// Every kind, in the order of their numbers (`token as u8`).
    pub const ALL: [Token; 10] = [
        Token::Keyword,
        Token::String,
        Token::Comment,
        Token::Number,
        Token::Literal,
        Token::Type,
        Token::Attribute,
        Token::Meta,
        Token::Inserted,
        Token::Deleted,
    ];

    /// The class of the span that shows it.
    pub fn class(self) -> &'static str {
        match self {
            Token::Keyword => "cw-tok-keyword",
            Token::String => "cw-tok-string",
            Token::Comment => "cw-tok-comment",
            Token::Number => "cw-tok-number",
            Token::Literal => "cw-tok-literal",
            Token::Type => "cw-tok-type",
            Token::Attribute => "cw-tok-attribute",
            Token::Meta => "cw-tok-meta",
            Token::Inserted => "cw-tok-inserted",
            Token::Deleted => "cw-tok-deleted",
        }
    }
}

/// How each language the highlighter knows is read.
#[derive(Clone, Copy)]
enum Language {
    /// By the generic lexer, with `SYNTAXES[n]`.
    Lexed(usize),
    Diff,
    Markup,
    Css,
    Yaml,
}

/// The names a fence gives each language the highlighter knows (in any case), separated by
/// spaces. Apart from the syntaxes themselves, so that [`knows`] costs only these words.
const LANGUAGES: &[(&str, Language)] = &[
    (
        "js javascript jsx mjs cjs ts typescript tsx node",
        Language::Lexed(0),
    ),
    ("py python python3 py3", Language::Lexed(1)),
    ("rs rust", Language::Lexed(2)),
    ("json jsonc json5 geojson", Language::Lexed(3)),
    (
        "sh bash shell zsh console shellsession ksh",
        Language::Lexed(4),
    ),
    (
        "sql mysql postgresql postgres psql sqlite plsql tsql",
        Language::Lexed(5),
    ),
    ("go golang", Language::Lexed(6)),
    ("java kotlin kt scala", Language::Lexed(7)),
    (
        "c h cpp c++ cc cxx hpp hh hxx objc arduino",
        Language::Lexed(8),
    ),
    ("cs csharp c# dotnet", Language::Lexed(9)),
    ("diff patch", Language::Diff),
    ("html htm xml svg xhtml", Language::Markup),
    ("css scss less", Language::Css),
    ("yaml yml", Language::Yaml),
];

fn language(name: &str) -> Option<Language> {
    let name = name.to_ascii_lowercase();
    LANGUAGES
        .iter()
        .find(|(names, _)| names.split(' ').any(|known| known == name))
        .map(|&(_, language)| language)
}

/// Whether `language` (a fence's first word, in any case) is one the highlighter knows.
pub fn knows(language: &str) -> bool {
    self::language(language).is_some()
}

/// The tokens of `code` in `language` (a fence's first word, in any case), in order and apart.
pub fn highlight(language: &str, code: &str) -> Vec<(Range<usize>, Token)> {
    match self::language(language) {
        None => Vec::new(),
        Some(Language::Diff) => diff(code),
        Some(Language::Markup) => markup(code),
        Some(Language::Css) => css(code),
        Some(Language::Yaml) => yaml(code),
        Some(Language::Lexed(index)) => Lexer::new(code, &SYNTAXES[index]).run(),
    }
}

/// How a C-like language (or shell, or SQL, or JSON) writes its tokens.
struct Syntax {
    /// Keywords, separated by spaces (lower case when `any_case`).
    keywords: &'static str,
    /// Literal names, separated by spaces.
    literals: &'static str,
    /// What starts a comment to the end of the line.
    line_comments: &'static [&'static str],
    /// What starts and ends a block comment.
    block_comment: Option<(&'static str, &'static str)>,
    /// The quotes of strings; a backtick's string may span lines.
    quotes: &'static str,
    /// Whether `"` and `'` strings may span lines.
    multiline: bool,
    /// Whether `"""` and `'''` open a string that ends with the same three (Python).
    triple: bool,
    /// Whether `'` opens a character literal only when it closes soon after (Rust's lifetimes).
    char_quote: bool,
    /// A capitalised name is a type.
    capital_types: bool,
    /// Keywords in any case (SQL).
    any_case: bool,
    /// What marks a meta token: `#` a preprocessor line, `@` a decorator, `$` a variable.
    meta: Option<u8>,
    /// Whether a string followed by `:` is a key (JSON).
    keys: bool,
}

const C_LIKE: Syntax = Syntax {
    keywords: "",
    literals: "true false null",
    line_comments: &["//"],
    block_comment: Some(("/*", "*/")),
    quotes: "\"'",
    multiline: false,
    triple: false,
    char_quote: false,
    capital_types: true,
    any_case: false,
    meta: None,
    keys: false,
};

/// The syntaxes of the languages the generic lexer reads, in the order of their `Language::Lexed`
/// numbers.
const SYNTAXES: &[Syntax] = &[
    // 0: JavaScript and TypeScript
    Syntax {
        keywords: "break case catch class const continue debugger default delete do else \
            export extends finally for from function if import in instanceof let new of \
            return static super switch this throw try typeof var void while with yield async \
            await as interface type enum implements private protected public readonly \
            declare namespace abstract keyof satisfies get set",
        literals: "true false null undefined NaN Infinity",
        quotes: "\"'`",
        meta: Some(b'@'),
        ..C_LIKE
    },
    // 1: Python
    Syntax {
        keywords: "and as assert async await break class continue def del elif else \
            except finally for from global if import in is lambda nonlocal not or pass \
            raise return try while with yield match case",
        literals: "True False None self cls",
        line_comments: &["#"],
        block_comment: None,
        triple: true,
        meta: Some(b'@'),
        ..C_LIKE
    },
    // 2: Rust
    Syntax {
        keywords: "as async await break const continue crate dyn else enum extern fn for \
            if impl in let loop match mod move mut pub ref return self static struct super \
            trait type unsafe use where while",
        literals: "true false",
        quotes: "\"'",
        multiline: true,
        char_quote: true,
        meta: Some(b'#'),
        ..C_LIKE
    },
    // 3: JSON
    Syntax {
        quotes: "\"",
        capital_types: false,
        keys: true,
        ..C_LIKE
    },
    // 4: shell
    Syntax {
        keywords: "if then else elif fi for while until do done case esac in function \
            return local export readonly declare unset shift exit break continue source \
            alias select time",
        literals: "true false",
        line_comments: &["#"],
        block_comment: None,
        multiline: true,
        capital_types: false,
        meta: Some(b'$'),
        ..C_LIKE
    },
    // 5: SQL
    Syntax {
        keywords: "select from where and or not insert into values update set delete \
            create table drop alter add column index primary key foreign references join \
            inner left right outer full cross on as group by order having limit offset \
            union all distinct case when then else end in is like ilike between exists \
            with recursive returning default constraint unique view asc desc begin commit \
            rollback transaction grant revoke if replace",
        literals: "null true false",
        line_comments: &["--"],
        capital_types: false,
        any_case: true,
        ..C_LIKE
    },
    // 6: Go
    Syntax {
        keywords: "break case chan const continue default defer else fallthrough for func \
            go goto if import interface map package range return select struct switch type \
            var",
        literals: "true false nil iota",
        quotes: "\"'`",
        ..C_LIKE
    },
    // 7: Java, Kotlin, Scala
    Syntax {
        keywords: "abstract assert boolean break byte case catch char class const continue \
            default do double else enum extends final finally float for goto if implements \
            import instanceof int interface long native new package private protected \
            public return short static strictfp super switch synchronized this throw \
            throws transient try void volatile while var val fun record yield when object",
        meta: Some(b'@'),
        ..C_LIKE
    },
    // 8: C and C++
    Syntax {
        keywords: "auto break case char const continue default do double else enum extern \
            float for goto if inline int long register restrict return short signed sizeof \
            static struct switch typedef union unsigned void volatile while bool class \
            namespace template typename public private protected virtual override new \
            delete using operator friend try catch throw constexpr noexcept explicit \
            mutable static_cast dynamic_cast reinterpret_cast const_cast this",
        literals: "true false NULL nullptr",
        meta: Some(b'#'),
        ..C_LIKE
    },
    // 9: C#
    Syntax {
        keywords: "abstract as base bool break byte case catch char checked class const \
            continue decimal default delegate do double else enum event explicit extern \
            finally fixed float for foreach goto if implicit in int interface internal is \
            lock long namespace new object operator out override params private protected \
            public readonly ref return sbyte sealed short sizeof stackalloc static string \
            struct switch this throw try typeof uint ulong unchecked unsafe ushort using \
            var virtual void volatile while async await get set init record",
        meta: Some(b'#'),
        ..C_LIKE
    },
];

/// The generic lexer: comments, strings, numbers, names, meta tokens.
struct Lexer<'a> {
    code: &'a str,
    bytes: &'a [u8],
    at: usize,
    syntax: &'a Syntax,
    out: Vec<(Range<usize>, Token)>,
}

fn is_name(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'$' || byte >= 0x80
}

impl<'a> Lexer<'a> {
    fn new(code: &'a str, syntax: &'a Syntax) -> Self {
        Lexer {
            code,
            bytes: code.as_bytes(),
            at: 0,
            syntax,
            out: Vec::new(),
        }
    }

    fn run(mut self) -> Vec<(Range<usize>, Token)> {
        // Whether only spaces came since the line's start (kept as the cursor moves, so that no
        // step looks back).
        let mut line_start = true;
        while self.at < self.bytes.len() {
            let start = self.at;
            let byte = self.bytes[start];
            let rest = &self.code[start..];
            if let Some(token) = self.comment(rest, start) {
                self.push(start, token);
            } else if Some(byte) == self.syntax.meta && self.meta(line_start) {
                self.push(start, Token::Meta);
            } else if self.syntax.quotes.as_bytes().contains(&byte) {
                let token = self.string(byte);
                self.push(start, token);
                if self.syntax.keys && self.followed_by_colon() {
                    if let Some(last) = self.out.last_mut() {
                        last.1 = Token::Attribute;
                    }
                }
            } else if byte.is_ascii_digit()
                || (byte == b'.' && self.bytes.get(start + 1).is_some_and(u8::is_ascii_digit))
            {
                self.at += 1 + self.count_from(start + 1, |byte| is_name(byte) || byte == b'.');
                self.push(start, Token::Number);
            } else if self.syntax.char_quote && byte == b'r' && self.raw_string() {
                self.push(start, Token::String);
            } else if is_name(byte) {
                self.at += self.count_from(start, is_name);
                if let Some(token) = self.name(&self.code[start..self.at]) {
                    self.push(start, token);
                }
            } else {
                self.at += 1;
            }
            let consumed = &self.bytes[start..self.at];
            line_start = match consumed.iter().rposition(|&byte| byte == b'\n') {
                Some(end) => consumed[end + 1..].iter().all(u8::is_ascii_whitespace),
                None => line_start && consumed.iter().all(u8::is_ascii_whitespace),
            };
        }
        self.out
    }

    fn push(&mut self, start: usize, token: Token) {
        self.out.push((start..self.at, token));
    }

    /// How many bytes from `from` on satisfy `test`.
    fn count_from(&self, from: usize, test: impl Fn(u8) -> bool) -> usize {
        self.bytes[from.min(self.bytes.len())..]
            .iter()
            .take_while(|&&byte| test(byte))
            .count()
    }

    /// A comment at `start`, consumed.
    fn comment(&mut self, rest: &str, start: usize) -> Option<Token> {
        if let Some((open, close)) = self
            .syntax
            .block_comment
            .filter(|(open, _)| rest.starts_with(open))
        {
            self.at = rest[open.len()..]
                .find(close)
                .map_or(self.bytes.len(), |end| {
                    start + open.len() + end + close.len()
                });
            return Some(Token::Comment);
        }
        // `#` begins a shell comment only at a word's start (`$#`, `a#b` are not comments).
        let after_space = start == 0 || self.bytes[start - 1].is_ascii_whitespace();
        let line = self.syntax.line_comments.iter().any(|marker| {
            rest.starts_with(marker)
                && (*marker != "#" || after_space || self.syntax.meta != Some(b'$'))
        });
        line.then(|| {
            self.skip_line();
            Token::Comment
        })
    }

    fn skip_line(&mut self) {
        self.at += self.count_from(self.at, |byte| byte != b'\n');
    }

    /// A meta token at the marker: a preprocessor line or Rust attribute (`#`), a decorator
    /// (`@name`), a shell variable (`$name`, `${...}`, `$1`). Whether it was one.
    fn meta(&mut self, line_start: bool) -> bool {
        let start = self.at;
        let next = self.bytes.get(start + 1).copied();
        match self.bytes[start] {
            b'#' if line_start => {
                self.skip_line();
                true
            }
            b'$' if next == Some(b'{') => {
                self.at += 2 + self.count_from(start + 2, |byte| byte != b'}' && byte != b'\n');
                self.at = (self.at + 1).min(self.bytes.len());
                true
            }
            b'$' if next.is_some_and(|byte| b"?#@*!$0123456789".contains(&byte)) => {
                self.at += 2;
                true
            }
            b'$' | b'@' if next.is_some_and(|byte| is_name(byte) && !byte.is_ascii_digit()) => {
                self.at += 1 + self.count_from(start + 1, |byte| is_name(byte) || byte == b'.');
                true
            }
            _ => false,
        }
    }

    /// A string opened by `quote` at the cursor, consumed; a lifetime in Rust.
    fn string(&mut self, quote: u8) -> Token {
        let start = self.at;
        if self.syntax.char_quote && quote == b'\'' {
            // 'a', '\n', '\'', '\u{1F600}' are characters; 'a alone is a lifetime or a label.
            let escaped = self.bytes.get(start + 1) == Some(&b'\\');
            let from = (start + if escaped { 3 } else { 1 }).min(self.bytes.len());
            let close = self.bytes[from..]
                .iter()
                .take(12)
                .position(|&byte| byte == b'\'' || byte == b'\n');
            match close {
                Some(length) if self.bytes[from + length] == b'\'' && (escaped || length <= 4) => {
                    self.at = from + length + 1;
                    return Token::String;
                }
                _ => {
                    self.at += 1 + self.count_from(start + 1, is_name);
                    return Token::Meta;
                }
            }
        }
        if self.syntax.triple && self.bytes[start..].starts_with(&[quote; 3]) {
            let close = [quote; 3];
            self.at = self.bytes[start + 3..]
                .windows(3)
                .position(|window| window == close)
                .map_or(self.bytes.len(), |end| start + 3 + end + 3);
            return Token::String;
        }
        let multiline = self.syntax.multiline || quote == b'`';
        self.at += 1;
        while let Some(&byte) = self.bytes.get(self.at) {
            self.at += 1;
            match byte {
                b'\\' => self.at = (self.at + 1).min(self.bytes.len()),
                b'\n' if !multiline => {
                    self.at -= 1;
                    break;
                }
                _ if byte == quote => break,
                _ => {}
            }
        }
        // An escape never leaves the cursor inside a character.
        while !self.code.is_char_boundary(self.at) {
            self.at += 1;
        }
        Token::String
    }

    /// A Rust raw string at the cursor (`r"…"`, `r#"…"#`), consumed; whether there was one.
    fn raw_string(&mut self) -> bool {
        let start = self.at;
        let hashes = self.count_from(start + 1, |byte| byte == b'#');
        if self.bytes.get(start + 1 + hashes) != Some(&b'"') {
            return false;
        }
        let body = start + 2 + hashes;
        let close = ["\"", &"#".repeat(hashes)].concat();
        self.at = self.code[body..]
            .find(&close)
            .map_or(self.bytes.len(), |end| body + end + close.len());
        true
    }

    /// Whether the next thing after spaces is a `:`.
    fn followed_by_colon(&self) -> bool {
        let spaces = self.count_from(self.at, |byte| byte == b' ' || byte == b'\t');
        self.bytes.get(self.at + spaces) == Some(&b':')
    }

    /// What a name is: a keyword, a literal, a type, or nothing.
    fn name(&self, name: &str) -> Option<Token> {
        let lower;
        let name = if self.syntax.any_case {
            lower = name.to_ascii_lowercase();
            lower.as_str()
        } else {
            name
        };
        // A word of a space-separated list, found by substring search (fast), then bounded.
        let listed = |list: &str| {
            list.match_indices(name).any(|(at, _)| {
                let bytes = list.as_bytes();
                (at == 0 || bytes[at - 1] == b' ')
                    && bytes.get(at + name.len()).is_none_or(|&byte| byte == b' ')
            })
        };
        if listed(self.syntax.literals) {
            Some(Token::Literal)
        } else if listed(self.syntax.keywords) {
            Some(Token::Keyword)
        } else if self.syntax.capital_types
            && name.as_bytes()[0].is_ascii_uppercase()
            && name.bytes().any(|byte| byte.is_ascii_lowercase())
        {
            Some(Token::Type)
        } else {
            None
        }
    }
}

/// The lines of `code` with their byte ranges (without the line end).
fn lines(code: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut at = 0;
    code.split('\n').map(move |line| {
        let start = at;
        at += line.len() + 1;
        (start, line)
    })
}

/// A diff: each line by its first characters.
fn diff(code: &str) -> Vec<(Range<usize>, Token)> {
    lines(code)
        .filter_map(|(start, line)| {
            let token = if ["+++", "---", "@@", "diff ", "index "]
                .iter()
                .any(|head| line.starts_with(head))
            {
                Token::Meta
            } else if line.starts_with('+') || line.starts_with('>') {
                Token::Inserted
            } else if line.starts_with('-') || line.starts_with('<') {
                Token::Deleted
            } else {
                return None;
            };
            Some((start..start + line.len(), token))
        })
        .collect()
}

/// HTML or XML: comments, tags, their attributes and values, declarations.
fn markup(code: &str) -> Vec<(Range<usize>, Token)> {
    let bytes = code.as_bytes();
    let mut out = Vec::new();
    let mut at = 0;
    let find = |from: usize, what: &str| code[from..].find(what).map(|end| from + end);
    while let Some(open) = find(at, "<") {
        if code[open..].starts_with("<!--") {
            at = find(open + 4, "-->").map_or(code.len(), |end| end + 3);
            out.push((open..at, Token::Comment));
            continue;
        }
        let name_start =
            open + 1 + usize::from(matches!(bytes.get(open + 1), Some(b'/' | b'!' | b'?')));
        let name_end = name_start
            + bytes[name_start..]
                .iter()
                .take_while(|&&byte| is_name(byte) || b":-.".contains(&byte))
                .count();
        if name_end == name_start {
            at = open + 1;
            continue;
        }
        let declaration = matches!(bytes[open + 1], b'!' | b'?');
        out.push((
            name_start..name_end,
            if declaration {
                Token::Meta
            } else {
                Token::Type
            },
        ));
        at = name_end;
        // Attributes up to the tag's end.
        while at < bytes.len() && bytes[at] != b'>' && bytes[at] != b'<' {
            let byte = bytes[at];
            if byte == b'"' || byte == b'\'' {
                let end = code[at + 1..]
                    .find(byte as char)
                    .map_or(code.len(), |end| at + 1 + end + 1);
                out.push((at..end, Token::String));
                at = end;
            } else if is_name(byte) {
                let end = at
                    + bytes[at..]
                        .iter()
                        .take_while(|&&byte| is_name(byte) || b":-.".contains(&byte))
                        .count();
                out.push((at..end, Token::Attribute));
                at = end;
            } else {
                at += 1;
            }
        }
    }
    out
}

/// CSS: comments, strings, at-rules, selectors, properties, numbers and colours. A word is part
/// of a selector when a `{` comes before any `;` or `}`, a property when a `:` follows it.
fn css(code: &str) -> Vec<(Range<usize>, Token)> {
    let bytes = code.as_bytes();
    // For each byte, the first of `{`, `;` and `}` at or after it (found backwards, once).
    let mut next_stop = vec![0u8; bytes.len() + 1];
    for at in (0..bytes.len()).rev() {
        next_stop[at] = match bytes[at] {
            stop @ (b'{' | b';' | b'}') => stop,
            _ => next_stop[at + 1],
        };
    }
    let mut out = Vec::new();
    let mut at = 0;
    let mut parens = 0usize;
    let word = |from: usize| {
        from + bytes[from..]
            .iter()
            .take_while(|&&byte| is_name(byte) || byte == b'-')
            .count()
    };
    while at < bytes.len() {
        let start = at;
        let byte = bytes[at];
        let selector = next_stop[at] == b'{' && parens == 0;
        match byte {
            b'/' if bytes.get(at + 1) == Some(&b'*') => {
                at = code[at + 2..]
                    .find("*/")
                    .map_or(code.len(), |end| at + 2 + end + 2);
                out.push((start..at, Token::Comment));
            }
            b'"' | b'\'' => {
                at = code[at + 1..]
                    .find([byte as char, '\n'])
                    .map_or(code.len(), |end| at + 1 + end + 1)
                    .min(code.len());
                out.push((start..at, Token::String));
            }
            b'(' | b')' => {
                parens = if byte == b'(' {
                    parens + 1
                } else {
                    parens.saturating_sub(1)
                };
                at += 1;
            }
            b'@' => {
                at = word(at + 1);
                out.push((start..at, Token::Keyword));
            }
            b'#' if !selector => {
                at = word(at + 1);
                out.push((start..at, Token::Number));
            }
            b'0'..=b'9' => {
                at = word(at);
                while bytes.get(at) == Some(&b'.') || bytes.get(at) == Some(&b'%') {
                    at = word(at + 1);
                }
                out.push((start..at, Token::Number));
            }
            _ if is_name(byte) || byte == b'-' || byte == b'.' || byte == b'#' => {
                at = word(at + 1);
                let spaces = bytes[at..].iter().take_while(|&&byte| byte == b' ').count();
                if selector {
                    out.push((start..at, Token::Type));
                } else if bytes.get(at + spaces) == Some(&b':') && parens == 0 {
                    out.push((start..at, Token::Attribute));
                }
            }
            _ => at += 1,
        }
    }
    out
}

/// Whether `text` reads as a decimal number (`-1`, `2.5`, `1e3`), checked by hand: parsing a
/// float would bring the standard library's tables into the widget.
fn is_number(text: &str) -> bool {
    let digits = text.trim_start_matches(['-', '+']);
    let (mantissa, exponent) = digits.split_once(['e', 'E']).unwrap_or((digits, "0"));
    let exponent = exponent.trim_start_matches(['-', '+']);
    let mut parts = mantissa.splitn(2, '.');
    let whole = parts.next().unwrap_or_default();
    let fraction = parts.next().unwrap_or_default();
    let all_digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    !(whole.is_empty() && fraction.is_empty())
        && all_digits(whole)
        && all_digits(fraction)
        && !exponent.is_empty()
        && all_digits(exponent)
}

/// YAML: comments, keys, strings, numbers and literals, line by line.
fn yaml(code: &str) -> Vec<(Range<usize>, Token)> {
    let mut out = Vec::new();
    for (start, line) in lines(code) {
        let indent = line.len() - line.trim_start_matches([' ', '-']).len();
        let body = &line[indent..];
        if body.starts_with('#') {
            out.push((start + indent..start + line.len(), Token::Comment));
            continue;
        }
        let key_end = body
            .find(": ")
            .or_else(|| body.strip_suffix(':').map(str::len));
        let value_start = match key_end {
            Some(end) if !body.starts_with(['"', '\'']) => {
                out.push((start + indent..start + indent + end, Token::Attribute));
                end + 1
            }
            _ => 0,
        };
        let value = &body[value_start..];
        let comment = value.find(" #").unwrap_or(value.len());
        let trimmed = value[..comment].trim();
        if !trimmed.is_empty() {
            let from = start + indent + value_start + value.find(trimmed).unwrap_or(0);
            let range = from..from + trimmed.len();
            let token = if trimmed.starts_with(['"', '\'']) {
                Some(Token::String)
            } else if ["true", "false", "null", "yes", "no", "~"].contains(&trimmed) {
                Some(Token::Literal)
            } else if is_number(trimmed) {
                Some(Token::Number)
            } else {
                None
            };
            out.extend(token.map(|token| (range, token)));
        }
        if comment < value.len() {
            let from = start + indent + value_start + comment + 1;
            out.push((from..start + line.len(), Token::Comment));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each token's text and kind.
    fn tokens(language: &str, code: &str) -> Vec<(String, Token)> {
        let found = highlight(language, code);
        let mut end = 0;
        for (range, _) in &found {
            assert!(range.start >= end && range.start < range.end, "{found:?}");
            assert!(code.is_char_boundary(range.start) && code.is_char_boundary(range.end));
            end = range.end;
        }
        found
            .into_iter()
            .map(|(range, token)| (code[range].to_owned(), token))
            .collect()
    }

    fn kinds(language: &str, code: &str, token: Token) -> Vec<String> {
        tokens(language, code)
            .into_iter()
            .filter(|(_, kind)| *kind == token)
            .map(|(text, _)| text)
            .collect()
    }

    #[test]
    fn rust() {
        let code = "#[derive(Debug)]\nfn main<'a>(x: &'a str) -> Option<char> {\n    let c = '\\n'; // note\n    \"it's\"; 42u8; true\n}";
        assert_eq!(kinds("rust", code, Token::Keyword), ["fn", "let"]);
        assert_eq!(kinds("rs", code, Token::String), ["'\\n'", "\"it's\""]);
        assert_eq!(
            kinds("rust", code, Token::Meta),
            ["#[derive(Debug)]", "'a", "'a"]
        );
        assert_eq!(kinds("rust", code, Token::Type), ["Option"]);
        assert_eq!(kinds("rust", code, Token::Comment), ["// note"]);
        assert_eq!(kinds("rust", code, Token::Number), ["42u8"]);
        assert_eq!(kinds("rust", code, Token::Literal), ["true"]);
        let more = "let q = '\\''; let r = r#\"a \"b\" c\"#; let s = r\"x\"; let c = 'é';";
        assert_eq!(
            kinds("rust", more, Token::String),
            ["'\\''", "r#\"a \"b\" c\"#", "r\"x\"", "'é'"]
        );
    }

    #[test]
    fn javascript_and_typescript() {
        let code =
            "const x = `a ${b}\nc`; /* c */ if (y === null) return 0x1F;\n@Component class A {}";
        assert_eq!(
            kinds("js", code, Token::Keyword),
            ["const", "if", "return", "class"]
        );
        assert_eq!(kinds("TypeScript", code, Token::String), ["`a ${b}\nc`"]);
        assert_eq!(kinds("ts", code, Token::Comment), ["/* c */"]);
        assert_eq!(kinds("ts", code, Token::Meta), ["@Component"]);
        assert_eq!(kinds("javascript", code, Token::Number), ["0x1F"]);
    }

    #[test]
    fn python() {
        let code =
            "@cache\ndef f(x):\n    \"\"\"Doc\n    string\"\"\"\n    return None  # nothing\n";
        assert_eq!(kinds("python", code, Token::Keyword), ["def", "return"]);
        assert_eq!(
            kinds("py", code, Token::String),
            ["\"\"\"Doc\n    string\"\"\""]
        );
        assert_eq!(kinds("py", code, Token::Literal), ["None"]);
        assert_eq!(kinds("py", code, Token::Comment), ["# nothing"]);
        assert_eq!(kinds("py", code, Token::Meta), ["@cache"]);
    }

    #[test]
    fn json_yaml_and_shell() {
        let json = r#"{"name": "widget", "ok": true, "n": -1.5e3, "list": [null]}"#;
        assert_eq!(
            kinds("json", json, Token::Attribute),
            ["\"name\"", "\"ok\"", "\"n\"", "\"list\""]
        );
        assert_eq!(kinds("json", json, Token::String), ["\"widget\""]);
        assert_eq!(kinds("json", json, Token::Literal), ["true", "null"]);
        let yaml = "# config\nname: widget\nitems:\n  - port: 8080 # local\n  - on: true\n";
        assert_eq!(
            kinds("yaml", yaml, Token::Attribute),
            ["name", "items", "port", "on"]
        );
        assert_eq!(kinds("yml", yaml, Token::Comment), ["# config", "# local"]);
        assert_eq!(kinds("yaml", yaml, Token::Number), ["8080"]);
        for number in ["1", "-2.5", "1e3", ".5", "3."] {
            assert!(is_number(number), "{number}");
        }
        for text in ["", "-", ".", "1e", "1.2.3", "0x1F", "v1"] {
            assert!(!is_number(text), "{text}");
        }
        assert_eq!(kinds("yaml", yaml, Token::Literal), ["true"]);
        let shell = "if [ -n \"$HOME\" ]; then echo ${PATH#x} $1 # done\nfi";
        assert_eq!(kinds("bash", shell, Token::Keyword), ["if", "then", "fi"]);
        assert_eq!(kinds("sh", shell, Token::Meta), ["${PATH#x}", "$1"]);
        assert_eq!(kinds("shell", shell, Token::Comment), ["# done"]);
    }

    #[test]
    fn markup_css_sql_and_diff() {
        let html = "<!-- note --><a href=\"/x\" data-id='1'>Link</a><?xml version=\"1.0\"?>";
        assert_eq!(kinds("html", html, Token::Comment), ["<!-- note -->"]);
        assert_eq!(kinds("html", html, Token::Type), ["a", "a"]);
        assert_eq!(
            kinds("xml", html, Token::Attribute),
            ["href", "data-id", "version"]
        );
        assert_eq!(
            kinds("html", html, Token::String),
            ["\"/x\"", "'1'", "\"1.0\""]
        );
        let css = "@media (width > 40em) { .chat > p { color: #fff; margin: 0.5em 2px } }";
        assert_eq!(kinds("css", css, Token::Keyword), ["@media"]);
        assert_eq!(kinds("css", css, Token::Attribute), ["color", "margin"]);
        assert_eq!(
            kinds("css", css, Token::Number),
            ["40em", "#fff", "0.5em", "2px"]
        );
        assert_eq!(kinds("css", css, Token::Type), [".chat", "p"]);
        let sql = "SELECT name FROM users WHERE id = 1 AND note IS NULL; -- all";
        assert_eq!(
            kinds("sql", sql, Token::Keyword),
            ["SELECT", "FROM", "WHERE", "AND", "IS"]
        );
        assert_eq!(kinds("sql", sql, Token::Literal), ["NULL"]);
        assert_eq!(kinds("sql", sql, Token::Comment), ["-- all"]);
        let diff = "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-old\n+new\n same";
        assert_eq!(
            tokens("diff", diff)
                .into_iter()
                .map(|(_, token)| token)
                .collect::<Vec<_>>(),
            [
                Token::Meta,
                Token::Meta,
                Token::Meta,
                Token::Deleted,
                Token::Inserted
            ]
        );
    }

    #[test]
    fn go_java_c_and_csharp() {
        assert_eq!(
            kinds("go", "func main() { x := nil }", Token::Keyword),
            ["func"]
        );
        assert_eq!(
            kinds("go", "func main() { x := nil }", Token::Literal),
            ["nil"]
        );
        assert_eq!(
            kinds("java", "public class A { void f() {} }", Token::Keyword),
            ["public", "class", "void"]
        );
        assert_eq!(
            kinds(
                "c",
                "#include <stdio.h>\nint main(void) { return 0; }",
                Token::Meta
            ),
            ["#include <stdio.h>"]
        );
        assert_eq!(
            kinds("cpp", "int x = nullptr;", Token::Literal),
            ["nullptr"]
        );
        assert_eq!(
            kinds(
                "c#",
                "public async Task<int> F() => await G();",
                Token::Keyword
            ),
            ["public", "async", "int", "await"]
        );
    }

    #[test]
    fn unknown_languages_stay_plain() {
        assert!(highlight("", "fn main() {}").is_empty());
        assert!(highlight("brainfuck", "++[>]").is_empty());
    }

    #[test]
    fn anything_at_all_is_tokenized_without_panic_on_character_boundaries() {
        let samples = [
            "\"unclosed",
            "'",
            "/*",
            "<!--",
            "<",
            "${",
            "$",
            "@",
            "#",
            "'\\",
            "\"\\",
            "é'ü\"ß`",
            "'a",
            "\"\"\"",
            "0.",
            ".5",
            "<a b='é",
            "{#é:",
            "- é: \"",
            "@@ é",
        ];
        for language in [
            "rust", "js", "py", "json", "sh", "sql", "go", "java", "c", "cs", "html", "css",
            "yaml", "diff",
        ] {
            for sample in samples {
                for repeat in [1, 3] {
                    let code = sample.repeat(repeat);
                    tokens(language, &code);
                }
            }
        }
    }
}
