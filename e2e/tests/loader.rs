//! The loader, `embed.js`, as a visitor meets it: the stand-in drawn at once, the widget loaded
//! only when it is about to be used, a click or typing before then never lost, a failed load that
//! offers Retry, calls on the handle that wait for the widget, and no layout shift when the widget
//! takes the stand-in's place. The widget's wasm comes through a gate the test opens, so each
//! state can be seen.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chat_e2e::{dist, eventually, host_page, serve_on, Answers, Browser, Server, ENTER, LOADED};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// What the gate does with a request for the widget's wasm.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Door {
    /// Holds it until the door opens.
    Hold,
    /// Answers 503.
    Fail,
    /// Serves it.
    Open,
}

/// The built files from dist/, the wasm behind the gate.
async fn gated_file(State(gate): State<watch::Sender<Door>>, Path(name): Path<String>) -> Response {
    if name.contains('/') || name.starts_with('.') {
        return StatusCode::NOT_FOUND.into_response();
    }
    if name.ends_with(".wasm") {
        let mut door = gate.subscribe();
        loop {
            match *door.borrow_and_update() {
                Door::Open => break,
                Door::Fail => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
                Door::Hold => {}
            }
            if door.changed().await.is_err() {
                return StatusCode::SERVICE_UNAVAILABLE.into_response();
            }
        }
    }
    let Ok(bytes) = tokio::fs::read(dist().join(&name)).await else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let content_type = match name.rsplit('.').next() {
        Some("js") => "text/javascript",
        Some("wasm") => "application/wasm",
        _ => "application/octet-stream",
    };
    ([(header::CONTENT_TYPE, content_type)], bytes).into_response()
}

/// A relay, Chromium, and a host page server whose copy of the widget's files has the gate.
struct Gated {
    browser: Browser,
    host: Server,
    door: watch::Sender<Door>,
}

