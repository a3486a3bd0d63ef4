//! The Leptos apps of `examples/`, built as the README says (scripts/test does) and used in
//! Chromium: apps outside the widget's crate that take it as a dependency.
//! - `leptos-csr`, rendered in the browser, served by the relay's release binary (whose pages'
//!   content security policy allows no inline script or style): `<ChatBox/>` with a tool written
//!   in Rust, a dark mode bound to it, and the events it tells the page.
//! - `leptos-ssr`, rendered by its own server and hydrated: the widget mounted once the page has
//!   hydrated, talking to a relay of another origin.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use chat_e2e::{
    eventually, free_port, http_get, printed_after, save_screenshot, target_dir, webdriver,
    Answers, Browser, Relay, LOADED,
};
use fantoccini::Locator;
use tokio::process::Command;

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(name)
}

#[tokio::test]
async fn the_csr_example_chats_runs_its_rust_tool_and_turns_dark_with_the_page() {
    let dist = example("leptos-csr/dist");
    assert!(
        dist.join("index.html").is_file(),
        "{} is not built: `trunk build --release` in examples/leptos-csr (scripts/test does)",
        dist.display()
    );
    let relay = Relay::serving(&dist, &Answers::Demo { pace_ms: 5 }, &[], &[]).await;
    let (client, _driver) = webdriver().await;
    client.goto(&relay.url).await.expect("the app loads");
    let find = |css: &'static str| {
        let client = client.clone();
        async move {
            let mut found = None;
            eventually(css, Duration::from_secs(20), async || {
                found = client.find(Locator::Css(css)).await.ok();
                found.is_some()
            })
            .await;
            found.expect("found")
        }
    };
    // The chat box is in the app's own DOM (no shadow root), styled by the sheets it linked.
    find(".cw-root .cw-composer__input").await;
    let run = |script: &'static str| {
        let client = client.clone();
        async move {
            client
                .execute(script, Vec::new())
                .await
                .unwrap_or_else(|error| panic!("{script}: {error}"))
        }
    };
    // Nothing the chat box does breaks the relay's policy from here on.
    run(
        "window.violations = [];
         document.addEventListener('securitypolicyviolation',
             (event) => window.violations.push(event.violatedDirective + ' ' + event.blockedURI));",
    )
    .await;
    save_screenshot(&client, "leptos-csr-light").await;

    // The suggestion asks to count letters; the demo model calls the app's Rust tool, which
    // runs without asking (it only reads), and the reply carries what it returned.
    find(".cw-suggestion").await.click().await.expect("clicked");
    let reply = find("[data-role='assistant'][data-status='done']:last-of-type .cw-message__text")
        .await
        .text()
        .await
        .expect("the reply");
    assert!(
        reply.contains("count_letters") && reply.contains("\"letters\": 27"),
        "{reply}"
    );
    let log = find(".app__log").await.text().await.expect("the log");
    assert!(
        log.contains("A message went out.")
            && log.contains("The tool count_letters ran.")
            && log.contains("A reply came"),
        "the page heard: {log}"
    );

    // The page's dark mode reaches the chat box through its signal.
    let background = "return getComputedStyle(document.querySelector('.cw-chat')).backgroundColor";
    assert_eq!(run(background).await, "rgb(255, 255, 255)");
    find(".app__toggle").await.click().await.expect("clicked");
    eventually(
        "the chat box turning dark",
        Duration::from_secs(5),
        async || run(background).await != "rgb(255, 255, 255)",
    )
    .await;
    assert_eq!(
        run("return document.querySelector('.cw-root').style.colorScheme").await,
        "dark"
    );
    assert_eq!(run("return window.violations").await, serde_json::json!([]));
    save_screenshot(&client, "leptos-csr-dark").await;
    let _ = client.close().await;
}

#[tokio::test]
async fn the_ssr_example_mounts_the_widget_once_it_has_hydrated() {
    let server_binary = target_dir().join("debug/example-leptos-ssr");
    let site = target_dir().join("site");
    assert!(
        server_binary.is_file() && site.join("pkg/example-leptos-ssr_bg.wasm").is_file(),
        "the SSR example is not built: `examples/leptos-ssr/build` (scripts/test runs it)"
    );
    let address = format!("127.0.0.1:{}", free_port());
    let origin = format!("http://{address}");
    // The page is on another origin than the relay, which must allow it.
    let relay = Relay::start(&Answers::Demo { pace_ms: 5 }, std::slice::from_ref(&origin)).await;
    let mut server = Command::new(&server_binary)
        .env("LEPTOS_SITE_ADDR", &address)
        .env("LEPTOS_SITE_ROOT", &site)
        .env(
            "CHAT_ENDPOINT",
            format!("{}/v1/chat/completions", relay.url),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the example's server starts");
    let output = server.stdout.take().expect("its output");
    let served = printed_after(output, "serving ", Duration::from_secs(20)).await;
    assert_eq!(served, origin);

    // The server renders the page with an empty place for the widget.
    let html = http_get(&origin, "/").await;
    assert!(html.contains("Rendered on the server"), "{html}");
    assert!(
        html.contains(r#"<div id="chat" class="page__chat"></div>"#),
        "{html}"
    );
    assert!(!html.contains("cw-root"), "{html}");

    let browser = Browser::with(relay).await;
    browser.visit(&origin).await;
    // Once hydrated, the widget is mounted in its place (a shadow root), and the page's own
    // button works.
    browser.find(LOADED).await;
    let button = browser
        .client
        .find(Locator::Css("main button"))
        .await
        .expect("the button");
    button.click().await.expect("clicked");
    eventually("the button counting", Duration::from_secs(5), async || {
        button.text().await.is_ok_and(|text| text == "Clicks: 1")
    })
    .await;
    browser.send("Hello from a hydrated page").await;
    browser
        .find("[data-role='assistant'][data-status='done']:last-of-type")
        .await;
    let reply = browser.reply_text().await;
    assert!(reply.contains("demo model"), "{reply}");
    browser.save_screenshot("leptos-ssr").await;
    browser.close().await;
    drop(server);
}
