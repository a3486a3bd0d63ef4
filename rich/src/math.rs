//! TeX math in replies, as MathML (which browsers render natively): `$…$` and `\(…\)` inline,
//! `$$…$$` and `\[…\]` on a line of their own. The common part of LaTeX's math that models
//! write: fractions, roots, scripts and limits, big operators, Greek, symbols and arrows,
//! functions, accents, fonts, text, fences, matrices, cases and aligned equations.
//!
//! [`to_mathml`] is one recursive-descent pass over the source, bounded in length and depth;
//! anything it does not know (an unknown command, unbalanced braces, an environment it lacks)
//! makes the whole formula `None`, and the reply shows its source as code instead. The result is
//! [`Markup`] (`math` and its MathML children), which the DOM layer builds in MathML's namespace.

use alloc::borrow::ToOwned;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use crate::markup::Markup;

/// The longest formula rendered, in bytes; a longer one shows as code.
pub const MAX_SOURCE: usize = 4_000;
/// The deepest the reader goes (a group costs two levels, a command or a script one): about 32
/// nested groups; a deeper formula shows as code, and nothing recurses without bound.
const MAX_DEPTH: usize = 64;

/// `tex` as a `math` element (`display` on a block of its own), with the source as its
/// annotation; `None` when it is not math this renderer knows.
pub fn to_mathml(tex: &str, display: bool) -> Option<Markup> {
    if tex.len() > MAX_SOURCE || tex.trim().is_empty() {
        return None;
    }
    let mut parser = Parser {
        tex,
        at: 0,
        depth: 0,
        display,
    };
    let body = parser.sequence(Stop::End)?;
    let annotation = element(
        "annotation",
        vec![("encoding", "application/x-tex".to_owned())],
        vec![Markup::Text(tex.to_owned())],
    );
    let mut attrs = vec![("alttext", tex.to_owned())];
    if display {
        attrs.push(("display", "block".to_owned()));
    }
    Some(element(
        "math",
        attrs,
        vec![element(
            "semantics",
            Vec::new(),
            vec![row(body), annotation],
        )],
    ))
}

fn element(tag: &'static str, attrs: Vec<(&'static str, String)>, children: Vec<Markup>) -> Markup {
    Markup::Element {
        tag,
        attrs,
        children,
    }
}

/// An element of text: `mi`, `mn`, `mo`, `mtext`.
fn token(tag: &'static str, text: &str) -> Markup {
    element(tag, Vec::new(), vec![Markup::Text(text.to_owned())])
}

/// A space of `width` (browsers draw `mspace` by its width, not by any text in it).
fn space(width: &str) -> Markup {
    element("mspace", vec![("width", width.to_owned())], Vec::new())
}

/// One node for several: an `mrow` unless there is exactly one.
fn row(mut nodes: Vec<Markup>) -> Markup {
    if nodes.len() == 1 {
        nodes.remove(0)
    } else {
        element("mrow", Vec::new(), nodes)
    }
}

fn with_attr(node: Markup, name: &'static str, value: &str) -> Markup {
    match node {
        Markup::Element {
            tag,
            mut attrs,
            children,
        } => {
            attrs.push((name, value.to_owned()));
            Markup::Element {
                tag,
                attrs,
                children,
            }
        }
        other => other,
    }
}

/// Where a sequence ends.
#[derive(Clone, Copy, PartialEq)]
enum Stop {
    /// The end of the source.
    End,
    /// A `}`.
    Brace,
    /// A `]` (a root's index).
    Bracket,
    /// `\right`.
    Right,
    /// `\end` (or, in a table, `&` and `\\` too).
    Environment,
}

struct Parser<'a> {
    tex: &'a str,
    at: usize,
    depth: usize,
    display: bool,
}

