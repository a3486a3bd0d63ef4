//! Getting a reply: the [`Transport`] trait, and [`FetchTransport`], the only code that calls
//! `fetch`. Tests script replies with their own transport.

mod fetch;

use std::fmt;
use std::rc::Rc;

use chat_protocol::{ApiError, ChatRequest, StreamEvent};
use futures_util::stream::LocalBoxStream;

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
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum TransportError {
    /// The server answered with an error status.
    #[error("{}", http_message(*status, error, retry_after.as_deref()))]
    Http {
        /// The HTTP status.
        status: u16,
        /// The provider's error, parsed from the body.
        error: ApiError,
        /// The `Retry-After` header, as sent (seconds or an HTTP date).
        retry_after: Option<String>,
    },
    /// No answer: the network, the address or the browser's CORS check failed.
    #[error("Could not reach the chat service ({0}). Check the connection and try again.")]
    Network(String),
    /// The answer could not be read.
    #[error("The chat service sent an answer that could not be read ({0}).")]
    InvalidResponse(String),
    /// The request was cancelled.
    #[error("The request was cancelled.")]
    Aborted,
}

fn http_message(status: u16, error: &ApiError, retry_after: Option<&str>) -> String {
    let what = match status {
        400 => "The request was refused",
        401 => "The API key was refused",
        403 => "Access was denied (the key's permissions or credits)",
        404 => "The model or address was not found",
        413 => "The message is too large",
        429 => "Too many requests",
        500..=599 => "The chat service had a problem",
        _ => "The chat service answered with an error",
    };
    let message = error.message.trim_end();
    let stop = if message.ends_with(['.', '!', '?']) {
        ""
    } else {
        "."
    };
    let wait = match retry_after {
        Some(seconds) if status == 429 && seconds.bytes().all(|b| b.is_ascii_digit()) => {
            format!(" Try again in {seconds} s.")
        }
        Some(date) if status == 429 => format!(" Try again after {date}."),
        _ => String::new(),
    };
    format!("{what} (HTTP {status}): {message}{stop}{wait}")
}
