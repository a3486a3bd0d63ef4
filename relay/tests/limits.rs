//! The `chat-relay` binary against clients that hold on: idle sockets, unfinished headers, stalled
//! bodies, idle keep-alive connections, too many connections from one client or in all, and more
//! bodies at once than the relay will hold. Each with short limits set by flags.

mod common;

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use common::start;

async fn connect(url: &str) -> TcpStream {
    TcpStream::connect(url.trim_start_matches("http://"))
        .await
        .expect("connects")
}

/// Everything the relay sends until it closes the connection, and when it closed it; `None` if
/// it was still open after `limit`.
async fn until_closed(stream: &mut TcpStream, limit: Duration) -> Option<(String, Duration)> {
    let started = Instant::now();
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let left = limit.checked_sub(started.elapsed())?;
        match tokio::time::timeout(left, stream.read(&mut buffer)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => {
                return Some((
                    String::from_utf8_lossy(&received).into_owned(),
                    started.elapsed(),
                ))
            }
            Ok(Ok(read)) => received.extend_from_slice(&buffer[..read]),
        }
    }
}

#[tokio::test]
async fn idle_sockets_unfinished_headers_and_idle_keep_alive_connections_are_closed() {
    let (_relay, url) = start(["--header-timeout-secs", "1"]).await;
    let limit = Duration::from_secs(5);

    let mut idle = connect(&url).await;
    let mut unfinished = connect(&url).await;
    unfinished
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: relay\r\n")
        .await
        .expect("sent");
    let mut kept_alive = connect(&url).await;
    kept_alive
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: relay\r\n\r\n")
        .await
        .expect("sent");

    let (nothing, _) = until_closed(&mut idle, limit)
        .await
        .expect("an idle socket is closed");
    assert!(nothing.is_empty());
    until_closed(&mut unfinished, limit)
        .await
        .expect("unfinished headers are cut off");
    let (answer, _) = until_closed(&mut kept_alive, limit)
        .await
        .expect("an idle keep-alive connection is closed after its answer");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn a_stalled_body_is_answered_408_and_closed() {
    let (_relay, url) = start(["--body-timeout-secs", "1"]).await;
    let mut stalled = connect(&url).await;
    stalled
        .write_all(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: relay\r\n\
              Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"model\":",
        )
        .await
        .expect("sent");
    let (answer, after) = until_closed(&mut stalled, Duration::from_secs(5))
        .await
        .expect("the stalled body is given up on");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(after < Duration::from_secs(5));
}

#[tokio::test]
async fn connections_past_a_cap_are_closed_as_they_come_and_admitted_once_one_leaves() {
    for cap in [
        ["--max-connections-per-client", "3"],
        ["--max-connections", "3"],
    ] {
        let (_relay, url) = start(cap).await;
        let mut held = Vec::new();
        for _ in 0..3 {
            held.push(connect(&url).await);
        }
        // Give the relay the moment it takes to count them.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut fourth = connect(&url).await;
        until_closed(&mut fourth, Duration::from_secs(2))
            .await
            .unwrap_or_else(|| panic!("{cap:?}: a fourth connection is closed at once"));
        drop(held.pop());
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut again = connect(&url).await;
        again
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: relay\r\nConnection: close\r\n\r\n")
            .await
            .expect("sent");
        let (answer, _) = until_closed(&mut again, Duration::from_secs(5))
            .await
            .expect("answered");
        assert!(answer.starts_with("HTTP/1.1 200"), "{cap:?}: {answer}");
    }
}

#[tokio::test]
async fn bodies_past_the_bytes_in_flight_are_refused_at_once_with_503() {
    let (_relay, url) = start(["--body-limit", "1500", "--body-bytes-in-flight", "2000"]).await;
    // Holds 1,500 of the 2,000 bytes while it trickles.
    let mut slow = connect(&url).await;
    slow.write_all(
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: relay\r\n\
          Content-Type: application/json\r\nContent-Length: 1500\r\n\r\n{",
    )
    .await
    .expect("sent");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut second = connect(&url).await;
    second
        .write_all(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: relay\r\nConnection: close\r\n\
              Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n",
        )
        .await
        .expect("sent");
    let (answer, after) = until_closed(&mut second, Duration::from_secs(5))
        .await
        .expect("answered");
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("retry-after: 1"),
        "{answer}"
    );
    assert!(
        after < Duration::from_secs(2),
        "at once, not after {after:?}"
    );
}
