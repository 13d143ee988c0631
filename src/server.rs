//! Starting and stopping the emulator: [`Server::builder`] for tests and Rust
//! users, and [`serve`] underneath it, which `main` uses too.
//!
//! The shape follows wiremock-rs: `start()` binds `127.0.0.1:0` unless told
//! otherwise, [`Server::uri`] gives the base URL, and dropping the handle
//! shuts the server down.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::http::header;
use axum::middleware::{from_fn, from_fn_with_state};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::TraceLayer;

use crate::auth::{AuthMode, AuthSettings};
use crate::state::AppState;
use crate::store::seed::{self, FixtureError, FixtureSource, SeedSettings};
use crate::store::{DEFAULT_REGISTRY_HOST, Store};
use crate::{admin, api, auth, error, request_id};
use std::sync::Arc;
use std::time::Duration;

/// Builds the whole application: the API routes, the admin routes and the
/// middleware every response goes through (request id, tracing, native error
/// envelopes).
pub fn app(state: AppState) -> Router {
    // Auth is a route layer: it runs only when a route matched, so unknown
    // paths stay 404 instead of 401. The admin routes are outside it.
    let api = api::router().route_layer(from_fn_with_state(state.clone(), auth::authenticate));
    Router::new()
        .merge(api)
        .nest(admin::PREFIX, admin::router())
        .with_state(state)
        // Layers added later run first: the request id is assigned before
        // anything else, so traces and error bodies can name it; credentials
        // are marked sensitive before the trace layer sees them.
        .layer(from_fn(error::render_errors))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request| {
                let route = request
                    .extensions()
                    .get::<MatchedPath>()
                    .map(MatchedPath::as_str)
                    .unwrap_or("<no route>");
                let id = request
                    .extensions()
                    .get::<request_id::RequestId>()
                    .map(request_id::RequestId::as_str)
                    .unwrap_or_default();
                tracing::debug_span!("request", method = %request.method(), route, request_id = id)
            }),
        )
        .layer(SetSensitiveRequestHeadersLayer::new([
            header::AUTHORIZATION,
            auth::X_AUTH_TOKEN.clone(),
        ]))
        .layer(from_fn(request_id::assign))
}

/// Serves `app` on `listener` until `shutdown` completes, then finishes the
/// requests in flight.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// Completes on Ctrl-C (SIGINT) or SIGTERM, the signal `docker stop` sends.
///
/// The handlers are installed when this is called, not when the future is
/// first polled, so call it before announcing readiness: a signal that
/// arrives right after the `Listening at` line is then never lost.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let (mut interrupt, mut terminate) = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::interrupt()).ok(),
            signal(SignalKind::terminate()).ok(),
        )
    };
    async move {
        #[cfg(unix)]
        {
            let interrupt = async {
                match interrupt.as_mut() {
                    Some(s) => drop(s.recv().await),
                    None => std::future::pending::<()>().await,
                }
            };
            let terminate = async {
                match terminate.as_mut() {
                    Some(s) => drop(s.recv().await),
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = interrupt => {},
                () = terminate => {},
            }
        }
        #[cfg(not(unix))]
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
        tracing::info!("shutdown signal received; finishing requests in flight");
    }
}

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A fixture is missing or invalid.
    #[error(transparent)]
    Fixture(#[from] FixtureError),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: String,
        /// The OS error.
        source: io::Error,
    },
}

/// Configures and starts a [`Server`].
#[derive(Debug)]
pub struct ServerBuilder {
    /// Fixtures to load; the embedded default when empty.
    fixtures: Vec<FixtureSource>,
    /// Host used in derived SWR `path` values.
    registry_host: String,
    /// Where to listen when no listener is given.
    addr: SocketAddr,
    /// An already-bound listener, which wins over `addr`.
    listener: Option<std::net::TcpListener>,
    /// Authentication settings.
    auth: AuthSettings,
}

impl Default for ServerBuilder {
    fn default() -> Self {
        Self {
            fixtures: Vec::new(),
            registry_host: DEFAULT_REGISTRY_HOST.to_owned(),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            listener: None,
            auth: AuthSettings::default(),
        }
    }
}

impl ServerBuilder {
    /// Loads a fixture file or directory. Any fixture replaces the embedded default.
    pub fn fixture(mut self, path: impl Into<PathBuf>) -> Self {
        self.fixtures.push(FixtureSource::Path(path.into()));
        self
    }

