use leptos::prelude::*;

use crate::controller::ChatController;
use crate::conversation::Status;

/// The failed turn's error, with the provider's own words, and the ways out: Retry sends the same
/// message again; when the provider refused a parameter, "Send without it" leaves it out; Dismiss
/// hides the alert.
#[component]
pub fn ErrorAlert(
    /// The chat box's controller.
    controller: ChatController,
) -> impl IntoView {
    move || {
        controller
            .status()
            .with(|status| match status {
                // "Send without" only for a parameter the settings set: otherwise it would not help.
                Status::Error(error) => Some((
                    error.to_string(),
                    error.rejected_parameter().filter(|parameter| {
                        controller.settings().with_untracked(|settings| settings.is_set(parameter))
                    }),
                )),
                _ => None,
            })
            .map(|(message, parameter)| {
                let without = parameter.map(|parameter| {
                    view! {
                        <p class="cw-alert__hint">
                            "The provider does not accept " <code>{parameter}</code> "."
                        </p>
                        <button
                            type="button"
                            class="cw-button"
                            data-parameter=parameter
                            on:click=move |_| controller.resend_without(parameter)
                        >
                            {format!("Send without {parameter}")}
                        </button>
                    }
                });
                view! {
                    <div class="cw-alert" role="alert">
                        <p class="cw-alert__message">{message}</p>
                        <div class="cw-alert__actions">
                            {without}
                            <button type="button" class="cw-button" on:click=move |_| controller.retry()>
                                "Retry"
                            </button>
                            <button
                                type="button"
                                class="cw-button cw-button--quiet"
                                on:click=move |_| controller.dismiss_error()
                            >
                                "Dismiss"
                            </button>
                        </div>
                    </div>
                }
            })
    }
}
