//! The page's way in: `mount(element, config)` from JavaScript, and automatic mounting on elements
//! with a `data-chat-widget` attribute. The only module that deals in `JsValue`.

use std::cell::RefCell;
use std::rc::Rc;

use leptos::mount::{mount_to, UnmountHandle};
use leptos::prelude::*;
use leptos::tachys::view::any_view::AnyViewState;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{CssStyleSheet, HtmlElement, ShadowRoot, ShadowRootInit, ShadowRootMode};

use crate::config::{ChatConfig, ColorScheme, ConfigError, Direction, Presentation};
use crate::controller::{ChatController, ChatEvent, TurnEvent};
use crate::tools::Toolbox;
use crate::transport::{FetchTransport, SharedTransport, TransportError};
use crate::view::{describe, ChatView, Launcher};
use chat_widget_core::error::ChatError;

/// The attribute that marks an element for automatic mounting; its value is the JSON config.
pub const MOUNT_ATTRIBUTE: &str = "data-chat-widget";

/// The widget's style sheet, adopted by every shadow root it mounts in: the frame that `embed.js`
/// draws its stand-in with, then the rest.
const WIDGET_CSS: &str = concat!(
    include_str!("../style/base.css"),
    include_str!("../style/widget.css")
);

/// The attribute `embed.js` marks its stand-in with (the nodes it draws before the widget has
/// loaded); mounting replaces them.
const STAND_IN_ATTRIBUTE: &str = "data-cw-standin";

thread_local! {
    static STYLE_SHEET: Option<CssStyleSheet> = CssStyleSheet::new()
        .ok()
        .filter(|sheet| sheet.replace_sync(WIDGET_CSS).is_ok());
}

/// A mounted chat widget's handle. The widget stays on the page until [`ChatWidget::unmount`],
/// whether or not the page keeps the handle (see [`mount_with`] for the other ways it goes).
#[wasm_bindgen]
pub struct ChatWidget {
    mounted: Rc<RefCell<Option<Mounted>>>,
    callbacks: Rc<RefCell<Callbacks>>,
}

thread_local! {
    /// Every mounted widget: the page may drop its handle (JavaScript's garbage collector frees
    /// it), and the widget must stay.
    static LIVE: RefCell<Vec<Rc<RefCell<Option<Mounted>>>>> = const { RefCell::new(Vec::new()) };
}

struct Mounted {
    handle: UnmountHandle<AnyViewState>,
    host: HtmlElement,
    shadow: ShadowRoot,
    container: web_sys::Element,
    controller: ChatController,
    open: RwSignal<bool>,
    launcher: bool,
    /// The host's style properties the config set, with what they were before.
    restyled: Vec<(&'static str, String)>,
}

/// The embedder's callbacks.
#[derive(Default)]
struct Callbacks {
    on_message: Option<js_sys::Function>,
    on_error: Option<js_sys::Function>,
    on_event: Option<js_sys::Function>,
}

/// The version of the events `onEvent` hears; a change of their fields changes it.
pub const EVENTS_VERSION: u32 = 1;

#[wasm_bindgen]
impl ChatWidget {
    /// Removes the chat widget from the page, with everything it added, and cancels its request.
    /// Calling it twice is harmless.
    pub fn unmount(&self) {
        take_away(&self.mounted);
    }

    /// Whether the chat widget is still on the page.
    #[wasm_bindgen(getter)]
    pub fn mounted(&self) -> bool {
        self.mounted.borrow().is_some()
    }

    /// Opens the launcher's panel and moves the focus into it. Inline: focuses the message box.
    pub fn open(&self) {
        let Some((_, open, launcher, shadow)) = self.live() else {
            return;
        };
        open.set(true);
        if !launcher {
            focus_message_box(&shadow);
        }
    }

    /// Closes the launcher's panel.
    pub fn close(&self) {
        if let Some((_, open, _, _)) = self.live() {
            open.set(false);
        }
    }

