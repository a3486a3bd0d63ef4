//! The widget's wasm for pages: its exports (`mount` and the handle's methods) come from the
//! library. Nothing runs at start: `embed.js` decides when and where to mount.

fn main() {
    // Links the library, whose `#[wasm_bindgen]` exports are the wasm's.
    let _ = chat_widget::mount;
}
