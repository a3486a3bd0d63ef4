//! The reference for the differential Markdown test: pulldown-cmark's events turned into the
//! widget's [`Node`]s with the widget's rules (raw HTML as text, links checked, code blocks with
//! their language). Native tests only.

use chat_widget::markdown::tree::host_label;
use chat_widget::markdown::tree::language_of;
use chat_widget::markdown::{is_safe_link, misleading_host, Node};
use pulldown_cmark::{
    Alignment, CodeBlockKind, Event, HeadingLevel, LinkType, Options, Parser, Tag, TagEnd,
};

const LINK_REL: &str = "noopener noreferrer nofollow";

fn node(tag: &'static str, attrs: Vec<(&'static str, String)>) -> Node {
    Node::Element {
        tag,
        attrs,
        children: Vec::new(),
    }
}

/// Renders `markdown` with pulldown-cmark (CommonMark with tables, strikethrough and task lists).
pub fn render(markdown: &str) -> Vec<Node> {
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let mut builder = Builder::default();
    for event in Parser::new_ext(markdown, options) {
        builder.event(event);
    }
    builder.finish()
}

/// What an open tag is building.
enum Frame {
    Element(Node),
    Code {
        language: String,
        code: String,
    },
    Image {
        src: String,
        alt: String,
    },
    Table {
        alignments: Vec<Alignment>,
        node: Node,
        cell: usize,
        in_head: bool,
    },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    out: Vec<Node>,
}

