//! What can go wrong with a turn of the conversation, in words a person can act on.

use chat_protocol::{ApiError, ValidationError};

use crate::transport::TransportError;

/// Why the last turn failed. Shown to the person in the alert, with the provider's own words.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ChatError {
    /// The request was refused before it was sent.
    #[error("Not sent: {0}.")]
    Invalid(ValidationError),
    /// A setting is not valid.
    #[error("Not sent: fix the settings first ({0})")]
    Settings(String),
    /// The request failed on its way or the server refused it.
    #[error(transparent)]
    Transport(TransportError),
    /// The provider reported an error in the middle of the reply.
    #[error("The reply failed: {0}")]
    Stream(ApiError),
    /// The reply stopped before the provider said it was complete.
    #[error("The reply was cut off before it finished.")]
    Interrupted,
    /// The server refused a request with images as too large (HTTP 413).
    #[error(
        "The images are too large for the server: send fewer or smaller ones, or start a new conversation. {0}"
    )]
    ImagesTooLarge(TransportError),
    /// The model kept calling tools without answering.
    #[error(
        "The assistant called tools {0} times in a row without answering, so it was stopped there."
    )]
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
