//! The chat widget's behaviour, without I/O: what a person and a model do to a conversation, and
//! what the widget must do about it. Nothing here knows the browser or Leptos (the crate cannot
//! depend on them), so all of it is tested natively.
//!
//! - [`conversation`]: the messages, with stable ids, and how stream events change them;
//! - [`session`]: [`Session`], the turn as one state machine: inputs in, effects out, with the
//!   time and randomness given as arguments;
//! - [`library`]: the widget's conversations, kept and exported;
//! - [`settings`] and [`parameters`]: what a person may change, checked, and what a request is
//!   built from;
//! - [`retry`]: when a failed request is tried again on its own;
//! - [`strings`]: the words the widget shows, in one table a config can override;
//! - [`error`]: what can go wrong, as plain data.

pub mod conversation;
pub mod error;
pub mod library;
pub mod parameters;
pub mod retry;
pub mod session;
pub mod settings;
pub mod strings;

pub use conversation::{
    ChatMessage, Conversation, Feedback, HistoryLimits, MessageId, MessageStatus, Rating, Role,
    Status,
};
pub use error::{ChatError, TransportError};
pub use library::Library;
pub use parameters::Parameters;
pub use session::{
    output_text, Changes, Consent, ConsentRequest, Effect, Input, PendingRetry, Refusal, Session,
    SessionConfig, Ticket, ToolResult, Turn, TurnEvent, CONTINUE_PROMPT,
};
pub use settings::Settings;
pub use strings::Strings;