impl Builder {
    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(text) => self.text(&text),
            // Raw HTML is shown as the text it is.
            Event::Html(text) | Event::InlineHtml(text) => self.text(&text),
            Event::Code(code) => {
                self.push(Node::Element {
                    tag: "code",
                    attrs: Vec::new(),
                    children: vec![Node::Text(code.into_string())],
                });
            }
            Event::InlineMath(text) | Event::DisplayMath(text) => self.text(&text),
            Event::FootnoteReference(label) => self.text(&format!("[^{label}]")),
            Event::SoftBreak => self.text("\n"),
            Event::HardBreak => self.push(node("br", Vec::new())),
            Event::Rule => self.push(node("hr", Vec::new())),
            Event::TaskListMarker(checked) => {
                let mut attrs = vec![("type", "checkbox".to_owned()), ("disabled", String::new())];
                if checked {
                    attrs.push(("checked", String::new()));
                }
                self.push(node("input", attrs));
            }
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        let frame = match tag {
            Tag::Paragraph => element("p"),
            Tag::Heading { level, .. } => element(heading(level)),
            Tag::BlockQuote(_) => element("blockquote"),
            Tag::CodeBlock(kind) => Frame::Code {
                language: match kind {
                    CodeBlockKind::Fenced(info) => language_of(&info),
                    CodeBlockKind::Indented => String::new(),
                },
                code: String::new(),
            },
            Tag::HtmlBlock => Frame::Element(node("p", vec![("class", "cw-md-raw".to_owned())])),
            Tag::List(Some(start)) if start != 1 => {
                Frame::Element(node("ol", vec![("start", start.to_string())]))
            }
            Tag::List(Some(_)) => element("ol"),
            Tag::List(None) => element("ul"),
            Tag::Item => element("li"),
            Tag::Table(alignments) => Frame::Table {
                alignments,
                node: node("table", Vec::new()),
                cell: 0,
                in_head: false,
            },
            Tag::TableHead => {
                self.set_table_head(true);
                self.stack.push(element("thead"));
                element("tr")
            }
            Tag::TableRow => {
                if matches!(self.stack.last(), Some(Frame::Table { .. })) {
                    self.stack.push(element("tbody"));
                }
                self.reset_cell();
                element("tr")
            }
            Tag::TableCell => {
                let (in_head, alignment) = self.next_cell();
                let mut attrs = Vec::new();
                if let Some(class) = alignment_class(alignment) {
                    attrs.push(("class", class.to_owned()));
                }
                Frame::Element(node(if in_head { "th" } else { "td" }, attrs))
            }
            Tag::Emphasis => element("em"),
            Tag::Strong => element("strong"),
            Tag::Strikethrough => element("del"),
            Tag::Superscript => element("sup"),
            Tag::Subscript => element("sub"),
            Tag::Link {
                link_type,
                dest_url,
                title,
                ..
            } => {
                // An email autolink (`<a@b.c>`) carries the bare address.
                let href = match link_type {
                    LinkType::Email => format!("mailto:{dest_url}"),
                    _ => dest_url.into_string(),
                };
                if is_safe_link(&href) {
                    let mut attrs = vec![
                        ("href", href),
                        ("target", "_blank".to_owned()),
                        ("rel", LINK_REL.to_owned()),
                    ];
                    if !title.is_empty() {
                        attrs.push(("title", title.into_string()));
                    }
                    Frame::Element(node("a", attrs))
                } else {
                    Frame::Element(node(
                        "span",
                        vec![("class", "cw-md-link-refused".to_owned())],
                    ))
                }
            }
            Tag::Image { dest_url, .. } => Frame::Image {
                src: dest_url.into_string(),
                alt: String::new(),
            },
            Tag::FootnoteDefinition(_)
            | Tag::DefinitionList
            | Tag::DefinitionListTitle
            | Tag::DefinitionListDefinition
            | Tag::MetadataBlock(_) => element("div"),
        };
        self.stack.push(frame);
    }

    fn end(&mut self, tag: TagEnd) {
        if tag == TagEnd::TableHead {
            self.close_frame(); // tr
            self.close_frame(); // thead
            self.set_table_head(false);
            return;
        }
        if tag == TagEnd::Table && !matches!(self.stack.last(), Some(Frame::Table { .. })) {
            self.close_frame(); // tbody
        }
        self.close_frame();
    }

    fn close_frame(&mut self) {
        let Some(frame) = self.stack.pop() else {
            return;
        };
        let node = match frame {
            Frame::Element(node) => with_host_label(node),
            Frame::Code { language, code } => Node::CodeBlock { language, code },
            Frame::Image { src, alt } => Node::Image { src, alt },
            Frame::Table { node, .. } => Node::Element {
                tag: "div",
                attrs: vec![("class", "cw-md-table".to_owned())],
                children: vec![node],
            },
        };
        self.push(node);
    }

    fn text(&mut self, text: &str) {
        match self.stack.last_mut() {
            Some(Frame::Code { code, .. }) => code.push_str(text),
            Some(Frame::Image { alt, .. }) => alt.push_str(text),
            _ => self.push(Node::Text(text.to_owned())),
        }
    }

    /// Adds a finished node to the innermost open element (or the output), joining adjacent text.
    fn push(&mut self, node: Node) {
        let children = match self.stack.last_mut() {
            Some(Frame::Element(Node::Element { children, .. }))
            | Some(Frame::Table {
                node: Node::Element { children, .. },
                ..
            }) => children,
            Some(Frame::Image { alt, .. }) => {
                alt.push_str(&node.text());
                return;
            }
            Some(Frame::Code { code, .. }) => {
                code.push_str(&node.text());
                return;
            }
            Some(Frame::Element(_)) | Some(Frame::Table { .. }) | None => &mut self.out,
        };
        match (children.last_mut(), node) {
            (Some(Node::Text(last)), Node::Text(text)) => last.push_str(&text),
            (_, node) => children.push(node),
        }
    }

    fn table(&mut self) -> Option<&mut Frame> {
        self.stack
            .iter_mut()
            .rev()
            .find(|frame| matches!(frame, Frame::Table { .. }))
    }

    fn set_table_head(&mut self, head: bool) {
        if let Some(Frame::Table { in_head, cell, .. }) = self.table() {
            *in_head = head;
            *cell = 0;
        }
    }

    fn reset_cell(&mut self) {
        if let Some(Frame::Table { cell, .. }) = self.table() {
            *cell = 0;
        }
    }

    fn next_cell(&mut self) -> (bool, Alignment) {
        match self.table() {
            Some(Frame::Table {
                alignments,
                cell,
                in_head,
                ..
            }) => {
                let alignment = alignments.get(*cell).copied().unwrap_or(Alignment::None);
                *cell += 1;
                (*in_head, alignment)
            }
            _ => (false, Alignment::None),
        }
    }

    fn finish(mut self) -> Vec<Node> {
        // Close whatever the events left open (a run of events always holds whole blocks, but be
        // safe rather than drop text).
        while !self.stack.is_empty() {
            self.close_frame();
        }
        self.out
    }
}

fn element(tag: &'static str) -> Frame {
    Frame::Element(node(tag, Vec::new()))
}

fn heading(level: HeadingLevel) -> &'static str {
    match level {
        HeadingLevel::H1 => "h1",
        HeadingLevel::H2 => "h2",
        HeadingLevel::H3 => "h3",
        HeadingLevel::H4 => "h4",
        HeadingLevel::H5 => "h5",
        HeadingLevel::H6 => "h6",
    }
}

fn alignment_class(alignment: Alignment) -> Option<&'static str> {
    match alignment {
        Alignment::None => None,
        Alignment::Left => Some("cw-align-left"),
        Alignment::Center => Some("cw-align-center"),
        Alignment::Right => Some("cw-align-right"),
    }
}

/// A link whose text reads as another address shows its target's host, as the widget's does.
fn with_host_label(node: Node) -> Node {
    let Node::Element {
        tag: "a",
        attrs,
        mut children,
    } = node
    else {
        return node;
    };
    let href = attrs
        .iter()
        .find(|(name, _)| *name == "href")
        .map(|(_, href)| href.clone())
        .unwrap_or_default();
    let text: String = children.iter().map(Node::text).collect();
    if let Some(host) = misleading_host(&text, &href) {
        children.push(host_label(host));
    }
    Node::Element {
        tag: "a",
        attrs,
        children,
    }
}