    /// Whether the launcher's panel is open (always true inline).
    #[wasm_bindgen(getter, js_name = isOpen)]
    pub fn is_open(&self) -> bool {
        self.live()
            .is_some_and(|(_, open, launcher, _)| !launcher || open.get_untracked())
    }

    /// Sends `text` as the person's message, leaving what they are typing alone. Throws when it
    /// cannot be sent: unmounted, blank, a reply still arriving, or a setting not valid.
    pub fn send(&self, text: &str) -> Result<(), JsError> {
        let (controller, ..) = self
            .live()
            .ok_or_else(|| JsError::new("the chat widget is not mounted"))?;
        if text.trim().is_empty() {
            return Err(JsError::new("the message is blank"));
        }
        if controller.is_busy() {
            return Err(JsError::new(
                "a reply is still arriving: send again once it is done",
            ));
        }
        if !controller.send_text(text) {
            let why = controller.notice().get_untracked();
            return Err(JsError::new(
                why.as_deref().unwrap_or("the message was not sent"),
            ));
        }
        Ok(())
    }

    /// Puts `text` in the message box, in place of what is there (`embed.js` carries over what
    /// the person typed into its stand-in this way).
    #[wasm_bindgen(js_name = setDraft)]
    pub fn set_draft(&self, text: &str) {
        if let Some((controller, ..)) = self.live() {
            controller.draft().set(text.to_owned());
        }
    }

    /// Calls `callback({role, content})` for each message sent and each reply finished.
    #[wasm_bindgen(js_name = onMessage)]
    pub fn on_message(&self, callback: js_sys::Function) {
        self.callbacks.borrow_mut().on_message = Some(callback);
    }

    /// Calls `callback({message, status})` when a request fails (each failed automatic retry
    /// too); `status` is the HTTP status, or `null`.
    #[wasm_bindgen(js_name = onError)]
    pub fn on_error(&self, callback: js_sys::Function) {
        self.callbacks.borrow_mut().on_error = Some(callback);
    }

