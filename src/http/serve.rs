//! The accept loop: hyper connections with the limits a shared CI host needs,
//! and a shutdown that finishes what it acknowledged.
//!
//! `axum::serve` sets no timer, so hyper's header-read timeout never fires and
//! a slow client can hold a connection forever; it also has no notion of a
//! shutdown deadline. This loop adds both:
//!
//! - a **header read timeout** (a slowloris client is cut off while others are
//!   served) and a cap on header size;
//! - an **idle cut** ([`ServeOptions::header_read_timeout`], the
//!   `--read-timeout`): a connection is closed once it has been silent that
//!   long with no request running: before its first request, between
//!   keep-alive requests, HTTP/2 after its preface (whatever PINGs or
//!   SETTINGS the client sends), TLS after its handshake; and a connection
//!   whose answer has not moved for that long (a client that never reads, an
//!   HTTP/2 window never reopened) is closed too. A request whose handler is
//!   running is never cut by this (its body has its own deadline,
//!   [`crate::http::body`]; a delay fault may hold it);
//! - HTTP/2 **keep-alive PINGs** at that interval, so a dead peer is found
//!   while a long request runs;
//! - a **connection cap** ([`ServeOptions::max_connections`], counting TLS
//!   handshakes in progress): at the cap the longest-idle connection is
//!   closed to make room for the new one (with a log line, at most one a
//!   second), and when every connection is busy the new one is closed at
//!   once. New clients are never left waiting in the backlog;
//! - on shutdown, **draining**: the listener keeps accepting, but every new
//!   API request gets 503 in its service's envelope; requests already running
//!   finish; when none are left (or `shutdown_timeout` passes, cutting what
//!   still runs) the connections close and the function returns.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::serve::Listener;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::task::JoinSet;

use crate::http::conn::ConnHandle;
use crate::http::passthrough::{Hooks, Passthrough};

/// Limits of the accept loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ServeOptions {
    /// How long a client may take to send a request's headers.
    pub header_read_timeout: Duration,
    /// How long shutdown waits for running requests before cutting them.
    pub shutdown_timeout: Duration,
    /// Largest request head (request line and headers), in bytes.
    pub max_header_bytes: usize,
    /// Most connections open at once (TLS handshakes included).
    pub max_connections: usize,
}

/// Default of [`ServeOptions::max_connections`] (`--max-connections`),
/// lowered at start to fit the process's descriptor limit.
pub(crate) const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// Descriptors kept out of the connection cap: the memfds of shared answers
/// ([`crate::http::zerocopy::MAX_SHARED`]), the listener, the persist file, logs.
pub(crate) const RESERVED_FDS: usize = crate::http::zerocopy::MAX_SHARED + 32;

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            shutdown_timeout: Duration::from_secs(10),
            max_header_bytes: 64 * 1024,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// The soft limit on open descriptors (`ulimit -n`), where it can be read.
