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
//! 3. Concurrency: `STREAMS` streams at once through the relay, each 5 s long; errors and the
//!    relay's peak memory.

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
const STREAMS: usize = 1_000;
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

    let mut relay = tokio::process::Command::new(env!("CARGO_BIN_EXE_chat-relay"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--upstream",
            &upstream_url,
            "--static-dir",
            "/nonexistent",
        ])
        .args(["--rate-per-minute", "60000", "--rate-burst", "1000000"])
        // The scripted upstream reads its pace from the model's name.
        .arg("--allow-any-model")
        // A thousand streams from one client, on purpose.
        .args([
            "--max-connections",
            "4000",
            "--max-connections-per-client",
            "4000",
        ])
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
    let relay_url = line.trim().rsplit(' ').next().expect("a URL").to_owned();
    let relay_pid = relay.id().expect("running");
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
    println!(
        "3. concurrency: {STREAMS} streams at once through the relay, 50 chunks 100 ms apart each"
    );
    let before = peak_memory_kib(relay_pid).unwrap_or(0);
    let errors = Arc::new(AtomicUsize::new(0));
    let first_error = Arc::new(std::sync::Mutex::new(None::<String>));
    let started = Instant::now();
    let tasks: Vec<_> = (0..STREAMS)
        .map(|_| {
            let client = client.clone();
            let url = relayed.clone();
            let errors = errors.clone();
            let first_error = first_error.clone();
            tokio::spawn(async move {
                match read_stream(&client, &url, 50, 100_000).await {
                    Ok(latencies) if latencies.len() == 50 => {}
                    Ok(latencies) => {
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
    let errors = errors.load(Ordering::Relaxed);
    let peak = peak_memory_kib(relay_pid).unwrap_or(0);
    println!(
        "   {} of {STREAMS} streams complete, {errors} errors, in {:.1} s",
        STREAMS - errors,
        started.elapsed().as_secs_f64()
    );
    if let Some(error) = first_error.lock().expect("lock").take() {
        println!("   first error: {error}");
    }
    println!(
        "   relay peak memory: {:.1} MiB (before: {:.1} MiB)",
        peak as f64 / 1024.0,
        before as f64 / 1024.0
    );
    let _ = relay.kill().await;
}
