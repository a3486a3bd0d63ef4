//! The chat box in a real browser, with a scripted transport: what a person sees and can do.

#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;

use chat_protocol::{ApiError, ChatRequest, FinishReason, Message, StreamEvent};
use chat_widget::{
    mount, mount_with, AbortHandle, ChatConfig, ChatWidget, Reply, Transport, TransportError,
};
use futures_channel::mpsc::{self, UnboundedSender};
use futures_util::StreamExt;
use leptos::task::tick;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::{HtmlElement, HtmlTextAreaElement, KeyboardEvent, KeyboardEventInit};

wasm_bindgen_test_configure!(run_in_browser);

type Events = UnboundedSender<Result<StreamEvent, TransportError>>;

/// A transport whose replies the test writes event by event.
#[derive(Default)]
struct Scripted {
    requests: RefCell<Vec<ChatRequest>>,
    senders: RefCell<Vec<Events>>,
    aborted: Rc<RefCell<usize>>,
}

/// The widget's handle on the scripted transport the test also holds.
struct Shared(Rc<Scripted>);

impl Transport for Shared {
    fn send(&self, request: &ChatRequest) -> Reply {
        let this = &self.0;
        let (sender, events) = mpsc::unbounded();
        this.requests.borrow_mut().push(request.clone());
        this.senders.borrow_mut().push(sender);
        let aborted = this.aborted.clone();
        Reply {
            events: events.boxed_local(),
            abort: AbortHandle::new(move || *aborted.borrow_mut() += 1),
        }
    }
}

impl Scripted {
    /// Sends an event on the latest request's reply.
    fn push(&self, event: Result<StreamEvent, TransportError>) {
        let senders = self.senders.borrow();
        // The widget may have stopped listening (after Stop); that is not the test's concern here.
        let _ = senders
            .last()
            .expect("a request was sent")
            .unbounded_send(event);
    }

    /// Ends the latest request's reply.
    fn close(&self) {
        self.senders
            .borrow()
            .last()
            .expect("a request was sent")
            .close_channel();
    }

    fn request_count(&self) -> usize {
        self.requests.borrow().len()
    }
}

/// A chat box in a fresh element, with its scripted transport.
struct Fixture {
    root: HtmlElement,
    transport: Rc<Scripted>,
    widget: ChatWidget,
}

impl Fixture {
    fn new() -> Self {
        Self::with_config(ChatConfig::default())
    }

    fn with_config(config: ChatConfig) -> Self {
        let root = fresh_element();
        let transport = Rc::new(Scripted::default());
        let widget = mount_with(
            root.clone(),
            config,
            Some(Rc::new(Shared(transport.clone()))),
        );
        Fixture {
            root,
            transport,
            widget,
        }
    }

    fn query(&self, selector: &str) -> Option<HtmlElement> {
        self.root
            .query_selector(selector)
            .expect("valid selector")
            .map(|element| element.unchecked_into())
    }

    fn query_all(&self, selector: &str) -> Vec<HtmlElement> {
        let list = self
            .root
            .query_selector_all(selector)
            .expect("valid selector");
        (0..list.length())
            .filter_map(|i| list.item(i))
            .map(|node| node.unchecked_into())
            .collect()
    }

    fn textarea(&self) -> HtmlTextAreaElement {
        self.query("textarea[aria-label='Message']")
            .expect("the composer has a Message box")
            .unchecked_into()
    }

    fn button(&self, name: &str) -> Option<HtmlElement> {
        self.query_all("button")
            .into_iter()
            .find(|button| button.text_content().as_deref() == Some(name))
    }

    fn click(&self, name: &str) {
        self.button(name)
            .unwrap_or_else(|| panic!("no {name} button"))
            .click();
    }

    fn type_text(&self, text: &str) {
        let textarea = self.textarea();
        textarea.set_value(text);
        let input = web_sys::InputEvent::new("input").expect("event");
        textarea.dispatch_event(&input).expect("dispatched");
    }

    fn press_enter(&self, shift: bool, composing: bool) {
        let init = KeyboardEventInit::new();
        init.set_key("Enter");
        init.set_shift_key(shift);
        init.set_is_composing(composing);
        init.set_bubbles(true);
        init.set_cancelable(true);
        let event =
            KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).expect("event");
        self.textarea().dispatch_event(&event).expect("dispatched");
    }

    async fn send(&self, text: &str) {
        self.type_text(text);
        self.press_enter(false, false);
        tick().await;
    }

    /// `(data-role, data-status, text)` of every message, in order.
    fn messages(&self) -> Vec<(String, String, String)> {
        self.query_all("[role='log'] [data-role]")
            .into_iter()
            .map(|message| {
                let text = message
                    .query_selector(".cw-message__text")
                    .ok()
                    .flatten()
                    .and_then(|p| p.text_content());
                (
                    message.get_attribute("data-role").unwrap_or_default(),
                    message.get_attribute("data-status").unwrap_or_default(),
                    text.unwrap_or_default(),
                )
            })
            .collect()
    }

    fn alert(&self) -> Option<String> {
        self.query("[role='alert']")
            .and_then(|alert| alert.text_content())
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.widget.unmount();
        self.root.remove();
    }
}

