//! The block structure of a Markdown text, line by line (CommonMark's two-phase parsing, first
//! phase): containers (block quotes, list items) and leaves (paragraphs, headings, code, HTML,
//! rules, GFM tables). Inline text stays raw here; [`super::inline`] reads it once the whole
//! text's link reference definitions are known.
//!
//! One pass, no backtracking: the time is linear in the text's length.

use super::inline::{self, Definitions};

/// A block of the document.
#[derive(Debug)]
pub enum Block {
    /// A paragraph's raw inline text, its lines joined by `\n`.
    Paragraph(String),
    /// An ATX or setext heading: level 1 to 6, and its raw inline text.
    Heading(u8, String),
    /// A fenced or indented code block: the fence's info string and the code.
    Code {
        /// The info string after the opening fence (empty for indented code).
        info: String,
        /// The code, each line that ended in the source with `\n`.
        code: String,
    },
    /// Raw HTML, shown as the text it is.
    Html(String),
    /// A thematic break.
    Rule,
    /// A block quote.
    Quote(Vec<Block>),
    /// A list.
    List(List),
    /// A GFM table.
    Table(Table),
}

/// A list and its items.
#[derive(Debug)]
pub struct List {
    /// The first number of an ordered list; `None` for a bullet list.
    pub start: Option<u64>,
    /// Tight lists show their items' paragraphs without paragraph elements.
    pub tight: bool,
    /// Each item's blocks.
    pub items: Vec<Vec<Block>>,
    /// The bullet (`-`, `+`, `*`) or the ordered delimiter (`.`, `)`): another one starts a new
    /// list.
    marker: u8,
    /// Whether the last item ended with a blank line (the list is loose if another item follows).
    last_blank: bool,
}

/// A column's alignment.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Align {
    /// Not given.
    None,
    /// `:--`.
    Left,
    /// `:-:`.
    Center,
    /// `--:`.
    Right,
}

/// A table: one alignment and one header cell per column, and rows of as many cells.
#[derive(Debug)]
pub struct Table {
    /// The columns' alignments.
    pub aligns: Vec<Align>,
    /// The header cells' raw inline text.
    pub head: Vec<String>,
    /// The body rows' cells' raw inline text.
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// Adds a body row, with as many cells as the table has columns.
    fn push_row(&mut self, line: &str) {
        let mut row = split_row(line);
        row.resize(self.aligns.len(), String::new());
        self.rows.push(row);
    }
}

/// A parsed text: its top-level blocks, where each starts, and its link reference definitions.
#[derive(Debug, Default)]
pub struct Document {
    /// The top-level blocks.
    pub blocks: Vec<Block>,
    /// The byte offset of the line on which each top-level block starts (a table that ended a
    /// paragraph starts with it: both have the paragraph's offset).
    pub starts: Vec<usize>,
    /// The link reference definitions found anywhere in the text.
    pub definitions: Definitions,
}

/// Block quotes and list items nested deeper than this are text: the tree stays shallow enough
/// to walk recursively.
pub const MAX_NESTING: usize = 32;

/// Parses `text` into blocks.
pub fn parse(text: &str) -> Document {
    let mut parser = Parser {
        stack: vec![Container::new(Kind::Root, 0)],
        document: Document::default(),
    };
    let mut offset = 0;
    while offset < text.len() {
        let end = text[offset..]
            .find('\n')
            .map_or(text.len(), |i| offset + i + 1);
        let line = &text[offset..end];
        let ended = line.ends_with('\n');
        let content = line.trim_end_matches('\n');
        let content = content.strip_suffix('\r').unwrap_or(content);
        parser.line(content, ended, offset);
        offset = end;
    }
    while parser.stack.len() > 1 {
        parser.close_top();
    }
    let root = parser
        .stack
        .pop()
        .expect("the root is never closed before the end");
    let blocks = parser.finish(root);
    Document {
        blocks,
        ..parser.document
    }
}