    /// Calls `callback(event)` for each of the widget's events (see the README's "Events"): an
    /// object with `version`, `type`, `widget` (the config's `id`), `time` (Unix milliseconds)
    /// and the fields of its type. What the callback throws is logged, never raised.
    #[wasm_bindgen(js_name = onEvent)]
    pub fn on_event(&self, callback: js_sys::Function) {
        self.callbacks.borrow_mut().on_event = Some(callback);
    }
}

impl ChatWidget {
    /// The mounted widget's handles, copied out so no borrow is held while they are used (an
    /// embedder's callback may call back into the handle).
    fn live(&self) -> Option<(ChatController, RwSignal<bool>, bool, ShadowRoot)> {
        self.mounted.borrow().as_ref().map(|mounted| {
            (
                mounted.controller,
                mounted.open,
                mounted.launcher,
                mounted.shadow.clone(),
            )
        })
    }
}

fn focus_message_box(shadow: &ShadowRoot) {
    let input = shadow
        .query_selector(".cw-composer__input")
        .ok()
        .flatten()
        .and_then(|input| input.dyn_into::<HtmlElement>().ok());
    if let Some(input) = input {
        let _ = input.focus();
    }
}

/// Mounts a chat widget into `element`, inside a shadow root of its own, so the page's styles and
/// the widget's stay apart. `config` is a JSON string, a plain object, or `undefined` for the
/// defaults (relay mode against `/v1/chat/completions`). In an object, `tools` lists tools the
/// model may call: `{name, description, parameters, handler, confirm}`, where `handler(arguments)`
/// returns a value or a Promise, and the person is asked before each call unless `confirm` is
/// `false`; `onToolCall({name, arguments})` may answer for the person (`true` runs the call,
/// `false` declines it, anything else asks); `onMessage` and `onError` are callbacks (see the
/// handle's methods). A bad config throws an `Error` that names the problem.
#[wasm_bindgen]
pub fn mount(element: HtmlElement, config: JsValue) -> Result<ChatWidget, JsError> {
    let callback = |name: &str| {
        (config.is_object() && !config.is_function())
            .then(|| js_sys::Reflect::get(&config, &name.into()).ok())
            .flatten()
            .and_then(|value| value.dyn_into::<js_sys::Function>().ok())
    };
    let (on_message, on_error, on_event) = (
        callback("onMessage"),
        callback("onError"),
        callback("onEvent"),
    );
    let on_tool_call = callback("onToolCall");
    let (config, mut toolbox) =
        config_from_js(&config).map_err(|error| JsError::new(&error.to_string()))?;
    if let Some(on_tool_call) = on_tool_call {
        toolbox.set_approver(Rc::new(move |call| {
            let on_tool_call = on_tool_call.clone();
            let call = call.clone();
            Box::pin(async move { ask_page(&on_tool_call, &call).await })
        }));
    }
    let widget = mount_with(element, config, None, toolbox)
        .map_err(|error| JsError::new(&error.to_string()))?;
    if let Some(on_message) = on_message {
        widget.on_message(on_message);
    }
    if let Some(on_error) = on_error {
        widget.on_error(on_error);
    }
    if let Some(on_event) = on_event {
        widget.on_event(on_event);
    }
    Ok(widget)
}

/// Mounts a chat widget into a shadow root of `element`, with `transport` or, by default, `fetch`
/// to the config's endpoint, and the tools of `toolbox`. Refused when `element` cannot hold a
/// shadow root (an `input`, say) or already holds a closed one.
///
/// The widget, its style sheet included, lives in the shadow root, apart from the page's own
/// styles. It stays until [`ChatWidget::unmount`], or until its element has left the page (then
/// the next mount takes it away); mounted from Leptos code (a component, an effect), also until
/// the reactive owner it was mounted under is cleaned up, as the component's own nodes.
///
/// ```no_run
/// use chat_widget::{mount_with, ChatConfig, Toolbox};
/// use wasm_bindgen::JsCast;
///
/// let element: web_sys::HtmlElement = web_sys::window()
///     .and_then(|window| window.document())
///     .and_then(|document| document.get_element_by_id("help"))
///     .expect("a #help element")
///     .unchecked_into();
/// let config = ChatConfig { title: "Help".into(), ..ChatConfig::default() };
/// let widget = mount_with(element, config, None, Toolbox::new()).expect("mounted");
/// widget.open();
/// ```
pub fn mount_with(
    element: HtmlElement,
    mut config: ChatConfig,
    transport: Option<SharedTransport>,
    toolbox: Toolbox,
) -> Result<ChatWidget, ConfigError> {
    forget_detached();
    let shadow = match element.shadow_root() {
        // One widget per element; an unmounted one left only a slot behind.
        Some(shadow) if holds_widget(&shadow) => {
            return Err(ConfigError::Element(
                "the element already holds a chat widget".to_owned(),
            ));
        }
        Some(shadow) if shadow_is_ours(&shadow) => {
            shadow.replace_children_with_node_0();
            shadow
        }
        Some(_) => {
            return Err(ConfigError::Element(
                "the element has a shadow root of its own: mount it in a <div>".to_owned(),
            ));
        }
        None => element
            .attach_shadow(&ShadowRootInit::new(ShadowRootMode::Open))
            .map_err(|_| {
                ConfigError::Element(format!(
                    "a <{}> cannot hold one: mount it in a <div>",
                    element.tag_name().to_ascii_lowercase()
                ))
            })?,
    };
    STYLE_SHEET.with(|sheet| match sheet {
        Some(sheet) => shadow.set_adopted_style_sheets(&js_sys::Array::of1(sheet)),
        // A browser without constructed style sheets gets a <style> element.
        None => {
            if let Ok(style) = document().create_element("style") {
                style.set_text_content(Some(WIDGET_CSS));
                let _ = shadow.append_child(&style);
            }
        }
    });
    // The page's direction where the widget sits, unless the config says.
    if config.dir.is_none() {
        let direction = window()
            .get_computed_style(&element)
            .ok()
            .flatten()
            .and_then(|style| style.get_property_value("direction").ok());
        config.dir = Some(if direction.as_deref() == Some("rtl") {
            Direction::Rtl
        } else {
            Direction::Ltr
        });
    }
    let restyled = restyle(&element, &config);
    let container = document()
        .create_element("div")
        .map_err(|_| ConfigError::Element("no element could be created".to_owned()))?;
    // An element with a height of its own is filled; an empty one gets the chat box's height.
    container.set_class_name(
        if config.presentation == Presentation::Inline && element.client_height() == 0 {
            "cw-root cw-root--unsized"
        } else {
            "cw-root"
        },
    );
    if config.dir == Some(Direction::Rtl) {
        let _ = container.set_attribute("dir", "rtl");
    }
    let _ = shadow.append_child(&container);
    let transport = transport.unwrap_or_else(|| {
        Rc::new(FetchTransport::new(
            config.endpoint.clone(),
            config.api_key.clone(),
        ))
    });
    let callbacks = Rc::new(RefCell::new(Callbacks::default()));
    let made = Rc::new(RefCell::new(None));
    let launcher = config.presentation == Presentation::Launcher;
    // Untracked: mounted from an effect, the widget must never make the effect follow what it
    // reads as it is built (the effect would run again and mount it again). It reads no signal
    // tracked today; this keeps it so.
    let handle = untrack(|| {
        let made = made.clone();
        let callbacks = callbacks.clone();
        mount_to(container.clone().unchecked_into(), move || {
            let controller = ChatController::new(config, transport, toolbox);
            let open = RwSignal::new(false);
            *made.borrow_mut() = Some((controller, open));
            report_to(controller, callbacks);
            if launcher {
                // The panel's opening and closing are events too (not its first state).
                Effect::new(move |was: Option<bool>| {
                    let now = open.get();
                    if was.is_some_and(|was| was != now) {
                        controller.emit(if now {
                            ChatEvent::Opened
                        } else {
                            ChatEvent::Closed
                        });
                    }
                    now
                });
            }
            if launcher {
                view! { <Launcher controller=controller open=open /> }.into_any()
            } else {
                view! { <ChatView controller=controller /> }.into_any()
            }
        })
    });
    // `mount_to` builds the view before it returns, so this is always there.
    let (controller, open) = made
        .take()
        .ok_or_else(|| ConfigError::Element("the chat box could not be built".to_owned()))?;
    let mounted = Rc::new(RefCell::new(Some(Mounted {
        handle,
        host: element,
        shadow,
        container,
        controller,
        open,
        launcher,
        restyled,
    })));
    LIVE.with(|live| live.borrow_mut().push(mounted.clone()));
    // Mounted from Leptos code (a component, an effect): its reactive owner is the widget's too,
    // and the widget goes with it, as the component's own nodes do.
    if Owner::current().is_some() {
        let owned = StoredValue::new_local(mounted.clone());
        on_cleanup(move || {
            if let Some(widget) = owned.try_get_value() {
                take_away(&widget);
            }
        });
    }
    Ok(ChatWidget { mounted, callbacks })
}

/// Takes a mounted widget away with everything it added (nothing, if it is gone already): for
/// its handle's `unmount`, an element that left the page, and an owner cleaned up.
fn take_away(widget: &Rc<RefCell<Option<Mounted>>>) {
    let Some(mounted) = widget.borrow_mut().take() else {
        return;
    };
    LIVE.with(|live| live.borrow_mut().retain(|each| !Rc::ptr_eq(each, widget)));
    drop(mounted.handle);
    mounted.container.remove();
    let style = mounted.host.style();
    for (property, before) in mounted.restyled {
        if before.is_empty() {
            let _ = style.remove_property(property);
        } else {
            let _ = style.set_property(property, &before);
        }
    }
    mounted
        .shadow
        .set_adopted_style_sheets(&js_sys::Array::new());
    mounted.shadow.replace_children_with_node_0();
    // A shadow root cannot be taken off again: a slot shows the element's own children.
    if let Ok(slot) = document().create_element("slot") {
        let _ = mounted.shadow.append_child(&slot);
    }
}

/// Whether `shadow` holds a mounted widget (not `embed.js`'s stand-in for one).
fn holds_widget(shadow: &ShadowRoot) -> bool {
    shadow
        .query_selector(&format!(".cw-root:not([{STAND_IN_ATTRIBUTE}])"))
        .ok()
        .flatten()
        .is_some()
}

/// Whether `shadow` is empty, or holds only the slot an unmounted widget left or the stand-in
/// `embed.js` drew.
fn shadow_is_ours(shadow: &ShadowRoot) -> bool {
    let children = shadow.children();
    (0..children.length())
        .filter_map(|index| children.item(index))
        .all(|child| child.tag_name() == "SLOT" || child.has_attribute(STAND_IN_ATTRIBUTE))
}

/// Unmounts the widgets whose element has left the page (a single-page app moved on), when the
/// next widget is mounted: their requests and timers stop, handle or no handle.
fn forget_detached() {
    let detached: Vec<_> = LIVE.with(|live| {
        live.borrow()
            .iter()
            .filter(|widget| {
                widget
                    .borrow()
                    .as_ref()
                    .is_some_and(|mounted| !mounted.host.is_connected())
            })
            .cloned()
            .collect()
    });
    for widget in detached {
        take_away(&widget);
    }
}

/// Sets the config's theme and colour scheme on the host element, where the widget's custom
/// properties are read; returns what each property was before.
fn restyle(host: &HtmlElement, config: &ChatConfig) -> Vec<(&'static str, String)> {
    let scheme = (config.color_scheme != ColorScheme::Auto)
        .then(|| ("color-scheme", config.color_scheme.css()));
    let style = host.style();
    config
        .theme
        .properties()
        .chain(scheme)
        .map(|(property, value)| {
            let before = style.get_property_value(property).unwrap_or_default();
            let _ = style.set_property(property, value);
            (property, before)
        })
        .collect()
}

/// Calls the embedder's callbacks as the conversation goes: `onMessage` for each message the
/// person sends and each reply that finishes, `onError` for each turn that fails, and `onEvent` for
/// every event.
fn report_to(controller: ChatController, callbacks: Rc<RefCell<Callbacks>>) {
    controller.observe(move |event| {
        // The functions are taken out of the cell first: one may set another callback.
        let (on_message, on_error, on_event) = {
            let callbacks = callbacks.borrow();
            (
                callbacks.on_message.clone(),
                callbacks.on_error.clone(),
                callbacks.on_event.clone(),
            )
        };
        match event {
            ChatEvent::Turn(TurnEvent::Sent { text, .. }) => call(
                on_message.as_ref(),
                &[("role", "user".into()), ("content", text.into())],
            ),
            ChatEvent::Turn(TurnEvent::Replied { text, .. }) => call(
                on_message.as_ref(),
                &[("role", "assistant".into()), ("content", text.into())],
            ),
            ChatEvent::Turn(TurnEvent::Failed { error, .. }) => {
                let message = controller
                    .config()
                    .with_value(|config| describe::chat_error(error, &config.strings));
                call(
                    on_error.as_ref(),
                    &[("message", message.into()), ("status", http_status(error))],
                );
            }
            _ => {}
        }
        if on_event.is_some() {
            let (widget, with_text) = controller
                .config()
                .with_value(|config| (config.id.clone(), config.events_include_text));
            let (kind, mut fields) = event_fields(event, with_text);
            fields.splice(
                0..0,
                [
                    ("version", JsValue::from(EVENTS_VERSION)),
                    ("type", kind.into()),
                    ("widget", widget.into()),
                    ("time", js_sys::Date::now().into()),
                ],
            );
            call(on_event.as_ref(), &fields);
        }
    });
}

/// The HTTP status of a failed request, or `null`.
fn http_status(error: &ChatError) -> JsValue {
    match error {
        ChatError::Transport(TransportError::Http { status, .. })
        | ChatError::ImagesTooLarge(TransportError::Http { status, .. }) => JsValue::from(*status),
        _ => JsValue::NULL,
    }
}

/// An event's type and its own fields; the text of messages only `with_text`.
fn event_fields(
    event: &ChatEvent,
    with_text: bool,
) -> (&'static str, Vec<(&'static str, JsValue)>) {
    let text = |text: &str| with_text.then(|| ("text", JsValue::from(text)));
    let number = |value: u64| JsValue::from(value as f64);
    match event {
        ChatEvent::Opened => ("open", Vec::new()),
        ChatEvent::Closed => ("close", Vec::new()),
        ChatEvent::Suggestion { index, text: said } => (
            "suggestion_clicked",
            [("index", JsValue::from(*index as u32))]
                .into_iter()
                .chain(text(said))
                .collect(),
        ),
        ChatEvent::Turn(TurnEvent::Sent { id, text: said }) => (
            "message_sent",
            [("id", JsValue::from(id))]
                .into_iter()
                .chain(text(said))
                .collect(),
        ),
        ChatEvent::Turn(TurnEvent::FirstToken { id, ms }) => {
            ("first_token", vec![("id", id.into()), ("ms", number(*ms))])
        }
        ChatEvent::Turn(TurnEvent::Replied {
            id,
            text: said,
            ms,
            usage,
            finish_reason,
        }) => (
            "reply_done",
            [
                ("id", JsValue::from(id)),
                ("ms", number(*ms)),
                (
                    "tokens_in",
                    usage.map_or(JsValue::NULL, |usage| usage.prompt_tokens.into()),
                ),
                (
                    "tokens_out",
                    usage.map_or(JsValue::NULL, |usage| usage.completion_tokens.into()),
                ),
                (
                    "finish_reason",
                    finish_reason
                        .as_ref()
                        .map_or(JsValue::NULL, |reason| reason.as_str().into()),
                ),
            ]
            .into_iter()
            .chain(text(said))
            .collect(),
        ),
        ChatEvent::Turn(TurnEvent::Failed { error, retrying }) => (
            "error",
            vec![
                ("status", http_status(error)),
                ("kind", error_kind(error).into()),
                ("retrying", (*retrying).into()),
            ],
        ),
        ChatEvent::Turn(TurnEvent::ToolCall { name, ok, ms }) => (
            "tool_call",
            vec![
                ("name", name.into()),
                ("ok", (*ok).into()),
                ("ms", number(*ms)),
            ],
        ),
        ChatEvent::Turn(TurnEvent::Feedback { id, feedback }) => (
            "feedback",
            vec![
                ("id", id.into()),
                (
                    "rating",
                    feedback
                        .as_ref()
                        .map_or(JsValue::NULL, |feedback| feedback.rating.as_str().into()),
                ),
                (
                    "comment",
                    feedback
                        .as_ref()
                        .map_or(JsValue::NULL, |feedback| feedback.comment.as_str().into()),
                ),
            ],
        ),
    }
}

