//! The widget as a website owner embeds it: the snippet on a page of another origin than the
//! relay, the launcher, a strict Content Security Policy, other words and right to left, and an
//! accessibility scan with axe-core.

use std::time::Duration;

use axum::http::header::CONTENT_SECURITY_POLICY;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::Router;
use chat_e2e::{dist, eventually, host_page, serve_on, Answers, Browser, Server};
use serde_json::json;
use tokio::net::TcpListener;
use tower_http::services::ServeDir;

/// The WebDriver key code for Escape.
const ESCAPE: &str = "\u{E00C}";

/// The host page as it is without the widget: no script, no element.
fn plain_page() -> String {
    let page = host_page("/none.js", &json!({}), r#"lang="en""#);
    let without = page
        .replace(r#"<script type="module" src="/none.js"></script>"#, "")
        .replace(r#"<div id="chat" data-chat-widget='{}'></div>"#, "");
    assert!(!without.contains("script") && !without.contains("data-chat-widget"));
    without
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
        let browser = Browser::launch(Answers::Demo { pace_ms: 5 }, vec![host_origin]).await;
        let relay = browser.relay.url.clone();
        let endpoint = format!("{relay}/v1/chat/completions");
        let from_relay = format!("{relay}/embed.js");
        let welcome = "Hello! Ask me about **orders**, returns or opening hours.";
        let suggestions = ["Where is my order?", "Opening hours"];
        let inline = json!({"endpoint": endpoint, "title": "Shop assistant", "id": "inline", "welcome": welcome, "suggestions": suggestions, "voice": true});
        let dark = json!({"endpoint": endpoint, "title": "Shop assistant", "id": "dark", "color_scheme": "dark", "welcome": welcome, "suggestions": suggestions, "voice": true});
        let launcher = json!({"endpoint": endpoint, "title": "Shop assistant", "id": "launcher", "presentation": "launcher"});
        let launcher_dark = json!({
            "endpoint": endpoint, "title": "Shop assistant", "id": "launcher-dark", "presentation": "launcher",
            "color_scheme": "dark", "load": "eager", "greeting": {"text": "Questions about an order? Ask me.", "delay_ms": 200}
        });
        let arabic = json!({
            "endpoint": endpoint, "id": "rtl", "title": "المساعد",
            "placeholder": "اكتب رسالة…",
            "strings": {"send": "إرسال", "message_box": "رسالة", "settings": "الإعدادات", "new_conversation": "جديدة"}
        });
        let french = json!({"endpoint": endpoint, "id": "french"});
        let arabic_locale = json!({"endpoint": endpoint, "id": "arabic", "locale": "ar"});
        let german_override =
            json!({"endpoint": endpoint, "id": "german", "strings": {"send": "Los"}});
        let policy = format!(
            "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
             connect-src 'self' {relay}; img-src 'self' data:; base-uri 'none'; form-action 'none'"
        );
        let pages = Router::new()
            .route(
                "/inline",
                get(Html(host_page(&from_relay, &inline, r#"lang="en""#))),
            )
            .route("/plain", get(Html(plain_page())))
            .route(
                "/dark",
                get(Html(host_page(&from_relay, &dark, r#"lang="en""#))),
            )
            .route(
                "/launcher",
                get(Html(host_page(&from_relay, &launcher, r#"lang="en""#))),
            )
            .route(
                "/launcher-dark",
                get(Html(host_page(&from_relay, &launcher_dark, r#"lang="en""#))),
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
                "/french",
                get(Html(host_page(&from_relay, &french, r#"lang="fr-CA""#))),
            )
            .route(
                "/arabic",
                get(Html(host_page(&from_relay, &arabic_locale, r#"lang="en""#))),
            )
            .route(
                "/german",
                get(Html(host_page(
                    &from_relay,
                    &german_override,
                    r#"lang="de-AT""#,
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
        self.browser
            .visit(&format!("{}/{page}", self.host.url))
            .await;
    }

    async fn chat(&self, text: &str) -> String {
        let browser = &self.browser;
        browser.send(text).await;
        browser
            .find("[data-role='assistant'][data-status='done']")
            .await;
        browser.reply_text().await
    }

    /// Fails, naming `what` and listing them, if axe-core finds violations on the page as it is.
    async fn assert_accessible(&self, what: &str) {
        let violations = self.browser.axe_violations().await;
        assert!(
            violations.is_empty(),
            "{what}: {}",
            serde_json::to_string_pretty(&violations).unwrap_or_default()
        );
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
    // The reply's code is highlighted: the highlighter, a module of its own, came across too.
    page.browser
        .find("code[data-language='rust'] .cw-tok-keyword")
        .await;
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
    // The highlighter's module loaded under the policy too.
    page.browser
        .find("code[data-language='rust'] .cw-tok-keyword")
        .await;
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
    // The widget has replaced the stand-in's button with its own.
    let launcher = browser.find(".cw-launcher").await;
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
    browser
        .find(".cw-root:not([data-cw-standin]) textarea[aria-label='رسالة']")
        .await;
    let shown = browser
        .in_widget(
            "const chat = shadow.querySelector('.cw-chat');
             return [getComputedStyle(chat).direction,
                     [...shadow.querySelectorAll('button')]
                       .map((b) => b.textContent.trim() || b.getAttribute('aria-label'))];",
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
        // The welcome and the suggestions of an empty conversation.
        page.browser.find(".cw-suggestion").await;
        page.assert_accessible(&format!("{name}, welcome and suggestions"))
            .await;
        page.browser
            .save_screenshot(&format!("welcome-{name}"))
            .await;
        page.chat("Show me a table and some code").await;
        page.assert_accessible(&format!("{name}, a reply")).await;
        // Reasoning (opened again), sources and math.
        page.browser
            .send("Think, then cite your sources, with some math")
            .await;
        page.browser
            .find("[data-role='assistant']:last-of-type[data-status='done'] .cw-sources")
            .await;
        page.browser
            .in_widget("shadow.querySelector('[data-role=assistant]:last-of-type .cw-thinking').open = true; return true;")
            .await;
        page.assert_accessible(&format!("{name}, reasoning, sources and math"))
            .await;
        page.browser
            .save_screenshot(&format!("richer-{name}"))
            .await;
        // 👎 and its comment, by keyboard: focus the button, press Enter, type, send.
        let bad = page.browser.find("button[aria-label='Bad reply']").await;
        bad.send_keys(chat_e2e::ENTER).await.expect("pressed");
        let comment = page.browser.find(".cw-feedback__form textarea").await;
        comment.send_keys("Too long").await.expect("typed");
        page.assert_accessible(&format!("{name}, feedback")).await;
        page.browser
            .save_screenshot(&format!("feedback-{name}"))
            .await;
        // Dictation listening, with a scripted recognizer in place of the browser's (which would
        // need a microphone): the pressed microphone and the status line.
        page.browser
            .run("window.SpeechRecognition = class { start() {} stop() { this.onend?.(); } abort() {} };")
            .await;
        page.browser
            .find("button[aria-label='Dictate']")
            .await
            .click()
            .await
            .expect("clicked");
        page.browser
            .find(".cw-composer__listening:not(:empty)")
            .await;
        page.assert_accessible(&format!("{name}, listening")).await;
        page.browser
            .save_screenshot(&format!("listening-{name}"))
            .await;
        if name == "dark" {
            page.browser.save_screenshot("inline-dark").await;
        }
    }
    page.visit("launcher").await;
    page.browser.find(".cw-launcher").await;
    page.assert_accessible("closed launcher").await;
    page.browser
        .find(".cw-launcher")
        .await
        .click()
        .await
        .expect("clicked");
    page.chat("Hello").await;
    page.browser.click("Settings").await;
    page.assert_accessible("open launcher").await;
    // A reply that finishes while the panel is closed: the badge.
    page.browser.click("Done").await;
    page.browser.send("Tell me a long story").await;
    let input = page.browser.find(chat_e2e::LOADED).await;
    input.send_keys("\u{E00C}").await.expect("Escape");
    page.browser.find(".cw-launcher__badge").await;
    page.assert_accessible("the badge").await;
    page.browser.save_screenshot("launcher-badge").await;
    // The greeting and the badge in dark.
    page.visit("launcher-dark").await;
    page.browser.find(".cw-greeting__text").await;
    tokio::time::sleep(Duration::from_millis(400)).await; // its fade-in
    page.assert_accessible("the greeting, dark").await;
    page.browser.save_screenshot("launcher-greeting-dark").await;
    page.browser
        .find(".cw-launcher")
        .await
        .click()
        .await
        .expect("clicked");
    page.browser.send("Tell me a long story").await;
    let input = page.browser.find(chat_e2e::LOADED).await;
    input.send_keys("\u{E00C}").await.expect("Escape");
    page.browser.find(".cw-launcher__badge").await;
    page.assert_accessible("the badge, dark").await;
    page.browser.save_screenshot("launcher-badge-dark").await;
    page.close().await;
}

/// Every computed style that a page could push into the widget, for each element in its shadow
/// root, as one string per element.
const STYLE_SNAPSHOT: &str = "
    const properties = ['color', 'background-color', 'font-family', 'font-size', 'font-weight',
        'font-style', 'line-height', 'letter-spacing', 'word-spacing', 'text-transform', 'text-align',
        'white-space', 'padding-top', 'margin-top', 'border-top-width', 'border-top-color', 'display',
        'visibility', 'box-shadow', 'text-decoration-line', 'opacity'];
    return [...shadow.querySelectorAll('*')].map((element) => {
        const style = getComputedStyle(element);
        return properties.map((property) => style.getPropertyValue(property)).join(';');
    });";

/// The same computed styles for the page's own elements, outside the widget.
const PAGE_SNAPSHOT: &str = "
    const properties = ['color', 'background-color', 'font-family', 'font-size', 'font-weight',
        'line-height', 'margin-top', 'padding-top', 'display', 'color-scheme'];
    return [...document.querySelectorAll('html, body, main, h1, p')].map((element) => {
        const style = getComputedStyle(element);
        return properties.map((property) => style.getPropertyValue(property)).join(';');
    });";

#[tokio::test]
async fn a_hostile_page_style_sheet_changes_nothing_inside_and_the_widget_leaks_nothing_out() {
    let page = Embedding::start().await;
    let browser = &page.browser;
    // The page without the widget, then with it: its own elements look the same.
    page.visit("plain").await;
    let page_alone = browser
        .client
        .execute(PAGE_SNAPSHOT, Vec::new())
        .await
        .expect("measured");
    page.visit("inline").await;
    page.chat("Show me a table and some code").await;
    let page_with_widget = browser
        .client
        .execute(PAGE_SNAPSHOT, Vec::new())
        .await
        .expect("measured");
    assert_eq!(
        page_alone, page_with_widget,
        "the widget's styles stay inside"
    );
    let before = browser.in_widget(STYLE_SNAPSHOT).await;
    browser
        .in_widget(
            "const hostile = document.createElement('style');
             hostile.textContent = `* { color: red !important; background: yellow !important;
                 font: italic 30px/3 serif !important; letter-spacing: 4px !important;
                 text-transform: uppercase !important; text-align: right !important;
                 padding: 9px !important; margin: 9px !important; border: 5px solid lime !important;
                 box-shadow: 0 0 9px red !important; opacity: 0.5 !important; }
               div, section, button, textarea, p, ul, li, table, pre, code { display: inline !important; }
               .cw-chat, .cw-message, .cw-button, .cw-composer, [role=log] { display: none !important; }`;
             document.head.append(hostile);
             return true;",
        )
        .await;
    let after = browser.in_widget(STYLE_SNAPSHOT).await;
    let (before, after) = (
        before.as_array().cloned().unwrap_or_default(),
        after.as_array().cloned().unwrap_or_default(),
    );
    assert!(before.len() > 50, "a whole reply was measured");
    assert_eq!(before.len(), after.len());
    for (index, (before, after)) in before.iter().zip(&after).enumerate() {
        assert_eq!(before, after, "element {index} of the widget changed");
    }
    browser.save_screenshot("hostile-page").await;
    page.close().await;
}

#[tokio::test]
async fn the_widget_speaks_the_pages_language_or_the_configs_with_the_configs_words_first() {
    let page = Embedding::start().await;
    // The page's `lang`, by its language (fr-CA is French).
    page.visit("french").await;
    page.browser.find(chat_e2e::LOADED).await;
    let send = page
        .browser
        .in_widget("return shadow.querySelector('.cw-button--send').textContent")
        .await;
    assert_eq!(send, json!("Envoyer"));
    let box_label = page
        .browser
        .in_widget("return shadow.querySelector('.cw-composer__input').getAttribute('aria-label')")
        .await;
    assert_eq!(box_label, json!("Message"), "French for the message box");
    let reply = page.chat("Bonjour").await;
    assert!(!reply.is_empty());
    page.browser.save_screenshot("locale-french").await;
    // The config's `locale` over the page's, right to left for Arabic.
    page.visit("arabic").await;
    page.browser.find(chat_e2e::LOADED).await;
    let seen = page
        .browser
        .in_widget("return [shadow.querySelector('.cw-root').dir, shadow.querySelector('.cw-button--send').textContent]")
        .await;
    assert_eq!(seen, json!(["rtl", "إرسال"]));
    page.browser.save_screenshot("locale-arabic").await;
    // The config's own words win over the pack's.
    page.visit("german").await;
    page.browser.find(chat_e2e::LOADED).await;
    let seen = page
        .browser
        .in_widget("return [shadow.querySelector('.cw-button--send').textContent, shadow.querySelector('.cw-chat__settings-toggle').textContent]")
        .await;
    assert_eq!(seen, json!(["Los", "Einstellungen"]));
    page.close().await;
}