pub(crate) fn descriptor_limit() -> Option<u64> {
    #[cfg(target_os = "linux")]
    {
        rustix::process::getrlimit(rustix::process::Resource::Nofile).current
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// The connection cap that fits `fd_limit` descriptors: `wanted` when it
/// fits; otherwise `Err(the largest that fits)`.
pub(crate) fn fit_connection_cap(wanted: usize, fd_limit: Option<u64>) -> Result<usize, usize> {
    let Some(limit) = fd_limit else {
        return Ok(wanted);
    };
    let room = usize::try_from(limit)
        .unwrap_or(usize::MAX)
        .saturating_sub(RESERVED_FDS)
        .max(1);
    if wanted <= room {
        Ok(wanted)
    } else {
        Err(room)
    }
}

/// Most HTTP/2 streams open at once on one connection.
pub(crate) const MAX_STREAMS: u32 = 256;

/// Most HTTP/2 streams a client may reset before they are answered (a rapid
/// reset flood), and most streams the server may reset for errors, per
/// connection; beyond either, the connection is closed with GOAWAY.
pub(crate) const MAX_PENDING_RESETS: usize = 64;

/// Shared between the loop and the middleware: whether the server is
/// draining, and how many API requests are running.
#[derive(Debug, Clone, Default)]
pub(crate) struct Lifecycle {
    draining: Arc<AtomicBool>,
    in_flight: Arc<AtomicUsize>,
    idle: Arc<tokio::sync::Notify>,
    connections: Arc<Connections>,
}

impl Lifecycle {
    /// Whether shutdown has begun.
    pub(crate) fn draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// Counts a request as running until the guard drops.
    pub(crate) fn enter(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(self)
    }

    /// The open connections (shared with the TLS listener, whose handshakes
    /// count too).
    pub(crate) fn connections(&self) -> Arc<Connections> {
        self.connections.clone()
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
pub(crate) struct InFlight<'a>(&'a Lifecycle);

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

// ---------------------------------------------------------------------------
// Connection activity, the idle cut and the cap
// ---------------------------------------------------------------------------

/// What one connection is doing, for the idle cut and the cap.
#[derive(Debug)]
pub(crate) struct Activity {
    born: Instant,
    /// Milliseconds after `born` of the last progress: a request arriving,
    /// a handler finishing, a piece of an answer produced or written.
    last: AtomicU64,
    /// Handlers running (from the request's head to the answer's head).
    handling: AtomicUsize,
    /// Answers not yet fully handed to the connection.
    responding: AtomicUsize,
    /// Wakes the watchdog to close the connection now (the cap's eviction).
    cut: tokio::sync::Notify,
}

impl Activity {
    fn new() -> Self {
        Self {
            born: Instant::now(),
            last: AtomicU64::new(0),
            handling: AtomicUsize::new(0),
            responding: AtomicUsize::new(0),
            cut: tokio::sync::Notify::new(),
        }
    }

    fn touch(&self) {
        let now = u64::try_from(self.born.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last.fetch_max(now, Ordering::Relaxed);
    }

    fn idle_for(&self) -> Duration {
        let last = Duration::from_millis(self.last.load(Ordering::Relaxed));
        self.born.elapsed().saturating_sub(last)
    }

    fn busy(&self) -> bool {
        self.handling.load(Ordering::Relaxed) > 0
    }

    /// Completes when the connection has been idle (no handler running, no
    /// progress) for `timeout`, or when the cap evicts it.
    async fn watch(&self, timeout: Duration) {
        let evicted = self.cut.notified();
        let mut evicted = pin!(evicted);
        loop {
            // A running handler touches the activity when it ends: until
            // then, look again one timeout later.
            let wait = if self.busy() {
                timeout
            } else {
                timeout.saturating_sub(self.idle_for())
            };
            if wait.is_zero() {
                return;
            }
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = &mut evicted => return,
            }
        }
    }
}

/// The open connections: a count, a cap, and who is idle (for eviction).
#[derive(Debug)]
pub(crate) struct Connections {
    max: AtomicUsize,
    next: AtomicU64,
    open: std::sync::Mutex<HashMap<u64, Arc<Activity>>>,
    /// When the last "cap reached" line was logged (ms after `epoch`).
    warned: AtomicU64,
    epoch: Instant,
}

impl Default for Connections {
    fn default() -> Self {
        Self {
            max: AtomicUsize::new(DEFAULT_MAX_CONNECTIONS),
            next: AtomicU64::new(0),
            open: std::sync::Mutex::default(),
            warned: AtomicU64::new(0),
            epoch: Instant::now(),
        }
    }
}

impl Connections {
    /// Sets the cap.
    pub(crate) fn set_max(&self, max: usize) {
        self.max.store(max.max(1), Ordering::Relaxed);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Activity>>> {
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A slot for a new connection: at the cap, the longest-idle connection
    /// is told to close to make room; `None` when every one is busy.
    pub(crate) fn admit(self: &Arc<Self>) -> Option<Slot> {
        let max = self.max.load(Ordering::Relaxed);
        let mut open = self.lock();
        let mut evicted = false;
        if open.len() >= max {
            let idle = open
                .iter()
                .filter(|(_, a)| !a.busy())
                .max_by_key(|(_, a)| a.idle_for())
                .map(|(id, _)| *id);
            match idle.and_then(|id| open.remove(&id)) {
                Some(activity) => {
                    activity.cut.notify_one();
                    evicted = true;
                }
                None => {
                    drop(open);
                    self.warn(max, "every connection is busy: refusing a new one");
                    return None;
                }
            }
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let activity = Arc::new(Activity::new());
        open.insert(id, activity.clone());
        drop(open);
        if evicted {
            self.warn(max, "closing the longest-idle connection for a new one");
        }
        Some(Slot {
            id,
            activity,
            connections: self.clone(),
        })
    }

    /// Logs that the cap was reached, at most once a second.
    fn warn(&self, max: usize, what: &str) {
        let now = u64::try_from(self.epoch.elapsed().as_millis())
            .unwrap_or(u64::MAX)
            .saturating_add(1000);
        let last = self.warned.load(Ordering::Relaxed);
        if now >= last + 1000
            && self
                .warned
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(
                max_connections = max,
                "connection cap ({max}, --max-connections) reached: {what}"
            );
        }
    }
}

/// A connection's place under the cap; freed on drop.
#[derive(Debug)]
pub(crate) struct Slot {
    id: u64,
    activity: Arc<Activity>,
    connections: Arc<Connections>,
}

impl Slot {
    /// Counts as progress (a finished TLS handshake): the read timeout for
    /// the first request starts again from here.
    pub(crate) fn touch(&self) {
        self.activity.touch();
    }

    /// Completes when the connection should be closed: silent for `timeout`
    /// with no request running, or evicted by the cap.
    pub(crate) async fn watch(&self, timeout: Duration) {
        self.activity.watch(timeout).await;
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.connections.lock().remove(&self.id);
    }
}

/// A stream that reports written bytes as progress while an answer is
/// being sent (not otherwise: the server's own HTTP/2 PINGs and SETTINGS
/// do not keep an idle connection alive).
type Tracked<I> = Passthrough<I, Progress>;

/// The activity a [`Tracked`] stream reports its writes to.
struct Progress(Arc<Activity>);

impl<I> Hooks<I> for Progress {
    fn after_write(&self, result: &Poll<io::Result<usize>>) {
        if matches!(result, Poll::Ready(Ok(n)) if *n > 0)
            && self.0.responding.load(Ordering::Relaxed) > 0
        {
            self.0.touch();
        }
    }
}

/// An answer's body, reporting its progress and, when done (or dropped
/// unsent), that the connection no longer has this answer to send.
struct TrackedBody {
    inner: Body,
    responding: Responding,
}

/// An answer the connection still has to send (from the request's head
/// until its body is done, or the request is dropped unanswered).
struct Responding(Arc<Activity>);

impl Drop for Responding {
    fn drop(&mut self) {
        self.0.touch();
        self.0.responding.fetch_sub(1, Ordering::Relaxed);
    }
}

impl axum::body::HttpBody for TrackedBody {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        let frame = Pin::new(&mut this.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(_))) = &frame {
            this.responding.0.touch();
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

/// A running handler of a connection; on drop, no longer running.
struct Handling(Arc<Activity>);

impl Drop for Handling {
    fn drop(&mut self) {
        self.0.touch();
        self.0.handling.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Listener streams that can be broken by fault rules.
pub(crate) trait FaultIo {
    /// The handle that breaks this connection.
    fn conn_handle(&self) -> ConnHandle;

    /// The connection's slot under the cap, when the listener took one
    /// already (TLS takes it before the handshake).
    fn take_slot(&mut self) -> Option<Slot> {
        None
    }
}

impl FaultIo for crate::http::conn::FaultStream {
    fn conn_handle(&self) -> ConnHandle {
        self.handle()
    }
}

/// A boxed, sendable response future.
pub(crate) type ResponseFuture = std::pin::Pin<
    Box<dyn Future<Output = Result<axum::response::Response, std::convert::Infallible>> + Send>,
>;

/// What the accept loop serves: the whole application (in this crate, the
/// front, [`crate::front::App`]), kept apart so that this layer knows
/// nothing of what runs above it.
pub(crate) trait Application: Clone + Send + Sync + 'static {
    /// Answers one request.
    fn handle(&self, request: axum::extract::Request) -> ResponseFuture;
}

/// One connection's hyper service: the app, plus the handle that lets fault
/// rules break this connection (a `ConnectInfo` request extension), and
/// the connection's activity.
struct Connection<A> {
    app: A,
    handle: ConnHandle,
    activity: Arc<Activity>,
}

impl<A: Application> hyper::service::Service<hyper::Request<Incoming>> for Connection<A> {
    type Response = axum::response::Response;
    type Error = std::convert::Infallible;
    type Future = ResponseFuture;

    fn call(&self, request: hyper::Request<Incoming>) -> ResponseFuture {
        let mut request = request.map(Body::new);
        request
            .extensions_mut()
            .insert(ConnectInfo(self.handle.clone()));
        let activity = self.activity.clone();
        activity.handling.fetch_add(1, Ordering::Relaxed);
        activity.responding.fetch_add(1, Ordering::Relaxed);
        activity.touch();
        let handling = Handling(activity.clone());
        let responding = Responding(activity);
        let answer = self.app.handle(request);
        Box::pin(async move {
            let response = answer.await;
            drop(handling);
            // `responding` is given back when the body is done or dropped
            // (or here, if this future is dropped first).
            let body = |inner| Body::new(TrackedBody { inner, responding });
            response.map(|r| r.map(body))
        })
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then drains (see
/// the module docs) and returns.
pub(crate) async fn serve_on<L, A: Application>(
    mut listener: L,
    app: A,
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
    let idle_timeout = options.header_read_timeout;
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout)
        .max_buf_size(options.max_header_bytes.max(8192));
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(idle_timeout)
        .keep_alive_timeout(idle_timeout)
        .max_header_list_size(u32::try_from(options.max_header_bytes).unwrap_or(u32::MAX))
        .max_concurrent_streams(MAX_STREAMS)
        .max_pending_accept_reset_streams(MAX_PENDING_RESETS)
        .max_local_error_reset_streams(MAX_PENDING_RESETS);
    let builder = Arc::new(builder);
    let open = lifecycle.connections();
    open.set_max(options.max_connections);

    let accept = |mut io: L::Io, connections: &mut JoinSet<()>| {
        let Some(slot) = io.take_slot().or_else(|| open.admit()) else {
            return; // at the cap, every connection busy: closed at once
        };
        let handle = io.conn_handle();
        let service = Connection {
            app: app.clone(),
            handle,
            activity: slot.activity.clone(),
        };
        let io: Tracked<_> = Passthrough {
            io,
            hooks: Progress(slot.activity.clone()),
        };
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(io), service)
            .into_owned();
        let conn = graceful.watch(conn);
        connections.spawn(async move {
            tokio::select! {
                ended = conn => if let Err(e) = ended {
                    tracing::trace!("connection ended: {e}");
                },
                () = slot.watch(idle_timeout) => {
                    tracing::trace!("connection closed: idle, stalled or evicted");
                }
            }
            drop(slot);
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
