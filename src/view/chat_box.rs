use std::rc::Rc;

use leptos::ev::DragEvent;
use leptos::html;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::Launcher;
use super::{Composer, ConversationBar, ErrorAlert, MessageList, SettingsPanel, ToolConsent};
use crate::config::{ChatConfig, ColorScheme, Presentation};
use crate::controller::{ChatController, ChatEvent, TurnEvent};
use crate::tools::Toolbox;
use crate::transport::{FetchTransport, SharedTransport};
use chat_widget_core::strings::fill;
use chat_widget_core::Strings;

/// A complete chat box, in the app's own DOM (link `style/base.css` and `style/widget.css`): a
/// header, the message log, the error alert and the composer; or, with
/// `config.presentation` set to a launcher, a button that opens it in a panel.
///
/// `config` is read once, when the chat box is built. What a page changes as it goes follows its
/// signal: `color_scheme`, `open`, `model`, `system_prompt` and `strings`.
///
/// ```no_run
/// use chat_widget::config::ColorScheme;
/// use chat_widget::{ChatBox, ChatConfig};
/// use leptos::prelude::*;
///
/// #[component]
/// fn Help() -> impl IntoView {
///     let config = ChatConfig {
///         endpoint: "/v1/chat/completions".into(),
///         ..ChatConfig::default()
///     };
///     let dark = RwSignal::new(false);
///     let scheme = Signal::derive(move || if dark.get() { ColorScheme::Dark } else { ColorScheme::Light });
///     view! {
///         <button on:click=move |_| dark.update(|dark| *dark = !*dark)>"Dark"</button>
///         <ChatBox config=config color_scheme=scheme on_event=Callback::new(|event| leptos::logging::log!("{event:?}")) />
///     }
/// }
/// ```
#[component]
pub fn ChatBox(
    /// What to talk to and how; see [`ChatConfig`]. Read once.
    config: ChatConfig,
    /// Where requests go. By default, `fetch` to `config.endpoint`.
    #[prop(optional)]
    transport: Option<SharedTransport>,
    /// Tools the model may call, with their handlers. By default, none.
    #[prop(optional)]
    toolbox: Toolbox,
    /// Light, dark, or the page's own; `config.color_scheme` until the signal says.
    #[prop(optional, into)]
    color_scheme: MaybeProp<ColorScheme>,
    /// For a launcher: whether its panel is open (the person may open or close it too).
    #[prop(optional, into)]
    open: MaybeProp<bool>,
    /// Told when a launcher's panel opens (`true`) or closes (`false`), by the person or by
    /// `open`.
    #[prop(optional, into)]
    on_open_change: Option<Callback<bool>>,
    /// The model the next requests ask for; `config.model` until the signal says. Written into
    /// the settings, as the settings panel does (and kept with them).
    #[prop(optional, into)]
    model: MaybeProp<String>,
    /// The system prompt of the next requests; `config.system_prompt` until the signal says.
    #[prop(optional, into)]
    system_prompt: MaybeProp<String>,
    /// The words the chat box shows; `config.strings` until the signal says. A change draws the
    /// chat box again in them: the conversation and the draft stay; the settings panel closes
    /// and the log scrolls to its end.
    #[prop(optional, into)]
    strings: MaybeProp<Strings>,
    /// Every event, as `onEvent` tells a page: a message sent, the first token, a reply, a failed
    /// turn, a tool call, a rating, the launcher opening or closing, a suggestion taken.
    #[prop(optional, into)]
    on_event: Option<Callback<ChatEvent>>,
) -> impl IntoView {
    let transport = transport.unwrap_or_else(|| {
        Rc::new(FetchTransport::new(
            config.endpoint.clone(),
            config.api_key.clone(),
        ))
    });
    let launcher = config.presentation == Presentation::Launcher;
    let first_scheme = config.color_scheme;
    let controller = ChatController::new(config, transport, toolbox);
    if let Some(on_event) = on_event {
        controller.observe(move |event| on_event.run(event.clone()));
    }
    Effect::new(move |_| {
        if let Some(model) = model.get() {
            controller
                .settings()
                .update(|settings| settings.model = model);
        }
    });
    Effect::new(move |_| {
        if let Some(prompt) = system_prompt.get() {
            controller
                .settings()
                .update(|settings| settings.system_prompt = prompt);
        }
    });
    let panel_open = RwSignal::new(open.get_untracked().unwrap_or(false));
    Effect::new(move |_| {
        if let Some(open) = open.get() {
            panel_open.set(open);
        }
    });
    Effect::new(move |was: Option<bool>| {
        let now = panel_open.get();
        if launcher && was.is_some_and(|was| was != now) {
            controller.emit(if now {
                ChatEvent::Opened
            } else {
                ChatEvent::Closed
            });
            if let Some(on_open_change) = on_open_change {
                on_open_change.run(now);
            }
        }
        now
    });
    // Auto: the page's own (the sheet inherits it). Set as a property, never as a `style`
    // attribute, which a content security policy without 'unsafe-inline' styles refuses.
    let scheme = move || {
        let scheme = color_scheme.get().unwrap_or(first_scheme);
        (scheme != ColorScheme::Auto).then(|| scheme.css())
    };
    let drawn = move || {
        if let Some(strings) = strings.get() {
            controller.set_strings(strings);
        }
        if launcher {
            view! { <Launcher controller=controller open=panel_open /> }.into_any()
        } else {
            view! { <ChatView controller=controller /> }.into_any()
        }
    };
    // Inline, a chat box of `--cw-height`; a launcher's button and panel are fixed, and its root
    // takes no room in the page.
    let class = if launcher {
        "cw-root cw-root--contents"
    } else {
        "cw-root cw-root--unsized"
    };
    view! { <div class=class style:color-scheme=scheme>{drawn}</div> }
}