/// What an open container is.
#[derive(Debug)]
enum Kind {
    Root,
    Quote,
    Item {
        /// The columns a line needs to belong to the item.
        indent: usize,
        marker: u8,
        start: Option<u64>,
    },
}

/// An open container: its finished blocks and its open leaf.
#[derive(Debug)]
struct Container {
    kind: Kind,
    blocks: Vec<Block>,
    leaf: Option<Leaf>,
    /// The offset of the line the container started on.
    start: usize,
    /// The last line in this container was blank.
    blank: bool,
    /// Two of the container's blocks are separated by a blank line (an item: its list is loose).
    loose: bool,
    /// Nothing but list items came since its last block, a list: another item joins it.
    in_list: bool,
    /// A block has started in it (a paragraph of definitions alone counts).
    used: bool,
}

impl Container {
    fn new(kind: Kind, start: usize) -> Self {
        Container {
            kind,
            blocks: Vec::new(),
            leaf: None,
            start,
            blank: false,
            loose: false,
            in_list: false,
            used: false,
        }
    }
}

/// An open leaf block.
#[derive(Debug)]
enum Leaf {
    Paragraph {
        lines: Vec<String>,
        /// The last line was indented by four columns or more (so it is no table header).
        indented: bool,
        start: usize,
    },
    Fenced {
        fence: u8,
        length: usize,
        indent: usize,
        info: String,
        code: String,
        start: usize,
    },
    Indented {
        code: String,
        /// Blank lines seen after the code, kept only if more code follows.
        pending: String,
        start: usize,
    },
    Html {
        end: HtmlEnd,
        text: String,
        start: usize,
    },
    Table {
        table: Table,
        start: usize,
    },
}

/// What ends an HTML block.
#[derive(Clone, Copy, Debug, PartialEq)]
enum HtmlEnd {
    /// A line containing this text, in any case.
    Marker(&'static str),
    /// A blank line.
    Blank,
}

/// The rest of a line after the containers' markers, with the column it starts at (for tabs).
#[derive(Debug)]
struct Rest {
    text: String,
    column: usize,
}

impl Rest {
    /// The columns of whitespace at the start.
    fn indent(&self) -> usize {
        let mut column = self.column;
        for byte in self.text.bytes() {
            match byte {
                b' ' => column += 1,
                b'\t' => column += 4 - column % 4,
                _ => break,
            }
        }
        column - self.column
    }

    /// Consumes up to `columns` columns of whitespace; a tab that reaches past them is split.
    fn skip_indent(&mut self, columns: usize) {
        let mut taken = 0;
        let mut bytes = 0;
        let mut column = self.column;
        for byte in self.text.bytes() {
            if taken == columns {
                break;
            }
            let width = match byte {
                b' ' => 1,
                b'\t' => 4 - column % 4,
                _ => break,
            };
            if taken + width > columns {
                // Part of a tab: the rest of it stays, as spaces.
                let left = taken + width - columns;
                self.text = " ".repeat(left) + &self.text[bytes + 1..];
                self.column = column + (columns - taken);
                return;
            }
            taken += width;
            column += width;
            bytes += 1;
        }
        self.text.drain(..bytes);
        self.column = column;
    }

    /// Consumes `bytes` bytes that are not whitespace.
    fn skip(&mut self, bytes: usize) {
        self.text.drain(..bytes);
        self.column += bytes;
    }

    fn is_blank(&self) -> bool {
        self.text.bytes().all(|byte| byte == b' ' || byte == b'\t')
    }

