//! Getting a reply: the [`Transport`] trait, and [`FetchTransport`], the only code that calls
//! `fetch`. Tests script replies with their own transport.

mod fetch;

use std::fmt;
use std::rc::Rc;

use chat_protocol::{ChatRequest, PolicySummary, StreamEvent};
use futures_util::future::LocalBoxFuture;
use futures_util::stream::LocalBoxStream;

pub use chat_core::TransportError;
pub use fetch::FetchTransport;

/// Sends requests and streams back what the server answers.
pub trait Transport {
    /// Starts `request`. The reply's events arrive on [`Reply::events`]; an error ends the stream.
    fn send(&self, request: &ChatRequest) -> Reply;

    /// What the server's policy pins (a relay's `GET /v1/policy`), when it says; `None` from a
    /// provider, or when it cannot be read. By default, nothing.
    fn policy(&self) -> LocalBoxFuture<'static, Option<PolicySummary>> {
        Box::pin(std::future::ready(None))
    }
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
