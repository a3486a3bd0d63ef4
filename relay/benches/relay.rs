//! What the relay costs a stream, and how many streams it holds.
//!
//! Run with `scripts/bench-relay` (it raises the open-file limit first). Everything runs on
//! 127.0.0.1: a local upstream that streams as fast as it can (or at a steady pace), the relay
//! binary in upstream mode in front of it, and a client reading through the relay or straight from
//! the upstream.
//!
//! 1. Throughput: one stream of `CHUNKS` SSE chunks, read straight and through the relay.
//! 2. Added latency: chunks sent every 2 ms carrying their send time; the latency of each chunk
//!    straight and through the relay, p50 and p99.
//! 3. Concurrency: 1,000 and then 5,000 streams at once through the relay, each 5 s long:
//!    errors, chunks per second in all, the relay's CPU time and its peak memory; then 1,000
//!    through a relay that also writes every reply to Redis (`--redis-url`), for a resume
//!    through another replica.
//! 4. The checks' cost: requests one after another to the demo model, without a policy or
//!    budgets, with a policy, with budgets in memory, and with budgets in Redis (a
//!    `redis-server` this starts on a free port, when there is one).

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::routing::post;
use axum::Router;
use chat_protocol::{SseFrame, StreamDecoder, StreamEvent};
use futures_util::StreamExt;
use tokio::io::AsyncBufReadExt;
use tokio::net::TcpListener;

const CHUNKS: usize = 50_000;
const LATENCY_CHUNKS: usize = 1_000;
const STREAMS: [usize; 2] = [1_000, 5_000];
const RUNS: usize = 5;

static EPOCH: OnceLock<Instant> = OnceLock::new();

fn micros_since_epoch() -> u64 {
    u64::try_from(EPOCH.get_or_init(Instant::now).elapsed().as_micros()).unwrap_or(u64::MAX)
}

/// The stream the upstream sends, named by the request's model (the relay forwards the body, not
/// the query string): `bench/<chunks>/<microseconds between chunks>`; 0 sends as fast as the
/// connection takes them.
fn model(chunks: usize, gap_us: u64) -> String {
    format!("bench/{chunks}/{gap_us}")
}

fn shape(body: &[u8]) -> (usize, u64) {
    let request: chat_protocol::ChatRequest = serde_json::from_slice(body).expect("a chat request");
    let mut parts = request
        .model
        .split('/')
        .skip(1)
        .map(|part| part.parse::<u64>().unwrap_or(0));
    let chunks = usize::try_from(parts.next().unwrap_or(0)).unwrap_or(0);
    (chunks, parts.next().unwrap_or(0))
}

/// A chunk whose content is its send time in microseconds.
fn chunk() -> Bytes {
    let chunk = format!(
        "{{\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{}\"}}}}]}}",
        micros_since_epoch()
    );
    Bytes::from(SseFrame::new(&chunk).encode())
}

fn upstream() -> Router {
    Router::new().route(
        "/chat/completions",
        post(|body: Bytes| async move {
            let (count, gap_us) = shape(&body);
            let gap = Duration::from_micros(gap_us);
            let chunks = futures_util::stream::iter(0..count)
                .then(move |_| async move {
                    if !gap.is_zero() {
                        tokio::time::sleep(gap).await;
                    }
                    Ok::<_, std::convert::Infallible>(chunk())
                })
                .chain(futures_util::stream::once(async {
                    Ok(Bytes::from(SseFrame::done().encode()))
                }));
            (
                [("content-type", "text/event-stream")],
                Body::from_stream(chunks),
            )
        }),
    )
}