    /// The text after the indentation.
    fn trimmed(&self) -> &str {
        self.text.trim_start_matches([' ', '\t'])
    }
}

struct Parser {
    stack: Vec<Container>,
    document: Document,
}

impl Parser {
    fn line(&mut self, line: &str, ended: bool, offset: usize) {
        let mut rest = Rest {
            text: line.to_owned(),
            column: 0,
        };

        // Which open containers the line continues.
        let mut matched = 1;
        while matched < self.stack.len() {
            let container = &self.stack[matched];
            match container.kind {
                Kind::Quote => {
                    if rest.indent() > 3 || !rest.trimmed().starts_with('>') {
                        break;
                    }
                    rest.skip_indent(3);
                    rest.skip(1);
                    rest.skip_indent(1);
                }
                Kind::Item { indent, .. } => {
                    if rest.is_blank() {
                        // An item may start with one blank line, not two.
                        if !container.used && matched + 1 == self.stack.len() {
                            break;
                        }
                        rest.skip_indent(indent);
                    } else if rest.indent() >= indent {
                        rest.skip_indent(indent);
                    } else {
                        break;
                    }
                }
                Kind::Root => {}
            }
            matched += 1;
        }
        let all_matched = matched == self.stack.len();

        // Code and HTML take every line of their containers as it is.
        if all_matched {
            let top = self.stack.last_mut().expect("the root is always open");
            match &mut top.leaf {
                Some(Leaf::Fenced {
                    fence,
                    length,
                    indent,
                    code,
                    ..
                }) => {
                    if is_closing_fence(&rest, *fence, *length) {
                        self.close_leaf();
                    } else {
                        rest.skip_indent(*indent);
                        code.push_str(&rest.text);
                        if ended {
                            code.push('\n');
                        }
                    }
                    return;
                }
                Some(Leaf::Html { end, text, .. }) => {
                    let end = *end;
                    if end == HtmlEnd::Blank && rest.is_blank() {
                        self.close_leaf();
                        self.stack.last_mut().expect("open").blank = true;
                        return;
                    }
                    text.push_str(&rest.text);
                    if ended {
                        text.push('\n');
                    }
                    if let HtmlEnd::Marker(marker) = end {
                        if rest.text.to_ascii_lowercase().contains(marker) {
                            self.close_leaf();
                        }
                    }
                    return;
                }
                _ => {}
            }
        }

        // New containers.
        let tip = self.stack.last().and_then(|top| top.leaf.as_ref());
        let tip_is_paragraph = matches!(tip, Some(Leaf::Paragraph { .. }));
        let mut opened = false;
        loop {
            if rest.indent() > 3 || self.stack.len() > MAX_NESTING {
                break;
            }
            let trimmed = rest.trimmed();
            if trimmed.starts_with('>') {
                self.close_unmatched(matched);
                self.open(Kind::Quote, offset);
                matched = self.stack.len();
                rest.skip_indent(3);
                rest.skip(1);
                rest.skip_indent(1);
                opened = true;
                continue;
            }
            if is_rule(trimmed) {
                break;
            }
            let Some(marker) = list_marker(&rest) else {
                break;
            };
            // Only an item with text, and a numbered one only from 1, may end a paragraph of
            // the container it would open in.
            let interrupts = !(tip_is_paragraph && all_matched)
                || opened
                || (!marker.empty && marker.start.is_none_or(|start| start == 1));
            if !interrupts {
                break;
            }
            self.close_unmatched(matched);
            rest.skip_indent(3);
            rest.skip(marker.width);
            let indent = marker.content_indent;
            if marker.empty {
                rest.text.clear();
            } else {
                rest.skip_indent(marker.spaces);
            }
            self.open(
                Kind::Item {
                    indent,
                    marker: marker.marker,
                    start: marker.start,
                },
                offset,
            );
            matched = self.stack.len();
            opened = true;
        }

        // A lazy continuation line of a paragraph in containers the line did not continue.
        if !opened && matched < self.stack.len() && tip_is_paragraph && !rest.is_blank() {
            let trimmed = rest.trimmed();
            if rest.indent() > 3 || !interrupts(trimmed, false) {
                if let Some(Leaf::Paragraph {
                    lines, indented, ..
                }) = &mut self.stack.last_mut().expect("open").leaf
                {
                    lines.push(trimmed.to_owned());
                    *indented = rest.indent() > 3;
                }
                return;
            }
        }
        self.close_unmatched(matched);
        self.leaf(rest, ended, offset, all_matched && !opened);
    }

