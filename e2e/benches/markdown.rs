//! How much main-thread time a streamed Markdown reply costs in Chromium, from the first token to
//! the last token on screen.
//!
//! Run with `scripts/bench-markdown` (it builds the widget first). A local upstream streams replies
//! of 500 to 16,000 Markdown-heavy tokens (headings, lists, tables, code; one SSE event per token)
//! as fast as it can, through the relay, into the built widget. Chromium's own accounting
//! (`Performance.getMetrics`, `TaskDuration`: the time the page's main thread spent running tasks)
//! gives the main-thread time. The numbers are printed; there is no pass or fail.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::routing::post;
use axum::Router;
use chat_e2e::{serve, Browser};
use chat_relay::{ApiKey, Mode};
use fantoccini::wd::{TimeoutConfiguration, WebDriverCompatibleCommand};
use serde_json::{json, Value};

const SIZES: [usize; 5] = [500, 1_000, 2_000, 4_000, 16_000];
const END: &str = "END-OF-REPLY";

/// Markdown-heavy text cut to `count` tokens, the last being [`END`].
fn reply_tokens(count: usize) -> Vec<String> {
    let mut text = String::new();
    let mut section = 0;
    while text.split_whitespace().count() < count {
        section += 1;
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

/// An upstream that answers "bench N" with N tokens, one SSE event each, as fast as it can.
fn upstream() -> Router {
    Router::new().route(
        "/chat/completions",
        post(|body: Bytes| async move {
            let request: chat_protocol::ChatRequest = serde_json::from_slice(&body).expect("a chat request");
            let last = serde_json::to_value(request.messages.last()).expect("JSON");
            let count: usize = last["content"]
                .as_str()
                .and_then(|text| text.strip_prefix("bench "))
                .and_then(|n| n.trim().parse().ok())
                .unwrap_or(10);
            let mut frames: Vec<Result<Bytes, std::convert::Infallible>> = reply_tokens(count)
                .into_iter()
                .map(|token| {
                    let chunk = json!({"choices": [{"index": 0, "delta": {"content": token}}]});
                    Ok(Bytes::from(format!("data: {chunk}\n\n")))
                })
                .collect();
            frames.push(Ok(Bytes::from_static(
                b"data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n",
            )));
            ([("content-type", "text/event-stream")], Body::from_stream(futures_stream(frames)))
        }),
    )
}

fn futures_stream<T>(items: Vec<T>) -> impl futures_util::Stream<Item = T> {
    futures_util::stream::iter(items)
}

/// A Chrome DevTools command, through ChromeDriver.
#[derive(Debug)]
struct Cdp(&'static str);

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({"cmd": self.0, "params": {}}).to_string()),
        )
    }
}

/// The page's main-thread task time so far, in seconds.
async fn main_thread_seconds(browser: &Browser) -> f64 {
    let metrics = browser
        .client
        .issue_cmd(Cdp("Performance.getMetrics"))
        .await
        .expect("metrics");
    metrics["metrics"]
        .as_array()
        .and_then(|metrics| {
            metrics
                .iter()
                .find(|metric| metric["name"] == "TaskDuration")
        })
        .and_then(|metric| metric["value"].as_f64())
        .expect("TaskDuration")
}

/// Resolves once the last reply is no longer pending or streaming, with what it shows.
const WAIT_FOR_REPLY: &str = r#"
const done = arguments[arguments.length - 1];
const shadow = document.querySelector("[data-chat-widget]").shadowRoot;
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
    let browser = Browser::open(Mode::Upstream {
        base_url: upstream.url.clone(),
        key: ApiKey::new("bench"),
    })
    .await;
    browser
        .client
        .update_timeouts(TimeoutConfiguration::new(
            Some(Duration::from_secs(300)),
            None,
            None,
        ))
        .await
        .expect("timeouts");
    println!(
        "Markdown streaming benchmark: Chromium (headless), release build, one SSE event per token"
    );
    println!();
    println!("| tokens | main-thread time | per token | wall time |");
    println!("|---:|---:|---:|---:|");
    let mut per_token = Vec::new();
    for size in SIZES {
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
            .issue_cmd(Cdp("Performance.enable"))
            .await
            .expect("metrics on");
        let before = main_thread_seconds(&browser).await;
        let started = Instant::now();
        browser.send(&format!("bench {size}")).await;
        let outcome: Value = browser
            .client
            .execute_async(WAIT_FOR_REPLY, vec![])
            .await
            .expect("the reply ends");
        let wall = started.elapsed();
        let spent = main_thread_seconds(&browser).await - before;
        assert_eq!(outcome["status"], "done", "{outcome}");
        assert_eq!(
            outcome["end"], true,
            "the last token is on screen: {outcome}"
        );
        let cost = spent / size as f64;
        per_token.push(cost);
        println!(
            "| {size} | {:.3} s | {:.1} µs | {:.2} s |",
            spent,
            cost * 1e6,
            wall.as_secs_f64()
        );
    }
    println!();
    println!(
        "cost per token at 16,000 / at 500: {:.2}",
        per_token[per_token.len() - 1] / per_token[0]
    );
    browser.save_screenshot("markdown-benchmark").await;
    browser.close().await;
}