/// What kind of failure, as events name it.
fn error_kind(error: &ChatError) -> &'static str {
    match error {
        ChatError::Invalid(_) => "invalid_request",
        ChatError::Settings(_) => "settings",
        ChatError::Transport(TransportError::Http { .. }) => "http",
        ChatError::Transport(TransportError::Network(_)) => "network",
        ChatError::Transport(TransportError::InvalidResponse(_)) => "invalid_response",
        ChatError::Transport(TransportError::Aborted) => "aborted",
        ChatError::Stream(_) => "provider",
        ChatError::Interrupted => "interrupted",
        ChatError::ImagesTooLarge(_) => "images_too_large",
        ChatError::ToolRounds(_) => "tool_rounds",
    }
}

/// Calls `callback` with an object of `fields`; what it throws goes to the console.
fn call(callback: Option<&js_sys::Function>, fields: &[(&str, JsValue)]) {
    let Some(callback) = callback else { return };
    let event = js_sys::Object::new();
    for (name, value) in fields {
        let _ = js_sys::Reflect::set(&event, &(*name).into(), value);
    }
    if let Err(thrown) = callback.call1(&JsValue::NULL, &event) {
        web_sys::console::error_2(&"chat widget callback failed:".into(), &thrown);
    }
}

/// Mounts a chat widget on every element that has a `data-chat-widget` attribute, each with the
/// tools `tools_for` gives it. An element whose config is refused shows why instead, and the
/// reason goes to the console.
pub fn mount_all(tools_for: impl Fn(&HtmlElement) -> Toolbox) {
    let Ok(elements) = document().query_selector_all(&format!("[{MOUNT_ATTRIBUTE}]")) else {
        return;
    };
    for index in 0..elements.length() {
        let Some(element) = elements
            .item(index)
            .and_then(|node| node.dyn_into::<HtmlElement>().ok())
        else {
            continue;
        };
        // Already there (the script loaded twice): left alone.
        if element
            .shadow_root()
            .is_some_and(|shadow| holds_widget(&shadow))
        {
            continue;
        }
        let json = element.get_attribute(MOUNT_ATTRIBUTE).unwrap_or_default();
        let config = if json.trim().is_empty() {
            Ok(ChatConfig::default())
        } else {
            ChatConfig::from_json(&json)
        };
        match config
            .and_then(|config| mount_with(element.clone(), config, None, tools_for(&element)))
        {
            // Auto-mounted widgets live as long as the page (the handle is not needed).
            Ok(_) => {}
            Err(error) => {
                web_sys::console::error_1(&error.to_string().into());
                element.set_text_content(Some(&error.to_string()));
            }
        }
    }
}