/// Reads one stream; returns the latency of each chunk in microseconds.
async fn read_stream(
    client: &reqwest::Client,
    url: &str,
    chunks: usize,
    gap_us: u64,
) -> Result<Vec<u64>, String> {
    let body = serde_json::json!({
        "model": model(chunks, gap_us),
        "messages": [{"role": "user", "content": "go"}],
        "stream": true
    })
    .to_string();
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .map_err(|error| error.to_string())?;
    if !response.status().is_success() {
        return Err(format!("HTTP {}", response.status()));
    }
    let mut decoder = StreamDecoder::new();
    let mut latencies = Vec::new();
    let mut done = false;
    let mut bytes = response.bytes_stream();
    while let Some(piece) = bytes.next().await {
        let piece = piece.map_err(|error| error.to_string())?;
        let now = micros_since_epoch();
        for event in decoder.push(&piece) {
            match event {
                StreamEvent::Content(sent) => {
                    latencies.push(now.saturating_sub(sent.parse().unwrap_or(now)))
                }
                StreamEvent::Done => done = true,
                _ => {}
            }
        }
    }
    if done {
        Ok(latencies)
    } else {
        Err("the stream ended early".into())
    }
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn peak_memory_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[tokio::main]
async fn main() {
    EPOCH.get_or_init(Instant::now);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let upstream_url = format!("http://{}", listener.local_addr().expect("bound"));
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            upstream().into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });

    let (mut relay, relay_url, relay_pid) = start_relay(&upstream_url, &[]).await;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("a client");

    println!(
        "relay benchmark (release build, everything on 127.0.0.1, {} cores)",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!();
    println!("1. throughput: one stream of {CHUNKS} chunks, sent as fast as possible (median of {RUNS} runs each, after a warm-up)");
    let straight = format!("{upstream_url}/chat/completions");
    let relayed = format!("{relay_url}/v1/chat/completions");
    for url in [&straight, &relayed] {
        read_stream(&client, url, 1_000, 0)
            .await
            .expect("a warm-up stream");
    }
    let mut times: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    // Alternating, so neither side gets the quieter moments.
    for _ in 0..RUNS {
        for (side, url) in [&straight, &relayed].into_iter().enumerate() {
            let started = Instant::now();
            let latencies = read_stream(&client, url, CHUNKS, 0)
                .await
                .expect("a complete stream");
            assert_eq!(latencies.len(), CHUNKS);
            times[side].push(started.elapsed().as_secs_f64());
        }
    }
    let mut rates = Vec::new();
    for (name, mut seconds) in [
        ("straight", times[0].clone()),
        ("through the relay", times[1].clone()),
    ] {
        seconds.sort_by(f64::total_cmp);
        let median = seconds[seconds.len() / 2];
        let rate = CHUNKS as f64 / median;
        rates.push(rate);
        println!("   {name:<18} {rate:>10.0} chunks/s ({CHUNKS} chunks in {median:.2} s)");
    }
    println!("   ratio (relay / straight): {:.2}", rates[1] / rates[0]);

    println!();
    println!("2. latency per chunk: {LATENCY_CHUNKS} chunks, one every 2 ms");
    let mut p50s = Vec::new();
    let mut p99s = Vec::new();
    for (name, url) in [("straight", &straight), ("through the relay", &relayed)] {
        let mut latencies = read_stream(&client, url, LATENCY_CHUNKS, 2000)
            .await
            .expect("a complete stream");
        latencies.sort_unstable();
        let (p50, p99) = (percentile(&latencies, 0.5), percentile(&latencies, 0.99));
        p50s.push(p50);
        p99s.push(p99);
        println!("   {name:<18} p50 {p50:>6} µs   p99 {p99:>6} µs");
    }
    println!(
        "   added by the relay: p50 {} µs, p99 {} µs",
        p50s[1].saturating_sub(p50s[0]),
        p99s[1].saturating_sub(p99s[0])
    );

    println!();
    println!("3. concurrency: streams at once through the relay, 50 chunks 100 ms apart each");
    for streams in STREAMS {
        concurrency(&client, &relayed, relay_pid, streams, "").await;
    }
    let _ = relay.kill().await;
    let redis = Redis::start();
    if let Some(redis) = &redis {
        let flags = ["--redis-url".to_owned(), redis.url.clone()];
        let (mut relay, url, pid) = start_relay(&upstream_url, &flags).await;
        let relayed = format!("{url}/v1/chat/completions");
        let before = redis.kept_replies();
        concurrency(
            &client,
            &relayed,
            pid,
            STREAMS[0],
            ", every reply kept in Redis too",
        )
        .await;
        let _ = relay.kill().await;
        println!(
            "          replies found in Redis afterwards: {}",
            redis.kept_replies().saturating_sub(before)
        );
    }
    println!(
        "   (10,000 streams need more than this machine's {} open files: a relay holds two per \
         stream, the browser's and the upstream's)",
        open_file_limit().unwrap_or(0)
    );

    println!();
    println!(
        "4. the cost of the checks: {CHECKED} requests one after another (the demo model, not \
         streamed), mean time per request, best of three rounds"
    );
    let rows = checks(redis.as_ref().map(|redis| redis.url.as_str()));
    // Three rounds, the rows taking turns in each, so that none gets the quieter moments; the
    // best of each row's three.
    let mut best = vec![f64::INFINITY; rows.len()];
    for _ in 0..3 {
        for ((_, flags), best) in rows.iter().zip(&mut best) {
            if let Some(mean) = mean_request(flags).await {
                *best = best.min(mean);
            }
        }
    }
    for ((name, _), mean) in rows.iter().zip(&best) {
        if !mean.is_finite() {
            println!("   {name:<44} (could not run)");
            continue;
        }
        let added = if *mean == best[0] {
            String::new()
        } else {
            format!("  ({:+.0} µs against none)", mean - best[0])
        };
        println!("   {name:<44} {mean:>7.0} µs{added}");
    }
    if redis.is_none() {
        println!(
            "   (no redis-server on PATH: the Redis row is left out; scripts/test installs it)"
        );
    }
}

