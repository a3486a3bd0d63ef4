//! The relay over real HTTP on 127.0.0.1: the demo model, refusals, forwarding to a scripted
//! upstream, and what happens when the browser goes away.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use chat_protocol::{FinishReason, SseFrame, StreamDecoder, StreamEvent};
use chat_relay::{ApiKey, Config, Mode, Stats};
use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio::net::TcpListener;

/// A server on a free port of 127.0.0.1, stopped when dropped.
struct Server {
    url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(router: Router) -> Server {
    serve_on(
        TcpListener::bind("127.0.0.1:0").await.expect("a free port"),
        router,
    )
}

fn serve_on(listener: TcpListener, router: Router) -> Server {
    let url = format!("http://{}", listener.local_addr().expect("bound"));
    let service = router.into_make_service_with_connect_info::<SocketAddr>();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, service).await;
    });
    Server { url, task }
}

async fn relay(mut config: Config) -> (Server, Arc<Stats>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    config.accept_local_origins(listener.local_addr().expect("bound"));
    let (router, stats) = chat_relay::router(config).expect("the relay starts");
    (serve_on(listener, router), stats)
}

fn demo() -> Config {
    let mut config = Config::demo();
    config.mode = Mode::Demo {
        pace: Duration::ZERO,
    };
    config
}

fn upstream_config(upstream: &Server) -> Config {
    Config {
        mode: Mode::Upstream {
            base_url: upstream.url.clone(),
            key: ApiKey::new("server-key"),
        },
        ..demo()
    }
}

fn hello(extra: Value) -> Value {
    let mut body = json!({"model": "gemini-1.5-pro", "messages": [{"role": "user", "content": "Hello otters"}]});
    body.as_object_mut()
        .expect("object")
        .extend(extra.as_object().expect("object").clone());
    body
}

async fn ask(url: &str, body: &Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{url}/v1/chat/completions"))
        .json(body)
        .send()
        .await
        .expect("the relay answers")
}

async fn events(response: reqwest::Response) -> Vec<StreamEvent> {
    let bytes = response.bytes().await.expect("a body");
    StreamDecoder::new().push(&bytes)
}

