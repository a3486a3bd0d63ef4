//! The widget as a website owner embeds it: the snippet on a page of another origin than the
//! relay, the launcher, a strict Content Security Policy, other words and right to left, and an
//! accessibility scan with axe-core.

use std::time::Duration;

use axum::http::header::CONTENT_SECURITY_POLICY;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::Router;
use chat_e2e::{dist, eventually, serve_on, Browser, Server};
use chat_relay::Mode;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tower_http::services::ServeDir;

/// The WebDriver key code for Escape.
const ESCAPE: &str = "\u{E00C}";

/// A host page with the README's snippet: the widget's script from `script` and one element whose
/// `data-chat-widget` is `config`.
fn host_page(script: &str, config: &Value, html_attributes: &str) -> String {
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
    </main>
  </body>
</html>"#
    )
}

/// A relay with demo replies, Chromium, and a second server (another origin: another port) that
/// serves the host pages and, for the strict-CSP page, its own copy of the widget's files.
struct Embedding {
    browser: Browser,
    host: Server,
}

impl Embedding {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let host_origin = format!("http://{}", listener.local_addr().expect("bound"));
        let browser = Browser::launch(
            Mode::Demo {
                pace: Duration::from_millis(5),
            },
            vec![host_origin],
        )
        .await;
        let relay = browser.relay.url.clone();
        let endpoint = format!("{relay}/v1/chat/completions");
        let from_relay = format!("{relay}/embed.js");
        let inline = json!({"endpoint": endpoint, "title": "Shop assistant", "id": "inline"});
        let dark = json!({"endpoint": endpoint, "title": "Shop assistant", "id": "dark", "color_scheme": "dark"});
        let launcher = json!({"endpoint": endpoint, "title": "Shop assistant", "id": "launcher", "presentation": "launcher"});
        let arabic = json!({
            "endpoint": endpoint, "id": "rtl", "title": "المساعد",
            "placeholder": "اكتب رسالة…",
            "strings": {"send": "إرسال", "message_box": "رسالة", "settings": "الإعدادات", "new_conversation": "جديدة"}
        });
        let policy = format!(
            "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
             connect-src 'self' {relay}; img-src 'self' data:; base-uri 'none'; form-action 'none'"
        );
        let pages = Router::new()
            .route(
                "/inline",
                get(Html(host_page(&from_relay, &inline, r#"lang="en""#))),
            )
            .route(
                "/dark",
                get(Html(host_page(&from_relay, &dark, r#"lang="en""#))),
            )
            .route(
                "/launcher",
                get(Html(host_page(&from_relay, &launcher, r#"lang="en""#))),
            )
            .route(
                "/rtl",
                get(Html(host_page(
                    &from_relay,
                    &arabic,
                    r#"lang="ar" dir="rtl""#,
                ))),
            )
            .route(
                "/strict",
                get(move || async move {
                    (
                        [(CONTENT_SECURITY_POLICY, policy.clone())],
                        Html(host_page("/embed.js", &inline, r#"lang="en""#)),
                    )
                        .into_response()
                }),
            )
            .fallback_service(ServeDir::new(dist()));
        let host = serve_on(listener, pages);
        Embedding { browser, host }
    }

    async fn visit(&self, page: &str) {
        let url = format!("{}/{page}", self.host.url);
        self.browser
            .client
            .goto(&url)
            .await
            .expect("the page loads");
    }

    async fn chat(&self, text: &str) -> String {
        let browser = &self.browser;
        browser.send(text).await;
        browser
            .find("[data-role='assistant'][data-status='done']")
            .await;
        browser.reply_text().await
    }

    /// axe-core's violations on the page as it is now.
    async fn axe_violations(&self) -> Vec<Value> {
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
        let client = &self.browser.client;
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

    async fn close(self) {
        let Embedding { browser, host } = self;
        browser.close().await;
        drop(host);
    }
}

#[tokio::test]
async fn the_snippet_on_a_page_of_another_origin_mounts_and_chats_through_the_relay() {
    let page = Embedding::start().await;
    page.visit("inline").await;
    let reply = page.chat("Hello from the shop").await;
    assert!(reply.contains("demo model"), "{reply}");
    // The page's own origin is not the relay's: the request went across, allowed by the list.
    let origin = page.browser.in_widget("return location.origin").await;
    assert_eq!(origin, json!(page.host.url));
    assert_ne!(page.host.url, page.browser.relay.url);
    page.close().await;
}

#[tokio::test]
async fn the_widget_works_under_a_strict_content_security_policy() {
    let page = Embedding::start().await;
    page.visit("strict").await;
    let reply = page.chat("Hello under a strict policy").await;
    assert!(reply.contains("demo model"), "{reply}");
    // Its style sheet applied: the chat box has its border and radius.
    let style = page
        .browser
        .in_widget(
            "const s = getComputedStyle(shadow.querySelector('.cw-chat'));
             return [s.borderTopLeftRadius, s.display];",
        )
        .await;
    assert_eq!(style, json!(["14px", "flex"]));
    page.close().await;
}

#[tokio::test]
async fn the_launcher_opens_closes_with_escape_and_gives_the_focus_back() {
    let page = Embedding::start().await;
    page.visit("launcher").await;
    let browser = &page.browser;
    let launcher = browser.find(".cw-launcher").await;
    let hidden = async || {
        browser
            .in_widget("return shadow.querySelector('.cw-panel').hidden")
            .await
    };
    assert_eq!(hidden().await, json!(true));
    browser.save_screenshot("launcher-closed").await;
    launcher.click().await.expect("clicked");
    eventually("the panel opens", Duration::from_secs(5), async || {
        hidden().await == json!(false)
    })
    .await;
    let focused = async || {
        browser
            .in_widget("return shadow.activeElement && shadow.activeElement.className")
            .await
    };
    eventually("focus in the panel", Duration::from_secs(5), async || {
        focused().await == json!("cw-composer__input")
    })
    .await;
    page.chat("What are your opening hours?").await;
    browser.save_screenshot("launcher-open").await;
    let input = browser.find("textarea").await;
    input.send_keys(ESCAPE).await.expect("Esc pressed");
    eventually("Esc closes the panel", Duration::from_secs(5), async || {
        hidden().await == json!(true)
    })
    .await;
    assert_eq!(
        focused().await,
        json!("cw-launcher cw-launcher--bottom-right"),
        "focus is back on the launcher"
    );
    // Below 480 px wide, the open panel takes the whole window.
    browser
        .client
        .set_window_size(400, 700)
        .await
        .expect("resized");
    launcher.click().await.expect("clicked");
    eventually("the panel opens", Duration::from_secs(5), async || {
        hidden().await == json!(false)
    })
    .await;
    let fills = browser
        .in_widget(
            "const r = shadow.querySelector('.cw-panel').getBoundingClientRect();
             return r.left === 0 && r.top === 0 && r.width === innerWidth && r.height === innerHeight;",
        )
        .await;
    assert_eq!(fills, json!(true), "full screen on a narrow window");
    page.close().await;
}

#[tokio::test]
async fn overridden_strings_and_right_to_left_are_shown() {
    let page = Embedding::start().await;
    page.visit("rtl").await;
    let browser = &page.browser;
    browser.find("textarea[aria-label='رسالة']").await;
    let shown = browser
        .in_widget(
            "const chat = shadow.querySelector('.cw-chat');
             return [getComputedStyle(chat).direction,
                     [...shadow.querySelectorAll('button')].map((b) => b.textContent.trim())];",
        )
        .await;
    assert_eq!(shown[0], json!("rtl"));
    let buttons = shown[1].to_string();
    assert!(
        buttons.contains("الإعدادات") && buttons.contains("جديدة"),
        "{buttons}"
    );
    browser.send("مرحبا").await;
    browser
        .find("[data-role='assistant'][data-status='done']")
        .await;
    browser.save_screenshot("right-to-left").await;
    page.close().await;
}

#[tokio::test]
async fn axe_finds_no_violations_inline_dark_and_in_the_open_launcher() {
    let page = Embedding::start().await;
    for (name, config) in [("inline", "inline"), ("dark", "dark")] {
        page.visit(config).await;
        page.chat("Show me a table and some code").await;
        let violations = page.axe_violations().await;
        assert!(
            violations.is_empty(),
            "{name}: {}",
            serde_json::to_string_pretty(&violations).unwrap_or_default()
        );
        if name == "dark" {
            page.browser.save_screenshot("inline-dark").await;
        }
    }
    page.visit("launcher").await;
    page.browser.find(".cw-launcher").await;
    let closed = page.axe_violations().await;
    assert!(closed.is_empty(), "closed launcher: {closed:?}");
    page.browser
        .find(".cw-launcher")
        .await
        .click()
        .await
        .expect("clicked");
    page.chat("Hello").await;
    page.browser.click("Settings").await;
    let open = page.axe_violations().await;
    assert!(
        open.is_empty(),
        "open launcher: {}",
        serde_json::to_string_pretty(&open).unwrap_or_default()
    );
    page.close().await;
}
