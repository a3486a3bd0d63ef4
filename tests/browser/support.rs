//! Shared by the subject modules: the scripted transport, the `Fixture` that mounts a chat box on
//! it in a fresh element and queries it, the waits (`settle`, `sleep`, `wait_until`), and a few
//! replies, tools and recorders more than one module needs.

use std::cell::RefCell;
use std::rc::Rc;

use chat_protocol::{ChatRequest, PolicySummary, StreamEvent};
use chat_widget::rich::RichModule;
use chat_widget::{
    mount_with, AbortHandle, ChatConfig, ChatWidget, Reply, Toolbox, Transport, TransportError,
};
use futures_channel::mpsc::{self, UnboundedSender};
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use leptos::task::tick;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{HtmlElement, HtmlTextAreaElement, KeyboardEvent, KeyboardEventInit};

type Events = UnboundedSender<Result<StreamEvent, TransportError>>;

/// A transport whose replies the test writes event by event.
#[derive(Default)]
pub(crate) struct Scripted {
    pub(crate) requests: RefCell<Vec<ChatRequest>>,
    senders: RefCell<Vec<Events>>,
    pub(crate) aborted: Rc<RefCell<usize>>,
    /// What the relay's policy says, when the test gives one (it may change it later).
    pub(crate) policy: RefCell<Option<PolicySummary>>,
}

/// The widget's handle on the scripted transport the test also holds.
pub(crate) struct Shared(pub(crate) Rc<Scripted>);

impl Transport for Shared {
    fn policy(&self) -> LocalBoxFuture<'static, Option<PolicySummary>> {
        Box::pin(std::future::ready(self.0.policy.borrow().clone()))
    }

    fn send(&self, request: &ChatRequest) -> Reply {
        let this = &self.0;
        let (sender, events) = mpsc::unbounded();
        this.requests.borrow_mut().push(request.clone());
        this.senders.borrow_mut().push(sender);
        let aborted = this.aborted.clone();
        Reply::new(
            events.boxed_local(),
            AbortHandle::new(move || *aborted.borrow_mut() += 1),
        )
    }
}

impl Scripted {
    /// Sends an event on the latest request's reply.
    pub(crate) fn push(&self, event: Result<StreamEvent, TransportError>) {
        let senders = self.senders.borrow();
        // The widget may have stopped listening (after Stop); that is not the test's concern here.
        let _ = senders
            .last()
            .expect("a request was sent")
            .unbounded_send(event);
    }

    /// Sends an event on the reply of request `index` (0 is the first).
    pub(crate) fn push_to(&self, index: usize, event: Result<StreamEvent, TransportError>) {
        let _ = self.senders.borrow()[index].unbounded_send(event);
    }

    /// Ends the latest request's reply.
    pub(crate) fn close(&self) {
        self.senders
            .borrow()
            .last()
            .expect("a request was sent")
            .close_channel();
    }

    pub(crate) fn request_count(&self) -> usize {
        self.requests.borrow().len()
    }
}

static NEXT_ID: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A chat box in a fresh element, with its scripted transport.
pub(crate) struct Fixture {
    pub(crate) root: HtmlElement,
    pub(crate) transport: Rc<Scripted>,
    pub(crate) widget: ChatWidget,
}

impl Fixture {
    pub(crate) fn new() -> Self {
        Self::with_config(ChatConfig::default())
    }

    pub(crate) fn with_config(config: ChatConfig) -> Self {
        Self::with_tools(config, Toolbox::new())
    }

    pub(crate) fn with_tools(config: ChatConfig, toolbox: Toolbox) -> Self {
        Self::mount(config, toolbox, Scripted::default())
    }

    /// A chat box behind a relay whose policy is `policy`.
    pub(crate) fn with_policy(config: ChatConfig, toolbox: Toolbox, policy: PolicySummary) -> Self {
        Self::mount(
            config,
            toolbox,
            Scripted {
                policy: RefCell::new(Some(policy)),
                ..Scripted::default()
            },
        )
    }

    fn mount(mut config: ChatConfig, toolbox: Toolbox, transport: Scripted) -> Self {
        // Saved settings are per widget id: each test gets its own unless it chose one.
        if config.id == ChatConfig::default().id {
            config.id = format!(
                "test-{}",
                NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            );
        }
        link_rich();
        let root = fresh_element();
        let transport = Rc::new(transport);
        let widget = mount_with(
            root.clone(),
            config,
            Some(Rc::new(Shared(transport.clone()))),
            toolbox,
        )
        .expect("mounted");
        Fixture {
            root,
            transport,
            widget,
        }
    }

    /// The widget's shadow root, where everything it shows lives.
    pub(crate) fn shadow(&self) -> web_sys::ShadowRoot {
        self.root
            .shadow_root()
            .expect("the widget has a shadow root")
    }

    pub(crate) fn query(&self, selector: &str) -> Option<HtmlElement> {
        self.shadow()
            .query_selector(selector)
            .expect("valid selector")
            .map(|element| element.unchecked_into())
    }

    pub(crate) fn query_all(&self, selector: &str) -> Vec<HtmlElement> {
        let list = self
            .shadow()
            .query_selector_all(selector)
            .expect("valid selector");
        (0..list.length())
            .filter_map(|i| list.item(i))
            .map(|node| node.unchecked_into())
            .collect()
    }

