//! The page's entry point: mounts a chat widget on every element with a `data-chat-widget`
//! attribute. The demo page's element also has `data-chat-demo-tools`, which gives its widget the
//! demo tools; no other page's widget gets them.

fn main() {
    chat_widget::mount_all(|element| {
        if element.has_attribute("data-chat-demo-tools") {
            chat_widget::demo::demo_tools()
        } else {
            chat_widget::Toolbox::new()
        }
    });
}