/// Letters by command name (`mi`): pairs of a name and its character, separated by spaces. (One
/// string, not a table of pairs: smaller in the widget.)
const LETTERS: &str =
    "alpha α beta β gamma γ delta δ epsilon ϵ varepsilon ε zeta ζ eta η theta θ vartheta ϑ \
    iota ι kappa κ lambda λ mu μ nu ν xi ξ pi π varpi ϖ rho ρ varrho ϱ sigma σ varsigma ς \
    tau τ upsilon υ phi ϕ varphi φ chi χ psi ψ omega ω Gamma Γ Delta Δ Theta Θ Lambda Λ Xi Ξ \
    Pi Π Sigma Σ Upsilon Υ Phi Φ Psi Ψ Omega Ω infty ∞ partial ∂ nabla ∇ emptyset ∅ \
    varnothing ∅ hbar ℏ ell ℓ aleph ℵ Re ℜ Im ℑ angle ∠ triangle △";

/// Operators and other symbols by command name (`mo`), the same way; the big operators first.
const OPERATORS: &str =
    "pm ± mp ∓ times × div ÷ cdot ⋅ ast ∗ star ⋆ circ ∘ bullet ∙ leq ≤ le ≤ geq ≥ ge ≥ neq ≠ \
    ne ≠ approx ≈ equiv ≡ sim ∼ simeq ≃ cong ≅ propto ∝ ll ≪ gg ≫ to → rightarrow → \
    leftarrow ← gets ← Rightarrow ⇒ Leftarrow ⇐ leftrightarrow ↔ Leftrightarrow ⇔ iff ⟺ \
    implies ⟹ mapsto ↦ uparrow ↑ downarrow ↓ longrightarrow ⟶ in ∈ notin ∉ ni ∋ subset ⊂ \
    subseteq ⊆ supset ⊃ supseteq ⊇ cup ∪ cap ∩ setminus ∖ forall ∀ exists ∃ neg ¬ lnot ¬ \
    land ∧ lor ∨ wedge ∧ vee ∨ oplus ⊕ otimes ⊗ perp ⊥ parallel ∥ mid ∣ ldots … dots … cdots \
    ⋯ vdots ⋮ ddots ⋱ prime ′ langle ⟨ rangle ⟩ lfloor ⌊ rfloor ⌋ lceil ⌈ rceil ⌉ vert | \
    Vert ‖ lvert | rvert | colon : { { } } | ‖ % % $ $ # # & & _ _ degree ° sum ∑ prod ∏ \
    coprod ∐ int ∫ iint ∬ iiint ∭ oint ∮ bigcup ⋃ bigcap ⋂ bigoplus ⨁ bigotimes ⨂";

/// Spaces by command name, and their widths.
const SPACES: &[(&str, &str)] = &[
    (",", "0.1667em"),
    (":", "0.2222em"),
    (";", "0.2778em"),
    (" ", "0.25em"),
    ("quad", "1em"),
    ("qquad", "2em"),
    ("!", "0em"),
];

/// The second word of the pair whose first is `name`, in a list of pairs separated by spaces.
fn pair<'a>(list: &'a str, name: &str) -> Option<&'a str> {
    let mut words = list.split(' ');
    while let (Some(command), Some(symbol)) = (words.next(), words.next()) {
        if command == name {
            return Some(symbol);
        }
    }
    None
}

/// Function names, set upright; those marked take their limits below in display.
const FUNCTIONS: &[(&str, bool)] = &[
    ("sin", false),
    ("cos", false),
    ("tan", false),
    ("cot", false),
    ("sec", false),
    ("csc", false),
    ("arcsin", false),
    ("arccos", false),
    ("arctan", false),
    ("sinh", false),
    ("cosh", false),
    ("tanh", false),
    ("log", false),
    ("ln", false),
    ("lg", false),
    ("exp", false),
    ("det", true),
    ("dim", false),
    ("ker", false),
    ("gcd", true),
    ("deg", false),
    ("arg", false),
    ("lim", true),
    ("liminf", true),
    ("limsup", true),
    ("max", true),
    ("min", true),
    ("sup", true),
    ("inf", true),
    ("Pr", true),
    ("mod", false),
    ("bmod", false),
];

/// Accents over (or under) their argument.
const ACCENTS: &[(&str, &str, bool)] = &[
    ("hat", "^", true),
    ("widehat", "^", true),
    ("bar", "¯", true),
    ("overline", "¯", true),
    ("vec", "→", true),
    ("overrightarrow", "→", true),
    ("dot", "˙", true),
    ("ddot", "¨", true),
    ("tilde", "~", true),
    ("widetilde", "~", true),
    ("check", "ˇ", true),
    ("breve", "˘", true),
    ("acute", "´", true),
    ("grave", "`", true),
    ("underline", "_", false),
    ("overbrace", "⏞", true),
    ("underbrace", "⏟", false),
];

