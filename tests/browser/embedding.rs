//! Embedding: `mount` and `unmount`, the config, the handle and its callbacks, the shadow root and
//! the loader's stand-in.

use std::cell::RefCell;
use std::rc::Rc;

use chat_protocol::{ApiError, FinishReason, Message, StreamEvent};
use chat_widget::{mount, mount_with, ChatConfig, Toolbox, TransportError};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;
use web_sys::HtmlElement;

use crate::support::{content, fresh_element, recorder, settle, Fixture, Scripted, Shared};

/// The message of an error `mount` or the handle threw.
fn message_of(error: wasm_bindgen::JsError) -> String {
    JsValue::from(error)
        .dyn_ref::<js_sys::Error>()
        .map(|error| String::from(error.message()))
        .unwrap_or_default()
}

/// Whether an unmounted widget's shadow root holds only the slot that shows the element's own
/// children again.
fn only_a_slot(shadow: &web_sys::ShadowRoot) -> bool {
    shadow.child_element_count() == 1
        && shadow
            .first_element_child()
            .is_some_and(|child| child.tag_name() == "SLOT")
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
    let chat = Fixture::new();
    chat.send("Hello").await;
    chat.widget.unmount();
    settle().await;
    assert_eq!(*chat.transport.aborted.borrow(), 1);
    assert!(only_a_slot(&chat.shadow()));
    // Events after unmount go nowhere and break nothing.
    chat.transport.push(content("late"));
    settle().await;
}

