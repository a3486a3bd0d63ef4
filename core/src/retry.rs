//! When to try a failed request again on its own: after the wait the server asked for with
//! `Retry-After` (seconds or an HTTP date), or else after an exponential backoff with jitter; for
//! rate limits, server errors and network failures only, and a limited number of times. Plain
//! data and arithmetic, tested natively.

use std::time::Duration;

use crate::error::{ChatError, TransportError};

/// How many times, and how soon, to try again.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// The backoff before the first retry; it doubles with each retry.
    pub base: Duration,
    /// The longest backoff (a server's `Retry-After` is obeyed as it is).
    pub max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            base: Duration::from_secs(1),
            max: Duration::from_secs(60),
        }
    }
}

/// Whether the failure may go away by itself: a rate limit, a server error or no connection.
/// Refusals (400, 401, 403, 404, 413) and errors inside a reply do not.
pub fn is_retryable(error: &ChatError) -> bool {
    match error {
        ChatError::Transport(TransportError::Http { status, .. }) => {
            matches!(status, 408 | 425 | 429 | 500 | 502 | 503 | 504)
        }
        ChatError::Transport(TransportError::Network(_)) => true,
        _ => false,
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (1 for the first). `retry_after` is the server's
    /// header, `now_ms` the time in Unix milliseconds (for an HTTP date), and `jitter` a random
    /// number in `0..1` that spreads the backoff over its upper half.
    pub fn delay(
        &self,
        retry: u32,
        retry_after: Option<&str>,
        now_ms: u64,
        jitter: f64,
    ) -> Duration {
        if let Some(wait) = retry_after.and_then(|header| retry_after_wait(header, now_ms)) {
            return wait;
        }
        let doubled = self.base.saturating_mul(
            1u32.checked_shl(retry.saturating_sub(1))
                .unwrap_or(u32::MAX),
        );
        doubled
            .min(self.max)
            .mul_f64(0.5 + jitter.clamp(0.0, 1.0) / 2.0)
    }
}

/// The wait a `Retry-After` header asks for: whole seconds, or an HTTP date (a date in the past
/// means no wait).
pub fn retry_after_wait(header: &str, now_ms: u64) -> Option<Duration> {
    let header = header.trim();
    if let Ok(seconds) = header.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = http_date_seconds(header)?;
    Some(Duration::from_millis((at * 1000).saturating_sub(now_ms)))
}

/// Unix seconds of an IMF-fixdate such as `Wed, 21 Oct 2026 07:28:00 GMT`.
pub fn http_date_seconds(date: &str) -> Option<u64> {
    let mut parts = date.split_whitespace();
    let (_weekday, day, month, year, time, zone) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if zone != "GMT" || parts.next().is_some() {
        return None;
    }
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|name| *name == month)? as u64 + 1;
    let day: u64 = day.parse().ok().filter(|day| (1..=31).contains(day))?;
    let year: u64 = year
        .parse()
        .ok()
        .filter(|year| (1970..=9999).contains(year))?;
    let mut clock = time.split(':').map(|part| part.parse::<u64>().ok());
    let (hours, minutes, seconds) = (clock.next()??, clock.next()??, clock.next()??);
    if clock.next().is_some() || hours > 23 || minutes > 59 || seconds > 60 {
        return None;
    }
    // Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
    let (y, m) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y / 400;
    let year_of_era = y - era * 400;
    let day_of_year = (153 * m + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    Some(days * 86_400 + hours * 3600 + minutes * 60 + seconds)
}
