use leptos::html;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::icons;
use crate::controller::ChatController;
use chat_widget_core::library::{to_json, to_markdown};

/// Choosing among the widget's conversations: switch and start a new one at hand, and behind a
/// menu button, rename, delete, and export the one in view as Markdown or JSON.
#[component]
pub fn ConversationBar(
    /// The chat box's controller.
    controller: ChatController,
) -> impl IntoView {
    let library = controller.library();
    let renaming = RwSignal::new(None::<String>);
    let untitled = StoredValue::new(controller.text(|s| s.untitled()));
    let options = move || {
        library.with(|library| {
            library
                .titles(&untitled.read_value())
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
    // The rarer actions sit in a menu behind one button; choosing one closes it.
    let menu_open = RwSignal::new(false);
    let toggle = NodeRef::<html::Button>::new();
    let close_menu = move |focus_toggle: bool| {
        menu_open.set(false);
        if focus_toggle {
            if let Some(toggle) = toggle.get_untracked() {
                let _ = toggle.focus();
            }
        }
    };
    // The focus follows: into the title when renaming starts, back to the chooser when it ends.
    let title_input = NodeRef::<html::Input>::new();
    let chooser_select = NodeRef::<html::Select>::new();
    let start_renaming = move || {
        let title = library.with_untracked(|library| library.current().title.clone());
        renaming.set(Some(title));
        request_animation_frame(move || {
            if let Some(input) = title_input.get_untracked() {
                let _ = input.focus();
            }
        });
    };
    let end_renaming = move || {
        renaming.set(None);
        request_animation_frame(move || {
            if let Some(select) = chooser_select.get_untracked() {
                let _ = select.focus();
            }
        });
    };

    let delete = move || {
        let index = library.with_untracked(|library| library.active);
        controller.delete_conversation(index);
    };
    let menu = move || {
        menu_open.get().then(|| {
            let item = move |label: String, act: Callback<()>| {
                view! {
                    <li>
                        <button
                            type="button"
                            class="cw-menu__item"
                            on:click=move |_| {
                                close_menu(true);
                                act.run(());
                            }
                        >
                            {label}
                        </button>
                    </li>
                }
            };
            view! {
                <ul class="cw-menu" id="cw-conversation-menu">
                    {item(controller.text(|s| s.rename()), Callback::new(move |()| start_renaming()))}
                    {item(controller.text(|s| s.delete()), Callback::new(move |()| delete()))}
                    {item(controller.text(|s| s.export_markdown()), Callback::new(move |()| export(true)))}
                    {item(controller.text(|s| s.export_json()), Callback::new(move |()| export(false)))}
                </ul>
            }
        })
    };
    let on_menu_keydown = move |event: leptos::ev::KeyboardEvent| {
        if event.key() == "Escape" && menu_open.get_untracked() {
            event.stop_propagation();
            close_menu(true);
        }
    };
    // Focus that leaves the menu and its button closes it.
    let on_focusout = move |event: leptos::ev::FocusEvent| {
        let Some(wrapper) = event
            .current_target()
            .and_then(|target| target.dyn_into::<web_sys::Node>().ok())
        else {
            return;
        };
        let inside = event
            .related_target()
            .and_then(|target| target.dyn_into::<web_sys::Node>().ok())
            .is_some_and(|target| wrapper.contains(Some(&target)));
        if !inside {
            menu_open.set(false);
        }
    };
    let chooser = move || match renaming.get() {
        Some(title) => view! {
            <input
                class="cw-field__input cw-threads__title"
                aria-label=controller.text(|s| s.conversation_title())
                prop:value=title
                on:input=move |event| renaming.set(Some(event_target_value(&event)))
                node_ref=title_input
                on:keydown=move |event: leptos::ev::KeyboardEvent| {
                    if event.key() == "Escape" {
                        event.stop_propagation();
                        end_renaming();
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
                    end_renaming();
                }
            >
                {controller.text(|s| s.save_title())}
            </button>
        }
        .into_any(),
        None => view! {
            <select
                class="cw-field__input cw-threads__select"
                node_ref=chooser_select
                aria-label=controller.text(|s| s.conversation())
                on:change=move |event| {
                    if let Ok(index) = event_target_value(&event).parse() {
                        controller.switch_conversation(index);
                    }
                }
            >
                {options}
            </select>
        }
        .into_any(),
    };
    let new_label = controller.text(|s| s.new_conversation());
    let menu_label = controller.text(|s| s.conversation_menu());
    view! {
        <div class="cw-threads" role="group" aria-label=controller.text(|s| s.conversations())>
            {chooser}
            <button
                type="button"
                class="cw-icon-button"
                aria-label=new_label.clone()
                title=new_label
                on:click=move |_| controller.new_conversation()
            >
                {icons::plus()}
            </button>
            <div class="cw-menu-anchor" on:keydown=on_menu_keydown on:focusout=on_focusout>
                <button
                    type="button"
                    class="cw-icon-button"
                    aria-label=menu_label.clone()
                    title=menu_label
                    aria-expanded=move || menu_open.get().to_string()
                    aria-controls="cw-conversation-menu"
                    node_ref=toggle
                    on:click=move |_| menu_open.update(|open| *open = !*open)
                >
                    {icons::more()}
                </button>
                {menu}
            </div>
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
