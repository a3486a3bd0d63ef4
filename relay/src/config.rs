//! The relay's settings: each one a flag, with a `CHAT_RELAY_*` environment variable as the
//! alternative. The API key is the exception: it comes only from the environment.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::budget::BudgetLimits;
use crate::policy::Policy;
use ipnet::IpNet;

/// The environment variable that holds the upstream API key. Without it the relay answers with
/// its built-in demo model.
pub const API_KEY_VAR: &str = "CHAT_RELAY_API_KEY";

/// Defaults, shared by the command line and [`Config::demo`].
const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
const DEFAULT_UPSTREAM: &str = "https://api.aimlapi.com/v1";
const DEFAULT_STATIC_DIR: &str = "dist";
const DEFAULT_MAX_TOKENS: u32 = 4096;
const DEFAULT_RATE_PER_MINUTE: u32 = 30;
const DEFAULT_RATE_BURST: u32 = 10;
/// Room for four messages at the widget's whole image budget (4 MB of base64 each) in one request.
const DEFAULT_BODY_LIMIT: u64 = 16 * 1024 * 1024;
const DEFAULT_DEMO_PACE_MS: u64 = 30;
const DEFAULT_HEADER_TIMEOUT_SECS: u64 = 20;
const DEFAULT_BODY_TIMEOUT_SECS: u64 = 60;
const DEFAULT_FIRST_BYTE_TIMEOUT_SECS: u64 = 30;
const DEFAULT_RESUME_GRACE_SECS: u64 = 15;
const DEFAULT_MAX_CONNECTIONS: usize = 512;
const DEFAULT_MAX_CONNECTIONS_PER_CLIENT: usize = 32;
/// Four bodies at the default limit at once.
const DEFAULT_BODY_BYTES_IN_FLIGHT: u64 = 4 * DEFAULT_BODY_LIMIT;

/// The relay's command line.
// Its fields' comments are `--help`'s text, written for a terminal rather than for rustdoc.
#[allow(
    rustdoc::bare_urls,
    rustdoc::broken_intra_doc_links,
    rustdoc::invalid_html_tags
)]
#[derive(Clone, Debug, Parser)]
#[command(
    name = "chat-relay",
    version,
    about = "Relays the chat widget's requests to an OpenAI-compatible API, holding the API key, \
             and serves the widget.",
    long_about = None,
    after_help = "The upstream API key is read from the CHAT_RELAY_API_KEY environment variable \
                  only (never a flag, never logged). Without it the relay answers with a built-in \
                  offline demo model. CHAT_RELAY_METRICS_TOKEN, from the environment only too,                   opens GET /metrics on the main address to requests that bear it."
)]
pub struct Args {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, env = "CHAT_RELAY_LISTEN", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,

    /// Base URL of the OpenAI-compatible API; requests go to <URL>/chat/completions.
    #[arg(long, env = "CHAT_RELAY_UPSTREAM", default_value = DEFAULT_UPSTREAM, value_parser = parse_base_url)]
    pub upstream: String,

    /// Directory of the built widget to serve at / (trunk's dist/).
    #[arg(long, env = "CHAT_RELAY_STATIC_DIR", default_value = DEFAULT_STATIC_DIR)]
    pub static_dir: PathBuf,

    /// The origin the relay's own pages are served at, when not the address it listens on (say,
    /// https://chat.example.com behind a reverse proxy). Repeat, or separate with commas. The
    /// loopback origins of the listening port are always the relay's own.
    #[arg(long = "public-origin", env = "CHAT_RELAY_PUBLIC_ORIGINS", value_delimiter = ',', value_parser = parse_origin)]
    pub public_origins: Vec<String>,

    /// An origin (scheme://host[:port]) whose pages may call the relay, besides the relay's own.
    /// Repeat the flag, or separate origins with commas in the variable.
    #[arg(long = "allowed-origin", env = "CHAT_RELAY_ALLOWED_ORIGINS", value_delimiter = ',', value_parser = parse_origin)]
    pub allowed_origins: Vec<String>,

    /// Who may show the relay's pages in a frame: a CSP `frame-ancestors` source list, such as
    /// https://shop.example.com. The default, 'self', lets only the relay's own pages frame them.
    #[arg(long, env = "CHAT_RELAY_FRAME_ANCESTORS", default_value = "'self'", value_parser = parse_frame_ancestors)]
    pub frame_ancestors: String,

