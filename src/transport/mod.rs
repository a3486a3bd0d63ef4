//! Getting a reply: the [`Transport`] trait, and [`FetchTransport`], the only code that calls
//! `fetch`. Tests script replies with their own transport.

mod fetch;

use std::fmt;
use std::rc::Rc;

use chat_protocol::{ApiError, ChatRequest, StreamEvent};
use futures_util::stream::LocalBoxStream;

use crate::strings::{fill, Strings};

pub use fetch::FetchTransport;

/// Sends requests and streams back what the server answers.
pub trait Transport {
    /// Starts `request`. The reply's events arrive on [`Reply::events`]; an error ends the stream.
    fn send(&self, request: &ChatRequest) -> Reply;
}

/// A transport shared by the widget's parts.
pub type SharedTransport = Rc<dyn Transport>;

/// A request in flight.
pub struct Reply {
    /// The events of the answer, in order, then the end of the stream. A whole (non-streaming)
    /// answer gives the same events as a streamed one.
    pub events: LocalBoxStream<'static, Result<StreamEvent, TransportError>>,
    /// Cancels the request, network included.
    pub abort: AbortHandle,
}

/// Cancels one request.
#[derive(Clone)]
pub struct AbortHandle(Rc<dyn Fn()>);

impl AbortHandle {
    /// A handle that calls `abort` when used.
    pub fn new(abort: impl Fn() + 'static) -> Self {
        AbortHandle(Rc::new(abort))
    }

    /// Cancels the request. Calling it again does nothing more.
    pub fn abort(&self) {
        (self.0)();
    }
}

impl fmt::Debug for AbortHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AbortHandle")
    }
}

/// Why a request got no (complete) answer.
#[derive(Clone, Debug, PartialEq)]
pub enum TransportError {
    /// The server answered with an error status.
    Http {
        /// The HTTP status.
        status: u16,
        /// The provider's error, parsed from the body.
        error: ApiError,
        /// The `Retry-After` header, as sent (seconds or an HTTP date).
        retry_after: Option<String>,
    },
    /// No answer: the network, the address or the browser's CORS check failed.
    Network(String),
    /// The answer could not be read.
    InvalidResponse(String),
    /// The request was cancelled.
    Aborted,
}

impl TransportError {
    /// What went wrong, in the table's words, with the provider's own message.
    pub fn describe(&self, strings: &Strings) -> String {
        match self {
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
                    Some(seconds)
                        if *status == 429 && seconds.bytes().all(|b| b.is_ascii_digit()) =>
                    {
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
}

/// In the built-in English; the chat box shows [`TransportError::describe`] with the config's
/// table.
impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe(&Strings::default()))
    }
}

impl std::error::Error for TransportError {}
