//! Response bodies: the whole answer (`stream: false`) and the chunks of a streamed one.
//!
//! Parsing is lenient: every field has a default and unknown fields are ignored, because
//! OpenAI-compatible providers differ in what they send (Gemini omits `id` and `created`, some add
//! `reasoning_content`, the usage chunk has no choices).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The whole answer of a non-streaming request.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChatCompletion {
    /// The provider's id for the answer.
    pub id: String,
    /// `chat.completion` or `chat.completion.chunk`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub object: String,
    /// When the answer was created, in Unix seconds.
    #[serde(skip_serializing_if = "is_zero")]
    pub created: u64,
    /// The model that answered.
    pub model: String,
    /// One choice per requested completion; the widget uses the first.
    pub choices: Vec<Choice>,
    /// Token counts, when the provider reports them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
}

/// One completion of a non-streaming answer.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Choice {
    /// Which completion this is.
    pub index: u32,
    /// The assistant's message.
    pub message: AssistantMessage,
    /// Why generation ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<FinishReason>,
}

/// The assistant message of a non-streaming answer.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AssistantMessage {
    /// The text, absent when the model only called tools.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Reasoning text some providers send beside the answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<String>,
    /// The tools the model called.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
}

/// A complete call of a function tool.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The call's id, quoted back by the `tool` message that answers it.
    #[serde(default)]
    pub id: String,
    /// Always `function`.
    #[serde(rename = "type", default = "function_type")]
    pub kind: String,
    /// The function and its arguments.
    #[serde(default)]
    pub function: FunctionCall,
}

fn is_zero(value: &u64) -> bool {
    *value == 0
}

fn function_type() -> String {
    "function".to_owned()
}

/// The function of a tool call.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FunctionCall {
    /// The function's name.
    pub name: String,
    /// The arguments, as a JSON text (which the model may have got wrong).
    pub arguments: String,
}

/// One chunk of a streamed answer.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChatChunk {
    /// The provider's id for the answer.
    pub id: String,
    /// `chat.completion` or `chat.completion.chunk`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub object: String,
    /// When the answer was created, in Unix seconds.
    #[serde(skip_serializing_if = "is_zero")]
    pub created: u64,
    /// The model that answers.
    pub model: String,
    /// The choices this chunk extends; empty in the final usage chunk.
    pub choices: Vec<ChunkChoice>,
    /// Token counts, usually in the last chunk.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
}

/// What one chunk adds to one choice.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChunkChoice {
    /// Which completion this extends.
    pub index: u32,
    /// The new text or tool-call pieces.
    pub delta: Delta,
    /// Set in the choice's last chunk.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<FinishReason>,
}

/// The new pieces of a streamed choice.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Delta {
    /// `assistant`, in the first chunk.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// More answer text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// More reasoning text, from providers that send it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<String>,
    /// Pieces of tool calls.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCallDelta>,
}

/// A piece of a tool call. The first piece of a call usually has its `id` and name; later pieces
/// add to the arguments. Some providers leave out `index`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ToolCallDelta {
    /// Which call of this answer the piece belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<u32>,
    /// The call's id, in its first piece.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The function's name and a piece of the arguments.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function: Option<FunctionCallDelta>,
}

/// A piece of a function call.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FunctionCallDelta {
    /// The function's name, in the first piece.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// More of the arguments' JSON text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arguments: Option<String>,
}

/// Token counts of a request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Usage {
    /// Tokens in the request.
    pub prompt_tokens: u32,
    /// Tokens generated.
    pub completion_tokens: u32,
    /// Both together.
    pub total_tokens: u32,
}

/// Why a choice stopped generating.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FinishReason {
    /// The model finished, or hit a stop sequence.
    Stop,
    /// `max_tokens` was reached.
    Length,
    /// The model called tools and waits for their output.
    ToolCalls,
    /// The provider's filter withheld content.
    ContentFilter,
    /// Any other reason, as the provider spelled it.
    Other(String),
}

impl FinishReason {
    /// The reason as the API spells it.
    pub fn as_str(&self) -> &str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
            FinishReason::ToolCalls => "tool_calls",
            FinishReason::ContentFilter => "content_filter",
            FinishReason::Other(other) => other,
        }
    }
}

impl From<&str> for FinishReason {
    fn from(reason: &str) -> Self {
        match reason {
            "stop" => FinishReason::Stop,
            "length" => FinishReason::Length,
            // `function_call` is the name of the same thing in OpenAI's older API.
            "tool_calls" | "function_call" => FinishReason::ToolCalls,
            "content_filter" => FinishReason::ContentFilter,
            other => FinishReason::Other(other.to_owned()),
        }
    }
}

impl Serialize for FinishReason {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for FinishReason {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let reason = String::deserialize(deserializer)?;
        Ok(FinishReason::from(reason.as_str()))
    }
}
