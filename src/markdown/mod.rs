//! Markdown replies, rendered safely and incrementally.
//!
//! - [`node`] holds [`Node`] (plain data) and the one rule for what a link becomes, on top of
//!   the URL checks ([`is_safe_link`], [`misleading_host`]);
//! - [`block`] finds a text's blocks (paragraphs, lists, code, tables...) in one pass over its
//!   lines, and [`inline`] their inline content;
//! - [`tree`] turns both into [`Node`]s;
//! - [`incremental`] re-parses only the open last block of a growing text;
//! - [`dom`] turns nodes into DOM nodes, one `create_element` at a time: no HTML string is ever
//!   parsed by the browser, so raw HTML in a reply is only ever text.
//!
//! The parser is the widget's own rather than pulldown-cmark, for size: pulldown-cmark with its
//! tables of entities and Unicode properties cost about 70 KB of the gzipped bundle, this parser
//! about 21 KB. A differential test (`tests/markdown.rs`) holds it to pulldown-cmark's
//! output.
//!
//! The modules are layers, each importing only those below it:
//! `url` → `node` → `math` → `inline` → `block` → `tree` → `incremental` → `dom`. The parsers share
//! `node` rather than reaching up into `tree`, so no cycle runs through them. Everything below
//! `dom` knows nothing of the browser and is tested natively.

pub mod block;
pub mod cite;
pub mod dom;
pub mod incremental;
pub mod inline;
pub mod math;
pub mod node;
pub mod tree;
mod url;

pub use incremental::{IncrementalMarkdown, Update};
pub use node::Node;
pub use tree::render;
pub use url::{is_safe_link, misleading_host, scheme};