#[wasm_bindgen_test]
async fn mount_from_javascript_takes_a_json_config_and_refuses_a_bad_one() {
    let root = fresh_element();
    let widget =
        mount(root.clone(), JsValue::from_str(r#"{"title": "From JS"}"#)).expect("mounted");
    settle().await;
    assert_eq!(
        root.shadow_root()
            .and_then(|shadow| shadow.query_selector("h2").ok().flatten())
            .and_then(|h| h.text_content())
            .as_deref(),
        Some("From JS")
    );
    assert!(widget.mounted());
    widget.unmount();
    assert!(!widget.mounted());
    assert!(root
        .shadow_root()
        .is_some_and(|shadow| only_a_slot(&shadow)));
    let error = mount(root.clone(), JsValue::from_str(r#"{"temperature": 9}"#))
        .err()
        .expect("refused");
    let message = message_of(error);
    assert!(message.contains("temperature"), "{message}");
    root.remove();
}

/// Counts the listeners added to and removed from the window and the document, from here on.
fn count_page_listeners() {
    js_sys::eval(
        r#"(() => {
            if (window.__listeners) return;
            const count = { added: 0, removed: 0 };
            window.__listeners = count;
            const page = (target) => target === window || target === document
                || target === document.documentElement || target === document.body;
            const add = EventTarget.prototype.addEventListener;
            const remove = EventTarget.prototype.removeEventListener;
            EventTarget.prototype.addEventListener = function (...args) {
                if (page(this)) count.added += 1;
                return add.apply(this, args);
            };
            EventTarget.prototype.removeEventListener = function (...args) {
                if (page(this)) count.removed += 1;
                return remove.apply(this, args);
            };
        })()"#,
    )
    .expect("the counter is installed");
}

fn page_listeners() -> (f64, f64) {
    let count =
        js_sys::eval("[window.__listeners.added, window.__listeners.removed]").expect("counted");
    let count: js_sys::Array = count.unchecked_into();
    (
        count.get(0).as_f64().unwrap_or(-1.0),
        count.get(1).as_f64().unwrap_or(-1.0),
    )
}

#[wasm_bindgen_test]
async fn mount_and_unmount_leave_no_listeners_or_nodes_behind() {
    count_page_listeners();
    // The host element the test adds is the one new child of the body.
    let body_children = 1 + web_sys::window()
        .and_then(|window| window.document())
        .and_then(|document| document.body())
        .map(|body| body.child_element_count())
        .expect("a body");
    let (added_before, removed_before) = page_listeners();
    let config = ChatConfig::from_json(
        r##"{"presentation": "launcher", "theme": {"accent": "#aa0000"}, "color_scheme": "dark"}"##,
    )
    .expect("valid");
    let chat = Fixture::with_config(config);
    // Use it: a message, a reply, the settings, the panel.
    chat.widget.open();
    chat.send("Hello").await;
    chat.transport.push(content("Hi"));
    chat.transport.close();
    settle().await;
    chat.click("Settings");
    settle().await;
    assert!(chat.root.style().length() > 0, "the theme is on the host");
    chat.widget.unmount();
    settle().await;
    let shadow = chat.shadow();
    assert!(
        only_a_slot(&shadow),
        "no nodes left but a slot for the element's own"
    );
    assert_eq!(
        shadow.adopted_style_sheets().length(),
        0,
        "no style sheet left"
    );
    assert_eq!(
        chat.root.style().length(),
        0,
        "the host's style is as it was"
    );
    assert_eq!(chat.root.child_element_count(), 0);
    let (added, removed) = page_listeners();
    assert_eq!(
        added - added_before,
        removed - removed_before,
        "every listener on the page was removed"
    );
    let body_now = web_sys::window()
        .and_then(|window| window.document())
        .and_then(|document| document.body())
        .map(|body| body.child_element_count())
        .expect("a body");
    assert_eq!(body_now, body_children, "nothing else added to the page");
}

#[wasm_bindgen_test]
async fn an_element_that_cannot_hold_a_shadow_root_is_refused_by_name() {
    let document = web_sys::window()
        .and_then(|window| window.document())
        .expect("a document");
    let input: HtmlElement = document
        .create_element("input")
        .expect("input")
        .unchecked_into();
    let error = mount(input, JsValue::UNDEFINED).err().expect("refused");
    let message = message_of(error);
    assert!(message.contains("<input>"), "{message}");
}

#[wasm_bindgen_test]
async fn the_handle_sends_without_touching_the_draft_and_reports_messages_and_errors() {
    let chat = Fixture::new();
    let (on_message, messages) = recorder();
    let (on_error, errors) = recorder();
    chat.widget.on_message(on_message);
    chat.widget.on_error(on_error);
    chat.type_text("half-typed");
    chat.widget.send("From the page").expect("sent");
    settle().await;
    assert_eq!(
        chat.transport.requests.borrow()[0].messages.last(),
        Some(&Message::user("From the page"))
    );
    assert_eq!(chat.textarea().value(), "half-typed", "the draft is kept");
    assert!(chat.widget.send("Again").is_err(), "busy: refused");
    chat.transport.push(content("Answer"));
    chat.transport
        .push(Ok(StreamEvent::Finish(FinishReason::Stop)));
    chat.transport.close();
    settle().await;
    assert_eq!(
        *messages.borrow(),
        [
            r#"{"role":"user","content":"From the page"}"#,
            r#"{"role":"assistant","content":"Answer"}"#
        ]
    );
    assert!(chat.widget.send("   ").is_err(), "blank: refused");
    chat.widget.send("Once more").expect("sent");
    settle().await;
    chat.transport.push(Err(TransportError::Http {
        status: 401,
        error: ApiError::new("Invalid key"),
        retry_after: None,
    }));
    settle().await;
    let errors = errors.borrow();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains(r#""status":401"#), "{}", errors[0]);
    assert!(errors[0].contains("Invalid key"), "{}", errors[0]);
}

#[wasm_bindgen_test]
async fn a_dropped_handle_leaves_the_widget_and_a_second_mount_is_refused() {
    let root = fresh_element();
    let widget = mount(root.clone(), JsValue::UNDEFINED).expect("mounted");
    drop(widget);
    settle().await;
    let shadow = root.shadow_root().expect("a shadow root");
    assert!(
        shadow.query_selector(".cw-chat").ok().flatten().is_some(),
        "still on the page without its handle"
    );
    let again = mount(root.clone(), JsValue::UNDEFINED)
        .err()
        .expect("refused");
    let message = message_of(again);
    assert!(message.contains("already holds a chat widget"), "{message}");
    root.remove();
}

#[wasm_bindgen_test]
async fn an_element_can_hold_a_new_widget_after_unmount() {
    let root = fresh_element();
    let first = mount(root.clone(), JsValue::UNDEFINED).expect("mounted");
    first.unmount();
    let second =
        mount(root.clone(), JsValue::from_str(r#"{"title": "Again"}"#)).expect("mounted again");
    settle().await;
    let shadow = root.shadow_root().expect("a shadow root");
    assert_eq!(
        shadow
            .query_selector_all(".cw-chat")
            .map(|all| all.length())
            .ok(),
        Some(1)
    );
    assert_eq!(shadow.adopted_style_sheets().length(), 1);
    second.unmount();
    root.remove();
}

#[wasm_bindgen_test]
async fn a_callback_may_send_the_next_message_or_unmount() {
    let root = fresh_element();
    let transport = Rc::new(Scripted::default());
    let config = ChatConfig {
        id: "callback-sends".into(),
        ..ChatConfig::default()
    };
    let widget = Rc::new(
        mount_with(
            root.clone(),
            config,
            Some(Rc::new(Shared(transport.clone()))),
            Toolbox::new(),
        )
        .expect("mounted"),
    );
    // When the first reply is in, the page asks a follow-up; when the second is, it unmounts.
    let handle = widget.clone();
    let replies = Rc::new(RefCell::new(0));
    let counted = replies.clone();
    let on_message =
        wasm_bindgen::closure::Closure::<dyn Fn(JsValue)>::new(move |event: JsValue| {
            let role = js_sys::Reflect::get(&event, &"role".into())
                .ok()
                .and_then(|role| role.as_string());
            if role.as_deref() == Some("assistant") {
                *counted.borrow_mut() += 1;
                if *counted.borrow() == 1 {
                    handle.send("And then?").expect("the follow-up is sent");
                } else {
                    handle.unmount();
                }
            }
        });
    widget.on_message(
        on_message
            .as_ref()
            .unchecked_ref::<js_sys::Function>()
            .clone(),
    );
    on_message.forget();
    widget.send("Tell me").expect("sent");
    settle().await;
    transport.push_to(0, content("First."));
    transport.push_to(0, Ok(StreamEvent::Finish(FinishReason::Stop)));
    transport.push_to(0, Ok(StreamEvent::Done));
    settle().await;
    settle().await;
    assert_eq!(transport.request_count(), 2, "the follow-up went out");
    transport.push_to(1, content("Second."));
    transport.push_to(1, Ok(StreamEvent::Finish(FinishReason::Stop)));
    transport.push_to(1, Ok(StreamEvent::Done));
    settle().await;
    settle().await;
    assert_eq!(*replies.borrow(), 2, "the follow-up's reply arrived");
    assert!(!widget.mounted(), "the callback unmounted it");
    root.remove();
}

#[wasm_bindgen_test]
async fn a_stand_in_is_replaced_in_place_and_set_draft_fills_the_message_box() {
    // What embed.js leaves before the widget loads: its own nodes in the element's shadow root,
    // marked, at the chat box's unsized height.
    let root = fresh_element();
    let shadow = root
        .attach_shadow(&web_sys::ShadowRootInit::new(web_sys::ShadowRootMode::Open))
        .expect("a shadow root");
    let document = root.owner_document().expect("a document");
    let stand_in = document.create_element("div").expect("div");
    stand_in.set_class_name("cw-root cw-root--unsized");
    stand_in
        .set_attribute("data-cw-standin", "")
        .expect("marked");
    // It gives the element its height, as the stand-in's style sheet does.
    stand_in
        .set_attribute("style", "display: block; height: 560px")
        .expect("styled");
    shadow.append_child(&stand_in).expect("drawn");
    let widget = mount(root.clone(), JsValue::UNDEFINED).expect("mounted over the stand-in");
    settle().await;
    assert!(
        shadow
            .query_selector("[data-cw-standin]")
            .expect("a query")
            .is_none(),
        "the stand-in is gone"
    );
    let real = shadow
        .query_selector(".cw-root")
        .expect("a query")
        .expect("the widget");
    assert_eq!(
        real.class_name(),
        "cw-root cw-root--unsized",
        "measured without the stand-in: the element has no height of its own"
    );
    widget.set_draft("typed before it loaded");
    settle().await;
    let input: web_sys::HtmlTextAreaElement = shadow
        .query_selector(".cw-composer__input")
        .expect("a query")
        .expect("the message box")
        .unchecked_into();
    assert_eq!(input.value(), "typed before it loaded");
    // And a widget's shadow root is not a stand-in's.
    let again = mount(root.clone(), JsValue::UNDEFINED)
        .err()
        .expect("refused");
    let message = message_of(again);
    assert!(message.contains("already holds a chat widget"), "{message}");
    widget.unmount();
    root.remove();
}

#[wasm_bindgen_test]
async fn a_widget_mounted_from_leptos_code_goes_with_its_owner_and_keeps_its_effect_still() {
    use leptos::prelude::*;

    crate::support::start_executor();
    let element = fresh_element();
    let mounts = Rc::new(std::cell::Cell::new(0));
    let owner = Owner::new();
    let widget = Rc::new(RefCell::new(None));
    owner.with(|| {
        let (element, mounts, widget) = (element.clone(), mounts.clone(), widget.clone());
        // As an app that renders on the server mounts it once the page has hydrated.
        Effect::new(move |_| {
            mounts.set(mounts.get() + 1);
            let transport = Rc::new(Shared(Rc::new(Scripted::default())));
            *widget.borrow_mut() = Some(
                mount_with(
                    element.clone(),
                    ChatConfig::default(),
                    Some(transport),
                    Toolbox::new(),
                )
                .expect("mounted"),
            );
        });
    });
    settle().await;
    let widget = widget.borrow_mut().take().expect("mounted by the effect");
    assert!(widget.mounted());
    // What the widget read as it was built is not the effect's to follow: typing, sending and
    // the settings it loaded leave the effect alone.
    widget.set_draft("Hello");
    widget.send("Hello").expect("sent");
    settle().await;
    assert_eq!(mounts.get(), 1, "the effect ran once");
    // The owner's cleanup (a route leaving, say) takes the widget away, as it does its own nodes.
    owner.cleanup();
    assert!(!widget.mounted());
    let shadow = element.shadow_root().expect("its shadow root");
    assert!(only_a_slot(&shadow), "{}", shadow.inner_html());
    element.remove();
}

#[wasm_bindgen_test]
async fn the_leptos_component_follows_its_signals_and_tells_its_events() {
    use chat_widget::config::ColorScheme;
    use chat_widget::controller::ChatEvent;
    use chat_widget::{ChatBox, SharedTransport, Strings};
    use leptos::prelude::*;

    crate::support::link_rich();
    let element = fresh_element();
    let scripted = Rc::new(Scripted::default());
    let transport: SharedTransport = Rc::new(Shared(scripted.clone()));
    let scheme = RwSignal::new(ColorScheme::Light);
    let model = RwSignal::new("first-model".to_owned());
    let strings = RwSignal::new(Strings::default());
    let heard = RwSignal::new(Vec::<String>::new());
    let config = ChatConfig {
        id: "component".into(),
        ..ChatConfig::default()
    };
    let handle = {
        leptos::mount::mount_to(element.clone(), move || {
            let on_event = Callback::new(move |event: ChatEvent| {
                if let ChatEvent::Turn(turn) = event {
                    heard.update(|heard| heard.push(format!("{turn:?}").chars().take(4).collect()));
                }
            });
            view! {
                <ChatBox
                    config=config
                    transport=transport
                    color_scheme=scheme
                    model=model
                    strings=strings
                    on_event=on_event
                />
            }
        })
    };
    settle().await;
    let root: HtmlElement = element
        .query_selector(".cw-root")
        .expect("a query")
        .expect("the chat box, in the app's own DOM")
        .unchecked_into();
    assert_eq!(
        root.style()
            .get_property_value("color-scheme")
            .ok()
            .as_deref(),
        Some("light")
    );
    scheme.set(ColorScheme::Dark);
    settle().await;
    assert_eq!(
        root.style()
            .get_property_value("color-scheme")
            .ok()
            .as_deref(),
        Some("dark")
    );

    // The model follows its signal into the next request.
    let textarea: web_sys::HtmlTextAreaElement = root
        .query_selector("textarea")
        .expect("a query")
        .expect("the composer")
        .unchecked_into();
    let send = |text: &str| {
        textarea.set_value(text);
        textarea
            .dispatch_event(&web_sys::Event::new("input").expect("an event"))
            .expect("dispatched");
        let form: web_sys::HtmlFormElement = root
            .query_selector("form.cw-composer")
            .expect("a query")
            .expect("the form")
            .unchecked_into();
        form.request_submit().expect("submitted");
    };
    send("Hello");
    settle().await;
    scripted.push(content("Hi"));
    scripted.push(Ok(StreamEvent::Done));
    settle().await;
    model.set("second-model".to_owned());
    settle().await;
    send("Again");
    settle().await;
    let models: Vec<String> = scripted
        .requests
        .borrow()
        .iter()
        .map(|request| request.model.clone())
        .collect();
    assert_eq!(models, ["first-model", "second-model"]);
    assert!(
        heard
            .get_untracked()
            .iter()
            .any(|event| event.starts_with("Sent")),
        "{:?}",
        heard.get_untracked()
    );

    scripted.push(content("Hi again"));
    scripted.push(Ok(StreamEvent::Done));
    settle().await;
    // Other words: the chat box is drawn again in them; the conversation and the draft stay.
    textarea.set_value("half typed");
    textarea
        .dispatch_event(&web_sys::Event::new("input").expect("an event"))
        .expect("dispatched");
    strings.set(serde_json::from_value(serde_json::json!({"send": "Senden"})).expect("strings"));
    settle().await;
    let buttons: Vec<String> = (0..root.query_selector_all("button").expect("buttons").length())
        .filter_map(|index| root.query_selector_all("button").ok()?.item(index))
        .filter_map(|button| button.text_content())
        .collect();
    assert!(buttons.iter().any(|text| text == "Senden"), "{buttons:?}");
    let textarea: web_sys::HtmlTextAreaElement = root
        .query_selector("textarea")
        .expect("a query")
        .expect("the composer")
        .unchecked_into();
    assert_eq!(textarea.value(), "half typed");
    assert_eq!(
        root.query_selector_all("[data-role='user']")
            .expect("messages")
            .length(),
        2,
        "the conversation stays"
    );
    drop(handle);
}
