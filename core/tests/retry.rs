//! When a failed request is tried again, and after how long.

#![cfg(not(target_arch = "wasm32"))]

use std::time::Duration;

use chat_protocol::ApiError;
use chat_widget_core::retry::{http_date_seconds, is_retryable, retry_after_wait, RetryPolicy};
use chat_widget_core::{ChatError, TransportError};

fn http(status: u16) -> ChatError {
    ChatError::Transport(TransportError::Http {
        status,
        error: ApiError::new("x"),
        retry_after: None,
    })
}

#[test]
fn rate_limits_server_errors_and_network_failures_are_retried_refusals_are_not() {
    for status in [408, 425, 429, 500, 502, 503, 504] {
        assert!(is_retryable(&http(status)), "{status}");
    }
    for status in [400, 401, 403, 404, 413, 501] {
        assert!(!is_retryable(&http(status)), "{status}");
    }
    assert!(is_retryable(&ChatError::Transport(
        TransportError::Network("offline".into())
    )));
    assert!(!is_retryable(&ChatError::Interrupted));
    assert!(!is_retryable(&ChatError::Stream(ApiError::new("bad"))));
}

#[test]
fn retry_after_in_seconds_or_as_an_http_date() {
    assert_eq!(retry_after_wait("17", 0), Some(Duration::from_secs(17)));
    // 1994-11-06 08:49:37 GMT, the example of RFC 9110.
    assert_eq!(
        http_date_seconds("Sun, 06 Nov 1994 08:49:37 GMT"),
        Some(784_111_777)
    );
    assert_eq!(
        http_date_seconds("Thu, 29 Feb 2024 00:00:00 GMT"),
        Some(1_709_164_800)
    );
    let now_ms = 784_111_777_000 - 2_500;
    assert_eq!(
        retry_after_wait("Sun, 06 Nov 1994 08:49:37 GMT", now_ms),
        Some(Duration::from_millis(2_500))
    );
    assert_eq!(
        retry_after_wait("Sun, 06 Nov 1994 08:49:37 GMT", now_ms + 10_000),
        Some(Duration::ZERO),
        "past"
    );
    for bad in [
        "soon",
        "-1",
        "Sun, 06 Nov 1994 08:49:37 PST",
        "Sun, 32 Nov 1994 08:49:37 GMT",
        "",
    ] {
        assert_eq!(retry_after_wait(bad, 0), None, "{bad:?}");
    }
}

#[test]
fn without_the_header_the_backoff_doubles_with_jitter_up_to_the_maximum() {
    let policy = RetryPolicy {
        max_retries: 5,
        base: Duration::from_secs(1),
        max: Duration::from_secs(10),
    };
    assert_eq!(policy.delay(1, None, 0, 0.0), Duration::from_millis(500));
    assert_eq!(policy.delay(1, None, 0, 1.0), Duration::from_secs(1));
    assert_eq!(policy.delay(3, None, 0, 1.0), Duration::from_secs(4));
    assert_eq!(
        policy.delay(9, None, 0, 1.0),
        Duration::from_secs(10),
        "capped"
    );
    assert_eq!(
        policy.delay(40, None, 0, 0.5),
        Duration::from_millis(7_500),
        "no overflow"
    );
    assert_eq!(
        policy.delay(1, Some("42"), 0, 0.0),
        Duration::from_secs(42),
        "the server's wait wins"
    );
    assert_eq!(
        policy.delay(2, Some("garbage"), 0, 1.0),
        Duration::from_secs(2),
        "a bad header is ignored"
    );
}
