use leptos::ev::{ClipboardEvent, KeyboardEvent, SubmitEvent};
use leptos::html;
use leptos::prelude::*;

use super::icons;
use crate::attachments::ACCEPTED;
use crate::controller::ChatController;
use crate::voice::{Failure, Voice};
use chat_widget_core::strings::fill;

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
    // Dictation, where the browser can take it.
    let voice = controller.voice().filter(Voice::can_dictate);
    let listening = move || voice.is_some_and(|voice| voice.listening().get());
    // Sending, or typing, ends dictation: what the box shows is what the person sends or edits.
    let end_dictation = move || {
        if let Some(voice) = voice {
            voice.abandon();
        }
    };
    on_cleanup(end_dictation);
    let send = move || {
        // While a reply arrives nothing is sent, and dictation goes on.
        if !controller.is_busy() {
            end_dictation();
        }
        controller.send();
    };
    let on_keydown = move |event: KeyboardEvent| {
        let composing = event.is_composing() || event.key_code() == IME_KEY_CODE;
        if event.key() == "Enter" && !event.shift_key() && !composing {
            event.prevent_default();
            send();
        }
    };
    let on_submit = move |event: SubmitEvent| {
        event.prevent_default();
        send();
    };
    // Esc stops dictation (and only that: a launcher's panel stays open).
    let on_form_keydown = move |event: KeyboardEvent| {
        if event.key() == "Escape" && listening() {
            event.stop_propagation();
            event.prevent_default();
            if let Some(voice) = voice {
                voice.stop_listening();
            }
        }
    };
    let mic_button = voice.map(|voice| {
        let toggle = move |_| {
            if voice.listening().get_untracked() {
                voice.stop_listening();
                return;
            }
            voice.dictate(draft, move |failure| {
                controller.tell(controller.text(|s| match failure {
                    Failure::Blocked => s.mic_blocked(),
                    Failure::Unavailable => s.dictation_unavailable(),
                }));
            });
        };
        let dictate = controller.text(|s| s.dictate());
        let stop = controller.text(|s| s.stop_dictation());
        view! {
            <button
                type="button"
                class="cw-button cw-button--quiet cw-composer__attach cw-composer__mic"
                aria-label=dictate.clone()
                aria-pressed=move || listening().to_string()
                title=move || if listening() { stop.clone() } else { dictate.clone() }
                on:click=toggle
            >
                {icons::microphone()}
            </button>
        }
    });
    // Said while listening, in a region that stands, so a screen reader hears it.
    let listening_status = voice.map(|_| {
        let text = controller.text(|s| s.listening());
        view! {
            <p class="cw-composer__listening" role="status">
                {move || listening().then(|| text.clone())}
            </p>
        }
    });
    let on_stop = move |_| {
        controller.stop();
        // The Stop button goes away; keep the focus in the composer.
        if let Some(input) = input.get_untracked() {
            let _ = input.focus();
        }
    };
    let blank = move || {
        draft.with(|text| text.trim().is_empty()) && controller.attachments().with(Vec::is_empty)
    };
    let images = controller.config().with_value(|config| config.images);
    let picker = NodeRef::<html::Input>::new();
    // A pasted image is attached. Pasted text goes into the box as usual, also when the clipboard
    // holds a picture of it too: a spreadsheet's or a word processor's copy, which comes with
    // formatted text (a file manager's copy of an image file comes with its name only).
    let on_paste = move |event: ClipboardEvent| {
        let Some(data) = event.clipboard_data() else {
            return;
        };
        let types = data.types();
        let formatted = ["text/html", "text/rtf"]
            .into_iter()
            .any(|kind| types.includes(&kind.into(), 0));
        if !images || formatted {
            return;
        }
        let files = files_of(data.files());
        if !files.is_empty() {
            event.prevent_default();
            controller.attach(files);
        }
    };
    let attach_button = images.then(|| {
        view! {
            <input
                type="file"
                accept=ACCEPTED.join(",")
                multiple
                hidden
                node_ref=picker
                on:change=move |_| {
                    if let Some(input) = picker.get_untracked() {
                        controller.attach(files_of(input.files()));
                        // Choosing the same file again is a change too.
                        input.set_value("");
                    }
                }
            />
            <button
                type="button"
                class="cw-button cw-button--quiet cw-composer__attach"
                aria-label=controller.text(|s| s.attach_images())
                title=controller.text(|s| s.attach_images())
                on:click=move |_| {
                    if let Some(input) = picker.get_untracked() {
                        input.click();
                    }
                }
            >
                <svg viewBox="0 0 24 24" aria-hidden="true" focusable="false" class="cw-composer__attach-icon">
                    <path d="M16.5 6.5 8.4 14.6a1.8 1.8 0 0 0 2.5 2.5l8.1-8.1a3.6 3.6 0 0 0-5.1-5.1l-8.2 8.2a5.4 5.4 0 0 0 7.6 7.6l7.2-7.2" />
                </svg>
            </button>
        }
    });
    let thumbnails = move || {
        let attachments = controller.attachments().get();
        let preparing = controller.preparing().get();
        (!attachments.is_empty() || preparing > 0).then(|| {
            let remove = controller.text(|s| s.remove_image());
            let items = attachments
                .into_iter()
                .enumerate()
                .map(|(index, attachment)| {
                    let label = fill(&remove, &[&attachment.name]);
                    view! {
                        <li class="cw-attachments__item">
                            <img class="cw-attachments__image" src=attachment.image.preview alt=attachment.name />
                            <button
                                type="button"
                                class="cw-attachments__remove"
                                aria-label=label
                                on:click=move |_| {
                                    controller.remove_attachment(index);
                                    // The button is gone: the focus goes to the message box.
                                    if let Some(input) = input.get_untracked() {
                                        let _ = input.focus();
                                    }
                                }
                            >
                                "×"
                            </button>
                        </li>
                    }
                })
                .collect_view();
            let pending = (0..preparing)
                .map(|_| view! { <li class="cw-attachments__item cw-attachments__item--pending" aria-hidden="true"></li> })
                .collect_view();
            view! {
                <ul class="cw-attachments" aria-label=controller.text(|s| s.attached_images())>
                    {items}
                    {pending}
                </ul>
            }
        })
    };
    let notice = move || {
        controller
            .notice()
            .get()
            .map(|notice| view! { <p class="cw-composer__notice" role="alert">{notice}</p> })
    };
    view! {
        {notice}
        {thumbnails}
        {listening_status}
        <form class="cw-composer" on:submit=on_submit on:keydown=on_form_keydown>
            <textarea
                class="cw-composer__input"
                dir="auto"
                aria-label=controller.text(|s| s.message_box())
                rows="2"
                placeholder=placeholder
                node_ref=input
                prop:value=move || draft.get()
                on:input=move |event| {
                    end_dictation();
                    draft.set(event_target_value(&event));
                }
                on:keydown=on_keydown
                on:paste=on_paste
            ></textarea>
            {attach_button}
            {mic_button}
            <Show
                when=move || controller.is_busy()
                fallback=move || {
                    view! {
                        <button type="submit" class="cw-button cw-button--send" disabled=blank>
                            {controller.text(|s| s.send())}
                        </button>
                    }
                }
            >
                <button type="button" class="cw-button cw-button--stop" on:click=on_stop>
                    {controller.text(|s| s.stop())}
                </button>
            </Show>
        </form>
    }
}

/// The files of a file list, in order.
pub fn files_of(list: Option<web_sys::FileList>) -> Vec<web_sys::File> {
    let Some(list) = list else {
        return Vec::new();
    };
    (0..list.length())
        .filter_map(|index| list.item(index))
        .collect()
}
