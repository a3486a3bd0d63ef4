//! Two `chat-relay` processes sharing their counts in a real Redis (`redis-server` from the system
//! packages, which `scripts/test` installs; this test starts its own on a free loopback port and
//! stops it by its id): one token budget and one request rate for both, Redis going away (both
//! keep answering, counting on their own, and say so) and coming back (shared again).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};

mod support;
use support::{relay, spawn};
const TOKEN: &str = "metrics-token";

/// A `redis-server` on `port`, without persistence, stopped (killed) when dropped.
struct Redis(Child);

impl Redis {
    fn start(port: u16) -> Self {
        let binary = std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".to_owned());
        let child = Command::new(&binary)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| {
                panic!("{binary} does not start ({error}): scripts/test installs redis-server")
            });
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "Redis did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Redis(child)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

/// A relay sharing its counts in the Redis on `port`; its URL, and its log (stderr) as it comes.
struct Relay {
    url: String,
    log: tokio::sync::mpsc::UnboundedReceiver<String>,
    _process: tokio::process::Child,
}

impl Relay {
    async fn start(port: u16, flags: &[&str]) -> Self {
        // The demo's tokens without a pause, unless the flags say otherwise.
        let pace: &[&str] = if flags.contains(&"--demo-pace-ms") {
            &[]
        } else {
            &["--demo-pace-ms", "0"]
        };
        let (mut process, url) = spawn(
            relay()
                .arg("--demo")
                .args(pace)
                .args(["--redis-url", &format!("redis://127.0.0.1:{port}")])
                .args(flags)
                .env("CHAT_RELAY_METRICS_TOKEN", TOKEN)
                .stderr(Stdio::piped()),
        )
        .await;
        let (sender, log) = tokio::sync::mpsc::unbounded_channel();
        let mut stderr = BufReader::new(process.stderr.take().expect("stderr")).lines();
        tokio::spawn(async move {
            while let Ok(Some(line)) = stderr.next_line().await {
                let _ = sender.send(line);
            }
        });
        Relay {
            url,
            log,
            _process: process,
        }
    }

    async fn chat(&self, max_tokens: u32) -> u16 {
        let _ = rustls::crypto::ring::default_provider().install_default();
        reqwest::Client::new()
            .post(format!("{}/v1/chat/completions", self.url))
            .json(&json!({
                "model": "m",
                "messages": [{"role": "user", "content": "Hello there"}],
                "max_tokens": max_tokens,
                "stream": false
            }))
            .send()
            .await
            .expect("answers")
            .status()
            .as_u16()
    }

    async fn redis_up(&self) -> Option<bool> {
        let text = reqwest::Client::new()
            .get(format!("{}/metrics", self.url))
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("answers")
            .text()
            .await
            .expect("text");
        text.lines()
            .find_map(|line| line.strip_prefix("chat_relay_redis_up "))
            .map(|value| value.trim() == "1")
    }