    /// A model the relay forwards. Repeat, or separate with commas. Without any (and without
    /// --allow-any-model), only the widget's default model, gemini-1.5-pro, is forwarded.
    #[arg(
        long = "allowed-model",
        env = "CHAT_RELAY_ALLOWED_MODELS",
        value_delimiter = ','
    )]
    pub allowed_models: Vec<String>,

    /// Forward requests for any model (the key's owner pays for whatever a page asks for).
    #[arg(long, env = "CHAT_RELAY_ALLOW_ANY_MODEL")]
    pub allow_any_model: bool,

    /// The largest max_tokens a request may ask for; larger values are lowered to it.
    #[arg(long, env = "CHAT_RELAY_MAX_TOKENS", default_value_t = DEFAULT_MAX_TOKENS, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_tokens: u32,

    /// Chat requests allowed per client IP per minute, on average.
    #[arg(long, env = "CHAT_RELAY_RATE_PER_MINUTE", default_value_t = DEFAULT_RATE_PER_MINUTE, value_parser = clap::value_parser!(u32).range(1..=60_000))]
    pub rate_per_minute: u32,

    /// Chat requests a client IP may make in a burst before the per-minute rate applies.
    #[arg(long, env = "CHAT_RELAY_RATE_BURST", default_value_t = DEFAULT_RATE_BURST, value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_burst: u32,

    /// The largest request body, in bytes (images are sent inline, so leave room for them).
    #[arg(long, env = "CHAT_RELAY_BODY_LIMIT", default_value_t = DEFAULT_BODY_LIMIT, value_parser = clap::value_parser!(u64).range(1024..=1024 * 1024 * 1024))]
    pub body_limit: u64,

    /// Seconds a client has to send a request's headers; also the longest an idle connection is
    /// kept open between requests.
    #[arg(long, env = "CHAT_RELAY_HEADER_TIMEOUT_SECS", default_value_t = DEFAULT_HEADER_TIMEOUT_SECS, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub header_timeout_secs: u64,

    /// Seconds a client has to send a request's whole body.
    #[arg(long, env = "CHAT_RELAY_BODY_TIMEOUT_SECS", default_value_t = DEFAULT_BODY_TIMEOUT_SECS, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub body_timeout_secs: u64,

    /// Connections open at once, from everyone; more are closed as they come.
    #[arg(long, env = "CHAT_RELAY_MAX_CONNECTIONS", default_value_t = DEFAULT_MAX_CONNECTIONS, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_000_000))]
    pub max_connections: usize,

    /// Connections open at once from one client (an IPv4 address, or an IPv6 /64).
    #[arg(long, env = "CHAT_RELAY_MAX_CONNECTIONS_PER_CLIENT", default_value_t = DEFAULT_MAX_CONNECTIONS_PER_CLIENT, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_000_000))]
    pub max_connections_per_client: usize,

    /// Bytes of request bodies being received at once, from everyone; a request that would go
    /// over is answered 503 at once. At least --body-limit.
    #[arg(long, env = "CHAT_RELAY_BODY_BYTES_IN_FLIGHT", default_value_t = DEFAULT_BODY_BYTES_IN_FLIGHT, value_parser = clap::value_parser!(u64).range(1024..))]
    pub body_bytes_in_flight: u64,

    /// Seconds the upstream has to begin its answer (its status and headers); after them the
    /// browser gets a 504 saying the upstream did not answer in time.
    #[arg(long, env = "CHAT_RELAY_FIRST_BYTE_TIMEOUT_SECS", default_value_t = DEFAULT_FIRST_BYTE_TIMEOUT_SECS, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub first_byte_timeout_secs: u64,

    /// Seconds a streamed reply goes on after the browser's connection drops, waiting for it to
    /// resume (GET /v1/streams/{id}); 0 turns resuming off, and a reply then stops with its
    /// connection.
    #[arg(long, env = "CHAT_RELAY_RESUME_GRACE_SECS", default_value_t = DEFAULT_RESUME_GRACE_SECS, value_parser = clap::value_parser!(u64).range(0..=600))]
    pub resume_grace_secs: u64,

    /// Milliseconds between the demo model's tokens.
    #[arg(long, env = "CHAT_RELAY_DEMO_PACE_MS", default_value_t = DEFAULT_DEMO_PACE_MS, value_parser = clap::value_parser!(u64).range(0..=10_000))]
    pub demo_pace_ms: u64,

    /// Answer with the demo model even when an API key is set.
    #[arg(long, env = "CHAT_RELAY_DEMO")]
    pub demo: bool,

    /// Tokens one client (an IPv4 address, or an IPv6 /64) may spend per minute, counted from
    /// the upstream's reported usage (estimated when it reports none).
    #[arg(long, env = "CHAT_RELAY_CLIENT_TOKENS_PER_MINUTE", value_parser = clap::value_parser!(u64).range(1..))]
    pub client_tokens_per_minute: Option<u64>,

    /// Tokens one client may spend per UTC day.
    #[arg(long, env = "CHAT_RELAY_CLIENT_TOKENS_PER_DAY", value_parser = clap::value_parser!(u64).range(1..))]
    pub client_tokens_per_day: Option<u64>,

    /// Tokens everyone together may spend per minute.
    #[arg(long, env = "CHAT_RELAY_TOKENS_PER_MINUTE", value_parser = clap::value_parser!(u64).range(1..))]
    pub tokens_per_minute: Option<u64>,

    /// Tokens everyone together may spend per UTC day.
    #[arg(long, env = "CHAT_RELAY_TOKENS_PER_DAY", value_parser = clap::value_parser!(u64).range(1..))]
    pub tokens_per_day: Option<u64>,

    /// An address to serve `GET /metrics` on, apart from everything else (an internal address,
    /// such as 127.0.0.1:9100). Without it, /metrics is served on the main address only when
    /// CHAT_RELAY_METRICS_TOKEN is set, to requests that bear it.
    #[arg(long, env = "CHAT_RELAY_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,

    /// The access log's format: one line of text per request, or one JSON object.
    #[arg(long, env = "CHAT_RELAY_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// A Redis (redis://host:port/db) in which every relay process counts the rate limits and
    /// the token budgets, so that replicas share them. Without it, each process counts in its
    /// own memory; when Redis does not answer, the relay counts in its own memory until it does.
    #[arg(long, env = "CHAT_RELAY_REDIS_URL", value_parser = parse_redis_url)]
    pub redis_url: Option<String>,

    /// A proxy in front of the relay (an address, or a network such as 10.0.0.0/8) whose
    /// X-Forwarded-For (or, without it, Forwarded) header names the client: limits and budgets
    /// then count by that client, not by the proxy. Repeat, or separate with commas.
    #[arg(long = "trusted-proxy", env = "CHAT_RELAY_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_network)]
    pub trusted_proxies: Vec<IpNet>,

    /// A policy file (TOML) of what pages may ask: a pinned system prompt, the models, the tools
    /// with their definitions, each parameter's value or range, the history's bounds. See the
    /// README's "Production".
    #[arg(long, env = "CHAT_RELAY_POLICY")]
    pub policy: Option<PathBuf>,
}

