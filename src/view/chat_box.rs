use std::rc::Rc;

use leptos::prelude::*;

use super::{Composer, ErrorAlert, MessageList};
use crate::config::ChatConfig;
use crate::controller::ChatController;
use crate::tools::Toolbox;
use crate::transport::{FetchTransport, SharedTransport};

/// A complete chat box: a header, the message log, the error alert and the composer.
#[component]
pub fn ChatBox(
    /// What to talk to and how; see [`ChatConfig`].
    config: ChatConfig,
    /// Where requests go. By default, `fetch` to `config.endpoint`.
    #[prop(optional)]
    transport: Option<SharedTransport>,
    /// Tools the model may call, with their handlers. By default, none.
    #[prop(optional)]
    toolbox: Toolbox,
) -> impl IntoView {
    let transport = transport.unwrap_or_else(|| {
        Rc::new(FetchTransport::new(
            config.endpoint.clone(),
            config.api_key.clone(),
        ))
    });
    let title = config.title.clone();
    let label = title.clone();
    let placeholder = config.placeholder.clone();
    let controller = ChatController::new(config, transport, toolbox);
    view! {
        <section class="cw-chat" aria-label=label>
            <header class="cw-chat__header">
                <h2 class="cw-chat__title">{title}</h2>
            </header>
            <MessageList controller=controller />
            <ErrorAlert controller=controller />
            <Composer controller=controller placeholder=placeholder />
        </section>
    }
}
