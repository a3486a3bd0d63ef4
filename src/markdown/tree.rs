//! Markdown to [`Node`]s: CommonMark with GFM tables, strikethrough and task lists.
//!
//! [`block`] finds the blocks, [`inline`] their inline content; this module turns both into nodes.
//! Raw HTML becomes text. Links are decided in [`node`](super::node): they keep their target only
//! when [`is_safe_link`](super::is_safe_link) allows it; other links become plain text. Images
//! become [`Node::Image`], for the DOM layer to show or not.

use super::block::{self, Align, Block, List, Table};
use super::inline::{self, Definitions};

// The node type lives in `node`, under the parsers; these keep its older paths under `tree`.
pub use super::node::{host_label, Node, LINK_REL};

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
