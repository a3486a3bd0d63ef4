use std::rc::Rc;

use leptos::html;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::{Composer, ConversationBar, ErrorAlert, MessageList, SettingsPanel};
use crate::config::ChatConfig;
use crate::controller::ChatController;
use crate::tools::Toolbox;
use crate::transport::{FetchTransport, SharedTransport};

/// A complete chat box: a header, the message log, the error alert and the composer.
#[component]
pub fn ChatBox(
    /// What to talk to and how; see [`ChatConfig`].
    config: ChatConfig,
    /// Where requests go. By default, `fetch` to `config.endpoint`.
    #[prop(optional)]
    transport: Option<SharedTransport>,
    /// Tools the model may call, with their handlers. By default, none.
    #[prop(optional)]
    toolbox: Toolbox,
) -> impl IntoView {
    let transport = transport.unwrap_or_else(|| {
        Rc::new(FetchTransport::new(
            config.endpoint.clone(),
            config.api_key.clone(),
        ))
    });
    let title = config.title.clone();
    let label = title.clone();
    let placeholder = config.placeholder.clone();
    let show_settings = config.show_settings;
    let show_conversations = config.show_conversations;
    let controller = ChatController::new(config, transport, toolbox);
    let settings_open = RwSignal::new(false);
    let toggle = NodeRef::<html::Button>::new();
    let root = NodeRef::<html::Section>::new();
    // Focus moves into the panel when it opens, and back to its button when it closes.
    Effect::new(move |was_open: Option<bool>| {
        let open = settings_open.get();
        if open {
            request_animation_frame(move || {
                let first = root
                    .get_untracked()
                    .and_then(|root| root.query_selector(".cw-settings input").ok().flatten());
                if let Some(input) =
                    first.and_then(|input| input.dyn_into::<web_sys::HtmlElement>().ok())
                {
                    let _ = input.focus();
                }
            });
        } else if was_open == Some(true) {
            if let Some(button) = toggle.get_untracked() {
                let _ = button.focus();
            }
        }
        open
    });
    let settings_button = show_settings.then(|| {
        view! {
            <button
                type="button"
                class="cw-button cw-button--quiet cw-chat__settings-toggle"
                aria-expanded=move || settings_open.get().to_string()
                node_ref=toggle
                on:click=move |_| settings_open.update(|open| *open = !*open)
            >
                "Settings"
            </button>
        }
    });
    view! {
        <section class="cw-chat" aria-label=label node_ref=root>
            <header class="cw-chat__header">
                <h2 class="cw-chat__title">{title}</h2>
                {settings_button}
            </header>
            {show_conversations.then(|| view! { <ConversationBar controller=controller /> })}
            <Show when=move || settings_open.get()>
                <SettingsPanel controller=controller open=settings_open />
            </Show>
            {move || {
                controller
                    .storage_notice()
                    .get()
                    .map(|notice| view! { <p class="cw-chat__notice" role="status">{notice}</p> })
            }}
            <MessageList controller=controller />
            <ErrorAlert controller=controller />
            <Composer controller=controller placeholder=placeholder />
        </section>
    }
}