/// Font commands and the `mathvariant` they give.
const FONTS: &[(&str, &str)] = &[
    ("mathrm", "normal"),
    ("mathbf", "bold"),
    ("mathit", "italic"),
    ("mathbb", "double-struck"),
    ("mathcal", "script"),
    ("mathscr", "script"),
    ("mathfrak", "fraktur"),
    ("mathsf", "sans-serif"),
    ("mathtt", "monospace"),
    ("boldsymbol", "bold-italic"),
    ("bm", "bold-italic"),
    ("operatorname", "normal"),
];

/// Environments: their fences and how their columns align.
const ENVIRONMENTS: &[(&str, &str, &str, &str)] = &[
    ("matrix", "", "", "center"),
    ("smallmatrix", "", "", "center"),
    ("pmatrix", "(", ")", "center"),
    ("bmatrix", "[", "]", "center"),
    ("Bmatrix", "{", "}", "center"),
    ("vmatrix", "|", "|", "center"),
    ("Vmatrix", "‖", "‖", "center"),
    ("cases", "{", "", "left"),
    ("aligned", "", "", "right left"),
    ("align", "", "", "right left"),
    ("align*", "", "", "right left"),
    ("split", "", "", "right left"),
    ("gathered", "", "", "center"),
    ("gather", "", "", "center"),
    ("gather*", "", "", "center"),
    ("array", "", "", "center"),
    ("equation", "", "", "center"),
    ("equation*", "", "", "center"),
];

