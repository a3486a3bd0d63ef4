//! Sending, streaming, Stop, and the errors a reply can end with.

use chat_protocol::{ApiError, FinishReason, Message, StreamEvent};
use chat_widget::{ChatConfig, TransportError};
use wasm_bindgen_test::wasm_bindgen_test;

use crate::support::{content, message, settle, Fixture};

#[wasm_bindgen_test]
async fn typing_and_pressing_enter_shows_the_message_and_sends_it() {
    let chat = Fixture::new();
    chat.send("Hello there").await;
    assert_eq!(
        chat.messages(),
        [
            message("user", "done", "Hello there"),
            message("assistant", "pending", "")
        ]
    );
    assert_eq!(
        chat.textarea().value(),
        "",
        "the composer is cleared once the message is in the log"
    );
    let requests = chat.transport.requests.borrow();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].messages, [Message::user("Hello there")]);
    assert_eq!(requests[0].model, "gemini-1.5-pro");
    assert!(requests[0].is_streaming());
}

#[wasm_bindgen_test]
async fn the_send_button_sends_too() {
    let chat = Fixture::new();
    chat.type_text("Via the button");
    settle().await;
    chat.click("Send");
    settle().await;
    assert_eq!(chat.transport.request_count(), 1);
    assert_eq!(
        chat.messages()[0],
        message("user", "done", "Via the button")
    );
}

#[wasm_bindgen_test]
async fn a_streamed_reply_updates_the_page_while_streaming_then_is_done() {
    let chat = Fixture::new();
    chat.send("Hi").await;
    chat.transport.push(content("Hel"));
    settle().await;
    assert_eq!(chat.messages()[1], message("assistant", "streaming", "Hel"));
    assert_eq!(
        chat.query("[role='log']")
            .and_then(|log| log.get_attribute("aria-busy"))
            .as_deref(),
        Some("true")
    );
    chat.transport
        .push(content("lo, how can I help?\nAsk away."));
    settle().await;
    assert_eq!(
        chat.messages()[1],
        message(
            "assistant",
            "streaming",
            "Hello, how can I help?\nAsk away."
        )
    );
    chat.transport
        .push(Ok(StreamEvent::Finish(FinishReason::Stop)));
    chat.transport.push(Ok(StreamEvent::Done));
    chat.transport.close();
    settle().await;
    assert_eq!(
        chat.messages()[1],
        message("assistant", "done", "Hello, how can I help?\nAsk away.")
    );
    assert_eq!(
        chat.query("[role='log']")
            .and_then(|log| log.get_attribute("aria-busy"))
            .as_deref(),
        Some("false")
    );
    assert!(chat.button("Send").is_some() && chat.button("Stop").is_none());
}

#[wasm_bindgen_test]
async fn stop_aborts_the_request_and_keeps_the_partial_reply() {
    let chat = Fixture::new();
    chat.send("Tell me a long story").await;
    chat.transport.push(content("Once upon a time"));
    settle().await;
    chat.click("Stop");
    settle().await;
    assert_eq!(
        *chat.transport.aborted.borrow(),
        1,
        "the request was aborted"
    );
    chat.transport.push(content(", late words"));
    settle().await;
    assert_eq!(
        chat.messages()[1],
        message("assistant", "stopped", "Once upon a time")
    );
    assert!(chat.alert().is_none(), "stopping is not an error");
    // The conversation goes on, with the partial reply in the history.
    chat.send("Shorter, please").await;
    let requests = chat.transport.requests.borrow();
    assert_eq!(
        requests[1].messages[1],
        Message::assistant("Once upon a time")
    );
}

#[wasm_bindgen_test]
async fn an_http_error_shows_the_provider_message_and_the_text_can_be_sent_again() {
    let chat = Fixture::new();
    chat.send("Hello").await;
    chat.transport.push(Err(TransportError::Http {
        status: 401,
        error: ApiError::new("This request requires a valid API key."),
        retry_after: None,
    }));
    chat.transport.close();
    settle().await;
    let alert = chat.alert().expect("an alert");
    assert!(
        alert.contains("This request requires a valid API key."),
        "{alert}"
    );
    assert!(alert.contains("401"), "{alert}");
    assert_eq!(
        chat.messages(),
        [message("user", "done", "Hello")],
        "the typed message stays"
    );
    chat.click("Retry");
    settle().await;
    assert!(chat.alert().is_none());
    let requests = chat.transport.requests.borrow();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[1].messages,
        [Message::user("Hello")],
        "the same text, not retyped"
    );
}

#[wasm_bindgen_test]
async fn a_midstream_provider_error_keeps_the_text_and_says_what_happened() {
    let chat = Fixture::new();
    chat.send("Hello").await;
    chat.transport.push(content("Partial"));
    chat.transport
        .push(Ok(StreamEvent::Error(ApiError::new("upstream overloaded"))));
    settle().await;
    assert_eq!(chat.messages()[1], message("assistant", "error", "Partial"));
    assert!(chat
        .alert()
        .expect("an alert")
        .contains("upstream overloaded"));
}

