//! The chat box in a real browser, with a scripted transport: what a person sees and can do.
//!
//! One test crate in several files (each file directly under `tests/` would be a crate of its
//! own, linked to wasm on its own). Where things are:
//!
//! - `support`: the scripted transport, `Fixture` (a chat box mounted on it in a fresh element,
//!   with queries by role, label and `data-` attribute), `settle` and the other waits.
//! - `chat`: sending, streaming, Stop, and the errors a reply can end with.
//! - `retry`: trying again on its own after a 429 or a server error, and while offline.
//! - `actions`: what a message offers: Regenerate, Edit, Copy, Send again, Continue.
//! - `markdown`: replies rendered as elements while they stream, and the images they may load.
//! - `xss`: replies that try to run script or load something.
//! - `tools`: tool calls, their handlers, and consent before a tool runs.
//! - `settings`: the settings panel, what reaches the request, and what is kept.
//! - `conversations`: the conversation library, and what is kept in storage when it works or not.
//! - `images`: images attached through the picker, pasted or dropped.
//! - `embedding`: `mount` and `unmount`, the handle and its callbacks, the shadow root.
//! - `appearance`: the launcher, strings, direction, theme, and a hostile page's style sheet.
//! - `announcements`: what the live region says.
//! - `engagement`: the welcome, suggestions, feedback on replies, and the events the page hears.
//! - `voice`: dictation into the composer and replies read aloud.
//! - `richer`: a reply's reasoning, and the sources it cites.

#![cfg(target_arch = "wasm32")]

use wasm_bindgen_test::wasm_bindgen_test_configure;

mod actions;
mod announcements;
mod appearance;
mod chat;
mod conversations;
mod embedding;
mod engagement;
mod images;
mod markdown;
mod retry;
mod richer;
mod settings;
mod support;
mod tools;
mod voice;
mod xss;

wasm_bindgen_test_configure!(run_in_browser);
