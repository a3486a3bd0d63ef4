//! The bytes the module answers in, and their readers. Written by the module (or by
//! [`crate::highlighted`] and [`crate::mathml`] when linked), read by the widget, which trusts
//! them no more than any input: a reader checks every length, name and range and gives `None`
//! for anything else, and the widget then shows the code plain or the formula as its source.
//!
//! Numbers are little-endian `u32`s.
//! - **Tokens**: nine bytes each, in order: start, end (byte offsets into the code) and the
//!   kind's number in [`Token::ALL`].
//! - **Markup**: a node is a text, `0` then its length and its UTF-8 bytes, or an element, `1`,
//!   its tag's number in [`TAGS`] (one byte), its number of attributes (one byte), each
//!   attribute's number in [`ATTRIBUTES`] (one byte) and its value as a text's length and bytes,
//!   then its number of children and the children.

use alloc::string::String;
use alloc::vec::Vec;
use core::ops::Range;

use crate::highlight::Token;
use crate::markup::{Markup, ATTRIBUTES, TAGS};

/// The deepest element the markup reader accepts: the TeX reader's bound (64 levels) with room
/// for the elements around them.
const MAX_DEPTH: usize = 256;

/// `tokens` as bytes.
pub fn write_tokens(tokens: &[(Range<usize>, Token)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(tokens.len() * 9);
    for (range, token) in tokens {
        put_u32(&mut out, range.start);
        put_u32(&mut out, range.end);
        out.push(*token as u8);
    }
    out
}

/// The tokens in `bytes`, for a code of `code_len` bytes: `None` unless each lies within the code,
/// after the one before it, and is of a known kind.
pub fn read_tokens(bytes: &[u8], code_len: usize) -> Option<Vec<(Range<usize>, Token)>> {
    if !bytes.len().is_multiple_of(9) {
        return None;
    }
    let mut tokens = Vec::with_capacity(bytes.len() / 9);
    let mut end = 0;
    for token in bytes.chunks_exact(9) {
        let mut reader = Reader {
            bytes: token,
            at: 0,
        };
        let range = reader.u32()?..reader.u32()?;
        let kind = *Token::ALL.get(usize::from(reader.byte()?))?;
        if range.start < end || range.start >= range.end || range.end > code_len {
            return None;
        }
        end = range.end;
        tokens.push((range, kind));
    }
    Some(tokens)
}

/// `markup` as bytes, without its `data-` attributes; `None` when it holds a name outside
/// [`TAGS`] and [`ATTRIBUTES`] (which the tests rule out).
pub fn write_markup(markup: &Markup) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    write_node(markup, &mut out)?;
    Some(out)
}

fn write_node(node: &Markup, out: &mut Vec<u8>) -> Option<()> {
    match node {
        Markup::Text(text) => {
            out.push(0);
            put_text(out, text);
        }
        Markup::Element {
            tag,
            attrs,
            children,
        } => {
            out.push(1);
            out.push(number(TAGS, tag)?);
            let attrs: Vec<_> = attrs
                .iter()
                .filter(|(name, _)| !name.starts_with("data-"))
                .collect();
            out.push(u8::try_from(attrs.len()).ok()?);
            for (name, value) in attrs {
                out.push(number(ATTRIBUTES, name)?);
                put_text(out, value);
            }
            put_u32(out, children.len());
            for child in children {
                write_node(child, out)?;
            }
        }
    }
    Some(())
}

/// The markup in `bytes`: `None` unless they hold exactly one well-formed node, with known
/// names, at most `MAX_DEPTH` deep.
pub fn read_markup(bytes: &[u8]) -> Option<Markup> {
    let mut reader = Reader { bytes, at: 0 };
    let node = reader.node(0)?;
    (reader.at == bytes.len()).then_some(node)
}

fn number(names: &[&str], name: &str) -> Option<u8> {
    let index = names.iter().position(|known| *known == name)?;
    u8::try_from(index).ok()
}

fn put_u32(out: &mut Vec<u8>, value: usize) {
    // Every length and offset is of a text the module was given in one piece of its memory.
    out.extend_from_slice(&(value as u32).to_le_bytes());
}

fn put_text(out: &mut Vec<u8>, text: &str) {
    put_u32(out, text.len());
    out.extend_from_slice(text.as_bytes());
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, len: usize) -> Option<&[u8]> {
        let taken = self.bytes.get(self.at..self.at.checked_add(len)?)?;
        self.at += len;
        Some(taken)
    }

    fn byte(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    fn u32(&mut self) -> Option<usize> {
        let bytes = self.take(4)?;
        usize::try_from(u32::from_le_bytes(bytes.try_into().ok()?)).ok()
    }

    fn text(&mut self) -> Option<String> {
        let len = self.u32()?;
        let bytes = self.take(len)?;
        String::from_utf8(bytes.to_vec()).ok()
    }

    fn name(&mut self, names: &[&'static str]) -> Option<&'static str> {
        names.get(usize::from(self.byte()?)).copied()
    }

    fn node(&mut self, depth: usize) -> Option<Markup> {
        if depth > MAX_DEPTH {
            return None;
        }
        match self.byte()? {
            0 => Some(Markup::Text(self.text()?)),
            1 => {
                let tag = self.name(TAGS)?;
                let count = self.byte()?;
                let mut attrs = Vec::with_capacity(usize::from(count));
                for _ in 0..count {
                    attrs.push((self.name(ATTRIBUTES)?, self.text()?));
                }
                let count = self.u32()?;
                // Each child takes at least five bytes (an empty text): a count larger than what
                // is left allows is a lie. Room is made as children come, not trusted up front.
                if count > (self.bytes.len() - self.at) / 5 {
                    return None;
                }
                let mut children = Vec::with_capacity(count.min(16));
                for _ in 0..count {
                    children.push(self.node(depth + 1)?);
                }
                Some(Markup::Element {
                    tag,
                    attrs,
                    children,
                })
            }
            _ => None,
        }
    }
}
