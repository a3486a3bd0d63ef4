//! What a message offers: Regenerate, Edit, Copy, Send again, and Continue for a cut-off reply.

use chat_protocol::{ApiError, Message};
use chat_widget::TransportError;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::wasm_bindgen_test;
use web_sys::{HtmlElement, HtmlTextAreaElement};

use crate::support::{answer, content, message, settle, wait_until, Fixture};

#[wasm_bindgen_test]
async fn regenerate_replaces_the_last_answer() {
    let chat = Fixture::new();
    chat.send("Tell me a joke").await;
    answer(&chat, "First joke");
    settle().await;
    let regenerate = chat
        .query("[data-role='assistant'] button[aria-label='Regenerate']")
        .expect("Regenerate");
    assert_eq!(
        regenerate.get_attribute("title").as_deref(),
        Some("Regenerate")
    );
    regenerate.click();
    settle().await;
    {
        let requests = chat.transport.requests.borrow();
        assert_eq!(requests.len(), 2);
        assert_eq!(
            requests[1].messages,
            [Message::user("Tell me a joke")],
            "the old answer is not sent"
        );
    }
    answer(&chat, "Second joke");
    settle().await;
    assert_eq!(
        chat.messages(),
        [
            message("user", "done", "Tell me a joke"),
            message("assistant", "done", "Second joke")
        ]
    );
}

#[wasm_bindgen_test]
async fn editing_a_message_resends_it_and_replaces_what_came_after() {
    let chat = Fixture::new();
    chat.send("What is 2+2?").await;
    answer(&chat, "4");
    settle().await;
    chat.send("And 3+3?").await;
    answer(&chat, "6");
    settle().await;
    let first_user = &chat.query_all("[data-role='user']")[0];
    let edit = first_user
        .query_selector("button[aria-label='Edit']")
        .ok()
        .flatten()
        .expect("Edit");
    edit.unchecked_ref::<HtmlElement>().click();
    settle().await;
    let editor: HtmlTextAreaElement = chat
        .query("textarea[aria-label='Edit message']")
        .expect("an editor")
        .unchecked_into();
    assert_eq!(editor.value(), "What is 2+2?");
    editor.set_value("What is 5+5?");
    editor
        .dispatch_event(&web_sys::InputEvent::new("input").expect("event"))
        .expect("dispatched");
    chat.click("Send edited");
    settle().await;
    let requests = chat.transport.requests.borrow();
    assert_eq!(
        requests.last().expect("a request").messages,
        [Message::user("What is 5+5?")]
    );
    drop(requests);
    assert_eq!(
        chat.messages(),
        [
            message("user", "done", "What is 5+5?"),
            message("assistant", "pending", "")
        ]
    );
}

#[wasm_bindgen_test]
async fn a_message_can_be_copied() {
    let chat = Fixture::new();
    chat.send("Copy me").await;
    answer(&chat, "Some **answer**");
    settle().await;
    let copy: HtmlElement = chat
        .query("[data-role='assistant'] button[aria-label='Copy']")
        .expect("a Copy button")
        .unchecked_into();
    assert!(
        copy.query_selector("svg").ok().flatten().is_some(),
        "an icon"
    );
    copy.click();
    wait_until(3000, || copy.has_attribute("data-copied")).await;
    let label = copy.get_attribute("aria-label").unwrap_or_default();
    assert!(
        label == "Copied" || label == "Press Ctrl+C to copy",
        "{label}"
    );
}

#[wasm_bindgen_test]
async fn a_cut_off_reply_can_be_continued_or_retried() {
    let chat = Fixture::new();
    chat.send("Write a long story").await;
    chat.transport.push(content("Once upon a"));
    chat.transport.close();
    settle().await;
    assert_eq!(
        chat.messages()[1],
        message("assistant", "error", "Once upon a")
    );
    assert!(chat.button("Retry").is_some());
    chat.click("Continue");
    settle().await;
    let requests = chat.transport.requests.borrow();
    let last = &requests.last().expect("a request").messages;
    assert_eq!(
        last[1],
        Message::assistant("Once upon a"),
        "the partial answer is sent"
    );
    assert_eq!(
        last[2],
        Message::user(chat_widget::controller::CONTINUE_PROMPT)
    );
    drop(requests);
    assert_eq!(
        chat.messages()[1],
        message("assistant", "error", "Once upon a"),
        "and stays in the log"
    );
}

#[wasm_bindgen_test]
async fn an_unanswered_message_can_be_sent_again() {
    let chat = Fixture::new();
    chat.send("Hello").await;
    chat.transport.push(Err(TransportError::Http {
        status: 401,
        error: ApiError::new("bad key"),
        retry_after: None,
    }));
    settle().await;
    chat.click("Dismiss");
    settle().await;
    let again = chat
        .query("[data-role='user'] button[aria-label='Send again']")
        .expect("Send again");
    again.click();
    settle().await;
    assert_eq!(chat.transport.request_count(), 2);
    assert_eq!(
        chat.transport.requests.borrow()[1].messages,
        [Message::user("Hello")]
    );
}