fn fresh_element() -> HtmlElement {
    let document = web_sys::window()
        .and_then(|window| window.document())
        .expect("a document");
    let element: HtmlElement = document
        .create_element("div")
        .expect("div")
        .unchecked_into();
    document
        .body()
        .expect("a body")
        .append_child(&element)
        .expect("appended");
    element
}

fn message(role: &str, status: &str, text: &str) -> (String, String, String) {
    (role.into(), status.into(), text.into())
}

fn content(text: &str) -> Result<StreamEvent, TransportError> {
    Ok(StreamEvent::Content(text.into()))
}

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
    tick().await;
    chat.click("Send");
    tick().await;
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
    tick().await;
    assert_eq!(chat.messages()[1], message("assistant", "streaming", "Hel"));
    assert_eq!(
        chat.query("[role='log']")
            .and_then(|log| log.get_attribute("aria-busy"))
            .as_deref(),
        Some("true")
    );
    chat.transport
        .push(content("lo, how can I help?\nAsk away."));
    tick().await;
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
    tick().await;
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
    tick().await;
    chat.click("Stop");
    tick().await;
    assert_eq!(
        *chat.transport.aborted.borrow(),
        1,
        "the request was aborted"
    );
    chat.transport.push(content(", late words"));
    tick().await;
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
    tick().await;
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
    tick().await;
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
    tick().await;
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
    tick().await;
    assert_eq!(chat.messages()[1], message("assistant", "error", "Half"));
    assert!(chat.alert().expect("an alert").contains("cut off"));
}

#[wasm_bindgen_test]
async fn enter_during_an_ime_composition_does_not_send() {
    let chat = Fixture::new();
    chat.type_text("にほん");
    chat.press_enter(false, true);
    tick().await;
    assert_eq!(chat.transport.request_count(), 0);
    assert!(chat.messages().is_empty());
    assert_eq!(chat.textarea().value(), "にほん");
}

#[wasm_bindgen_test]
async fn shift_enter_does_not_send() {
    let chat = Fixture::new();
    chat.type_text("first line");
    chat.press_enter(true, false);
    tick().await;
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
async fn config_reaches_the_request_and_the_page() {
    let config = ChatConfig::from_json(
        r#"{"title": "Support", "placeholder": "Ask us", "system_prompt": "Be kind.", "temperature": 0.4}"#,
    )
    .expect("valid");
    let chat = Fixture::with_config(config);
    assert_eq!(
        chat.query("h2").and_then(|h| h.text_content()).as_deref(),
        Some("Support")
    );
    assert_eq!(chat.textarea().placeholder(), "Ask us");
    chat.send("Hi").await;
    let requests = chat.transport.requests.borrow();
    assert_eq!(requests[0].messages[0], Message::system("Be kind."));
    assert_eq!(requests[0].temperature, Some(0.4));
}

#[wasm_bindgen_test]
async fn unmount_aborts_the_request_and_removes_the_chat_box() {
    let mut chat = Fixture::new();
    chat.send("Hello").await;
    chat.widget.unmount();
    tick().await;
    assert_eq!(*chat.transport.aborted.borrow(), 1);
    assert_eq!(chat.root.child_element_count(), 0);
    // Events after unmount go nowhere and break nothing.
    chat.transport.push(content("late"));
    tick().await;
}

#[wasm_bindgen_test]
async fn mount_from_javascript_takes_a_json_config_and_refuses_a_bad_one() {
    let root = fresh_element();
    let mut widget =
        mount(root.clone(), JsValue::from_str(r#"{"title": "From JS"}"#)).expect("mounted");
    tick().await;
    assert_eq!(
        root.query_selector("h2")
            .ok()
            .flatten()
            .and_then(|h| h.text_content())
            .as_deref(),
        Some("From JS")
    );
    assert!(widget.mounted());
    widget.unmount();
    assert!(!widget.mounted());
    assert_eq!(root.child_element_count(), 0);
    let error = mount(root.clone(), JsValue::from_str(r#"{"temperature": 9}"#))
        .err()
        .expect("refused");
    let message = JsValue::from(error);
    let message = message
        .dyn_ref::<js_sys::Error>()
        .map(|error| String::from(error.message()))
        .unwrap_or_default();
    assert!(message.contains("temperature"), "{message}");
    root.remove();
}
