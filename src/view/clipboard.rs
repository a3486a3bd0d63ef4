//! Copying text for the person: the Clipboard API, or, where it is missing or refused, the older
//! copy command on a selection, and a button that says how it went.

use std::time::Duration;

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::Element;

use crate::markdown::dom::CopyLabels;

/// How long a copy button says "Copied".
const COPIED_FOR: Duration = Duration::from_secs(2);

/// Copies `text` and shows the outcome on `button`. `fallback` selects the text and tries the
/// older command; without a Clipboard API it runs within the click, where browsers allow it.
pub fn copy(
    button: Element,
    text: String,
    labels: CopyLabels,
    fallback: impl FnOnce() -> bool + 'static,
) {
    let navigator = window().navigator();
    let has_clipboard = js_sys::Reflect::get(&navigator, &"clipboard".into())
        .is_ok_and(|clipboard| !clipboard.is_undefined());
    if !has_clipboard {
        let copied = fallback();
        show_outcome(button, copied, labels);
        return;
    }
    leptos::task::spawn_local(async move {
        let written =
            wasm_bindgen_futures::JsFuture::from(navigator.clipboard().write_text(&text)).await;
        let copied = written.is_ok() || fallback();
        show_outcome(button, copied, labels);
    });
}

/// "Copied", or, when copying was refused, "Press Ctrl+C to copy" with the text selected; back to
/// "Copy" after a moment.
fn show_outcome(button: Element, copied: bool, labels: CopyLabels) {
    let outcome = if copied {
        &labels.copied
    } else {
        &labels.refused
    };
    // An icon button says it in its name and tooltip; a text button in its text.
    let icon = button.class_list().contains("cw-icon-button");
    let show = |label: &str| {
        if icon {
            let _ = button.set_attribute("aria-label", label);
            let _ = button.set_attribute("title", label);
        } else {
            button.set_text_content(Some(label));
        }
    };
    show(outcome);
    let _ = button.set_attribute("data-copied", if copied { "true" } else { "false" });
    set_timeout(
        move || {
            if icon {
                let _ = button.set_attribute("aria-label", &labels.copy);
                let _ = button.set_attribute("title", &labels.copy);
            } else {
                button.set_text_content(Some(&labels.copy));
            }
            let _ = button.remove_attribute("data-copied");
        },
        COPIED_FOR,
    );
}

/// Selects the contents of `element` and tries the older copy command.
pub fn select_and_copy(element: &Element) -> bool {
    let document = document();
    let Ok(range) = document.create_range() else {
        return false;
    };
    let Ok(Some(selection)) = window().get_selection() else {
        return false;
    };
    if range.select_node_contents(element).is_err() || selection.remove_all_ranges().is_err() {
        return false;
    }
    let _ = selection.add_range(&range);
    document
        .dyn_into::<web_sys::HtmlDocument>()
        .ok()
        .and_then(|document| document.exec_command("copy").ok())
        .unwrap_or(false)
}
