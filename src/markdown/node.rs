//! The rendered form of Markdown, shared by the parsing layers: [`Node`], and `link`, the one
//! place that decides what a link in a reply becomes. A link keeps its target only when
//! [`is_safe_link`] allows it; otherwise its text stays, in a span. A link whose text reads as
//! another address than its target's shows the target's host after its text ([`misleading_host`]).

use super::url::{is_safe_link, misleading_host};

/// The `rel` of every link: a reply's links open in a new tab and carry nothing back.
pub const LINK_REL: &str = "noopener noreferrer nofollow";

/// A piece of rendered Markdown.
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    /// An element with attributes from a fixed set (never taken from the reply as-is, except a
    /// link's checked `href`, its `title` and a list's `start`).
    Element {
        /// The tag name.
        tag: &'static str,
        /// Attribute names and values.
        attrs: Vec<(&'static str, String)>,
        /// The children.
        children: Vec<Node>,
    },
    /// Text.
    Text(String),
    /// A code block, shown with its language and a copy button.
    CodeBlock {
        /// The first word of the fence's info string when it looks like a language name
        /// (`[A-Za-z0-9+#._-]`, at most 32); otherwise empty.
        language: String,
        /// The code.
        code: String,
    },
    /// A formula: MathML when the renderer knows it, else its source as code.
    Math {
        /// The TeX between the delimiters.
        tex: String,
        /// Whether it is shown as a block (`$$…$$`, `\[…\]`).
        display: bool,
        /// The formula as written, delimiters and all (what shows when it cannot be rendered).
        raw: String,
    },
    /// An image, shown only when its origin is allowed; otherwise a link with its alt text.
    Image {
        /// The image's URL.
        src: String,
        /// Its description.
        alt: String,
    },
}

impl Node {
    pub(crate) fn element(tag: &'static str, attrs: Vec<(&'static str, String)>) -> Self {
        Node::Element {
            tag,
            attrs,
            children: Vec::new(),
        }
    }

    /// The text of the node and its children.
    pub fn text(&self) -> String {
        match self {
            Node::Text(text) => text.clone(),
            Node::CodeBlock { code, .. } => code.clone(),
            Node::Math { raw, .. } => raw.clone(),
            Node::Image { alt, .. } => alt.clone(),
            Node::Element { children, .. } => children.iter().map(Node::text).collect(),
        }
    }
}

/// A link to `href`, or its text alone when the target is not allowed. A link whose text reads as
/// another address than its target's shows the target's host after its text.
pub(crate) fn link(href: String, title: String, mut children: Vec<Node>) -> Node {
    if !is_safe_link(&href) {
        return Node::Element {
            tag: "span",
            attrs: vec![("class", "cw-md-link-refused".to_owned())],
            children,
        };
    }
    let text: String = children.iter().map(Node::text).collect();
    if let Some(host) = misleading_host(&text, &href) {
        children.push(host_label(host));
    }
    let mut attrs = vec![
        ("href", href),
        ("target", "_blank".to_owned()),
        ("rel", LINK_REL.to_owned()),
    ];
    if !title.is_empty() {
        attrs.push(("title", title));
    }
    Node::Element {
        tag: "a",
        attrs,
        children,
    }
}

/// The real host, shown after a link's text that reads as another address.
pub fn host_label(host: String) -> Node {
    Node::Element {
        tag: "span",
        attrs: vec![("class", "cw-md-link-host".to_owned())],
        children: vec![Node::Text(format!(" ({host})"))],
    }
}