pub use chat_protocol::ApiKey;

/// The key from [`API_KEY_VAR`], if set and not blank.
pub fn api_key_from_env() -> Option<ApiKey> {
    std::env::var(API_KEY_VAR)
        .ok()
        .map(|key| key.trim().to_owned())
        .filter(|key| !key.is_empty())
        .map(ApiKey::new)
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
    /// The origins of the relay's own pages. `Host` is not trusted for this: a page of another
    /// origin can rebind its name to the relay's address and send its own name as `Host`.
    pub public_origins: Vec<String>,
    /// Origins allowed besides the relay's own.
    pub allowed_origins: Vec<String>,
    /// Models forwarded upstream; empty: only [`chat_protocol::DEFAULT_MODEL`], unless
    /// `allow_any_model`. The demo model answers any.
    pub allowed_models: Vec<String>,
    /// Forward any model.
    pub allow_any_model: bool,
    /// The CSP `frame-ancestors` sources of the relay's pages.
    pub frame_ancestors: String,
    /// The max_tokens ceiling.
    pub max_tokens: u32,
    /// Requests per client per minute.
    pub rate_per_minute: u32,
    /// Burst per client.
    pub rate_burst: u32,
    /// Body limit in bytes.
    pub body_limit: usize,
    /// What one client and everyone together may hold of the relay.
    pub limits: Limits,
    /// The operator's policy, when there is one.
    pub policy: Option<Policy>,
    /// Proxies whose word on the client's address is taken.
    pub trusted_proxies: Vec<IpNet>,
    /// Token budgets.
    pub budgets: BudgetLimits,
    /// Redis, for counts shared by every replica.
    pub redis_url: Option<String>,
    /// Where `/metrics` is served on its own.
    pub metrics_listen: Option<SocketAddr>,
    /// The bearer token that opens `/metrics` on the main address.
    pub metrics_token: Option<ApiKey>,
    /// The access log's format.
    pub log_format: LogFormat,
}

