//! The conversation library and what is kept: remounts, the history budget, and storage that is
//! corrupt, full or disabled.

use std::rc::Rc;

use chat_protocol::StreamEvent;
use chat_widget::{ChatConfig, ChatController, Toolbox};
use leptos::prelude::{GetUntracked, Owner, ReadUntracked};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::wasm_bindgen_test;

use crate::support::{
    answer, content, local_storage, recorder, settle, sleep, start_executor, Fixture, Scripted,
    Shared,
};

fn storage_notice(chat: &Fixture) -> Option<String> {
    chat.query(".cw-chat__notice")
        .and_then(|notice| notice.text_content())
}

#[wasm_bindgen_test]
async fn the_conversation_is_kept_across_a_remount() {
    let config = ChatConfig::from_json(r#"{"id": "kept"}"#).expect("valid");
    let first = Fixture::with_config(config.clone());
    first.send("Remember me").await;
    answer(&first, "I will.");
    settle().await;
    let before = first.messages();
    drop(first);
    let second = Fixture::with_config(config);
    settle().await;
    assert_eq!(second.messages(), before);
    assert!(storage_notice(&second).is_none());
    second.send("Still there?").await;
    assert_eq!(
        second.transport.requests.borrow()[0].messages.len(),
        3,
        "the kept history is sent"
    );
    local_storage()
        .remove_item("chat-widget.conversations.kept")
        .expect("removed");
}

#[wasm_bindgen_test]
async fn corrupt_or_old_storage_never_breaks_the_widget_and_is_said_once() {
    for (id, stored, reason) in [
        ("corrupt", "{not json", "could not be read"),
        (
            "old",
            r#"{"version": 0, "messages": []}"#,
            "another version",
        ),
    ] {
        local_storage()
            .set_item(&format!("chat-widget.conversations.{id}"), stored)
            .expect("stored");
        let chat = Fixture::with_config(
            ChatConfig::from_json(&format!(r#"{{"id": "{id}"}}"#)).expect("valid"),
        );
        settle().await;
        let notice = storage_notice(&chat).expect("a notice");
        assert!(
            notice.contains("could not be restored") && notice.contains(reason),
            "{notice}"
        );
        chat.send("Hello").await;
        answer(&chat, "Hi");
        settle().await;
        assert_eq!(chat.messages().len(), 2, "the widget works in memory");
        let kept = local_storage()
            .get_item(&format!("chat-widget.conversations.{id}"))
            .expect("readable");
        assert!(
            kept.is_some_and(|kept| kept.contains("Hi")),
            "kept from now on"
        );
        local_storage()
            .remove_item(&format!("chat-widget.conversations.{id}"))
            .expect("removed");
    }
}

#[wasm_bindgen_test]
async fn full_storage_keeps_the_widget_working_and_says_so() {
    /// Puts `setItem` back even when the test fails.
    struct Restore;
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = js_sys::eval("Storage.prototype.setItem = window.__setItem;");
        }
    }
    js_sys::eval(
        "window.__setItem = Storage.prototype.setItem; \
         Storage.prototype.setItem = function () { throw new DOMException('full', 'QuotaExceededError') };",
    )
    .expect("patched");
    let restore = Restore;
    let chat = Fixture::with_config(ChatConfig::from_json(r#"{"id": "full"}"#).expect("valid"));
    chat.send("Hello").await;
    answer(&chat, "Hi");
    settle().await;
    drop(restore);
    let notice = storage_notice(&chat).expect("a notice");
    assert!(
        notice.contains("will not be kept") && notice.contains("full"),
        "{notice}"
    );
    assert_eq!(chat.messages().len(), 2);
}

#[wasm_bindgen_test]
async fn the_history_budget_shows_where_the_cut_is() {
    let chat =
        Fixture::with_config(ChatConfig::from_json(r#"{"context_budget": 60}"#).expect("valid"));
    for turn in 0..3 {
        chat.send(&format!("Question {turn} with a few more words in it"))
            .await;
        answer(
            &chat,
            &format!("Answer {turn} with a few more words in it too"),
        );
        settle().await;
    }
    chat.send("Last one").await;
    let sent = chat
        .transport
        .requests
        .borrow()
        .last()
        .expect("a request")
        .messages
        .len();
    assert!(
        sent < 7,
        "older turns are left out of the request ({sent} sent)"
    );
    assert_eq!(chat.messages().len(), 8, "but not out of the view");
    let cut = chat.query(".cw-log__cut").expect("the cut is shown");
    let next = cut.next_element_sibling().expect("the first message sent");
    assert_eq!(next.get_attribute("data-role").as_deref(), Some("user"));
}

#[wasm_bindgen_test]
async fn disabled_storage_keeps_the_widget_working_and_says_so() {
    /// Gives the page its `localStorage` back even when the test fails.
    struct Enable;
    impl Drop for Enable {
        fn drop(&mut self) {
            let _ = js_sys::eval(
                "if (window.__storage) { Object.defineProperty(window, 'localStorage', window.__storage) } \
                 else { delete window.localStorage }",
            );
        }
    }
    let _enable = Enable;
    js_sys::eval(
        "window.__storage = Object.getOwnPropertyDescriptor(window, 'localStorage'); \
         Object.defineProperty(window, 'localStorage', \
         { get() { throw new DOMException('denied', 'SecurityError') }, configurable: true });",
    )
    .expect("disabled");
    let chat = Fixture::new();
    settle().await;
    let notice = storage_notice(&chat).expect("a notice");
    assert!(notice.contains("will not be kept"), "{notice}");
    chat.send("Hello").await;
    answer(&chat, "Hi");
    settle().await;
    assert_eq!(chat.messages().len(), 2, "the widget works in memory");
}

#[wasm_bindgen_test]
async fn conversations_can_be_started_switched_renamed_deleted_and_exported() {
    let chat = Fixture::new();
    chat.send("About otters").await;
    answer(&chat, "Otters hold hands.");
    settle().await;
    chat.click("New");
    settle().await;
    assert!(chat.messages().is_empty(), "a new conversation is empty");
    chat.send("About beavers").await;
    answer(&chat, "Beavers build dams.");
    settle().await;
    let select: web_sys::HtmlSelectElement = chat
        .query("select[aria-label='Conversation']")
        .expect("a chooser")
        .unchecked_into();
    let titles: Vec<String> = (0..select.length())
        .filter_map(|i| select.item(i))
        .filter_map(|o| o.text_content())
        .collect();
    assert_eq!(titles, ["About otters", "About beavers"]);
    select.set_value("0");
    select
        .dispatch_event(&web_sys::Event::new("change").expect("event"))
        .expect("dispatched");
    settle().await;
    assert_eq!(chat.messages()[1].2, "Otters hold hands.", "switched back");
    chat.send("More about otters").await;
    assert_eq!(
        chat.transport
            .requests
            .borrow()
            .last()
            .expect("a request")
            .messages
            .len(),
        3,
        "this conversation's history"
    );
    answer(&chat, "They sleep on water.");
    settle().await;

    chat.click("Conversation menu");
    settle().await;
    chat.click("Rename");
    settle().await;
    let title: web_sys::HtmlInputElement = chat
        .query("input[aria-label='Conversation title']")
        .expect("a title box")
        .unchecked_into();
    title.set_value("Otters");
    title
        .dispatch_event(&web_sys::InputEvent::new("input").expect("event"))
        .expect("dispatched");
    chat.click("Save title");
    settle().await;
    let select: web_sys::HtmlSelectElement = chat
        .query("select[aria-label='Conversation']")
        .expect("a chooser")
        .unchecked_into();
    assert_eq!(
        select.item(0).and_then(|o| o.text_content()).as_deref(),
        Some("Otters")
    );

    js_sys::eval(
        "window.__downloads = []; window.__click = HTMLAnchorElement.prototype.click; \
         HTMLAnchorElement.prototype.click = function () { window.__downloads.push(this.download) };",
    )
    .expect("patched");
    chat.click("Conversation menu");
    settle().await;
    chat.click("Export Markdown");
    chat.click("Conversation menu");
    settle().await;
    chat.click("Export JSON");
    let downloads = js_sys::eval(
        "HTMLAnchorElement.prototype.click = window.__click; window.__downloads.join(',')",
    )
    .expect("read");
    assert_eq!(
        downloads.as_string().as_deref(),
        Some("conversation.md,conversation.json")
    );

    chat.click("Conversation menu");
    settle().await;
    chat.click("Delete");
    settle().await;
    let select: web_sys::HtmlSelectElement = chat
        .query("select[aria-label='Conversation']")
        .expect("a chooser")
        .unchecked_into();
    assert_eq!(select.length(), 1);
    assert_eq!(
        chat.messages()[0].2,
        "About beavers",
        "the other conversation is in view"
    );
}

#[wasm_bindgen_test]
async fn a_switch_of_conversation_mid_reply_reports_and_announces_nothing() {
    let chat = Fixture::new();
    let (on_message, messages) = recorder();
    chat.widget.on_message(on_message);
    chat.send("First").await;
    answer(&chat, "An answer.");
    settle().await;
    settle().await;
    chat.click("New");
    settle().await;
    chat.send("Second").await;
    chat.transport.push(content("Partly"));
    settle().await;
    // Back to the first conversation while the second's reply streams.
    let select = chat
        .query("select.cw-threads__select")
        .expect("the conversation list")
        .unchecked_into::<web_sys::HtmlSelectElement>();
    select.set_value("0");
    select
        .dispatch_event(&web_sys::Event::new("change").expect("event"))
        .expect("dispatched");
    settle().await;
    settle().await;
    let roles: Vec<String> = messages
        .borrow()
        .iter()
        .map(|json| json.split('"').nth(3).unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        roles,
        ["user", "assistant", "user"],
        "{:?}",
        messages.borrow()
    );
    let region = chat
        .query(".cw-chat > [aria-live='polite']")
        .expect("a live region");
    assert_eq!(
        region.text_content().as_deref(),
        Some("The assistant replied: An answer."),
        "only the finished reply was announced"
    );
}

#[wasm_bindgen_test]
async fn an_observer_hears_only_while_the_part_that_asked_is_there() {
    use chat_widget::controller::ChatEvent;
    use std::cell::Cell;

    start_executor();
    let owner = Owner::new();
    let controller = owner.with(|| {
        ChatController::new(
            ChatConfig::default(),
            Rc::new(Shared(Rc::new(Scripted::default()))),
            Toolbox::new(),
        )
    });
    let heard = Rc::new(Cell::new(0));
    // A part of the chat box (the launcher, say) drawn under an owner of its own.
    let part = owner.with(Owner::new);
    part.with(|| {
        let heard = heard.clone();
        controller.observe(move |_| heard.set(heard.get() + 1));
    });
    controller.emit(ChatEvent::Opened);
    settle().await;
    assert_eq!(heard.get(), 1);
    // Drawn again (in other words, say): the part that asked is gone, and so is its observer.
    part.cleanup();
    controller.emit(ChatEvent::Opened);
    settle().await;
    assert_eq!(heard.get(), 1, "a part that is gone hears nothing more");
}

#[wasm_bindgen_test]
async fn messages_that_leave_the_view_free_their_signals() {
    start_executor();
    let transport = Rc::new(Scripted::default());
    let owner = Owner::new();
    let config = ChatConfig {
        id: "freed".into(),
        ..ChatConfig::default()
    };
    let controller = owner
        .with(|| ChatController::new(config, Rc::new(Shared(transport.clone())), Toolbox::new()));
    assert!(controller.send_text("Hello"));
    transport.push(content("Hi"));
    transport.push(Ok(StreamEvent::Done));
    settle().await;
    let views = controller.messages().get_untracked();
    assert_eq!(views.len(), 2);
    assert!(views[1].text.try_read_untracked().is_some());
    controller.new_conversation();
    sleep(20).await;
    assert!(controller.messages().get_untracked().is_empty());
    for view in views {
        assert!(
            view.text.try_read_untracked().is_none(),
            "the signals of message {:?} are freed",
            view.id
        );
    }
    for key in [
        "chat-widget.conversations.freed",
        "chat-widget.v1.settings.freed",
    ] {
        local_storage().remove_item(key).expect("cleaned up");
    }
    drop(owner);
}
