//! What the module answers, read back as the widget reads it: every formula and token the readers
//! write travels whole, and bytes that are not an answer (cut short, lying about lengths, naming
//! what is not in the tables, nested without end) read as `None`, never as a panic.

use chat_rich::highlight::{highlight, knows, Token};
use chat_rich::markup::{Markup, ATTRIBUTES, TAGS};
use chat_rich::math::to_mathml;
use chat_rich::wire::{read_markup, read_tokens, write_markup};
use chat_rich::{highlighted, mathml};

/// Formulas that use every element and attribute the TeX reader writes.
const FORMULAS: &[&str] = &[
    "x^2 + y_i = z_{ij}^{k}",
    "\\frac{a}{b} + \\binom{n}{k} + \\sqrt{x} + \\sqrt[3]{y}",
    "\\sum_{i=1}^{n} i = \\frac{n(n+1)}{2}",
    "\\lim_{x \\to 0} \\frac{\\sin x}{x} = 1",
    "\\int_0^\\infty e^{-x^2} dx",
    "\\hat{a} \\vec{v} \\overline{z} \\underline{u} \\underbrace{a+b}",
    "\\mathbb{R} \\mathbf{v} \\mathcal{O} \\mathrm{d} \\operatorname{sgn} x",
    "\\text{if } x > 0, \\quad y \\qquad z \\, w",
    "\\left( \\frac{1}{2} \\right] \\big| x",
    "\\begin{pmatrix} 1 & 0 \\\\ 0 & 1 \\end{pmatrix}",
    "f(x) = \\begin{cases} 1 & x > 0 \\\\ 0 & \\text{otherwise} \\end{cases}",
    "\\begin{aligned} a &= b + c \\\\ &= d \\end{aligned}",
    "\\alpha \\beta \\Gamma \\leq \\rightarrow \\infty \\partial \\nabla",
    "3.14 \\cdot 10^{-3}",
];

/// `markup` without its `data-` attributes, which stay in the module.
fn without_data(markup: Markup) -> Markup {
    match markup {
        Markup::Element {
            tag,
            attrs,
            children,
        } => Markup::Element {
            tag,
            attrs: attrs
                .into_iter()
                .filter(|(name, _)| !name.starts_with("data-"))
                .collect(),
            children: children.into_iter().map(without_data).collect(),
        },
        text => text,
    }
}

fn names(markup: &Markup, tags: &mut Vec<&'static str>, attributes: &mut Vec<&'static str>) {
    if let Markup::Element {
        tag,
        attrs,
        children,
    } = markup
    {
        tags.push(tag);
        attributes.extend(attrs.iter().map(|(name, _)| *name));
        for child in children {
            names(child, tags, attributes);
        }
    }
}

#[test]
fn every_formula_travels_whole_and_the_tables_name_all_the_reader_writes() {
    let (mut tags, mut attributes) = (Vec::new(), Vec::new());
    for (tex, display) in FORMULAS.iter().flat_map(|tex| [(tex, false), (tex, true)]) {
        let tree = to_mathml(tex, display).unwrap_or_else(|| panic!("{tex} is math"));
        names(&tree, &mut tags, &mut attributes);
        let bytes = mathml(tex, display);
        assert_eq!(read_markup(&bytes), Some(without_data(tree)), "{tex}");
    }
    for tag in TAGS {
        assert!(tags.contains(tag), "no formula here writes {tag}");
    }
    for attribute in ATTRIBUTES {
        assert!(
            attributes.contains(attribute),
            "no formula writes {attribute}"
        );
    }
    assert!(mathml("\\unknowncommand", false).is_empty());
}

#[test]
fn markup_that_is_not_an_answer_reads_as_none() {
    let bytes = mathml("\\frac{a}{b}", true);
    for cut in 0..bytes.len() {
        assert_eq!(read_markup(&bytes[..cut]), None, "cut at {cut}");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert_eq!(read_markup(&longer), None, "bytes after the node");

    // An unknown tag, an unknown attribute, a kind of node that is neither.
    assert_eq!(read_markup(&[1, TAGS.len() as u8, 0, 0, 0, 0, 0]), None);
    assert_eq!(
        read_markup(&[1, 0, 1, ATTRIBUTES.len() as u8, 0, 0, 0, 0, 0, 0, 0, 0]),
        None
    );
    assert_eq!(read_markup(&[2]), None);
    // A child count far beyond the bytes, and a text that is not UTF-8.
    assert_eq!(read_markup(&[1, 0, 0, 255, 255, 255, 255]), None);
    assert_eq!(read_markup(&[0, 1, 0, 0, 0, 0xff]), None);

    // Elements nested thousands deep.
    let mut deep = Vec::new();
    for _ in 0..10_000 {
        deep.extend_from_slice(&[1, 3, 0, 1, 0, 0, 0]);
    }
    deep.extend_from_slice(&[0, 0, 0, 0, 0]);
    assert_eq!(read_markup(&deep), None);
}

#[test]
fn tokens_travel_whole_and_bad_ones_read_as_none() {
    for (language, code) in [
        ("rust", "fn main() { let x = \"hi\"; // note\n}"),
        ("python", "def f(x):\n    return None  # é\n"),
        ("diff", "--- a\n+++ b\n-old\n+new\n"),
        ("html", "<a href=\"x\">é</a>"),
        ("css", ".a { color: #fff; }"),
        ("yaml", "key: 3\nlist:\n  - true\n"),
    ] {
        assert!(knows(language), "{language}");
        let tokens = highlight(language, code);
        assert!(!tokens.is_empty(), "{language}");
        assert_eq!(
            read_tokens(&highlighted(language, code), code.len()),
            Some(tokens)
        );
    }
    assert!(!knows("text") && !knows(""));
    assert!(highlighted("text", "plain").is_empty());
    for (index, token) in Token::ALL.iter().enumerate() {
        assert_eq!(*token as usize, index, "ALL is in the order of the numbers");
    }

    let token = |start: u32, end: u32, kind: u8| -> Vec<u8> {
        [&start.to_le_bytes()[..], &end.to_le_bytes(), &[kind]].concat()
    };
    let ok = [token(0, 2, 0), token(2, 4, 9)].concat();
    assert_eq!(read_tokens(&ok, 4).map(|tokens| tokens.len()), Some(2));
    for bad in [
        token(0, 5, 0),                            // beyond the code
        token(2, 2, 0),                            // empty
        token(0, 2, 10),                           // an unknown kind
        [token(2, 4, 0), token(0, 2, 0)].concat(), // out of order
        [token(0, 3, 0), token(2, 4, 0)].concat(), // overlapping
        ok[..ok.len() - 1].to_vec(),               // cut short
    ] {
        assert_eq!(read_tokens(&bad, 4), None, "{bad:?}");
    }
}

#[test]
fn what_the_reader_cannot_write_does_not_travel() {
    let unknown = Markup::Element {
        tag: "script",
        attrs: Vec::new(),
        children: Vec::new(),
    };
    assert_eq!(write_markup(&unknown), None);
}
