//! Markdown to [`Node`]s: CommonMark with tables, strikethrough and task lists.
//!
//! Raw HTML becomes text. Links keep their target only when [`is_safe_link`] allows it; other
//! links become plain text. Images become [`Node::Image`], for the DOM layer to show or not.

use pulldown_cmark::{
    Alignment, CodeBlockKind, Event, HeadingLevel, LinkType, Options, Parser, Tag, TagEnd,
};

use super::url::is_safe_link;

/// The `rel` of every link: a reply's links open in a new tab and carry nothing back.
pub const LINK_REL: &str = "noopener noreferrer nofollow";

/// A piece of rendered Markdown.
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    /// An element with attributes from a fixed set (never taken from the reply as-is, except a
    /// link's checked `href` and a list's `start`).
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
    fn element(tag: &'static str, attrs: Vec<(&'static str, String)>) -> Self {
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

/// The parser options: CommonMark plus tables, strikethrough and task lists.
pub fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS
}

/// Renders a whole Markdown text.
pub fn render(markdown: &str) -> Vec<Node> {
    render_events(Parser::new_ext(markdown, options()))
}

/// Renders a run of parser events (whole blocks).
pub fn render_events<'a>(events: impl IntoIterator<Item = Event<'a>>) -> Vec<Node> {
    let mut builder = Builder::default();
    for event in events {
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
            Event::HardBreak => self.push(Node::element("br", Vec::new())),
            Event::Rule => self.push(Node::element("hr", Vec::new())),
            Event::TaskListMarker(checked) => {
                let mut attrs = vec![("type", "checkbox".to_owned()), ("disabled", String::new())];
                if checked {
                    attrs.push(("checked", String::new()));
                }
                self.push(Node::element("input", attrs));
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
            Tag::HtmlBlock => {
                Frame::Element(Node::element("p", vec![("class", "cw-md-raw".to_owned())]))
            }
            Tag::List(Some(start)) if start != 1 => {
                Frame::Element(Node::element("ol", vec![("start", start.to_string())]))
            }
            Tag::List(Some(_)) => element("ol"),
            Tag::List(None) => element("ul"),
            Tag::Item => element("li"),
            Tag::Table(alignments) => Frame::Table {
                alignments,
                node: Node::element("table", Vec::new()),
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
                Frame::Element(Node::element(if in_head { "th" } else { "td" }, attrs))
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
                    Frame::Element(Node::element("a", attrs))
                } else {
                    Frame::Element(Node::element(
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
            Frame::Element(node) => node,
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

/// A fence's language: the first word of its info string, if it looks like a language name (it
/// becomes a label and a `data-language` attribute).
fn language_of(info: &str) -> String {
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

fn element(tag: &'static str) -> Frame {
    Frame::Element(Node::element(tag, Vec::new()))
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
