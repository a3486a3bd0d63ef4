//! The built widget in Debian's Chromium, driven over WebDriver, against the real relay: what a
//! person does and sees.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::post;
use axum::Router;
use chat_e2e::Answers;
use chat_e2e::{eventually, serve, Browser};

fn demo(pace_ms: u64) -> Answers {
    Answers::Demo { pace_ms }
}

#[tokio::test]
async fn a_message_gets_a_streamed_demo_reply() {
    let browser = Browser::open(demo(15)).await;
    browser.send("Hello otters").await;
    let user = browser.find("[data-role='user'] .cw-message__text").await;
    assert_eq!(user.text().await.expect("text"), "Hello otters");
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
async fn the_demo_models_reasoning_folds_away_and_its_sources_are_linked() {
    // Slow enough to see the reasoning open while it streams.
    let browser = Browser::open(demo(40)).await;
    browser.send("Think first, then cite your sources").await;
    // Open while it streams.
    browser.find(".cw-thinking[open] .cw-thinking__text").await;
    browser
        .find("[data-role='assistant'][data-status='done']")
        .await;
    browser.find(".cw-sources__list").await;
    let shown = browser
        .in_widget(
            "const d = shadow.querySelector('.cw-thinking');
             return [d.open, d.querySelector('summary').textContent, d.querySelector('p').textContent,
                     [...shadow.querySelectorAll('.cw-cite')].map((a) => [a.textContent, a.href, a.rel]),
                     [...shadow.querySelectorAll('.cw-sources__list a')].map((a) => a.textContent)];",
        )
        .await;
    assert_eq!(
        shown[0],
        serde_json::json!(false),
        "folded once the answer began"
    );
    assert!(
        shown[1]
            .as_str()
            .is_some_and(|summary| summary.starts_with("Thought for ")),
        "{shown}"
    );
    assert!(shown[2]
        .as_str()
        .is_some_and(|text| text.contains("think first")));
    assert_eq!(
        shown[3],
        serde_json::json!([
            [
                "[1]",
                "https://platform.openai.com/docs/api-reference/chat",
                "noopener noreferrer nofollow"
            ],
            [
                "[2]",
                "https://commonmark.org/",
                "noopener noreferrer nofollow"
            ]
        ])
    );
    assert_eq!(
        shown[4],
        serde_json::json!(["Chat Completions API reference", "CommonMark"])
    );
    assert!(
        !browser.reply_text().await.contains("think first"),
        "the reasoning is not the reply's text"
    );
    browser.save_screenshot("reasoning-and-sources").await;
    browser.close().await;
}

#[tokio::test]
async fn the_demo_models_math_is_mathml_and_its_code_is_highlighted() {
    let browser = Browser::open(demo(2)).await;
    let rich_fetches = "return performance.getEntriesByType('resource')
                            .filter((entry) => entry.name.endsWith('_rich.wasm')).length;";
    browser.find(".cw-suggestion").await;
    assert_eq!(
        browser.run(rich_fetches).await,
        serde_json::json!(0),
        "highlighting and math load only once a reply needs them"
    );
    browser.send("Some math and code please").await;
    browser
        .find("[data-role='assistant'][data-status='done']")
        .await;
    // The module may arrive after the reply's last token: what was built before it is upgraded.
    eventually("the formulas are rendered", Duration::from_secs(10), async || {
        browser
            .in_widget("return shadow.querySelectorAll('[data-tex], code[data-language]:not([data-lit])').length;")
            .await
            == serde_json::json!(0)
    })
    .await;
    assert_eq!(browser.run(rich_fetches).await, serde_json::json!(1));
    let shown = browser
        .in_widget(
            "return [shadow.querySelectorAll('math').length,
                     shadow.querySelectorAll('math[display=block]').length,
                     shadow.querySelectorAll('.cw-math-source').length,
                     [...new Set([...shadow.querySelectorAll('code[data-lit] span')].map((s) => s.className))].sort()];",
        )
        .await;
    assert_eq!(shown[0], serde_json::json!(5), "{shown}");
    assert_eq!(shown[1], serde_json::json!(2), "{shown}");
    assert_eq!(shown[2], serde_json::json!(0), "{shown}");
    for kind in [
        "keyword",
        "string",
        "comment",
        "literal",
        "attribute",
        "meta",
    ] {
        assert!(
            shown[3].to_string().contains(&format!("cw-tok-{kind}")),
            "{kind}: {shown}"
        );
    }
    assert!(
        browser.reply_text().await.contains("$5 and $10 stay text"),
        "prices stay text"
    );
    let violations = browser.axe_violations().await;
    assert!(violations.is_empty(), "{violations:?}");
    browser
        .in_widget("shadow.querySelector('math[display=block]').scrollIntoView({block: 'center'}); return true;")
        .await;
    browser.save_screenshot("math-and-code").await;
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
    let relay = &browser.relay;
    eventually(
        "the relay's stream ending",
        Duration::from_secs(1),
        async || relay.health().await["active_streams"] == 0,
    )
    .await;
    let tokens = relay.health().await["demo_tokens"].clone();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        relay.health().await["demo_tokens"],
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

/// A TCP proxy in front of the relay, as a flaky network would be: it cuts the connection of
/// the first streamed reply after `events` of its events, in the middle of the next one, and
/// holds every resume (`GET /v1/streams/…`) for `hold` before passing it on.
struct FlakyNetwork {
    url: String,
    replies: Arc<AtomicUsize>,
    resumes: Arc<AtomicUsize>,
}

impl FlakyNetwork {
    async fn start(
        listener: tokio::net::TcpListener,
        relay: &str,
        events: usize,
        hold: Duration,
    ) -> Self {
        let url = format!("http://{}", listener.local_addr().expect("an address"));
        let relay = relay.trim_start_matches("http://").to_owned();
        let replies = Arc::new(AtomicUsize::new(0));
        let resumes = Arc::new(AtomicUsize::new(0));
        let (counted_replies, counted_resumes) = (replies.clone(), resumes.clone());
        tokio::spawn(async move {
            while let Ok((browser, _)) = listener.accept().await {
                let relay = relay.clone();
                let (replies, resumes) = (counted_replies.clone(), counted_resumes.clone());
                tokio::spawn(async move {
                    let Ok(server) = tokio::net::TcpStream::connect(&relay).await else {
                        return;
                    };
                    pass(browser, server, replies, resumes, events, hold).await;
                });
            }
        });
        FlakyNetwork {
            url,
            replies,
            resumes,
        }
    }
}

/// Passes bytes both ways on one connection, cutting it when it carries the first reply.
async fn pass(
    browser: tokio::net::TcpStream,
    server: tokio::net::TcpStream,
    replies: Arc<AtomicUsize>,
    resumes: Arc<AtomicUsize>,
    events: usize,
    hold: Duration,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (mut from_browser, mut to_browser) = browser.into_split();
    let (mut from_server, mut to_server) = server.into_split();
    let cut = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let cut_here = cut.clone();
    let upward = async move {
        let mut buffer = vec![0; 64 * 1024];
        while let Ok(read @ 1..) = from_browser.read(&mut buffer).await {
            let bytes = &buffer[..read];
            if bytes.starts_with(b"POST /v1/chat/completions")
                && replies.fetch_add(1, Ordering::SeqCst) == 0
            {
                cut_here.store(true, Ordering::SeqCst);
            }
            if bytes.starts_with(b"GET /v1/streams/") {
                resumes.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(hold).await;
            }
            if to_server.write_all(bytes).await.is_err() {
                break;
            }
        }
    };
    let downward = async move {
        let mut buffer = vec![0; 64 * 1024];
        let mut seen = 0;
        while let Ok(read @ 1..) = from_server.read(&mut buffer).await {
            let mut bytes = &buffer[..read];
            let cutting = cut.load(Ordering::SeqCst) && seen >= events;
            if cutting {
                bytes = &bytes[..bytes.len() / 2];
            }
            if cut.load(Ordering::SeqCst) {
                seen += bytes.windows(2).filter(|pair| pair == b"\n\n").count();
            }
            if to_browser.write_all(bytes).await.is_err() || cutting {
                break;
            }
        }
    };
    // The first direction to end ends the connection (both halves dropped).
    tokio::select! {
        () = upward => {}
        () = downward => {}
    }
}

#[tokio::test]
async fn a_reply_whose_connection_drops_resumes_where_it_stopped() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let page = format!("http://{}", listener.local_addr().expect("an address"));
    let browser = Browser::launch(demo(5), vec![page]).await;
    let network = FlakyNetwork::start(
        listener,
        &browser.relay.url,
        30,
        Duration::from_millis(1_500),
    )
    .await;
    browser.visit(&network.url).await;
    browser.find(chat_e2e::LOADED).await;
    browser.send("Tell me a long story").await;
    let reply = browser
        .find("[data-role='assistant'][data-status='reconnecting']")
        .await;
    let before = browser.reply_text().await;
    assert!(
        reply.text().await.expect("text").contains("Reconnecting"),
        "the reply says it is reconnecting"
    );
    assert!(before.starts_with("Hello! I am the demo model"), "{before}");
    browser.save_screenshot("reconnecting").await;
    browser
        .find("[data-role='assistant'][data-status='done']")
        .await;
    let after = browser.reply_text().await;
    assert!(after.starts_with(&before), "the text before the cut stays");
    assert_whole_long_story(&after);
    assert_eq!(
        browser
            .in_widget("return shadow.querySelectorAll('.cw-alert').length;")
            .await,
        0,
        "no error"
    );
    assert_eq!(network.replies.load(Ordering::SeqCst), 1, "asked once");
    assert!(network.resumes.load(Ordering::SeqCst) >= 1, "resumed");
    browser.close().await;
}