/// The config from `mount`'s argument: a JSON string, a plain object (whose `tools` may carry
/// handler functions), or nothing.
pub fn config_from_js(value: &JsValue) -> Result<(ChatConfig, Toolbox), ConfigError> {
    if value.is_undefined() || value.is_null() {
        return Ok((ChatConfig::default(), Toolbox::new()));
    }
    let json = match value.as_string() {
        Some(json) => json,
        None => js_sys::JSON::stringify(value)
            .ok()
            .and_then(|json| json.as_string())
            .ok_or_else(|| ConfigError::Json("it cannot be read as JSON".to_owned()))?,
    };
    let mut object: serde_json::Value =
        serde_json::from_str(&json).map_err(|error| ConfigError::Json(error.to_string()))?;
    let toolbox = match object
        .as_object_mut()
        .and_then(|object| object.remove("tools"))
    {
        Some(_) => js_tools(value)?,
        None => Toolbox::new(),
    };
    // Tool names are checked now, so a bad one stops `mount` rather than every request.
    chat_protocol::ChatRequest {
        model: "check".into(),
        messages: vec![chat_protocol::Message::user("check")],
        tools: toolbox.definitions(),
        ..Default::default()
    }
    .validate()?;
    Ok((ChatConfig::from_json(&object.to_string())?, toolbox))
}

