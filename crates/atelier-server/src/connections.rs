//! The listener's accept loop and what keeps a flood of connections from taking the server
//! down: a timeout for reading request headers (also what closes an idle keep-alive
//! connection), a cap on open connections with room kept for authenticated clients, and a
//! back-off when accepting fails (out of file descriptors) instead of a busy loop.
//!
//! Every connection holds a [`Slot`] for as long as its socket lives: the HTTP connection's task
//! and, after a WebSocket upgrade, the WebSocket's task. Slots of connections that have not
//! shown a valid token are *anonymous*: they may use all but `reserved_for_clients` of the cap,
//! and when they are at their limit the oldest of them is closed to admit a newcomer, so a
//! person with the token always gets in. A slot is promoted when its request shows the token.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

use crate::Limits;

/// How long open connections get to finish after shutdown before the server stops anyway.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// The longest pause after a failed accept.
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// The open connections, and the anonymous ones oldest first.
pub(crate) struct Connections {
    max: usize,
    max_anonymous: usize,
    open: AtomicUsize,
    next_id: AtomicU64,
    anonymous: Mutex<VecDeque<(u64, CancellationToken)>>,
    /// When a connection was last turned away or evicted, for a log line at most every 10 s.
    last_warned: Mutex<Option<Instant>>,
}

impl Connections {
    pub(crate) fn new(limits: &Limits) -> Arc<Connections> {
        let max = limits.max_connections.max(2);
        let reserved = limits.reserved_for_clients.min(max - 1);
        Arc::new(Connections {
            max,
            max_anonymous: max - reserved,
            open: AtomicUsize::new(0),
            next_id: AtomicU64::new(1),
            anonymous: Mutex::new(VecDeque::new()),
            last_warned: Mutex::new(None),
        })
    }

    fn anonymous(&self) -> std::sync::MutexGuard<'_, VecDeque<(u64, CancellationToken)>> {
        self.anonymous.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Connections open now.
    pub(crate) fn open(&self) -> usize {
        self.open.load(Ordering::SeqCst)
    }

    /// A slot for a new connection, closing the oldest anonymous one when anonymous
    /// connections are at their limit (or every slot is taken). `None` while every slot is
    /// still held — by authenticated clients, or by connections being closed: the newcomer is
    /// turned away at once rather than taking a file descriptor the process does not have.
    fn admit(self: &Arc<Self>) -> Option<Slot> {
        let mut anonymous = self.anonymous();
        if (anonymous.len() >= self.max_anonymous || self.open() >= self.max)
            && let Some((_, evicted)) = anonymous.pop_front()
        {
            evicted.cancel();
            self.warn("the connection limit was reached; closing the oldest unauthenticated connections");
        }
        if self.open() >= self.max {
            self.warn("every connection slot is taken; turning new connections away until some close");
            return None;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let evict = CancellationToken::new();
        anonymous.push_back((id, evict.clone()));
        self.open.fetch_add(1, Ordering::SeqCst);
        Some(Slot(Arc::new(SlotInner { id, evict, connections: self.clone() })))
    }

    fn warn(&self, message: &str) {
        let mut last = self.last_warned.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_none_or(|at| at.elapsed() > Duration::from_secs(10)) {
            *last = Some(Instant::now());
            tracing::warn!(open = self.open(), limit = self.max, "{message}");
        }
    }

    fn forget(&self, id: u64) {
        self.anonymous().retain(|(other, _)| *other != id);
    }
}

struct SlotInner {
    id: u64,
    evict: CancellationToken,
    connections: Arc<Connections>,
}

impl Drop for SlotInner {
    fn drop(&mut self) {
        self.connections.forget(self.id);
        self.connections.open.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A connection's place under the cap, held while its socket is open. Requests carry it as an
/// extension so a handler that accepts the token can promote it.
#[derive(Clone)]
pub(crate) struct Slot(Arc<SlotInner>);

impl Slot {
    /// The connection showed a valid token: it is no longer closed to make room.
    pub(crate) fn promote(&self) {
        self.0.connections.forget(self.0.id);
    }
}

/// Accepts connections until `shutdown`, then waits a little for open ones to finish.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    routes: Router,
    limits: Limits,
    connections: Arc<Connections>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let tasks = TaskTracker::new();
    let mut backoff = Duration::from_millis(10);
    let mut last_logged: Option<Instant> = None;
    loop {
        let accepted = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let tcp = match accepted {
            Ok((tcp, _)) => {
                backoff = Duration::from_millis(10);
                tcp
            }
            Err(e) => {
                // Out of file descriptors (or another passing failure): wait instead of
                // spinning, and say so at most once a minute.
                if last_logged.is_none_or(|at| at.elapsed() > Duration::from_secs(60)) {
                    last_logged = Some(Instant::now());
                    tracing::warn!(error = %e, "accepting a connection failed; backing off");
                }
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        // Events are small frames written as they happen: with Nagle's algorithm each would wait
        // for the peer's delayed ACK (up to 40 ms).
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set on a connection");
        }
        let Some(slot) = connections.admit() else {
            drop(tcp);
            continue;
        };
        tasks.spawn(serve_connection(tcp, routes.clone(), limits.header_timeout, slot, shutdown.clone()));
    }
    tasks.close();
    if tokio::time::timeout(SHUTDOWN_GRACE, tasks.wait()).await.is_err() {
        tracing::debug!("connections still open after the shutdown grace period");
    }
    Ok(())
}

async fn serve_connection(
    tcp: tokio::net::TcpStream,
    routes: Router,
    header_timeout: Duration,
    slot: Slot,
    shutdown: CancellationToken,
) {
    let evict = slot.0.evict.clone();
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(slot.clone());
        routes.clone().oneshot(request.map(axum::body::Body::new))
    });
    // HTTP/1.1 only: every client (browsers, the CLI, scripts) speaks it, and cleartext HTTP/2
    // has no header timeout to hold a silent peer to.
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(header_timeout).keep_alive(true);
    let connection = builder.serve_connection(TokioIo::new(tcp), service).with_upgrades();
    tokio::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        }
        () = evict.cancelled() => {}
        () = shutdown.cancelled() => {
            connection.as_mut().graceful_shutdown();
            if let Ok(Err(e)) = tokio::time::timeout(SHUTDOWN_GRACE, connection).await {
                tracing::debug!(error = %e, "connection ended with an error during shutdown");
            }
        }
    }
}