/// The demo model's long story, every part once and in order: nothing missed, nothing twice.
fn assert_whole_long_story(text: &str) {
    assert_eq!(
        text.matches("Hello! I am the demo model").count(),
        1,
        "its beginning once: {text}"
    );
    let parts: Vec<usize> = text
        .match_indices("Part ")
        .filter_map(|(at, _)| {
            let number = &text[at + 5..];
            number[..number.find('.')?].parse().ok()
        })
        .collect();
    assert_eq!(parts, (1..=24).collect::<Vec<_>>(), "{text}");
    assert!(
        text.trim_end().ends_with("to talk to the real model."),
        "{text}"
    );
}

#[tokio::test]
async fn a_reply_goes_on_after_the_page_is_reloaded_in_its_middle() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let page = format!("http://{}", listener.local_addr().expect("an address"));
    let browser = Browser::launch(demo(5), vec![page]).await;
    // A network that cuts nothing, to count what the page asks.
    let network =
        FlakyNetwork::start(listener, &browser.relay.url, usize::MAX, Duration::ZERO).await;
    browser.visit(&network.url).await;
    browser.find(chat_e2e::LOADED).await;
    browser.send("Tell me a long story").await;
    browser
        .find("[data-role='assistant'][data-status='streaming']")
        .await;
    browser.client.refresh().await.expect("reloaded");
    browser.find(chat_e2e::LOADED).await;
    browser
        .find("[data-role='assistant'][data-status='done']")
        .await;
    assert_whole_long_story(&browser.reply_text().await);
    let asked = browser
        .in_widget(
            "return [...shadow.querySelectorAll('[data-role=user] .cw-message__text')].map((p) => p.textContent);",
        )
        .await;
    assert_eq!(
        asked,
        serde_json::json!(["Tell me a long story"]),
        "the message, once"
    );
    assert_eq!(network.replies.load(Ordering::SeqCst), 1, "asked once");
    assert_eq!(
        network.resumes.load(Ordering::SeqCst),
        1,
        "followed again once"
    );
    // Once it ended, nothing is kept to follow, and the next reload follows nothing.
    assert_eq!(
        browser
            .run("return Object.keys(sessionStorage).filter((key) => key.includes('.reply.'));")
            .await,
        serde_json::json!([])
    );
    browser.client.refresh().await.expect("reloaded");
    browser
        .find("[data-role='assistant'][data-status='done']")
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(network.resumes.load(Ordering::SeqCst), 1);
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
    let mode = Answers::Upstream {
        url: upstream.url.clone(),
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

#[tokio::test]
async fn the_demo_model_calls_a_page_tool_and_answers_with_its_output() {
    let browser = Browser::open(demo(5)).await;
    browser.send("What time is it in Tokyo?").await;
    let tool = browser
        .find("[data-role='tool'][data-tool='get_time'][data-status='done']")
        .await;
    let output = tool.text().await.expect("text");
    assert!(output.contains("Asia/Tokyo"), "{output}");
    eventually(
        "the answer after the tool",
        Duration::from_secs(10),
        async || {
            let replies = browser
                .find_all("[data-role='assistant'][data-status='done']")
                .await;
            replies.len() == 2
        },
    )
    .await;
    let answer = browser.reply_text().await;
    assert!(
        answer.contains("get_time") && answer.contains("Asia/Tokyo"),
        "{answer}"
    );
    browser.save_screenshot("tool-call").await;
    browser.close().await;
}

#[tokio::test]
async fn with_streaming_off_in_the_settings_a_whole_answer_shows_for_200_and_201() {
    let calls = Arc::new(AtomicUsize::new(0));
    let saw_stream_false = Arc::new(AtomicUsize::new(0));
    let (counter, streams) = (calls.clone(), saw_stream_false.clone());
    let upstream = serve(Router::new().route(
        "/chat/completions",
        post(move |body: String| {
            let call = counter.fetch_add(1, Ordering::SeqCst);
            if body.contains("\"stream\":false") {
                streams.fetch_add(1, Ordering::SeqCst);
            }
            async move {
                let status = if call == 0 { StatusCode::OK } else { StatusCode::CREATED };
                let body = format!(
                    r#"{{"choices":[{{"index":0,"message":{{"role":"assistant","content":"Answer with **{}**"}},"finish_reason":"stop"}}],"usage":{{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8}}}}"#,
                    status.as_u16()
                );
                (status, [("content-type", "application/json")], body).into_response()
            }
        }),
    ))
    .await;
    let mode = Answers::Upstream {
        url: upstream.url.clone(),
    };
    let browser = Browser::open(mode).await;
    browser.click("Settings").await;
    browser
        .find("[data-setting='stream']")
        .await
        .click()
        .await
        .expect("stream off");
    browser
        .find("[data-setting='temperature']")
        .await
        .send_keys("0.4")
        .await
        .expect("typed");
    browser.save_screenshot("settings-panel").await;
    browser.click("Done").await;
    for (n, status) in [(1, "200"), (2, "201")] {
        browser.send(&format!("Question {n}")).await;
        eventually("the whole answer", Duration::from_secs(10), async || {
            let done = browser
                .find_all("[data-role='assistant'][data-status='done']")
                .await;
            done.len() == n
        })
        .await;
        let answer = browser.reply_text().await;
        assert!(
            answer.contains(&format!("Answer with {status}")),
            "{answer}"
        );
    }
    assert_eq!(
        saw_stream_false.load(Ordering::SeqCst),
        2,
        "both requests asked for a whole answer"
    );
    let usage = browser
        .find("[data-role='assistant'] .cw-message__usage")
        .await
        .text()
        .await
        .expect("text");
    assert_eq!(usage, "5 tokens in, 3 out");
    browser.close().await;
}

#[tokio::test]
async fn a_reload_keeps_the_conversation() {
    let browser = Browser::open(demo(2)).await;
    browser.send("Remember the otters").await;
    browser
        .find("[data-role='assistant'][data-status='done']")
        .await;
    let before = browser.reply_text().await;
    browser.client.refresh().await.expect("reloaded");
    let user = browser
        .find("[data-role='user'] .cw-message__text")
        .await
        .text()
        .await
        .expect("text");
    assert_eq!(user, "Remember the otters");
    browser
        .find("[data-role='assistant'][data-status='done']")
        .await;
    assert_eq!(
        browser.reply_text().await,
        before,
        "the answer is back, rendered the same"
    );
    browser.close().await;
}

/// Draws a 640 × 480 PNG and a 1,200 × 900 JPEG on canvases and pastes them into the message box.
const PASTE_TWO_IMAGES: &str = "
    const draw = async (width, height, kind, name, colour) => {
        const canvas = document.createElement('canvas');
        canvas.width = width; canvas.height = height;
        const g = canvas.getContext('2d');
        g.fillStyle = colour; g.fillRect(0, 0, width, height);
        g.fillStyle = '#ffffff'; g.beginPath();
        g.arc(width / 2, height / 2, height / 3, 0, 2 * Math.PI); g.fill();
        const blob = await new Promise((resolve) => canvas.toBlob(resolve, kind, 0.9));
        return new File([blob], name, { type: kind });
    };
    (async () => {
        const data = new DataTransfer();
        data.items.add(await draw(640, 480, 'image/png', 'chart.png', '#2f5bd3'));
        data.items.add(await draw(1200, 900, 'image/jpeg', 'photo.jpg', '#c0392b'));
        shadow.querySelector('textarea').dispatchEvent(
            new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
    })();
    return true;";

#[tokio::test]
async fn pasted_images_reach_the_demo_model_which_names_them() {
    let browser = Browser::open(demo(5)).await;
    browser.in_widget(PASTE_TWO_IMAGES).await;
    eventually("two thumbnails", Duration::from_secs(10), async || {
        browser.find_all(".cw-attachments__image").await.len() == 2
    })
    .await;
    browser.send("What do you see?").await;
    browser
        .find("[data-role='assistant'][data-status='done']")
        .await;
    let reply = browser.reply_text().await;
    assert!(
        reply.contains("I see 2 images: a PNG of 640 × 480 pixels")
            && reply.contains("and a JPEG of 1200 × 900 pixels"),
        "{reply}"
    );
    assert_eq!(
        browser
            .find_all("[data-role='user'] .cw-message__image")
            .await
            .len(),
        2
    );
    browser
        .in_widget("shadow.querySelector('[role=log]').scrollTop = 0; return true;")
        .await;
    browser.save_screenshot("two-images").await;
    browser.close().await;
}

/// Whether the message log is scrolled to its end (within the widget's slack).
const AT_THE_END: &str = "const log = shadow.querySelector('.cw-log'); \
     return log.scrollHeight - log.scrollTop - log.clientHeight <= 32;";

#[tokio::test]
async fn a_long_kept_conversation_opens_at_its_end_and_follows_a_new_reply() {
    let browser = Browser::open(demo(5)).await;
    let messages: Vec<serde_json::Value> = (0..300)
        .flat_map(|turn| {
            [
                serde_json::json!({"role": "user", "text": format!("Question {turn}"), "status": "done"}),
                serde_json::json!({"role": "assistant", "text": format!("## Answer {turn}\n\nWith a list:\n\n- one\n- two\n"), "status": "done"}),
            ]
        })
        .collect();
    let library = serde_json::json!({"version": 1, "library": {"active": 0, "threads": [{"title": "Long", "messages": messages}]}});
    browser
        .client
        .execute(
            "localStorage.setItem('chat-widget.conversations.chat', arguments[0]);",
            vec![serde_json::json!(library.to_string())],
        )
        .await
        .expect("kept");
    browser.visit(&browser.relay.url).await;
    browser.find(chat_e2e::LOADED).await;
    eventually("the log at its end", Duration::from_secs(5), async || {
        browser.in_widget(AT_THE_END).await == serde_json::json!(true)
    })
    .await;
    browser.send("Tell me a long story").await;
    eventually("the reply done", Duration::from_secs(20), async || {
        browser
            .in_widget("const all = shadow.querySelectorAll(\"[data-role='assistant']\"); return all.length === 301 && all[300].dataset.status === 'done';")
            .await
            == serde_json::json!(true)
    })
    .await;
    eventually(
        "the log still at its end",
        Duration::from_secs(2),
        async || browser.in_widget(AT_THE_END).await == serde_json::json!(true),
    )
    .await;
    browser.save_screenshot("long-conversation").await;
    browser.close().await;
}

#[tokio::test]
async fn the_launcher_page_greets_once_and_the_greeting_opens_the_chat() {
    let browser = Browser::open(demo(5)).await;
    browser
        .visit(&format!("{}/launcher.html", browser.relay.url))
        .await;
    let greeting = browser.find(".cw-greeting__text").await;
    tokio::time::sleep(Duration::from_millis(400)).await; // its fade-in
    browser.save_screenshot("launcher-greeting").await;
    let violations = browser.axe_violations().await;
    assert!(violations.is_empty(), "the greeting: {violations:?}");
    greeting.click().await.expect("clicked");
    let welcome = browser.find("[data-role='welcome']").await;
    assert_eq!(
        welcome.text().await.expect("text").trim(),
        "Hello! Questions about the widget? Ask me."
    );
    browser.find(".cw-suggestion").await;
    browser.save_screenshot("launcher-greeted").await;
    // Once per visitor.
    browser
        .visit(&format!("{}/launcher.html", browser.relay.url))
        .await;
    browser.find(".cw-launcher").await;
    tokio::time::sleep(Duration::from_millis(4000)).await;
    assert!(browser.find_all(".cw-greeting").await.is_empty());
    browser.close().await;
}

#[tokio::test]
async fn behind_a_policy_the_widget_offers_only_what_it_leaves_open_and_the_upstream_gets_the_operators_prompt(
) {
    let received = Arc::new(std::sync::Mutex::new(Vec::<serde_json::Value>::new()));
    let kept = received.clone();
    let upstream = serve(Router::new().route(
        "/chat/completions",
        post(move |axum::Json(body): axum::Json<serde_json::Value>| {
            let kept = kept.clone();
            async move {
                kept.lock().expect("not poisoned").push(body);
                let body = r#"{"choices":[{"index":0,"message":{"role":"assistant","content":"Ahoy from the shop."},"finish_reason":"stop"}]}"#;
                ([("content-type", "application/json")], body).into_response()
            }
        }),
    ))
    .await;
    let policy = std::env::temp_dir().join(format!("chat-e2e-policy-{}.toml", std::process::id()));
    std::fs::write(
        &policy,
        "system_prompt = \"You are the shop's assistant.\"\n\
         [parameters]\ntemperature = { min = 0.0, max = 1.0 }\npresence_penalty = 0.0\n",
    )
    .expect("written");
    let relay = chat_e2e::Relay::start_with(
        &Answers::Upstream {
            url: upstream.url.clone(),
        },
        &[],
        &[std::ffi::OsStr::new("--policy"), policy.as_os_str()],
    )
    .await;
    let browser = Browser::with(relay).await;
    browser.visit(&browser.relay.url.clone()).await;
    browser.find(chat_e2e::LOADED).await;
    browser.click("Settings").await;
    let temperature_hint = "return shadow.querySelector(\"[data-setting='temperature'] ~ .cw-field__hint\").textContent;";
    eventually(
        "the policy's range is shown",
        Duration::from_secs(10),
        async || browser.in_widget(temperature_hint).await == serde_json::json!("0 to 1"),
    )
    .await;
    let laid_out = "return [...shadow.querySelectorAll('[data-setting]')]
                        .filter((control) => control.offsetParent !== null)
                        .map((control) => control.dataset.setting);";
    let offered = browser.in_widget(laid_out).await.to_string();
    assert!(
        !offered.contains("presence_penalty") && offered.contains("temperature"),
        "{offered}"
    );
    browser
        .find("[data-setting='temperature']")
        .await
        .send_keys("1.5")
        .await
        .expect("typed");
    let said = browser
        .find("[data-setting='temperature'] ~ .cw-field__problem")
        .await
        .text()
        .await
        .expect("text");
    assert!(said.contains("1 is sent"), "{said}");
    browser.save_screenshot("settings-under-policy").await;
    browser.click("Done").await;
    browser.send("Hello").await;
    browser
        .find("[data-role='assistant'][data-status='done']")
        .await;
    assert!(browser.reply_text().await.contains("Ahoy from the shop."));
    let sent = received
        .lock()
        .expect("not poisoned")
        .last()
        .cloned()
        .expect("sent");
    assert_eq!(
        sent["messages"][0],
        serde_json::json!({"role": "system", "content": "You are the shop's assistant."})
    );
    assert_eq!(sent["temperature"], serde_json::json!(1.0));
    assert_eq!(sent["presence_penalty"], serde_json::json!(0.0));
    let _ = std::fs::remove_file(&policy);
    browser.close().await;
}
