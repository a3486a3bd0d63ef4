//! The end-to-end harness: the relay's release binary serving the built widget on 127.0.0.1, as
//! `scripts/demo` starts it, and Debian's Chromium driven over WebDriver. Shared by the tests (`tests/`) and the Markdown benchmark (`benches/`).
//! Every server listens on a free port and stops when its handle is dropped.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use axum::Router;
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
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

/// What answers the relay's chat requests.
#[derive(Clone, Debug)]
pub enum Answers {
    /// The offline demo model, with this many milliseconds between tokens.
    Demo {
        /// `--demo-pace-ms`.
        pace_ms: u64,
    },
    /// An OpenAI-compatible API at this base URL; the relay gets a key for it.
    Upstream {
        /// `--upstream`.
        url: String,
    },
}

/// Cargo's target directory: `$CARGO_TARGET_DIR` (a relative one is taken from the workspace's
/// root, where the scripts run), else `target/`.
pub fn target_dir() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), |dir| root.join(dir))
}

/// The release binary of the relay (`$CHAT_RELAY_BIN`, or `release/chat-relay` in cargo's target
/// directory: `$CARGO_TARGET_DIR`, else `target/`), the one `scripts/demo` starts.
pub fn relay_binary() -> PathBuf {
    let binary = std::env::var_os("CHAT_RELAY_BIN")
        .map_or_else(|| target_dir().join("release/chat-relay"), PathBuf::from);
    assert!(
        binary.is_file(),
        "{} is missing: build it first (`cargo build --release -p chat-relay`; scripts/test does)",
        binary.display()
    );
    binary
}

/// The relay as a user runs it: the release binary serving the built widget, started the way
/// `scripts/demo` starts it but on a free port, and stopped when dropped.
pub struct Relay {
    /// `http://127.0.0.1:<port>`, as the relay printed it.
    pub url: String,
    _process: Child,
}

impl Relay {
    /// Starts the relay answering with `answers`, letting pages of `origins` call it too.
    pub async fn start(answers: &Answers, origins: &[String]) -> Self {
        Self::start_with(answers, origins, &[]).await
    }

    /// [`Relay::start`], with more flags (`--policy FILE`, say).
    pub async fn start_with(
        answers: &Answers,
        origins: &[String],
        flags: &[&std::ffi::OsStr],
    ) -> Self {
        Self::serving(&dist(), answers, origins, flags).await
    }

    /// [`Relay::start_with`], serving the files of `static_dir` instead of the built widget.
    pub async fn serving(
        static_dir: &Path,
        answers: &Answers,
        origins: &[String],
        flags: &[&std::ffi::OsStr],
    ) -> Self {
        let mut command = Command::new(relay_binary());
        command
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--static-dir")
            .arg(static_dir);
        // Nothing from the developer's own environment.
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("CHAT_RELAY_") {
                command.env_remove(name);
            }
        }
        match answers {
            Answers::Demo { pace_ms } => {
                command.arg("--demo-pace-ms").arg(pace_ms.to_string());
            }
            Answers::Upstream { url } => {
                command
                    .arg("--upstream")
                    .arg(url)
                    .env("CHAT_RELAY_API_KEY", "e2e-key");
            }
        }
        for origin in origins {
            command.arg("--allowed-origin").arg(origin);
        }
        command.args(flags);
        let mut process = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("the relay starts");
        let output = process.stdout.take().expect("its output");
        let url = listening_url(output, Duration::from_secs(20)).await;
        Relay {
            url,
            _process: process,
        }
    }

    /// A relay some other way started (`scripts/demo`, say) that printed `url`; stopped when
    /// dropped, if `process` was spawned with `kill_on_drop`.
    pub fn started(process: Child, url: String) -> Self {
        Relay {
            url,
            _process: process,
        }
    }

    /// What `/healthz` says now (`active_streams`, `demo_tokens`, ...).
    pub async fn health(&self) -> serde_json::Value {
        let response = http_get(&self.url, "/healthz").await;
        let body = response.split_once("\r\n\r\n").map_or("", |(_, body)| body);
        serde_json::from_str(body).unwrap_or_else(|error| panic!("/healthz: {error}: {response}"))
    }
}

