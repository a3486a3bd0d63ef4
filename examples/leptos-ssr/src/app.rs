//! The app, the same on both sides: the server renders it to HTML, the browser hydrates it.

use chat_widget::config::RELAY_ENDPOINT;
use chat_widget::{ChatConfig, Toolbox};
use leptos::html;
use leptos::prelude::*;

/// The whole document, rendered on the server only: the app, its style, the scripts that
/// hydrate it, and where the chat widget's relay is (`endpoint`).
pub fn shell(options: LeptosOptions, endpoint: String) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="chat-endpoint" content=endpoint />
                <link rel="icon" href="data:," />
                <title>"A Leptos app rendered on the server"</title>
                <style>{STYLE}</style>
                <HydrationScripts options />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

const STYLE: &str = "
body { margin: 0; font-family: system-ui, sans-serif; background: #f6f7fb; color: #1b1d22; }
.page { max-width: 760px; margin: 0 auto; padding: 16px 24px; }
.page__chat { height: 520px; margin-top: 16px; }
";

/// The page: a button that counts its clicks once the page has hydrated, and the place where
/// the chat widget is mounted then.
#[component]
pub fn App() -> impl IntoView {
    let clicks = RwSignal::new(0);
    let place = NodeRef::<html::Div>::new();
    let problem = RwSignal::new(None::<String>);
    // Runs in the browser only, once the place is hydrated. The widget is mounted under this
    // effect's owner: it goes when the page does (a route changing, say).
    Effect::new(move |_| {
        let Some(element) = place.get() else { return };
        if let Err(error) = chat_widget::mount_with(element.into(), config(), None, Toolbox::new())
        {
            problem.set(Some(error.to_string()));
        }
    });
    view! {
        <main class="page">
            <h1>"Rendered on the server"</h1>
            <p>"This page came as HTML. Once it has hydrated, the button counts and the chat box is below."</p>
            <button on:click=move |_| clicks.update(|clicks| *clicks += 1)>
                "Clicks: " {clicks}
            </button>
            <div id="chat" class="page__chat" node_ref=place></div>
            {move || problem.get().map(|problem| view! { <p role="alert">{problem}</p> })}
        </main>
    }
}

/// The chat box's config, with the relay the server named in the page.
fn config() -> ChatConfig {
    let endpoint = document()
        .query_selector("meta[name=chat-endpoint]")
        .ok()
        .flatten()
        .and_then(|meta| meta.get_attribute("content"))
        .unwrap_or_else(|| RELAY_ENDPOINT.to_owned());
    ChatConfig {
        id: "leptos-ssr".into(),
        endpoint,
        title: "Ask the app".into(),
        welcome: Some("Hello! This chat box was mounted after the page hydrated.".into()),
        ..ChatConfig::default()
    }
}