/// How the access log is written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// `POST /v1/chat/completions 200 12 ms id=…`
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// The environment variable that holds the token for `/metrics` on the main address.
pub const METRICS_TOKEN_VAR: &str = "CHAT_RELAY_METRICS_TOKEN";

/// Bounds on connections and on request bodies being received.
#[derive(Clone, Debug)]
pub struct Limits {
    /// To send a request's headers, and the longest idle time between requests.
    pub header_timeout: Duration,
    /// To send a request's body.
    pub body_timeout: Duration,
    /// For the upstream to begin its answer.
    pub first_byte_timeout: Duration,
    /// For a dropped stream's browser to resume it (zero: no resuming).
    pub resume_grace: Duration,
    /// Connections at once, in all.
    pub max_connections: usize,
    /// Connections at once from one client.
    pub max_connections_per_client: usize,
    /// Bytes of bodies being received at once, in all.
    pub body_bytes_in_flight: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(DEFAULT_HEADER_TIMEOUT_SECS),
            body_timeout: Duration::from_secs(DEFAULT_BODY_TIMEOUT_SECS),
            first_byte_timeout: Duration::from_secs(DEFAULT_FIRST_BYTE_TIMEOUT_SECS),
            resume_grace: Duration::from_secs(DEFAULT_RESUME_GRACE_SECS),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_connections_per_client: DEFAULT_MAX_CONNECTIONS_PER_CLIENT,
            body_bytes_in_flight: usize::try_from(DEFAULT_BODY_BYTES_IN_FLIGHT)
                .unwrap_or(usize::MAX),
        }
    }
}

impl Config {
    /// Whether a request for `model` may go on: one of the named models; with none named, any for
    /// the demo model and only the widget's default upstream; any at all with `allow_any_model`.
    pub fn allows_model(&self, model: &str) -> bool {
        if let Some(allowed) = self
            .policy
            .as_ref()
            .and_then(|policy| policy.allows_model(model))
        {
            return allowed;
        }
        if self.allow_any_model {
            return true;
        }
        if !self.allowed_models.is_empty() {
            return self.allowed_models.iter().any(|allowed| allowed == model);
        }
        match self.mode {
            Mode::Demo { .. } => true,
            Mode::Upstream { .. } => model == chat_protocol::DEFAULT_MODEL,
        }
    }

    /// The running configuration from the command line and the key; an error names a policy
    /// file that cannot be read or is not a policy.
    pub fn new(args: &Args, key: Option<ApiKey>) -> Result<Self, String> {
        let policy = args.policy.as_deref().map(Policy::load).transpose()?;
        let mode = match key {
            Some(key) if !args.demo => Mode::Upstream {
                base_url: args.upstream.clone(),
                key,
            },
            _ => Mode::Demo {
                pace: Duration::from_millis(args.demo_pace_ms),
            },
        };
        Ok(Config {
            mode,
            policy,
            trusted_proxies: args.trusted_proxies.clone(),
            metrics_listen: args.metrics_listen,
            redis_url: args.redis_url.clone(),
            metrics_token: std::env::var(METRICS_TOKEN_VAR)
                .ok()
                .map(|token| token.trim().to_owned())
                .filter(|token| !token.is_empty())
                .map(ApiKey::new),
            log_format: args.log_format,
            budgets: BudgetLimits {
                client_per_minute: args.client_tokens_per_minute,
                client_per_day: args.client_tokens_per_day,
                all_per_minute: args.tokens_per_minute,
                all_per_day: args.tokens_per_day,
            },
            static_dir: args.static_dir.clone(),
            public_origins: args.public_origins.clone(),
            allowed_origins: args.allowed_origins.clone(),
            allowed_models: args.allowed_models.clone(),
            allow_any_model: args.allow_any_model,
            frame_ancestors: args.frame_ancestors.clone(),
            max_tokens: args.max_tokens,
            rate_per_minute: args.rate_per_minute,
            rate_burst: args.rate_burst,
            body_limit: usize::try_from(args.body_limit).unwrap_or(usize::MAX),
            limits: Limits {
                header_timeout: Duration::from_secs(args.header_timeout_secs),
                body_timeout: Duration::from_secs(args.body_timeout_secs),
                first_byte_timeout: Duration::from_secs(args.first_byte_timeout_secs),
                resume_grace: Duration::from_secs(args.resume_grace_secs),
                max_connections: args.max_connections,
                max_connections_per_client: args.max_connections_per_client,
                // One body at the limit always fits.
                body_bytes_in_flight: usize::try_from(
                    args.body_bytes_in_flight.max(args.body_limit),
                )
                .unwrap_or(usize::MAX),
            },
        })
    }