fn text(events: &[StreamEvent]) -> String {
    events
        .iter()
        .filter_map(|event| match event {
            StreamEvent::Content(text) => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

async fn error_of(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    (status, response.json().await.expect("a JSON error body"))
}

#[tokio::test]
async fn the_demo_model_streams_real_openai_sse() {
    let (relay, stats) = relay(demo()).await;
    let response = ask(&relay.url, &hello(json!({"stream": true}))).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    assert_eq!(response.headers()["x-accel-buffering"], "no");
    let events = events(response).await;
    let answer = text(&events);
    assert!(
        answer.contains("demo model") && answer.contains("otters"),
        "{answer}"
    );
    assert!(
        answer.contains("| 2 | otters |") && answer.contains("```rust"),
        "a table and code: {answer}"
    );
    assert!(events.contains(&StreamEvent::Finish(FinishReason::Stop)));
    assert!(events
        .iter()
        .any(|event| matches!(event, StreamEvent::Usage(_))));
    assert_eq!(events.last(), Some(&StreamEvent::Done));
    assert_eq!(stats.active_streams(), 0);
}

#[tokio::test]
async fn the_demo_model_honours_max_tokens_stop_and_stream_false() {
    let (relay, _) = relay(demo()).await;
    let cut = events(ask(&relay.url, &hello(json!({"stream": true, "max_tokens": 3}))).await).await;
    assert_eq!(text(&cut), "Hello! I am ");
    assert!(cut.contains(&StreamEvent::Finish(FinishReason::Length)));

    let stopped = events(
        ask(
            &relay.url,
            &hello(json!({"stream": true, "stop": ["offline"]})),
        )
        .await,
    )
    .await;
    assert!(
        text(&stopped).ends_with("so I answer "),
        "{}",
        text(&stopped)
    );

    let response = ask(&relay.url, &hello(json!({"stream": false}))).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["object"], "chat.completion");
    assert!(body["choices"][0]["message"]["content"]
        .as_str()
        .expect("content")
        .contains("demo model"));
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert!(body["usage"]["completion_tokens"].as_u64().expect("usage") > 10);
}

#[tokio::test]
async fn bad_json_and_invalid_values_are_refused_naming_the_problem() {
    let (relay, _) = relay(demo()).await;
    let response = reqwest::Client::new()
        .post(format!("{}/v1/chat/completions", relay.url))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("answer");
    let (status, body) = error_of(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"]["message"]
        .as_str()
        .expect("message")
        .contains("not a valid chat-completions request"));

    let (status, body) = error_of(ask(&relay.url, &hello(json!({"top_p": 0.01}))).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["param"], "top_p");
    assert!(body["error"]["message"]
        .as_str()
        .expect("message")
        .contains("`top_p` must be between 0.1 and 1"));
}

#[tokio::test]
async fn a_flood_of_tools_is_refused_at_once_and_the_relay_keeps_answering() {
    let (relay, _) = relay(demo()).await;
    // About 5 MB: 100,000 tools and a tool_choice naming none of them. Checking the names in
    // pairs took 14 s of CPU for this.
    let tools: Vec<Value> = (0..100_000)
        .map(|i| json!({"type": "function", "function": {"name": format!("t{i}"), "parameters": {}}}))
        .collect();
    let body = hello(
        json!({"tools": tools, "tool_choice": {"type": "function", "function": {"name": "missing"}}}),
    );
    let started = std::time::Instant::now();
    let (status, answer) = error_of(ask(&relay.url, &body).await).await;
    let took = started.elapsed();
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(answer["error"]["param"], "tools");
    assert!(took < Duration::from_secs(5), "the refusal took {took:?}");
    let health = reqwest::get(format!("{}/healthz", relay.url))
        .await
        .expect("an answer");
    assert_eq!(health.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_model_off_the_allowlist_is_refused() {
    let (relay, _) = relay(Config {
        allowed_models: vec!["gemini-1.5-pro".into()],
        ..demo()
    })
    .await;
    let (status, body) = error_of(ask(&relay.url, &hello(json!({"model": "gpt-4o"}))).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["param"], "model");
    assert!(body["error"]["message"]
        .as_str()
        .expect("message")
        .contains("gpt-4o"));
    assert_eq!(
        ask(&relay.url, &hello(json!({}))).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_oversize_body_is_413() {
    let (relay, _) = relay(Config {
        body_limit: 4096,
        ..demo()
    })
    .await;
    let big = hello(json!({"messages": [{"role": "user", "content": "x".repeat(10_000)}]}));
    let (status, body) = error_of(ask(&relay.url, &big).await).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["error"]["type"], "request_too_large");
}

#[tokio::test]
async fn a_message_at_the_widgets_whole_image_budget_fits_the_default_body_limit() {
    let (relay, _) = relay(demo()).await;
    // 4 MB of base64 (the widget's budget for one message's images) and the text around it.
    let png_header = "iVBORw0KGgoAAAANSUhEUgAAAoAAAAHg";
    let image = format!(
        "data:image/png;base64,{png_header}{}",
        "A".repeat(4_000_000 - png_header.len())
    );
    let body = hello(json!({
        "stream": false,
        "messages": [{"role": "user", "content": [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": image}}
        ]}]
    }));
    let response = ask(&relay.url, &body).await;
    assert_eq!(response.status(), StatusCode::OK);
    let answer: Value = response.json().await.expect("JSON");
    let text = answer["choices"][0]["message"]["content"]
        .as_str()
        .unwrap_or_default();
    assert!(
        text.starts_with("I see an image: a PNG of 640 × 480 pixels (2930 KB)."),
        "{text}"
    );
}

#[tokio::test]
async fn foreign_origins_get_403_and_allowed_ones_get_cors() {
    let (relay, _) = relay(Config {
        allowed_origins: vec!["https://shop.example".into()],
        ..demo()
    })
    .await;
    let client = reqwest::Client::new();
    let url = format!("{}/v1/chat/completions", relay.url);
    let foreign = client
        .post(&url)
        .header("origin", "https://evil.example")
        .json(&hello(json!({})))
        .send()
        .await;
    let (status, body) = error_of(foreign.expect("answer")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body["error"]["message"]
        .as_str()
        .expect("message")
        .contains("https://evil.example"));

    let preflight = client
        .request(reqwest::Method::OPTIONS, &url)
        .header("origin", "https://shop.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .expect("answer");
    assert!(preflight.status().is_success());
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "https://shop.example"
    );

    let allowed = client
        .post(&url)
        .header("origin", "https://shop.example")
        .json(&hello(json!({})))
        .send()
        .await;
    let allowed = allowed.expect("answer");
    assert_eq!(allowed.status(), StatusCode::OK);
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://shop.example"
    );
    assert_eq!(
        allowed.headers()["access-control-expose-headers"],
        "retry-after,x-stream-id"
    );

    let own_origin = relay.url.clone();
    let same = client
        .post(&url)
        .header("origin", own_origin)
        .json(&hello(json!({})))
        .send()
        .await;
    assert_eq!(
        same.expect("answer").status(),
        StatusCode::OK,
        "the relay's own origin is always allowed"
    );
}

#[tokio::test]
async fn a_rebound_name_is_not_the_relays_own_origin() {
    // A page of evil.example that rebinds its name to 127.0.0.1 sends its own name as Host.
    let (relay, _) = relay(demo()).await;
    let port = relay.url.rsplit(':').next().expect("a port");
    let response = reqwest::Client::new()
        .post(format!("{}/v1/chat/completions", relay.url))
        .header("origin", format!("http://evil.example:{port}"))
        .header("host", format!("evil.example:{port}"))
        .json(&hello(json!({})))
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_rate_limit_answers_429_with_retry_after() {
    let (relay, _) = relay(Config {
        rate_per_minute: 1,
        rate_burst: 2,
        ..demo()
    })
    .await;
    for _ in 0..2 {
        assert_eq!(
            ask(&relay.url, &hello(json!({}))).await.status(),
            StatusCode::OK
        );
    }
    let response = ask(&relay.url, &hello(json!({}))).await;
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let (status, body) = error_of(response).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["error"]["type"], "rate_limit_exceeded");
}

/// What the scripted upstream saw of each request.
#[derive(Clone, Default)]
struct Seen {
    headers: Arc<Mutex<Vec<HeaderMap>>>,
    bodies: Arc<Mutex<Vec<Value>>>,
}

fn scripted_upstream(seen: Seen, answer: fn(&Value) -> Response) -> Router {
    Router::new().route(
        "/chat/completions",
        post(move |headers: HeaderMap, body: Bytes| async move {
            let body: Value = serde_json::from_slice(&body).expect("the relay sends JSON");
            seen.headers.lock().expect("lock").push(headers);
            seen.bodies.lock().expect("lock").push(body.clone());
            answer(&body)
        }),
    )
}

#[tokio::test]
async fn forwarding_swaps_the_key_drops_cookies_and_caps_max_tokens() {
    let seen = Seen::default();
    let upstream = serve(scripted_upstream(seen.clone(), |_| {
        (
            [("content-type", "application/json")],
            r#"{"choices":[{"message":{"content":"hi"},"finish_reason":"stop"}]}"#,
        )
            .into_response()
    }))
    .await;
    let (relay, _) = relay(Config {
        max_tokens: 100,
        ..upstream_config(&upstream)
    })
    .await;
    let response = reqwest::Client::new()
        .post(format!("{}/v1/chat/completions", relay.url))
        .header("authorization", "Bearer browser-key")
        .header("cookie", "session=abc")
        .json(&hello(json!({"max_tokens": 5000})))
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(events_of_json(response).await, "hi");
    let headers = seen.headers.lock().expect("lock")[0].clone();
    assert_eq!(headers["authorization"], "Bearer server-key");
    assert!(headers.get("cookie").is_none());
    assert_eq!(seen.bodies.lock().expect("lock")[0]["max_tokens"], 100);

    // Left out, max_tokens is the ceiling too: an upstream's default may be the model's maximum.
    let response = ask(&relay.url, &hello(json!({}))).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(seen.bodies.lock().expect("lock")[1]["max_tokens"], 100);

    // A parameter the API does not document is refused, named, and never sent.
    let (status, body) =
        error_of(ask(&relay.url, &hello(json!({"unknown_field": true}))).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]["message"]
            .as_str()
            .expect("message")
            .contains("unknown_field"),
        "{body}"
    );
    assert_eq!(seen.bodies.lock().expect("lock").len(), 2);
}

async fn events_of_json(response: reqwest::Response) -> String {
    text(&StreamEvent::from_body(
        &response.text().await.expect("body"),
    ))
}

#[tokio::test]
async fn upstream_errors_pass_through_with_retry_after() {
    let upstream = serve(scripted_upstream(Seen::default(), |_| {
        (
            StatusCode::TOO_MANY_REQUESTS,
            [("content-type", "application/json"), ("retry-after", "17")],
            r#"{"error":{"message":"Rate limit reached for requests","type":"requests","code":"rate_limit_exceeded"}}"#,
        )
            .into_response()
    }))
    .await;
    let (relay, _) = relay(Config {
        allowed_origins: vec!["https://shop.example".into()],
        ..upstream_config(&upstream)
    })
    .await;
    let response = reqwest::Client::new()
        .post(format!("{}/v1/chat/completions", relay.url))
        .header("origin", "https://shop.example")
        .json(&hello(json!({})))
        .send()
        .await
        .expect("answer");
    assert_eq!(response.headers()["retry-after"], "17");
    assert_eq!(
        response.headers()["access-control-expose-headers"],
        "retry-after,x-stream-id"
    );
    let (status, body) = error_of(response).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["error"]["message"], "Rate limit reached for requests");
}

#[tokio::test]
async fn an_unreachable_upstream_is_a_502_saying_so() {
    let unused = TcpListener::bind("127.0.0.1:0").await.expect("port");
    let url = format!("http://{}", unused.local_addr().expect("bound"));
    drop(unused);
    let config = Config {
        mode: Mode::Upstream {
            base_url: url,
            key: ApiKey::new("server-key"),
        },
        ..demo()
    };
    let (relay, _) = relay(config).await;
    let (status, body) = error_of(ask(&relay.url, &hello(json!({}))).await).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert!(body["error"]["message"]
        .as_str()
        .expect("message")
        .contains("could not reach the upstream"));
}

/// An upstream that streams a chunk every 50 ms forever, and notes when its stream is dropped.
fn endless_upstream(dropped: Arc<AtomicBool>) -> Router {
    Router::new().route(
        "/chat/completions",
        post(move || async move {
            struct OnDrop(Arc<AtomicBool>);
            impl Drop for OnDrop {
                fn drop(&mut self) {
                    self.0.store(true, Ordering::SeqCst);
                }
            }
            let guard = OnDrop(dropped);
            let chunks = futures_util::stream::unfold(0u64, |n| async move {
                tokio::time::sleep(Duration::from_millis(50)).await;
                let chunk =
                    json!({"choices": [{"index": 0, "delta": {"content": format!("{n} ")}}]});
                let frame = SseFrame::new(&chunk.to_string()).encode();
                Some((Ok::<_, std::convert::Infallible>(Bytes::from(frame)), n + 1))
            })
            .map(move |chunk| {
                let _alive = &guard;
                chunk
            });
            (
                [("content-type", "text/event-stream")],
                Body::from_stream(chunks),
            )
        }),
    )
}

#[tokio::test]
async fn the_stream_arrives_as_sent_and_a_client_that_leaves_closes_the_upstream() {
    let dropped = Arc::new(AtomicBool::new(false));
    let upstream = serve(endless_upstream(dropped.clone())).await;
    // With resuming off (see `a_reply_nobody_resumes_stops_after_the_grace` for on).
    let mut config = upstream_config(&upstream);
    config.limits.resume_grace = Duration::ZERO;
    let (relay, stats) = relay(config).await;
    let response = ask(&relay.url, &hello(json!({"stream": true}))).await;
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut body = response.bytes_stream();
    // Chunks arrive one by one, not after the (never-ending) upstream finishes.
    let first = tokio::time::timeout(Duration::from_secs(2), body.next())
        .await
        .expect("a chunk in time");
    assert!(String::from_utf8_lossy(&first.expect("chunk").expect("bytes")).contains("\"0 \""));
    assert_eq!(stats.active_streams(), 1);
    drop(body);
    let closed = tokio::time::timeout(Duration::from_secs(1), async {
        while !dropped.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "the upstream stream was not dropped within a second"
    );
    assert_eq!(stats.active_streams(), 0);
}

#[tokio::test]
async fn the_demo_model_stops_generating_when_the_client_leaves() {
    let mut config = Config {
        mode: Mode::Demo {
            pace: Duration::from_millis(20),
        },
        ..demo()
    };
    // With resuming off; with it on, the same holds once the grace has passed.
    config.limits.resume_grace = Duration::ZERO;
    let (relay, stats) = relay(config).await;
    let response = ask(
        &relay.url,
        &hello(json!({"stream": true, "messages": [{"role": "user", "content": "a long story"}]})),
    )
    .await;
    let mut body = response.bytes_stream();
    body.next().await.expect("a first chunk").expect("bytes");
    drop(body);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after_leaving = stats.demo_tokens();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        stats.demo_tokens(),
        after_leaving,
        "no more tokens after the client left"
    );
    assert!(
        after_leaving < 100,
        "it stopped early, after {after_leaving} tokens"
    );
    assert_eq!(stats.active_streams(), 0);
}

/// An upstream that answers by the request's first message: echoing the request's headers in a
/// JSON or an HTML error, a 200 with no content type or with HTML, or a redirect elsewhere.
fn hostile_upstream(elsewhere: String, redirected: Arc<AtomicBool>) -> Router {
    let other = Router::new().route(
        "/steal",
        post(move || {
            redirected.store(true, Ordering::SeqCst);
            async { "got it" }
        }),
    );
    Router::new()
        .route(
            "/chat/completions",
            post(move |headers: HeaderMap, body: Bytes| {
                let elsewhere = elsewhere.clone();
                async move {
                    let body: Value = serde_json::from_slice(&body).expect("JSON");
                    let echoed = format!("{headers:?}");
                    match body["messages"][0]["content"].as_str().unwrap_or_default() {
                        "json" => (
                            StatusCode::INTERNAL_SERVER_ERROR,
                            [("content-type", "application/json")],
                            json!({"error": {"message": format!("failed for {echoed}"), "code": echoed}})
                                .to_string(),
                        )
                            .into_response(),
                        "html" => (
                            StatusCode::BAD_GATEWAY,
                            [("content-type", "text/html")],
                            format!("<html><title>Oops</title><body><script>alert(1)</script>{echoed}</body></html>"),
                        )
                            .into_response(),
                        "untyped" => Response::builder()
                            .status(200)
                            .body(axum::body::Body::from(format!("<script>alert(1)</script>{echoed}")))
                            .expect("a response"),
                        "typed html" => (
                            StatusCode::OK,
                            [("content-type", "text/html")],
                            "<script>alert(1)</script>",
                        )
                            .into_response(),
                        _ => (
                            StatusCode::TEMPORARY_REDIRECT,
                            [("location", format!("{elsewhere}/steal"))],
                            "",
                        )
                            .into_response(),
                    }
                }
            }),
        )
        .merge(other)
}

#[tokio::test]
async fn upstream_errors_are_reframed_without_the_key_and_nothing_is_passed_on_as_html() {
    let redirected = Arc::new(AtomicBool::new(false));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let url = format!("http://{}", listener.local_addr().expect("bound"));
    let upstream = serve_on(listener, hostile_upstream(url, redirected.clone()));
    let (relay, _) = relay(upstream_config(&upstream)).await;
    for (message, status) in [
        ("json", StatusCode::INTERNAL_SERVER_ERROR),
        ("html", StatusCode::BAD_GATEWAY),
        ("untyped", StatusCode::BAD_GATEWAY),
        ("typed html", StatusCode::BAD_GATEWAY),
        ("redirect", StatusCode::BAD_GATEWAY),
    ] {
        let request =
            json!({"model": "gemini-1.5-pro", "messages": [{"role": "user", "content": message}]});
        let response = ask(&relay.url, &request).await;
        assert_eq!(response.status(), status, "{message}");
        assert_eq!(
            response.headers()["content-type"],
            "application/json",
            "{message}"
        );
        assert_eq!(
            response.headers()["x-content-type-options"],
            "nosniff",
            "{message}"
        );
        let body = response.text().await.expect("a body");
        assert!(
            !body.contains("server-key") && !body.to_ascii_lowercase().contains("bearer s"),
            "{message}: the key reached the page: {body}"
        );
        assert!(!body.contains("<script>"), "{message}: {body}");
        let error: Value = serde_json::from_str(&body).expect("OpenAI's error shape");
        assert!(error["error"]["message"].is_string(), "{message}: {body}");
    }
    assert!(
        !redirected.load(Ordering::SeqCst),
        "the redirect was followed"
    );
}

#[tokio::test]
async fn upstream_only_the_widgets_default_model_passes_unless_others_are_named() {
    let seen = Seen::default();
    let upstream = serve(scripted_upstream(seen.clone(), |_| {
        (
            StatusCode::OK,
            [("content-type", "application/json")],
            r#"{"choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}]}"#,
        )
            .into_response()
    }))
    .await;
    let (relay_by_default, _) = relay(upstream_config(&upstream)).await;
    let expensive = hello(json!({"model": "o1-pro", "stream": false}));
    let (status, body) = error_of(ask(&relay_by_default.url, &expensive).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["param"], "model");
    let default = hello(json!({"stream": false}));
    assert_eq!(
        ask(&relay_by_default.url, &default).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        seen.bodies.lock().expect("lock").len(),
        1,
        "only the default went upstream"
    );

    let (open_relay, _) = relay(Config {
        allow_any_model: true,
        ..upstream_config(&upstream)
    })
    .await;
    assert_eq!(
        ask(&open_relay.url, &expensive).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_request_shape_is_strict_and_a_refusal_names_where() {
    let (relay, _) = relay(demo()).await;
    let url = format!("{}/v1/chat/completions", relay.url);
    let client = reqwest::Client::new();
    let good = hello(json!({})).to_string();
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let mut request = client.post(&url).body(good.clone());
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let response = request.send().await.expect("an answer");
        assert_eq!(
            response.status(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type:?}"
        );
    }
    let charset = client
        .post(&url)
        .header("content-type", "application/json; charset=utf-8")
        .body(good)
        .send()
        .await
        .expect("an answer");
    assert_eq!(charset.status(), StatusCode::OK);

    let cases = [
        (
            json!(["gemini-1.5-pro", [{"role": "user", "content": "hi"}]]),
            "JSON object",
        ),
        (
            json!({"model": "gemini-1.5-pro", "messages": [{"role": "user", "content": "hi", "sneaky": 1}]}),
            "messages[0]",
        ),
        (
            // The content is a string or parts: the message is named, not the part.
            json!({"model": "gemini-1.5-pro", "messages": [{"role": "user", "content": [{"type": "text", "text": "hi", "x": 1}]}]}),
            "messages[0]",
        ),
        (
            json!({"model": "gemini-1.5-pro", "messages": [{"role": "user", "content": "hi"}],
                   "tools": [{"type": "function", "function": {"name": "f", "extra": true}}]}),
            "tools[0].function",
        ),
        (
            json!({"model": "gemini-1.5-pro", "messages": [{"role": "user", "content": "hi"}],
                   "tools": [{"type": "retrieval", "function": {"name": "f"}}]}),
            "tools[0].type",
        ),
    ];
    for (body, named) in cases {
        let (status, answer) = error_of(ask(&relay.url, &body).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(named), "{body}: {message}");
    }
}

/// The ids of the events in `chunk` (its `id:` lines).
fn event_ids(chunk: &[u8]) -> Vec<usize> {
    String::from_utf8_lossy(chunk)
        .lines()
        .filter_map(|line| line.strip_prefix("id: "))
        .filter_map(|id| id.trim().parse().ok())
        .collect()
}

async fn until_dropped(dropped: &AtomicBool, limit: Duration) -> Option<Duration> {
    let started = std::time::Instant::now();
    tokio::time::timeout(limit, async {
        while !dropped.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .ok()
    .map(|()| started.elapsed())
}

#[tokio::test]
async fn a_dropped_reply_resumes_after_its_last_event_and_stop_closes_the_upstream() {
    let dropped = Arc::new(AtomicBool::new(false));
    let upstream = serve(endless_upstream(dropped.clone())).await;
    let (relay, stats) = relay(upstream_config(&upstream)).await;
    let response = ask(&relay.url, &hello(json!({"stream": true}))).await;
    let id = response.headers()["x-stream-id"]
        .to_str()
        .expect("an id")
        .to_owned();
    assert_eq!(id.len(), 32, "128 random bits: {id}");
    let mut body = response.bytes_stream();
    let first = body.next().await.expect("a chunk").expect("bytes");
    let seen = event_ids(&first);
    assert_eq!(seen.first(), Some(&0), "events are numbered from 0");
    let last = *seen.last().expect("an event");
    // The connection drops; the reply goes on upstream.
    drop(body);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!dropped.load(Ordering::SeqCst), "kept for a resume");

    let client = reqwest::Client::new();
    let streams = format!("{}/v1/streams/{id}", relay.url);
    let resumed = client
        .get(&streams)
        .header("last-event-id", last.to_string())
        .send()
        .await
        .expect("answers");
    assert_eq!(resumed.status(), StatusCode::OK);
    assert_eq!(resumed.headers()["content-type"], "text/event-stream");
    let mut resumed = resumed.bytes_stream();
    let next = resumed.next().await.expect("a chunk").expect("bytes");
    assert_eq!(
        event_ids(&next).first(),
        Some(&(last + 1)),
        "from the event after the last one seen, nothing missed and nothing twice"
    );
    assert!(String::from_utf8_lossy(&next).contains("\"content\""));

    // Only its owner may resume or stop it, and only a number is a last event id.
    let own_origin = relay.url.clone();
    let other = client
        .get(&streams)
        .header("origin", &own_origin)
        .send()
        .await
        .expect("answers");
    assert_eq!(other.status(), StatusCode::FORBIDDEN);
    let unknown = client
        .get(format!("{}/v1/streams/{}", relay.url, "0".repeat(32)))
        .send()
        .await
        .expect("answers");
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let bad = client
        .get(&streams)
        .header("last-event-id", "seven")
        .send()
        .await
        .expect("answers");
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let not_theirs = client
        .delete(&streams)
        .header("origin", &own_origin)
        .send()
        .await
        .expect("answers");
    assert_eq!(not_theirs.status(), StatusCode::FORBIDDEN);
    assert!(!dropped.load(Ordering::SeqCst));

    // Stop: the upstream request is closed at once, and the follower's stream ends.
    let stopped = client.delete(&streams).send().await.expect("answers");
    assert_eq!(stopped.status(), StatusCode::NO_CONTENT);
    assert!(
        until_dropped(&dropped, Duration::from_secs(1))
            .await
            .is_some(),
        "the upstream was not closed within a second of Stop"
    );
    let ended = tokio::time::timeout(Duration::from_secs(2), async {
        while let Some(Ok(_)) = resumed.next().await {}
    })
    .await;
    assert!(ended.is_ok(), "the resumed stream ends too");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(stats.active_streams(), 0);
}

#[tokio::test]
async fn a_reply_nobody_resumes_stops_after_the_grace() {
    let dropped = Arc::new(AtomicBool::new(false));
    let upstream = serve(endless_upstream(dropped.clone())).await;
    let mut config = upstream_config(&upstream);
    config.limits.resume_grace = Duration::from_secs(1);
    let (relay, _) = relay(config).await;
    let response = ask(&relay.url, &hello(json!({"stream": true}))).await;
    let mut body = response.bytes_stream();
    body.next().await.expect("a chunk").expect("bytes");
    drop(body);
    let after = until_dropped(&dropped, Duration::from_secs(3))
        .await
        .expect("the upstream closes once the grace has passed");
    assert!(
        after >= Duration::from_millis(800),
        "not before the grace: {after:?}"
    );
}
