//! How much main-thread time a streamed Markdown reply costs in Chromium, from the first token to
//! the last token on screen.
//!
//! Run with `scripts/bench-markdown` (it builds the widget first). A local upstream streams replies
//! of 500 to 16,000 Markdown-heavy tokens (headings, lists, tables, code; one SSE event per token)
//! as fast as it can, through the relay, into the built widget; then replies that are one long
//! block (a single numbered list, a single code block), which the widget renders again whole on
//! each frame until the block ends. Chromium's own accounting
//! (`Performance.getMetrics`, `TaskDuration`: the time the page's main thread spent running tasks)
//! gives the main-thread time. The numbers are printed; there is no pass or fail.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::routing::post;
use axum::Router;
use chat_e2e::{main_thread_seconds, serve, Browser, Cdp};
use chat_protocol::SseFrame;
use serde_json::{json, Value};

const SIZES: [usize; 5] = [500, 1_000, 2_000, 4_000, 16_000];
/// Replies that are one long block, and their sizes. `code` is Rust, which is highlighted once
/// the block is final; `plain code` is the same in a language the widget does not highlight, to
/// show what highlighting costs, side by side.
const ONE_BLOCK: [(&str, [usize; 3]); 3] = [
    ("list", [1_000, 4_000, 16_000]),
    ("code", [1_000, 4_000, 16_000]),
    ("plain-code", [1_000, 4_000, 16_000]),
];
/// Replies at a model's pace (milliseconds between tokens, so that nearly every token gets a frame
/// of its own), of each shape and size.
const PACED_MS: u64 = 4;
const PACED: [(&str, usize); 7] = [
    ("sections", 1_000),
    ("sections", 4_000),
    ("list", 1_000),
    ("list", 4_000),
    ("code", 1_000),
    ("code", 4_000),
    ("plain-code", 4_000),
];
const END: &str = "END-OF-REPLY";

/// Text of the given shape (`sections`, `list`, `code` or `plain-code`) cut to `count` tokens,
/// the last being [`END`].
fn reply_tokens(shape: &str, count: usize) -> Vec<String> {
    let mut text = String::new();
    let mut section = 0;
    match shape {
        "code" => text.push_str("```rust\n"),
        "plain-code" => text.push_str("```text\n"),
        _ => {}
    }
    while text.split_whitespace().count() < count {
        section += 1;
        if shape == "list" {
            let _ = writeln!(
                text,
                "{section}. Item {section}: some **bold** text and `code` in a sentence that goes on for a while."
            );
            continue;
        }
        if shape.ends_with("code") {
            let _ = writeln!(
                text,
                "let value_{section} = compute({section}, \"text\"); // a line of code"
            );
            continue;
        }
        let _ = write!(
            text,
            "## Section {section}\n\nSome **bold** text, some *emphasis* and `inline code`, in a sentence that \
             goes on for a while to look like prose.\n\n- first item with [a link](https://example.com/{section})\n\
             - second item\n  - nested item\n\n| Name | Value | Note |\n|---|---:|---|\n| alpha | {section} | first |\n\
             | beta | {} | second |\n\n```rust\nfn section_{section}() -> u32 {{\n    {section}\n}}\n```\n\n",
            section * 2
        );
    }
    let mut tokens = chat_relay::demo::tokenize(&text);
    tokens.truncate(count - 1);
    tokens.push(format!("\n\n{END}"));
    tokens
}

/// An upstream that answers "bench SHAPE N [MS]" with N tokens of that shape, one SSE event each,
/// as fast as it can or MS milliseconds apart.
fn upstream() -> Router {
    Router::new().route(
        "/chat/completions",
        post(|body: Bytes| async move {
            let request: chat_protocol::ChatRequest =
                serde_json::from_slice(&body).expect("a chat request");
            let last = serde_json::to_value(request.messages.last()).expect("JSON");
            let words: Vec<&str> = last["content"]
                .as_str()
                .unwrap_or_default()
                .split_whitespace()
                .collect();
            let shape = words.get(1).copied().unwrap_or("sections");
            let count: usize = words.get(2).and_then(|n| n.parse().ok()).unwrap_or(10);
            let pause =
                Duration::from_millis(words.get(3).and_then(|ms| ms.parse().ok()).unwrap_or(0));
            let mut frames: Vec<Result<Bytes, std::convert::Infallible>> =
                reply_tokens(shape, count)
                    .into_iter()
                    .map(|token| {
                        let chunk = json!({"choices": [{"index": 0, "delta": {"content": token}}]});
                        Ok(Bytes::from(SseFrame::new(&chunk.to_string()).encode()))
                    })
                    .collect();
            let stop = json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]});
            let mut end = SseFrame::new(&stop.to_string()).encode();
            SseFrame::done().encode_into(&mut end);
            frames.push(Ok(Bytes::from(end)));
            let frames =
                futures_util::StreamExt::then(futures_stream(frames), move |frame| async move {
                    if !pause.is_zero() {
                        tokio::time::sleep(pause).await;
                    }
                    frame
                });
            (
                [("content-type", "text/event-stream")],
                Body::from_stream(frames),
            )
        }),
    )
}

