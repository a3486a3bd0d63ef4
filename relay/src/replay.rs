//! Streams that survive a dropped connection. A streamed reply is read from its source (the
//! upstream, or the demo model) by a task of its own, which numbers its events (`id: 0`,
//! `id: 1`, ...) and keeps them; the browser follows them as they come. If its connection drops,
//! the reply goes on for `--resume-grace-secs`, and `GET /v1/streams/{id}` with `Last-Event-ID`
//! sends what was missed and follows the rest; `DELETE /v1/streams/{id}` stops it, upstream
//! included. Only the origin and the client that started a reply may resume or stop it. A reply
//! is kept for [`KEEP`] after it ends.
//!
//! Bounds: at most [`MAX_STREAMS`] replies and [`MAX_BYTES`] of their events are kept (past
//! either, a new reply streams as before, without an id to resume by); one reply keeps at most
//! [`MAX_STREAM_BYTES`], past which it is stopped. The ids are 128 random bits.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use chat_protocol::{SseDecoder, SseFrame};
use futures_util::stream::{BoxStream, Stream, StreamExt};
use tokio::sync::Notify;

/// How long a reply is kept after it ended, for a resume.
pub const KEEP: Duration = Duration::from_secs(5 * 60);
/// The most replies kept at once.
pub const MAX_STREAMS: usize = 10_000;
/// The most bytes of events kept, all replies together.
pub const MAX_BYTES: usize = 256 * 1024 * 1024;
/// The most bytes of one reply's events; a reply that goes past is stopped there.
pub const MAX_STREAM_BYTES: usize = 8 * 1024 * 1024;

/// An event stream's bytes, as a reply's source gives them.
pub type Source<E> = BoxStream<'static, Result<Bytes, E>>;

/// A reply's numbered events, as a follower reads them.
pub type Events = BoxStream<'static, Result<Bytes, Infallible>>;

/// Who started a reply, or asks to resume or stop one: only the owner may.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    /// The page's origin (`None` for a request without one, such as a script's).
    pub origin: Option<String>,
    /// The client's network (an IPv4 address, an IPv6 /64).
    pub client: IpAddr,
}

impl Owner {
    /// Whether `asker` may resume or stop this owner's reply: from the same client network, and
    /// from the same origin. An asker without an origin passes on its network alone: browsers
    /// send no `Origin` with a `GET` to the page's own origin, and the caller refuses those that
    /// say they come from another site (`Sec-Fetch-Site`).
    fn allows(&self, asker: &Owner) -> bool {
        self.client == asker.client && (asker.origin.is_none() || asker.origin == self.origin)
    }
}

/// The replies kept.
#[derive(Debug)]
pub struct Replays {
    replies: Mutex<HashMap<String, Arc<Reply>>>,
    bytes: AtomicUsize,
    grace: Duration,
}

/// One reply's events, and the task that reads them.
#[derive(Debug)]
pub struct Reply {
    owner: Owner,
    recorded: Mutex<Recorded>,
    /// Told when an event is added or the reply ends.
    changed: Notify,
    /// Told when the reply is to stop.
    stop: Notify,
    stopped: AtomicBool,
    /// Connections following it now.
    listeners: AtomicUsize,
}

#[derive(Debug, Default)]
struct Recorded {
    frames: Vec<Bytes>,
    bytes: usize,
    ended: Option<Instant>,
}

/// Why a reply cannot be resumed or stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No such reply (never, or no longer).
    Unknown,
    /// Another origin or client started it.
    NotYours,
}

impl Replays {
    /// Replies that go on for `grace` without anyone following them.
    pub fn new(grace: Duration) -> Self {
        Replays {
            replies: Mutex::new(HashMap::new()),
            bytes: AtomicUsize::new(0),
            grace,
        }
    }

