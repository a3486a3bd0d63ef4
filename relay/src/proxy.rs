//! Forwarding to the upstream API: a new request carrying only the parsed body and the relay's
//! key, and the answer streamed back as it arrives. An upstream error is never passed through: it
//! is read (bounded), put in OpenAI's error shape, and cleaned of the key and any bearer token, so
//! an upstream or a proxy that echoes the request's headers cannot hand the key to the page.

use std::time::Instant;

use axum::body::Body;
use axum::http::header::{HeaderValue, ACCEPT, CONTENT_TYPE, RETRY_AFTER, X_CONTENT_TYPE_OPTIONS};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chat_protocol::{ApiError, ChatRequest};
use futures_util::StreamExt;

use crate::budget::Meter;
use crate::config::ApiKey;
use crate::error::RelayError;
use crate::state::{AppState, StreamGuard};
use crate::streaming::no_buffering;

/// Sends `request` to `<base_url>/chat/completions` with `key`, and streams the answer back with the
/// upstream's status, content type and `Retry-After`. Nothing from the browser's request but the
/// parsed body goes upstream: not its `Authorization`, not its cookies.
pub async fn forward(
    state: &AppState,
    request: &ChatRequest,
    base_url: &str,
    key: &ApiKey,
    meter: Meter,
    arrived: Instant,
) -> Result<Response, RelayError> {
    let metrics = &state.stats.metrics;
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
        .send();
    let wait = state.config.limits.first_byte_timeout;
    let upstream = match tokio::time::timeout(wait, upstream).await {
        Ok(Ok(upstream)) => upstream,
        Err(_) => {
            meter.spent_nothing();
            metrics.upstream_error("timeout");
            return Err(RelayError::UpstreamTimeout(wait.as_secs()));
        }
        Ok(Err(error)) => {
            // An answer that is not passed on cost nothing.
            meter.spent_nothing();
            metrics.upstream_error("unreachable");
            return Err(RelayError::Upstream(error.without_url().to_string()));
        }
    };
    if !upstream.status().is_success() {
        meter.spent_nothing();
        metrics.upstream_error(if upstream.status().is_server_error() {
            "status_5xx"
        } else {
            "status_4xx"
        });
        return Ok(reframed_error(upstream, key).await);
    }
    let content_type = upstream
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !["application/json", "text/event-stream"]
        .iter()
        .any(|allowed| content_type.starts_with(allowed))
    {
        meter.spent_nothing();
        metrics.upstream_error("not_json_or_a_stream");
        return Err(RelayError::UpstreamAnswer(format!(
            "it came as {}, not JSON or an event stream",
            if content_type.is_empty() {
                "no content type"
            } else {
                &content_type
            }
        )));
    }
    let mut response = Response::builder()
        .status(upstream.status().as_u16())
        .header(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
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
    let mut guard = StreamGuard::new(state.stats.clone(), arrived);
    let mut meter = meter;
    let bytes = upstream.bytes_stream().map(move |chunk| {
        if let Ok(bytes) = &chunk {
            guard.sent();
            meter.feed(bytes);
        }
        chunk
    });
    response
        .body(Body::from_stream(bytes))
        .map_err(|error| RelayError::Upstream(error.to_string()))
}

/// The most bytes of an upstream error body the relay reads.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// An upstream error as the relay passes it on: its status (a redirect, never followed, is a 502),
/// its `Retry-After`, and its message in OpenAI's shape, without the key or any bearer token. A
/// body that is not JSON is replaced by a line naming the status.
async fn reframed_error(upstream: reqwest::Response, key: &ApiKey) -> Response {
    let status = upstream.status();
    let retry_after = upstream.headers().get(RETRY_AFTER).cloned();
    let mut body = Vec::new();
    let mut chunks = upstream.bytes_stream();
    while let Some(Ok(chunk)) = chunks.next().await {
        body.extend_from_slice(&chunk);
        if body.len() >= MAX_ERROR_BODY {
            body.truncate(MAX_ERROR_BODY);
            break;
        }
    }
    let mut error = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .as_ref()
        .and_then(ApiError::from_json)
        .unwrap_or_else(|| ApiError::new(format!("The upstream API answered {status}.")));
    error.message = scrub(&error.message, key);
    for text in [&mut error.kind, &mut error.code, &mut error.param]
        .into_iter()
        .flatten()
    {
        *text = scrub(text, key);
    }
    let status = if status.is_client_error() || status.is_server_error() {
        StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::BAD_GATEWAY)
    } else {
        StatusCode::BAD_GATEWAY
    };
    let mut response = (status, Json(error.to_body())).into_response();
    let headers = response.headers_mut();
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if let Some(retry_after) = retry_after {
        headers.insert(RETRY_AFTER, retry_after);
    }
    response
}

/// `text` without the key and without the token after any `Bearer` (in any case).
fn scrub(text: &str, key: &ApiKey) -> String {
    let secret = key.expose();
    let text = if secret.is_empty() {
        text.to_owned()
    } else {
        text.replace(secret, "***")
    };
    let lower = text.to_ascii_lowercase();
    let mut clean = String::with_capacity(text.len());
    let mut rest = 0;
    let mut from = 0;
    while let Some(found) = lower[from..].find("bearer") {
        let start = from + found + "bearer".len();
        let token_start = start + text[start..].len() - text[start..].trim_start().len();
        let token_end = text[token_start..]
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ',' | ';' | '}' | ']'))
            .map_or(text.len(), |end| token_start + end);
        if token_end > token_start && token_start > start {
            clean.push_str(&text[rest..token_start]);
            clean.push_str("***");
            rest = token_end;
        }
        from = token_end.max(start);
    }
    clean.push_str(&text[rest..]);
    clean
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_and_bearer_tokens_are_scrubbed() {
        let key = ApiKey::new("sk-secret-123");
        assert_eq!(
            scrub("headers: Authorization: Bearer sk-secret-123, x: 1", &key),
            "headers: Authorization: Bearer ***, x: 1"
        );
        assert_eq!(
            scrub(r#"{"authorization":"bearer other-token"}"#, &key),
            r#"{"authorization":"bearer ***"}"#
        );
        assert_eq!(
            scrub("the key sk-secret-123 leaked", &key),
            "the key *** leaked"
        );
        assert_eq!(scrub("BEARER\tabc def", &key), "BEARER\t*** def");
        assert_eq!(scrub("no bearer", &key), "no bearer");
        assert_eq!(scrub("Rate limit reached", &key), "Rate limit reached");
    }
}
