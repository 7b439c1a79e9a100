//! Serving the router on a TCP listener, with what a public server needs against clients that hold
//! connections open without finishing a request (slowloris): a client has `header_read_timeout` to send
//! a request's headers, or its connection is closed; at most `connections_max` connections are open at
//! once (well under the process's file descriptors), and at most `connections_per_client_max` from one
//! address, so one client cannot take them all. A connection over a limit is closed at once, before
//! anything is read. Each request carries its peer's address (`ConnectInfo`), which the public routes'
//! rate limit reads.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::extract::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::ServiceExt;

/// Limits on the connections a server keeps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ServerLimits {
    /// Time a client has to send a request's headers (the first, and each next one on a kept-alive
    /// connection) before its connection is closed.
    pub header_read_timeout: Duration,
    /// Open connections at most; more are closed as they arrive.
    pub connections_max: usize,
    /// Open connections from one client address at most.
    pub connections_per_client_max: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            header_read_timeout: Duration::from_secs(10),
            connections_max: 10_000,
            connections_per_client_max: 256,
        }
    }
}

/// How long open requests may take to finish once the shutdown signal came.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The open connections, in total and per client address.
#[derive(Default)]
struct Open {
    total: usize,
    per_client: HashMap<IpAddr, usize>,
}

/// Counts a connection for as long as it lives.
struct Admitted {
    open: Arc<Mutex<Open>>,
    client: IpAddr,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        open.total = open.total.saturating_sub(1);
        if let Some(count) = open.per_client.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                open.per_client.remove(&self.client);
            }
        }
    }
}

fn admit(open: &Arc<Mutex<Open>>, client: IpAddr, limits: &ServerLimits) -> Option<Admitted> {
    let mut state = open.lock().unwrap_or_else(|p| p.into_inner());
    let from_client = state.per_client.get(&client).copied().unwrap_or(0);
    if state.total >= limits.connections_max || from_client >= limits.connections_per_client_max {
        return None;
    }
    state.total += 1;
    state.per_client.insert(client, from_client + 1);
    Some(Admitted { open: Arc::clone(open), client })
}

/// Serves `router` on `listener` until `shutdown` completes, then lets open requests finish (up to 10 s).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    builder.http2().timer(TokioTimer::new());
    let open = Arc::new(Mutex::new(Open::default()));
    let graceful = GracefulShutdown::new();
    let mut refused_logged_at: Option<std::time::Instant> = None;
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, or the peer gone before it was accepted: keep serving.
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(admitted) = admit(&open, peer.ip(), &limits) else {
            // Once a minute at most: under an attack the log would be the attack.
            if refused_logged_at.is_none_or(|at| at.elapsed() > Duration::from_secs(60)) {
                tracing::warn!(client = %peer.ip(), "connection limit reached: closing new connections");
                refused_logged_at = Some(std::time::Instant::now());
            }
            drop(stream);
            continue;
        };
        let router = router.clone();
        let service = tower::service_fn(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
            router.clone().oneshot(request)
        });
        let connection =
            builder.serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = graceful.watch(connection.into_owned());
        tokio::spawn(async move {
            // A client that went away, or sent garbage, or too slowly: nothing to do but close.
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection closed");
            }
            drop(admitted);
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await.is_err() {
        tracing::warn!("requests still open after the shutdown grace period: closing them");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_are_admitted_within_both_limits_and_counted_until_they_close() {
        let limits = ServerLimits { connections_max: 3, connections_per_client_max: 2, ..ServerLimits::default() };
        let open = Arc::new(Mutex::new(Open::default()));
        let (a, b): (IpAddr, IpAddr) =
            ("10.0.0.1".parse().unwrap_or(IpAddr::from([0; 4])), IpAddr::from([10, 0, 0, 2]));
        let first = admit(&open, a, &limits);
        let second = admit(&open, a, &limits);
        assert!(first.is_some() && second.is_some());
        assert!(admit(&open, a, &limits).is_none(), "two per client");
        let third = admit(&open, b, &limits);
        assert!(third.is_some());
        assert!(admit(&open, IpAddr::from([10, 0, 0, 3]), &limits).is_none(), "three in all");
        drop(first);
        assert!(admit(&open, a, &limits).is_some(), "a closed connection makes room");
        drop((second, third));
        assert_eq!(open.lock().map(|o| o.per_client.len()).unwrap_or(9), 0, "forgotten when none is open");
    }
}
