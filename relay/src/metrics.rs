//! What the relay counts for its operator, in Prometheus' text format (`GET /metrics`, on
//! `--metrics-listen`'s own address or with `--metrics-token`): requests by route and status,
//! refusals by reason, streams in flight, tokens in and out, time to a reply's first byte and a
//! stream's duration, and upstream errors. Never a header, a body or the key: only the names
//! below and numbers.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Counts by a label's value.
#[derive(Debug, Default)]
struct Counts<K: Ord>(Mutex<BTreeMap<K, u64>>);

impl<K: Ord + Clone> Counts<K> {
    fn add(&self, key: K, by: u64) {
        let mut counts = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *counts.entry(key).or_insert(0) += by;
    }

    fn snapshot(&self) -> Vec<(K, u64)> {
        let counts = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        counts
            .iter()
            .map(|(key, count)| (key.clone(), *count))
            .collect()
    }
}

/// A histogram of durations, in seconds, with fixed bucket bounds.
#[derive(Debug)]
struct Histogram {
    bounds: &'static [f64],
    /// Observations at most each bound (not cumulative; summed when written).
    buckets: Vec<AtomicU64>,
    /// Beyond the last bound.
    over: AtomicU64,
    sum_micros: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Self {
        Histogram {
            bounds,
            buckets: bounds.iter().map(|_| AtomicU64::new(0)).collect(),
            over: AtomicU64::new(0),
            sum_micros: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }

    fn observe(&self, duration: Duration) {
        let seconds = duration.as_secs_f64();
        match self.bounds.iter().position(|&bound| seconds <= bound) {
            Some(index) => self.buckets[index].fetch_add(1, Ordering::Relaxed),
            None => self.over.fetch_add(1, Ordering::Relaxed),
        };
        let micros = u64::try_from(duration.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    fn write(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        let mut cumulative = 0;
        for (bound, bucket) in self.bounds.iter().zip(&self.buckets) {
            cumulative += bucket.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        cumulative += self.over.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {cumulative}");
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}");
        let _ = writeln!(out, "{name}_count {}", self.count.load(Ordering::Relaxed));
    }
}

/// Everything counted.
#[derive(Debug)]
pub struct Metrics {
    requests: Counts<(&'static str, u16)>,
    refusals: Counts<&'static str>,
    upstream_errors: Counts<&'static str>,
    tokens_in: AtomicU64,
    tokens_out: AtomicU64,
    first_byte: Histogram,
    stream_duration: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            requests: Counts::default(),
            refusals: Counts::default(),
            upstream_errors: Counts::default(),
            tokens_in: AtomicU64::new(0),
            tokens_out: AtomicU64::new(0),
            first_byte: Histogram::new(&[0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0]),
            stream_duration: Histogram::new(&[
                0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
            ]),
        }
    }
}

/// The route a path is counted under (a fixed set, so a scan of random paths cannot grow the
/// metrics).
pub fn route(path: &str) -> &'static str {
    match path {
        "/v1/chat/completions" => "chat",
        "/v1/policy" => "policy",
        "/healthz" => "health",
        "/metrics" => "metrics",
        _ if path.starts_with("/v1/streams/") => "streams",
        _ => "files",
    }
}

impl Metrics {
    /// A request answered.
    pub fn request(&self, route: &'static str, status: u16) {
        self.requests.add((route, status), 1);
    }

    /// A request refused, by its reason (the error's type).
    pub fn refusal(&self, reason: &'static str) {
        self.refusals.add(reason, 1);
    }

    /// The upstream failed, by how.
    pub fn upstream_error(&self, kind: &'static str) {
        self.upstream_errors.add(kind, 1);
    }

    /// Tokens a reply cost: its prompt, and what was generated.
    pub fn tokens(&self, prompt: u64, completion: u64) {
        self.tokens_in.fetch_add(prompt, Ordering::Relaxed);
        self.tokens_out.fetch_add(completion, Ordering::Relaxed);
    }

    /// The time from a chat request's arrival to its reply's first byte.
    pub fn first_byte(&self, after: Duration) {
        self.first_byte.observe(after);
    }

