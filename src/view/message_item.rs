use leptos::html;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::{icons, MarkdownView, ReplyFeedback};
use crate::controller::{ChatController, MessageView};
use crate::markdown::cite;
use crate::markdown::dom::Policy;
use crate::markdown::node::LINK_REL;
use crate::voice::Voice;
use chat_widget_core::conversation::{MessageStatus, Role};
use chat_widget_core::strings::{fill, Strings};

/// One message. The assistant's replies are Markdown; everything else is plain text with its line
/// breaks. Either way, a streaming message costs time linear in its length.
#[component]
pub fn MessageItem(
    /// The message to show.
    message: MessageView,
    /// What a Markdown reply may load.
    policy: Policy,
    /// The chat box's controller, for the message's actions.
    controller: ChatController,
) -> impl IntoView {
    let role = message.role.as_str();
    // A reply from storage loads its images only when the person asks: loading them again on
    // every visit would tell their server each time.
    let policy = Policy {
        images_on_click: message.restored,
        ..policy
    };
    let body = if message.role == Role::Assistant {
        let complete = Signal::derive(move || !message.status.get().is_open());
        // Built once each: the reasoning when it begins, the sources once the reply is over.
        let reasoned = Memo::new(move |_| message.reasoning.with(|text| !text.is_empty()));
        let cites = Memo::new(move |_| {
            !message.status.get().is_open() && message.sources.with(|sources| !sources.is_empty())
        });
        let sources = (message.sources, controller.text(|s| s.source()));
        view! {
            {move || reasoned.get().then(|| {
                view! { <Thinking message=message controller=controller /> }
            })}
            <div class="cw-message__text cw-message__text--markdown" dir="auto">
                <MarkdownView text=message.text complete=complete policy=policy sources=sources />
            </div>
            {move || cites.get().then(|| {
                view! { <Sources message=message controller=controller /> }
            })}
        }
        .into_any()
    } else {
        view! { <PlainText text=message.text class="cw-message__text cw-message__text--plain" /> }
            .into_any()
    };
    let images = message.images.get_value();
    let gallery = (!images.is_empty()).then(|| {
        let count = images.len();
        let previews_only = images.iter().all(|image| image.url.is_empty());
        let alt = controller.text(|s| s.image_alt());
        let items = images
            .into_iter()
            .enumerate()
            .map(|(index, image)| {
                let src = if image.url.is_empty() { image.preview } else { image.url };
                view! {
                    <img class="cw-message__image" src=src alt=fill(&alt, &[&(index + 1), &count]) />
                }
            })
            .collect_view();
        view! {
            <div class="cw-message__images">{items}</div>
            {previews_only.then(|| view! {
                <span class="cw-message__note">{controller.text(|s| s.image_previews())}</span>
            })}
        }
    });
    let tool_name = message.tool_name.get_value();
    let tool_label = tool_name.clone().map(|name| {
        view! {
            <span class="cw-message__tool">
                {controller.text(|s| s.tool())} " " <code>{name}</code>
            </span>
        }
    });
    let calls = move || {
        message.tool_calls.with(|calls| {
            (!calls.is_empty()).then(|| {
                let items = calls
                    .iter()
                    .map(|call| {
                        let summary =
                            format!("{}({})", call.function.name, call.function.arguments);
                        view! {
                            <li data-tool=call.function.name.clone()>
                                <code>{summary}</code>
                            </li>
                        }
                    })
                    .collect_view();
                view! {
                    <ul class="cw-message__calls" aria-label=controller.text(|s| s.tool_calls())>
                        {items}
                    </ul>
                }
            })
        })
    };
    let show_usage = controller.config().with_value(|config| config.show_usage);
    let usage = move || {
        message.usage.get().filter(|_| show_usage).map(|usage| {
            let text = fill(
                &controller.text(|s| s.usage()),
                &[&usage.prompt_tokens, &usage.completion_tokens],
            );
            view! { <span class="cw-message__usage">{text}</span> }
        })
    };
    view! {
        <div
            class=format!("cw-message cw-message--{role}")
            data-id=message.uid.get_value()
            data-role=role
            data-status=move || message.status.get().as_str()
            data-tool=tool_name
        >
            <span class="cw-visually-hidden">{controller.text(|s| speaker(s, message.role))}</span>
            {tool_label}
            {gallery}
            {body}
            {calls}
            {move || note(message.role, message.status.get()).map(|(kind, pick)| {
                let text = controller.text(pick);
                view! { <span class=format!("cw-message__note cw-message__note--{kind}")>{text}</span> }
            })}
            {usage}
            <MessageActions message=message controller=controller />
        </div>
    }
}

