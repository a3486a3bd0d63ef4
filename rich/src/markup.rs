//! [`Markup`]: the MathML the TeX reader writes, and the fixed sets its tag and attribute names
//! come from (the only names that travel to the widget; see [`crate::wire`]).

use alloc::string::String;
use alloc::vec::Vec;

/// An element or a text of MathML.
#[derive(Clone, Debug, PartialEq)]
pub enum Markup {
    /// An element: a name from [`TAGS`], attributes named from [`ATTRIBUTES`] (and `data-`
    /// attributes the reader keeps for itself, which do not travel).
    Element {
        /// The tag name.
        tag: &'static str,
        /// Attribute names and values.
        attrs: Vec<(&'static str, String)>,
        /// The children.
        children: Vec<Markup>,
    },
    /// Text.
    Text(String),
}

impl Markup {
    /// The text of the node and its children.
    pub fn text(&self) -> String {
        match self {
            Markup::Text(text) => text.clone(),
            Markup::Element { children, .. } => children.iter().map(Markup::text).collect(),
        }
    }
}

/// Every MathML element the reader writes.
pub const TAGS: &[&str] = &[
    "math",
    "semantics",
    "annotation",
    "mrow",
    "mi",
    "mn",
    "mo",
    "mtext",
    "mspace",
    "mfrac",
    "msqrt",
    "mroot",
    "msub",
    "msup",
    "msubsup",
    "munder",
    "mover",
    "munderover",
    "mtable",
    "mtr",
    "mtd",
];

/// Every attribute the reader writes that the page sees.
pub const ATTRIBUTES: &[&str] = &[
    "alttext",
    "display",
    "encoding",
    "mathvariant",
    "stretchy",
    "width",
    "linethickness",
    "columnalign",
    "accent",
    "accentunder",
];
