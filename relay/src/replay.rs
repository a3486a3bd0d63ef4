//! Streams that survive a dropped connection. A streamed reply is read from its source (the
//! upstream, or the demo model) by a task of its own, which numbers its events (`id: 0`,
//! `id: 1`, ...) and keeps them; the browser follows them as they come. If its connection drops,
//! the reply goes on for `--resume-grace-secs`, and `GET /v1/streams/{id}` with `Last-Event-ID`
//! sends what was missed and follows the rest; `DELETE /v1/streams/{id}` stops it, upstream
//! included. Only the origin and the client that started a reply may resume or stop it. A reply
//! is kept for [`KEEP`] after it ends.
//!
//! With Redis (`--redis-url`), every reply's events are also written to a Redis Stream (see
//! [`Shared`]), so that another replica can resume a reply it does not run, and stop it: the
//! process that runs a reply looks every [`WATCH`] for a stop asked elsewhere, and a reply
//! followed by another process does not stop for want of a follower here.
//!
//! Bounds: at most [`MAX_STREAMS`] replies and [`MAX_BYTES`] of their events are kept (past
//! either, a new reply streams as before, without an id to resume by); one reply keeps at most
//! [`MAX_STREAM_BYTES`], past which it is stopped. The ids are 128 random bits.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use chat_protocol::{SseDecoder, SseFrame};
use futures_util::stream::{BoxStream, Stream, StreamExt};
use tokio::sync::{mpsc, Notify};

use crate::shared::{Shared, ALIVE, WATCH_AT_ONCE};

/// How long a reply is kept after it ended, for a resume.
pub const KEEP: Duration = Duration::from_secs(5 * 60);
/// The most replies kept at once.
pub const MAX_STREAMS: usize = 10_000;
/// The most bytes of events kept, all replies together.
pub const MAX_BYTES: usize = 256 * 1024 * 1024;
/// The most bytes of one reply's events; a reply that goes past is stopped there.
pub const MAX_STREAM_BYTES: usize = 8 * 1024 * 1024;
/// The most replies this process follows from Redis at once for browsers (each reads Redis
/// every `POLL`).
pub const MAX_FOLLOWED_ELSEWHERE: usize = 256;
/// How often a process looks in Redis for stops asked elsewhere, and for followers elsewhere.
pub const WATCH: Duration = Duration::from_millis(500);
/// How often a reply run by another process is read from Redis while it is followed here.
const POLL: Duration = Duration::from_millis(100);
/// A reply followed from Redis that has not grown for this long is given up.
const IDLE: Duration = Duration::from_secs(120);

/// An event stream's bytes, as a reply's source gives them.
pub type Source<E> = BoxStream<'static, Result<Bytes, E>>;

/// A reply's numbered events, as a follower reads them.
pub type Events = BoxStream<'static, Result<Bytes, Infallible>>;

/// Who started a reply: only they may resume or stop it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    /// The page's origin (`None` for a request without one, such as a script's).
    pub origin: Option<String>,
    /// The client's network (an IPv4 address, an IPv6 /64).
    pub client: IpAddr,
}

/// Who asks to resume or stop a reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Asker {
    /// The page it comes from, as far as the request tells.
    pub page: Page,
    /// The client's network.
    pub client: IpAddr,
}

/// The page a request comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Page {
    /// A page of this origin (`Origin`).
    Origin(String),
    /// A page of the relay's own origin: browsers send a `GET` there without `Origin`, and say
    /// `Sec-Fetch-Site: same-origin`.
    SameOrigin,
    /// Not a browser's page, as far as the request tells (a script).
    Unknown,
}

impl Owner {
    /// Whether `asker` may resume or stop this owner's reply: from the same client network, and
    /// from the page that started it (any page of the relay's own origin); a script, only a reply
    /// a script started.
    fn allows(&self, asker: &Asker) -> bool {
        self.client == asker.client
            && match &asker.page {
                Page::Origin(origin) => self.origin.as_ref() == Some(origin),
                Page::SameOrigin => true,
                Page::Unknown => self.origin.is_none(),
            }
    }
}

/// The replies kept.
#[derive(Debug)]
pub struct Replays {
    replies: Mutex<HashMap<String, Arc<Reply>>>,
    bytes: AtomicUsize,
    grace: Duration,
    /// Redis, when replies are shared with the other processes.
    shared: Option<Arc<Shared>>,
    /// Whether the task that watches Redis for this process's replies runs.
    watching: AtomicBool,
    /// Replies run elsewhere and followed here now.
    followed_elsewhere: Arc<AtomicUsize>,
}

