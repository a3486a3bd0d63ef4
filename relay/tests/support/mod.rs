//! What the tests of the relay's process share: the binary, started as an operator starts it.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The binary cargo built for these tests.
pub const RELAY: &str = env!("CARGO_BIN_EXE_chat-relay");

/// `chat-relay` on a free loopback port, serving no files, its log dropped (set `stderr` again to
/// read it), ready for more flags.
pub fn relay() -> Command {
    let mut command = Command::new(RELAY);
    command
        .args(["--listen", "127.0.0.1:0", "--static-dir", "/nonexistent"])
        .stderr(Stdio::null());
    command
}

/// Starts `command` (killed when dropped) and waits for the address it prints as it listens.
pub async fn spawn(command: &mut Command) -> (Child, String) {
    let mut relay = command
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the relay starts");
    let mut stdout = BufReader::new(relay.stdout.take().expect("its output"));
    let mut line = String::new();
    tokio::time::timeout(Duration::from_secs(10), stdout.read_line(&mut line))
        .await
        .expect("it starts in time")
        .expect("its first line");
    let url = line
        .trim()
        .rsplit(' ')
        .next()
        .unwrap_or_default()
        .to_owned();
    assert!(
        url.starts_with("http://127.0.0.1:"),
        "not an address: {line}"
    );
    (relay, url)
}