    /// Loads a fixture from JSON text; `name` is used in error messages.
    pub fn fixture_json(mut self, name: impl Into<String>, json: impl Into<String>) -> Self {
        self.fixtures.push(FixtureSource::Json {
            name: name.into(),
            text: json.into(),
        });
        self
    }

    /// Loads the embedded default fixture (besides others given).
    pub fn default_fixture(mut self) -> Self {
        self.fixtures.push(FixtureSource::Default);
        self
    }

    /// Sets the host of derived SWR `path` values (default
    /// `swr.cn-north-1.myhuaweicloud.com`).
    pub fn registry_host(mut self, host: impl Into<String>) -> Self {
        self.registry_host = host.into();
        self
    }

    /// Sets the authentication mode (default [`AuthMode::Lenient`]).
    pub fn auth(mut self, mode: AuthMode) -> Self {
        self.auth.mode = mode;
        self
    }

    /// Sets the largest allowed distance between `X-Sdk-Date` and the server
    /// clock in strict mode (default 15 minutes).
    pub fn max_clock_skew(mut self, skew: Duration) -> Self {
        self.auth.max_clock_skew = skew;
        self
    }

    /// Puts the server's canonical request and string-to-sign into signature
    /// failures (default off).
    pub fn auth_diagnostics(mut self, on: bool) -> Self {
        self.auth.diagnostics = on;
        self
    }

    /// Listens on `addr` (default `127.0.0.1:0`, a free loopback port).
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// Serves on an already-bound listener.
    pub fn listener(mut self, listener: std::net::TcpListener) -> Self {
        self.listener = Some(listener);
        self
    }

    /// Loads the fixtures, binds, and starts serving in the background.
    pub async fn start(self) -> Result<Server, StartError> {
        let sources = if self.fixtures.is_empty() {
            vec![FixtureSource::Default]
        } else {
            self.fixtures
        };
        let settings = SeedSettings {
            registry_host: self.registry_host,
        };
        // Loading is synchronous CPU work, done once before serving starts.
        let store = seed::load(&sources, &settings)?;
        let bind_error = |addr: String| move |source| StartError::Bind { addr, source };
        let listener = match self.listener {
            Some(std) => {
                let addr = format!("{:?}", std.local_addr());
                std.set_nonblocking(true)
                    .map_err(bind_error(addr.clone()))?;
                TcpListener::from_std(std).map_err(bind_error(addr))?
            }
            None => TcpListener::bind(self.addr)
                .await
                .map_err(bind_error(self.addr.to_string()))?,
        };
        let address = listener
            .local_addr()
            .map_err(bind_error(self.addr.to_string()))?;
        let state = AppState {
            store: store.clone(),
            started: Instant::now(),
            auth: Arc::new(self.auth),
        };
        let (trigger, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, app(state), async {
            let _ = stopped.await;
        }));
        Ok(Server {
            address,
            store,
            trigger: Some(trigger),
            task: Some(task),
        })
    }
}

/// A running emulator. Dropping it shuts the server down.
///
/// ```
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let server = ims_swr_mock::Server::builder().start().await?;
/// assert!(server.uri().starts_with("http://127.0.0.1:"));
/// // Point an SDK or an HTTP client at server.uri() ...
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Server {
    /// The bound address.
    address: SocketAddr,
    /// The server's data, for assertions and setup in tests.
    store: Store,
    /// Dropping or firing this stops the accept loop.
    trigger: Option<oneshot::Sender<()>>,
    /// The serving task, awaited by [`Server::shutdown`].
    task: Option<JoinHandle<io::Result<()>>>,
}

impl Server {
    /// A builder with the embedded default fixture and `127.0.0.1:0`.
    pub fn builder() -> ServerBuilder {
        ServerBuilder::default()
    }

    /// The base URL, such as `http://127.0.0.1:41234`.
    pub fn uri(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The bound address.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The server's store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Stops accepting connections and waits for requests in flight to finish.
    pub async fn shutdown(mut self) -> io::Result<()> {
        if let Some(trigger) = self.trigger.take() {
            let _ = trigger.send(());
        }
        match self.task.take() {
            Some(task) => task.await.map_err(io::Error::other)?,
            None => Ok(()),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(trigger) = self.trigger.take() {
            let _ = trigger.send(());
        }
    }
}
