//! What the widget costs a host page as it loads: headless Chromium with an empty cache, unthrottled
//! and on a throttled mobile profile (1.6 Mbps down, 750 kbps up, 150 ms round trips, the CPU 4×
//! slower), in front of the relay's release binary. Pages, all on another origin than the relay:
//! a bare host page (the baseline), the same page with only the loader's script (no element for
//! it), with the launcher, with the inline widget, and
//! with the inline widget loaded eagerly (what every page paid before the loader).
//!
//! For each: the widget's bytes on the wire before anyone touches it; the page's main-thread time
//! until its load event; when the stand-in was drawn, against DOMContentLoaded; the time from a
//! click on the launcher (or from navigation, inline) until the message box is usable; what the
//! widget downloads in all once in use; and layout shift. Each figure is the median of a few runs.
//! `scripts/bench-load` builds and runs it; it prints numbers and has no pass/fail.

use std::time::Duration;

use axum::response::Html;
use axum::routing::get;
use axum::Router;
use chat_e2e::{host_page, main_thread_metrics, serve_on, webdriver, Answers, Cdp, Relay};
use fantoccini::Client;
use serde_json::{json, Value};
use tokio::net::TcpListener;

const RUNS: usize = 5;

/// A network and CPU profile.
struct Profile {
    name: &'static str,
    /// Down and up in bytes per second, and the round trip in ms; `None`: unthrottled.
    network: Option<(f64, f64, f64)>,
    cpu_slowdown: f64,
}

const PROFILES: [Profile; 2] = [
    Profile {
        name: "unthrottled",
        network: None,
        cpu_slowdown: 1.0,
    },
    Profile {
        name: "mobile (1.6 Mbps, 150 ms RTT, CPU 4x)",
        network: Some((1_600_000.0 / 8.0, 750_000.0 / 8.0, 150.0)),
        cpu_slowdown: 4.0,
    },
];

/// One page load's figures, in ms and bytes.
#[derive(Clone, Debug, Default)]
struct Figures {
    bytes_before: f64,
    main_thread_ms: f64,
    script_ms: f64,
    stand_in_ms: Option<f64>,
    dom_content_loaded_ms: f64,
    usable_ms: Option<f64>,
    bytes_in_use: f64,
    layout_shift: f64,
}

/// The widget's files the page has fetched, on the wire (the relay's `Timing-Allow-Origin` lets
/// the page see their sizes).
const WIDGET_BYTES: &str = "
    const relay = arguments[0];
    return performance.getEntriesByType('resource')
        .filter((entry) => entry.name.startsWith(relay))
        .reduce((sum, entry) => sum + entry.transferSize, 0);";

const TIMES: &str = "
    const navigation = performance.getEntriesByType('navigation')[0];
    const mark = performance.getEntriesByName('chat-widget:stand-in')[0];
    return [navigation.domContentLoadedEventStart, mark ? mark.startTime : null];";

/// Resolves with the ms from a click on the launcher (or, inline, from navigation) until the
/// widget's own message box is there and shown.
const USABLE: &str = "
    const done = arguments[arguments.length - 1];
    const shadow = document.querySelector('#chat').shadowRoot;
    const usable = () => {
        const input = shadow.querySelector('.cw-root:not([data-cw-standin]) .cw-composer__input');
        return input && input.getClientRects().length > 0;
    };
    const launcher = shadow.querySelector('.cw-launcher');
    const started = launcher ? performance.now() : 0;
    if (launcher) launcher.click();
    const check = () => usable() ? done(performance.now() - started) : requestAnimationFrame(check);
    check();";

const LAYOUT_SHIFT: &str = "
    const done = arguments[arguments.length - 1];
    new PerformanceObserver((list) => done(list.getEntries()
        .filter((entry) => !entry.hadRecentInput)
        .reduce((sum, entry) => sum + entry.value, 0)))
      .observe({ type: 'layout-shift', buffered: true });
    setTimeout(() => done(0), 300);";

async fn cdp(client: &Client, command: &'static str, params: Value) -> Value {
    client
        .issue_cmd(Cdp::new(command, params))
        .await
        .unwrap_or_else(|error| panic!("{command}: {error}"))
}

/// The page's main-thread time so far, in ms: in all its tasks, and of that running script.
async fn main_thread_ms(client: &Client) -> [f64; 2] {
    main_thread_metrics(client, ["TaskDuration", "ScriptDuration"])
        .await
        .map(|seconds| seconds * 1000.0)
}

