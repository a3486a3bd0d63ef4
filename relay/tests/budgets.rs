//! Token budgets on the `chat-relay` binary as an operator starts it: a client's and everyone's,
//! refused with a 429 that names the budget and when it renews; counted from the upstream's
//! reported usage (a short reply gives back what its reservation did not use), or estimated from
//! the reply when the upstream reports none.

use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::net::TcpListener;

mod support;
use support::{relay, spawn};

/// The binary with `flags`, in front of `upstream` (or the demo model); killed when dropped.
async fn start(upstream: Option<&str>, flags: &[&str]) -> (tokio::process::Child, String) {
    let mut command = relay();
    command.args(["--trusted-proxy", "127.0.0.1"]).args(flags);
    match upstream {
        Some(url) => {
            command
                .args(["--upstream", url])
                .env("CHAT_RELAY_API_KEY", "sk-test");
        }
        None => {
            command.args(["--demo", "--demo-pace-ms", "0"]);
        }
    }
    spawn(&mut command).await
}

/// Posts a request for at most `max_tokens` from `client` (through the trusted proxy); the
/// status, `Retry-After` and the body.
async fn chat(
    url: &str,
    client: &str,
    max_tokens: u32,
    stream: bool,
) -> (u16, Option<u64>, String) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let response = reqwest::Client::new()
        .post(format!("{url}/v1/chat/completions"))
        .header("x-forwarded-for", client)
        .json(&json!({
            "model": "gemini-1.5-pro",
            "messages": [{"role": "user", "content": "Hello there"}],
            "max_tokens": max_tokens,
            "stream": stream
        }))
        .send()
        .await
        .expect("answers");
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse().ok());
    (status, retry_after, response.text().await.expect("a body"))
}

#[tokio::test]
async fn a_clients_budget_and_everyones_are_refused_by_name_with_when_they_renew() {
    let (_relay, url) = start(
        None,
        &[
            "--client-tokens-per-minute",
            "400",
            "--tokens-per-minute",
            "700",
        ],
    )
    .await;
    let mut answered = 0;
    let refusal = loop {
        let (status, retry_after, body) = chat(&url, "203.0.113.1", 100, true).await;
        if status != 200 {
            break (status, retry_after, body);
        }
        answered += 1;
        assert!(answered < 10, "the budget never ran out");
    };
    assert!(
        answered >= 2,
        "{answered} answered before the budget ran out"
    );
    let (status, retry_after, body) = refusal;
    assert_eq!(status, 429, "{body}");
    assert!(
        retry_after.is_some_and(|wait| (1..=60).contains(&wait)),
        "{retry_after:?}"
    );
    let body: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(body["error"]["type"], "budget_exceeded");
    assert_eq!(body["error"]["code"], "client_tokens_per_minute");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|message| message.contains("this minute")),
        "{body}"
    );

    // Another client has its own budget, until everyone's runs out.
    let mut others = Vec::new();
    for n in 2..10 {
        let (status, _, body) = chat(&url, &format!("203.0.113.{n}"), 100, false).await;
        others.push(status);
        if status == 429 {
            let body: Value = serde_json::from_str(&body).expect("JSON");
            assert_eq!(body["error"]["code"], "tokens_per_minute");
            break;
        }
    }
    assert_eq!(others.first(), Some(&200), "{others:?}");
    assert_eq!(others.last(), Some(&429), "{others:?}");
}

#[tokio::test]
async fn the_upstreams_usage_settles_what_was_reserved_and_without_it_the_reply_is_counted() {
    let upstream = Router::new().route(
        "/chat/completions",
        post(|Json(request): Json<Value>| async move {
            if request["stream"] == json!(true) {
                // No usage: the relay counts the reply's text.
                let text = "x".repeat(400);
                let body = format!(
                    "data: {}\n\ndata: [DONE]\n\n",
                    json!({"choices": [{"index": 0, "delta": {"content": text}}]})
                );
                ([("content-type", "text/event-stream")], body)
            } else {
                let body = json!({
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": "Short."}}],
                    "usage": {"prompt_tokens": 8, "completion_tokens": 2, "total_tokens": 10}
                });
                ([("content-type", "application/json")], body.to_string())
            }
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("port");
    let upstream_url = format!("http://{}", listener.local_addr().expect("bound"));
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, upstream).await;
    });
    // A day's budget, so that no window renews while the test runs (but at midnight UTC).
    let (_relay, url) = start(Some(&upstream_url), &["--client-tokens-per-day", "1500"]).await;
    // Each reserves about 1,000 tokens, and costs 10: the budget holds many.
    for _ in 0..5 {
        let (status, _, body) = chat(&url, "203.0.113.1", 1_000, false).await;
        assert_eq!(status, 200, "{body}");
    }
    // A streamed reply without usage costs its text: 400 characters, about 100 tokens, so
    // another client's 1,500 run out on the fourteenth or so, not the second.
    let mut answered = 0;
    while chat(&url, "203.0.113.2", 100, true).await.0 == 200 {
        answered += 1;
        assert!(answered < 30, "never counted");
    }
    assert!((10..=16).contains(&answered), "{answered}");
    task.abort();
}

#[tokio::test]
async fn a_budget_smaller_than_max_tokens_lowers_the_reply_rather_than_refusing_every_request() {
    // --max-tokens stays 4,096: more than the whole budget.
    let (_relay, url) = start(None, &["--client-tokens-per-minute", "1000"]).await;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let answer: Value = reqwest::Client::new()
        .post(format!("{url}/v1/chat/completions"))
        .header("x-forwarded-for", "203.0.113.9")
        .json(&json!({
            "model": "gemini-1.5-pro",
            "messages": [{"role": "user", "content": "Tell me a long story"}],
            "stream": false
        }))
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("JSON");
    let completion = answer["usage"]["completion_tokens"]
        .as_u64()
        .expect("usage");
    assert!(
        (1..=1000).contains(&completion),
        "answered within the budget: {answer}"
    );
}
