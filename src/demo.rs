//! The demo page's example tools: they show the tool loop working with the relay's demo model or
//! a real one.

use serde_json::{json, Value};
use wasm_bindgen::{JsCast, JsValue};

use crate::tools::{ToolResult, Toolbox};

/// `get_time` (the time in an IANA time zone) and `read_page` (what the host page is).
pub fn demo_tools() -> Toolbox {
    let mut toolbox = Toolbox::new();
    toolbox.register(
        "get_time",
        "The current date and time in a time zone.",
        json!({
            "type": "object",
            "properties": {"tz": {"type": "string", "description": "An IANA time zone, such as Europe/Paris"}},
            "required": ["tz"]
        }),
        |arguments| async move { time_in(arguments["tz"].as_str().unwrap_or("UTC")) },
    );
    toolbox.register(
        "read_page",
        "The title, address and main heading of the page the chat is on.",
        json!({"type": "object", "properties": {}}),
        |_| async move { Ok(read_page()) },
    );
    toolbox
}

/// The browser's `Intl.DateTimeFormat` in `zone`; an unknown zone is the tool's error.
fn time_in(zone: &str) -> ToolResult {
    let describe = |error: JsValue| {
        error
            .dyn_ref::<js_sys::Error>()
            .map(|error| String::from(error.message()))
            .unwrap_or_else(|| format!("cannot tell the time in {zone:?}"))
    };
    let intl = js_sys::Reflect::get(&js_sys::global(), &"Intl".into()).map_err(describe)?;
    let constructor: js_sys::Function = js_sys::Reflect::get(&intl, &"DateTimeFormat".into())
        .map_err(describe)?
        .unchecked_into();
    let options = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&options, &"timeZone".into(), &zone.into());
    let _ = js_sys::Reflect::set(&options, &"dateStyle".into(), &"full".into());
    let _ = js_sys::Reflect::set(&options, &"timeStyle".into(), &"long".into());
    let arguments = js_sys::Array::of2(&"en-GB".into(), &options);
    let format = js_sys::Reflect::construct(&constructor, &arguments).map_err(describe)?;
    let method: js_sys::Function = js_sys::Reflect::get(&format, &"format".into())
        .map_err(describe)?
        .unchecked_into();
    let text = method
        .call1(&format, &js_sys::Date::new_0())
        .map_err(describe)?;
    Ok(json!({"tz": zone, "time": text.as_string().unwrap_or_default()}))
}

fn read_page() -> Value {
    let document = leptos::prelude::document();
    let heading = document
        .query_selector("h1")
        .ok()
        .flatten()
        .and_then(|heading| heading.text_content())
        .unwrap_or_default();
    json!({
        "title": document.title(),
        "url": document.url().unwrap_or_default(),
        "heading": heading.trim(),
    })
}