/// What the page's `onToolCall({name, arguments})` says of a call: `true` (or a promise of it) runs
/// it, `false` declines it, anything else (or a throw) leaves it to the person.
async fn ask_page(on_tool_call: &js_sys::Function, call: &chat_protocol::ToolCall) -> Option<bool> {
    let event = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&event, &"name".into(), &call.function.name.as_str().into());
    let arguments = js_sys::JSON::parse(&call.function.arguments).unwrap_or(JsValue::NULL);
    let _ = js_sys::Reflect::set(&event, &"arguments".into(), &arguments);
    let said = match on_tool_call.call1(&JsValue::NULL, &event) {
        Ok(said) => wasm_bindgen_futures::JsFuture::from(js_sys::Promise::resolve(&said)).await,
        Err(thrown) => Err(thrown),
    };
    match said {
        Ok(said) => said.as_bool(),
        Err(thrown) => {
            web_sys::console::error_2(&"chat widget: onToolCall failed:".into(), &thrown);
            None
        }
    }
}

/// `tools: [{name, description, parameters, handler, confirm}]` from a JS config: each handler gets the
/// arguments as an object and returns a value or a Promise of one; a throw or a rejection is the
/// tool's error.
fn js_tools(config: &JsValue) -> Result<Toolbox, ConfigError> {
    let refused = |why: String| ConfigError::Json(format!("`tools`: {why}"));
    let tools = js_sys::Reflect::get(config, &"tools".into())
        .map_err(|_| refused("cannot be read".into()))?;
    let tools: js_sys::Array = tools
        .dyn_into()
        .map_err(|_| refused("must be an array".into()))?;
    let mut toolbox = Toolbox::new();
    for (index, tool) in tools.iter().enumerate() {
        let field =
            |name: &str| js_sys::Reflect::get(&tool, &name.into()).unwrap_or(JsValue::UNDEFINED);
        let name = field("name")
            .as_string()
            .ok_or_else(|| refused(format!("tools[{index}] needs a `name`")))?;
        let description = field("description").as_string().unwrap_or_default();
        let parameters = js_sys::JSON::stringify(&field("parameters"))
            .ok()
            .and_then(|json| json.as_string())
            .and_then(|json| serde_json::from_str(&json).ok())
            .unwrap_or_else(|| serde_json::json!({"type": "object", "properties": {}}));
        let handler: js_sys::Function = field("handler").dyn_into().map_err(|_| {
            refused(format!(
                "tools[{index}] ({name}) needs a `handler` function"
            ))
        })?;
        toolbox.register(&name, &description, parameters, move |arguments| {
            let handler = handler.clone();
            async move { call_js_handler(&handler, &arguments).await }
        });
        // `confirm: false` for a tool that only reads: it runs without asking the person.
        if field("confirm").as_bool() == Some(false) {
            toolbox.set_confirm(&name, false);
        }
    }
    Ok(toolbox)
}

