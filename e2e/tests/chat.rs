//! The built widget in Debian's Chromium, driven over WebDriver, against the real relay: what a
//! person does and sees. Every server listens on 127.0.0.1 on a free port and stops with its test.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::post;
use axum::Router;
use chat_relay::{ApiKey, Config, Mode, Stats};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::process::{Child, Command};

const CHROME_ARGS: [&str; 9] = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=900,800",
];

/// The WebDriver key code for Enter.
const ENTER: &str = "\u{E007}";

fn dist() -> PathBuf {
    let dist = std::env::var_os("CHAT_WIDGET_DIST").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../dist"),
        PathBuf::from,
    );
    assert!(
        dist.join("index.html").is_file(),
        "{} has no index.html: build the widget first (`trunk build --release`; scripts/test does)",
        dist.display()
    );
    dist
}

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

/// Chromium on a page of the relay, with everything stopped when dropped.
struct Browser {
    client: Client,
    _driver: Child,
    relay: Server,
    stats: Arc<Stats>,
}

impl Browser {
    async fn open(mode: Mode) -> Self {
        let config = Config {
            mode,
            static_dir: dist(),
            ..Config::demo()
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let mut config = config;
        config.accept_local_origins(listener.local_addr().expect("bound"));
        let (router, stats) = chat_relay::router(config);
        let relay = serve_on(listener, router);
        let port = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
            probe.local_addr().expect("bound").port()
        };
        let chromedriver =
            std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".to_owned());
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {chromedriver}: {error}"));
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({"args": CHROME_ARGS, "binary": std::env::var("CHROME").unwrap_or_else(|_| "/usr/bin/chromium".into())}),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let started = Instant::now();
        let client = loop {
            match ClientBuilder::new(connector.clone())
                .capabilities(capabilities.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(client) => break client,
                Err(error) if started.elapsed() > Duration::from_secs(30) => {
                    panic!("no WebDriver session: {error}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        };
        client.goto(&relay.url).await.expect("the demo page loads");
        let browser = Browser {
            client,
            _driver: driver,
            relay,
            stats,
        };
        browser.find("textarea[aria-label='Message']").await;
        browser
    }

    async fn find(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|error| panic!("no {css} on the page: {error}"))
    }

    async fn send(&self, text: &str) {
        let input = self.find("textarea[aria-label='Message']").await;
        input.send_keys(text).await.expect("typed");
        input.send_keys(ENTER).await.expect("Enter pressed");
    }

    async fn click(&self, button: &str) {
        let xpath = format!("//button[normalize-space()='{button}']");
        let element = self
            .client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|error| panic!("no {button} button: {error}"));
        element.click().await.expect("clicked");
    }

    /// The text of the last assistant message.
    async fn reply_text(&self) -> String {
        self.find("[data-role='assistant']:last-of-type .cw-message__text")
            .await
            .text()
            .await
            .expect("text")
    }

    async fn save_screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("a screenshot");
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/e2e-screenshots");
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::write(dir.join(format!("{name}.png")), png);
    }

    async fn close(self) {
        let Browser { client, relay, .. } = self;
        let _ = client.close().await;
        drop(relay);
    }
}

async fn eventually(what: &str, timeout: Duration, mut check: impl AsyncFnMut() -> bool) {
    let started = Instant::now();
    while !check().await {
        assert!(
            started.elapsed() < timeout,
            "{what} did not happen within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn demo(pace_ms: u64) -> Mode {
    Mode::Demo {
        pace: Duration::from_millis(pace_ms),
    }
}

#[tokio::test]
async fn a_message_gets_a_streamed_demo_reply() {
    let browser = Browser::open(demo(15)).await;
    browser.send("Hello otters").await;
    let user = browser.find("[data-role='user']").await;
    assert_eq!(
        user.text()
            .await
            .expect("text")
            .trim_start_matches("You said:")
            .trim(),
        "Hello otters"
    );
    browser
        .find("[data-role='assistant'][data-status='streaming']")
        .await;
    let partial = browser.reply_text().await;
    browser
        .find("[data-role='assistant'][data-status='done']")
        .await;
    let reply = browser.reply_text().await;
    assert!(
        reply.len() > partial.len(),
        "the reply grew while streaming: {partial:?}"
    );
    assert!(
        reply.contains("demo model") && reply.contains("otters"),
        "{reply}"
    );
    browser.save_screenshot("demo-reply").await;
    browser.close().await;
}

#[tokio::test]
async fn stop_keeps_the_partial_reply_and_the_relay_stops_generating() {
    let browser = Browser::open(demo(30)).await;
    browser.send("Tell me a long story").await;
    browser
        .find("[data-role='assistant'][data-status='streaming']")
        .await;
    eventually("some text", Duration::from_secs(10), async || {
        browser.reply_text().await.len() > 40
    })
    .await;
    browser.click("Stop").await;
    browser
        .find("[data-role='assistant'][data-status='stopped']")
        .await;
    let stopped = browser.reply_text().await;
    assert!(
        stopped.starts_with("Hello! I am the demo model"),
        "{stopped}"
    );
    let stats = browser.stats.clone();
    eventually(
        "the relay's stream ending",
        Duration::from_secs(1),
        async || stats.active_streams() == 0,
    )
    .await;
    let tokens = stats.demo_tokens();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        stats.demo_tokens(),
        tokens,
        "the demo model kept generating after Stop"
    );
    assert_eq!(
        browser.reply_text().await,
        stopped,
        "the partial text stays as it was"
    );
    browser.close().await;
}

#[tokio::test]
async fn upstream_401_and_429_reach_the_page_as_readable_alerts() {
    let calls = Arc::new(AtomicUsize::new(0));
    let upstream = serve(Router::new().route(
        "/chat/completions",
        post(move || {
            let call = calls.fetch_add(1, Ordering::SeqCst);
            async move {
                if call == 0 {
                    let body = r#"{"message":"This request requires a valid API key.","path":"/v1/chat/completions","statusCode":401}"#;
                    (StatusCode::UNAUTHORIZED, [("content-type", "application/json"), ("retry-after", "0")], body)
                        .into_response()
                } else {
                    let body = r#"{"error":{"message":"Rate limit reached for requests","type":"requests","code":"rate_limit_exceeded"}}"#;
                    (StatusCode::TOO_MANY_REQUESTS, [("content-type", "application/json"), ("retry-after", "20")], body)
                        .into_response()
                }
            }
        }),
    ))
    .await;
    let mode = Mode::Upstream {
        base_url: upstream.url.clone(),
        key: ApiKey::new("test-key"),
    };
    let browser = Browser::open(mode).await;
    browser.send("Hello").await;
    let alert = browser
        .find("[role='alert']")
        .await
        .text()
        .await
        .expect("text");
    assert!(
        alert.contains("This request requires a valid API key.") && alert.contains("401"),
        "{alert}"
    );
    browser.click("Retry").await;
    eventually("the 429 alert", Duration::from_secs(10), async || {
        let alert = browser
            .find("[role='alert']")
            .await
            .text()
            .await
            .unwrap_or_default();
        alert.contains("Rate limit reached for requests") && alert.contains("429")
    })
    .await;
    let user = browser
        .find("[data-role='user']")
        .await
        .text()
        .await
        .expect("text");
    assert!(
        user.contains("Hello"),
        "the typed message is still there: {user}"
    );
    browser.save_screenshot("rate-limit-alert").await;
    browser.close().await;
}
