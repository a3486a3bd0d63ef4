//! The chat-completions wire protocol, shared by the widget and the relay.
//!
//! Everything here is plain data and pure functions: no I/O, no browser, no async. The widget feeds
//! response bytes into [`StreamDecoder`] and applies the [`StreamEvent`]s it yields; the relay parses
//! request bodies into [`ChatRequest`] and checks them with [`ChatRequest::validate`], and writes
//! the events it streams with [`SseFrame`].

mod error;
mod key;
mod policy;
mod request;
mod response;
mod sources;
mod sse;
mod stream;

pub use error::ApiError;
pub use key::ApiKey;
pub use policy::{ParameterRules, PolicySummary, Rule};
pub use request::{
    format_number, ChatRequest, Content, ContentPart, FunctionDefinition, ImageUrl, LogitBias,
    Message, Stop, Tool, ToolChoice, ValidationError, DEFAULT_MODEL, MAX_MESSAGES, MAX_TOOLS,
    MAX_TOOL_SCHEMA_BYTES,
};
pub use response::{
    AssistantMessage, ChatChunk, ChatCompletion, Choice, ChunkChoice, Delta, FinishReason,
    FunctionCall, FunctionCallDelta, ToolCall, ToolCallDelta, Usage,
};
pub use sources::{merge_sources, sources_in, Source, MAX_SOURCES};
pub use sse::{SseDecoder, SseEvent, SseFieldError, SseFrame};
pub use stream::{StreamDecoder, StreamEvent, ToolCallBuilder};