fn find<'t, T>(table: &'t [T], name: &str, key: impl Fn(&T) -> &str) -> Option<&'t T> {
    table.iter().find(|entry| key(entry) == name)
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.tex[self.at..].chars().next()
    }

    fn skip_spaces(&mut self) {
        self.at += self.tex[self.at..].len() - self.tex[self.at..].trim_start().len();
    }

    /// Nodes up to `stop` (consumed, except an environment's, which the caller reads).
    fn sequence(&mut self, stop: Stop) -> Option<Vec<Markup>> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        let mut nodes: Vec<Markup> = Vec::new();
        // Scripts on scripts on one base (`x''''`, `x_1_1_1`) nest the result: bounded too.
        let mut chain = 0;
        loop {
            self.skip_spaces();
            let rest = &self.tex[self.at..];
            let Some(next) = rest.chars().next() else {
                // The end of the source ends only the whole formula.
                self.depth -= 1;
                return (stop == Stop::End).then_some(nodes);
            };
            match next {
                '}' => {
                    self.at += 1;
                    self.depth -= 1;
                    return (stop == Stop::Brace).then_some(nodes);
                }
                ']' if stop == Stop::Bracket => {
                    self.at += 1;
                    self.depth -= 1;
                    return Some(nodes);
                }
                '&' if stop == Stop::Environment => {
                    self.depth -= 1;
                    return Some(nodes);
                }
                _ if stop == Stop::Environment
                    && (rest.starts_with("\\\\") || command_is(rest, "end")) =>
                {
                    self.depth -= 1;
                    return Some(nodes);
                }
                _ if stop == Stop::Right && command_is(rest, "right") => {
                    self.depth -= 1;
                    return Some(nodes);
                }
                '^' | '_' | '\'' if chain >= MAX_DEPTH => return None,
                '^' | '_' => {
                    chain += 1;
                    self.at += 1;
                    let base = nodes.pop().unwrap_or_else(|| token("mrow", ""));
                    let script = self.argument()?;
                    nodes.push(self.attach(base, next, script)?);
                }
                '\'' => {
                    chain += 1;
                    self.at += 1;
                    let base = nodes.pop().unwrap_or_else(|| token("mrow", ""));
                    nodes.push(element("msup", Vec::new(), vec![base, token("mo", "′")]));
                }
                _ => {
                    chain = 0;
                    let atom = self.atom()?;
                    nodes.extend(atom);
                }
            }
        }
    }

    /// A script on `base`: a second script of the other kind joins the first
    /// (`msubsup`); under and over a big operator in display.
    fn attach(&self, base: Markup, kind: char, script: Markup) -> Option<Markup> {
        let limits = |node: &Markup| matches!(node, Markup::Element { attrs, .. } if attrs.iter().any(|(name, _)| *name == "data-limits"));
        match base {
            Markup::Element {
                tag: tag @ ("msub" | "munder"),
                attrs,
                mut children,
            } if kind == '^' && children.len() == 2 => {
                children.push(script);
                let tag = if tag == "msub" {
                    "msubsup"
                } else {
                    "munderover"
                };
                Some(element(tag, attrs, children))
            }
            Markup::Element {
                tag: tag @ ("msup" | "mover"),
                attrs,
                mut children,
            } if kind == '_' && children.len() == 2 => {
                children.insert(1, script);
                let tag = if tag == "msup" {
                    "msubsup"
                } else {
                    "munderover"
                };
                Some(element(tag, attrs, children))
            }
            base => {
                let under = self.display && limits(&base);
                let tag = match (kind, under) {
                    ('_', false) => "msub",
                    ('^', false) => "msup",
                    ('_', true) => "munder",
                    _ => "mover",
                };
                Some(element(tag, Vec::new(), vec![base, script]))
            }
        }
    }

    /// A script's or a command's argument: a group, a command, or one character.
    fn argument(&mut self) -> Option<Markup> {
        self.skip_spaces();
        match self.peek()? {
            '{' => {
                self.at += 1;
                Some(row(self.sequence(Stop::Brace)?))
            }
            '}' | '^' | '_' | '&' => None,
            _ => Some(row(self.atom()?)),
        }
    }

    /// A group's text, as written (for `\text`, `\begin`'s name, `array`'s columns).
    fn raw_group(&mut self) -> Option<&str> {
        self.skip_spaces();
        let rest = &self.tex[self.at..];
        let inner = rest.strip_prefix('{')?;
        let end = inner.find('}')?;
        self.at += end + 2;
        Some(&inner[..end])
    }

    /// One atom, a level deeper.
    fn atom(&mut self) -> Option<Vec<Markup>> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        let atom = self.atom_here();
        self.depth -= 1;
        atom
    }

    /// One atom: a group, a command, a number, a letter, an operator.
    fn atom_here(&mut self) -> Option<Vec<Markup>> {
        let rest = &self.tex[self.at..];
        let next = rest.chars().next()?;
        if next == '{' {
            self.at += 1;
            return Some(vec![row(self.sequence(Stop::Brace)?)]);
        }
        if next == '\\' {
            return self.command();
        }
        if next.is_ascii_digit()
            || (next == '.' && rest[1..].starts_with(|c: char| c.is_ascii_digit()))
        {
            let length = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(rest.len());
            self.at += length;
            return Some(vec![token("mn", &rest[..length])]);
        }
        self.at += next.len_utf8();
        let mut text = [0; 4];
        let text = &*next.encode_utf8(&mut text);
        // A letter: ASCII, or any other character (Unicode's tables of letters cost the widget
        // more than telling them from symbols is worth).
        if next.is_ascii_alphabetic() || !next.is_ascii() {
            return Some(vec![token("mi", text)]);
        }
        match next {
            '+' | '-' | '=' | '<' | '>' | ',' | ';' | ':' | '!' | '?' | '(' | ')' | '[' | ']'
            | '|' | '/' | '*' | '.' => {
                let node = token("mo", if next == '-' { "−" } else { text });
                // Brackets written plainly keep their size, as in TeX (`\left` stretches them).
                let plain = matches!(next, '(' | ')' | '[' | ']' | '|' | '/');
                Some(vec![if plain {
                    with_attr(node, "stretchy", "false")
                } else {
                    node
                }])
            }
            '~' => Some(vec![space("0.25em")]),
            '#' | '%' | '$' | '&' | '}' => None,
            _ => Some(vec![token("mo", text)]),
        }
    }

    /// A command, from its backslash.
    fn command(&mut self) -> Option<Vec<Markup>> {
        let rest = &self.tex[self.at + 1..];
        let length = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        // `\,`, `\{` and the like are one character long.
        let length = if length == 0 {
            rest.chars().next()?.len_utf8()
        } else {
            length
        };
        let name = &rest[..length];
        self.at += 1 + length;
        if let Some((_, width)) = find(SPACES, name, |entry| entry.0) {
            return Some(vec![space(width)]);
        }
        if let Some(letter) = pair(LETTERS, name) {
            return Some(vec![token("mi", letter)]);
        }
        if let Some(symbol) = pair(OPERATORS, name) {
            let node = token("mo", symbol);
            let big = matches!(
                name,
                "sum" | "prod" | "coprod" | "bigcup" | "bigcap" | "bigoplus" | "bigotimes"
            );
            return Some(vec![if big {
                with_attr(node, "data-limits", "")
            } else {
                node
            }]);
        }
        if let Some((_, limits)) = find(FUNCTIONS, name, |entry| entry.0) {
            let node = token("mi", name);
            let node = with_attr(node, "mathvariant", "normal");
            return Some(vec![if *limits {
                with_attr(node, "data-limits", "")
            } else {
                node
            }]);
        }
        if let Some((_, accent, over)) = find(ACCENTS, name, |entry| entry.0) {
            let base = self.argument()?;
            let mark = with_attr(token("mo", accent), "stretchy", "true");
            let (tag, attr) = if *over {
                ("mover", "accent")
            } else {
                ("munder", "accentunder")
            };
            return Some(vec![element(
                tag,
                vec![(attr, "true".to_owned())],
                vec![base, mark],
            )]);
        }
        if let Some((_, variant)) = find(FONTS, name, |entry| entry.0) {
            let inner = self.argument()?;
            return Some(vec![with_font(inner, variant)]);
        }
        match name {
            "frac" | "dfrac" | "tfrac" | "cfrac" => {
                let numerator = self.argument()?;
                let denominator = self.argument()?;
                Some(vec![element(
                    "mfrac",
                    Vec::new(),
                    vec![numerator, denominator],
                )])
            }
            "binom" | "dbinom" | "tbinom" => {
                let n = self.argument()?;
                let k = self.argument()?;
                let fraction =
                    element("mfrac", vec![("linethickness", "0".to_owned())], vec![n, k]);
                Some(vec![token("mo", "("), fraction, token("mo", ")")])
            }
            "sqrt" => {
                self.skip_spaces();
                if self.peek() == Some('[') {
                    self.at += 1;
                    let index = row(self.sequence(Stop::Bracket)?);
                    let radicand = self.argument()?;
                    return Some(vec![element("mroot", Vec::new(), vec![radicand, index])]);
                }
                let radicand = self.argument()?;
                Some(vec![element("msqrt", Vec::new(), vec![radicand])])
            }
            "text" | "textrm" | "textbf" | "textit" | "mbox" | "textsf" | "texttt" => {
                let text = self.raw_group()?;
                Some(vec![token("mtext", text)])
            }
            "left" => {
                let open = self.delimiter()?;
                let inner = self.sequence(Stop::Right)?;
                self.at += "\\right".len();
                let close = self.delimiter()?;
                let mut nodes = vec![open];
                nodes.extend(inner);
                nodes.push(close);
                Some(vec![element("mrow", Vec::new(), nodes)])
            }
            "big" | "Big" | "bigg" | "Bigg" | "bigl" | "bigr" | "Bigl" | "Bigr" | "middle" => {
                Some(vec![self.delimiter()?])
            }
            "begin" => self.environment(),
            "displaystyle" | "textstyle" | "limits" | "nolimits" | "nonumber" | "notag" => {
                Some(Vec::new())
            }
            _ => None,
        }
    }

    /// A fence, a level deeper.
    fn delimiter(&mut self) -> Option<Markup> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        let fence = self.delimiter_here();
        self.depth -= 1;
        fence
    }

    /// A fence after `\left`, `\right` or `\big`: a character, or a command such as `\{`.
    fn delimiter_here(&mut self) -> Option<Markup> {
        self.skip_spaces();
        let next = self.peek()?;
        let text = if next == '\\' {
            let nodes = self.command()?;
            match nodes.as_slice() {
                [Markup::Element { children, .. }] => children.first()?.text(),
                _ => return None,
            }
        } else {
            self.at += next.len_utf8();
            if next == '.' {
                String::new()
            } else {
                next.to_string()
            }
        };
        Some(with_attr(token("mo", &text), "stretchy", "true"))
    }

    /// `\begin{name} … \end{name}`: a table of rows (`\\`) and cells (`&`), with its fences.
    fn environment(&mut self) -> Option<Vec<Markup>> {
        let name = self.raw_group()?.to_owned();
        let &(_, open, close, align) = find(ENVIRONMENTS, &name, |entry| entry.0)?;
        if name == "array" {
            self.raw_group()?;
        }
        let mut rows = Vec::new();
        let mut cells = Vec::new();
        loop {
            let cell = self.sequence(Stop::Environment)?;
            cells.push(element("mtd", Vec::new(), vec![row(cell)]));
            let rest = &self.tex[self.at..];
            if rest.starts_with('&') {
                self.at += 1;
            } else if rest.starts_with("\\\\") {
                self.at += 2;
                rows.push(element("mtr", Vec::new(), core::mem::take(&mut cells)));
            } else {
                // `\end{name}`, of the same name.
                self.at += "\\end".len();
                if self.raw_group()? != name {
                    return None;
                }
                break;
            }
        }
        let empty_last = matches!(cells.as_slice(), [Markup::Element { children, .. }] if matches!(children.as_slice(), [Markup::Element { tag: "mrow", children, .. }] if children.is_empty()));
        if !empty_last || rows.is_empty() {
            rows.push(element("mtr", Vec::new(), cells));
        }
        let table = element("mtable", vec![("columnalign", align.to_owned())], rows);
        let mut nodes = Vec::new();
        if !open.is_empty() {
            nodes.push(with_attr(token("mo", open), "stretchy", "true"));
        }
        nodes.push(table);
        if !close.is_empty() {
            nodes.push(with_attr(token("mo", close), "stretchy", "true"));
        }
        Some(vec![element("mrow", Vec::new(), nodes)])
    }
}

