//! Provider error bodies of every shape give the provider's own message.

mod common;

use chat_protocol::ApiError;
use serde_json::Value;

fn shapes() -> Value {
    serde_json::from_slice(&common::fixture("error-bodies.json")).expect("fixture is JSON")
}

#[test]
fn openai_shape() {
    let error = ApiError::from_body(429, &shapes()["openai"].to_string());
    assert_eq!(error.message, "Rate limit reached for requests");
    assert_eq!(error.kind.as_deref(), Some("requests"));
    assert_eq!(error.code.as_deref(), Some("rate_limit_exceeded"));
    assert_eq!(error.param, None);
}

#[test]
fn aiml_flat_shape() {
    let error = ApiError::from_body(401, &shapes()["aiml_flat"].to_string());
    assert_eq!(error.message, "This request requires a valid API key.");
}

#[test]
fn gemini_array_shape() {
    let error = ApiError::from_body(400, &shapes()["gemini_array"].to_string());
    assert_eq!(
        error.message,
        "Invalid JSON payload received. Unknown name \"frequency_penalty\": Cannot find field."
    );
    assert_eq!(error.kind.as_deref(), Some("INVALID_ARGUMENT"));
    assert_eq!(error.code.as_deref(), Some("400"));
}

#[test]
fn nest_style_validation_messages_are_joined() {
    let body = r#"{"statusCode":400,"message":["temperature must not be greater than 2","model must be a string"],"error":"Bad Request"}"#;
    let error = ApiError::from_body(400, body);
    assert_eq!(
        error.message,
        "temperature must not be greater than 2; model must be a string"
    );
    assert_eq!(error.kind.as_deref(), Some("Bad Request"));
}

#[test]
fn error_as_a_plain_string() {
    assert_eq!(
        ApiError::from_body(403, r#"{"error":"forbidden origin"}"#).message,
        "forbidden origin"
    );
}

#[test]
fn plain_text_html_and_empty_bodies() {
    assert_eq!(
        ApiError::from_body(502, "  upstream timed out \n").message,
        "upstream timed out"
    );
    assert_eq!(
        ApiError::from_body(
            502,
            "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
        )
        .message,
        "502 Bad Gateway"
    );
    assert_eq!(
        ApiError::from_body(500, "").message,
        "The server answered with HTTP status 500 and no message."
    );
}

#[test]
fn long_text_is_cut_at_a_character_boundary() {
    let error = ApiError::from_body(500, &"é".repeat(2000));
    assert!(
        error.message.len() <= 1004 && error.message.ends_with('…'),
        "{}",
        error.message.len()
    );
}

#[test]
fn json_that_is_not_an_error_is_shown_as_text() {
    assert_eq!(
        ApiError::from_body(500, r#"{"ok":false}"#).message,
        r#"{"ok":false}"#
    );
}

#[test]
fn to_body_is_openai_shaped_and_reads_back() {
    let error = ApiError::new("`temperature` must be between 0 and 2, got 3")
        .with_kind("invalid_request_error")
        .with_param("temperature");
    let body = error.to_body();
    assert_eq!(body["error"]["param"], "temperature");
    assert_eq!(ApiError::from_json(&body), Some(error));
}
