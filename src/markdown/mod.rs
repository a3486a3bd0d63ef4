//! Markdown replies, rendered safely and incrementally.
//!
//! - [`block`] finds a text's blocks (paragraphs, lists, code, tables...) in one pass over its
//!   lines, and [`inline`] their inline content;
//! - [`tree`] turns both into [`Node`]s (plain data), deciding which links are safe;
//! - [`incremental`] re-parses only the open last block of a growing text;
//! - [`dom`] turns nodes into DOM nodes, one `create_element` at a time: no HTML string is ever
//!   parsed by the browser, so raw HTML in a reply is only ever text.
//!
//! The parser is the widget's own rather than pulldown-cmark, for size: pulldown-cmark with its
//! tables of entities and Unicode properties cost about 70 KB of the gzipped bundle, this parser
//! about 21 KB. A differential test (`tests/markdown.rs`) holds it to pulldown-cmark's
//! output.
//!
//! `block`, `inline`, `tree` and `incremental` know nothing of the browser and are tested natively.

pub mod block;
pub mod dom;
pub mod incremental;
pub mod inline;
pub mod node;
pub mod tree;
mod url;

pub use incremental::{IncrementalMarkdown, Update};
pub use node::Node;
pub use tree::render;
pub use url::{is_safe_link, misleading_host, scheme};