    /// The leaf part of a line, in the innermost container. `continued` says the line continued
    /// every open container (so it may continue a paragraph as a setext underline or a table).
    fn leaf(&mut self, mut rest: Rest, ended: bool, offset: usize, continued: bool) {
        let top = self.stack.last_mut().expect("the root is always open");
        if rest.is_blank() {
            // A blank first line of an item is not a blank between its blocks.
            let had_content = top.used;
            match &mut top.leaf {
                Some(Leaf::Indented { pending, .. }) => {
                    rest.skip_indent(4);
                    pending.push_str(&rest.text);
                    pending.push('\n');
                }
                Some(Leaf::Paragraph { .. }) | Some(Leaf::Table { .. }) => self.close_leaf(),
                _ => {}
            }
            if had_content {
                self.stack.last_mut().expect("open").blank = true;
            }
            return;
        }
        let indent = rest.indent();
        if indent >= 4 {
            match &mut top.leaf {
                Some(Leaf::Indented { code, pending, .. }) => {
                    code.push_str(pending);
                    pending.clear();
                    rest.skip_indent(4);
                    code.push_str(&rest.text);
                    if ended {
                        code.push('\n');
                    }
                    return;
                }
                Some(Leaf::Paragraph {
                    lines, indented, ..
                }) => {
                    lines.push(rest.trimmed().to_owned());
                    *indented = true;
                    return;
                }
                // A table goes on over indented lines, unless they would start a block.
                Some(Leaf::Table { table, .. }) if !interrupts(rest.trimmed(), true) => {
                    table.push_row(rest.trimmed());
                    return;
                }
                _ => {}
            }
            self.close_leaf();
            self.begin(None);
            rest.skip_indent(4);
            let mut code = rest.text;
            if ended {
                code.push('\n');
            }
            self.stack.last_mut().expect("open").leaf = Some(Leaf::Indented {
                code,
                pending: String::new(),
                start: offset,
            });
            return;
        }
        let trimmed = rest.trimmed().to_owned();

        if continued {
            if let Some(Leaf::Paragraph {
                lines, indented, ..
            }) = &top.leaf
            {
                if let Some(level) = setext_level(&trimmed) {
                    let text = lines.join("\n");
                    let Some(Leaf::Paragraph { start, .. }) = top.leaf.take() else {
                        unreachable!("matched above")
                    };
                    self.heading_or_paragraph(level, text, start, trimmed, offset);
                    return;
                }
                if let Some(aligns) = delimiter_row(&trimmed) {
                    let last = lines.last().map(String::as_str).unwrap_or_default();
                    let header = split_row(last);
                    if header.len() == aligns.len() && !indented && has_pipe(last) {
                        self.table_from_paragraph(aligns, header);
                        return;
                    }
                }
            }
        }

        if let Some((level, text)) = atx_heading(&trimmed) {
            self.close_leaf();
            self.begin(None);
            let text = text.to_owned();
            self.push_block(Block::Heading(level, text), offset);
            return;
        }
        if let Some((fence, length, info)) = opening_fence(&trimmed) {
            self.close_leaf();
            self.begin(None);
            let info = info.to_owned();
            self.stack.last_mut().expect("open").leaf = Some(Leaf::Fenced {
                fence,
                length,
                indent,
                info,
                code: String::new(),
                start: offset,
            });
            return;
        }
        if is_rule(&trimmed) {
            self.close_leaf();
            self.begin(None);
            self.push_block(Block::Rule, offset);
            return;
        }
        let top = self.stack.last_mut().expect("open");
        let in_paragraph = matches!(top.leaf, Some(Leaf::Paragraph { .. }));
        if let Some(end) = html_start(&trimmed, in_paragraph) {
            self.close_leaf();
            self.begin(None);
            let done = matches!(end, HtmlEnd::Marker(marker) if trimmed.to_ascii_lowercase().contains(marker));
            let mut text = rest.text;
            if ended {
                text.push('\n');
            }
            self.stack.last_mut().expect("open").leaf = Some(Leaf::Html {
                end,
                text,
                start: offset,
            });
            if done {
                self.close_leaf();
            }
            return;
        }
        let top = self.stack.last_mut().expect("open");
        match &mut top.leaf {
            Some(Leaf::Paragraph {
                lines, indented, ..
            }) => {
                lines.push(trimmed);
                *indented = false;
            }
            Some(Leaf::Table { table, .. }) => table.push_row(&trimmed),
            _ => {
                self.close_leaf();
                self.begin(None);
                self.stack.last_mut().expect("open").leaf = Some(Leaf::Paragraph {
                    lines: vec![trimmed],
                    indented: false,
                    start: offset,
                });
            }
        }
    }

