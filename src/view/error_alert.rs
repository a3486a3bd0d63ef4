use leptos::prelude::*;

use crate::controller::ChatController;
use chat_widget_core::conversation::Status;
use chat_widget_core::strings::fill;

use super::describe::chat_error;

/// The failed turn's error, with the provider's own words, and the ways out: Retry sends the same
/// message again; when the provider refused a parameter, "Send without it" leaves it out; Dismiss
/// hides the alert. While an automatic retry waits, a countdown with "Retry now" and "Cancel".
#[component]
pub fn ErrorAlert(
    /// The chat box's controller.
    controller: ChatController,
) -> impl IntoView {
    let pending = controller.pending_retry();
    move || {
        controller
            .status()
            .with(|status| match status {
                // "Send without" only for a parameter the settings set: otherwise it would not help.
                Status::Error(error) => Some((
                    controller.config().with_value(|config| chat_error(error, &config.strings)),
                    matches!(error, chat_widget_core::ChatError::Interrupted),
                    error.rejected_parameter().filter(|parameter| {
                        controller.settings().with_untracked(|settings| settings.is_set(parameter))
                    }),
                )),
                _ => None,
            })
            .map(|(message, interrupted, parameter)| {
                let waiting = move || pending.get().is_some();
                // The countdown is not announced every second: only the error is.
                let countdown = move || {
                    pending.get().map(|retry| {
                        let text = if retry.offline {
                            controller.text(|s| s.offline())
                        } else {
                            fill(
                                &controller.text(|s| s.retrying_in()),
                                &[&retry.seconds_left, &retry.attempt, &retry.of],
                            )
                        };
                        view! { <p class="cw-alert__countdown" aria-live="off">{text}</p> }
                    })
                };
                let without = parameter.map(|parameter| {
                    // The parameter's name is code, wherever the table puts it.
                    let template = controller.text(|s| s.not_accepted());
                    let (before, after) = template.split_once("{}").unwrap_or((&template, ""));
                    let (before, after) = (before.to_owned(), after.to_owned());
                    view! {
                        <p class="cw-alert__hint">
                            {before} <code>{parameter}</code> {after}
                        </p>
                        <button
                            type="button"
                            class="cw-button"
                            data-parameter=parameter
                            on:click=move |_| controller.resend_without(parameter)
                        >
                            {fill(&controller.text(|s| s.send_without()), &[&parameter])}
                        </button>
                    }
                });
                let actions = move || {
                    if waiting() {
                        view! {
                            <button type="button" class="cw-button" on:click=move |_| controller.retry_now()>
                                {controller.text(|s| s.retry_now())}
                            </button>
                            <button
                                type="button"
                                class="cw-button cw-button--quiet"
                                on:click=move |_| controller.cancel_retry()
                            >
                                {controller.text(|s| s.cancel())}
                            </button>
                        }
                        .into_any()
                    } else {
                        let go_on = interrupted.then(|| {
                            view! {
                                <button
                                    type="button"
                                    class="cw-button"
                                    on:click=move |_| controller.continue_reply()
                                >
                                    {controller.text(|s| s.continue_reply())}
                                </button>
                            }
                        });
                        view! {
                            {go_on}
                            <button type="button" class="cw-button" on:click=move |_| controller.retry()>
                                {controller.text(|s| s.retry())}
                            </button>
                            <button
                                type="button"
                                class="cw-button cw-button--quiet"
                                on:click=move |_| controller.dismiss_error()
                            >
                                {controller.text(|s| s.dismiss())}
                            </button>
                        }
                        .into_any()
                    }
                };
                view! {
                    <div class="cw-alert" role="alert">
                        <p class="cw-alert__message">{message}</p>
                        {countdown}
                        <div class="cw-alert__actions">{without} {actions}</div>
                    </div>
                }
            })
    }
}
