//! The parts of a chat reply that are heavy and not always needed: [`highlight`] (a fenced code
//! block's tokens) and [`math`] (TeX as MathML). The widget links only what it needs to ask for
//! them and to read their answers ([`wire`], [`highlight::knows`], [`highlight::Token`]); the rest
//! is built, with the `module` feature, into a wasm module of its own that the widget loads when
//! a reply first has code it can highlight or a formula.
//!
//! The module and the widget are two wasm instances that share no memory: the widget writes its
//! question into the module's memory and reads the answer back as bytes, in [`wire`]'s format.
//! [`highlighted`] and [`mathml`] are those answers, as the module gives them; a page that links
//! this crate whole (or a test) can call them directly.

// The module is built without the standard library, whose panic messages and allocator would
// be most of its size; everywhere else the crate is ordinary.
#![cfg_attr(all(feature = "module", target_arch = "wasm32"), no_std)]

extern crate alloc;

use alloc::vec::Vec;

pub mod highlight;
pub mod markup;
pub mod math;
pub mod wire;

#[cfg(all(feature = "module", target_arch = "wasm32"))]
mod exports;

/// The tokens of `code` in `language`, in [`wire::read_tokens`]'s format (empty for a language
/// the highlighter does not know).
pub fn highlighted(language: &str, code: &str) -> Vec<u8> {
    wire::write_tokens(&highlight::highlight(language, code))
}

/// `tex` as MathML, in [`wire::read_markup`]'s format; empty when it is not math the reader
/// knows.
pub fn mathml(tex: &str, display: bool) -> Vec<u8> {
    math::to_mathml(tex, display)
        .and_then(|markup| wire::write_markup(&markup))
        .unwrap_or_default()
}