    /// Reads `source` (an event stream's bytes) in a task of its own, keeping its events, and
    /// returns the reply's id and the stream of its events (numbered) for the one who asked; or
    /// `source` back when no more replies can be kept.
    pub fn start<E: Send + 'static>(
        self: &Arc<Self>,
        owner: Owner,
        source: Source<E>,
    ) -> Result<(String, Events), Source<E>> {
        let id = match new_id() {
            Some(id) => id,
            None => return Err(source),
        };
        let reply = Arc::new(Reply {
            owner,
            recorded: Mutex::new(Recorded::default()),
            changed: Notify::new(),
            stop: Notify::new(),
            stopped: AtomicBool::new(false),
            listeners: AtomicUsize::new(0),
        });
        {
            let mut replies = lock(&self.replies);
            self.forget_old(&mut replies);
            if replies.len() >= MAX_STREAMS || self.bytes.load(Ordering::Relaxed) >= MAX_BYTES {
                return Err(source);
            }
            replies.insert(id.clone(), reply.clone());
        }
        let follower = self.follow(reply.clone(), 0).boxed();
        let replays = self.clone();
        tokio::spawn(async move { replays.pump(reply, source).await });
        Ok((id, follower))
    }

    /// Reads `source` into `reply` until it ends or the reply is stopped.
    async fn pump<E>(
        self: Arc<Self>,
        reply: Arc<Reply>,
        mut source: BoxStream<'static, Result<Bytes, E>>,
    ) {
        let mut decoder = SseDecoder::new();
        'reading: loop {
            let chunk = tokio::select! {
                biased;
                () = reply.stop.notified() => break,
                chunk = source.next() => chunk,
            };
            let Some(Ok(chunk)) = chunk else {
                break;
            };
            for event in decoder.push(&chunk) {
                let mut recorded = lock(&reply.recorded);
                let number = recorded.frames.len().to_string();
                let mut frame = SseFrame::new(&event.data);
                if event.event != "message" {
                    frame = frame.with_event(&event.event).unwrap_or(frame);
                }
                // A number is never a line break or a NUL.
                let frame = Bytes::from(frame.with_id(&number).unwrap_or(frame).encode());
                recorded.bytes += frame.len();
                self.bytes.fetch_add(frame.len(), Ordering::Relaxed);
                recorded.frames.push(frame);
                let too_long = recorded.bytes > MAX_STREAM_BYTES;
                drop(recorded);
                reply.changed.notify_waiters();
                if too_long {
                    break 'reading;
                }
            }
        }
        // Dropping the source closes the upstream's connection (or stops the demo model).
        drop(source);
        lock(&reply.recorded).ended = Some(Instant::now());
        reply.changed.notify_waiters();
    }

    /// The events of `reply` from number `from` on, as they come, until it ends.
    fn follow(
        self: &Arc<Self>,
        reply: Arc<Reply>,
        from: usize,
    ) -> impl Stream<Item = Result<Bytes, Infallible>> {
        reply.listeners.fetch_add(1, Ordering::Relaxed);
        let listener = Listener {
            reply: reply.clone(),
            grace: self.grace,
        };
        futures_util::stream::unfold((listener, from), |(listener, next)| async move {
            let reply = listener.reply.clone();
            loop {
                let changed = reply.changed.notified();
                tokio::pin!(changed);
                changed.as_mut().enable();
                {
                    let recorded = lock(&reply.recorded);
                    if next < recorded.frames.len() {
                        let mut chunk = Vec::new();
                        for frame in &recorded.frames[next..] {
                            chunk.extend_from_slice(frame);
                        }
                        let upto = recorded.frames.len();
                        return Some((Ok(Bytes::from(chunk)), (listener, upto)));
                    }
                    if recorded.ended.is_some() {
                        return None;
                    }
                }
                changed.await;
            }
        })
    }

    /// The events of the reply `id` after number `last` (all with `None`), for `owner`.
    pub fn resume(
        self: &Arc<Self>,
        id: &str,
        owner: &Owner,
        last: Option<usize>,
    ) -> Result<impl Stream<Item = Result<Bytes, Infallible>>, Refusal> {
        let reply = self.find(id, owner)?;
        Ok(self.follow(reply, last.map_or(0, |last| last + 1)))
    }

    /// Stops the reply `id` (its upstream request included), for `owner`.
    pub fn stop(&self, id: &str, owner: &Owner) -> Result<(), Refusal> {
        let reply = self.find(id, owner)?;
        reply.halt();
        Ok(())
    }

    fn find(&self, id: &str, owner: &Owner) -> Result<Arc<Reply>, Refusal> {
        let reply = lock(&self.replies)
            .get(id)
            .cloned()
            .ok_or(Refusal::Unknown)?;
        if !reply.owner.allows(owner) {
            return Err(Refusal::NotYours);
        }
        Ok(reply)
    }

    /// Forgets the replies that ended more than [`KEEP`] ago.
    fn forget_old(&self, replies: &mut HashMap<String, Arc<Reply>>) {
        replies.retain(|_, reply| {
            let recorded = lock(&reply.recorded);
            let keep = recorded.ended.is_none_or(|ended| ended.elapsed() < KEEP);
            if !keep {
                self.bytes.fetch_sub(recorded.bytes, Ordering::Relaxed);
            }
            keep
        });
    }
}

impl Reply {
    fn halt(&self) {
        if !self.stopped.swap(true, Ordering::Relaxed) {
            // `notify_one` keeps the permit if the task is not waiting at this moment.
            self.stop.notify_one();
        }
    }
}

/// One connection following a reply. When the last one goes, the reply goes on for the grace
/// period, then stops if nobody came back.
struct Listener {
    reply: Arc<Reply>,
    grace: Duration,
}

impl Drop for Listener {
    fn drop(&mut self) {
        if self.reply.listeners.fetch_sub(1, Ordering::Relaxed) != 1 {
            return;
        }
        if lock(&self.reply.recorded).ended.is_some() {
            return;
        }
        let (reply, grace) = (self.reply.clone(), self.grace);
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    tokio::time::sleep(grace).await;
                    if reply.listeners.load(Ordering::Relaxed) == 0 {
                        reply.halt();
                    }
                });
            }
            Err(_) => reply.halt(),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// 128 random bits, in hex.
fn new_id() -> Option<String> {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 16];
    ring::rand::SystemRandom::new().fill(&mut bytes).ok()?;
    Some(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}