async fn call_js_handler(
    handler: &js_sys::Function,
    arguments: &serde_json::Value,
) -> crate::tools::ToolResult {
    let arguments = js_sys::JSON::parse(&arguments.to_string()).map_err(describe_thrown)?;
    let result = handler
        .call1(&JsValue::NULL, &arguments)
        .map_err(describe_thrown)?;
    // `Promise.resolve` also takes thenables and promises from other frames.
    let result = wasm_bindgen_futures::JsFuture::from(js_sys::Promise::resolve(&result))
        .await
        .map_err(describe_thrown)?;
    if let Some(text) = result.as_string() {
        return Ok(serde_json::Value::String(text));
    }
    if result.is_undefined() {
        return Ok(serde_json::Value::Null);
    }
    js_sys::JSON::stringify(&result)
        .ok()
        .and_then(|json| json.as_string())
        .and_then(|json| serde_json::from_str(&json).ok())
        .ok_or_else(|| "the handler returned a value that cannot be sent as JSON".to_owned())
}

/// What a handler threw or rejected with, as text: an `Error`'s message, a string, or its JSON.
fn describe_thrown(thrown: JsValue) -> String {
    if let Some(error) = thrown.dyn_ref::<js_sys::Error>() {
        return String::from(error.message());
    }
    if let Some(text) = thrown.as_string() {
        return text;
    }
    js_sys::JSON::stringify(&thrown)
        .ok()
        .and_then(|json| json.as_string())
        .map_or_else(
            || "the handler failed".to_owned(),
            |json| format!("the handler failed with {json}"),
        )
}