    /// A paragraph's text under a setext underline (the line at `offset`): a heading, unless the
    /// text was only link reference definitions. Then the underline is a line of its own: a rule,
    /// or the first line of a paragraph.
    fn heading_or_paragraph(
        &mut self,
        level: u8,
        text: String,
        start: usize,
        underline: String,
        offset: usize,
    ) {
        let text = inline::take_definitions(&text, start, &mut self.document.definitions);
        if !text.is_empty() {
            self.push_block(Block::Heading(level, text.trim_end().to_owned()), start);
        } else if is_rule(&underline) {
            self.push_block(Block::Rule, offset);
        } else {
            self.stack.last_mut().expect("open").leaf = Some(Leaf::Paragraph {
                lines: vec![underline],
                indented: false,
                start: offset,
            });
        }
    }

    /// The open paragraph's last line becomes a table's header; the lines before it stay a
    /// paragraph. The table starts where the paragraph started: read from its header line alone,
    /// that line could mean something else (`+` alone is an empty list item, not text), so the
    /// two are only ever read again together.
    fn table_from_paragraph(&mut self, aligns: Vec<Align>, head: Vec<String>) {
        let top = self.stack.last_mut().expect("open");
        let Some(Leaf::Paragraph {
            mut lines, start, ..
        }) = top.leaf.take()
        else {
            unreachable!("called with an open paragraph")
        };
        lines.pop();
        if !lines.is_empty() {
            top.leaf = Some(Leaf::Paragraph {
                lines,
                indented: false,
                start,
            });
            self.close_leaf();
        }
        self.stack.last_mut().expect("open").leaf = Some(Leaf::Table {
            table: Table {
                aligns,
                head,
                rows: Vec::new(),
            },
            start,
        });
    }

    /// Before a new block in the innermost container: a blank line before it makes the container
    /// loose (for an item: its list), and anything but an item ends the list before it. `item` is
    /// the marker of a new list item.
    fn begin(&mut self, item: Option<u8>) {
        let top = self.stack.last_mut().expect("open");
        // An item that joins the list before it is not a second block: a blank line between
        // items makes that list loose, not the container (`List::last_blank`).
        let joins = top.in_list
            && matches!((top.blocks.last(), item), (Some(Block::List(list)), Some(marker)) if list.marker == marker);
        if top.blank && top.used && !joins {
            top.loose = true;
        }
        top.blank = false;
        top.in_list &= item.is_some();
        top.used = true;
    }

    fn open(&mut self, kind: Kind, offset: usize) {
        self.close_leaf();
        self.begin(match kind {
            Kind::Item { marker, .. } => Some(marker),
            _ => None,
        });
        self.stack.push(Container::new(kind, offset));
    }

    fn close_unmatched(&mut self, matched: usize) {
        while self.stack.len() > matched {
            self.close_top();
        }
    }

