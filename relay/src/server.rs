//! The relay's connections: accepted within a cap for everyone and one for each client, given a
//! deadline for every request's headers (which also closes a connection left idle between
//! requests), and served over HTTP/1.1 until shutdown, when they get five seconds to finish.
//!
//! Written here rather than with `axum::serve`, which sets no header deadline and has no
//! connection caps: an idle socket or a request's unfinished headers would hold a connection and
//! a file descriptor for ever.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::ServiceExt;

use crate::app::router;
use crate::client::client_network;
use crate::config::{Config, Limits};

/// Serves the relay on `listener` until `shutdown` resolves; connections still open then get
/// five seconds to finish. The loopback origins of the listening port (and its address) count as
/// the relay's own, so its pages can load their scripts (`main` starts the binary this way).
pub async fn serve(
    listener: TcpListener,
    mut config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    config.accept_local_origins(listener.local_addr()?);
    let limits = config.limits.clone();
    let metrics_listen = config.metrics_listen;
    let (router, stats) = router(config)?;
    // The metrics on an address of their own, until the relay stops.
    let metrics = match metrics_listen {
        Some(address) => {
            let listener = TcpListener::bind(address).await?;
            eprintln!(
                "chat-relay: metrics on http://{}/metrics",
                listener.local_addr()?
            );
            let routes = axum::Router::new().route(
                "/metrics",
                axum::routing::get(move || {
                    let stats = stats.clone();
                    async move { crate::app::metrics_text(&stats) }
                }),
            );
            let limits = Limits {
                max_connections: 16,
                max_connections_per_client: 16,
                ..limits.clone()
            };
            Some(tokio::spawn(connections(
                listener,
                routes,
                limits,
                std::future::pending(),
            )))
        }
        None => None,
    };
    connections(listener, router, limits, shutdown).await;
    if let Some(metrics) = metrics {
        metrics.abort();
    }
    Ok(())
}

/// Serves `router` on `listener`'s connections, within `limits`, until `shutdown` resolves;
/// connections still open then get five seconds to finish.
async fn connections(
    listener: TcpListener,
    router: axum::Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let gate = Gate::new(&limits);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of file descriptors, say: wait a moment rather than spin.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Over a cap, the connection is closed as it comes.
        let Some(admitted) = gate.admit(peer.ip()) else {
            continue;
        };
        let service = router.clone().map_request(
            move |mut request: axum::extract::Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            },
        );
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _admitted = admitted;
            let _ = connection.await;
        });
    }
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(Duration::from_secs(5)) => {}
    }
}

/// Counts the open connections, in all and per client.
#[derive(Clone)]
struct Gate {
    open: Arc<Mutex<Open>>,
    max: usize,
    max_per_client: usize,
}

#[derive(Default)]
struct Open {
    total: usize,
    per_client: HashMap<IpAddr, usize>,
}

/// One admitted connection; counted until dropped.
struct Admitted {
    gate: Gate,
    client: IpAddr,
}

impl Gate {
    fn new(limits: &Limits) -> Self {
        Gate {
            open: Arc::default(),
            max: limits.max_connections,
            max_per_client: limits.max_connections_per_client,
        }
    }

    /// A connection from `address`, unless it would pass a cap.
    fn admit(&self, address: IpAddr) -> Option<Admitted> {
        let client = client_network(address);
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let from_client = open.per_client.get(&client).copied().unwrap_or(0);
        if open.total >= self.max || from_client >= self.max_per_client {
            return None;
        }
        open.total += 1;
        open.per_client.insert(client, from_client + 1);
        Some(Admitted {
            gate: self.clone(),
            client,
        })
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut open = self
            .gate
            .open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        open.total -= 1;
        if let Some(count) = open.per_client.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                open.per_client.remove(&self.client);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gate_caps_connections_in_all_and_per_client_and_frees_them() {
        let gate = Gate::new(&Limits {
            max_connections: 3,
            max_connections_per_client: 2,
            ..Limits::default()
        });
        let one: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        let first = gate.admit(one).expect("first");
        let _second = gate.admit(one).expect("second");
        assert!(gate.admit(one).is_none(), "a third from one client");
        let _third = gate.admit(other).expect("another client");
        assert!(
            gate.admit("192.0.2.3".parse().unwrap()).is_none(),
            "a fourth in all"
        );
        drop(first);
        assert!(gate.admit(one).is_some(), "freed");
        // IPv6 clients count per /64.
        let v6 = Gate::new(&Limits {
            max_connections_per_client: 1,
            ..Limits::default()
        });
        let _held = v6.admit("2001:db8::1".parse().unwrap()).expect("one");
        assert!(v6.admit("2001:db8::2".parse().unwrap()).is_none());
    }
}
