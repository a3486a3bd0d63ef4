//! Rendering a growing Markdown text in time linear in its length.
//!
//! A top-level block is finished once the next top-level block has started on a complete line: in
//! CommonMark, that line has closed every open block before it, so later text cannot change them.
//! Finished blocks are rendered once and handed out as [`Update::finished`]; only the text from the
//! start of the last (open) block is parsed again on the next update. When the text is complete,
//! every block is finished, and the nodes handed out, in order, are exactly those of a one-shot
//! [`render`](super::render) of the whole text (link reference definitions, the one construct whose
//! later lines change earlier blocks, are resolved by re-rendering at the end when the text has
//! any).

use std::ops::Range;

use pulldown_cmark::{Event, Parser};

use super::tree::{options, render, render_events, Node};

/// The state of one growing text.
#[derive(Debug, Default)]
pub struct IncrementalMarkdown {
    /// Bytes of the text that belong to finished blocks.
    finished_len: usize,
}

/// What changed since the last update.
#[derive(Debug, PartialEq)]
pub struct Update {
    /// Blocks that are now finished, to append after those handed out before. When `restart` is
    /// set, they replace everything handed out before.
    pub finished: Vec<Node>,
    /// The open last block (empty when the text is complete); replaces the previous open block.
    pub open: Vec<Node>,
    /// Everything handed out before is void (the text was replaced or needed a full render).
    pub restart: bool,
}

impl IncrementalMarkdown {
    /// A renderer at the start of a text.
    pub fn new() -> Self {
        Self::default()
    }

    /// Renders `text`, of which every earlier update saw a prefix. `complete` says no more text
    /// will come.
    pub fn update(&mut self, text: &str, complete: bool) -> Update {
        let mut restart = false;
        if text.len() < self.finished_len || !text.is_char_boundary(self.finished_len) {
            // Not a continuation of what was rendered: start over.
            self.finished_len = 0;
            restart = true;
        }
        if complete && self.finished_len > 0 && has_link_definition(text) {
            self.finished_len = text.len();
            return Update {
                finished: render(text),
                open: Vec::new(),
                restart: true,
            };
        }
        let tail = &text[self.finished_len..];
        let events: Vec<(Event<'_>, Range<usize>)> = Parser::new_ext(tail, options())
            .into_offset_iter()
            .collect();
        let split = if complete {
            self.finished_len = text.len();
            events.len()
        } else {
            // Only a block that starts on a complete line proves the blocks before it finished: the
            // meaning of a partial line can still change ("|" is a paragraph, "| 1 |" a table row).
            let complete_lines = tail.rfind('\n').map_or(0, |newline| newline + 1);
            let open = block_starts(&events)
                .into_iter()
                .rev()
                .find(|&(_, offset)| offset < complete_lines);
            match open {
                Some((index, offset)) => {
                    self.finished_len += line_start(tail, offset);
                    index
                }
                None => 0,
            }
        };
        let mut events = events.into_iter().map(|(event, _)| event);
        let finished = render_events(events.by_ref().take(split));
        let open = render_events(events);
        Update {
            finished,
            open,
            restart,
        }
    }
}

/// The event index and byte offset where each top-level block starts.
fn block_starts(events: &[(Event<'_>, Range<usize>)]) -> Vec<(usize, usize)> {
    let mut depth = 0usize;
    let mut starts = Vec::new();
    for (index, (event, range)) in events.iter().enumerate() {
        match event {
            Event::Start(_) => {
                if depth == 0 {
                    starts.push((index, range.start));
                }
                depth += 1;
            }
            Event::End(_) => depth = depth.saturating_sub(1),
            // A thematic break is a block without a start and an end.
            _ if depth == 0 => starts.push((index, range.start)),
            _ => {}
        }
    }
    starts
}

/// The start of the line that holds `offset`, so the next parse sees the block's indentation.
fn line_start(text: &str, offset: usize) -> usize {
    text[..offset]
        .rfind(['\n', '\r'])
        .map_or(0, |newline| newline + 1)
}

/// Whether the text may define a link reference (`[label]: destination` at a line start).
fn has_link_definition(text: &str) -> bool {
    text.lines().any(|line| {
        let line = line.trim_start_matches([' ', '>']);
        line.starts_with('[') && line.contains("]:")
    })
}