/// The whole response (head and body) to `GET path` from the server at `url`
/// (`http://127.0.0.1:<port>`), over HTTP/1.0.
pub async fn http_get(url: &str, path: &str) -> String {
    let address = url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .unwrap_or_else(|error| panic!("{url} does not answer: {error}"));
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: {address}\r\n\r\n").as_bytes())
        .await
        .expect("asked");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .await
        .expect("an answer");
    response
}

/// Reads the relay's standard output until it says where it listens (`… listening on http://…`),
/// for at most `limit`.
pub async fn listening_url(
    output: impl tokio::io::AsyncRead + Unpin + Send + 'static,
    limit: Duration,
) -> String {
    printed_after(output, "listening on ", limit).await
}

/// Reads a server's standard output until a line says `marker` and returns what follows it (the
/// address it serves at), for at most `limit`. The rest is read to its end in the background, so
/// that what the server prints later never finds its pipe closed.
pub async fn printed_after(
    output: impl tokio::io::AsyncRead + Unpin + Send + 'static,
    marker: &'static str,
    limit: Duration,
) -> String {
    let (tell, told) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        // As bytes: a build's output (cargo's, trunk's) need not be UTF-8 throughout.
        let mut lines = BufReader::new(output).split(b'\n');
        let mut tell = Some(tell);
        while let Ok(Some(line)) = lines.next_segment().await {
            let line = String::from_utf8_lossy(&line);
            if let Some((_, after)) = line.split_once(marker) {
                if let Some(tell) = tell.take() {
                    let _ = tell.send(after.trim().to_owned());
                }
            }
        }
    });
    tokio::time::timeout(limit, told)
        .await
        .unwrap_or_else(|_| panic!("nothing said \"{marker}\" within {limit:?}"))
        .unwrap_or_else(|_| panic!("the server stopped before it said \"{marker}\""))
}

/// Chromium on a page of the relay, with everything stopped when dropped.
pub struct Browser {
    /// The WebDriver session.
    pub client: Client,
    _driver: Child,
    /// The relay serving the page.
    pub relay: Relay,
}

/// The element a widget is mounted on (on the demo page and on the test pages alike).
pub const HOST: &str = "#chat";

/// The widget's message box once the widget itself has loaded (not the stand-in's).
pub const LOADED: &str = ".cw-root:not([data-cw-standin]) .cw-composer__input";

impl Browser {
    /// Chromium on the relay's demo page, once the widget has loaded.
    pub async fn open(answers: Answers) -> Self {
        let browser = Self::launch(answers, Vec::new()).await;
        browser
            .client
            .goto(&browser.relay.url)
            .await
            .expect("the demo page loads");
        browser.find(LOADED).await;
        browser
    }

    /// Chromium on a blank page, and a relay that also lets `origins` call it.
    pub async fn launch(answers: Answers, origins: Vec<String>) -> Self {
        Self::with(Relay::start(&answers, &origins).await).await
    }

    /// Chromium on a blank page, in front of `relay`.
    pub async fn with(relay: Relay) -> Self {
        let (client, driver) = webdriver().await;
        Browser {
            client,
            _driver: driver,
            relay,
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
        let input = self.find(LOADED).await;
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

    /// Loads `url` in the browser, waiting for its load event.
    pub async fn visit(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|error| panic!("{url} did not load: {error}"));
    }

    /// Runs `script` in the page and returns what it returns.
    pub async fn run(&self, script: &str) -> serde_json::Value {
        self.client
            .execute(script, Vec::new())
            .await
            .unwrap_or_else(|error| panic!("{script} failed: {error}"))
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
        save_screenshot(&self.client, name).await;
    }

    /// axe-core's violations on the page as it is now.
    pub async fn axe_violations(&self) -> Vec<serde_json::Value> {
        let path = std::env::var("AXE_CORE").unwrap_or_else(|_| {
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../.tools/axe/node_modules/axe-core/axe.min.js"
            )
            .to_owned()
        });
        let source = std::fs::read_to_string(&path).unwrap_or_else(|error| {
            panic!("axe-core is not at {path} ({error}): scripts/test installs it")
        });
        let client = &self.client;
        client
            .execute(&source, Vec::new())
            .await
            .expect("axe loads");
        let result = client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { resultTypes: ['violations'] })
                   .then((result) => done(result.violations.map((v) => ({
                     id: v.id, impact: v.impact, help: v.help,
                     nodes: v.nodes.map((n) => [n.target, n.failureSummary]) }))))
                   .catch((error) => done([{ id: 'axe failed', help: String(error) }]));",
                Vec::new(),
            )
            .await
            .expect("axe ran");
        result.as_array().cloned().unwrap_or_default()
    }

    /// Chromium against a relay that forwards to `upstream`, with five minutes for a page's
    /// script to answer: a benchmark's long replies.
    pub async fn for_benchmark(upstream: &str) -> Self {
        let browser = Browser::open(Answers::Upstream {
            url: upstream.to_owned(),
        })
        .await;
        browser
            .client
            .update_timeouts(fantoccini::wd::TimeoutConfiguration::new(
                Some(Duration::from_secs(300)),
                None,
                None,
            ))
            .await
            .expect("timeouts");
        browser
    }

    pub async fn close(self) {
        let Browser { client, relay, .. } = self;
        let _ = client.close().await;
        drop(relay);
    }
}

