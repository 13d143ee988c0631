//! The accept loop: hyper connections with the limits a shared CI host needs,
//! and a shutdown that finishes what it acknowledged.
//!
//! `axum::serve` sets no timer, so hyper's header-read timeout never fires and
//! a slow client can hold a connection forever; it also has no notion of a
//! shutdown deadline. This loop adds both:
//!
//! - a **header read timeout** (a slowloris client is cut off while others are
//!   served) and a cap on header size;
//! - on shutdown, **draining**: the listener keeps accepting, but every new
//!   API request gets 503 in its service's envelope; requests already running
//!   finish; when none are left (or `shutdown_timeout` passes, cutting what
//!   still runs) the connections close and the function returns.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::serve::Listener;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::task::JoinSet;

use crate::faults::conn::ConnHandle;
use crate::front::{App, ResponseFuture};

/// Limits of the accept loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeOptions {
    /// How long a client may take to send a request's headers.
    pub header_read_timeout: Duration,
    /// How long shutdown waits for running requests before cutting them.
    pub shutdown_timeout: Duration,
    /// Largest request head (request line and headers), in bytes.
    pub max_header_bytes: usize,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            shutdown_timeout: Duration::from_secs(10),
            max_header_bytes: 64 * 1024,
        }
    }
}

/// Shared between the loop and the middleware: whether the server is
/// draining, and how many API requests are running.
#[derive(Debug, Clone, Default)]
pub struct Lifecycle {
    draining: Arc<AtomicBool>,
    in_flight: Arc<AtomicUsize>,
    idle: Arc<tokio::sync::Notify>,
}

impl Lifecycle {
    /// Whether shutdown has begun.
    pub fn draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// Counts a request as running until the guard drops.
    pub fn enter(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(self)
    }

    async fn quiesce(&self) {
        loop {
            let notified = self.idle.notified();
            if self.in_flight.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// A running request (see [`Lifecycle::enter`]).
#[derive(Debug)]
pub struct InFlight<'a>(&'a Lifecycle);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        // Only shutdown waits for "idle", and it sets `draining` before it
        // reads the count (both SeqCst): a last request that sees no
        // draining here left a count of 0 for that read to find.
        if self.0.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 && self.0.draining() {
            self.0.idle.notify_waiters();
        }
    }
}

/// Listener streams that can be broken by fault rules.
pub trait FaultIo {
    /// The handle that breaks this connection.
    fn conn_handle(&self) -> ConnHandle;
}

impl FaultIo for crate::faults::conn::FaultStream {
    fn conn_handle(&self) -> ConnHandle {
        self.handle()
    }
}

impl FaultIo for tokio_rustls::server::TlsStream<crate::faults::conn::FaultStream> {
    fn conn_handle(&self) -> ConnHandle {
        self.get_ref().0.handle()
    }
}

/// One connection's hyper service: the app, plus the handle that lets fault
/// rules break this connection (a `ConnectInfo` request extension).
struct Connection {
    app: App,
    handle: ConnHandle,
}

impl hyper::service::Service<hyper::Request<Incoming>> for Connection {
    type Response = axum::response::Response;
    type Error = std::convert::Infallible;
    type Future = ResponseFuture;

    fn call(&self, request: hyper::Request<Incoming>) -> ResponseFuture {
        let mut request = request.map(Body::new);
        request
            .extensions_mut()
            .insert(ConnectInfo(self.handle.clone()));
        self.app.handle(request)
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then drains (see
/// the module docs) and returns.
pub async fn serve_on<L>(
    mut listener: L,
    app: App,
    lifecycle: Lifecycle,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()>
where
    L: Listener<Addr = SocketAddr>,
    L::Io: FaultIo,
{
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout)
        .max_buf_size(options.max_header_bytes.max(8192));
    builder.http2().timer(TokioTimer::new());
    let builder = Arc::new(builder);

    let accept = |io: L::Io, connections: &mut JoinSet<()>| {
        let handle = io.conn_handle();
        let service = Connection {
            app: app.clone(),
            handle,
        };
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(io), service)
            .into_owned();
        let conn = graceful.watch(conn);
        connections.spawn(async move {
            if let Err(e) = conn.await {
                tracing::trace!("connection ended: {e}");
            }
        });
    };

    let mut shutdown = pin!(shutdown);
    loop {
        tokio::select! {
            (io, _addr) = listener.accept() => accept(io, &mut connections),
            () = &mut shutdown => break,
        }
        while connections.try_join_next().is_some() {}
    }

    // Draining: keep answering (503 for new API requests) until the running
    // requests are done or the deadline passes.
    lifecycle.draining.store(true, Ordering::SeqCst);
    let deadline = tokio::time::sleep(options.shutdown_timeout);
    let mut deadline = pin!(deadline);
    let mut quiet = pin!(lifecycle.quiesce());
    let cut = loop {
        tokio::select! {
            (io, _addr) = listener.accept() => accept(io, &mut connections),
            () = &mut quiet => break false,
            () = &mut deadline => break true,
        }
    };
    drop(listener);
    if cut {
        tracing::warn!("shutdown timeout: cutting the requests still running");
        connections.abort_all();
    } else {
        tokio::select! {
            () = graceful.shutdown() => {}
            () = &mut deadline => connections.abort_all(),
        }
    }
    while connections.join_next().await.is_some() {}
    Ok(())
}