    /// Closes the innermost container and adds it to its parent.
    fn close_top(&mut self) {
        let container = self.stack.pop().expect("never the root");
        let kind_start = container.start;
        let (blank, loose) = (container.blank, container.loose);
        let kind = match container.kind {
            Kind::Root => unreachable!("the root is never closed here"),
            Kind::Quote => None,
            Kind::Item { marker, start, .. } => Some((marker, start)),
        };
        let blocks = self.finish(container);
        let parent = self.stack.last_mut().expect("the root is always open");
        // A blank line at the end of an item ends its parent's last block too. (A quote's empty
        // `>` lines are not blank lines outside it.)
        if blank && kind.is_some() {
            parent.blank = true;
        }
        match kind {
            None => self.push_block(Block::Quote(blocks), kind_start),
            Some((marker, start)) => {
                let in_list = std::mem::replace(&mut parent.in_list, true);
                if let Some(Block::List(list)) = parent.blocks.last_mut() {
                    if in_list && list.marker == marker {
                        list.tight &= !list.last_blank && !loose;
                        list.items.push(blocks);
                        list.last_blank = blank;
                        return;
                    }
                }
                let list = List {
                    start,
                    tight: !loose,
                    items: vec![blocks],
                    marker,
                    last_blank: blank,
                };
                self.push_block(Block::List(list), kind_start);
            }
        }
    }

    /// Closes the open leaf of the innermost container.
    fn close_leaf(&mut self) {
        let top = self.stack.last_mut().expect("the root is always open");
        let Some(leaf) = top.leaf.take() else {
            return;
        };
        let (block, start) = match leaf {
            Leaf::Paragraph { lines, start, .. } => {
                let text = lines.join("\n");
                let text = inline::take_definitions(&text, start, &mut self.document.definitions);
                if text.is_empty() {
                    return;
                }
                (Block::Paragraph(text.trim_end().to_owned()), start)
            }
            Leaf::Fenced {
                info, code, start, ..
            } => (Block::Code { info, code }, start),
            Leaf::Indented { code, start, .. } => (
                Block::Code {
                    info: String::new(),
                    code,
                },
                start,
            ),
            Leaf::Html { text, start, .. } => (Block::Html(text), start),
            Leaf::Table { table, start } => (Block::Table(table), start),
        };
        self.push_block(block, start);
    }

    /// Closes a container's open leaf and returns its blocks.
    fn finish(&mut self, container: Container) -> Vec<Block> {
        self.stack.push(container);
        self.close_leaf();
        self.stack.pop().expect("just pushed").blocks
    }