    /// Waits until the log has a line with `words`.
    async fn logged(&mut self, words: &str) {
        let found = tokio::time::timeout(Duration::from_secs(10), async {
            while let Some(line) = self.log.recv().await {
                if line.contains(words) {
                    return;
                }
            }
        })
        .await;
        assert!(found.is_ok(), "the relay did not log {words:?}");
    }
}

/// How many requests the two relays answer, taking turns, before one refuses.
async fn answered_in_turns(relays: [&Relay; 2], max_tokens: u32) -> usize {
    for n in 0..20 {
        if relays[n % 2].chat(max_tokens).await != 200 {
            return n;
        }
    }
    panic!("no relay ever refused");
}

#[tokio::test]
async fn two_relays_share_one_budget_and_keep_serving_while_redis_is_away() {
    let port = free_port();
    let mut redis = Redis::start(port);
    // A day's budget, so that no window renews while the test runs (but at midnight UTC):
    // each reply to 100 tokens costs about 105, so 400 hold three, and a fourth with a shorter
    // reply; two relays counting apart would allow twice that.
    let budget = ["--client-tokens-per-day", "400"];
    let mut first = Relay::start(port, &budget).await;
    let mut second = Relay::start(port, &budget).await;
    let together = answered_in_turns([&first, &second], 100).await;
    assert!(
        (3..=4).contains(&together),
        "the two count against one budget: {together}"
    );
    assert_eq!(first.redis_up().await, Some(true));

    // Redis goes away: both keep answering, each counting on its own, and say so.
    drop(redis);
    assert_eq!(first.chat(100).await, 200, "served while Redis is away");
    assert_eq!(second.chat(100).await, 200);
    first.logged("Redis does not answer").await;
    second.logged("Redis does not answer").await;
    assert_eq!(first.redis_up().await, Some(false));

    // It comes back (empty): the counts are shared again.
    redis = Redis::start(port);
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let came_back = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            // A request is what tries Redis again.
            first.chat(1).await;
            second.chat(1).await;
            if first.redis_up().await == Some(true) && second.redis_up().await == Some(true) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await;
    assert!(came_back.is_ok(), "both relays use Redis again");
    first.logged("Redis answers again").await;
    second.logged("Redis answers again").await;
    let shared_again = answered_in_turns([&first, &second], 100).await;
    assert!(
        (2..=4).contains(&shared_again),
        "one budget again: {shared_again}"
    );
    drop(redis);
}

#[tokio::test]
async fn two_relays_share_one_request_rate() {
    let port = free_port();
    let _redis = Redis::start(port);
    let rate = ["--rate-per-minute", "3", "--rate-burst", "3"];
    let first = Relay::start(port, &rate).await;
    let second = Relay::start(port, &rate).await;
    let minute = || {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs() / 60)
    };
    // A window that renews in the middle would allow more: then the turn is taken again.
    for _ in 0..3 {
        let began = minute();
        let answered = answered_in_turns([&first, &second], 5).await;
        if minute() == began {
            assert_eq!(answered, 3, "three requests a minute for both together");
            return;
        }
        // Again from the start of a minute of its own.
        let seconds = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        tokio::time::sleep(Duration::from_secs(60 - seconds % 60)).await;
    }
    panic!("every try straddled a minute");
}

/// The events of a streamed body read so far: (id, data) of each whole one.
fn events_in(body: &[u8]) -> Vec<(usize, String)> {
    chat_protocol::SseDecoder::new()
        .push(body)
        .into_iter()
        .map(|event| (event.id.parse().expect("a numbered event"), event.data))
        .collect()
}

/// Reads `body` until it has `events` whole events, or to its end with `None`; what it read.
async fn read_events(
    body: &mut (impl futures_util::Stream<Item = reqwest::Result<axum::body::Bytes>> + Unpin),
    events: Option<usize>,
) -> Vec<u8> {
    use futures_util::StreamExt;
    let mut read = Vec::new();
    let limit = Duration::from_secs(30);
    let reading = async {
        while events.is_none_or(|events| events_in(&read).len() < events) {
            match body.next().await {
                Some(Ok(bytes)) => read.extend_from_slice(&bytes),
                _ => break,
            }
        }
    };
    tokio::time::timeout(limit, reading)
        .await
        .expect("the events within 30 s");
    read
}

/// Asks `relay` for the demo model's long story, streamed: the name it keeps the reply under, and
/// the reply's body as it comes.
async fn start_story(
    client: &reqwest::Client,
    relay: &Relay,
) -> (
    String,
    impl futures_util::Stream<Item = reqwest::Result<axum::body::Bytes>> + Unpin,
) {
    let started = client
        .post(format!("{}/v1/chat/completions", relay.url))
        .json(&json!({
            "model": "m",
            "messages": [{"role": "user", "content": "Tell me a long story"}],
            "stream": true
        }))
        .send()
        .await
        .expect("answers");
    let id = started.headers()["x-stream-id"]
        .to_str()
        .expect("a name")
        .to_owned();
    (id, started.bytes_stream())
}

