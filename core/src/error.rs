//! What can go wrong with a turn, as plain data. Describing an error for a person takes the
//! widget's words ([`crate::Strings`]) and happens where it is shown, in the view; the `Display`
//! of these types is for logs and developers.

use chat_protocol::{ApiError, ValidationError};

/// Why a request got no (complete) answer, as the transport reports it.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum TransportError {
    /// The server answered with an error status.
    #[error("HTTP {status}: {error}")]
    Http {
        /// The HTTP status.
        status: u16,
        /// The provider's error, parsed from the body.
        error: ApiError,
        /// The `Retry-After` header, as sent (seconds or an HTTP date).
        retry_after: Option<String>,
    },
    /// No answer: the network, the address or the browser's CORS check failed.
    #[error("the server could not be reached: {0}")]
    Network(String),
    /// The answer could not be read.
    #[error("the answer could not be read: {0}")]
    InvalidResponse(String),
    /// The request was cancelled.
    #[error("the request was cancelled")]
    Aborted,
}

/// Why the last turn failed.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ChatError {
    /// The request was refused before it was sent.
    #[error("the request was not sent: {0}")]
    Invalid(#[source] ValidationError),
    /// A setting is not valid.
    #[error("a setting is not valid: {0}")]
    Settings(String),
    /// The request failed on its way or the server refused it.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The provider reported an error in the middle of the reply.
    #[error("the reply failed: {0}")]
    Stream(#[source] ApiError),
    /// The reply stopped before the provider said it was complete.
    #[error("the reply was cut off")]
    Interrupted,
    /// The server refused a request with images as too large (HTTP 413).
    #[error("the images are too large: {0}")]
    ImagesTooLarge(#[source] TransportError),
    /// The model kept calling tools without answering.
    #[error("the model called tools {0} times without answering")]
    ToolRounds(usize),
}

/// The request parameters a person can leave out from the settings.
pub const OPTIONAL_PARAMETERS: [&str; 8] = [
    "frequency_penalty",
    "presence_penalty",
    "logit_bias",
    "temperature",
    "top_p",
    "max_tokens",
    "stop",
    "tool_choice",
];

impl ChatError {
    /// The optional parameter a provider refused, when its 400 names one (in `param`, or in its
    /// message, as Gemini's endpoint does: `Unknown name "frequency_penalty"`).
    pub fn rejected_parameter(&self) -> Option<&'static str> {
        let ChatError::Transport(TransportError::Http {
            status: 400, error, ..
        }) = self
        else {
            return None;
        };
        let named = |text: &str| {
            OPTIONAL_PARAMETERS
                .into_iter()
                .find(|parameter| text.contains(parameter))
        };
        error
            .param
            .as_deref()
            .and_then(named)
            .or_else(|| named(&error.message))
    }

    /// The provider's own message, when the provider sent one.
    pub fn provider_message(&self) -> Option<&str> {
        match self {
            ChatError::Transport(TransportError::Http { error, .. }) | ChatError::Stream(error) => {
                Some(&error.message)
            }
            _ => None,
        }
    }
}
