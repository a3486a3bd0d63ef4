use leptos::ev::KeyboardEvent;
use leptos::html;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use std::time::Duration;

use super::{icons, ChatView};
use crate::controller::{ChatController, ChatEvent, TurnEvent};
use crate::storage;
use chat_widget_core::strings::fill;

/// A floating button in a corner of the window that opens the chat box in a panel beside it (the
/// whole screen on a narrow one). Esc or the panel's Close button closes it; focus moves into the
/// panel on opening and back to the button on closing. The panel stays in the page while closed,
/// so a reply keeps arriving; replies that finish while it is closed are counted on a badge,
/// said once, and the count clears when the panel opens. With a `greeting`, a bubble beside the
/// button greets the visitor once, after its delay, unless the panel is open by then.
#[component]
pub fn Launcher(
    /// The conversation in the panel.
    controller: ChatController,
    /// Whether the panel is open; the embedder's `open()` and `close()` set it too.
    open: RwSignal<bool>,
) -> impl IntoView {
    let corner = controller.config().with_value(|config| config.position);
    let button = NodeRef::<html::Button>::new();
    let panel = NodeRef::<html::Div>::new();
    // Whether closing gives the focus back to the launcher: yes when the person closed the panel
    // from inside it; not when the page's script did while the person was elsewhere.
    let focus_back = StoredValue::new(false);
    Effect::new(move |was_open: Option<bool>| {
        let is_open = open.get();
        if is_open {
            // Once the panel is shown: into the message box.
            request_animation_frame(move || {
                let input = panel
                    .try_get_untracked()
                    .flatten()
                    .and_then(|panel| panel.query_selector(".cw-composer__input").ok().flatten())
                    .and_then(|input| input.dyn_into::<web_sys::HtmlElement>().ok());
                if let Some(input) = input {
                    let _ = input.focus();
                }
            });
        } else if was_open == Some(true) {
            let inside = panel
                .get_untracked()
                .is_some_and(|panel| panel.matches(":focus-within").unwrap_or(false));
            if focus_back.get_value() || inside {
                if let Some(button) = button.get_untracked() {
                    let _ = button.focus();
                }
            }
        }
        focus_back.set_value(false);
        is_open
    });
    let close_from_inside = move || {
        focus_back.set_value(true);
        open.set(false);
    };
    let on_keydown = move |event: KeyboardEvent| {
        if event.key() == "Escape" {
            event.prevent_default();
            close_from_inside();
        }
    };
    // Replies that finished while the panel was closed.
    let unread = RwSignal::new(0usize);
    controller.observe(move |event| {
        if matches!(event, ChatEvent::Turn(TurnEvent::Replied { .. }))
            && open.try_get_untracked() == Some(false)
        {
            unread.try_update(|unread| *unread += 1);
        }
    });
    Effect::new(move |_| {
        if open.get() {
            unread.set(0);
        }
    });
    let unread_label = StoredValue::new(controller.text(|s| s.unread()));
    let badge_label = move || unread_label.with_value(|label| fill(label, &[&unread.get()]));
    // Beside the button, not in it: the button's name says the count, and a name must hold any
    // text its element shows.
    let badge = move || {
        (unread.get() > 0).then(|| {
            view! {
                <span class=format!("cw-launcher__badge cw-launcher__badge--{}", corner.name()) aria-hidden="true">
                    {move || unread.get().min(99)}
                </span>
            }
        })
    };
    let greeting = controller
        .config()
        .with_value(|config| config.greeting.clone());
    let greeting_shown = RwSignal::new(false);
    let greeting_timer = StoredValue::new_local(None);
    let id = controller.config().with_value(|config| config.id.clone());
    if let Some(greeting) = &greeting {
        if !storage::greeted(&id) {
            let id = id.clone();
            let timer = set_timeout_with_handle(
                move || {
                    // Never over an open panel, and once per visitor.
                    if open.try_get_untracked() == Some(false) {
                        greeting_shown.try_set(true);
                        storage::mark_greeted(&id);
                    }
                },
                Duration::from_millis(greeting.delay_ms.into()),
            )
            .ok();
            greeting_timer.set_value(timer);
            on_cleanup(move || {
                if let Some(Some(timer)) = greeting_timer.try_update_value(Option::take) {
                    timer.clear();
                }
            });
        }
    }
    Effect::new(move |_| {
        if open.get() {
            greeting_shown.set(false);
            // A visitor who opened the chat needs no greeting, now or later.
            if let Some(timer) = greeting_timer.try_update_value(Option::take).flatten() {
                timer.clear();
                storage::mark_greeted(&id);
            }
        }
    });
    let greeting_text = greeting.as_ref().map(|greeting| greeting.text.clone());
    let bubble = move || {
        let text = greeting.as_ref()?.text.clone();
        greeting_shown.get().then(|| {
            let dismiss = controller.text(|s| s.dismiss());
            let welcome = text.clone();
            view! {
                <div class=format!("cw-greeting cw-greeting--{}", corner.name())>
                    <button
                        type="button"
                        class="cw-greeting__text"
                        on:click=move |_| {
                            // The chat opens with the greeting as its welcome.
                            controller.welcome().set(Some(welcome.clone()));
                            focus_back.set_value(true);
                            open.set(true);
                        }
                    >
                        {text}
                    </button>
                    <button
                        type="button"
                        class="cw-icon-button cw-greeting__dismiss"
                        aria-label=dismiss.clone()
                        title=dismiss
                        on:click=move |_| {
                            greeting_shown.set(false);
                            // The focus goes back where the greeting came from.
                            if let Some(button) = button.get_untracked() {
                                let _ = button.focus();
                            }
                        }
                    >
                        {icons::cross()}
                    </button>
                </div>
            }
        })
    };
    let open_label = controller.text(|s| s.open_chat());
    let close_label = controller.text(|s| s.close_chat());
    let title = controller
        .config()
        .with_value(|config| config.title.clone());
    view! {
        <button
            type="button"
            class=format!("cw-launcher cw-launcher--{}", corner.name())
            aria-expanded=move || open.get().to_string()
            aria-controls="cw-panel"
            aria-label=move || {
                match (open.get(), unread.get()) {
                    (true, _) => close_label.clone(),
                    (false, 0) => open_label.clone(),
                    (false, _) => format!("{open_label} ({})", badge_label()),
                }
            }
            node_ref=button
            on:click=move |_| {
                focus_back.set_value(true);
                open.update(|open| *open = !*open);
            }
        >
            <svg class="cw-launcher__icon" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
                <path d="M4 4h16a1 1 0 0 1 1 1v11a1 1 0 0 1-1 1H9l-4.5 3.6A.3.3 0 0 1 4 20.4V5a1 1 0 0 1 1-1z" />
            </svg>
        </button>
        {badge}
        {bubble}
        // The greeting, said politely when it appears (a live region present from the start).
        <span class="cw-visually-hidden" role="status">
            {move || {
                greeting_shown
                    .get()
                    .then(|| greeting_text.clone())
                    .flatten()
            }}
        </span>
        // Said once when the count changes, politely, not over what the person is doing.
        <span class="cw-visually-hidden" role="status">
            {move || (unread.get() > 0).then(badge_label)}
        </span>
        <div
            id="cw-panel"
            class=format!("cw-panel cw-panel--{}", corner.name())
            role="dialog"
            aria-label=title
            hidden=move || !open.get()
            node_ref=panel
            on:keydown=on_keydown
        >
            <ChatView controller=controller on_close=Callback::new(move |()| close_from_inside()) />
        </div>
    }
}
