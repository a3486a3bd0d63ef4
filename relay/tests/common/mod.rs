//! The `chat-relay` binary started as a user starts it, for the tests that run it as a process.

use std::ffi::OsStr;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub const RELAY: &str = env!("CARGO_BIN_EXE_chat-relay");

/// The binary with `args` on a free port of 127.0.0.1, in demo mode; stopped when the child is
/// dropped. Returns it and the URL it printed.
pub async fn start<I, S>(args: I) -> (Child, String)
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut relay = Command::new(RELAY)
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .env_remove("CHAT_RELAY_API_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("starts");
    let mut lines = BufReader::new(relay.stdout.take().expect("stdout")).lines();
    let url = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(line) = lines.next_line().await.expect("reads") {
            if let Some((_, url)) = line.split_once("listening on ") {
                return url.to_owned();
            }
        }
        panic!("the relay stopped before it listened");
    })
    .await
    .expect("listens in time");
    (relay, url)
}
