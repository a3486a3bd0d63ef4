//! The `chat-relay` binary as a user runs it: its help, its refusals of bad settings, and that the
//! API key never shows in a response or a log line.

use std::process::{Command, Stdio};
use std::time::Duration;

use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use chat_protocol::SseFrame;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::net::TcpListener;

mod support;
use support::{relay, spawn, RELAY};
const CANARY: &str = "sk-canary-9f3b27e1";

#[test]
fn help_documents_every_option_and_its_variable() {
    let output = Command::new(RELAY).arg("--help").output().expect("runs");
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for needle in [
        "--listen",
        "CHAT_RELAY_LISTEN",
        "--upstream",
        "CHAT_RELAY_UPSTREAM",
        "--static-dir",
        "--public-origin",
        "--allowed-origin",
        "CHAT_RELAY_ALLOWED_ORIGINS",
        "--allowed-model",
        "--allow-any-model",
        "--frame-ancestors",
        "--header-timeout-secs",
        "--body-timeout-secs",
        "--max-connections",
        "--max-connections-per-client",
        "--body-bytes-in-flight",
        "--max-tokens",
        "--rate-per-minute",
        "--rate-burst",
        "--body-limit",
        "--demo-pace-ms",
        "--demo",
        "--policy",
        "CHAT_RELAY_POLICY",
        "--trusted-proxy",
        "CHAT_RELAY_TRUSTED_PROXIES",
        "--client-tokens-per-minute",
        "--client-tokens-per-day",
        "--tokens-per-minute",
        "--tokens-per-day",
        "--metrics-listen",
        "--log-format",
        "--first-byte-timeout-secs",
        "--resume-grace-secs",
        "CHAT_RELAY_METRICS_TOKEN",
        "CHAT_RELAY_API_KEY",
    ] {
        assert!(
            help.contains(needle),
            "--help does not mention {needle}:\n{help}"
        );
    }
}

/// Flags, environment variables, and the option the refusal must name.
type BadStart<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);

#[test]
fn a_bad_value_stops_start_up_naming_it() {
    let cases: [BadStart; 5] = [
        (&["--max-tokens", "0"], &[], "--max-tokens"),
        (
            &["--trusted-proxy", "proxy.example"],
            &[],
            "--trusted-proxy",
        ),
        (
            &["--allowed-origin", "https://shop.example/path"],
            &[],
            "--allowed-origin",
        ),
        (
            &[],
            &[("CHAT_RELAY_UPSTREAM", "ftp://example.com")],
            "--upstream",
        ),
        (&["--listen", "nowhere"], &[], "--listen"),
    ];
    for (args, env, named) in cases {
        let output = Command::new(RELAY)
            .args(args)
            .envs(env.iter().copied())
            .output()
            .expect("runs");
        assert!(!output.status.success(), "{args:?} {env:?} was accepted");
        let message = String::from_utf8_lossy(&output.stderr);
        assert!(
            message.contains(named),
            "{args:?} {env:?}: the message does not name {named}: {message}"
        );
    }
}

#[test]
fn the_key_is_not_a_flag() {
    let output = Command::new(RELAY)
        .args(["--api-key", CANARY])
        .output()
        .expect("runs");
    assert!(!output.status.success());
}

