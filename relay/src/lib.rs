//! The chat widget's relay: it holds the API key, forwards the widget's chat-completions requests
//! to an OpenAI-compatible API (or answers them with a built-in demo model), and serves the widget.
//!
//! Codemap: `server` accepts connections and serves the router `app` builds; `app` holds the
//! routes and the layers around them (the client's address from `client`, origin check, CORS,
//! rate and body limits, the access log) and hands a checked request, once `policy` (the
//! operator's rules) and `budget` (token budgets, counted in `shared` Redis or in memory) have
//! had their say, to `demo` (the offline model) or `proxy` (the upstream). Those two share
//! `state` (settings, HTTP client, counters, the guard that counts and times a stream),
//! `budget`'s `Meter` (what a reply cost) and `streaming` (a stream's response headers);
//! `metrics` renders the counters; `files` serves the built widget; `error` holds the relay's
//! refusals.
//!
//! **Architecture Invariant:** module dependencies point one way, `server` → `app` → `demo`,
//! `proxy` → `state` → `budget` → `shared`, `metrics`. `demo` and `proxy` never import `app`, nor
//! each other; `budget` never imports `state`.

mod app;
pub mod budget;
pub mod client;
pub mod config;
pub mod demo;
mod error;
pub mod files;
pub mod images;
pub mod metrics;
pub mod policy;
mod proxy;
pub mod replay;
mod server;
pub mod shared;
mod state;
mod streaming;

pub use app::router;
pub use config::{api_key_from_env, ApiKey, Args, Config, Limits, Mode};
pub use error::RelayError;
pub use policy::{Policy, PolicyError};
pub use server::serve;
pub use state::Stats;
