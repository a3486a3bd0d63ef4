//! The README's first command as a user runs it: `scripts/demo` from the top of the checkout (it
//! builds what is not built and starts the release relay), then the page it names, in Chromium.
//! Only the port differs, so the test can run beside a demo already on 8080.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use chat_e2e::{free_port, listening_url, Browser, Relay, LOADED};
use tokio::process::Command;

#[tokio::test]
async fn scripts_demo_serves_a_page_where_the_chat_works() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let port = free_port();
    let mut demo = Command::new(root.join("scripts/demo"))
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .current_dir(&root)
        .env_remove("CHAT_RELAY_API_KEY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("scripts/demo runs");
    let output = demo.stdout.take().expect("its output");
    // Built already when scripts/test runs this; from nothing it takes minutes.
    let url = listening_url(output, Duration::from_secs(900)).await;
    assert_eq!(url, format!("http://127.0.0.1:{port}"));
    let browser = Browser::with(Relay::started(demo, url.clone())).await;
    browser.client.goto(&url).await.expect("the page loads");
    browser.find(LOADED).await;
    browser.save_screenshot("demo-page").await;

    browser.send("Hello from the README").await;
    browser
        .find("[data-role='assistant'][data-status='streaming']")
        .await;
    browser
        .find("[data-role='assistant'][data-status='done']")
        .await;
    let reply = browser.reply_text().await;
    assert!(reply.contains("demo model"), "{reply}");

    // The demo page's tools (src/demo.js) answer the demo model's call.
    browser.send("What time is it in Tokyo?").await;
    let started = std::time::Instant::now();
    loop {
        let replies = browser
            .find_all("[data-role='assistant'][data-status='done'] .cw-message__text")
            .await;
        let mut texts = Vec::new();
        for reply in &replies {
            texts.push(reply.text().await.unwrap_or_default());
        }
        if texts.iter().any(|text| text.contains("Asia/Tokyo")) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no reply from the get_time tool: {texts:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    browser.save_screenshot("demo-page-tool").await;
    browser.close().await;
}
