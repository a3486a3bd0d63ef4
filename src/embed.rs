//! The page's way in: `mount(element, config)` from JavaScript, and automatic mounting on elements
//! with a `data-chat-widget` attribute. The only module that deals in `JsValue`.

use std::rc::Rc;

use leptos::mount::{mount_to, UnmountHandle};
use leptos::prelude::*;
use leptos::tachys::view::any_view::AnyViewState;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::HtmlElement;

use crate::config::{ChatConfig, ConfigError};
use crate::tools::Toolbox;
use crate::transport::{FetchTransport, SharedTransport};
use crate::view::ChatBox;

/// The attribute that marks an element for automatic mounting; its value is the JSON config.
pub const MOUNT_ATTRIBUTE: &str = "data-chat-widget";

/// A mounted chat box. Dropping it, or calling [`ChatWidget::unmount`], removes it from the page and
/// cancels its request.
#[wasm_bindgen]
pub struct ChatWidget {
    handle: Option<UnmountHandle<AnyViewState>>,
}

#[wasm_bindgen]
impl ChatWidget {
    /// Removes the chat box from the page and cancels its request. Calling it twice is harmless.
    pub fn unmount(&mut self) {
        self.handle.take();
    }

    /// Whether the chat box is still on the page.
    #[wasm_bindgen(getter)]
    pub fn mounted(&self) -> bool {
        self.handle.is_some()
    }
}

/// Mounts a chat box into `element`. `config` is a JSON string, a plain object, or `undefined` for
/// the defaults (relay mode against `/v1/chat/completions`). In an object, `tools` lists tools the
/// model may call: `{name, description, parameters, handler}`, where `handler(arguments)` returns a
/// value or a Promise. A bad config throws an `Error` that names the problem.
#[wasm_bindgen]
pub fn mount(element: HtmlElement, config: JsValue) -> Result<ChatWidget, JsError> {
    let (config, toolbox) =
        config_from_js(&config).map_err(|error| JsError::new(&error.to_string()))?;
    Ok(mount_with(element, config, None, toolbox))
}

/// Mounts a chat box into `element`, with `transport` or, by default, `fetch` to the config's
/// endpoint, and the tools of `toolbox`.
pub fn mount_with(
    element: HtmlElement,
    config: ChatConfig,
    transport: Option<SharedTransport>,
    toolbox: Toolbox,
) -> ChatWidget {
    let transport = transport.unwrap_or_else(|| {
        Rc::new(FetchTransport::new(
            config.endpoint.clone(),
            config.api_key.clone(),
        ))
    });
    let handle = mount_to(element, move || {
        view! { <ChatBox config=config transport=transport toolbox=toolbox /> }.into_any()
    });
    ChatWidget {
        handle: Some(handle),
    }
}

/// Mounts a chat box on every element that has a `data-chat-widget` attribute, each with the
/// tools of `toolbox`. An element whose config is refused shows why instead, and the reason goes
/// to the console.
pub fn mount_all(toolbox: &Toolbox) {
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
        let json = element.get_attribute(MOUNT_ATTRIBUTE).unwrap_or_default();
        let config = if json.trim().is_empty() {
            Ok(ChatConfig::default())
        } else {
            ChatConfig::from_json(&json)
        };
        match config {
            // Auto-mounted widgets live as long as the page.
            Ok(config) => std::mem::forget(mount_with(element, config, None, toolbox.clone())),
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

/// `tools: [{name, description, parameters, handler}]` from a JS config: each handler gets the
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