#[wasm_bindgen_test]
async fn a_reply_cut_off_without_finishing_is_marked_and_explained() {
    let chat = Fixture::new();
    chat.send("Hello").await;
    chat.transport.push(content("Half"));
    chat.transport.close();
    settle().await;
    assert_eq!(chat.messages()[1], message("assistant", "error", "Half"));
    assert!(chat.alert().expect("an alert").contains("cut off"));
}

#[wasm_bindgen_test]
async fn enter_during_an_ime_composition_does_not_send() {
    let chat = Fixture::new();
    chat.type_text("にほん");
    chat.press_enter(false, true);
    settle().await;
    assert_eq!(chat.transport.request_count(), 0);
    assert!(chat.messages().is_empty());
    assert_eq!(chat.textarea().value(), "にほん");
}

#[wasm_bindgen_test]
async fn shift_enter_does_not_send() {
    let chat = Fixture::new();
    chat.type_text("first line");
    chat.press_enter(true, false);
    settle().await;
    assert_eq!(chat.transport.request_count(), 0);
}

#[wasm_bindgen_test]
async fn a_blank_message_is_not_sent() {
    let chat = Fixture::new();
    chat.send("   ").await;
    assert_eq!(chat.transport.request_count(), 0);
    assert!(chat.button("Send").expect("Send").has_attribute("disabled"));
}

#[wasm_bindgen_test]
async fn enter_while_a_reply_streams_keeps_the_new_text() {
    let chat = Fixture::new();
    chat.send("First").await;
    chat.send("Second, typed while waiting").await;
    assert_eq!(chat.transport.request_count(), 1);
    assert_eq!(chat.textarea().value(), "Second, typed while waiting");
}

#[wasm_bindgen_test]
async fn events_of_a_stopped_request_never_reach_the_next_reply() {
    let chat = Fixture::new();
    chat.send("First").await;
    chat.transport.push(content("first answer"));
    settle().await;
    chat.click("Stop");
    settle().await;
    chat.send("Second").await;
    chat.transport
        .push_to(0, content(" LATE WORDS FROM THE FIRST REQUEST"));
    chat.transport.push_to(0, Ok(StreamEvent::Done));
    chat.transport.push(content("second answer"));
    settle().await;
    assert_eq!(
        chat.messages()[1],
        message("assistant", "stopped", "first answer")
    );
    assert_eq!(
        chat.messages()[3],
        message("assistant", "streaming", "second answer")
    );
}

#[wasm_bindgen_test]
async fn a_whole_answer_with_usage_takes_the_same_path_and_shows_the_usage() {
    let config = ChatConfig::from_json(r#"{"stream": false, "show_usage": true}"#).expect("valid");
    let chat = Fixture::with_config(config);
    chat.send("Hello").await;
    assert!(!chat.transport.requests.borrow()[0].is_streaming());
    let body = r#"{"choices":[{"message":{"content":"Hi **there**"},"finish_reason":"stop"}],
        "usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12}}"#;
    for event in StreamEvent::from_body(body) {
        chat.transport.push(Ok(event));
    }
    settle().await;
    assert_eq!(chat.messages()[1], message("assistant", "done", "Hi there"));
    let usage = chat
        .query("[data-role='assistant'] .cw-message__usage")
        .expect("usage shown");
    assert_eq!(usage.text_content().as_deref(), Some("9 tokens in, 3 out"));
}

#[wasm_bindgen_test]
async fn a_refused_parameter_is_named_and_the_message_can_be_sent_without_it() {
    let config =
        ChatConfig::from_json(r#"{"frequency_penalty": 1, "temperature": 0.5}"#).expect("valid");
    let chat = Fixture::with_config(config);
    chat.send("Hello").await;
    chat.transport.push(Err(TransportError::Http {
        status: 400,
        error: ApiError::new(
            "Invalid JSON payload received. Unknown name \"frequency_penalty\": Cannot find field.",
        ),
        retry_after: None,
    }));
    settle().await;
    let alert = chat.alert().expect("an alert");
    assert!(
        alert.contains("does not accept frequency_penalty"),
        "{alert}"
    );
    chat.click("Send without frequency_penalty");
    settle().await;
    let requests = chat.transport.requests.borrow();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].frequency_penalty, Some(1.0));
    assert_eq!(requests[1].frequency_penalty, None, "left out");
    assert_eq!(requests[1].temperature, Some(0.5), "the rest stays");
    assert_eq!(requests[1].messages, [Message::user("Hello")]);
}

#[wasm_bindgen_test]
async fn token_counts_show_only_when_the_config_asks() {
    let chat = Fixture::new();
    chat.send("Hello").await;
    chat.transport.push(content("Hi"));
    chat.transport
        .push(Ok(StreamEvent::Usage(chat_protocol::Usage {
            prompt_tokens: 9,
            completion_tokens: 3,
            total_tokens: 12,
        })));
    chat.transport.push(Ok(StreamEvent::Done));
    settle().await;
    assert!(chat.query(".cw-message__usage").is_none());
}
