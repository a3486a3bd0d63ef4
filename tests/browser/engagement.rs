//! What a site offers around the conversation: a welcome, suggestions, 👍 and 👎 on replies, and
//! the events (`onEvent`) that tell the page how the chat is used.

use chat_protocol::{ApiError, FinishReason, Message, StreamEvent};
use chat_widget::{ChatConfig, Toolbox, TransportError};
use serde_json::Value;
use wasm_bindgen_test::wasm_bindgen_test;

use crate::support::{
    answer, content, local_storage, recorder, settle, sleep, wait_until, Fixture,
};

fn with(json: &str) -> Fixture {
    Fixture::with_config(ChatConfig::from_json(json).expect("valid"))
}

#[wasm_bindgen_test]
async fn a_welcome_opens_every_conversation_and_is_never_sent() {
    let chat = with(r#"{"welcome": "Hello, I can help with **orders**."}"#);
    settle().await;
    let welcome = chat
        .query("[data-role='welcome']")
        .expect("the welcome is shown");
    assert!(welcome
        .query_selector("strong")
        .ok()
        .flatten()
        .is_some_and(|strong| strong.text_content().as_deref() == Some("orders")));
    chat.send("Where is my parcel?").await;
    assert_eq!(
        chat.transport.requests.borrow()[0].messages,
        [Message::user("Where is my parcel?")],
        "the welcome is not sent"
    );
    answer(&chat, "On its way.");
    settle().await;
    chat.click("New");
    settle().await;
    assert!(chat.query("[data-role='welcome']").is_some());
}

#[wasm_bindgen_test]
async fn suggestions_show_in_an_empty_conversation_and_a_click_sends_one() {
    let chat = with(r#"{"suggestions": ["Track my order", "Opening hours"]}"#);
    settle().await;
    let offered: Vec<String> = chat
        .query_all(".cw-suggestion")
        .iter()
        .filter_map(|button| button.text_content())
        .collect();
    assert_eq!(offered, ["Track my order", "Opening hours"]);
    let list = chat.query(".cw-suggestions").expect("a list");
    assert_eq!(
        list.get_attribute("aria-label").as_deref(),
        Some("Suggestions")
    );
    chat.type_text("half-typed");
    chat.query_all(".cw-suggestion")[1].click();
    settle().await;
    assert_eq!(
        chat.transport.requests.borrow()[0].messages,
        [Message::user("Opening hours")]
    );
    assert_eq!(chat.textarea().value(), "half-typed", "the draft stays");
    assert!(
        chat.query(".cw-suggestions").is_none(),
        "gone once the conversation starts"
    );
}

#[wasm_bindgen_test]
async fn a_suggestion_too_many_or_blank_is_refused_by_the_config() {
    for json in [
        r#"{"suggestions": ["1", "2", "3", "4", "5", "6", "7"]}"#,
        r#"{"suggestions": ["  "]}"#,
    ] {
        assert!(ChatConfig::from_json(json).is_err(), "{json}");
    }
}

#[wasm_bindgen_test]
async fn a_reply_can_be_rated_with_a_comment_and_the_rating_is_kept() {
    let chat = with(r#"{"id": "rated"}"#);
    chat.send("Hello").await;
    chat.transport.push(content("Hi"));
    settle().await;
    assert!(chat.query(".cw-feedback").is_none(), "not while it streams");
    chat.transport.push(Ok(StreamEvent::Done));
    settle().await;
    let good = chat.button("Good reply").expect("👍");
    let bad = chat.button("Bad reply").expect("👎");
    assert_eq!(good.get_attribute("aria-pressed").as_deref(), Some("false"));
    assert!(
        good.tab_index() >= 0 && bad.tab_index() >= 0,
        "reachable by keyboard"
    );
    good.click();
    settle().await;
    assert_eq!(good.get_attribute("aria-pressed").as_deref(), Some("true"));
    assert!(chat
        .query(".cw-feedback__thanks")
        .is_some_and(
            |thanks| thanks.text_content().as_deref() == Some("Thank you for the feedback.")
        ));
    bad.click();
    settle().await;
    assert_eq!(good.get_attribute("aria-pressed").as_deref(), Some("false"));
    assert_eq!(bad.get_attribute("aria-pressed").as_deref(), Some("true"));
    let comment = chat
        .query(".cw-feedback__form textarea")
        .expect("a comment after 👎");
    assert_eq!(
        comment.get_attribute("aria-label").as_deref(),
        Some("What could be better? (optional)")
    );
    let comment: web_sys::HtmlTextAreaElement = wasm_bindgen::JsCast::unchecked_into(comment);
    comment.set_value("Too short");
    comment
        .dispatch_event(&web_sys::Event::new("input").expect("an event"))
        .expect("dispatched");
    chat.button("Send feedback").expect("send").click();
    settle().await;
    assert!(chat.query(".cw-feedback__form").is_none());
    let kept = local_storage()
        .get_item("chat-widget.conversations.rated")
        .ok()
        .flatten()
        .unwrap_or_default();
    assert!(
        kept.contains(r#""feedback":{"rating":"down","comment":"Too short"}"#),
        "{kept}"
    );
    // Pressed again, it is taken back.
    bad.click();
    settle().await;
    assert_eq!(bad.get_attribute("aria-pressed").as_deref(), Some("false"));
    let _ = local_storage().remove_item("chat-widget.conversations.rated");
}

#[wasm_bindgen_test]
async fn feedback_can_be_turned_off() {
    let chat = with(r#"{"feedback": false}"#);
    chat.send("Hello").await;
    answer(&chat, "Hi");
    settle().await;
    assert!(chat.button("Good reply").is_none());
}

/// The events heard so far, as `type` or `type:detail` strings, and whole.
fn heard(events: &[String]) -> (Vec<String>, Vec<Value>) {
    let whole: Vec<Value> = events
        .iter()
        .map(|json| serde_json::from_str(json).expect("an event is JSON"))
        .collect();
    let short = whole
        .iter()
        .map(|event| {
            let kind = event["type"].as_str().unwrap_or_default().to_owned();
            match kind.as_str() {
                "error" => format!(
                    "error:{}:{}",
                    event["kind"].as_str().unwrap_or_default(),
                    event["retrying"]
                ),
                "tool_call" => format!(
                    "tool_call:{}:{}",
                    event["name"].as_str().unwrap_or_default(),
                    event["ok"]
                ),
                _ => kind,
            }
        })
        .collect();
    (short, whole)
}

#[wasm_bindgen_test]
async fn events_tell_a_normal_turn_with_ids_times_and_no_text() {
    let chat = with(r#"{"id": "events", "suggestions": ["Hi there"]}"#);
    let (on_event, events) = recorder();
    chat.widget.on_event(on_event);
    chat.query_all(".cw-suggestion")[0].click();
    settle().await;
    chat.transport.push(content("Hello"));
    chat.transport
        .push(Ok(StreamEvent::Usage(chat_protocol::Usage {
            prompt_tokens: 5,
            completion_tokens: 2,
            total_tokens: 7,
        })));
    chat.transport
        .push(Ok(StreamEvent::Finish(FinishReason::Stop)));
    chat.transport.push(Ok(StreamEvent::Done));
    settle().await;
    chat.button("Good reply").expect("👍").click();
    settle().await;
    let (short, whole) = heard(&events.borrow());
    assert_eq!(
        short,
        [
            "suggestion_clicked",
            "message_sent",
            "first_token",
            "reply_done",
            "feedback"
        ]
    );
    for event in &whole {
        assert_eq!(event["version"], 1);
        assert_eq!(event["widget"], "events");
        assert!(event["time"].as_f64().is_some_and(|time| time > 1.6e12));
        assert!(event.get("text").is_none(), "no text unless asked: {event}");
    }
    let sent = &whole[1]["id"];
    let reply = &whole[3]["id"];
    assert!(sent.as_str().is_some_and(|id| !id.is_empty()));
    assert_ne!(sent, reply);
    assert_eq!(whole[2]["id"], *reply);
    assert_eq!(whole[4]["id"], *reply);
    assert_eq!(whole[4]["rating"], "up");
    assert_eq!(whole[3]["tokens_in"], 5);
    assert_eq!(whole[3]["tokens_out"], 2);
    assert_eq!(whole[3]["finish_reason"], "stop");
    assert!(whole[3]["ms"].as_f64().is_some());
    // The page sees the same ids on the messages.
    let ids: Vec<String> = chat
        .query_all("[data-role='user'], [data-role='assistant']")
        .iter()
        .filter_map(|message| message.get_attribute("data-id"))
        .collect();
    assert_eq!(
        ids,
        [
            sent.as_str().unwrap_or_default(),
            reply.as_str().unwrap_or_default()
        ]
    );
    let _ = local_storage().remove_item("chat-widget.conversations.events");
}

#[wasm_bindgen_test]
async fn events_tell_retried_stopped_and_tool_turns_and_survive_a_throwing_handler() {
    // Retried: the first failure says it will be retried.
    let chat = with(r#"{"events_include_text": true}"#);
    let (on_event, events) = recorder();
    // A handler that throws first: the widget carries on, and the next handler hears everything.
    chat.widget.on_event(js_sys::Function::new_no_args(
        "throw new Error('a broken page handler')",
    ));
    chat.send("Hello").await;
    chat.widget.on_event(on_event);
    chat.transport.push(Err(TransportError::Http {
        status: 503,
        error: ApiError::new("busy"),
        retry_after: Some("1".into()),
    }));
    wait_until(5000, || chat.transport.request_count() == 2).await;
    answer(&chat, "Hi");
    settle().await;
    let (short, whole) = heard(&events.borrow());
    assert_eq!(short, ["error:http:true", "first_token", "reply_done"]);
    assert_eq!(whole[0]["status"], 503);
    assert_eq!(whole[2]["text"], "Hi", "text when the config asks for it");
    // Stopped: no reply_done.
    events.borrow_mut().clear();
    chat.send("Again").await;
    chat.transport.push(content("Par"));
    settle().await;
    chat.click("Stop");
    settle().await;
    let (short, whole) = heard(&events.borrow());
    assert_eq!(short, ["message_sent", "first_token"]);
    assert_eq!(whole[0]["text"], "Again");
    // A tool turn.
    let mut toolbox = Toolbox::new();
    toolbox.register(
        "get_time",
        "The time",
        serde_json::json!({"type": "object"}),
        |_| async { Ok(serde_json::json!("14:00")) },
    );
    toolbox.set_confirm("get_time", false);
    let chat = Fixture::with_tools(ChatConfig::default(), toolbox);
    let (on_event, events) = recorder();
    chat.widget.on_event(on_event);
    chat.send("Time?").await;
    chat.transport
        .push(Ok(StreamEvent::ToolCall(chat_protocol::ToolCallDelta {
            index: Some(0),
            id: Some("call_0".into()),
            function: Some(chat_protocol::FunctionCallDelta {
                name: Some("get_time".into()),
                arguments: Some("{}".into()),
            }),
        })));
    chat.transport
        .push(Ok(StreamEvent::Finish(FinishReason::ToolCalls)));
    chat.transport.push(Ok(StreamEvent::Done));
    wait_until(2000, || chat.transport.request_count() == 2).await;
    answer(&chat, "It is 14:00.");
    sleep(20).await;
    let (short, _) = heard(&events.borrow());
    assert_eq!(
        short,
        [
            "message_sent",
            "first_token",
            "tool_call:get_time:true",
            "first_token",
            "reply_done"
        ]
    );
}

#[wasm_bindgen_test]
async fn replies_that_finish_while_the_launcher_is_closed_are_counted_until_it_opens() {
    let chat = with(r#"{"presentation": "launcher"}"#);
    let launcher = chat.query(".cw-launcher").expect("a launcher");
    let (on_event, events) = recorder();
    chat.widget.on_event(on_event);
    chat.widget.send("Hello").expect("sent");
    settle().await;
    answer(&chat, "Hi");
    settle().await;
    let badge = chat.query(".cw-launcher__badge").expect("a badge");
    assert_eq!(badge.text_content().as_deref(), Some("1"));
    assert_eq!(
        launcher.get_attribute("aria-label").as_deref(),
        Some("Open chat (New replies: 1)")
    );
    assert!(chat
        .query_all("[role='status']")
        .iter()
        .any(|status| status.text_content().as_deref() == Some("New replies: 1")));
    launcher.click();
    settle().await;
    assert!(
        chat.query(".cw-launcher__badge").is_none(),
        "cleared on open"
    );
    // A reply that finishes with the panel open is not counted.
    chat.widget.send("Again").expect("sent");
    settle().await;
    answer(&chat, "Sure");
    settle().await;
    launcher.click();
    settle().await;
    assert!(chat.query(".cw-launcher__badge").is_none());
    let (short, _) = heard(&events.borrow());
    assert_eq!(
        short
            .iter()
            .filter(|kind| *kind == "open" || *kind == "close")
            .collect::<Vec<_>>(),
        ["open", "close"]
    );
}

const GREETING: &str = r#"{"id": "greeter", "presentation": "launcher", "load": "idle", "welcome": "Hello!",
    "greeting": {"text": "Questions about sizes? Ask me.", "delay_ms": 60}}"#;

fn forget_greeting() {
    let _ = local_storage().remove_item("chat-widget.v1.greeted.greeter");
}

#[wasm_bindgen_test]
async fn a_greeting_appears_once_after_its_delay_and_opens_the_chat_as_its_welcome() {
    forget_greeting();
    let chat = with(GREETING);
    settle().await;
    assert!(chat.query(".cw-greeting").is_none(), "not before its delay");
    wait_until(2000, || chat.query(".cw-greeting").is_some()).await;
    assert!(
        chat.query_all("[role='status']").iter().any(|status| status
            .text_content()
            .is_some_and(|text| text.contains("Questions about sizes?"))),
        "the greeting is said"
    );
    chat.query(".cw-greeting__text").expect("its text").click();
    settle().await;
    assert!(
        chat.query(".cw-greeting").is_none(),
        "gone once the chat opens"
    );
    assert_eq!(
        chat.query(".cw-launcher")
            .and_then(|launcher| launcher.get_attribute("aria-expanded"))
            .as_deref(),
        Some("true")
    );
    let welcome = chat
        .query("[data-role='welcome']")
        .and_then(|welcome| welcome.text_content())
        .unwrap_or_default();
    assert_eq!(welcome.trim(), "Questions about sizes? Ask me.");
    chat.widget.unmount();
    // Once per visitor.
    let again = with(GREETING);
    sleep(200).await;
    assert!(
        again.query(".cw-greeting").is_none(),
        "shown once per visitor"
    );
    again.widget.unmount();
    forget_greeting();
}

#[wasm_bindgen_test]
async fn a_greeting_can_be_dismissed_and_never_covers_an_open_panel() {
    forget_greeting();
    let chat = with(GREETING);
    wait_until(2000, || chat.query(".cw-greeting").is_some()).await;
    chat.button("Dismiss").expect("a Dismiss button").click();
    settle().await;
    assert!(chat.query(".cw-greeting").is_none());
    chat.widget.unmount();
    forget_greeting();
    // Opened before the delay (and closed again): no greeting, then or on a later visit: a
    // visitor who found the chat needs none.
    let chat = with(GREETING);
    chat.widget.open();
    settle().await;
    chat.widget.close();
    sleep(200).await;
    assert!(chat.query(".cw-greeting").is_none());
    assert!(local_storage()
        .get_item("chat-widget.v1.greeted.greeter")
        .ok()
        .flatten()
        .is_some());
    chat.widget.unmount();
    forget_greeting();
}
