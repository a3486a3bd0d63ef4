use leptos::html;
use leptos::prelude::*;

use crate::controller::{ChatController, Consent, ConsentRequest};
use chat_widget_core::strings::fill;

/// The tool calls waiting for the person's consent, each with the tool's name, its arguments, and
/// Allow, Allow for this conversation and Deny. A call runs only once allowed; Stop ends the wait.
/// The first button takes the focus when a call appears (a screen reader reads the question with
/// it), so it can be answered from the keyboard.
#[component]
pub fn ToolConsent(
    /// The chat box's controller.
    controller: ChatController,
) -> impl IntoView {
    let requests = move || {
        controller
            .consents()
            .get()
            .into_iter()
            .map(|request| view! { <ConsentItem controller=controller request=request /> })
            .collect_view()
    };
    view! { <div class="cw-consents">{requests}</div> }
}

/// One call waiting for consent.
#[component]
fn ConsentItem(
    /// The chat box's controller.
    controller: ChatController,
    /// The call.
    request: ConsentRequest,
) -> impl IntoView {
    let allow = NodeRef::<html::Button>::new();
    Effect::new(move |_| {
        if let Some(button) = allow.get() {
            let _ = button.focus();
        }
    });
    let question = fill(&controller.text(|s| s.run_tool()), &[&request.name]);
    let label = question.clone();
    let id = request.id;
    let answer = move |consent| move |_| controller.answer_consent(id, consent);
    view! {
        <div class="cw-consent" role="group" aria-label=label data-tool=request.name.clone()>
            <p class="cw-consent__question">{question}</p>
            <pre class="cw-consent__arguments"><code>{request.arguments}</code></pre>
            <div class="cw-consent__actions">
                <button type="button" class="cw-button" node_ref=allow on:click=answer(Consent::Allow)>
                    {controller.text(|s| s.allow())}
                </button>
                <button type="button" class="cw-button cw-button--quiet" on:click=answer(Consent::AllowForConversation)>
                    {controller.text(|s| s.allow_always())}
                </button>
                <button type="button" class="cw-button cw-button--quiet" on:click=answer(Consent::Deny)>
                    {controller.text(|s| s.deny())}
                </button>
            </div>
        </div>
    }
}
