use leptos::html;
use leptos::prelude::*;

use super::{MarkdownView, MessageItem};
use crate::controller::ChatController;
use crate::markdown::dom::Policy;

/// How close to the bottom, in pixels, still counts as "at the bottom".
const PINNED_SLACK: i32 = 32;

/// The message log. It follows a streaming reply until the person scrolls up, and follows again
/// once they scroll back to the bottom.
#[component]
pub fn MessageList(
    /// The chat box's controller.
    controller: ChatController,
) -> impl IntoView {
    let policy = Policy {
        images_on_click: false,
        image_origins: controller
            .config()
            .with_value(|config| config.image_origins.clone()),
        labels: controller
            .config()
            .with_value(|config| (&config.strings).into()),
    };
    // The site's welcome (or the greeting that opened the chat): Markdown shown first in every
    // conversation, never sent to the model.
    let welcome = {
        let policy = policy.clone();
        move || {
            controller.welcome().get().map(|welcome| {
                let policy = policy.clone();
                view! {
                    <div class="cw-message cw-message--assistant cw-message--welcome" data-role="welcome">
                        <div class="cw-message__text cw-message__text--markdown" dir="auto">
                            <MarkdownView text=welcome complete=true policy=policy />
                        </div>
                    </div>
                }
            })
        }
    };
    let suggestions = controller
        .config()
        .with_value(|config| config.suggestions.clone());
    // Offered while the conversation is empty; a click sends one.
    let suggestions = move || {
        (!suggestions.is_empty() && controller.messages().with(Vec::is_empty)).then(|| {
            let buttons = suggestions
                .iter()
                .enumerate()
                .map(|(index, text)| {
                    view! {
                        <li>
                            <button type="button" class="cw-suggestion" on:click=move |_| controller.suggest(index)>
                                {text.clone()}
                            </button>
                        </li>
                    }
                })
                .collect_view();
            view! {
                <ul class="cw-suggestions" aria-label=controller.text(|s| s.suggestions())>
                    {buttons}
                </ul>
            }
        })
    };
    let log = NodeRef::<html::Div>::new();
    let pinned = StoredValue::new(true);
    let scroll_queued = StoredValue::new(false);
    // Scroll on the next frame, after this frame's DOM changes, and at most once per frame.
    Effect::new(move |_| {
        controller.messages().with(|views| {
            if let Some(last) = views.last() {
                last.text.track();
                last.status.track();
            }
        });
        if !pinned.get_value() || scroll_queued.get_value() {
            return;
        }
        scroll_queued.set_value(true);
        request_animation_frame(move || {
            scroll_queued.try_set_value(false);
            if let Some(log) = log.try_get_untracked().flatten() {
                log.set_scroll_top(log.scroll_height());
            }
        });
    });
    let on_scroll = move |_| {
        if let Some(log) = log.get_untracked() {
            pinned.set_value(
                log.scroll_height() - log.scroll_top() - log.client_height() <= PINNED_SLACK,
            );
        }
    };
    view! {
        <div
            class="cw-log"
            role="log"
            // Every token would be read out: a separate live region says each finished reply once.
            aria-live="off"
            aria-label=controller.text(|s| s.messages())
            aria-busy=move || controller.is_busy().to_string()
            node_ref=log
            on:scroll=on_scroll
        >
            {welcome}
            {suggestions}
            <For
                each=move || controller.messages().get()
                key=|message| message.id
                children=move |message| {
                    // Where the history budget cuts: the messages above are not sent.
                    let cut = move || {
                        (controller.context_start().get() == Some(message.id)).then(|| {
                            view! {
                                <p class="cw-log__cut" role="note">
                                    {controller.text(|s| s.history_budget())}
                                </p>
                            }
                        })
                    };
                    view! {
                        {cut}
                        <MessageItem message=message policy=policy.clone() controller=controller />
                    }
                }
            />
            // The log's one scroll anchor (see `.cw-log__end` in the style sheet); not a `div`, so the
            // last message stays `div:last-of-type`.
            <span class="cw-log__end" aria-hidden="true"></span>
        </div>
    }
}