/// Saves what `client` shows as `target/e2e-screenshots/<name>.png`.
pub async fn save_screenshot(client: &Client, name: &str) {
    let png = client.screenshot().await.expect("a screenshot");
    let dir = target_dir().join("e2e-screenshots");
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join(format!("{name}.png")), png);
}

/// A port of 127.0.0.1 that was free a moment ago, for a process that must be told its port
/// (one that can take port 0 and say which it got should).
pub fn free_port() -> u16 {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    probe.local_addr().expect("bound").port()
}

/// Debian's Chromium over WebDriver, on a free port; the driver stops when its handle is dropped.
pub async fn webdriver() -> (Client, Child) {
    let port = free_port();
    let chromedriver = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".to_owned());
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
    (client, driver)
}

/// A host page with the README's snippet: the widget's script from `script` and one element,
/// `#chat`, whose `data-chat-widget` is `config`.
pub fn host_page(script: &str, config: &serde_json::Value, html_attributes: &str) -> String {
    format!(
        r#"<!doctype html>
<html {html_attributes}>
  <head>
    <meta charset="utf-8">
    <title>A shop</title>
    <script type="module" src="{script}"></script>
  </head>
  <body>
    <main>
      <h1>A shop that embeds a chat</h1>
      <p>Opening hours, prices and the rest of the page.</p>
      <div id="chat" data-chat-widget='{config}'></div>
      <p id="after">What the page says below the chat.</p>
    </main>
  </body>
</html>"#
    )
}

/// A Chrome DevTools Protocol command, sent through ChromeDriver to the session's page.
#[derive(Debug)]
pub struct Cdp {
    command: &'static str,
    params: serde_json::Value,
}

impl Cdp {
    /// `command` (`Performance.getMetrics`, say) with its `params` object.
    pub fn new(command: &'static str, params: serde_json::Value) -> Self {
        Cdp { command, params }
    }
}

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
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
            Some(json!({"cmd": self.command, "params": self.params}).to_string()),
        )
    }
}

/// Chromium's main-thread metrics for the page so far (`Performance.getMetrics`; the domain must be
/// The page's main-thread time so far, in seconds (Chromium's `Performance.getMetrics`): in all its
/// tasks, and of that in script, in layout and in style recalculation.
pub async fn main_thread_seconds(client: &Client) -> [f64; 4] {
    main_thread_metrics(
        client,
        [
            "TaskDuration",
            "ScriptDuration",
            "LayoutDuration",
            "RecalcStyleDuration",
        ],
    )
    .await
}

/// enabled), in seconds, in the order of `names` (`TaskDuration`, `ScriptDuration`, ...).
pub async fn main_thread_metrics<const N: usize>(client: &Client, names: [&str; N]) -> [f64; N] {
    let metrics = client
        .issue_cmd(Cdp::new("Performance.getMetrics", json!({})))
        .await
        .expect("metrics");
    names.map(|name| {
        metrics["metrics"]
            .as_array()
            .and_then(|metrics| metrics.iter().find(|metric| metric["name"] == name))
            .and_then(|metric| metric["value"].as_f64())
            .unwrap_or_else(|| panic!("no {name} among Chromium's metrics"))
    })
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