/// Starts the relay binary in front of `upstream_url`, with `flags`: the process, its URL and its
/// process id.
async fn start_relay(upstream_url: &str, flags: &[String]) -> (tokio::process::Child, String, u32) {
    let mut relay = tokio::process::Command::new(env!("CARGO_BIN_EXE_chat-relay"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--upstream",
            upstream_url,
            "--static-dir",
            "/nonexistent",
        ])
        .args(["--rate-per-minute", "60000", "--rate-burst", "1000000"])
        // The scripted upstream reads its pace from the model's name.
        .arg("--allow-any-model")
        // A thousand streams from one client, on purpose.
        .args([
            "--max-connections",
            "12000",
            "--max-connections-per-client",
            "12000",
        ])
        .args(flags)
        .env("CHAT_RELAY_API_KEY", "bench-key")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the relay starts");
    let mut line = String::new();
    tokio::io::BufReader::new(relay.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .await
        .expect("its address");
    let url = line.trim().rsplit(' ').next().expect("a URL").to_owned();
    let pid = relay.id().expect("running");
    (relay, url, pid)
}

/// `streams` streams at once through the relay at `relayed` (process `relay_pid`), 50 chunks
/// 100 ms apart each; prints a row, its name followed by `label`.
async fn concurrency(
    client: &reqwest::Client,
    relayed: &str,
    relay_pid: u32,
    streams: usize,
    label: &str,
) {
    let cpu_before = cpu_seconds(relay_pid).unwrap_or(0.0);
    let errors = Arc::new(AtomicUsize::new(0));
    let chunks = Arc::new(AtomicUsize::new(0));
    let first_error = Arc::new(std::sync::Mutex::new(None::<String>));
    let started = Instant::now();
    let tasks: Vec<_> = (0..streams)
        .map(|_| {
            let client = client.clone();
            let url = relayed.to_owned();
            let errors = errors.clone();
            let chunks = chunks.clone();
            let first_error = first_error.clone();
            tokio::spawn(async move {
                match read_stream(&client, &url, 50, 100_000).await {
                    Ok(latencies) if latencies.len() == 50 => {
                        chunks.fetch_add(50, Ordering::Relaxed);
                    }
                    Ok(latencies) => {
                        chunks.fetch_add(latencies.len(), Ordering::Relaxed);
                        errors.fetch_add(1, Ordering::Relaxed);
                        first_error
                            .lock()
                            .expect("lock")
                            .get_or_insert(format!("{} chunks", latencies.len()));
                    }
                    Err(error) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                        first_error.lock().expect("lock").get_or_insert(error);
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        let _ = task.await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let errors = errors.load(Ordering::Relaxed);
    let chunks = chunks.load(Ordering::Relaxed);
    let cpu = cpu_seconds(relay_pid).unwrap_or(0.0) - cpu_before;
    let peak = peak_memory_kib(relay_pid).unwrap_or(0);
    println!(
        "   {streams:>6} streams{label}: {} complete, {errors} errors, in {elapsed:.1} s; \
         {:.0} chunks/s in all; relay CPU {cpu:.2} s ({:.0} % of one core); \
         relay peak memory {:.1} MiB",
        streams - errors,
        chunks as f64 / elapsed,
        100.0 * cpu / elapsed,
        peak as f64 / 1024.0,
    );
    let first_error = first_error.lock().expect("lock").take();
    if let Some(error) = first_error {
        println!("          first error: {error}");
    }
}

/// The policy the checks' rows use: a pinned prompt, a range, a fixed value, a tool.
const POLICY: &str = r#"
system_prompt = "You are the assistant of Example Shop."
models = ["m"]
max_messages = 40
[parameters]
temperature = { min = 0.0, max = 1.0 }
presence_penalty = 0.0
[[tools]]
name = "order_status"
parameters = { type = "object", properties = { order = { type = "string" } } }
"#;

/// How many requests each row of the checks sends.
const CHECKED: usize = 2_000;

/// The rows of the checks: a name and the relay's flags.
fn checks(redis: Option<&str>) -> Vec<(&'static str, Vec<String>)> {
    let policy = std::env::temp_dir().join(format!(
        "chat-relay-bench-policy-{}.toml",
        std::process::id()
    ));
    let _ = std::fs::write(&policy, POLICY);
    let policy = policy.display().to_string();
    let budgets = [
        "--client-tokens-per-minute",
        "1000000000000",
        "--tokens-per-minute",
        "1000000000000",
    ]
    .map(str::to_owned);
    let mut rows = vec![
        ("no policy, no budgets", Vec::new()),
        ("a policy", vec!["--policy".to_owned(), policy.clone()]),
        (
            "a policy and budgets, in memory",
            [
                vec!["--policy".to_owned(), policy.clone()],
                budgets.to_vec(),
            ]
            .concat(),
        ),
    ];
    if let Some(url) = redis {
        rows.push((
            "a policy and budgets, in Redis",
            [
                vec![
                    "--policy".to_owned(),
                    policy,
                    "--redis-url".to_owned(),
                    url.to_owned(),
                ],
                budgets.to_vec(),
            ]
            .concat(),
        ));
    }
    rows
}

/// The mean time of a request to a demo-mode relay started with `flags`, in microseconds.
async fn mean_request(flags: &[String]) -> Option<f64> {
    let mut relay = tokio::process::Command::new(env!("CARGO_BIN_EXE_chat-relay"))
        .args(["--listen", "127.0.0.1:0", "--static-dir", "/nonexistent"])
        .args(["--demo", "--demo-pace-ms", "0"])
        .args(["--rate-per-minute", "60000", "--rate-burst", "1000000"])
        .args(flags)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .ok()?;
    let mut line = String::new();
    tokio::io::BufReader::new(relay.stdout.take()?)
        .read_line(&mut line)
        .await
        .ok()?;
    let url = format!("{}/v1/chat/completions", line.trim().rsplit(' ').next()?);
    let client = reqwest::Client::new();
    let body = r#"{"model":"m","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hello there"}],"temperature":0.5,"max_tokens":1,"stream":false,"tools":[{"type":"function","function":{"name":"order_status"}}]}"#;
    let send = || async {
        client
            .post(&url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .ok()?
            .bytes()
            .await
            .ok()
    };
    for _ in 0..200 {
        send().await?;
    }
    let started = Instant::now();
    for _ in 0..CHECKED {
        send().await?;
    }
    let mean = started.elapsed().as_secs_f64() * 1e6 / CHECKED as f64;
    let _ = relay.kill().await;
    Some(mean)
}

/// A `redis-server` on a free port, for the Redis row; stopped when dropped.
struct Redis {
    url: String,
    process: std::process::Child,
}

impl Redis {
    fn start() -> Option<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .ok()?
            .port();
        let process = std::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if started.elapsed() > Duration::from_secs(10) {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(Redis {
            url: format!("redis://127.0.0.1:{port}"),
            process,
        })
    }
}

impl Redis {
    /// How many replies Redis keeps (their event streams), by `SCAN`.
    fn kept_replies(&self) -> usize {
        use std::io::{BufRead, BufReader, Write};
        let address = self.url.trim_start_matches("redis://");
        let Ok(mut stream) = std::net::TcpStream::connect(address) else {
            return 0;
        };
        let mut reader = BufReader::new(stream.try_clone().expect("a second handle"));
        let (mut cursor, mut found) = ("0".to_owned(), 0);
        loop {
            // Each reply's events are under `chat-relay:reply:{32 hex digits}`, without a suffix.
            let pattern = format!("chat-relay:reply:{}", "?".repeat(32));
            let parts = ["SCAN", &cursor, "MATCH", &pattern, "COUNT", "1000"];
            let mut request = format!("*{}\r\n", parts.len());
            for part in parts {
                request.push_str(&format!("${}\r\n{part}\r\n", part.len()));
            }
            if stream.write_all(request.as_bytes()).is_err() {
                return found;
            }
            // *2, $n, the cursor, *k, then k times $n and a key.
            let mut line = String::new();
            let mut next = |reader: &mut BufReader<std::net::TcpStream>| {
                line.clear();
                reader.read_line(&mut line).ok();
                line.trim_end().to_owned()
            };
            next(&mut reader);
            next(&mut reader);
            cursor = next(&mut reader);
            let keys: usize = next(&mut reader)
                .trim_start_matches('*')
                .parse()
                .unwrap_or(0);
            for _ in 0..keys {
                next(&mut reader);
                next(&mut reader);
            }
            found += keys;
            if cursor == "0" || cursor.is_empty() {
                return found;
            }
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// The CPU time (user and system) the process has used, in seconds.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command's name (which may hold spaces) in parentheses.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // The kernel's clock ticks per second, 100 on Linux everywhere this runs.
    Some(ticks / 100.0)
}

/// The open-file limit of this process.
fn open_file_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}
