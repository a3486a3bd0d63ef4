//! A Leptos app rendered on the server and hydrated in the browser. The chat widget talks to the
//! browser from its first line, so the server renders an empty place for it, and the app mounts
//! it there once it has hydrated, with an effect (effects run only in the browser).

pub mod app;

/// The browser's entry point: hydrates what the server rendered.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    leptos::mount::hydrate_body(app::App);
}
