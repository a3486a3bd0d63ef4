//! Trying again on its own, as the page shows it: the countdown, its buttons, the clock the retry
//! waits for, and the browser's offline state. When to retry (the backoff, the count, which
//! failures) is the session's, tested natively in `core/tests/session.rs`.

use chat_protocol::{ApiError, Message, StreamEvent};
use chat_widget::TransportError;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

use crate::support::{settle, sleep, wait_until, Fixture};

fn rate_limited(retry_after: Option<String>) -> Result<StreamEvent, TransportError> {
    Err(TransportError::Http {
        status: 429,
        error: ApiError::new("Rate limit reached for requests"),
        retry_after,
    })
}

#[wasm_bindgen_test]
async fn a_429_with_retry_after_in_seconds_counts_down_and_tries_again() {
    let chat = Fixture::new();
    chat.send("Hello").await;
    chat.transport.push(rate_limited(Some("1".into())));
    settle().await;
    let countdown = chat
        .query(".cw-alert__countdown")
        .and_then(|c| c.text_content())
        .unwrap_or_default();
    assert!(
        countdown.contains("Trying again in 1 s (retry 1 of 3)"),
        "{countdown}"
    );
    assert!(chat.button("Cancel").is_some() && chat.button("Retry now").is_some());
    assert_eq!(chat.transport.request_count(), 1);
    wait_until(5000, || chat.transport.request_count() == 2).await;
    assert_eq!(chat.transport.request_count(), 2, "tried again on its own");
    assert_eq!(
        chat.transport.requests.borrow()[1].messages,
        [Message::user("Hello")]
    );
    assert!(chat.alert().is_none());
}

#[wasm_bindgen_test]
async fn a_429_with_retry_after_as_an_http_date_waits_until_then() {
    let chat = Fixture::new();
    chat.send("Hello").await;
    let in_two_seconds = js_sys::Date::new(&JsValue::from_f64(js_sys::Date::now() + 2000.0));
    chat.transport.push(rate_limited(Some(String::from(
        in_two_seconds.to_utc_string(),
    ))));
    settle().await;
    let countdown = chat
        .query(".cw-alert__countdown")
        .and_then(|c| c.text_content())
        .unwrap_or_default();
    assert!(countdown.contains("Trying again in"), "{countdown}");
    sleep(500).await;
    assert_eq!(chat.transport.request_count(), 1, "not before the date");
    wait_until(6000, || chat.transport.request_count() == 2).await;
    assert_eq!(chat.transport.request_count(), 2);
}

#[wasm_bindgen_test]
async fn a_pending_retry_can_be_cancelled() {
    let chat = Fixture::new();
    chat.send("Hello").await;
    chat.transport.push(rate_limited(Some("1".into())));
    settle().await;
    chat.click("Cancel");
    sleep(1300).await;
    assert_eq!(chat.transport.request_count(), 1, "cancelled");
    assert!(chat
        .alert()
        .expect("the error stays")
        .contains("Rate limit reached"));
    assert!(chat.button("Retry").is_some());
}

#[wasm_bindgen_test]
async fn enter_in_an_empty_box_does_not_cancel_a_pending_retry() {
    let chat = Fixture::new();
    chat.send("Hello").await;
    chat.transport.push(rate_limited(Some("1".into())));
    settle().await;
    chat.press_enter(false, false);
    settle().await;
    assert!(
        chat.query(".cw-alert__countdown").is_some(),
        "the countdown goes on"
    );
    wait_until(5000, || chat.transport.request_count() == 2).await;
    assert_eq!(chat.transport.request_count(), 2);
}

#[wasm_bindgen_test]
async fn while_offline_the_retry_waits_for_the_connection() {
    /// Puts `navigator.onLine` back even when the test fails.
    struct Online;
    impl Drop for Online {
        fn drop(&mut self) {
            let _ = js_sys::eval("delete navigator.onLine;");
        }
    }
    let _online = Online;
    js_sys::eval(
        "Object.defineProperty(navigator, 'onLine', { get: () => false, configurable: true });",
    )
    .expect("offline");
    let chat = Fixture::new();
    chat.send("Hello").await;
    chat.transport
        .push(Err(TransportError::Network("Failed to fetch".into())));
    settle().await;
    sleep(1500).await;
    assert_eq!(chat.transport.request_count(), 1, "no retry while offline");
    let countdown = chat
        .query(".cw-alert__countdown")
        .and_then(|c| c.text_content())
        .unwrap_or_default();
    assert!(countdown.contains("offline"), "{countdown}");
    js_sys::eval("delete navigator.onLine;").expect("online again");
    wait_until(5000, || chat.transport.request_count() == 2).await;
    assert_eq!(chat.transport.request_count(), 2, "sent again once online");
}