    pub(crate) fn textarea(&self) -> HtmlTextAreaElement {
        self.query("textarea[aria-label='Message']")
            .expect("the composer has a Message box")
            .unchecked_into()
    }

    /// The button named `name`: by its text, or by its `aria-label` (an icon button).
    pub(crate) fn button(&self, name: &str) -> Option<HtmlElement> {
        self.query_all("button").into_iter().find(|button| {
            button.text_content().as_deref() == Some(name)
                || button.get_attribute("aria-label").as_deref() == Some(name)
        })
    }

    pub(crate) fn click(&self, name: &str) {
        self.button(name)
            .unwrap_or_else(|| panic!("no {name} button"))
            .click();
    }

    pub(crate) fn type_text(&self, text: &str) {
        let textarea = self.textarea();
        textarea.set_value(text);
        let input = web_sys::InputEvent::new("input").expect("event");
        textarea.dispatch_event(&input).expect("dispatched");
    }

    pub(crate) fn press_enter(&self, shift: bool, composing: bool) {
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

    pub(crate) async fn send(&self, text: &str) {
        self.type_text(text);
        self.press_enter(false, false);
        settle().await;
    }

    /// `(data-role, data-status, text)` of every message, in order.
    pub(crate) fn messages(&self) -> Vec<(String, String, String)> {
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

    pub(crate) fn alert(&self) -> Option<String> {
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

/// Lets the widget catch up: its reactive work, then one animation frame (Markdown replies render
/// once per frame), then whatever that frame scheduled.
/// `chat-rich` linked into the tests, answering as the module a page fetches does.
pub(crate) struct LinkedRich;

impl RichModule for LinkedRich {
    fn highlight(&self, language: &str, code: &str) -> Vec<u8> {
        chat_rich::highlighted(language, code)
    }

    fn mathml(&self, tex: &str, display: bool) -> Vec<u8> {
        chat_rich::mathml(tex, display)
    }
}

/// Makes code highlighting and math work at once, as once the module is in (the test server
/// does not serve the module; `e2e/tests/chat.rs` loads the real one).
pub(crate) fn link_rich() {
    chat_widget::rich::provide(Rc::new(LinkedRich));
}

/// Leptos' executor, which mounting a chat box starts: for a test that drives a controller alone.
pub(crate) fn start_executor() {
    let _ = any_spawner::Executor::init_wasm_bindgen();
}

pub(crate) async fn settle() {
    tick().await;
    let frame = js_sys::Promise::new(&mut |resolve, _| {
        let window = web_sys::window().expect("a window");
        window.request_animation_frame(&resolve).expect("a frame");
    });
    JsFuture::from(frame).await.expect("the frame came");
    tick().await;
}

pub(crate) fn fresh_element() -> HtmlElement {
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

pub(crate) fn message(role: &str, status: &str, text: &str) -> (String, String, String) {
    (role.into(), status.into(), text.into())
}

pub(crate) fn content(text: &str) -> Result<StreamEvent, TransportError> {
    Ok(StreamEvent::Content(text.into()))
}

pub(crate) fn example_tools() -> Toolbox {
    let mut toolbox = Toolbox::new();
    let object = serde_json::json!({"type": "object", "properties": {"tz": {"type": "string"}}});
    toolbox.register(
        "get_time",
        "The time in a time zone",
        object.clone(),
        |arguments| async move { Ok(serde_json::json!({"tz": arguments["tz"], "time": "12:00"})) },
    );
    toolbox.register("read_page", "The page's title", object.clone(), |_| async {
        Ok("The demo page".into())
    });
    toolbox.register("explode", "Always fails", object, |_| async {
        Err("the handler broke".to_owned())
    });
    // Tools that only read: they run without asking.
    for name in ["get_time", "read_page", "explode"] {
        toolbox.set_confirm(name, false);
    }
    toolbox
}

/// Waits `ms` milliseconds of real time.
pub(crate) async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let window = web_sys::window().expect("a window");
        window
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .expect("a timer");
    });
    JsFuture::from(promise).await.expect("the timer fired");
    settle().await;
}

/// Waits until `done` holds, checking every 50 ms, for at most `ms` (generous: a busy machine
/// delays timers).
pub(crate) async fn wait_until(ms: i32, done: impl Fn() -> bool) {
    let mut waited = 0;
    while !done() && waited < ms {
        sleep(50).await;
        waited += 50;
    }
}

pub(crate) fn answer(chat: &Fixture, text: &str) {
    chat.transport.push(content(text));
    chat.transport.push(Ok(StreamEvent::Done));
}

pub(crate) fn local_storage() -> web_sys::Storage {
    web_sys::window()
        .and_then(|w| w.local_storage().ok().flatten())
        .expect("storage")
}

/// Records what a callback was called with, as JSON.
pub(crate) fn recorder() -> (js_sys::Function, Rc<RefCell<Vec<String>>>) {
    let calls = Rc::new(RefCell::new(Vec::new()));
    let sink = calls.clone();
    let callback = wasm_bindgen::closure::Closure::<dyn Fn(JsValue)>::new(move |event: JsValue| {
        let json = js_sys::JSON::stringify(&event)
            .ok()
            .and_then(|json| json.as_string())
            .unwrap_or_default();
        sink.borrow_mut().push(json);
    });
    let function = callback
        .as_ref()
        .unchecked_ref::<js_sys::Function>()
        .clone();
    callback.forget();
    (function, calls)
}
