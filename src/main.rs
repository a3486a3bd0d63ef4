//! The demo page's entry point: mounts a chat box, with the example tools, on every
//! `data-chat-widget` element.

fn main() {
    chat_widget::mount_all(&chat_widget::demo::demo_tools());
}
