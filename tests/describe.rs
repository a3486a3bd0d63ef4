//! How errors read to a person, natively: the table's words around the provider's message.

#![cfg(not(target_arch = "wasm32"))]

use chat_protocol::ApiError;
use chat_widget::view::describe::transport_error;
use chat_widget::{Strings, TransportError};

#[test]
fn http_errors_read_as_sentences_with_the_wait() {
    let error = |status, message: &str, retry_after: Option<&str>| {
        let error = TransportError::Http {
            status,
            error: ApiError::new(message),
            retry_after: retry_after.map(Into::into),
        };
        transport_error(&error, &Strings::default())
    };
    assert_eq!(
        error(429, "Rate limit reached for requests", Some("20")),
        "Too many requests (HTTP 429): Rate limit reached for requests. Try again in 20 s."
    );
    assert_eq!(
        error(429, "Slow down!", Some("Wed, 21 Oct 2026 07:28:00 GMT")),
        "Too many requests (HTTP 429): Slow down! Try again after Wed, 21 Oct 2026 07:28:00 GMT."
    );
    assert_eq!(
        error(401, "This request requires a valid API key.", Some("5")),
        "The API key was refused (HTTP 401): This request requires a valid API key."
    );
}
