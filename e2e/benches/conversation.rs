//! What a streamed token costs the page as the conversation grows: replies streamed after 1, 100
//! and 300 earlier turns (kept in `localStorage`, so they are on screen, rendered, when the reply
//! starts). The widget mirrors only the message a token changes, so the cost per token should not
//! grow with the number of messages.
//!
//! Each conversation gets a short and a long reply; the difference between the two, divided by
//! the difference in tokens, is what one more token costs, apart from what a turn costs once
//! whatever its length (keeping the conversation, building the request). Both are printed.
//!
//! Run with `scripts/bench-conversation` (it builds the widget first). Chromium's own accounting
//! (`Performance.getMetrics`: `TaskDuration`, the time the page's main thread spent running
//! tasks, and of that script, layout and style) gives the main-thread time from the send to the
//! last token on screen. The numbers are printed; there is no pass or fail.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::routing::post;
use axum::Router;
use chat_e2e::{main_thread_seconds, serve, Browser, Cdp, LOADED};
use chat_protocol::SseFrame;
use serde_json::{json, Value};

/// Earlier turns before the measured reply.
const TURNS: [usize; 3] = [1, 100, 300];
/// Tokens in the short and the long reply.
const SHORT: usize = 500;
const LONG: usize = 2_000;
/// Milliseconds between tokens: a fast model's pace, so that most frames show a few new tokens.
const PACE_MS: u64 = 4;
/// Each size is measured this many times; the median is printed.
const RUNS: usize = 3;

/// An upstream that answers "tokens N" with N words in paragraphs of twenty, one SSE event each,
/// [`PACE_MS`] apart.
fn upstream() -> Router {
    Router::new().route(
        "/chat/completions",
        post(|body: Bytes| async move {
            let request: chat_protocol::ChatRequest =
                serde_json::from_slice(&body).expect("a chat request");
            let last = serde_json::to_value(request.messages.last()).expect("JSON");
            let tokens: usize = last["content"]
                .as_str()
                .and_then(|text| text.strip_prefix("tokens "))
                .and_then(|count| count.parse().ok())
                .unwrap_or(10);
            let mut frames: Vec<String> = (0..tokens)
                .map(|index| {
                    // A paragraph of twenty words at a time, as prose comes.
                    let gap = if index % 20 == 19 { "\n\n" } else { " " };
                    let chunk = json!({"choices": [{"index": 0, "delta": {"content": format!("word{index}{gap}")}}]});
                    SseFrame::new(&chunk.to_string()).encode()
                })
                .collect();
            let stop = json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]});
            let mut end = SseFrame::new(&stop.to_string()).encode();
            SseFrame::done().encode_into(&mut end);
            frames.push(end);
            let paced = futures_util::StreamExt::then(
                futures_util::stream::iter(frames),
                |frame| async move {
                    tokio::time::sleep(Duration::from_millis(PACE_MS)).await;
                    Ok::<_, std::convert::Infallible>(Bytes::from(frame))
                },
            );
            (
                [("content-type", "text/event-stream")],
                Body::from_stream(paced),
            )
        }),
    )
}

/// A kept conversation of `turns` questions and Markdown answers, as the widget stores it.
fn library(turns: usize) -> String {
    let messages: Vec<Value> = (0..turns)
        .flat_map(|turn| {
            [
                json!({"role": "user", "text": format!("Question {turn}: how does this work?"), "status": "done"}),
                json!({"role": "assistant", "text": format!("## Answer {turn}\n\nIt works **well**, with `code` and a list:\n\n- one\n- two\n"), "status": "done"}),
            ]
        })
        .collect();
    json!({"version": 1, "library": {"active": 0, "threads": [{"title": "Long", "messages": messages}]}})
        .to_string()
}

