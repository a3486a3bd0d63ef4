//! The request body of `POST /v1/chat/completions`, with every parameter the API documents, and its
//! validation.
//!
//! Only parameters that are set are serialized: no `null`s and no empty arrays, because Gemini's
//! OpenAI-compatible endpoint rejects parameters it does not know.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::response::ToolCall;

/// The model the API page documents, and the widget's default.
pub const DEFAULT_MODEL: &str = "gemini-1.5-pro";

/// Bias per token id, from -100 (ban) to 100 (force). Keys are token ids; JSON carries them as strings.
pub type LogitBias = BTreeMap<u32, f64>;

/// A number as people read it: whole numbers without a fraction (`2`), others in the shortest form
/// that reads back the same (`0.7`), as JSON writes them.
pub fn format_number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        (value as i64).to_string()
    } else {
        serde_json::to_string(&value).unwrap_or_else(|_| "NaN".to_owned())
    }
}

/// A chat-completions request body. Parsing refuses fields the API does not document, naming them,
/// rather than dropping them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatRequest {
    /// The model id, for example `gemini-1.5-pro`.
    pub model: String,
    /// The conversation so far, oldest first.
    pub messages: Vec<Message>,
    /// Sampling temperature, 0 to 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling mass, 0.1 to 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// The most tokens to generate, at least 1 (the API's default is 512).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Penalty for tokens by how often they already appeared, -2 to 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f64>,
    /// Penalty for tokens that already appeared at all, -2 to 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f64>,
    /// Bias per token id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub logit_bias: LogitBias,
    /// Sequences at which generation stops.
    #[serde(default, skip_serializing_if = "Stop::is_empty")]
    pub stop: Stop,
    /// Whether the answer comes as server-sent events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    /// Functions the model may call.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<Tool>,
    /// Whether and which function the model must call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
}

/// One message of the conversation, tagged by its `role`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "lowercase", deny_unknown_fields)]
pub enum Message {
    /// Instructions for the model.
    System {
        /// The instructions.
        content: Content,
        /// An optional participant name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    /// What the person wrote.
    User {
        /// Text, or text and images.
        content: Content,
        /// An optional participant name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    /// What the model answered earlier.
    Assistant {
        /// The answer's text; absent when the model only called tools.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        content: Option<Content>,
        /// An optional participant name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        /// The tools the model called.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        tool_calls: Vec<ToolCall>,
    },
    /// A tool's output, answering one tool call.
    Tool {
        /// The output.
        content: Content,
        /// The id of the call this answers.
        tool_call_id: String,
        /// The tool's name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
}

impl Message {
    /// A system message with plain text.
    pub fn system(text: impl Into<String>) -> Self {
        Message::System {
            content: Content::Text(text.into()),
            name: None,
        }
    }

    /// A user message with plain text.
    pub fn user(text: impl Into<String>) -> Self {
        Message::User {
            content: Content::Text(text.into()),
            name: None,
        }
    }

    /// An assistant message with plain text.
    pub fn assistant(text: impl Into<String>) -> Self {
        Message::Assistant {
            content: Some(Content::Text(text.into())),
            name: None,
            tool_calls: Vec::new(),
        }
    }

    /// A tool's output for the call `tool_call_id`.
    pub fn tool(tool_call_id: impl Into<String>, output: impl Into<String>) -> Self {
        Message::Tool {
            content: Content::Text(output.into()),
            tool_call_id: tool_call_id.into(),
            name: None,
        }
    }

    /// The role as the API spells it.
    pub fn role(&self) -> &'static str {
        match self {
            Message::System { .. } => "system",
            Message::User { .. } => "user",
            Message::Assistant { .. } => "assistant",
            Message::Tool { .. } => "tool",
        }
    }
}

/// A message's content: a string, or a list of parts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Content {
    /// Plain text.
    Text(String),
    /// Text and image parts, in order.
    Parts(Vec<ContentPart>),
}

impl Content {
    fn is_empty(&self) -> bool {
        match self {
            Content::Text(text) => text.is_empty(),
            Content::Parts(parts) => parts.is_empty(),
        }
    }
}

/// One part of a multi-part message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ContentPart {
    /// A piece of text.
    Text {
        /// The text.
        text: String,
    },
    /// An image, by URL or `data:` URL.
    ImageUrl {
        /// Where the image is.
        image_url: ImageUrl,
    },
}

/// The image of an `image_url` part.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageUrl {
    /// An `https:` URL or a `data:image/...;base64,...` URL.
    pub url: String,
    /// `low`, `high` or `auto`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Stop sequences: one string or a list of up to four.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Stop {
    /// No stop sequence (never serialized).
    #[default]
    #[serde(skip)]
    None,
    /// One sequence.
    One(String),
    /// Several sequences.
    Many(Vec<String>),
}