fn futures_stream<T>(items: Vec<T>) -> impl futures_util::Stream<Item = T> {
    futures_util::stream::iter(items)
}

/// Resolves once the last reply is no longer pending or streaming, with what it shows.
const WAIT_FOR_REPLY: &str = r#"
const done = arguments[arguments.length - 1];
const shadow = document.querySelector('#chat').shadowRoot;
const finished = () => {
  const replies = shadow.querySelectorAll("[data-role='assistant']");
  const reply = replies[replies.length - 1];
  return reply && !["pending", "streaming"].includes(reply.dataset.status) ? reply : null;
};
const report = (reply) => done({ status: reply.dataset.status, text: reply.textContent.length, end: reply.textContent.includes("END-OF-REPLY") });
const now = finished();
if (now) { report(now); } else {
  const observer = new MutationObserver(() => { const reply = finished(); if (reply) { observer.disconnect(); report(reply); } });
  observer.observe(shadow, { subtree: true, attributes: true, attributeFilter: ["data-status"] });
}
"#;

#[tokio::main]
async fn main() {
    let upstream = serve(upstream()).await;
    let browser = Browser::for_benchmark(&upstream.url).await;
    println!(
        "Markdown streaming benchmark: Chromium (headless), release build, one SSE event per token"
    );
    println!();
    println!("| tokens | main-thread time | per token | wall time | script | layout | style |");
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    let mut per_token = Vec::new();
    for size in SIZES {
        per_token.push(run(&browser, &format!("sections {size}"), size).await);
    }
    println!();
    println!(
        "cost per token at 16,000 / at 500: {:.2}",
        per_token[per_token.len() - 1] / per_token[0]
    );
    for (shape, sizes) in ONE_BLOCK {
        println!();
        println!("One {shape}, the whole reply:");
        println!();
        println!("| tokens | main-thread time | per token | wall time | script | layout | style |");
        println!("|---:|---:|---:|---:|---:|---:|---:|");
        for size in sizes {
            run(&browser, &format!("{shape} {size}"), size).await;
        }
    }
    println!();
    println!("At a model's pace, {PACED_MS} ms between tokens:");
    println!();
    println!(
        "| reply | tokens | main-thread time | per token | wall time | script | layout | style |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (shape, size) in PACED {
        print!("| {shape} ");
        run(&browser, &format!("{shape} {size} {PACED_MS}"), size).await;
    }
    println!();
    browser.save_screenshot("markdown-benchmark").await;
    browser.close().await;
}

/// Streams one reply, asked for with `bench {request}`, of `size` tokens into a fresh page; prints
/// its row and returns its main-thread time per token.
async fn run(browser: &Browser, request: &str, size: usize) -> f64 {
    // A fresh page, with no kept conversation, for each reply, so earlier replies cost nothing.
    browser
        .client
        .execute("localStorage.clear()", vec![])
        .await
        .expect("storage cleared");
    browser
        .client
        .goto(&browser.relay.url)
        .await
        .expect("the page loads");
    browser.find("textarea[aria-label='Message']").await;
    browser
        .client
        .issue_cmd(Cdp::new("Performance.enable", json!({})))
        .await
        .expect("metrics on");
    let before = main_thread_seconds(&browser.client).await;
    let started = Instant::now();
    browser.send(&format!("bench {request}")).await;
    let outcome: Value = browser
        .client
        .execute_async(WAIT_FOR_REPLY, vec![])
        .await
        .expect("the reply ends");
    let wall = started.elapsed();
    let after = main_thread_seconds(&browser.client).await;
    let [spent, script, layout, style] = [0, 1, 2, 3].map(|i| after[i] - before[i]);
    assert_eq!(outcome["status"], "done", "{outcome}");
    assert_eq!(
        outcome["end"], true,
        "the last token is on screen: {outcome}"
    );
    let cost = spent / size as f64;
    println!(
        "| {size} | {spent:.3} s | {:.1} µs | {:.2} s | {script:.3} s | {layout:.3} s | {style:.3} s |",
        cost * 1e6,
        wall.as_secs_f64()
    );
    cost
}
