//! The relay's settings: each one a flag, with a `CHAT_RELAY_*` environment variable as the
//! alternative. The API key is the exception: it comes only from the environment.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

/// The environment variable that holds the upstream API key. Without it the relay answers with
/// its built-in demo model.
pub const API_KEY_VAR: &str = "CHAT_RELAY_API_KEY";

/// The relay's command line.
#[derive(Clone, Debug, Parser)]
#[command(
    name = "chat-relay",
    version,
    about = "Relays the chat widget's requests to an OpenAI-compatible API, holding the API key, \
             and serves the widget.",
    long_about = None,
    after_help = "The upstream API key is read from the CHAT_RELAY_API_KEY environment variable \
                  only (never a flag, never logged). Without it the relay answers with a built-in \
                  offline demo model."
)]
pub struct Args {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, env = "CHAT_RELAY_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Base URL of the OpenAI-compatible API; requests go to <URL>/chat/completions.
    #[arg(long, env = "CHAT_RELAY_UPSTREAM", default_value = "https://api.aimlapi.com/v1", value_parser = parse_base_url)]
    pub upstream: String,

    /// Directory of the built widget to serve at / (trunk's dist/).
    #[arg(long, env = "CHAT_RELAY_STATIC_DIR", default_value = "dist")]
    pub static_dir: PathBuf,

    /// An origin (scheme://host[:port]) whose pages may call the relay, besides the relay's own.
    /// Repeat the flag, or separate origins with commas in the variable.
    #[arg(long = "allowed-origin", env = "CHAT_RELAY_ALLOWED_ORIGINS", value_delimiter = ',', value_parser = parse_origin)]
    pub allowed_origins: Vec<String>,

    /// A model the relay accepts. Repeat, or separate with commas. Without any, every model is accepted.
    #[arg(
        long = "allowed-model",
        env = "CHAT_RELAY_ALLOWED_MODELS",
        value_delimiter = ','
    )]
    pub allowed_models: Vec<String>,

    /// The largest max_tokens a request may ask for; larger values are lowered to it.
    #[arg(long, env = "CHAT_RELAY_MAX_TOKENS", default_value_t = 4096, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_tokens: u32,

    /// Chat requests allowed per client IP per minute, on average.
    #[arg(long, env = "CHAT_RELAY_RATE_PER_MINUTE", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=60_000))]
    pub rate_per_minute: u32,

    /// Chat requests a client IP may make in a burst before the per-minute rate applies.
    #[arg(long, env = "CHAT_RELAY_RATE_BURST", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_burst: u32,

    /// The largest request body, in bytes (images are sent inline, so leave room for them).
    #[arg(long, env = "CHAT_RELAY_BODY_LIMIT", default_value_t = 6 * 1024 * 1024, value_parser = clap::value_parser!(u64).range(1024..))]
    pub body_limit: u64,

    /// Milliseconds between the demo model's tokens.
    #[arg(long, env = "CHAT_RELAY_DEMO_PACE_MS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(0..=10_000))]
    pub demo_pace_ms: u64,

    /// Answer with the demo model even when an API key is set.
    #[arg(long, env = "CHAT_RELAY_DEMO")]
    pub demo: bool,
}

/// The API key, which never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(key.into())
    }

    /// The key itself, for the upstream's `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The key from [`API_KEY_VAR`], if set and not blank.
    pub fn from_env() -> Option<Self> {
        std::env::var(API_KEY_VAR)
            .ok()
            .map(|key| key.trim().to_owned())
            .filter(|key| !key.is_empty())
            .map(ApiKey)
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

/// Where chat requests are answered.
#[derive(Clone, Debug)]
pub enum Mode {
    /// Forwarded to the upstream with the key.
    Upstream {
        /// Base URL, without a trailing slash.
        base_url: String,
        /// The key.
        key: ApiKey,
    },
    /// Answered by the built-in demo model.
    Demo {
        /// Time between tokens.
        pace: Duration,
    },
}

/// Everything the running relay needs.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where chat requests are answered.
    pub mode: Mode,
    /// The built widget.
    pub static_dir: PathBuf,
    /// Origins allowed besides the relay's own.
    pub allowed_origins: Vec<String>,
    /// Models accepted; empty accepts all.
    pub allowed_models: Vec<String>,
    /// The max_tokens ceiling.
    pub max_tokens: u32,
    /// Requests per client per minute.
    pub rate_per_minute: u32,
    /// Burst per client.
    pub rate_burst: u32,
    /// Body limit in bytes.
    pub body_limit: usize,
}

impl Config {
    /// The running configuration from the command line and the key.
    pub fn new(args: &Args, key: Option<ApiKey>) -> Self {
        let mode = match key {
            Some(key) if !args.demo => Mode::Upstream {
                base_url: args.upstream.clone(),
                key,
            },
            _ => Mode::Demo {
                pace: Duration::from_millis(args.demo_pace_ms),
            },
        };
        Config {
            mode,
            static_dir: args.static_dir.clone(),
            allowed_origins: args.allowed_origins.clone(),
            allowed_models: args.allowed_models.clone(),
            max_tokens: args.max_tokens,
            rate_per_minute: args.rate_per_minute,
            rate_burst: args.rate_burst,
            body_limit: usize::try_from(args.body_limit).unwrap_or(usize::MAX),
        }
    }

    /// A demo-mode configuration with the defaults, for tests and embedding.
    pub fn demo() -> Self {
        Config::new(&Args::parse_from(["chat-relay"]), None)
    }
}

fn parse_base_url(value: &str) -> Result<String, String> {
    let url = reqwest::Url::parse(value).map_err(|error| format!("not a URL ({error})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must start with http:// or https://".to_owned());
    }
    Ok(value.trim_end_matches('/').to_owned())
}

fn parse_origin(value: &str) -> Result<String, String> {
    let value = value.trim();
    let url = reqwest::Url::parse(value).map_err(|error| format!("not an origin ({error})"))?;
    let origin = url.origin();
    if !origin.is_tuple() || !matches!(url.scheme(), "http" | "https") {
        return Err("must be scheme://host[:port], such as https://example.com".to_owned());
    }
    let serialized = origin.ascii_serialization();
    if serialized != value.trim_end_matches('/') {
        return Err(format!(
            "must be an origin only (scheme://host[:port]), such as {serialized}"
        ));
    }
    Ok(serialized)
}
