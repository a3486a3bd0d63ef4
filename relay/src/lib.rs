//! The chat widget's relay: it holds the API key, forwards the widget's chat-completions requests
//! to an OpenAI-compatible API (or answers them with a built-in demo model), and serves the widget.

mod app;
pub mod config;
pub mod demo;
mod error;
pub mod files;
pub mod images;
mod proxy;
mod server;
mod state;
mod streaming;

pub use app::router;
pub use config::{api_key_from_env, ApiKey, Args, Config, Limits, Mode};
pub use error::RelayError;
pub use server::serve;
pub use state::Stats;