#[tokio::test]
async fn the_key_never_appears_in_a_response_or_a_log_line() {
    // An upstream that fails in every way a relay might echo: an error body, a 500, a stream.
    let upstream = Router::new().route(
        "/chat/completions",
        post(|body: String| async move {
            if body.contains("\"stream\":true") {
                let mut stream = SseFrame::new(r#"{"choices":[]}"#).encode();
                SseFrame::done().encode_into(&mut stream);
                (
                    StatusCode::OK,
                    [("content-type", "text/event-stream")],
                    stream,
                )
            } else {
                (
                    StatusCode::UNAUTHORIZED,
                    [("content-type", "application/json")],
                    r#"{"error":{"message":"bad key"}}"#.to_owned(),
                )
            }
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("port");
    let upstream_url = format!("http://{}", listener.local_addr().expect("bound"));
    let upstream_task = tokio::spawn(async move {
        let _ = axum::serve(listener, upstream).await;
    });

    let mut relay = tokio::process::Command::new(RELAY)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--upstream",
            &upstream_url,
            "--static-dir",
            "/nonexistent",
        ])
        .args(["--log-format", "json"])
        .env("CHAT_RELAY_API_KEY", CANARY)
        .env("CHAT_RELAY_METRICS_TOKEN", "metrics-token")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("starts");
    let mut stdout = BufReader::new(relay.stdout.take().expect("stdout"));
    let mut first_line = String::new();
    tokio::time::timeout(Duration::from_secs(10), stdout.read_line(&mut first_line))
        .await
        .expect("starts in time")
        .expect("reads");
    let url = first_line
        .trim()
        .rsplit(' ')
        .next()
        .expect("the URL")
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{first_line}");

    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let mut seen = String::new();
    let bodies = [
        r#"{"model":"gemini-1.5-pro","messages":[{"role":"user","content":"hi"}]}"#,
        r#"{"model":"gemini-1.5-pro","messages":[{"role":"user","content":"hi"}],"stream":true}"#,
        r#"{"model":"m","messages":[],"temperature":9}"#,
        "not json",
    ];
    for body in bodies {
        let response = client
            .post(format!("{url}/v1/chat/completions"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("answers");
        seen.push_str(&format!("{:?}", response.headers()));
        seen.push_str(&response.text().await.expect("body"));
    }
    seen.push_str(
        &client
            .get(format!("{url}/metrics"))
            .bearer_auth("metrics-token")
            .send()
            .await
            .expect("answers")
            .text()
            .await
            .expect("body"),
    );
    assert!(
        seen.contains("chat_relay_requests_total"),
        "the metrics were read"
    );
    for path in ["/healthz", "/", "/index.html"] {
        seen.push_str(
            &client
                .get(format!("{url}{path}"))
                .send()
                .await
                .expect("answers")
                .text()
                .await
                .expect("body"),
        );
    }

    // Stop the relay (SIGTERM) and read everything it logged.
    let pid = relay.id().expect("running").to_string();
    Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    let status = tokio::time::timeout(Duration::from_secs(10), relay.wait())
        .await
        .expect("stops")
        .expect("exit");
    assert!(status.success(), "a clean shutdown on SIGTERM: {status}");
    let mut logs = first_line;
    stdout.read_to_string(&mut logs).await.expect("stdout");
    relay
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut logs)
        .await
        .expect("stderr");
    upstream_task.abort();

    assert!(
        logs.lines()
            .any(|line| line.contains("\"path\":\"/v1/chat/completions\"")
                && line.contains("\"status\":401")),
        "requests are logged: {logs}"
    );
    assert!(!logs.contains(CANARY), "the key is in the logs:\n{logs}");
    assert!(!seen.contains(CANARY), "the key is in a response:\n{seen}");
}

#[test]
fn a_password_in_the_upstream_url_is_not_logged() {
    let mut relay = Command::new(RELAY)
        .args(["--listen", "127.0.0.1:0", "--static-dir", "/nonexistent"])
        .env(
            "CHAT_RELAY_UPSTREAM",
            "https://user:pa55word@upstream.example/v1",
        )
        .env("CHAT_RELAY_API_KEY", CANARY)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    // The start-up lines come before it listens; then it is stopped.
    let mut stdout = std::io::BufReader::new(relay.stdout.take().expect("stdout"));
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut line).expect("reads");
    let _ = Command::new("kill")
        .args(["-TERM", &relay.id().to_string()])
        .status();
    let output = relay.wait_with_output().expect("stops");
    let logs = format!("{line}{}", String::from_utf8_lossy(&output.stderr));
    assert!(logs.contains("upstream.example"), "{logs}");
    assert!(
        !logs.contains("pa55word"),
        "the password is in the log:\n{logs}"
    );
}

/// Starts the binary in demo mode with `flags` (the demo's tokens without a pause, unless they
/// say otherwise); the process (killed when dropped) and its URL.
async fn start_demo(flags: &[&str]) -> (tokio::process::Child, String) {
    let pace: &[&str] = if flags.contains(&"--demo-pace-ms") {
        &[]
    } else {
        &["--demo-pace-ms", "0"]
    };
    spawn(relay().arg("--demo").args(pace).args(flags)).await
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_rate_limit() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let chat = |url: String, forwarded_for: &'static str| {
        let client = client.clone();
        async move {
            client
                .post(format!("{url}/v1/chat/completions"))
                .header("content-type", "application/json")
                .header("x-forwarded-for", forwarded_for)
                .body(r#"{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":false}"#)
                .send()
                .await
                .expect("answers")
                .status()
                .as_u16()
        }
    };
    let limit = ["--rate-per-minute", "1", "--rate-burst", "1"];
    let (_trusting, url) =
        start_demo(&[&limit[..], &["--trusted-proxy", "127.0.0.0/8"]].concat()).await;
    assert_eq!(chat(url.clone(), "203.0.113.1").await, 200);
    assert_eq!(
        chat(url.clone(), "203.0.113.1").await,
        429,
        "one client, one budget"
    );
    assert_eq!(
        chat(url.clone(), "203.0.113.1, 203.0.113.2").await,
        200,
        "another client behind the proxy, whatever the first wrote before it"
    );

    // Without the flag the header is anyone's to write, and nothing changes by it.
    let (_plain, url) = start_demo(&limit).await;
    assert_eq!(chat(url.clone(), "203.0.113.1").await, 200);
    assert_eq!(
        chat(url.clone(), "203.0.113.2").await,
        429,
        "the peer's budget"
    );
}

#[tokio::test]
async fn metrics_count_what_the_relay_did_and_are_served_only_where_the_operator_said() {
    let free = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let metrics_address = free.local_addr().expect("bound");
    drop(free);
    let (mut relay, url) = spawn(
        relay()
            .args(["--demo", "--demo-pace-ms", "0", "--log-format", "json"])
            .args(["--metrics-listen", &metrics_address.to_string()])
            .stderr(Stdio::piped()),
    )
    .await;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let post = |body: &'static str| {
        client
            .post(format!("{url}/v1/chat/completions"))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let answered = post(r#"{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":20,"stream":true}"#)
        .await
        .expect("answers");
    let id = answered
        .headers()
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .expect("a request id")
        .to_owned();
    answered.text().await.expect("the whole stream");
    assert_eq!(post("{").await.expect("answers").status().as_u16(), 400);

    let text = client
        .get(format!("http://{metrics_address}/metrics"))
        .send()
        .await
        .expect("the metrics' own address answers")
        .text()
        .await
        .expect("text");
    let value = |line_start: &str| -> f64 {
        text.lines()
            .find_map(|line| line.strip_prefix(line_start))
            .and_then(|rest| rest.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {line_start} in\n{text}"))
    };
    assert_eq!(
        value("chat_relay_requests_total{route=\"chat\",status=\"200\"}"),
        1.0
    );
    assert_eq!(
        value("chat_relay_requests_total{route=\"chat\",status=\"400\"}"),
        1.0
    );
    assert_eq!(
        value("chat_relay_refusals_total{reason=\"invalid_request\"}"),
        1.0
    );
    assert!(value("chat_relay_tokens_total{direction=\"in\"}") > 0.0);
    assert!(value("chat_relay_tokens_total{direction=\"out\"}") > 0.0);
    assert_eq!(value("chat_relay_time_to_first_byte_seconds_count"), 1.0);
    assert_eq!(value("chat_relay_stream_duration_seconds_count"), 1.0);
    assert_eq!(value("chat_relay_active_streams"), 0.0);
    assert_eq!(
        client
            .get(format!("{url}/metrics"))
            .send()
            .await
            .expect("answers")
            .status()
            .as_u16(),
        404,
        "not on the public address without a token"
    );

    let pid = relay.id().expect("running").to_string();
    Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    let _ = tokio::time::timeout(Duration::from_secs(10), relay.wait()).await;
    let mut logs = String::new();
    relay
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut logs)
        .await
        .expect("stderr");
    let logged: Vec<serde_json::Value> = logs
        .lines()
        .filter(|line| line.starts_with('{'))
        .map(|line| serde_json::from_str(line).expect("each access line is JSON"))
        .collect();
    let first = logged
        .iter()
        .find(|line| line["id"] == id.as_str())
        .unwrap_or_else(|| panic!("no line with the request's id {id}: {logs}"));
    assert_eq!(first["route"], "chat");
    assert_eq!(first["status"], 200);
    assert!(logged
        .iter()
        .any(|line| line["status"] == 400 && line["refused"] == "invalid_request"));
}

/// An upstream that accepts connections and then does what `serve` does with each.
async fn raw_upstream<F, Fut>(serve: F) -> (String, tokio::task::JoinHandle<()>)
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("port");
    let url = format!("http://{}", listener.local_addr().expect("bound"));
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve(stream));
        }
    });
    (url, task)
}

