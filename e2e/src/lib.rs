//! The end-to-end harness: the relay serving the built widget on 127.0.0.1, and Debian's Chromium
//! driven over WebDriver. Shared by the tests (`tests/`) and the Markdown benchmark (`benches/`).
//! Every server listens on a free port and stops when its handle is dropped.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use chat_relay::{Config, Mode, Stats};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::process::{Child, Command};

/// Chromium's flags: headless, and quiet on a machine without internet.
pub const CHROME_ARGS: [&str; 9] = [
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
pub const ENTER: &str = "\u{E007}";

/// The built widget: `$CHAT_WIDGET_DIST` or `dist/`.
pub fn dist() -> PathBuf {
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
pub struct Server {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves `router` on a free port.
pub async fn serve(router: Router) -> Server {
    serve_on(
        TcpListener::bind("127.0.0.1:0").await.expect("a free port"),
        router,
    )
}

/// Serves `router` on `listener`.
pub fn serve_on(listener: TcpListener, router: Router) -> Server {
    let url = format!("http://{}", listener.local_addr().expect("bound"));
    let service = router.into_make_service_with_connect_info::<SocketAddr>();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, service).await;
    });
    Server { url, task }
}

/// Chromium on a page of the relay, with everything stopped when dropped.
pub struct Browser {
    /// The WebDriver session.
    pub client: Client,
    _driver: Child,
    /// The relay serving the page.
    pub relay: Server,
    /// The relay's counters.
    pub stats: Arc<Stats>,
}

/// The element a widget is mounted on.
pub const HOST: &str = "[data-chat-widget]";

impl Browser {
    /// Chromium on the relay's demo page.
    pub async fn open(mode: Mode) -> Self {
        let browser = Self::launch(mode, Vec::new()).await;
        browser
            .client
            .goto(&browser.relay.url)
            .await
            .expect("the demo page loads");
        browser.find("textarea[aria-label='Message']").await;
        browser
    }

    /// Chromium on a blank page, and a relay that also lets `origins` call it.
    pub async fn launch(mode: Mode, origins: Vec<String>) -> Self {
        let config = Config {
            mode,
            static_dir: dist(),
            ..Config::demo()
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let mut config = config;
        config.accept_local_origins(listener.local_addr().expect("bound"));
        config.allowed_origins.extend(origins);
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
        Browser {
            client,
            _driver: driver,
            relay,
            stats,
        }
    }

    /// The first element inside the widget's shadow root that matches `css`, waiting for it.
    pub async fn find(&self, css: &str) -> Element {
        let started = Instant::now();
        loop {
            if let Some(element) = self.find_all(css).await.into_iter().next() {
                return element;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "no {css} in the widget"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Every element inside the widget's shadow root that matches `css`, now.
    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        let Ok(host) = self.client.find(Locator::Css(HOST)).await else {
            return Vec::new();
        };
        let Ok(shadow) = host.shadow_root().await else {
            return Vec::new();
        };
        shadow.find_all(Locator::Css(css)).await.unwrap_or_default()
    }

    pub async fn send(&self, text: &str) {
        let input = self.find("textarea.cw-composer__input").await;
        input.send_keys(text).await.expect("typed");
        input.send_keys(ENTER).await.expect("Enter pressed");
    }

    /// Clicks the widget's button whose text is `button`, waiting for it.
    pub async fn click(&self, button: &str) {
        let started = Instant::now();
        loop {
            for element in self.find_all("button").await {
                if element.text().await.is_ok_and(|text| text.trim() == button) {
                    element.click().await.expect("clicked");
                    return;
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "no {button} button"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Runs `script` in the page with `shadow` bound to the widget's shadow root, and returns what
    /// it returns.
    pub async fn in_widget(&self, script: &str) -> serde_json::Value {
        let script =
            format!("const shadow = document.querySelector('{HOST}').shadowRoot; {script}");
        self.client
            .execute(&script, Vec::new())
            .await
            .unwrap_or_else(|error| panic!("{script} failed: {error}"))
    }

    /// The text of the last assistant message.
    pub async fn reply_text(&self) -> String {
        self.find("[data-role='assistant']:last-of-type .cw-message__text")
            .await
            .text()
            .await
            .expect("text")
    }

    pub async fn save_screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("a screenshot");
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/e2e-screenshots");
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::write(dir.join(format!("{name}.png")), png);
    }

    pub async fn close(self) {
        let Browser { client, relay, .. } = self;
        let _ = client.close().await;
        drop(relay);
    }
}

/// Waits until `check` holds, failing after `timeout`.
pub async fn eventually(what: &str, timeout: Duration, mut check: impl AsyncFnMut() -> bool) {
    let started = Instant::now();
    while !check().await {
        assert!(
            started.elapsed() < timeout,
            "{what} did not happen within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