/// One reply's events, and the task that reads them.
#[derive(Debug)]
pub struct Reply {
    id: String,
    owner: Owner,
    /// When another process last said it follows this reply.
    heard_elsewhere: Mutex<Option<Instant>>,
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
    /// Too many replies are followed from Redis now, or Redis does not answer.
    Busy,
}

impl Replays {
    /// Replies that go on for `grace` without anyone following them, shared through Redis when
    /// `shared` is given.
    pub fn new(grace: Duration, shared: Option<Arc<Shared>>) -> Self {
        Replays {
            replies: Mutex::new(HashMap::new()),
            bytes: AtomicUsize::new(0),
            grace,
            shared,
            watching: AtomicBool::new(false),
            followed_elsewhere: Arc::new(AtomicUsize::new(0)),
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
            id: id.clone(),
            heard_elsewhere: Mutex::new(None),
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
        let mirror = self.shared.clone().map(|shared| {
            let (frames, read) = mpsc::unbounded_channel();
            tokio::spawn(mirror(shared, id.clone(), reply.owner.clone(), read));
            if !self.watching.swap(true, Ordering::Relaxed) {
                tokio::spawn(watch(Arc::downgrade(self)));
            }
            frames
        });
        let replays = self.clone();
        tokio::spawn(async move { replays.pump(reply, source, mirror).await });
        Ok((id, follower))
    }

    /// Reads `source` into `reply` until it ends or the reply is stopped.
    async fn pump<E>(
        self: Arc<Self>,
        reply: Arc<Reply>,
        mut source: BoxStream<'static, Result<Bytes, E>>,
        mirror: Option<mpsc::UnboundedSender<Bytes>>,
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
                if let Some(mirror) = &mirror {
                    let _ = mirror.send(frame.clone());
                }
                recorded.frames.push(frame);
                let too_long = recorded.bytes > MAX_STREAM_BYTES;
                drop(recorded);
                reply.changed.notify_waiters();
                if too_long {
                    break 'reading;
                }
            }
        }
        // Dropping the source closes the upstream's connection (or stops the demo model); dropping
        // the mirror's sender has it write the end.
        drop(source);
        drop(mirror);
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
        asker: &Asker,
        last: Option<usize>,
    ) -> Result<impl Stream<Item = Result<Bytes, Infallible>>, Refusal> {
        let reply = self.find(id, asker)?;
        Ok(self.follow(reply, last.map_or(0, |last| last + 1)))
    }

    /// Stops the reply `id` (its upstream request included), for `owner`.
    pub fn stop(&self, id: &str, asker: &Asker) -> Result<(), Refusal> {
        let reply = self.find(id, asker)?;
        reply.halt();
        Ok(())
    }

    /// The events of the reply `id` that another process runs, after number `last`, for
    /// `owner`, read from Redis as they come.
    pub async fn resume_elsewhere(
        &self,
        id: &str,
        asker: &Asker,
        last: Option<usize>,
    ) -> Result<Events, Refusal> {
        let shared = self.owned_elsewhere(id, asker).await?;
        let Some(held) = Held::take(&self.followed_elsewhere, MAX_FOLLOWED_ELSEWHERE) else {
            return Err(Refusal::Busy);
        };
        let (id, grace) = (id.to_owned(), self.grace);
        // The next event's number (`None` once the end was read), and when it last grew.
        let start = (Some(last.map_or(0, |last| last + 1)), Instant::now(), held);
        let events = futures_util::stream::unfold(start, move |(next, grown, held)| {
            let (shared, id) = (shared.clone(), id.clone());
            async move {
                let next = next?;
                loop {
                    // Said to be followed for as long as the running process waits for a
                    // follower, renewed by every read.
                    if let Ok((frames, ended)) =
                        shared.kept_events(&id, next, grace.max(WATCH * 4)).await
                    {
                        if !frames.is_empty() {
                            let after = (!ended).then_some(next + frames.len());
                            let chunk = Bytes::from(frames.concat());
                            return Some((Ok(chunk), (after, Instant::now(), held)));
                        }
                        if ended {
                            return None;
                        }
                    }
                    if grown.elapsed() > IDLE {
                        return None;
                    }
                    tokio::time::sleep(POLL).await;
                }
            }
        });
        Ok(events.boxed())
    }

    /// Stops the reply `id` that another process runs, for `owner`: that process stops it
    /// within [`WATCH`].
    pub async fn stop_elsewhere(&self, id: &str, asker: &Asker) -> Result<(), Refusal> {
        let shared = self.owned_elsewhere(id, asker).await?;
        shared.stop_kept(id, KEEP).await.map_err(|()| Refusal::Busy)
    }

    /// Redis, when it keeps reply `id` and `owner` may have it.
    async fn owned_elsewhere(&self, id: &str, asker: &Asker) -> Result<Arc<Shared>, Refusal> {
        // Only a name this relay could have made is looked up.
        let named = id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        let shared = self
            .shared
            .clone()
            .filter(|_| named)
            .ok_or(Refusal::Unknown)?;
        // Redis not answering now is not a reply gone: the widget tries again on a 503.
        let kept = shared.kept_owner(id).await.map_err(|()| Refusal::Busy)?;
        match kept {
            None => Err(Refusal::Unknown),
            Some(kept) if !kept.allows(asker) => Err(Refusal::NotYours),
            Some(_) => Ok(shared),
        }
    }

    fn find(&self, id: &str, asker: &Asker) -> Result<Arc<Reply>, Refusal> {
        let reply = lock(&self.replies)
            .get(id)
            .cloned()
            .ok_or(Refusal::Unknown)?;
        if !reply.owner.allows(asker) {
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
    /// Whether another process said it follows this reply within `within`.
    fn heard_elsewhere_within(&self, within: Duration) -> bool {
        lock(&self.heard_elsewhere).is_some_and(|heard| heard.elapsed() < within)
    }

    fn halt(&self) {
        if !self.stopped.swap(true, Ordering::Relaxed) {
            // `notify_one` keeps the permit if the task is not waiting at this moment.
            self.stop.notify_one();
        }
    }
}

/// Writes a reply to Redis: its owner at once, then its events as they come (several at a time
/// when they come faster than Redis answers), then its end. A write Redis does not take is tried
/// again (after 0.25, 0.5, 1, 2 and 4 s); one that still fails ends the copy there, and a reader
/// elsewhere ends when it finds this process no longer says it is alive.
async fn mirror(
    shared: Arc<Shared>,
    id: String,
    owner: Owner,
    mut frames: mpsc::UnboundedReceiver<Bytes>,
) {
    let write = async |next: usize, batch: &[Bytes], ended: bool| {
        for wait in [0, 250, 500, 1_000, 2_000, 4_000] {
            tokio::time::sleep(Duration::from_millis(wait)).await;
            if shared
                .add_events(&id, &owner, next, batch, ended, KEEP)
                .await
            {
                return true;
            }
        }
        false
    };
    if !write(0, &[], false).await {
        return;
    }
    let mut next = 0;
    let mut batch = Vec::new();
    loop {
        // A reply that is quiet for a while still says, now and then, that its process lives.
        let quiet = tokio::time::timeout(ALIVE / 3, frames.recv_many(&mut batch, 256)).await;
        if quiet == Ok(0) {
            break;
        }
        if !write(next, &batch, false).await {
            return;
        }
        next += batch.len();
        batch.clear();
    }
    write(next, &[], true).await;
}

/// Every [`WATCH`], asks Redis about this process's replies still running: stops those a stop
/// was asked for elsewhere, and notes those followed elsewhere. Ends when the replies are
/// dropped (with the relay).
async fn watch(replays: Weak<Replays>) {
    loop {
        tokio::time::sleep(WATCH).await;
        let Some(replays) = replays.upgrade() else {
            return;
        };
        let Some(shared) = replays.shared.clone() else {
            return;
        };
        let running: Vec<Arc<Reply>> = lock(&replays.replies)
            .values()
            .filter(|reply| lock(&reply.recorded).ended.is_none())
            .cloned()
            .collect();
        drop(replays);
        for running in running.chunks(WATCH_AT_ONCE) {
            let ids: Vec<String> = running.iter().map(|reply| reply.id.clone()).collect();
            let Ok(found) = shared.watch(&ids).await else {
                continue;
            };
            for (reply, (stop, followed)) in running.iter().zip(found) {
                if stop {
                    reply.halt();
                }
                if followed {
                    *lock(&reply.heard_elsewhere) = Some(Instant::now());
                }
            }
        }
    }
}

/// One place among at most so many, given back when dropped.
struct Held(Arc<AtomicUsize>);

impl Held {
    fn take(count: &Arc<AtomicUsize>, most: usize) -> Option<Held> {
        count
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |now| {
                (now < most).then_some(now + 1)
            })
            .ok()
            .map(|_| Held(count.clone()))
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One connection following a reply. When the last one goes, the reply goes on for the grace
/// period, then stops if nobody came back (here, or through another process).
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
                    loop {
                        tokio::time::sleep(grace).await;
                        if reply.listeners.load(Ordering::Relaxed) > 0 {
                            return;
                        }
                        if !reply.heard_elsewhere_within(grace.max(WATCH * 4)) {
                            reply.halt();
                            return;
                        }
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