/// The chat box of an existing controller. With `on_close`, the header offers a Close button
/// (the launcher's panel).
#[component]
pub fn ChatView(
    /// The conversation to show.
    controller: ChatController,
    /// What the header's Close button does; no button without it.
    #[prop(optional)]
    on_close: Option<Callback<()>>,
) -> impl IntoView {
    let (title, placeholder, show_settings, show_conversations, dir) =
        controller.config().with_value(|config| {
            (
                config.title.clone(),
                config.placeholder.clone(),
                config.show_settings,
                config.show_conversations,
                config.dir,
            )
        });
    let label = title.clone();
    let images = controller.config().with_value(|config| config.images);
    // Images dropped anywhere on the chat box are attached to the next message.
    let dragging = RwSignal::new(false);
    let carries_files = |event: &DragEvent| {
        event
            .data_transfer()
            .is_some_and(|data| data.types().includes(&"Files".into(), 0))
    };
    let on_dragover = move |event: DragEvent| {
        if images && carries_files(&event) {
            event.prevent_default();
            dragging.set(true);
        }
    };
    let on_drop = move |event: DragEvent| {
        dragging.set(false);
        if images && carries_files(&event) {
            event.prevent_default();
            controller.attach(super::composer::files_of(
                event.data_transfer().and_then(|data| data.files()),
            ));
        }
    };
    let settings_open = RwSignal::new(false);
    let toggle = NodeRef::<html::Button>::new();
    let root = NodeRef::<html::Section>::new();
    // Focus moves into the panel when it opens, and back to its button when it closes.
    Effect::new(move |was_open: Option<bool>| {
        let open = settings_open.get();
        if open {
            request_animation_frame(move || {
                let first = root
                    .try_get_untracked()
                    .flatten()
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
                {controller.text(|s| s.settings())}
            </button>
        }
    });
    let close_button = on_close.map(|on_close| {
        view! {
            <button
                type="button"
                class="cw-button cw-button--quiet cw-chat__close"
                aria-label=controller.text(|s| s.close_chat())
                on:click=move |_| on_close.run(())
            >
                "×"
            </button>
        }
    });
    view! {
        <section
            class="cw-chat"
            class:cw-chat--dropping=move || dragging.get()
            aria-label=label
            on:dragover=on_dragover
            on:dragleave=move |_| dragging.set(false)
            on:drop=on_drop
            dir=dir.map(|dir| match dir {
                crate::config::Direction::Ltr => "ltr",
                crate::config::Direction::Rtl => "rtl",
            })
            node_ref=root
        >
            <header class="cw-chat__header">
                <h2 class="cw-chat__title">{title}</h2>
                {settings_button}
                {close_button}
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
            <ToolConsent controller=controller />
            <ErrorAlert controller=controller />
            <Composer controller=controller placeholder=placeholder />
            <Announcer controller=controller />
        </section>
    }
}

/// A live region that reads out each finished reply once, as the text it shows (not its
/// Markdown source), rather than every token as it arrives in the log.
#[component]
fn Announcer(
    /// The chat box's controller, whose finished replies are read out.
    controller: ChatController,
) -> impl IntoView {
    let said = RwSignal::new(String::new());
    let region = NodeRef::<html::Div>::new();
    controller.observe(move |event| {
        if !matches!(event, ChatEvent::Turn(TurnEvent::Replied { .. })) {
            return;
        }
        // Once the reply's last frame is on screen.
        request_animation_frame(move || {
            let Some(Some(region)) = region.try_get_untracked() else {
                return;
            };
            let shown = region
                .parent_element()
                .and_then(|chat| {
                    chat.query_selector_all("[data-role='assistant'] .cw-message__text")
                        .ok()
                })
                .and_then(|replies| replies.item(replies.length().checked_sub(1)?));
            if let Some(shown) = shown {
                let mut text = String::new();
                spoken(&shown, &mut text);
                said.try_set(fill(&controller.text(|s| s.reply_ready()), &[&text.trim()]));
            }
        });
    });
    view! {
        <div class="cw-visually-hidden" aria-live="polite" aria-atomic="true" node_ref=region>
            {said}
        </div>
    }
}

/// The text of `node` as it reads: a line break after each block (paragraph, item, heading,
/// code, row), a space between cells, and without the code blocks' label and Copy button.
fn spoken(node: &web_sys::Node, text: &mut String) {
    let children = node.child_nodes();
    for index in 0..children.length() {
        let Some(child) = children.item(index) else {
            continue;
        };
        let Some(element) = child.dyn_ref::<web_sys::Element>() else {
            if let Some(data) = child.node_value() {
                text.push_str(&data);
            }
            continue;
        };
        if element.class_name() == "cw-code__bar" {
            continue;
        }
        if element.tag_name() == "BR" {
            text.push('\n');
            continue;
        }
        spoken(&child, text);
        match element.tag_name().as_str() {
            "P" | "LI" | "H1" | "H2" | "H3" | "H4" | "H5" | "H6" | "PRE" | "BLOCKQUOTE" | "TR" => {
                text.push('\n');
            }
            "TD" | "TH" => text.push(' '),
            _ => {}
        }
    }
}
