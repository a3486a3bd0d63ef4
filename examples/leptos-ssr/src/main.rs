//! The server: renders the app to HTML with `leptos_axum` and serves the browser's half from
//! `<site root>/pkg` (`build` beside this crate makes both).
//!
//! Environment: `LEPTOS_SITE_ADDR` (`127.0.0.1:3000`), `LEPTOS_SITE_ROOT` (`target/site`), and
//! `CHAT_ENDPOINT`, the relay's chat endpoint the page's widget talks to
//! (`http://127.0.0.1:8080/v1/chat/completions`: start that relay with
//! `--allowed-origin http://127.0.0.1:3000`).

use std::env;
use std::net::SocketAddr;

use axum::routing::get;
use axum::Router;
use example_leptos_ssr::app::shell;
use leptos::prelude::LeptosOptions;
use tower_http::services::ServeDir;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let setting = |name: &str, default: &str| env::var(name).unwrap_or_else(|_| default.to_owned());
    let addr: SocketAddr = setting("LEPTOS_SITE_ADDR", "127.0.0.1:3000").parse()?;
    let site_root = setting("LEPTOS_SITE_ROOT", "target/site");
    let endpoint = setting("CHAT_ENDPOINT", "http://127.0.0.1:8080/v1/chat/completions");
    let options = LeptosOptions::builder()
        .output_name("example-leptos-ssr")
        .site_root(site_root.as_str())
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .build();

    // Leptos' tasks run on tokio (leptos_axum's routes set that up for an app with a router).
    any_spawner::Executor::init_tokio()?;
    let page = leptos_axum::render_app_to_stream(move || shell(options.clone(), endpoint.clone()));
    let app = Router::new()
        .route("/", get(page))
        .nest_service("/pkg", ServeDir::new(format!("{site_root}/pkg")));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("serving http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
