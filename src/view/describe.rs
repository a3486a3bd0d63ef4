//! Errors in words a person can act on: the widget's table ([`Strings`]) around the provider's own
//! message. Shown by the error alert, and given to the page's `onError`.

use chat_widget_core::strings::fill;
use chat_widget_core::{ChatError, Strings, TransportError};

/// What went wrong with the turn.
pub fn chat_error(error: &ChatError, strings: &Strings) -> String {
    match error {
        ChatError::Invalid(error) => fill(strings.not_sent(), &[error]),
        ChatError::Settings(problem) => fill(strings.fix_settings(), &[problem]),
        ChatError::Transport(error) => transport_error(error, strings),
        ChatError::Stream(error) => fill(strings.reply_failed(), &[error]),
        ChatError::Interrupted => strings.cut_off().to_owned(),
        ChatError::ImagesTooLarge(error) => fill(
            strings.images_too_large(),
            &[&transport_error(error, strings)],
        ),
        ChatError::ToolRounds(rounds) => fill(strings.tool_rounds(), &[rounds]),
    }
}

/// What went wrong with the request, with the server's wait for a rate limit.
pub fn transport_error(error: &TransportError, strings: &Strings) -> String {
    match error {
        TransportError::Http {
            status,
            error,
            retry_after,
        } => {
            let what = match status {
                400 => strings.http_400(),
                401 => strings.http_401(),
                403 => strings.http_403(),
                404 => strings.http_404(),
                413 => strings.http_413(),
                429 => strings.http_429(),
                500..=599 => strings.http_5xx(),
                _ => strings.http_other(),
            };
            let message = error.message.trim_end();
            let stop = if message.ends_with(['.', '!', '?']) {
                ""
            } else {
                "."
            };
            let wait = match retry_after.as_deref() {
                Some(seconds) if *status == 429 && seconds.bytes().all(|b| b.is_ascii_digit()) => {
                    fill(strings.try_again_in(), &[&seconds])
                }
                Some(date) if *status == 429 => fill(strings.try_again_after(), &[&date]),
                _ => String::new(),
            };
            let message = format!("{message}{stop}");
            fill(strings.http_error(), &[&what, status, &message]) + &wait
        }
        TransportError::Network(why) => fill(strings.unreachable(), &[why]),
        TransportError::InvalidResponse(why) => fill(strings.unreadable_answer(), &[why]),
        TransportError::Aborted => strings.cancelled().to_owned(),
    }
}