impl Stop {
    /// Whether no sequence is set (an empty list counts as none).
    pub fn is_empty(&self) -> bool {
        match self {
            Stop::None => true,
            Stop::One(_) => false,
            Stop::Many(list) => list.is_empty(),
        }
    }

    /// The sequences, in order.
    pub fn sequences(&self) -> &[String] {
        match self {
            Stop::None => &[],
            Stop::One(one) => std::slice::from_ref(one),
            Stop::Many(list) => list,
        }
    }
}

impl<'de> Deserialize<'de> for Stop {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            One(String),
            Many(Vec<String>),
        }
        // The API documents `stop` as nullable.
        Ok(match Option::<Repr>::deserialize(deserializer)? {
            None => Stop::None,
            Some(Repr::One(one)) => Stop::One(one),
            Some(Repr::Many(list)) => Stop::Many(list),
        })
    }
}

/// A function the model may call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tool {
    /// Always `function`.
    #[serde(rename = "type", default = "function_type")]
    pub kind: String,
    /// The function.
    pub function: FunctionDefinition,
}

impl Tool {
    /// A function tool.
    pub fn function(
        name: impl Into<String>,
        description: impl Into<String>,
        parameters: serde_json::Value,
    ) -> Self {
        Tool {
            kind: function_type(),
            function: FunctionDefinition {
                name: name.into(),
                description: Some(description.into()),
                parameters: Some(parameters),
            },
        }
    }
}

fn function_type() -> String {
    "function".to_owned()
}

/// The name, purpose and JSON-schema parameters of a function.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionDefinition {
    /// `a-z`, `A-Z`, `0-9`, `_` and `-`, at most 64 characters.
    pub name: String,
    /// What the function does, for the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The JSON schema of the arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<serde_json::Value>,
}

/// Whether the model may, must or must not call tools.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ToolChoice {
    /// Never call a tool.
    None,
    /// The model decides.
    Auto,
    /// Call at least one tool.
    Required,
    /// Call this function.
    Function(String),
}

/// The JSON shapes of [`ToolChoice`].
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum ToolChoiceRepr {
    Mode(String),
    Named {
        #[serde(rename = "type")]
        kind: String,
        function: NamedFunction,
    },
}

#[derive(Serialize, Deserialize)]
struct NamedFunction {
    name: String,
}

impl ToolChoice {
    /// The modes, as the API spells them.
    pub const MODES: [&'static str; 3] = ["none", "auto", "required"];

    /// The mode's name; `None` for a named function.
    pub fn mode(&self) -> Option<&'static str> {
        match self {
            ToolChoice::None => Some("none"),
            ToolChoice::Auto => Some("auto"),
            ToolChoice::Required => Some("required"),
            ToolChoice::Function(_) => None,
        }
    }

    fn from_mode(mode: &str) -> Option<ToolChoice> {
        match mode {
            "none" => Some(ToolChoice::None),
            "auto" => Some(ToolChoice::Auto),
            "required" => Some(ToolChoice::Required),
            _ => None,
        }
    }
}

/// `none`, `auto`, `required`, or a function's name (1 to 64 of `a-z`, `A-Z`, `0-9`, `_`, `-`):
/// the one spelling of a tool choice in text, for settings and configs alike.
impl std::str::FromStr for ToolChoice {
    type Err = ValidationError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match ToolChoice::from_mode(text) {
            Some(mode) => Ok(mode),
            None if valid_tool_name(text) => Ok(ToolChoice::Function(text.to_owned())),
            None => Err(ValidationError::BadToolChoice(format!(
                "{text:?} is not `none`, `auto`, `required` or a function's name"
            ))),
        }
    }
}

impl Serialize for ToolChoice {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let repr = match self {
            ToolChoice::Function(name) => ToolChoiceRepr::Named {
                kind: function_type(),
                function: NamedFunction { name: name.clone() },
            },
            mode => ToolChoiceRepr::Mode(mode.to_string()),
        };
        repr.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for ToolChoice {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match ToolChoiceRepr::deserialize(deserializer)? {
            ToolChoiceRepr::Mode(mode) => ToolChoice::from_mode(&mode).ok_or_else(|| {
                serde::de::Error::custom(format_args!(
                    "unknown tool_choice `{mode}`, expected `none`, `auto`, `required` or a function"
                ))
            }),
            ToolChoiceRepr::Named { function, .. } => Ok(ToolChoice::Function(function.name)),
        }
    }
}