    /// How long a streamed reply lasted.
    pub fn stream_ended(&self, after: Duration) {
        self.stream_duration.observe(after);
    }

    /// Everything, in Prometheus' text format, with `active_streams` and, when counts are
    /// shared in Redis, whether it answers.
    pub fn render(&self, active_streams: usize, redis_up: Option<bool>) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP chat_relay_requests_total Requests answered, by route and status.\n\
             # TYPE chat_relay_requests_total counter"
        );
        for ((route, status), count) in self.requests.snapshot() {
            let _ = writeln!(
                out,
                "chat_relay_requests_total{{route=\"{route}\",status=\"{status}\"}} {count}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP chat_relay_refusals_total Chat requests refused, by reason.\n\
             # TYPE chat_relay_refusals_total counter"
        );
        for (reason, count) in self.refusals.snapshot() {
            let _ = writeln!(
                out,
                "chat_relay_refusals_total{{reason=\"{reason}\"}} {count}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP chat_relay_upstream_errors_total Upstream failures, by kind.\n\
             # TYPE chat_relay_upstream_errors_total counter"
        );
        for (kind, count) in self.upstream_errors.snapshot() {
            let _ = writeln!(
                out,
                "chat_relay_upstream_errors_total{{kind=\"{kind}\"}} {count}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP chat_relay_active_streams Replies being streamed now.\n\
             # TYPE chat_relay_active_streams gauge\nchat_relay_active_streams {active_streams}"
        );
        let _ = writeln!(
            out,
            "# HELP chat_relay_tokens_total Tokens, as the upstream reported them (estimated \
             when it did not), in the prompts and out in the replies.\n\
             # TYPE chat_relay_tokens_total counter\n\
             chat_relay_tokens_total{{direction=\"in\"}} {}\n\
             chat_relay_tokens_total{{direction=\"out\"}} {}",
            self.tokens_in.load(Ordering::Relaxed),
            self.tokens_out.load(Ordering::Relaxed)
        );
        if let Some(up) = redis_up {
            let _ = writeln!(
                out,
                "# HELP chat_relay_redis_up Whether Redis answered the last call (0: limits and \
                 budgets are counted in this process).\n\
                 # TYPE chat_relay_redis_up gauge\nchat_relay_redis_up {}",
                u8::from(up)
            );
        }
        self.first_byte.write(
            &mut out,
            "chat_relay_time_to_first_byte_seconds",
            "From a chat request's arrival to its reply's first byte.",
        );
        self.stream_duration.write(
            &mut out,
            "chat_relay_stream_duration_seconds",
            "How long streamed replies lasted.",
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_format_has_every_family_with_cumulative_buckets() {
        let metrics = Metrics::default();
        metrics.request("chat", 200);
        metrics.request("chat", 200);
        metrics.request(route("/wp-admin/../etc"), 404);
        metrics.refusal("policy_violation");
        metrics.first_byte(Duration::from_millis(70));
        metrics.first_byte(Duration::from_secs(60));
        metrics.tokens(10, 5);
        let text = metrics.render(3, Some(false));
        for line in [
            "chat_relay_requests_total{route=\"chat\",status=\"200\"} 2",
            "chat_relay_requests_total{route=\"files\",status=\"404\"} 1",
            "chat_relay_refusals_total{reason=\"policy_violation\"} 1",
            "chat_relay_active_streams 3",
            "chat_relay_tokens_total{direction=\"in\"} 10",
            "chat_relay_tokens_total{direction=\"out\"} 5",
            "chat_relay_time_to_first_byte_seconds_bucket{le=\"0.05\"} 0",
            "chat_relay_time_to_first_byte_seconds_bucket{le=\"0.1\"} 1",
            "chat_relay_time_to_first_byte_seconds_bucket{le=\"30\"} 1",
            "chat_relay_time_to_first_byte_seconds_bucket{le=\"+Inf\"} 2",
            "chat_relay_time_to_first_byte_seconds_count 2",
            "# TYPE chat_relay_stream_duration_seconds histogram",
            "chat_relay_redis_up 0",
        ] {
            assert!(
                text.lines().any(|have| have == line),
                "no {line} in\n{text}"
            );
        }
    }
}