impl Gated {
    async fn start(door: Door) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let host_origin = format!("http://{}", listener.local_addr().expect("bound"));
        let browser = Browser::launch(Answers::Demo { pace_ms: 5 }, vec![host_origin]).await;
        let endpoint = format!("{}/v1/chat/completions", browser.relay.url);
        let launcher = json!({"endpoint": endpoint, "title": "Shop assistant", "id": "launcher", "presentation": "launcher"});
        let inline = json!({"endpoint": endpoint, "title": "Shop assistant", "id": "inline", "load": "eager"});
        let scripted = format!(
            r##"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>A shop</title>
<script type="module">
  import {{ mount }} from "/gated/embed.js";
  const chat = mount(document.querySelector("#chat"), {{ endpoint: "{endpoint}", id: "scripted", load: "interaction" }});
  window.seen = [];
  chat.onMessage(({{ role }}) => seen.push(role));
  chat.send("Sent before the widget loaded");
  try {{ chat.send("A second one"); }} catch (error) {{ window.refused = error.message; }}
  chat.ready.then((handle) => seen.push(handle === chat ? "ready" : "another handle"));
  window.chat = chat;
</script></head><body><main><h1>A shop</h1><div id="chat"></div></main></body></html>"##
        );
        let tools = format!(
            r##"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>A shop</title>
<script type="module">
  import {{ mount }} from "/gated/embed.js";
  window.ran = [];
  mount(document.querySelector("#chat"), {{
    endpoint: "{endpoint}", id: "tools", load: "eager",
    tools: [
      {{ name: "transfer_funds", handler: () => {{ ran.push("transfer_funds"); return "sent"; }} }},
      {{ name: "lookup_order", handler: () => {{ ran.push("lookup_order"); return "shipped"; }} }},
    ],
    onToolCall: ({{ name }}) => (name === "transfer_funds" ? false : undefined),
  }});
</script></head><body><main><h1>A shop</h1><div id="chat"></div></main></body></html>"##
        );
        let (door_sender, _) = watch::channel(door);
        let pages = Router::new()
            .route(
                "/launcher",
                get(Html(host_page(
                    "/gated/embed.js",
                    &launcher,
                    r#"lang="en""#,
                ))),
            )
            .route(
                "/inline",
                get(Html(host_page("/gated/embed.js", &inline, r#"lang="en""#))),
            )
            .route("/scripted", get(Html(scripted)))
            .route("/tools", get(Html(tools)))
            .route("/gated/{name}", get(gated_file))
            .with_state(door_sender.clone());
        let host = serve_on(listener, pages);
        Gated {
            browser,
            host,
            door: door_sender,
        }
    }

    async fn visit(&self, page: &str) {
        self.browser
            .visit(&format!("{}/{page}", self.host.url))
            .await;
    }

    fn open_door(&self, door: Door) {
        self.door.send_replace(door);
    }

    /// The names of the widget's files the page has fetched so far.
    async fn widget_files_fetched(&self) -> Value {
        self.browser
            .run(
                "return performance.getEntriesByType('resource').map((entry) => entry.name)
                   .filter((name) => /chat-widget-[0-9a-f]+(_bg\\.wasm|\\.js)/.test(name));",
            )
            .await
    }

    async fn status(&self) -> String {
        self.browser
            .in_widget("return shadow.querySelector('.cw-standin__status')?.textContent ?? ''")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

#[tokio::test]
async fn the_launcher_stands_in_at_once_loads_when_used_and_keeps_what_was_typed() {
    let page = Gated::start(Door::Hold).await;
    let browser = &page.browser;
    page.visit("launcher").await;
    let stand_in = browser.find("[data-cw-standin] .cw-launcher").await;
    assert_eq!(
        stand_in
            .attr("aria-label")
            .await
            .expect("a label")
            .as_deref(),
        Some("Open chat")
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        page.widget_files_fetched().await,
        json!([]),
        "nothing of the widget's is fetched before anyone reaches for it"
    );
    browser.save_screenshot("loader-launcher-stand-in").await;

    stand_in.click().await.expect("clicked");
    eventually("the loading state", Duration::from_secs(5), async || {
        page.status().await == "Loading the chat…"
    })
    .await;
    let typed = browser.find("[data-cw-standin] .cw-composer__input").await;
    eventually(
        "the focus in the stand-in's message box",
        Duration::from_secs(5),
        async || {
            browser
                .in_widget("return shadow.activeElement?.className ?? ''")
                .await
                == json!("cw-composer__input")
        },
    )
    .await;
    typed
        .send_keys("Typed while it loads")
        .await
        .expect("typed");
    typed.send_keys(ENTER).await.expect("Enter pressed");
    browser.save_screenshot("loader-launcher-loading").await;

    page.open_door(Door::Open);
    let input = browser.find(LOADED).await;
    assert_eq!(
        input.prop("value").await.expect("its value").as_deref(),
        Some("Typed while it loads"),
        "what was typed is carried into the widget (Enter did not lose it)"
    );
    eventually(
        "the widget's panel open with the focus in it",
        Duration::from_secs(5),
        async || {
            browser
                .in_widget(
                    "return !shadow.querySelector('.cw-panel').hidden
                   && shadow.activeElement?.className === 'cw-composer__input'",
                )
                .await
                == json!(true)
        },
    )
    .await;
    browser.save_screenshot("loader-launcher-loaded").await;
    input.send_keys(ENTER).await.expect("Enter pressed");
    browser
        .find("[data-role='assistant'][data-status='done']")
        .await;
    assert!(browser.reply_text().await.contains("demo model"));
    page.browser.close().await;
}

#[tokio::test]
async fn a_failed_load_says_so_and_retry_loads_the_widget() {
    let page = Gated::start(Door::Fail).await;
    let browser = &page.browser;
    page.visit("inline").await;
    eventually("the failure", Duration::from_secs(10), async || {
        page.status()
            .await
            .starts_with("The chat could not be loaded.")
    })
    .await;
    browser
        .find("[data-cw-standin] .cw-composer__input")
        .await
        .send_keys("Kept through the failure")
        .await
        .expect("typed");
    browser.save_screenshot("loader-failed").await;
    page.open_door(Door::Open);
    browser.click("Retry").await;
    let input = browser.find(LOADED).await;
    assert_eq!(
        input.prop("value").await.expect("its value").as_deref(),
        Some("Kept through the failure")
    );
    page.browser.close().await;
}

#[tokio::test]
async fn calls_on_the_handle_before_the_widget_loads_wait_and_run_in_order() {
    let page = Gated::start(Door::Open).await;
    let browser = &page.browser;
    page.visit("scripted").await;
    eventually(
        "the queued message's reply",
        Duration::from_secs(20),
        async || {
            browser
                .run("return [seen.includes('ready'), seen.filter((s) => s !== 'ready').join(' ')]")
                .await
                == json!([true, "user assistant"])
        },
    )
    .await;
    let state = browser.run("return [chat.mounted, chat.isOpen]").await;
    assert_eq!(state, json!([true, true]));
    // One message waits at a time, as the widget takes them: the second was refused at once.
    let refused = browser.run("return window.refused ?? ''").await;
    assert!(
        refused
            .as_str()
            .unwrap_or_default()
            .contains("already waiting"),
        "{refused}"
    );
    let sent = browser
        .find("[data-role='user'] .cw-message__text")
        .await
        .text()
        .await
        .expect("text");
    assert_eq!(sent, "Sent before the widget loaded");
    page.browser.close().await;
}

#[tokio::test]
async fn the_inline_widget_takes_the_stand_ins_place_without_a_layout_shift() {
    let page = Gated::start(Door::Hold).await;
    let browser = &page.browser;
    page.visit("inline").await;
    browser.find("[data-cw-standin] .cw-composer__input").await;
    const BOXES: &str = "
        const shadow = document.querySelector('#chat').shadowRoot;
        const box = (element) => { const r = element.getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; };
        return [box(document.querySelector('#chat')), box(document.querySelector('#after')),
                box(shadow.querySelector('.cw-chat__header')), box(shadow.querySelector('.cw-composer'))];";
    let stand_in = browser.run(BOXES).await;
    let opened_at = browser.run("return performance.now()").await;
    page.open_door(Door::Open);
    browser.find(LOADED).await;
    let widget = browser.run(BOXES).await;
    assert_eq!(
        stand_in, widget,
        "the element, the page below it, the header and the composer stay where they were"
    );
    // Shifts since the widget began to load (drawing the stand-in into a page that had already
    // painted may shift what is below it; the page avoids that by giving the element a height).
    let shift = browser
        .client
        .execute_async(
            "const [since, done] = arguments;
             new PerformanceObserver((list) => done(list.getEntries()
                 .filter((entry) => entry.startTime > since)
                 .reduce((sum, entry) => sum + entry.value, 0)))
               .observe({ type: 'layout-shift', buffered: true });
             setTimeout(() => done(0), 500);",
            vec![opened_at],
        )
        .await
        .expect("measured");
    assert_eq!(
        shift,
        json!(0),
        "no layout shift when the widget takes the stand-in's place"
    );
    page.browser.close().await;
}

#[tokio::test]
async fn page_tools_wait_for_the_person_and_the_pages_on_tool_call_answers_first() {
    let page = Gated::start(Door::Open).await;
    let browser = &page.browser;
    page.visit("tools").await;
    browser.find(LOADED).await;
    let ran = async || browser.run("return ran.join(' ')").await;
    // The page's onToolCall declines the transfer: no question, never run, the model is told.
    browser.send("Please transfer funds to me").await;
    browser
        .find("[data-role='tool'][data-tool='transfer_funds'][data-status='error']")
        .await;
    assert!(browser.find_all(".cw-consent").await.is_empty());
    assert_eq!(ran().await, json!(""));
    let told = browser
        .find("[data-role='tool'] .cw-message__text")
        .await
        .text()
        .await
        .expect("text");
    assert!(told.contains("declined"), "{told}");
    browser
        .find("[data-role='assistant'][data-status='done']")
        .await;

    // onToolCall leaves the lookup to the person: it waits for Allow.
    browser.send("Where is my order?").await;
    browser.find(".cw-consent[data-tool='lookup_order']").await;
    assert_eq!(ran().await, json!(""));
    browser.save_screenshot("tool-consent").await;
    browser.click("Allow").await;
    eventually("the lookup ran", Duration::from_secs(10), async || {
        ran().await == json!("lookup_order")
    })
    .await;
    page.browser.close().await;
}

/// The widget's wasm leaves code highlighting and the TeX reader to the module beside it, which
/// a page fetches only when a reply first needs it (`chat.rs` checks when): the highlighter's
/// keyword lists and the reader's symbol table are in the module and not in the widget.
#[test]
fn the_widgets_wasm_leaves_highlighting_and_math_to_its_module() {
    let dist = dist();
    let names: Vec<String> = std::fs::read_dir(&dist)
        .expect("dist/ is readable")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .collect();
    let one = |suffix: &str| {
        let found: Vec<_> = names.iter().filter(|name| name.ends_with(suffix)).collect();
        assert_eq!(found.len(), 1, "one *{suffix} in dist/: {found:?}");
        std::fs::read(dist.join(found[0])).expect("readable")
    };
    let (widget, module) = (one("_bg.wasm"), one("_rich.wasm"));
    let holds = |bytes: &[u8], word: &str| {
        bytes
            .windows(word.len())
            .any(|window| window == word.as_bytes())
    };
    // A Go keyword the highlighter knows, and a Greek letter's command the reader knows.
    for word in ["fallthrough", "varepsilon"] {
        assert!(holds(&module, word), "the module has {word}");
        assert!(!holds(&widget, word), "the widget's wasm has {word}");
    }
    assert_eq!(&module[..4], b"\0asm", "the module is wasm");
}
