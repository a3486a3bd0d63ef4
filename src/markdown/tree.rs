//! Markdown to [`Node`]s: CommonMark with GFM tables, strikethrough and task lists.
//!
//! [`block`](super::block) finds the blocks, [`inline`](super::inline) their inline content; this
//! module turns both into nodes. Raw HTML becomes text. Links keep their target only when [`is_safe_link`] allows it; other
//! links become plain text. Images become [`Node::Image`], for the DOM layer to show or not.

use super::block::{self, Align, Block, List, Table};
use super::inline::{self, Definitions};
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
            Node::Image { alt, .. } => alt.clone(),
            Node::Element { children, .. } => children.iter().map(Node::text).collect(),
        }
    }
}

/// Renders a whole Markdown text.
pub fn render(markdown: &str) -> Vec<Node> {
    let document = block::parse(markdown);
    render_blocks(&document.blocks, &document.definitions)
}

/// Renders blocks, with the definitions their references may use.
pub(crate) fn render_blocks(blocks: &[Block], definitions: &Definitions) -> Vec<Node> {
    let mut out = Vec::new();
    for block in blocks {
        render_block(block, definitions, false, &mut out);
    }
    out
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

/// Renders one block into `out`. In a tight list, paragraphs are their content alone.
fn render_block(block: &Block, definitions: &Definitions, tight: bool, out: &mut Vec<Node>) {
    let parent = |tag: &'static str, children: Vec<Node>| Node::Element {
        tag,
        attrs: Vec::new(),
        children,
    };
    match block {
        Block::Paragraph(text) => paragraph(inline::parse(text, definitions), tight, out),
        Block::Heading(level, text) => {
            let tag = ["h1", "h2", "h3", "h4", "h5", "h6"][usize::from(*level).clamp(1, 6) - 1];
            out.push(parent(tag, inline::parse(text, definitions)));
        }
        Block::Code { info, code } => out.push(Node::CodeBlock {
            language: language_of(info),
            code: code.clone(),
        }),
        Block::Html(text) => out.push(Node::Element {
            tag: "p",
            attrs: vec![("class", "cw-md-raw".to_owned())],
            children: vec![Node::Text(text.clone())],
        }),
        Block::Rule => out.push(Node::element("hr", Vec::new())),
        Block::Quote(blocks) => out.push(parent("blockquote", render_blocks(blocks, definitions))),
        Block::List(list) => out.push(render_list(list, definitions)),
        Block::Table(table) => out.push(render_table(table, definitions)),
    }
}

fn render_list(list: &List, definitions: &Definitions) -> Node {
    let (tag, attrs) = match list.start {
        None => ("ul", Vec::new()),
        Some(1) => ("ol", Vec::new()),
        Some(start) => ("ol", vec![("start", start.to_string())]),
    };
    let items = list
        .items
        .iter()
        .map(|blocks| {
            let mut children = Vec::new();
            for (index, block) in blocks.iter().enumerate() {
                let task = match block {
                    Block::Paragraph(text) if index == 0 => task(text),
                    _ => None,
                };
                match task {
                    Some((checked, rest)) => {
                        let mut attrs =
                            vec![("type", "checkbox".to_owned()), ("disabled", String::new())];
                        if checked {
                            attrs.push(("checked", String::new()));
                        }
                        let mut content = vec![Node::element("input", attrs)];
                        content.extend(inline::parse(rest, definitions));
                        paragraph(content, list.tight, &mut children);
                    }
                    None => render_block(block, definitions, list.tight, &mut children),
                }
            }
            Node::Element {
                tag: "li",
                attrs: Vec::new(),
                children,
            }
        })
        .collect();
    Node::Element {
        tag,
        attrs,
        children: items,
    }
}

/// A paragraph's content: alone in a tight list's item, in a `p` everywhere else.
fn paragraph(content: Vec<Node>, tight: bool, out: &mut Vec<Node>) {
    if tight {
        out.extend(content);
    } else {
        out.push(Node::Element {
            tag: "p",
            attrs: Vec::new(),
            children: content,
        });
    }
}

/// A task list item's marker (`[ ]`, `[x]`): whether it is checked, and the text after it.
fn task(text: &str) -> Option<(bool, &str)> {
    let checked = match text.get(..3)? {
        "[ ]" => false,
        "[x]" | "[X]" => true,
        _ => return None,
    };
    let rest = &text[3..];
    rest.starts_with([' ', '\t', '\n'])
        .then(|| (checked, rest.trim_start()))
}

fn render_table(table: &Table, definitions: &Definitions) -> Node {
    let row = |cells: &[String], tag: &'static str| Node::Element {
        tag: "tr",
        attrs: Vec::new(),
        children: cells
            .iter()
            .zip(&table.aligns)
            .map(|(cell, align)| {
                let attrs = match alignment_class(*align) {
                    Some(class) => vec![("class", class.to_owned())],
                    None => Vec::new(),
                };
                Node::Element {
                    tag,
                    attrs,
                    children: inline::parse(cell, definitions),
                }
            })
            .collect(),
    };
    let mut sections = vec![Node::Element {
        tag: "thead",
        attrs: Vec::new(),
        children: vec![row(&table.head, "th")],
    }];
    if !table.rows.is_empty() {
        sections.push(Node::Element {
            tag: "tbody",
            attrs: Vec::new(),
            children: table.rows.iter().map(|cells| row(cells, "td")).collect(),
        });
    }
    Node::Element {
        tag: "div",
        attrs: vec![("class", "cw-md-table".to_owned())],
        children: vec![Node::Element {
            tag: "table",
            attrs: Vec::new(),
            children: sections,
        }],
    }
}

/// A fence's language: the first word of its info string, if it looks like a language name (it
/// becomes a label and a `data-language` attribute).
pub fn language_of(info: &str) -> String {
    let word = info.split_whitespace().next().unwrap_or_default();
    let plausible = word.len() <= 32
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+#._-".contains(c));
    if plausible {
        word.to_owned()
    } else {
        String::new()
    }
}

fn alignment_class(alignment: Align) -> Option<&'static str> {
    match alignment {
        Align::None => None,
        Align::Left => Some("cw-align-left"),
        Align::Center => Some("cw-align-center"),
        Align::Right => Some("cw-align-right"),
    }
}
