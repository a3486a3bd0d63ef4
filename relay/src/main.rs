//! `chat-relay`: see `--help`.

use std::process::ExitCode;

use chat_relay::{api_key_from_env, Args, Config, Mode};
use clap::Parser;
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> ExitCode {
    // A bad flag or variable stops here with clap's message naming it.
    let args = Args::parse();
    let config = match Config::new(&args, api_key_from_env()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("chat-relay: {error}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match TcpListener::bind(args.listen).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("chat-relay: cannot listen on {}: {error}", args.listen);
            return ExitCode::FAILURE;
        }
    };
    let address = listener
        .local_addr()
        .map_or_else(|_| args.listen.to_string(), |address| address.to_string());
    match &config.mode {
        Mode::Upstream { base_url, .. } => eprintln!(
            "chat-relay: forwarding to {} with the key from CHAT_RELAY_API_KEY",
            without_userinfo(base_url)
        ),
        Mode::Demo { .. } => eprintln!(
            "chat-relay: no CHAT_RELAY_API_KEY (or --demo): answering with the offline demo model"
        ),
    }
    if let Some(path) = &args.policy {
        eprintln!(
            "chat-relay: requests are held to the policy in {}",
            path.display()
        );
    }
    if !config.static_dir.join("index.html").is_file() {
        eprintln!(
            "chat-relay: {} has no index.html: build the widget first (scripts/demo does)",
            config.static_dir.display()
        );
    }
    println!("chat-relay: listening on http://{address}");
    let shutdown = async {
        shutdown_signal().await;
        eprintln!("chat-relay: shutting down");
    };
    match chat_relay::serve(listener, config, shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("chat-relay: {error}");
            ExitCode::FAILURE
        }
    }
}

/// `url` without a user name or password in it, for the log.
fn without_userinfo(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut url) => {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.to_string()
        }
        Err(_) => "the upstream".to_owned(),
    }
}

/// Ctrl-C, or SIGTERM (what `kill` and service managers send).
async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}
