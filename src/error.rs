//! What can go wrong with a turn of the conversation, in words a person can act on.

use chat_protocol::{ApiError, ValidationError};

use std::fmt;

use crate::strings::{fill, Strings};
use crate::transport::TransportError;

/// Why the last turn failed. Shown to the person in the alert, with the provider's own words.
#[derive(Clone, Debug, PartialEq)]
pub enum ChatError {
    /// The request was refused before it was sent.
    Invalid(ValidationError),
    /// A setting is not valid.
    Settings(String),
    /// The request failed on its way or the server refused it.
    Transport(TransportError),
    /// The provider reported an error in the middle of the reply.
    Stream(ApiError),
    /// The reply stopped before the provider said it was complete.
    Interrupted,
    /// The server refused a request with images as too large (HTTP 413).
    ImagesTooLarge(TransportError),
    /// The model kept calling tools without answering.
    ToolRounds(usize),
}

impl ChatError {
    /// What went wrong, in the table's words, with the provider's own message.
    pub fn describe(&self, strings: &Strings) -> String {
        match self {
            ChatError::Invalid(error) => fill(strings.not_sent(), &[error]),
            ChatError::Settings(problem) => fill(strings.fix_settings(), &[problem]),
            ChatError::Transport(error) => error.describe(strings),
            ChatError::Stream(error) => fill(strings.reply_failed(), &[error]),
            ChatError::Interrupted => strings.cut_off().to_owned(),
            ChatError::ImagesTooLarge(error) => {
                fill(strings.images_too_large(), &[&error.describe(strings)])
            }
            ChatError::ToolRounds(rounds) => fill(strings.tool_rounds(), &[rounds]),
        }
    }
}

/// In the built-in English; the chat box shows [`ChatError::describe`] with the config's table,
/// which is why this is not derived with `thiserror` like the other error types.
impl fmt::Display for ChatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe(&Strings::default()))
    }
}

impl std::error::Error for ChatError {}

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