/// Why a request is refused before it is sent. Each variant names the field at fault.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ValidationError {
    /// `model` is empty.
    #[error("`model` must not be empty")]
    EmptyModel,
    /// `messages` is empty.
    #[error("`messages` must contain at least one message")]
    NoMessages,
    /// A message has no content (an assistant message may instead carry tool calls).
    #[error("`messages[{index}]` ({role}) has no content")]
    EmptyMessage {
        /// Position in `messages`.
        index: usize,
        /// The message's role.
        role: &'static str,
    },
    /// A tool message does not say which call it answers.
    #[error("`messages[{index}].tool_call_id` must not be empty")]
    MissingToolCallId {
        /// Position in `messages`.
        index: usize,
    },
    /// A number is outside its documented range (or is not a number).
    #[error(
        "`{field}` must be between {} and {}, got {}",
        format_number(*.min),
        format_number(*.max),
        format_number(*.value)
    )]
    OutOfRange {
        /// The field, for example `temperature` or `logit_bias.50256`.
        field: String,
        /// Smallest allowed value.
        min: f64,
        /// Largest allowed value.
        max: f64,
        /// The value given.
        value: f64,
    },
    /// `max_tokens` is 0.
    #[error("`max_tokens` must be at least 1")]
    ZeroMaxTokens,
    /// More than four stop sequences.
    #[error("`stop` takes at most 4 sequences, got {0}")]
    TooManyStops(usize),
    /// A stop sequence is the empty string.
    #[error("`stop` sequences must not be empty")]
    EmptyStop,
    /// A tool's function name is empty, too long or uses other characters.
    #[error(
        "`tools[{index}].function.name` must be 1 to 64 of a-z, A-Z, 0-9, _ and -, got {name:?}"
    )]
    BadToolName {
        /// Position in `tools`.
        index: usize,
        /// The name given.
        name: String,
    },
    /// Two tools share a name.
    #[error("`tools[{index}].function.name` repeats {name:?}")]
    DuplicateTool {
        /// Position of the second tool.
        index: usize,
        /// The repeated name.
        name: String,
    },
    /// `tool_choice` names or needs tools that are not offered.
    #[error("`tool_choice` {0}")]
    BadToolChoice(String),
    /// A tool of another type than `function`, the only one the API documents.
    #[error("`tools[{index}].type` must be \"function\", got {kind:?}")]
    BadToolType {
        /// Position in `tools`.
        index: usize,
        /// The type given.
        kind: String,
    },
    /// More tools than a request may offer.
    #[error("`tools` takes at most {MAX_TOOLS} tools, got {0}")]
    TooManyTools(usize),
    /// More messages than a request may carry.
    #[error("`messages` takes at most {MAX_MESSAGES} messages, got {0}")]
    TooManyMessages(usize),
    /// A tool's parameter schema is larger than a schema needs to be.
    #[error(
        "`tools[{index}].function.parameters` takes at most {MAX_TOOL_SCHEMA_BYTES} bytes of JSON"
    )]
    ToolSchemaTooLarge {
        /// Position in `tools`.
        index: usize,
    },
}

/// The most tools one request may offer (the limit OpenAI's API documents).
pub const MAX_TOOLS: usize = 128;
/// The most messages one request may carry: far more than a conversation that fits a context
/// window, and few enough that checking them costs nothing.
pub const MAX_MESSAGES: usize = 2_048;
/// The most bytes of JSON one tool's parameter schema may take.
pub const MAX_TOOL_SCHEMA_BYTES: usize = 16 * 1024;

impl ValidationError {
    /// The top-level request field at fault, for example `temperature` or `messages`.
    pub fn field(&self) -> &str {
        match self {
            ValidationError::EmptyModel => "model",
            ValidationError::NoMessages
            | ValidationError::TooManyMessages(_)
            | ValidationError::EmptyMessage { .. }
            | ValidationError::MissingToolCallId { .. } => "messages",
            ValidationError::OutOfRange { field, .. } => field.split('.').next().unwrap_or(field),
            ValidationError::ZeroMaxTokens => "max_tokens",
            ValidationError::TooManyStops(_) | ValidationError::EmptyStop => "stop",
            ValidationError::BadToolName { .. }
            | ValidationError::DuplicateTool { .. }
            | ValidationError::TooManyTools(_)
            | ValidationError::BadToolType { .. }
            | ValidationError::ToolSchemaTooLarge { .. } => "tools",
            ValidationError::BadToolChoice(_) => "tool_choice",
        }
    }
}

fn check_range(field: &str, value: Option<f64>, min: f64, max: f64) -> Result<(), ValidationError> {
    match value {
        // `contains` is false for NaN, so NaN is refused too.
        Some(value) if !(min..=max).contains(&value) => Err(ValidationError::OutOfRange {
            field: field.to_owned(),
            min,
            max,
            value,
        }),
        _ => Ok(()),
    }
}

