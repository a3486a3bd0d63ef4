use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::controller::ChatController;
use chat_core::library::{to_json, to_markdown};

/// Choosing among the widget's conversations: switch, start a new one, rename, delete, and export
/// the one in view as Markdown or JSON.
#[component]
pub fn ConversationBar(
    /// The chat box's controller.
    controller: ChatController,
) -> impl IntoView {
    let library = controller.library();
    let renaming = RwSignal::new(None::<String>);
    let untitled = controller.text(|s| s.untitled());
    let options = move || {
        library.with(|library| {
            library
                .titles(&untitled)
                .into_iter()
                .enumerate()
                .map(|(index, title)| {
                    view! {
                        <option value=index.to_string() selected=library.active == index>
                            {title}
                        </option>
                    }
                })
                .collect_view()
        })
    };
    let export = move |markdown: bool| {
        library.with_untracked(|library| {
            let thread = library.current();
            let (text, kind, extension) = if markdown {
                (to_markdown(thread), "text/markdown", "md")
            } else {
                (to_json(thread), "application/json", "json")
            };
            download(&format!("conversation.{extension}"), kind, &text);
        });
    };
    let rename = move || match renaming.get() {
        Some(title) => view! {
            <input
                class="cw-field__input cw-threads__title"
                aria-label=controller.text(|s| s.conversation_title())
                prop:value=title
                on:input=move |event| renaming.set(Some(event_target_value(&event)))
                on:keydown=move |event: leptos::ev::KeyboardEvent| {
                    if event.key() == "Escape" {
                        event.stop_propagation();
                        renaming.set(None);
                    }
                }
            />
            <button
                type="button"
                class="cw-message__action"
                on:click=move |_| {
                    if let Some(title) = renaming.get_untracked() {
                        let index = library.with_untracked(|library| library.active);
                        controller.rename_conversation(index, &title);
                    }
                    renaming.set(None);
                }
            >
                {controller.text(|s| s.save_title())}
            </button>
        }
        .into_any(),
        None => view! {
            <button
                type="button"
                class="cw-message__action"
                on:click=move |_| {
                    let title = library.with_untracked(|library| library.current().title.clone());
                    renaming.set(Some(title));
                }
            >
                {controller.text(|s| s.rename())}
            </button>
        }
        .into_any(),
    };
    view! {
        <div class="cw-threads" role="group" aria-label=controller.text(|s| s.conversations())>
            <select
                class="cw-field__input cw-threads__select"
                aria-label=controller.text(|s| s.conversation())
                on:change=move |event| {
                    if let Ok(index) = event_target_value(&event).parse() {
                        controller.switch_conversation(index);
                    }
                }
            >
                {options}
            </select>
            <button type="button" class="cw-message__action" on:click=move |_| controller.new_conversation()>
                {controller.text(|s| s.new_conversation())}
            </button>
            {rename}
            <button
                type="button"
                class="cw-message__action"
                on:click=move |_| {
                    let index = library.with_untracked(|library| library.active);
                    controller.delete_conversation(index);
                }
            >
                {controller.text(|s| s.delete())}
            </button>
            <button type="button" class="cw-message__action" on:click=move |_| export(true)>
                {controller.text(|s| s.export_markdown())}
            </button>
            <button type="button" class="cw-message__action" on:click=move |_| export(false)>
                {controller.text(|s| s.export_json())}
            </button>
        </div>
    }
}

/// Offers `text` as a file to save.
fn download(name: &str, kind: &str, text: &str) {
    let parts = js_sys::Array::of1(&text.into());
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(kind);
    let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options) else {
        return;
    };
    let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else {
        return;
    };
    if let Ok(link) = document().create_element("a") {
        let link: web_sys::HtmlAnchorElement = link.unchecked_into();
        link.set_href(&url);
        link.set_download(name);
        link.click();
    }
    let _ = web_sys::Url::revoke_object_url(&url);
}