    /// Adds a finished block to the innermost container, noting where a top-level block starts.
    fn push_block(&mut self, block: Block, start: usize) {
        if self.stack.len() == 1 {
            self.document.starts.push(start);
        }
        self.stack
            .last_mut()
            .expect("the root is always open")
            .blocks
            .push(block);
    }
}

/// A list item's marker at the start of `rest`.
struct Marker {
    marker: u8,
    start: Option<u64>,
    /// Bytes of the marker.
    width: usize,
    /// Columns of whitespace after the marker that belong to it.
    spaces: usize,
    /// The columns the item's content is indented by.
    content_indent: usize,
    /// Nothing follows the marker on its line.
    empty: bool,
}

fn list_marker(rest: &Rest) -> Option<Marker> {
    let indent = rest.indent();
    let text = rest.trimmed();
    let bytes = text.as_bytes();
    let (marker, start, width) = match bytes.first()? {
        b'-' | b'+' | b'*' => (bytes[0], None, 1),
        b'0'..=b'9' => {
            let digits = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
            if digits > 9 {
                return None;
            }
            let delimiter = *bytes.get(digits)?;
            if delimiter != b'.' && delimiter != b')' {
                return None;
            }
            let number = text[..digits].parse().ok()?;
            (delimiter, Some(number), digits + 1)
        }
        _ => return None,
    };
    let after = Rest {
        text: text[width..].to_owned(),
        column: rest.column + indent + width,
    };
    if after.is_blank() {
        return Some(Marker {
            marker,
            start,
            width,
            spaces: 0,
            content_indent: indent + width + 1,
            empty: true,
        });
    }
    let spaces = after.indent();
    if spaces == 0 {
        return None;
    }
    // Five or more columns: the item starts with indented code, one column belongs to the marker.
    let spaces = if spaces > 4 { 1 } else { spaces };
    Some(Marker {
        marker,
        start,
        width,
        spaces,
        content_indent: indent + width + spaces,
        empty: false,
    })
}

/// A thematic break: three or more `-`, `*` or `_`, with spaces between.
fn is_rule(line: &str) -> bool {
    let mut kind = None;
    let mut count = 0;
    for character in line.chars() {
        match character {
            ' ' | '\t' => {}
            '-' | '*' | '_' if kind.is_none_or(|kind| kind == character) => {
                kind = Some(character);
                count += 1;
            }
            _ => return false,
        }
    }
    count >= 3
}

/// An ATX heading's level and text.
fn atx_heading(line: &str) -> Option<(u8, &str)> {
    let level = line.bytes().take_while(|&b| b == b'#').count();
    if !(1..=6).contains(&level) {
        return None;
    }
    let text = &line[level..];
    if !text.is_empty() && !text.starts_with([' ', '\t']) {
        return None;
    }
    let text = text.trim_matches([' ', '\t']);
    // A closing sequence of `#`s, after a space or alone.
    let without = text.trim_end_matches('#');
    let text = if without.is_empty() {
        without
    } else if without.ends_with([' ', '\t']) {
        without.trim_end_matches([' ', '\t'])
    } else {
        text
    };
    Some((level as u8, text))
}

/// A setext underline's level: `=` for 1, `-` for 2.
fn setext_level(line: &str) -> Option<u8> {
    let line = line.trim_end_matches([' ', '\t']);
    let level = match line.as_bytes().first()? {
        b'=' => 1,
        b'-' => 2,
        _ => return None,
    };
    line.bytes()
        .all(|b| b == line.as_bytes()[0])
        .then_some(level)
}

/// An opening code fence: its character, its length and its info string.
fn opening_fence(line: &str) -> Option<(u8, usize, &str)> {
    let fence = *line.as_bytes().first()?;
    if fence != b'`' && fence != b'~' {
        return None;
    }
    let length = line.bytes().take_while(|&b| b == fence).count();
    if length < 3 {
        return None;
    }
    let info = line[length..].trim_matches([' ', '\t']);
    if fence == b'`' && info.contains('`') {
        return None;
    }
    Some((fence, length, info))
}

fn is_closing_fence(rest: &Rest, fence: u8, length: usize) -> bool {
    if rest.indent() > 3 {
        return false;
    }
    let text = rest.trimmed();
    let run = text.bytes().take_while(|&b| b == fence).count();
    run >= length && text[run..].bytes().all(|b| b == b' ' || b == b'\t')
}

/// Whether a line that is not blank starts a block that ends a paragraph (so it cannot be a lazy
/// continuation line), or with `table`, a table (which any list item ends).
fn interrupts(line: &str, table: bool) -> bool {
    atx_heading(line).is_some()
        || opening_fence(line).is_some()
        || is_rule(line)
        || line.starts_with('>')
        || html_start(line, true).is_some()
        || list_marker(&Rest {
            text: line.to_owned(),
            column: 0,
        })
        .is_some_and(|marker| {
            table || (!marker.empty && marker.start.is_none_or(|start| start == 1))
        })
}

/// Block-level tag names: an HTML block that starts with one ends at a blank line.
const BLOCK_TAGS: [&str; 62] = [
    "address",
    "article",
    "aside",
    "base",
    "basefont",
    "blockquote",
    "body",
    "caption",
    "center",
    "col",
    "colgroup",
    "dd",
    "details",
    "dialog",
    "dir",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "frame",
    "frameset",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "head",
    "header",
    "hr",
    "html",
    "iframe",
    "legend",
    "li",
    "link",
    "main",
    "menu",
    "menuitem",
    "nav",
    "noframes",
    "ol",
    "optgroup",
    "option",
    "p",
    "param",
    "search",
    "section",
    "summary",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "title",
    "tr",
    "track",
    "ul",
];

/// Whether the line starts an HTML block, and what ends it. A block of any other complete tag
/// alone on its line cannot interrupt a paragraph.
fn html_start(line: &str, in_paragraph: bool) -> Option<HtmlEnd> {
    let rest = line.strip_prefix('<')?;
    if rest.starts_with("!--") {
        return Some(HtmlEnd::Marker("-->"));
    }
    if rest.starts_with('?') {
        return Some(HtmlEnd::Marker("?>"));
    }
    if rest.starts_with("![CDATA[") {
        return Some(HtmlEnd::Marker("]]>"));
    }
    if rest.starts_with('!') && rest[1..].starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Some(HtmlEnd::Marker(">"));
    }
    let closing = rest.starts_with('/');
    let name_start = usize::from(closing);
    let name_len = rest[name_start..]
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'-')
        .count();
    let name = rest[name_start..name_start + name_len].to_ascii_lowercase();
    let after = &rest[name_start + name_len..];
    let ends_name =
        after.is_empty() || after.starts_with([' ', '\t', '>']) || after.starts_with("/>");
    if name.is_empty() || !ends_name {
        return None;
    }
    for (tag, end) in [
        ("pre", "</pre>"),
        ("script", "</script>"),
        ("style", "</style>"),
        ("textarea", "</textarea>"),
    ] {
        if !closing && name == tag {
            return Some(HtmlEnd::Marker(end));
        }
    }
    if BLOCK_TAGS.contains(&name.as_str()) {
        return Some(HtmlEnd::Blank);
    }
    let tag = inline::html_tag(line)?;
    (!in_paragraph && line[tag..].trim().is_empty()).then_some(HtmlEnd::Blank)
}