/// Copy, and Edit (the person's messages) or Regenerate (the last answer), once a message is no
/// longer arriving.
#[component]
fn MessageActions(
    /// The message.
    message: MessageView,
    /// The chat box's controller.
    controller: ChatController,
) -> impl IntoView {
    let editing = RwSignal::new(None::<String>);
    // Reading aloud, for replies, where the browser can.
    let voice = controller
        .voice()
        .filter(|voice| message.role == Role::Assistant && voice.can_read_aloud());
    if let Some(voice) = voice {
        on_cleanup(move || {
            if voice.reading().try_get_untracked() == Some(Some(message.id)) {
                voice.stop_reading();
            }
        });
    }
    let copy = move |event: leptos::ev::MouseEvent| {
        let Some(button) = event
            .current_target()
            .and_then(|target| target.dyn_into::<web_sys::Element>().ok())
        else {
            return;
        };
        let text = message.text.get_untracked();
        let body = button
            .closest(".cw-message")
            .ok()
            .flatten()
            .and_then(|message| message.query_selector(".cw-message__text").ok().flatten());
        let labels = controller
            .config()
            .with_value(|config| (&config.strings).into());
        super::clipboard::copy(button, text, labels, move || {
            body.is_some_and(|body| super::clipboard::select_and_copy(&body))
        });
    };
    let editor = move || {
        editing.get().map(|draft| {
            view! {
                <div class="cw-message__editor">
                    <textarea
                        class="cw-field__input"
                        aria-label=controller.text(|s| s.edit_message())
                        rows="3"
                        prop:value=draft
                        on:input=move |event| editing.set(Some(event_target_value(&event)))
                    ></textarea>
                    <div class="cw-message__actions">
                        <button
                            type="button"
                            class="cw-button"
                            disabled=move || controller.is_busy()
                            on:click=move |_| {
                                // The editor closes only once the edit is sent: nothing typed is lost.
                                if let Some(text) = editing.get_untracked() {
                                    if controller.edit(message.id, &text) {
                                        editing.set(None);
                                    }
                                }
                            }
                        >
                            {controller.text(|s| s.send_edited())}
                        </button>
                        <button type="button" class="cw-button cw-button--quiet" on:click=move |_| editing.set(None)>
                            {controller.text(|s| s.cancel())}
                        </button>
                    </div>
                </div>
            }
        })
    };
    let actions = move || {
        let settled = !message.status.get().is_open() && message.role != Role::Tool;
        (settled && editing.with(Option::is_none)).then(|| {
            let edit = (message.role == Role::User && !controller.is_busy()).then(|| {
                let label = controller.text(|s| s.edit());
                view! {
                    <button
                        type="button"
                        class="cw-icon-button"
                        aria-label=label.clone()
                        title=label
                        on:click=move |_| {
                            // Editing is the person's next move: a pending automatic retry waits no more.
                            controller.cancel_retry();
                            editing.set(Some(message.text.get_untracked()));
                        }
                    >
                        {icons::edit()}
                    </button>
                }
            });
            let again = |label: String| {
                view! {
                    <button
                        type="button"
                        class="cw-icon-button"
                        aria-label=label.clone()
                        title=label
                        on:click=move |_| controller.regenerate()
                    >
                        {icons::again()}
                    </button>
                }
            };
            let send_again = (message.role == Role::User && controller.can_send_again(message.id))
                .then(|| again(controller.text(|s| s.send_again())));
            let regenerate = (message.role == Role::Assistant
                && controller.can_regenerate(message.id))
            .then(|| again(controller.text(|s| s.regenerate())));
            let read = voice
                .filter(|_| message.text.with(|text| !text.trim().is_empty()))
                .map(|voice| view! { <ReadAloud message=message controller=controller voice=voice /> });
            let copy_label = controller.text(|s| s.copy());
            view! {
                <div class="cw-message__actions">
                    <button
                        type="button"
                        class="cw-icon-button"
                        aria-label=copy_label.clone()
                        title=copy_label
                        on:click=copy
                    >
                        {icons::copy()}
                    </button>
                    {read}
                    {edit}
                    {send_again}
                    {regenerate}
                </div>
            }
        })
    };
    // Outside `actions`, which is built again as turns come and go: a comment being typed stays.
    let offered =
        message.role == Role::Assistant && controller.config().with_value(|config| config.feedback);
    let feedback = move || {
        let rated = offered
            && message.status.get() == MessageStatus::Done
            && message.text.with(|text| !text.trim().is_empty());
        rated.then(|| view! { <ReplyFeedback message=message controller=controller /> })
    };
    view! {
        <div class="cw-message__footer">{actions} {feedback}</div>
        {editor}
    }
}

/// Read aloud, a toggle: pressed while the reply is being read; pressing it again stops.
#[component]
fn ReadAloud(
    /// The reply.
    message: MessageView,
    /// The chat box's controller.
    controller: ChatController,
    /// The chat box's voice.
    voice: Voice,
) -> impl IntoView {
    let reading = move || voice.reading().get() == Some(message.id);
    let label = controller.text(|s| s.read_aloud());
    let stop = controller.text(|s| s.stop_reading());
    view! {
        <button
            type="button"
            class="cw-icon-button"
            aria-label=label.clone()
            aria-pressed=move || reading().to_string()
            title=move || if reading() { stop.clone() } else { label.clone() }
            on:click=move |_| {
                if voice.reading().get_untracked() == Some(message.id) {
                    voice.stop_reading();
                } else {
                    let code = controller.text(|s| s.code());
                    message.text.with_untracked(|text| voice.read(message.id, text, &code));
                }
            }
        >
            {icons::speaker()}
        </button>
    }
}

