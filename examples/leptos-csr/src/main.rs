//! A Leptos app rendered in the browser, with the chat box as one of its components: a tool
//! written in Rust that the model may call, a dark mode the page and the chat box share, and a
//! log of what the chat box tells the page.
//!
//! `trunk build --release` here, then from the workspace's root
//! `cargo run -p chat-relay -- --static-dir examples/leptos-csr/dist`; or `trunk serve` here, with
//! a relay on :8080 that allows its origin (`--allowed-origin http://127.0.0.1:8082`).

use chat_widget::config::ColorScheme;
use chat_widget::controller::{ChatEvent, TurnEvent};
use chat_widget::{ChatBox, ChatConfig, ToolResult, Toolbox};
use leptos::prelude::*;
use serde_json::{json, Value};

fn main() {
    leptos::mount::mount_to_body(App);
}

/// How many letters a text has: an example of a tool the model calls and the page runs.
fn count_letters(arguments: Value) -> ToolResult {
    let text = arguments
        .get("text")
        .and_then(Value::as_str)
        .ok_or("`text` must be a string")?;
    let letters = text.chars().filter(|c| c.is_alphabetic()).count();
    Ok(json!({ "letters": letters }))
}

fn toolbox() -> Toolbox {
    let mut tools = Toolbox::new();
    tools
        .register(
            "count_letters",
            "Counts the letters of a text.",
            json!({
                "type": "object",
                "properties": { "text": { "type": "string", "description": "The text." } },
                "required": ["text"],
            }),
            |arguments| async move { count_letters(arguments) },
        )
        // It only reads what it is given: the person is not asked before it runs.
        .set_confirm("count_letters", false);
    tools
}

/// One line of the page's log for an event the chat box tells, or none.
fn describe(event: &ChatEvent) -> Option<String> {
    match event {
        ChatEvent::Turn(TurnEvent::Sent { .. }) => Some("A message went out.".into()),
        ChatEvent::Turn(TurnEvent::Replied { ms, .. }) => {
            Some(format!("A reply came, in {ms} ms."))
        }
        ChatEvent::Turn(TurnEvent::ToolCall { name, ok, .. }) => Some(format!(
            "The tool {name} {}.",
            if *ok { "ran" } else { "did not run" }
        )),
        ChatEvent::Turn(TurnEvent::Failed { error, .. }) => {
            Some(format!("A request failed: {error}."))
        }
        _ => None,
    }
}

#[component]
fn App() -> impl IntoView {
    let dark = RwSignal::new(false);
    let scheme = Signal::derive(move || {
        if dark.get() {
            ColorScheme::Dark
        } else {
            ColorScheme::Light
        }
    });
    let log = RwSignal::new(Vec::<String>::new());
    let on_event = Callback::new(move |event: ChatEvent| {
        if let Some(line) = describe(&event) {
            log.update(|log| log.push(line));
        }
    });
    let config = ChatConfig {
        id: "leptos-csr".into(),
        title: "Ask the app".into(),
        welcome: Some(
            "Hello! I can count the letters of a text with a tool of this page's.".into(),
        ),
        suggestions: vec!["Count the letters of “strawberry”".into()],
        ..ChatConfig::default()
    };
    view! {
        <div class="app" class:app--dark=dark>
            <header class="app__header">
                <h1>"A Leptos app"</h1>
                <button
                    class="app__toggle"
                    aria-pressed=move || dark.get().to_string()
                    on:click=move |_| dark.update(|dark| *dark = !*dark)
                >
                    "Dark mode"
                </button>
            </header>
            <main class="app__main">
                <section class="app__chat">
                    <ChatBox config=config toolbox=toolbox() color_scheme=scheme on_event=on_event />
                </section>
                <section class="app__log" aria-label="What the chat box told the page">
                    <h2>"Events"</h2>
                    <Show when=move || log.with(Vec::is_empty)>
                        <p>"None yet."</p>
                    </Show>
                    <ol>
                        <For each=move || log.get().into_iter().enumerate() key=|(at, _)| *at let((_, line))>
                            <li>{line}</li>
                        </For>
                    </ol>
                </section>
            </main>
        </div>
    }
}