/// A table's delimiter row (`| --- | :-: |`): one alignment per column.
fn delimiter_row(line: &str) -> Option<Vec<Align>> {
    if !line.contains('|') {
        return None;
    }
    let cells = split_row(line);
    cells
        .iter()
        .map(|cell| {
            let left = cell.starts_with(':');
            let right = cell.ends_with(':');
            let dashes = cell.trim_start_matches(':').trim_end_matches(':');
            if dashes.is_empty() || !dashes.bytes().all(|b| b == b'-') {
                return None;
            }
            Some(match (left, right) {
                (true, true) => Align::Center,
                (true, false) => Align::Left,
                (false, true) => Align::Right,
                (false, false) => Align::None,
            })
        })
        .collect()
}

/// Whether a line holds a `|` that is not escaped: a table's header line must.
fn has_pipe(line: &str) -> bool {
    let bytes = line.as_bytes();
    (0..bytes.len()).any(|i| bytes[i] == b'|' && (i == 0 || bytes[i - 1] != b'\\'))
}

/// A table row's cells, trimmed: split at each `|` that is not escaped, without the outer pipes.
fn split_row(line: &str) -> Vec<String> {
    let line = line.trim_matches([' ', '\t']);
    let line = line.strip_prefix('|').unwrap_or(line);
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut characters = line.chars();
    while let Some(character) = characters.next() {
        match character {
            '\\' => match characters.next() {
                Some('|') => cell.push('|'),
                Some(other) => {
                    cell.push('\\');
                    cell.push(other);
                }
                None => cell.push('\\'),
            },
            '|' => cells.push(std::mem::take(&mut cell).trim().to_owned()),
            _ => cell.push(character),
        }
    }
    let last = cell.trim();
    if !last.is_empty() || cells.is_empty() {
        cells.push(last.to_owned());
    }
    cells
}