/// Starts the binary in front of `upstream` with `flags`.
async fn start_upstream(upstream: &str, flags: &[&str]) -> (tokio::process::Child, String) {
    spawn(
        relay()
            .args(["--upstream", upstream])
            .args(flags)
            .env("CHAT_RELAY_API_KEY", "sk-test"),
    )
    .await
}

const HELLO: &str =
    r#"{"model":"gemini-1.5-pro","messages":[{"role":"user","content":"hi"}],"stream":true}"#;

async fn post_hello(url: &str) -> reqwest::Response {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
        .post(format!("{url}/v1/chat/completions"))
        .header("content-type", "application/json")
        .body(HELLO)
        .send()
        .await
        .expect("answers")
}

#[tokio::test]
async fn an_upstream_that_never_begins_its_answer_is_a_504_within_the_first_byte_timeout() {
    let (upstream, task) = raw_upstream(|mut stream| async move {
        // Reads the request, then says nothing for a minute.
        let mut buffer = [0u8; 4096];
        let _ = tokio::io::AsyncReadExt::read(&mut stream, &mut buffer).await;
        tokio::time::sleep(Duration::from_secs(60)).await;
    })
    .await;
    let (_relay, url) = start_upstream(&upstream, &["--first-byte-timeout-secs", "1"]).await;
    let started = std::time::Instant::now();
    let response = post_hello(&url).await;
    let waited = started.elapsed();
    assert_eq!(response.status().as_u16(), 504);
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
    let body: serde_json::Value = response.json().await.expect("JSON");
    assert_eq!(body["error"]["type"], "upstream_timeout");
    assert!(body["error"]["message"]
        .as_str()
        .is_some_and(|message| message.contains("did not answer within 1 s")));
    task.abort();
}

