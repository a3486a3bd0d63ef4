//! What every handler shares: the settings, the HTTP client for the upstream, the counters the
//! health endpoint reports, and the bound on request bytes being received.
//!
//! The routes (`app`) and both ways of answering (`demo`, `proxy`) depend on this module; it depends
//! on nothing of the relay but `config`.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::budget::Budgets;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::replay::Replays;
use crate::shared::Shared;

/// Counters the health endpoint and the metrics report.
#[derive(Debug, Default)]
pub struct Stats {
    active_streams: AtomicUsize,
    demo_tokens: AtomicU64,
    /// What `GET /metrics` tells.
    pub metrics: Arc<Metrics>,
    /// Redis, when counts are shared, for whether it answers.
    shared: Option<Arc<Shared>>,
}

impl Stats {
    /// Answers being streamed right now.
    pub fn active_streams(&self) -> usize {
        self.active_streams.load(Ordering::Relaxed)
    }

    /// Whether Redis answers, when the relay shares its counts there.
    pub fn redis_up(&self) -> Option<bool> {
        self.shared.as_ref().map(|shared| shared.is_up())
    }

    /// Tokens the demo model has produced since start.
    pub fn demo_tokens(&self) -> u64 {
        self.demo_tokens.load(Ordering::Relaxed)
    }

    pub(crate) fn count_demo_token(&self) {
        self.demo_tokens.fetch_add(1, Ordering::Relaxed);
    }
}

/// Counts one answer as active until it is dropped (finished, or the browser went away), and
/// times it: from the request's arrival to its first byte, and to its end.
pub(crate) struct StreamGuard {
    stats: Arc<Stats>,
    arrived: Instant,
    first_byte: bool,
}

impl StreamGuard {
    pub(crate) fn new(stats: Arc<Stats>, arrived: Instant) -> Self {
        stats.active_streams.fetch_add(1, Ordering::Relaxed);
        StreamGuard {
            stats,
            arrived,
            first_byte: false,
        }
    }

    /// A piece of the answer is on its way to the browser.
    pub(crate) fn sent(&mut self) {
        if !std::mem::replace(&mut self.first_byte, true) {
            self.stats.metrics.first_byte(self.arrived.elapsed());
        }
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.stats.active_streams.fetch_sub(1, Ordering::Relaxed);
        self.stats.metrics.stream_ended(self.arrived.elapsed());
    }
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub(crate) config: Arc<Config>,
    pub(crate) client: reqwest::Client,
    pub(crate) stats: Arc<Stats>,
    /// A permit per byte of request bodies being received.
    bodies_in_flight: Arc<Semaphore>,
    /// The token budgets' counts, when any budget is set.
    pub(crate) budgets: Option<Arc<Budgets>>,
    /// Redis, when the relay shares its counts with other processes.
    pub(crate) shared: Option<Arc<Shared>>,
    /// Streamed replies kept for a resume, unless resuming is off.
    pub(crate) replays: Option<Arc<Replays>>,
}

impl AppState {
    /// The state for `config`, with fresh counters and an HTTP client for the upstream.
    pub(crate) fn new(config: Config) -> Self {
        // reqwest is built without a default TLS crypto provider; install ring's once per process.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            // A redirect would re-send the conversation (and the key) wherever it points.
            .redirect(reqwest::redirect::Policy::none())
            // A stream that sends nothing for this long has stalled; the browser gets its end.
            .read_timeout(Duration::from_secs(120))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        let bodies_in_flight = Arc::new(Semaphore::new(
            config
                .limits
                .body_bytes_in_flight
                .min(Semaphore::MAX_PERMITS),
        ));
        let shared = config
            .redis_url
            .as_deref()
            .and_then(|url| Shared::new(url).ok())
            .map(Arc::new);
        let budgets = config
            .budgets
            .any()
            .then(|| Arc::new(Budgets::new(config.budgets, shared.clone())));
        let grace = config.limits.resume_grace;
        AppState {
            replays: (!grace.is_zero()).then(|| {
                // Their own connection to Redis: their traffic never delays the counts.
                let shared = config
                    .redis_url
                    .as_deref()
                    .and_then(|url| Shared::for_replies(url).ok())
                    .map(Arc::new);
                Arc::new(Replays::new(grace, shared))
            }),
            budgets,
            shared: shared.clone(),
            config: Arc::new(config),
            client,
            stats: Arc::new(Stats {
                shared: shared.clone(),
                ..Stats::default()
            }),
            bodies_in_flight,
        }
    }

    /// Holds `bytes` of the bound on request bytes being received, until the permit is dropped;
    /// `None` when that many are not free now.
    pub(crate) fn reserve_body_bytes(&self, bytes: u32) -> Option<OwnedSemaphorePermit> {
        self.bodies_in_flight
            .clone()
            .try_acquire_many_owned(bytes)
            .ok()
    }
}
