//! How the widget looks on a page: the launcher, overridden strings, direction, theme, and a
//! hostile page style sheet.

use chat_widget::{mount, ChatConfig};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;
use web_sys::{KeyboardEvent, KeyboardEventInit};

use crate::support::{content, fresh_element, settle, Fixture};

#[wasm_bindgen_test]
async fn the_launcher_opens_closes_with_escape_and_moves_the_focus() {
    let config =
        ChatConfig::from_json(r#"{"presentation": "launcher", "position": "bottom-left"}"#)
            .expect("valid");
    let chat = Fixture::with_config(config);
    settle().await;
    let launcher = chat.query(".cw-launcher--bottom-left").expect("a launcher");
    let panel = chat.query("[role='dialog']").expect("a panel");
    assert!(panel.hidden(), "closed at first");
    assert_eq!(
        launcher.get_attribute("aria-expanded").as_deref(),
        Some("false")
    );
    assert!(!chat.widget.is_open());
    launcher.click();
    settle().await;
    settle().await;
    assert!(!panel.hidden());
    assert_eq!(
        launcher.get_attribute("aria-expanded").as_deref(),
        Some("true")
    );
    let focused = chat.shadow().active_element().expect("focus in the widget");
    assert_eq!(focused.tag_name(), "TEXTAREA", "focus moved into the panel");
    let init = KeyboardEventInit::new();
    init.set_key("Escape");
    init.set_bubbles(true);
    focused
        .dispatch_event(
            &KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).expect("event"),
        )
        .expect("dispatched");
    settle().await;
    assert!(panel.hidden(), "Esc closed it");
    assert_eq!(
        chat.shadow()
            .active_element()
            .map(|element| element.class_name()),
        Some(launcher.class_name()),
        "focus went back to the launcher"
    );
    chat.widget.open();
    settle().await;
    assert!(!panel.hidden() && chat.widget.is_open());
    chat.click("×");
    settle().await;
    assert!(panel.hidden(), "the panel's Close button closed it");
}

#[wasm_bindgen_test]
async fn overridden_strings_and_right_to_left_are_shown() {
    let config = ChatConfig::from_json(
        r#"{"dir": "rtl", "strings": {"send": "إرسال", "message_box": "رسالة", "settings": "الإعدادات"}}"#,
    )
    .expect("valid");
    let chat = Fixture::with_config(config);
    settle().await;
    assert!(chat.button("إرسال").is_some(), "the Send button's text");
    assert!(
        chat.button("الإعدادات").is_some(),
        "the Settings button's text"
    );
    assert!(chat.query("textarea[aria-label='رسالة']").is_some());
    let section = chat.query(".cw-chat").expect("the chat box");
    assert_eq!(section.get_attribute("dir").as_deref(), Some("rtl"));
    let direction = web_sys::window()
        .and_then(|window| window.get_computed_style(&section).ok().flatten())
        .and_then(|style| style.get_property_value("direction").ok());
    assert_eq!(direction.as_deref(), Some("rtl"));
    assert!(
        ChatConfig::from_json(r#"{"strings": {"sned": "x"}}"#).is_err(),
        "a misspelt key is refused"
    );
}

#[wasm_bindgen_test]
async fn a_widget_in_a_right_to_left_page_is_right_to_left() {
    let chat = Fixture::new();
    drop(chat);
    let root = fresh_element();
    root.set_attribute("dir", "rtl").expect("dir");
    let inner = fresh_element();
    root.append_child(&inner).expect("appended");
    let widget = mount(inner.clone(), JsValue::UNDEFINED).expect("mounted");
    settle().await;
    let section = inner
        .shadow_root()
        .and_then(|shadow| shadow.query_selector(".cw-chat").ok().flatten())
        .expect("the chat box");
    assert_eq!(section.get_attribute("dir").as_deref(), Some("rtl"));
    widget.unmount();
    root.remove();
}

#[wasm_bindgen_test]
async fn the_theme_and_color_scheme_from_the_config_reach_the_widget() {
    let config = ChatConfig::from_json(
        r#"{"color_scheme": "dark", "theme": {"accent": "rgb(170, 0, 0)", "radius": "3px"}}"#,
    )
    .expect("valid");
    let chat = Fixture::with_config(config);
    settle().await;
    let style = |selector: &str, property: &str| {
        let element = chat.query(selector).expect("the element");
        web_sys::window()
            .and_then(|window| window.get_computed_style(&element).ok().flatten())
            .and_then(|style| style.get_property_value(property).ok())
            .unwrap_or_default()
    };
    assert_eq!(
        style(".cw-chat", "background-color"),
        "rgb(22, 24, 29)",
        "dark"
    );
    assert_eq!(style(".cw-chat", "border-top-left-radius"), "3px");
    chat.type_text("Hi");
    settle().await;
    assert_eq!(
        style(".cw-button--send", "background-color"),
        "rgb(170, 0, 0)"
    );
}

#[wasm_bindgen_test]
async fn a_hostile_page_stylesheet_changes_nothing_inside() {
    let chat = Fixture::new();
    chat.send("Hello").await;
    chat.transport
        .push(content("Some **bold** text and `code`."));
    chat.transport.close();
    settle().await;
    let snapshot = || {
        let window = web_sys::window().expect("a window");
        chat.query_all("*")
            .iter()
            .map(|element| {
                let style = window
                    .get_computed_style(element)
                    .ok()
                    .flatten()
                    .expect("a style");
                [
                    "color",
                    "background-color",
                    "font-family",
                    "font-size",
                    "font-weight",
                    "font-style",
                    "line-height",
                    "letter-spacing",
                    "word-spacing",
                    "text-transform",
                    "text-align",
                    "white-space",
                    "padding-top",
                    "margin-top",
                    "border-top-width",
                    "border-top-color",
                    "display",
                    "visibility",
                ]
                .map(|property| style.get_property_value(property).unwrap_or_default())
                .join(";")
            })
            .collect::<Vec<_>>()
    };
    let before = snapshot();
    let document = web_sys::window()
        .and_then(|window| window.document())
        .expect("a document");
    let hostile = document.create_element("style").expect("style");
    hostile.set_text_content(Some(
        "* { color: red !important; background: yellow !important; font: italic 30px/3 serif !important; \
         letter-spacing: 4px !important; text-transform: uppercase !important; text-align: right !important; \
         padding: 9px !important; margin: 9px !important; border: 5px solid lime !important; visibility: visible !important; } \
         div, section, button, textarea, p, form, header, h2 { display: inline !important; width: 10px !important; } \
         .cw-chat, .cw-message, .cw-button, .cw-composer { display: none !important; }",
    ));
    document
        .head()
        .expect("a head")
        .append_child(&hostile)
        .expect("added");
    settle().await;
    let after = snapshot();
    hostile.remove();
    // The host element itself is the page's to style (its size, say); nothing inside changes.
    assert_eq!(before.len(), after.len());
    for (index, (before, after)) in before.iter().zip(&after).enumerate() {
        assert_eq!(before, after, "element {index} changed");
    }
}
