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
/// the defaults (relay mode against `/v1/chat/completions`). A bad config throws an `Error` that
/// names the problem.
#[wasm_bindgen]
pub fn mount(element: HtmlElement, config: JsValue) -> Result<ChatWidget, JsError> {
    let config = config_from_js(&config).map_err(|error| JsError::new(&error.to_string()))?;
    Ok(mount_with(element, config, None, Toolbox::new()))
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

/// Mounts a chat box on every element that has a `data-chat-widget` attribute. An element whose
/// config is refused shows why instead, and the reason goes to the console.
pub fn mount_all() {
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
            Ok(config) => std::mem::forget(mount_with(element, config, None, Toolbox::new())),
            Err(error) => {
                web_sys::console::error_1(&error.to_string().into());
                element.set_text_content(Some(&error.to_string()));
            }
        }
    }
}

fn config_from_js(value: &JsValue) -> Result<ChatConfig, ConfigError> {
    if value.is_undefined() || value.is_null() {
        return Ok(ChatConfig::default());
    }
    let json = match value.as_string() {
        Some(json) => json,
        None => js_sys::JSON::stringify(value)
            .ok()
            .and_then(|json| json.as_string())
            .ok_or_else(|| ConfigError::Json("it cannot be read as JSON".to_owned()))?,
    };
    ChatConfig::from_json(&json)
}
