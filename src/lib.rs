//! An embeddable AI chat widget: a Leptos component that builds OpenAI-compatible chat-completions
//! requests in the browser and streams the replies into the page.
//!
//! The layers, each depending only on the ones before it:
//! - [`chat_protocol`]: the wire types, validation, provider errors and the SSE decoder;
//! - [`chat_core`]: the widget's behaviour without I/O: the conversation, the turn as a state
//!   machine ([`chat_core::Session`]), settings, retries and the words it shows;
//! - [`transport`]: the only code that calls `fetch` for the conversation;
//! - [`markdown`]: replies rendered safely and incrementally, with [`rich`] (code highlighting
//!   and math, a module of their own loaded when a reply first needs them);
//! - [`controller`] and [`view`]: the driver that runs the session's effects and mirrors it into
//!   signals, and the Leptos components;
//! - [`embed`] and [`config`]: how a page mounts and configures the widget.

// Leptos views nest deeply: rendering them for hydration computes the layout of types deeper than
// the default limit.
#![recursion_limit = "256"]

pub mod attachments;
pub mod config;
pub mod controller;
pub mod embed;
pub mod markdown;
pub mod rich;
pub mod storage;
pub mod tools;
pub mod transport;
pub mod view;
pub mod voice;

pub use chat_core::{conversation, error, library, retry, settings, strings};
pub use chat_core::{
    ChatError, ChatMessage, Conversation, MessageId, MessageStatus, Role, Status, Strings,
    TransportError,
};
pub use chat_protocol as protocol;
pub use chat_protocol::ApiKey;
pub use config::{ChatConfig, ConfigError};
pub use controller::ChatController;
pub use embed::{mount, mount_all, mount_with, ChatWidget};
pub use tools::{ToolResult, Toolbox};
pub use transport::{AbortHandle, FetchTransport, KeptAs, Reply, SharedTransport, Transport};
pub use view::ChatBox;
