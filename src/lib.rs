//! An embeddable AI chat widget: a Leptos component that builds OpenAI-compatible chat-completions
//! requests in the browser and streams the replies into the page.
//!
//! # In a Leptos app
//!
//! Take the crate with the rendering the app uses, as with any Leptos component library: `csr`
//! for an app rendered in the browser; `hydrate` for the browser half of an app rendered on the
//! server, `ssr` for its server. None is on by default. Link the chat box's style sheets,
//! `style/base.css` then `style/widget.css`, and put a [`ChatBox`] where the chat goes:
//!
//! ```no_run
//! use chat_widget::config::ColorScheme;
//! use chat_widget::{ChatBox, ChatConfig};
//! use leptos::prelude::*;
//!
//! #[component]
//! fn App() -> impl IntoView {
//!     // Read once. By default it talks to a relay on the page's own origin.
//!     let config = ChatConfig { title: "Ask us".into(), ..ChatConfig::default() };
//!     let dark = RwSignal::new(false);
//!     view! {
//!         <button on:click=move |_| dark.update(|dark| *dark = !*dark)>"Dark"</button>
//!         // What the page changes as it goes follows a signal.
//!         <ChatBox
//!             config=config
//!             color_scheme=Signal::derive(move || if dark.get() { ColorScheme::Dark } else { ColorScheme::Light })
//!         />
//!     }
//! }
//!
//! fn main() {
//!     leptos::mount::mount_to_body(App);
//! }
//! ```
//!
//! Tools the model may call run in the page, as Rust ([`Toolbox`]); requests go through a
//! [`Transport`], by default `fetch` to the config's endpoint. An app rendered on the server
//! renders an empty place for the chat box there and mounts the widget into it once it has
//! hydrated, with [`mount_with`] in an effect (effects run only in the browser). The workspace's
//! `examples/leptos-csr` and `examples/leptos-ssr` are both, whole.
//!
//! On a page that is not a Leptos app, the widget's build mounts itself from a script
//! (`embed.js`); see the README.
//!
//! # Layers
//!
//! Each depends only on the ones before it:
//! - [`chat_protocol`]: the wire types, validation, provider errors and the SSE decoder;
//! - [`chat_widget_core`]: the widget's behaviour without I/O: the conversation, the turn as a state
//!   machine ([`chat_widget_core::Session`]), settings, retries and the words it shows;
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

pub use chat_protocol as protocol;
pub use chat_protocol::ApiKey;
pub use chat_widget_core::{conversation, error, library, retry, settings, strings};
pub use chat_widget_core::{
    ChatError, ChatMessage, Conversation, MessageId, MessageStatus, Role, Status, Strings,
    TransportError,
};
pub use config::{ChatConfig, ConfigError};
pub use controller::ChatController;
pub use embed::{mount, mount_all, mount_with, ChatWidget};
pub use tools::{ToolResult, Toolbox};
pub use transport::{AbortHandle, FetchTransport, KeptAs, Reply, SharedTransport, Transport};
pub use view::ChatBox;