#[tokio::test]
async fn a_reply_one_relay_runs_is_resumed_and_stopped_through_the_other() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let port = free_port();
    let _redis = Redis::start(port);
    // A grace of a second, shorter than the reply: it goes on only because the other relay
    // follows it.
    let flags = ["--demo-pace-ms", "5", "--resume-grace-secs", "1"];
    let (first, second) = (
        Relay::start(port, &flags).await,
        Relay::start(port, &flags).await,
    );
    let client = reqwest::Client::new();
    let (id, mut body) = start_story(&client, &first).await;
    let before = events_in(&read_events(&mut body, Some(5)).await);
    let (last, _) = *before.last().expect("events");
    // The connection to the first relay drops; the browser comes back through the second.
    drop(body);
    let elsewhere = format!("{}/v1/streams/{id}", second.url);
    let resumed = client
        .get(&elsewhere)
        .header("last-event-id", last.to_string())
        .send()
        .await
        .expect("answers");
    assert_eq!(resumed.status(), 200);
    let after = events_in(&read_events(&mut resumed.bytes_stream(), None).await);
    let numbers: Vec<usize> = after.iter().map(|(number, _)| *number).collect();
    assert_eq!(
        numbers,
        (last + 1..last + 1 + after.len()).collect::<Vec<_>>(),
        "from the event after the last one seen, nothing missed and nothing twice"
    );
    assert_eq!(
        after.last().map(|(_, data)| data.as_str()),
        Some("[DONE]"),
        "to its end, past the first relay's grace"
    );
    let text: String = before
        .iter()
        .chain(&after)
        .filter_map(|(_, data)| serde_json::from_str::<serde_json::Value>(data).ok())
        .filter_map(|chunk| {
            chunk["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert!(text.contains("Part 24."), "{text}");

    // Only its owner, through either relay; an unknown reply is unknown to both.
    let unknown = client
        .get(format!("{}/v1/streams/{}", second.url, "0".repeat(32)))
        .send()
        .await
        .expect("answers");
    assert_eq!(unknown.status(), 404);
    let (id, mut body) = start_story(&client, &first).await;
    read_events(&mut body, Some(3)).await;
    let elsewhere = format!("{}/v1/streams/{id}", second.url);
    let not_theirs = client
        .delete(&elsewhere)
        .header("origin", &second.url)
        .send()
        .await
        .expect("answers");
    assert_eq!(
        not_theirs.status(),
        403,
        "a page's origin, not the script's"
    );

    // Stop through the second relay: the first stops the reply within a second.
    let stopped = client.delete(&elsewhere).send().await.expect("answers");
    assert_eq!(stopped.status(), 204);
    let asked = Instant::now();
    let rest = tokio::time::timeout(Duration::from_secs(2), read_events(&mut body, None))
        .await
        .expect("the reply ends");
    assert!(
        asked.elapsed() < Duration::from_secs(1),
        "{:?}",
        asked.elapsed()
    );
    assert!(
        !events_in(&rest).iter().any(|(_, data)| data == "[DONE]"),
        "stopped, not finished"
    );
}

#[tokio::test]
async fn a_reply_whose_relay_died_ends_for_its_follower_elsewhere_within_seconds() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let port = free_port();
    let _redis = Redis::start(port);
    let flags = ["--demo-pace-ms", "20"];
    let (first, second) = (
        Relay::start(port, &flags).await,
        Relay::start(port, &flags).await,
    );
    let client = reqwest::Client::new();
    let (id, mut body) = start_story(&client, &first).await;
    let before = events_in(&read_events(&mut body, Some(5)).await);
    let (last, _) = *before.last().expect("events");
    drop(body);
    // The relay running the reply goes away (a deploy, a crash) without writing its end.
    drop(first);
    let asked = Instant::now();
    let resumed = client
        .get(format!("{}/v1/streams/{id}", second.url))
        .header("last-event-id", last.to_string())
        .send()
        .await
        .expect("answers");
    assert_eq!(resumed.status(), 200);
    let after = events_in(&read_events(&mut resumed.bytes_stream(), None).await);
    assert!(
        asked.elapsed() < Duration::from_secs(15),
        "ended {:?} after, not two minutes",
        asked.elapsed()
    );
    assert!(
        !after.iter().any(|(_, data)| data == "[DONE]"),
        "cut, not finished"
    );
    // What was written before it went comes without a gap.
    for (offset, (number, _)) in after.iter().enumerate() {
        assert_eq!(*number, last + 1 + offset);
    }
}
