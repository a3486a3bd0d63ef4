//! The demo page's entry point: mounts a chat box on every `data-chat-widget` element.

fn main() {
    chat_widget::mount_all();
}
