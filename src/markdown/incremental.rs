//! Rendering a growing Markdown text, re-reading only its last top-level block.
//!
//! A top-level block is finished once the next top-level block has started on a complete line that
//! is followed by another complete line: in CommonMark, that line has closed every open block
//! before it, so later text cannot change them. (The line after it must be complete too: a line
//! can change the meaning of the one before it, as an underline makes a heading.) Finished blocks
//! are rendered once and handed out as [`Update::finished`]; only the text from the start of the
//! last (open) block is parsed again on the next update. So a reply of many blocks costs time
//! linear in its length; one very long block (a long list, a long code block) is read again
//! whole on each update until the next block starts.
//!
//! When the text is complete, every block is finished, and the nodes handed out, in order, are
//! exactly those of a one-shot [`render`] of the whole text. Link reference definitions are the one
//! construct whose later lines change earlier blocks: while the text grows, finished blocks use
//! only the definitions made in finished blocks (one still arriving could link to half a URL), and
//! when the parser found any, the whole text is rendered once more at the end.

use std::borrow::Cow;

use super::block;
use super::node::Node;
use super::tree::{render, render_blocks};

/// The state of one growing text.
#[derive(Debug, Default)]
pub struct IncrementalMarkdown {
    /// Bytes of the text that belong to finished blocks.
    finished_len: usize,
    /// Whether the parser has found a link reference definition in the text.
    saw_definitions: bool,
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
            *self = Self::default();
            restart = true;
        }
        let tail = &text[self.finished_len..];
        let document = block::parse(tail);
        self.saw_definitions |= !document.definitions.is_empty();
        if complete && self.saw_definitions && self.finished_len > 0 {
            // Blocks handed out before a definition was seen may hold links it defines.
            self.finished_len = text.len();
            return Update {
                finished: render(text),
                open: Vec::new(),
                restart: true,
            };
        }
        let split = if complete {
            self.finished_len = text.len();
            document.blocks.len()
        } else {
            // Only a block that starts on a complete line, followed by another complete line,
            // proves the blocks before it finished: a partial line can still change meaning ("|"
            // is a paragraph, "| 1 |" a table row), and so can the line before it (a table header
            // interrupts a paragraph only when a matching delimiter row follows).
            let last_complete = tail[..tail.rfind('\n').unwrap_or(0)]
                .rfind('\n')
                .map_or(0, |newline| newline + 1);
            match document
                .starts
                .iter()
                .rposition(|&offset| offset < last_complete)
            {
                Some(mut index) => {
                    // Blocks that start together are read again together.
                    let offset = document.starts[index];
                    while index > 0 && document.starts[index - 1] == offset {
                        index -= 1;
                    }
                    self.finished_len += offset;
                    index
                }
                None => 0,
            }
        };
        let (finished, open) = document.blocks.split_at(split);
        let settled = match document.starts.get(split) {
            Some(&open_start) => Cow::Owned(document.definitions.before(open_start)),
            None => Cow::Borrowed(&document.definitions),
        };
        Update {
            finished: render_blocks(finished, &settled),
            open: render_blocks(open, &document.definitions),
            restart,
        }
    }
}
