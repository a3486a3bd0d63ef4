//! Provider errors, parsed from every shape OpenAI-compatible providers send, so that a person sees
//! the provider's own words.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// The longest error text kept from a body that is not JSON.
const MAX_TEXT_LEN: usize = 1000;

/// An error reported by the provider, in an HTTP error body or inside a stream.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    /// The provider's message, meant for people.
    pub message: String,
    /// The provider's error type, such as `invalid_request_error` or `INVALID_ARGUMENT`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The provider's error code, such as `rate_limit_exceeded`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The request parameter at fault, when the provider names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
}

impl ApiError {
    /// An error with only a message.
    pub fn new(message: impl Into<String>) -> Self {
        ApiError {
            message: message.into(),
            ..Default::default()
        }
    }

    /// Sets the error type.
    pub fn with_kind(mut self, kind: impl Into<String>) -> Self {
        self.kind = Some(kind.into());
        self
    }

    /// Sets the parameter at fault.
    /// The same error with a `code`.
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    /// Parses an HTTP error body of any shape: OpenAI's `{"error": {...}}`, the AIML API's flat
    /// `{"message", "statusCode", ...}`, Gemini's `[{"error": {...}}]`, or plain text. Never fails:
    /// a body that says nothing useful gives a message naming the status.
    pub fn from_body(status: u16, body: &str) -> Self {
        let body = body.trim();
        if let Some(error) = serde_json::from_str::<Value>(body)
            .ok()
            .as_ref()
            .and_then(Self::from_json)
        {
            return error;
        }
        let text = if body.starts_with('<') {
            html_title(body).unwrap_or_default()
        } else {
            body
        };
        if text.is_empty() {
            return ApiError::new(format!(
                "The server answered with HTTP status {status} and no message."
            ));
        }
        ApiError::new(truncate(text, MAX_TEXT_LEN))
    }

    /// Reads an error out of a parsed JSON value, or `None` when the value does not look like one.
    pub fn from_json(value: &Value) -> Option<Self> {
        match value {
            Value::Array(items) => items.iter().find_map(Self::from_json),
            Value::Object(object) => match object.get("error") {
                Some(Value::Object(inner)) => Some(Self::from_fields(inner)),
                // NestJS style: `{"statusCode": 400, "message": [...], "error": "Bad Request"}`.
                Some(Value::String(kind)) => Some(match message_of(object) {
                    Some(message) => ApiError {
                        kind: Some(kind.clone()),
                        ..Self::from_fields(object)
                    }
                    .with_message(message),
                    None => ApiError::new(kind.clone()),
                }),
                _ if message_of(object).is_some() => Some(Self::from_fields(object)),
                _ => None,
            },
            _ => None,
        }
    }

    /// The error as an OpenAI-shaped body: `{"error": {"message", "type", "param", "code"}}`.
    pub fn to_body(&self) -> Value {
        json!({
            "error": {
                "message": self.message,
                "type": self.kind,
                "param": self.param,
                "code": self.code,
            }
        })
    }

    fn with_message(mut self, message: String) -> Self {
        self.message = message;
        self
    }

    fn from_fields(object: &Map<String, Value>) -> Self {
        ApiError {
            message: message_of(object)
                .unwrap_or_else(|| "The provider reported an error.".to_owned()),
            kind: string_of(object.get("type").or_else(|| object.get("status"))),
            code: string_of(object.get("code")),
            param: string_of(object.get("param")),
        }
    }
}

/// `message` (or FastAPI's `detail`), as a string or a list of strings.
fn message_of(object: &Map<String, Value>) -> Option<String> {
    match object.get("message").or_else(|| object.get("detail"))? {
        Value::String(message) if !message.trim().is_empty() => Some(message.trim().to_owned()),
        Value::Array(items) => {
            let parts: Vec<String> = items
                .iter()
                .filter_map(|item| match item {
                    Value::String(text) => Some(text.clone()),
                    Value::Object(inner) => message_of(inner),
                    _ => None,
                })
                .collect();
            (!parts.is_empty()).then(|| parts.join("; "))
        }
        _ => None,
    }
}

fn string_of(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(text) if !text.is_empty() => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

fn html_title(html: &str) -> Option<&str> {
    let lower = html.to_ascii_lowercase();
    let start = lower.find("<title>")? + "<title>".len();
    let end = start + lower[start..].find("</title>")?;
    Some(html[start..end].trim())
}

fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}