/// Whether `rest` starts with the command `\name` (not a longer one).
fn command_is(rest: &str, name: &str) -> bool {
    rest.strip_prefix('\\')
        .and_then(|rest| rest.strip_prefix(name))
        .is_some_and(|after| !after.starts_with(|c: char| c.is_ascii_alphabetic()))
}

/// `node` and its tokens in a font.
fn with_font(node: Markup, variant: &str) -> Markup {
    match node {
        Markup::Element {
            tag: tag @ ("mi" | "mn" | "mo" | "mtext"),
            attrs,
            children,
        } => {
            let mut attrs: Vec<_> = attrs
                .into_iter()
                .filter(|(name, _)| *name != "mathvariant")
                .collect();
            attrs.push(("mathvariant", variant.to_owned()));
            Markup::Element {
                tag,
                attrs,
                children,
            }
        }
        Markup::Element {
            tag,
            attrs,
            children,
        } => Markup::Element {
            tag,
            attrs,
            children: children
                .into_iter()
                .map(|child| with_font(child, variant))
                .collect(),
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The MathML of `tex` as markup, for reading in tests.
    fn markup(tex: &str, display: bool) -> Option<String> {
        fn write(node: &Markup, out: &mut String) {
            match node {
                Markup::Text(text) => out.push_str(text),
                Markup::Element {
                    tag,
                    attrs,
                    children,
                } => {
                    if *tag == "annotation" {
                        return;
                    }
                    out.push('<');
                    out.push_str(tag);
                    for (name, value) in attrs {
                        if *name != "alttext" {
                            out.push_str(&format!(" {name}=\"{value}\""));
                        }
                    }
                    out.push('>');
                    for child in children {
                        write(child, out);
                    }
                    out.push_str(&format!("</{tag}>"));
                }
            }
        }
        let node = to_mathml(tex, display)?;
        let mut out = String::new();
        write(&node, &mut out);
        Some(out)
    }

    fn inner(tex: &str) -> String {
        let all = markup(tex, false).unwrap_or_else(|| panic!("{tex} renders"));
        all.trim_start_matches("<math><semantics>")
            .trim_end_matches("</semantics></math>")
            .to_owned()
    }

    #[test]
    fn fractions_roots_and_scripts() {
        assert_eq!(inner("\\frac{a}{b}"), "<mfrac><mi>a</mi><mi>b</mi></mfrac>");
        assert_eq!(inner("x^2"), "<msup><mi>x</mi><mn>2</mn></msup>");
        assert_eq!(
            inner("x_i^{2}"),
            "<msubsup><mi>x</mi><mi>i</mi><mn>2</mn></msubsup>"
        );
        assert_eq!(inner("\\sqrt[3]{x}"), "<mroot><mi>x</mi><mn>3</mn></mroot>");
        assert_eq!(inner("\\sqrt{2}"), "<msqrt><mn>2</mn></msqrt>");
        assert_eq!(inner("a-b"), "<mrow><mi>a</mi><mo>−</mo><mi>b</mi></mrow>");
    }

    #[test]
    fn sums_limits_greek_and_functions() {
        let display = markup("\\sum_{i=1}^{n} i", true).expect("renders");
        assert!(display.starts_with("<math display=\"block\">"), "{display}");
        assert!(
            display.contains("<munderover><mo data-limits=\"\">∑</mo>"),
            "{display}"
        );
        let inline = inner("\\sum_{i=1}^{n} i");
        assert!(
            inline.contains("<msubsup><mo data-limits=\"\">∑</mo>"),
            "{inline}"
        );
        assert_eq!(
            inner("\\alpha+\\Omega"),
            "<mrow><mi>α</mi><mo>+</mo><mi>Ω</mi></mrow>"
        );
        assert!(inner("\\sin x").starts_with("<mrow><mi mathvariant=\"normal\">sin</mi>"));
        assert!(markup("\\lim_{x \\to 0} f(x)", true)
            .expect("renders")
            .contains("<munder>"));
    }

    #[test]
    fn accents_fonts_text_and_fences() {
        assert_eq!(
            inner("\\hat{x}"),
            "<mover accent=\"true\"><mi>x</mi><mo stretchy=\"true\">^</mo></mover>"
        );
        assert_eq!(
            inner("\\mathbb{R}"),
            "<mi mathvariant=\"double-struck\">R</mi>"
        );
        assert_eq!(
            inner("\\text{if } x"),
            "<mrow><mtext>if </mtext><mi>x</mi></mrow>"
        );
        assert_eq!(
            inner("a\\quad b~c"),
            "<mrow><mi>a</mi><mspace width=\"1em\"></mspace><mi>b</mi><mspace width=\"0.25em\"></mspace><mi>c</mi></mrow>"
        );
        assert_eq!(
            inner("\\left( x \\right)"),
            "<mrow><mo stretchy=\"true\">(</mo><mi>x</mi><mo stretchy=\"true\">)</mo></mrow>"
        );
        assert!(inner("\\left\\{ x \\right.").contains("<mo stretchy=\"true\">{</mo>"));
    }

    #[test]
    fn matrices_cases_and_aligned_equations() {
        let matrix = inner("\\begin{pmatrix} a & b \\\\ c & d \\end{pmatrix}");
        assert_eq!(
            matrix,
            "<mrow><mo stretchy=\"true\">(</mo><mtable columnalign=\"center\"><mtr><mtd><mi>a</mi></mtd><mtd><mi>b</mi></mtd></mtr><mtr><mtd><mi>c</mi></mtd><mtd><mi>d</mi></mtd></mtr></mtable><mo stretchy=\"true\">)</mo></mrow>"
        );
        let cases =
            inner("f(x) = \\begin{cases} 1 & x > 0 \\\\ 0 & \\text{otherwise} \\end{cases}");
        assert!(
            cases.contains("<mtable columnalign=\"left\">")
                && cases.contains("<mtext>otherwise</mtext>"),
            "{cases}"
        );
        let aligned = inner("\\begin{aligned} a &= b + c \\\\ &= d \\\\ \\end{aligned}");
        assert_eq!(
            aligned.matches("<mtr>").count(),
            2,
            "a trailing \\\\ adds no row: {aligned}"
        );
    }

    #[test]
    fn a_corpus_of_real_formulas_renders() {
        let corpus = [
            "E = mc^2",
            "\\frac{-b \\pm \\sqrt{b^2 - 4ac}}{2a}",
            "\\int_0^\\infty e^{-x^2}\\,dx = \\frac{\\sqrt{\\pi}}{2}",
            "\\sum_{n=1}^{\\infty} \\frac{1}{n^2} = \\frac{\\pi^2}{6}",
            "\\lim_{n \\to \\infty} \\left(1 + \\frac{1}{n}\\right)^n = e",
            "\\nabla \\cdot \\vec{E} = \\frac{\\rho}{\\varepsilon_0}",
            "i\\hbar \\frac{\\partial}{\\partial t} \\Psi = \\hat{H} \\Psi",
            "\\det \\begin{vmatrix} a & b \\\\ c & d \\end{vmatrix} = ad - bc",
            "P(A \\mid B) = \\frac{P(B \\mid A) P(A)}{P(B)}",
            "\\forall \\epsilon > 0 \\; \\exists \\delta > 0",
            "\\binom{n}{k} = \\frac{n!}{k!(n-k)!}",
            "x \\in \\mathbb{R}^n, \\; \\|x\\|_2 = \\sqrt{\\sum_i x_i^2}",
            "\\begin{aligned} (a+b)^2 &= a^2 + 2ab + b^2 \\\\ &\\geq 4ab \\end{aligned}",
            "f'(x) = \\lim_{h \\to 0} \\frac{f(x+h) - f(x)}{h}",
            "\\overline{z} = a - bi, \\quad |z| = \\sqrt{a^2+b^2}",
            "\\mathcal{O}(n \\log n)",
            "\\begin{bmatrix} 1 & 0 \\\\ 0 & 1 \\end{bmatrix}",
            "\\alpha, \\beta, \\gamma, \\Delta, \\theta, \\lambda, \\mu, \\sigma, \\omega",
            "\\tilde{x}, \\bar{y}, \\dot{q}, \\ddot{q}",
            "a \\equiv b \\pmod{n}",
        ];
        let unknown: Vec<_> = corpus
            .iter()
            .filter(|tex| to_mathml(tex, true).is_none())
            .collect();
        // `\pmod` is one this renderer does not know: shown as code, never an error.
        assert_eq!(unknown, [&"a \\equiv b \\pmod{n}"]);
    }

    #[test]
    fn malformed_input_is_none_never_a_panic() {
        for tex in [
            "",
            " ",
            "\\frac{a}",
            "{",
            "}",
            "x^",
            "\\begin{pmatrix} a",
            "\\begin{foo}\\end{foo}",
            "\\left( x",
            "\\unknowncommand",
            "\\sqrt[3",
            "\\text{x",
            "a & b",
            "\\begin{matrix}\\end{cases}",
            "\\",
            "x_{",
            "^^",
            "\\left",
            "é^",
            "\\frac{\\frac{\\frac{",
        ] {
            assert!(to_mathml(tex, false).is_none(), "{tex:?} is not math");
        }
        let deep = format!("{}x{}", "{".repeat(40), "}".repeat(40));
        assert!(to_mathml(&deep, false).is_none(), "too deep");
        for tex in [
            format!("{}x", "\\bm".repeat(1_300)),
            format!("{}x", "\\left".repeat(800)),
            format!("{}{}", "\\sqrt{".repeat(600), "}".repeat(600)),
            format!("x{}", "'".repeat(3_990)),
            format!("x{}", "_1".repeat(1_990)),
        ] {
            assert!(to_mathml(&tex, false).is_none(), "{}…", &tex[..20]);
        }
        assert!(to_mathml(&format!("x{}", "'".repeat(3)), false).is_some());
        assert!(
            to_mathml(&"x+".repeat(MAX_SOURCE), false).is_none(),
            "too long"
        );
        assert!(to_mathml("x^{2}_{i}", false).is_some());
    }
}
