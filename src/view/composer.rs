use leptos::ev::{KeyboardEvent, SubmitEvent};
use leptos::html;
use leptos::prelude::*;

use crate::controller::ChatController;

/// The keyCode browsers report for a key press that an input method is handling.
const IME_KEY_CODE: u32 = 229;

/// The text box with Send, and Stop while a reply arrives. Enter sends; Shift+Enter adds a line;
/// Enter that confirms an input-method composition does not send.
#[component]
pub fn Composer(
    /// The chat box's controller.
    controller: ChatController,
    /// The text shown in the empty box.
    #[prop(into)]
    placeholder: String,
) -> impl IntoView {
    let draft = controller.draft();
    let input = NodeRef::<html::Textarea>::new();
    let on_keydown = move |event: KeyboardEvent| {
        let composing = event.is_composing() || event.key_code() == IME_KEY_CODE;
        if event.key() == "Enter" && !event.shift_key() && !composing {
            event.prevent_default();
            controller.send();
        }
    };
    let on_submit = move |event: SubmitEvent| {
        event.prevent_default();
        controller.send();
    };
    let on_stop = move |_| {
        controller.stop();
        // The Stop button goes away; keep the focus in the composer.
        if let Some(input) = input.get_untracked() {
            let _ = input.focus();
        }
    };
    let blank = move || draft.with(|text| text.trim().is_empty());
    let notice = move || {
        controller
            .notice()
            .get()
            .map(|notice| view! { <p class="cw-composer__notice" role="alert">{notice}</p> })
    };
    view! {
        {notice}
        <form class="cw-composer" on:submit=on_submit>
            <textarea
                class="cw-composer__input"
                dir="auto"
                aria-label=controller.text(|s| &s.message_box)
                rows="2"
                placeholder=placeholder
                node_ref=input
                prop:value=move || draft.get()
                on:input=move |event| draft.set(event_target_value(&event))
                on:keydown=on_keydown
            ></textarea>
            <Show
                when=move || controller.is_busy()
                fallback=move || {
                    view! {
                        <button type="submit" class="cw-button cw-button--send" disabled=blank>
                            {controller.text(|s| &s.send)}
                        </button>
                    }
                }
            >
                <button type="button" class="cw-button cw-button--stop" on:click=on_stop>
                    {controller.text(|s| &s.stop)}
                </button>
            </Show>
        </form>
    }
}
