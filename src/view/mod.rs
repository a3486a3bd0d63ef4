//! The chat box's Leptos components, one per file. They read the controller's signals and call its
//! methods; they hold no logic of their own. Nothing here writes HTML as a string.

mod chat_box;
mod clipboard;
mod composer;
mod conversation_bar;
pub mod describe;
mod error_alert;
mod feedback;
mod icons;
mod launcher;
mod markdown_view;
mod message_item;
mod message_list;
mod settings_panel;
mod tool_consent;

pub use chat_box::{ChatBox, ChatView};
pub use composer::Composer;
pub use conversation_bar::ConversationBar;
pub use error_alert::ErrorAlert;
pub use feedback::ReplyFeedback;
pub use launcher::Launcher;
pub use markdown_view::MarkdownView;
pub use message_item::MessageItem;
pub use message_list::MessageList;
pub use settings_panel::SettingsPanel;
pub use tool_consent::ToolConsent;