/// A reply's reasoning: open while it streams, closed (with how long it took) once the answer
/// begins, unless the person opened or closed it. Never part of Copy or of what is announced.
#[component]
fn Thinking(
    /// The reply.
    message: MessageView,
    /// The chat box's controller.
    controller: ChatController,
) -> impl IntoView {
    let details = NodeRef::<html::Details>::new();
    let chosen = RwSignal::new(None::<bool>);
    let answering = move || {
        message.thought_ms.get().is_some()
            || !message.status.get().is_open()
            || message.text.with(|text| !text.is_empty())
    };
    let open = move || chosen.get().unwrap_or_else(|| !answering());
    let summary = move || match message.thought_ms.get() {
        Some(ms) => fill(
            &controller.text(|s| s.thought_for()),
            &[&ms.div_ceil(1000).max(1)],
        ),
        None if !answering() => controller.text(|s| s.thinking()),
        None => controller.text(|s| s.reasoning()),
    };
    view! {
        <details
            class="cw-thinking"
            node_ref=details
            prop:open=open
            on:toggle=move |_| {
                // The person's toggle, not the one that follows the reply.
                if let Some(details) = details.get_untracked() {
                    if details.open() != open() {
                        chosen.set(Some(details.open()));
                    }
                }
            }
        >
            <summary class="cw-thinking__summary">{summary}</summary>
            <PlainText text=message.reasoning class="cw-thinking__text" />
        </details>
    }
}

/// The sources a finished reply cites, numbered as its `[n]` markers: each a link (its title,
/// else its host) where it is a web address, else its address as text; a number whose source
/// was no address is skipped, and the others keep theirs.
#[component]
fn Sources(
    /// The reply.
    message: MessageView,
    /// The chat box's controller.
    controller: ChatController,
) -> impl IntoView {
    let label = controller.text(|s| s.sources());
    // The reply is over: its sources do not change any more.
    let items = message.sources.with_untracked(|sources| {
        sources
            .iter()
            .enumerate()
            // A placeholder (a numbered source that was no URL) keeps its number, shows nothing.
            .filter(|(_, source)| !source.url.is_empty())
            .map(|(index, source)| {
                let link = cite::label(source).map(|text| {
                    view! {
                        <a href=source.url.clone() target="_blank" rel=LINK_REL title=source.url.clone()>
                            {text}
                        </a>
                    }
                });
                let text = link.is_none().then(|| source.url.clone());
                view! { <li value=(index + 1).to_string()>{link}{text}</li> }
            })
            .collect_view()
    });
    view! {
        <div class="cw-sources">
            <p class="cw-sources__title" aria-hidden="true">{label.clone()}</p>
            <ol class="cw-sources__list" aria-label=label>{items}</ol>
        </div>
    }
}

/// Text with its line breaks, grown by appending to one text node.
#[component]
fn PlainText(
    /// The text; it only ever grows (see `Conversation`).
    text: RwSignal<String>,
    /// The paragraph's class.
    class: &'static str,
) -> impl IntoView {
    let body = NodeRef::<html::P>::new();
    Effect::new(move |shown: Option<usize>| {
        let shown = shown.unwrap_or(0);
        let Some(body) = body.get() else { return shown };
        text.with(|text| {
            let node = text_node(&body);
            match text.get(shown..) {
                Some("") => {}
                Some(rest) => {
                    let _ = node.append_data(rest);
                }
                None => node.set_data(text),
            }
            text.len()
        })
    });
    view! { <p class=class dir="auto" node_ref=body></p> }
}

/// The paragraph's one text node, created on first use.
fn text_node(body: &web_sys::HtmlParagraphElement) -> web_sys::Text {
    if let Some(node) = body
        .first_child()
        .and_then(|child| child.dyn_into::<web_sys::Text>().ok())
    {
        return node;
    }
    let node = web_sys::Text::new().expect("a text node can always be created");
    // Appending a fresh text node to an element cannot fail.
    let _ = body.append_child(&node);
    node
}

fn speaker(strings: &Strings, role: Role) -> &str {
    match role {
        Role::User => strings.you_said(),
        Role::Assistant => strings.assistant_said(),
        Role::System => strings.instructions(),
        Role::Tool => strings.tool_returned(),
    }
}

/// Picks a string from the table.
type Pick = fn(&Strings) -> &str;

fn note(role: Role, status: MessageStatus) -> Option<(&'static str, Pick)> {
    match status {
        MessageStatus::Pending if role == Role::Tool => Some(("pending", |s| s.running())),
        MessageStatus::Error if role == Role::Tool => Some(("error", |s| s.failed())),
        MessageStatus::Pending => Some(("pending", |s| s.thinking())),
        MessageStatus::Reconnecting => Some(("pending", |s| s.reconnecting())),
        MessageStatus::Stopped => Some(("stopped", |s| s.stopped())),
        MessageStatus::Error => Some(("error", |s| s.did_not_finish())),
        MessageStatus::Streaming | MessageStatus::Done => None,
    }
}