/// Loads `url` in a new browser (an empty cache) under `profile`.
async fn measure(url: &str, relay: &str, profile: &Profile, widget: bool) -> Figures {
    let (client, _driver) = webdriver().await;
    client.goto("about:blank").await.expect("a blank page");
    cdp(&client, "Network.enable", json!({})).await;
    cdp(
        &client,
        "Network.setCacheDisabled",
        json!({"cacheDisabled": true}),
    )
    .await;
    if let Some((down, up, rtt)) = profile.network {
        cdp(
            &client,
            "Network.emulateNetworkConditions",
            json!({"offline": false, "latency": rtt, "downloadThroughput": down, "uploadThroughput": up}),
        )
        .await;
    }
    cdp(
        &client,
        "Emulation.setCPUThrottlingRate",
        json!({"rate": profile.cpu_slowdown}),
    )
    .await;
    cdp(&client, "Performance.enable", json!({})).await;
    let before = main_thread_ms(&client).await;
    client.goto(url).await.expect("the page loads");
    let after = main_thread_ms(&client).await;
    let execute = async |script: &str, args: Vec<Value>| {
        client.execute(script, args).await.expect("measured")
    };
    let bytes_before = execute(WIDGET_BYTES, vec![json!(relay)])
        .await
        .as_f64()
        .unwrap_or(0.0);
    let times = execute(TIMES, Vec::new()).await;
    let mut figures = Figures {
        bytes_before,
        main_thread_ms: after[0] - before[0],
        script_ms: after[1] - before[1],
        dom_content_loaded_ms: times[0].as_f64().unwrap_or(0.0),
        stand_in_ms: times[1].as_f64(),
        ..Figures::default()
    };
    if widget {
        client
            .update_timeouts(fantoccini::wd::TimeoutConfiguration::new(
                Some(Duration::from_secs(60)),
                None,
                None,
            ))
            .await
            .expect("timeouts");
        figures.usable_ms = client
            .execute_async(USABLE, Vec::new())
            .await
            .expect("usable")
            .as_f64();
        figures.bytes_in_use = execute(WIDGET_BYTES, vec![json!(relay)])
            .await
            .as_f64()
            .unwrap_or(0.0);
        figures.layout_shift = client
            .execute_async(LAYOUT_SHIFT, Vec::new())
            .await
            .expect("layout shift")
            .as_f64()
            .unwrap_or(0.0);
    }
    let _ = client.close().await;
    figures
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[tokio::main]
async fn main() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let pages_origin = format!("http://{}", listener.local_addr().expect("bound"));
    let relay = Relay::start(
        &Answers::Demo { pace_ms: 30 },
        std::slice::from_ref(&pages_origin),
    )
    .await;
    let endpoint = format!("{}/v1/chat/completions", relay.url);
    let embed = format!("{}/embed.js", relay.url);
    let page = |config: Value| Html(host_page(&embed, &config, r#"lang="en""#));
    let bare = host_page("/none.js", &json!({}), r#"lang="en""#)
        .replace(r#"<script type="module" src="/none.js"></script>"#, "")
        .replace(r#"<div id="chat" data-chat-widget='{}'></div>"#, "");
    // The loader on a page without an element for it: what loading and running the script costs.
    let script_only = host_page(&embed, &json!({}), r#"lang="en""#)
        .replace(r#"<div id="chat" data-chat-widget='{}'></div>"#, "");
    let pages = Router::new()
        .route("/bare", get(Html(bare)))
        .route("/script-only", get(Html(script_only)))
        .route(
            "/launcher",
            get(page(
                json!({"endpoint": endpoint, "presentation": "launcher", "title": "Shop assistant"}),
            )),
        )
        .route(
            "/inline",
            get(page(json!({"endpoint": endpoint, "title": "Shop assistant"}))),
        )
        .route(
            "/inline-eager",
            get(page(
                json!({"endpoint": endpoint, "title": "Shop assistant", "load": "eager"}),
            )),
        );
    let _pages = serve_on(listener, pages);

    println!("Page load benchmark: headless Chromium, empty cache, the release build, median of {RUNS} runs");
    for profile in &PROFILES {
        println!();
        println!("{}", profile.name);
        println!(
            "{:<14} {:>12} {:>18} {:>18} {:>12} {:>12} {:>8}",
            "page",
            "bytes before",
            "main thread (js)",
            "stand-in (DCL)",
            "usable",
            "bytes in use",
            "shift"
        );
        for (name, widget) in [
            ("bare", false),
            ("script-only", false),
            ("launcher", true),
            ("inline", true),
            ("inline-eager", true),
        ] {
            let mut runs = Vec::new();
            for _ in 0..RUNS {
                runs.push(
                    measure(
                        &format!("{pages_origin}/{name}"),
                        &relay.url,
                        profile,
                        widget,
                    )
                    .await,
                );
            }
            let of = |pick: fn(&Figures) -> f64| median(runs.iter().map(pick).collect());
            let stand_in = if widget {
                format!(
                    "{:.0} ms ({:.0})",
                    of(|f| f.stand_in_ms.unwrap_or(f64::NAN)),
                    of(|f| f.dom_content_loaded_ms)
                )
            } else {
                format!("- ({:.0})", of(|f| f.dom_content_loaded_ms))
            };
            let usable = if widget {
                let from = if name == "launcher" { "click" } else { "nav" };
                format!("{:.0} ms {from}", of(|f| f.usable_ms.unwrap_or(f64::NAN)))
            } else {
                "-".to_owned()
            };
            println!(
                "{:<14} {:>9.1} KB {:>18} {:>18} {:>12} {:>9.1} KB {:>8.3}",
                name,
                of(|f| f.bytes_before) / 1024.0,
                format!(
                    "{:.0} ms ({:.0})",
                    of(|f| f.main_thread_ms),
                    of(|f| f.script_ms)
                ),
                stand_in,
                usable,
                of(|f| f.bytes_in_use) / 1024.0,
                of(|f| f.layout_shift),
            );
        }
    }
    println!();
    println!(
        "bytes before: the widget's files on the wire before anyone touches it (headers included)"
    );
    println!("main thread (js): the page's main-thread time from navigation to its load event (of it, running script)");
    println!("stand-in (DCL): when the stand-in was drawn, after navigation (DOMContentLoaded in brackets)");
    println!("usable: from a click on the launcher (click), or from navigation (nav), until the widget's message box is shown");
    println!("bytes in use: everything the widget downloaded, once in use");
}
