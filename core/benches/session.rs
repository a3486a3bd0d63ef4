//! What the session's work for one streamed token costs as the conversation grows: the same
//! tokens handled after 1, 100 and 300 earlier turns. `cargo bench -p chat-widget-core --bench session`;
//! the numbers are printed, there is no pass or fail.

use std::hint::black_box;
use std::time::Instant;

use chat_protocol::StreamEvent;
use chat_widget_core::conversation::SavedMessage;
use chat_widget_core::library::{Library, Thread};
use chat_widget_core::{Effect, Input, Session, SessionConfig, Settings};

const TOKENS: usize = 200_000;

fn kept(turns: usize) -> Library {
    let message = |role: &str, text: String| SavedMessage {
        role: role.into(),
        text,
        status: "done".into(),
        ..SavedMessage::default()
    };
    let messages = (0..turns)
        .flat_map(|turn| {
            [
                message("user", format!("Question {turn}")),
                message("assistant", format!("## Answer {turn}\n\n- one\n- two\n")),
            ]
        })
        .collect();
    Library {
        active: 0,
        threads: vec![Thread {
            title: "Long".into(),
            messages,
        }],
    }
}

fn main() {
    println!("The session's work per streamed token (handle and take_changes), {TOKENS} tokens");
    println!();
    println!("| earlier turns | per token | vs 1 turn |");
    println!("|---:|---:|---:|");
    let mut first = None;
    for turns in [1, 100, 300] {
        let config = SessionConfig::default();
        let settings = Settings::from_parameters(&config.parameters);
        let mut session = Session::new(config, kept(turns), settings);
        let effects = session.handle(
            Input::Send {
                text: "Go on".into(),
                images: Vec::new(),
            },
            0,
            0.5,
        );
        let ticket = effects
            .iter()
            .find_map(|effect| match effect {
                Effect::Send { ticket, .. } => Some(*ticket),
                _ => None,
            })
            .expect("a request");
        session.take_changes();
        let started = Instant::now();
        for _ in 0..TOKENS {
            let effects = session.handle(
                Input::Stream {
                    ticket,
                    item: Ok(StreamEvent::Content("word ".into())),
                },
                0,
                0.5,
            );
            black_box(effects);
            black_box(session.take_changes());
        }
        let per_token = started.elapsed().as_secs_f64() / TOKENS as f64;
        let base = *first.get_or_insert(per_token);
        println!(
            "| {turns} | {:.0} ns | {:.2} |",
            per_token * 1e9,
            per_token / base
        );
    }
}
