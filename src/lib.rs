//! An embeddable AI chat widget: a Leptos component that builds OpenAI-compatible chat-completions
//! requests in the browser and streams the replies into the page.
//!
//! The layers, each depending only on the ones before it:
//! - [`chat_protocol`]: the wire types, validation, provider errors and the SSE decoder;
//! - [`conversation`]: the conversation as plain data;
//! - [`transport`]: the only code that calls `fetch`;
//! - [`markdown`]: replies rendered safely and incrementally;
//! - [`controller`] and [`view`]: the reactive bridge and the Leptos components;
//! - [`embed`] and [`config`]: how a page mounts and configures the widget.

pub mod attachments;
pub mod config;
pub mod controller;
pub mod conversation;
pub mod embed;
pub mod error;
pub mod library;
pub mod markdown;
pub mod retry;
pub mod settings;
pub mod storage;
pub mod strings;
pub mod tools;
pub mod transport;
pub mod view;

pub use chat_protocol as protocol;
pub use chat_protocol::ApiKey;
pub use config::{ChatConfig, ConfigError};
pub use controller::ChatController;
pub use conversation::{ChatMessage, Conversation, MessageId, MessageStatus, Role, Status};
pub use embed::{mount, mount_all, mount_with, ChatWidget};
pub use error::ChatError;
pub use strings::Strings;
pub use tools::{ToolResult, Toolbox};
pub use transport::{
    AbortHandle, FetchTransport, Reply, SharedTransport, Transport, TransportError,
};
pub use view::ChatBox;