/// How many bytes `value` takes as JSON, counted without writing it anywhere.
fn json_len(value: &impl serde::Serialize) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    match serde_json::to_writer(&mut count, value) {
        Ok(()) => count.0,
        Err(_) => usize::MAX,
    }
}

fn valid_tool_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl ChatRequest {
    /// A streaming request for `model` with `messages` and nothing else set.
    pub fn new(model: impl Into<String>, messages: Vec<Message>) -> Self {
        ChatRequest {
            model: model.into(),
            messages,
            stream: Some(true),
            ..Default::default()
        }
    }

    /// Whether the answer will be streamed (the API's default is not to).
    pub fn is_streaming(&self) -> bool {
        self.stream.unwrap_or(false)
    }

    /// Checks every field against the API's documented ranges; the first problem found is returned.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.model.trim().is_empty() {
            return Err(ValidationError::EmptyModel);
        }
        self.validate_messages()?;
        check_range("temperature", self.temperature, 0.0, 2.0)?;
        check_range("top_p", self.top_p, 0.1, 1.0)?;
        if self.max_tokens == Some(0) {
            return Err(ValidationError::ZeroMaxTokens);
        }
        check_range("frequency_penalty", self.frequency_penalty, -2.0, 2.0)?;
        check_range("presence_penalty", self.presence_penalty, -2.0, 2.0)?;
        for (token, bias) in &self.logit_bias {
            check_range(&format!("logit_bias.{token}"), Some(*bias), -100.0, 100.0)?;
        }
        let stops = self.stop.sequences();
        if stops.len() > 4 {
            return Err(ValidationError::TooManyStops(stops.len()));
        }
        if stops.iter().any(String::is_empty) {
            return Err(ValidationError::EmptyStop);
        }
        self.validate_tools()
    }

    fn validate_messages(&self) -> Result<(), ValidationError> {
        if self.messages.is_empty() {
            return Err(ValidationError::NoMessages);
        }
        if self.messages.len() > MAX_MESSAGES {
            return Err(ValidationError::TooManyMessages(self.messages.len()));
        }
        for (index, message) in self.messages.iter().enumerate() {
            let empty = match message {
                Message::System { content, .. } | Message::User { content, .. } => {
                    content.is_empty()
                }
                Message::Assistant {
                    content,
                    tool_calls,
                    ..
                } => content.as_ref().is_none_or(Content::is_empty) && tool_calls.is_empty(),
                Message::Tool { tool_call_id, .. } if tool_call_id.is_empty() => {
                    return Err(ValidationError::MissingToolCallId { index });
                }
                // A tool may legitimately return an empty string.
                Message::Tool { .. } => false,
            };
            if empty {
                return Err(ValidationError::EmptyMessage {
                    index,
                    role: message.role(),
                });
            }
        }
        Ok(())
    }

    /// Linear in the tools: a set of the names seen, and the count capped first.
    fn validate_tools(&self) -> Result<(), ValidationError> {
        if self.tools.len() > MAX_TOOLS {
            return Err(ValidationError::TooManyTools(self.tools.len()));
        }
        let mut seen = std::collections::HashSet::with_capacity(self.tools.len());
        for (index, tool) in self.tools.iter().enumerate() {
            if tool.kind != "function" {
                return Err(ValidationError::BadToolType {
                    index,
                    kind: tool.kind.clone(),
                });
            }
            let name = &tool.function.name;
            if !valid_tool_name(name) {
                return Err(ValidationError::BadToolName {
                    index,
                    name: name.clone(),
                });
            }
            if !seen.insert(name.as_str()) {
                return Err(ValidationError::DuplicateTool {
                    index,
                    name: name.clone(),
                });
            }
            if json_len(&tool.function.parameters) > MAX_TOOL_SCHEMA_BYTES {
                return Err(ValidationError::ToolSchemaTooLarge { index });
            }
        }
        match &self.tool_choice {
            Some(ToolChoice::Required) if self.tools.is_empty() => Err(
                ValidationError::BadToolChoice("is `required` but no tools are offered".into()),
            ),
            Some(ToolChoice::Function(name))
                if !self.tools.iter().any(|tool| tool.function.name == *name) =>
            {
                Err(ValidationError::BadToolChoice(format!(
                    "names {name:?}, which is not among `tools`"
                )))
            }
            _ => Ok(()),
        }
    }
}

impl fmt::Display for ToolChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ToolChoice::Function(name) => write!(f, "function {name}"),
            mode => f.write_str(mode.mode().unwrap_or_default()),
        }
    }
}
