//! Getting a reply: the [`Transport`] trait, and [`FetchTransport`], the only code that calls
//! `fetch`. Tests script replies with their own transport.

mod fetch;

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;

use chat_protocol::{ChatRequest, PolicySummary, StreamEvent};
use futures_util::future::LocalBoxFuture;
use futures_util::stream::LocalBoxStream;

pub use chat_widget_core::TransportError;
pub use fetch::FetchTransport;

/// Sends requests and streams back what the server answers.
///
/// [`FetchTransport`] is the widget's own. Another carries requests some other way (a
/// WebSocket, the app's own client) or answers them itself, as this one does:
///
/// ```
/// use chat_widget::protocol::{ChatRequest, FinishReason, StreamEvent};
/// use chat_widget::{AbortHandle, Reply, SharedTransport, Transport};
/// use futures_util::stream::{self, StreamExt};
/// use std::rc::Rc;
///
/// /// Answers every request itself: how many messages it carries.
/// struct Echo;
///
/// impl Transport for Echo {
///     fn send(&self, request: &ChatRequest) -> Reply {
///         let words = format!("You said {} messages.", request.messages.len());
///         let events = [StreamEvent::Content(words), StreamEvent::Finish(FinishReason::Stop)];
///         Reply::new(stream::iter(events.map(Ok)).boxed_local(), AbortHandle::new(|| ()))
///     }
/// }
///
/// let transport: SharedTransport = Rc::new(Echo);
/// // `<ChatBox config=config transport=transport />`, or `mount_with(element, config, Some(transport), tools)`.
/// ```
pub trait Transport {
    /// Starts `request`. The reply's events arrive on [`Reply::events`]; an error ends the stream.
    fn send(&self, request: &ChatRequest) -> Reply;

    /// What the server's policy pins (a relay's `GET /v1/policy`), when it says; `None` from a
    /// provider, or when it cannot be read. By default, nothing.
    fn policy(&self) -> LocalBoxFuture<'static, Option<PolicySummary>> {
        Box::pin(std::future::ready(None))
    }

    /// Follows again, from its start, a reply the server keeps under `name` (see
    /// [`Reply::kept`]): after the page was reloaded in the middle of it. `None` when this
    /// transport cannot, which is the default.
    fn resume(&self, name: &str) -> Option<Reply> {
        let _ = name;
        None
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
    /// The name the server keeps the reply under, for [`Transport::resume`], once it says one.
    pub kept: KeptAs,
}

impl Reply {
    /// A reply of `events`, cancelled by `abort`, that the server does not keep.
    pub fn new(
        events: LocalBoxStream<'static, Result<StreamEvent, TransportError>>,
        abort: AbortHandle,
    ) -> Self {
        Reply {
            events,
            abort,
            kept: KeptAs::default(),
        }
    }
}

/// The name a relay keeps a reply under for a resume (its `X-Stream-Id`): none until the
/// answer's headers arrive, and none again once the reply is complete or stopped.
#[derive(Clone, Default)]
pub struct KeptAs(Rc<RefCell<Kept>>);

#[derive(Default)]
struct Kept {
    name: Option<String>,
    /// Told of the name when it comes.
    named: Option<Tell>,
}

/// Told of a reply's name.
type Tell = Box<dyn FnOnce(&str)>;

impl KeptAs {
    /// The name, when there is one now.
    pub fn get(&self) -> Option<String> {
        self.0.borrow().name.clone()
    }

    /// Names the reply, and tells the one waiting for its name ([`KeptAs::when_named`]).
    pub fn set(&self, name: String) {
        let tell = {
            let mut kept = self.0.borrow_mut();
            kept.name = Some(name.clone());
            kept.named.take()
        };
        if let Some(tell) = tell {
            tell(&name);
        }
    }

    /// Takes the name away: the reply is no longer to be resumed.
    pub fn take(&self) -> Option<String> {
        self.0.borrow_mut().name.take()
    }

    /// Calls `tell` with the name as soon as the reply has one (at once when it has).
    pub fn when_named(&self, tell: impl FnOnce(&str) + 'static) {
        let name = self.get();
        match name {
            Some(name) => tell(&name),
            None => self.0.borrow_mut().named = Some(Box::new(tell)),
        }
    }
}

impl fmt::Debug for KeptAs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("KeptAs").field(&self.get()).finish()
    }
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
