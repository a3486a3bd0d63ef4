//! Forwarding to the upstream API: a new request carrying only the parsed body and the relay's
//! key, and the answer streamed back as it arrives.

use axum::body::Body;
use axum::http::header::{HeaderValue, ACCEPT, CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER};
use axum::response::Response;
use chat_protocol::ChatRequest;
use futures_util::StreamExt;

use crate::app::{AppState, StreamGuard};
use crate::config::ApiKey;
use crate::error::RelayError;

/// Sends `request` to `<base_url>/chat/completions` with `key`, and streams the answer back with the
/// upstream's status, content type and `Retry-After`. Nothing from the browser's request but the
/// parsed body goes upstream: not its `Authorization`, not its cookies.
pub async fn forward(
    state: &AppState,
    request: &ChatRequest,
    base_url: &str,
    key: &ApiKey,
) -> Result<Response, RelayError> {
    let body =
        serde_json::to_vec(request).map_err(|error| RelayError::BadRequest(error.to_string()))?;
    let accept = if request.is_streaming() {
        "text/event-stream"
    } else {
        "application/json"
    };
    let upstream = state
        .client
        .post(format!("{base_url}/chat/completions"))
        .bearer_auth(key.expose())
        .header(CONTENT_TYPE, "application/json")
        .header(ACCEPT, accept)
        .body(body)
        .send()
        .await
        .map_err(|error| RelayError::Upstream(error.without_url().to_string()))?;

    let mut response = Response::builder().status(upstream.status().as_u16());
    for name in [CONTENT_TYPE, RETRY_AFTER] {
        if let Some(value) = upstream.headers().get(&name) {
            response = response.header(name, value.clone());
        }
    }
    let is_stream = upstream
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/event-stream"));
    if is_stream {
        response = no_buffering(response);
    }
    // When the browser goes away, axum drops this body, which drops the upstream response and
    // closes its connection.
    let guard = StreamGuard::new(state.stats.clone());
    let bytes = upstream.bytes_stream().map(move |chunk| {
        let _alive = &guard;
        chunk
    });
    response
        .body(Body::from_stream(bytes))
        .map_err(|error| RelayError::Upstream(error.to_string()))
}

/// Headers that keep proxies and browsers from holding back a stream.
pub fn no_buffering(response: axum::http::response::Builder) -> axum::http::response::Builder {
    response
        .header(
            CACHE_CONTROL,
            HeaderValue::from_static("no-cache, no-transform"),
        )
        .header("x-accel-buffering", HeaderValue::from_static("no"))
}