/// Resolves once the last reply is done, with its length.
const WAIT_FOR_REPLY: &str = r#"
const done = arguments[arguments.length - 1];
const shadow = document.querySelector('#chat').shadowRoot;
const expected = arguments[0];
const finished = () => {
  const replies = shadow.querySelectorAll("[data-role='assistant']");
  const reply = replies[replies.length - 1];
  return replies.length === expected && reply.dataset.status === "done" ? reply : null;
};
const now = finished();
if (now) { done(now.textContent.length); } else {
  const observer = new MutationObserver(() => { const reply = finished(); if (reply) { observer.disconnect(); done(reply.textContent.length); } });
  observer.observe(shadow, { subtree: true, attributes: true, attributeFilter: ["data-status"] });
}
"#;

#[tokio::main]
async fn main() {
    let upstream = serve(upstream()).await;
    let browser = Browser::for_benchmark(&upstream.url).await;
    println!(
        "Cost of a streamed token as the conversation grows: Chromium (headless), release build,"
    );
    println!("words {PACE_MS} ms apart, in paragraphs of twenty, one SSE event each; median of {RUNS} runs of each");
    println!();
    println!("| earlier turns | messages on screen | {SHORT} tokens | {LONG} tokens | per more token | of that: script / layout / style | vs 1 turn |");
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    let mut first = None;
    for turns in TURNS {
        let short = median(&browser, turns, SHORT).await;
        let long = median(&browser, turns, LONG).await;
        let more = (LONG - SHORT) as f64;
        let [task, script, layout, style] = [0, 1, 2, 3].map(|i| (long[i] - short[i]) / more);
        let base = *first.get_or_insert(task);
        println!(
            "| {turns} | {} | {:.3} s | {:.3} s | {:.1} µs | {:.1} / {:.1} / {:.1} µs | {:.2} |",
            turns * 2 + 2,
            short[0],
            long[0],
            task * 1e6,
            script * 1e6,
            layout * 1e6,
            style * 1e6,
            task / base
        );
    }
    println!();
    browser.save_screenshot("conversation-benchmark").await;
    browser.close().await;
}

/// The median of [`RUNS`] runs of [`run`] (by the main-thread time in all).
async fn median(browser: &Browser, turns: usize, tokens: usize) -> [f64; 4] {
    let mut costs = Vec::new();
    for _ in 0..RUNS {
        costs.push(run(browser, turns, tokens).await);
    }
    costs.sort_by(|a: &[f64; 4], b| a[0].total_cmp(&b[0]));
    costs[RUNS / 2]
}

/// Waits until the page has rendered what it shows and has been idle for a moment.
const SETTLE: &str = r#"
const done = arguments[arguments.length - 1];
requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(done, 300)));
"#;

/// Streams a reply of `tokens` after `turns` kept turns; returns its main-thread time in all, and
/// of that in script, layout and style recalculation, in seconds.
async fn run(browser: &Browser, turns: usize, tokens: usize) -> [f64; 4] {
    browser
        .client
        .execute(
            "localStorage.clear(); localStorage.setItem('chat-widget.conversations.chat', arguments[0]);",
            vec![json!(library(turns))],
        )
        .await
        .expect("the conversation is kept");
    browser
        .client
        .goto(&browser.relay.url)
        .await
        .expect("the page loads");
    browser.find(LOADED).await;
    let shown = browser
        .in_widget("return shadow.querySelectorAll(\"[data-role='assistant']\").length")
        .await;
    assert_eq!(shown, json!(turns), "the kept turns are on screen");
    browser
        .client
        .execute_async(SETTLE, vec![])
        .await
        .expect("the page settles");
    browser
        .client
        .issue_cmd(Cdp::new("Performance.enable", json!({})))
        .await
        .expect("metrics on");
    let before = main_thread_seconds(&browser.client).await;
    browser.send(&format!("tokens {tokens}")).await;
    let length = browser
        .client
        .execute_async(WAIT_FOR_REPLY, vec![json!(turns + 1)])
        .await
        .expect("the reply ends");
    let after = main_thread_seconds(&browser.client).await;
    assert!(
        length.as_u64().unwrap_or(0) > tokens as u64,
        "the whole reply is on screen"
    );
    [0, 1, 2, 3].map(|metric| after[metric] - before[metric])
}