#[tokio::test]
async fn a_stream_the_upstream_cuts_short_ends_for_the_browser_with_what_arrived() {
    let (upstream, task) = raw_upstream(|mut stream| async move {
        let mut buffer = [0u8; 4096];
        let _ = tokio::io::AsyncReadExt::read(&mut stream, &mut buffer).await;
        let event = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Half an ans\"}}]}\n\n";
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n{:x}\r\n{event}\r\n",
            event.len()
        );
        let _ = tokio::io::AsyncWriteExt::write_all(&mut stream, head.as_bytes()).await;
        // And the connection drops, with no last chunk and no [DONE].
    })
    .await;
    let (_relay, url) = start_upstream(&upstream, &[]).await;
    let response = post_hello(&url).await;
    assert_eq!(response.status().as_u16(), 200);
    let mut body = response.bytes_stream();
    let mut received = Vec::new();
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(chunk) = futures_util::StreamExt::next(&mut body).await {
            match chunk {
                Ok(bytes) => received.extend_from_slice(&bytes),
                Err(_) => break,
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the browser's stream ends too");
    assert!(String::from_utf8_lossy(&received).contains("Half an ans"));
    task.abort();
}

#[tokio::test]
async fn sigterm_with_a_stream_in_flight_ends_it_within_the_grace_period_and_exits_cleanly() {
    let (mut relay, url) = start_demo(&["--demo-pace-ms", "100"]).await;
    let response = post_hello(&url).await;
    let mut body = response.bytes_stream();
    let first = futures_util::StreamExt::next(&mut body).await;
    assert!(matches!(first, Some(Ok(_))), "the reply began");
    let pid = relay.id().expect("running").to_string();
    let stopped = std::time::Instant::now();
    Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    let drained = tokio::time::timeout(Duration::from_secs(8), async {
        while let Some(Ok(_)) = futures_util::StreamExt::next(&mut body).await {}
    })
    .await;
    assert!(
        drained.is_ok(),
        "the stream ended (finished or cut) in the grace period"
    );
    let status = tokio::time::timeout(Duration::from_secs(8), relay.wait())
        .await
        .expect("exits in time")
        .expect("an exit status");
    assert!(status.success(), "{status}");
    assert!(
        stopped.elapsed() < Duration::from_secs(7),
        "{:?}",
        stopped.elapsed()
    );
}

#[tokio::test]
async fn a_pages_reply_is_resumed_by_its_own_gets_and_by_no_other_site() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (_relay, url) = start_demo(&[
        "--demo-pace-ms",
        "20",
        "--allowed-origin",
        "https://shop.example",
        "--allowed-origin",
        "https://other.example",
    ])
    .await;
    let client = reqwest::Client::new();
    let started = client
        .post(format!("{url}/v1/chat/completions"))
        .header("origin", "https://shop.example")
        .json(&serde_json::json!({
            "model": "demo",
            "messages": [{"role": "user", "content": "a long story"}],
            "stream": true,
        }))
        .send()
        .await
        .expect("answers");
    let id = started.headers()["x-stream-id"]
        .to_str()
        .expect("an id")
        .to_owned();
    let streams = format!("{url}/v1/streams/{id}");
    let resume = |origin: Option<&'static str>, site: Option<&'static str>| {
        let mut request = client.get(&streams).header("last-event-id", "0");
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        if let Some(site) = site {
            request = request.header("sec-fetch-site", site);
        }
        request.send()
    };
    // Browsers send a GET to the page's own origin without `Origin`, and say where it is from.
    for (origin, site) in [
        (Some("https://shop.example"), Some("cross-site")),
        (None, Some("same-origin")),
    ] {
        let resumed = resume(origin, site).await.expect("answers");
        assert_eq!(resumed.status(), StatusCode::OK, "{origin:?} {site:?}");
    }
    // Another page (a link or an image on another site carries no origin, but says where it is),
    // or a script, which says nothing.
    for (origin, site) in [
        (Some("https://other.example"), None),
        (None, Some("cross-site")),
        (None, Some("same-site")),
        (None, None),
    ] {
        let refused = resume(origin, site).await.expect("answers");
        assert_eq!(
            refused.status(),
            StatusCode::FORBIDDEN,
            "{origin:?} {site:?}"
        );
    }
    drop(started);
}
