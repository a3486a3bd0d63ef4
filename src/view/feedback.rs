use leptos::prelude::*;

use super::icons;
use crate::controller::{ChatController, MessageView};
use chat_widget_core::{Feedback, Rating};

/// 👍 and 👎 on a finished reply: toggle buttons (`aria-pressed`), and after 👎 a short comment
/// the person may add. The rating is kept with the conversation and told to the page.
#[component]
pub fn ReplyFeedback(
    /// The reply.
    message: MessageView,
    /// The chat box's controller.
    controller: ChatController,
) -> impl IntoView {
    let commenting = RwSignal::new(false);
    let comment = RwSignal::new(String::new());
    let thanked = RwSignal::new(false);
    let rating = move || {
        message
            .feedback
            .with(|feedback| feedback.as_ref().map(|feedback| feedback.rating))
    };
    let rate = move |wanted: Rating| {
        let now = message
            .feedback
            .with_untracked(|feedback| feedback.as_ref().map(|feedback| feedback.rating));
        if now == Some(wanted) {
            controller.rate(message.id, None);
            commenting.set(false);
            thanked.set(false);
            return;
        }
        controller.rate(
            message.id,
            Some(Feedback {
                rating: wanted,
                comment: String::new(),
            }),
        );
        commenting.set(wanted == Rating::Down);
        thanked.set(wanted == Rating::Up);
    };
    let button = move |wanted: Rating, icon: AnyView, label: String| {
        view! {
            <button
                type="button"
                class="cw-icon-button cw-feedback__button"
                aria-pressed=move || (rating() == Some(wanted)).to_string()
                aria-label=label.clone()
                title=label
                on:click=move |_| rate(wanted)
            >
                {icon}
            </button>
        }
    };
    let send_comment = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        controller.rate(
            message.id,
            Some(Feedback {
                rating: Rating::Down,
                comment: comment.get_untracked().trim().to_owned(),
            }),
        );
        commenting.set(false);
        thanked.set(true);
    };
    let form = move || {
        commenting.get().then(|| {
            let label = controller.text(|s| s.feedback_comment());
            view! {
                <form class="cw-feedback__form" on:submit=send_comment>
                    <textarea
                        class="cw-field__input"
                        rows="2"
                        maxlength="1000"
                        aria-label=label.clone()
                        placeholder=label
                        prop:value=move || comment.get()
                        on:input=move |event| comment.set(event_target_value(&event))
                        on:keydown=move |event| {
                            if event.key() == "Escape" {
                                // The rating stays; only the comment is not sent.
                                event.stop_propagation();
                                commenting.set(false);
                            }
                        }
                    ></textarea>
                    <button type="submit" class="cw-button">{controller.text(|s| s.send_feedback())}</button>
                </form>
            }
        })
    };
    let thanks = move || {
        thanked.get().then(|| {
            view! { <span class="cw-feedback__thanks">{controller.text(|s| s.feedback_thanks())}</span> }
        })
    };
    view! {
        <div class="cw-feedback">
            {button(Rating::Up, icons::thumb_up().into_any(), controller.text(|s| s.good_reply()))}
            {button(Rating::Down, icons::thumb_down().into_any(), controller.text(|s| s.bad_reply()))}
            // Said politely once, where screen readers hear it.
            <span role="status">{thanks}</span>
        </div>
        {form}
    }
}