    /// A demo-mode configuration with the defaults (whatever the environment says), for tests
    /// and embedding.
    pub fn demo() -> Self {
        Config {
            mode: Mode::Demo {
                pace: Duration::from_millis(DEFAULT_DEMO_PACE_MS),
            },
            static_dir: PathBuf::from(DEFAULT_STATIC_DIR),
            public_origins: Vec::new(),
            allowed_origins: Vec::new(),
            allowed_models: Vec::new(),
            allow_any_model: false,
            frame_ancestors: "'self'".to_owned(),
            max_tokens: DEFAULT_MAX_TOKENS,
            rate_per_minute: DEFAULT_RATE_PER_MINUTE,
            rate_burst: DEFAULT_RATE_BURST,
            body_limit: usize::try_from(DEFAULT_BODY_LIMIT).unwrap_or(usize::MAX),
            limits: Limits::default(),
            policy: None,
            trusted_proxies: Vec::new(),
            budgets: BudgetLimits::default(),
            metrics_listen: None,
            redis_url: None,
            metrics_token: None,
            log_format: LogFormat::Text,
        }
    }

    /// Counts the loopback origins of `address`'s port (and its own IP, when it listens on one)
    /// as the relay's own.
    pub fn accept_local_origins(&mut self, address: SocketAddr) {
        let port = address.port();
        let mut origins = vec![
            format!("http://127.0.0.1:{port}"),
            format!("http://localhost:{port}"),
            format!("http://[::1]:{port}"),
        ];
        if !address.ip().is_unspecified() {
            origins.push(format!("http://{address}"));
        }
        for origin in origins {
            if !self.public_origins.contains(&origin) {
                self.public_origins.push(origin);
            }
        }
    }
}

fn parse_base_url(value: &str) -> Result<String, String> {
    let url = reqwest::Url::parse(value).map_err(|error| format!("not a URL ({error})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must start with http:// or https://".to_owned());
    }
    Ok(value.trim_end_matches('/').to_owned())
}

/// A `frame-ancestors` source list: `'self'`, `'none'`, or origins, separated by spaces.
fn parse_frame_ancestors(value: &str) -> Result<String, String> {
    let sources: Vec<String> = value
        .split_whitespace()
        .map(|source| match source {
            "'self'" | "'none'" => Ok(source.to_owned()),
            origin => parse_origin(origin),
        })
        .collect::<Result<_, _>>()?;
    if sources.is_empty() {
        return Err("must name 'self', 'none' or origins".to_owned());
    }
    Ok(sources.join(" "))
}

/// A Redis URL the client can use.
fn parse_redis_url(value: &str) -> Result<String, String> {
    redis::Client::open(value.trim())
        .map(|_| value.trim().to_owned())
        .map_err(|error| format!("not a Redis URL ({error}), such as redis://127.0.0.1:6379"))
}

/// An address (a network of one) or a network in CIDR notation.
fn parse_network(value: &str) -> Result<IpNet, String> {
    let value = value.trim();
    value
        .parse::<IpNet>()
        .or_else(|_| value.parse::<std::net::IpAddr>().map(IpNet::from))
        .map(|network| network.trunc())
        .map_err(|_| "must be an address or a network, such as 10.0.0.0/8".to_owned())
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
