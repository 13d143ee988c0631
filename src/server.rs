//! Starting and stopping the emulator: [`Server::builder`] for tests and Rust
//! users (and the command line, `crate::cli`), over the accept loop ([`crate::http::serve`]).
//!
//! The shape follows wiremock-rs: `start()` binds `127.0.0.1:0` unless told
//! otherwise, [`Server::uri`] gives the base URL, and dropping the handle
//! shuts the server down.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::error_handling::HandleErrorLayer;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::{BoxError, Router};
use derive_setters::Setters;
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower::ServiceBuilder;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower::load_shed::LoadShedLayer;

use crate::api;
use crate::auth::{AuthMode, AuthSettings};
use crate::control::faults::{FaultRule, Faults};
use crate::control::journal::Journal;
use crate::control::{admin, journal};
use crate::error::ApiError;
use crate::front::{self, App};
use crate::http::conn::FaultListener;
use crate::http::serve::{Lifecycle, ServeOptions, serve_on};
use crate::http::tls::{TlsListener, TlsSource};
use crate::state::{AppState, Control, Shared};
use crate::store::persist::Persistence;
use crate::store::seed::{self, FixtureError, FixtureSource, SeedSettings};
use crate::store::{DEFAULT_REGISTRY_HOST, Store};

/// Optional parts of the application.
#[derive(Debug, Clone, Default)]
pub(crate) struct AppOptions {
    /// Shed load with 503 beyond this many requests in flight.
    pub max_concurrency: Option<usize>,
    /// Serve the admin API under `/_mock`.
    pub admin: bool,
    /// Extra routes merged into the API (under its fault and auth layers).
    pub extra_routes: Option<Router<AppState>>,
}

/// Builds the whole application. From the outside in:
///
/// 1. the front ([`crate::front`]): request id (every response gets
///    `X-Request-Id`), `Authorization`/`X-Auth-Token` marked sensitive, the
///    debug span, the request journal, draining, catch-panic (a panic is a
///    500, not a dropped connection), and the error renderer (native
///    envelopes for every error response);
/// 2. routing; then, on API routes only: load shedding (`--max-concurrency`),
///    and the gate around each handler (body buffering, fault injection and
///    authentication, see [`crate::front::gated`]).
///
/// The admin routes sit beside the API routes, outside the gate.
pub(crate) fn app(state: AppState, options: AppOptions) -> App {
    let mut api = api::router();
    if let Some(extra) = options.extra_routes {
        // Their handlers are not `gated`: the same gate as layers.
        api = api.merge(
            extra
                .route_layer(from_fn_with_state(state.clone(), front::authenticate))
                .route_layer(from_fn_with_state(state.clone(), front::gate)),
        );
    }
    if let Some(limit) = options.max_concurrency {
        api = api.layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(move |_: BoxError| async move {
                    ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        format!("Service unavailable: more than {limit} requests in flight."),
                    )
                }))
                .layer(LoadShedLayer::new())
                .layer(GlobalConcurrencyLimitLayer::new(limit)),
        );
    }
    let mut router = Router::new().merge(api);
    if options.admin {
        // The admin router reads its bodies itself, under its own limit
        // (`crate::http::body`); axum's extractor limit would only be a second one.
        let admin =
            admin::router(state.clone(), api::admin_routes()).layer(DefaultBodyLimit::disable());
        router = router.nest(crate::control::PREFIX, admin);
    }
    // With --persist, a write's answer waits until the write is on disk.
    let router = router.layer(from_fn_with_state(
        state.clone(),
        crate::control::persist::acknowledge,
    ));
    App::new(state.clone(), router.with_state(state))
}

/// Completes on Ctrl-C (SIGINT) or SIGTERM, the signal `docker stop` sends.
///
/// The handlers are installed when this is called, not when the future is
/// first polled, so call it before announcing readiness: a signal that
/// arrives right after the `Listening at` line is then never lost.
pub(crate) fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
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
    /// The `--persist` path cannot be used.
    #[error(transparent)]
    Persist(#[from] crate::store::persist::PersistError),
    /// The TLS certificate could not be loaded or made.
    #[error("{0}")]
    Tls(String),
    /// A setting cannot work on this host (it names the flag).
    #[error("{0}")]
    Setting(String),
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
///
/// The one-value settings are setters named after what they set (generated
/// by `derive_setters` from the fields; an optional setting's setter takes
/// the value itself); the ones that add to a list are written out.
#[derive(Debug, Setters)]
#[setters(strip_option)]
pub struct ServerBuilder {
    /// Fixtures to load; the embedded default when empty.
    #[setters(skip)]
    fixtures: Vec<FixtureSource>,
    /// Sets the host of derived SWR `path` values (default
    /// `swr.cn-north-1.myhuaweicloud.com`).
    #[setters(into)]
    registry_host: String,
    /// Sets the registry's blob budget in bytes (`--max-blob-bytes`, default
    /// 2 GiB).
    max_blob_bytes: u64,
    /// Listens on this address (default `127.0.0.1:0`, a free loopback port).
    #[setters(rename = "bind")]
    addr: SocketAddr,
    /// Serves on an already-bound listener (it wins over [`bind`](Self::bind)).
    listener: Option<std::net::TcpListener>,
    /// Sets the authentication mode (default [`AuthMode::Lenient`]).
    auth: AuthMode,
    /// Sets the largest allowed distance between `X-Sdk-Date` and the server
    /// clock in strict mode (default 15 minutes).
    max_clock_skew: Duration,
    /// Puts the server's canonical request and string-to-sign into signature
    /// failures (default off).
    auth_diagnostics: bool,
    /// Fault rules installed at start.
    #[setters(skip)]
    faults: Vec<FaultRule>,
    /// Keeps at most this many requests in the journal (default 1000; 0
    /// turns it off).
    journal_size: usize,
    /// Keeps whole answers of the list routes until the store changes
    /// (default true; see `http::cache`).
    page_cache: bool,
    /// Requires `Authorization: Bearer TOKEN` on the admin API.
    #[setters(into)]
    admin_token: Option<String>,
    /// Serves the admin API under `/_mock` (default true).
    admin: bool,
    /// Sheds load with 503 (in the service's envelope) beyond this many
    /// requests in flight.
    max_concurrency: Option<usize>,
    /// Routes of the user's own, merged into the API.
    #[setters(skip)]
    extra_routes: Option<Router<AppState>>,
    /// How long a client may take to send a request's headers, and then its
    /// body (default 10 s): a slow client is cut off, others are served.
    read_timeout: Duration,
    /// Keeps at most this many connections open (TLS handshakes included;
    /// default 1024, lowered to fit the descriptor limit). At the cap, the
    /// longest-idle connection makes room for a new one. `start` refuses a
    /// cap the descriptor limit cannot hold.
    max_connections: Option<usize>,
    /// Largest admin request body, in bytes (default
    /// [`crate::http::body::DEFAULT_MAX_ADMIN_BODY`], 64 MiB); larger ones get 413.
    max_admin_body_bytes: usize,
    /// How long a shutdown waits for running requests before cutting them
    /// (default 10 s). Requests arriving meanwhile get 503.
    shutdown_timeout: Duration,
    /// Serves HTTPS (the `Listening at` line and [`Server::uri`] say `https://`).
    tls: Option<TlsSource>,
    /// Keep the state in a file across restarts.
    #[setters(skip)]
    persistence: Option<Persistence>,
}

impl Default for ServerBuilder {
    fn default() -> Self {
        let auth = AuthSettings::default();
        let serve = ServeOptions::default();
        Self {
            fixtures: Vec::new(),
            registry_host: DEFAULT_REGISTRY_HOST.to_owned(),
            max_blob_bytes: crate::store::blobs::DEFAULT_MAX_BLOB_BYTES,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            listener: None,
            auth: auth.mode,
            max_clock_skew: auth.max_clock_skew,
            auth_diagnostics: auth.diagnostics,
            faults: Vec::new(),
            journal_size: journal::DEFAULT_SIZE,
            page_cache: true,
            admin_token: None,
            admin: true,
            max_concurrency: None,
            extra_routes: None,
            read_timeout: serve.header_read_timeout,
            max_connections: None,
            max_admin_body_bytes: crate::http::body::DEFAULT_MAX_ADMIN_BODY,
            shutdown_timeout: serve.shutdown_timeout,
            tls: None,
            persistence: None,
        }
    }
}

impl ServerBuilder {
    /// Loads a fixture file or directory. Any fixture replaces the embedded default.
    #[must_use]
    pub fn fixture(mut self, path: impl Into<PathBuf>) -> Self {
        self.fixtures.push(FixtureSource::Path(path.into()));
        self
    }

    /// Loads a fixture from JSON text; `name` is used in error messages.
    #[must_use]
    pub fn fixture_json(mut self, name: impl Into<String>, json: impl Into<String>) -> Self {
        self.fixtures.push(FixtureSource::Json {
            name: name.into(),
            text: json.into(),
        });
        self
    }

    /// Loads the embedded default fixture (besides others given).
    #[must_use]
    pub fn default_fixture(mut self) -> Self {
        self.fixtures.push(FixtureSource::Default);
        self
    }

    /// Installs a fault rule at start (and again on every reset).
    #[must_use]
    pub fn fault(mut self, rule: FaultRule) -> Self {
        self.faults.push(rule);
        self
    }

    /// Merges routes of your own into the API, under its fault and auth
    /// layers: to emulate one more operation, or to test the middleware.
    #[must_use]
    pub fn extra_routes(mut self, routes: Router<AppState>) -> Self {
        self.extra_routes = Some(match self.extra_routes.take() {
            Some(existing) => existing.merge(routes),
            None => routes,
        });
        self
    }

    /// Keeps the state in the database file `path` (a redb database):
    /// loaded at start when it holds one; every write is on disk before it is
    /// answered (writes through the Rust API before the method returns).
    /// `interval` is ignored (kept for compatibility).
    #[must_use]
    pub fn persist(mut self, path: impl Into<PathBuf>, interval: Option<Duration>) -> Self {
        self.persistence = Some(Persistence {
            path: path.into(),
            interval,
        });
        self
    }

    /// Loads the fixtures, binds, and starts serving in the background.
    ///
    /// # Errors
    /// A [`StartError`]: bad fixtures, an address that cannot be bound, a TLS or `--persist` setup that fails, or a setting that cannot work.
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
        let loaded = seed::load_all(&sources, &settings)?;
        let store = loaded.store;
        if self.max_blob_bytes == 0 {
            return Err(StartError::Setting(
                "--max-blob-bytes must be at least 1".into(),
            ));
        }
        store.blobs().set_limit(self.max_blob_bytes);
        if store.blobs().used() > self.max_blob_bytes {
            return Err(StartError::Setting(format!(
                "--max-blob-bytes {} cannot hold the {} bytes of blobs the fixtures' registry sections give; raise it",
                self.max_blob_bytes,
                store.blobs().used()
            )));
        }
        let durable = match &self.persistence {
            Some(p) => Some(start_persistence(&p.path, &settings, &store).await?),
            None => None,
        };
        let fd_limit = crate::http::serve::descriptor_limit();
        let mut serve_options = ServeOptions {
            header_read_timeout: self.read_timeout,
            shutdown_timeout: self.shutdown_timeout,
            max_connections: self
                .max_connections
                .unwrap_or(crate::http::serve::DEFAULT_MAX_CONNECTIONS),
            ..ServeOptions::default()
        };
        match crate::http::serve::fit_connection_cap(serve_options.max_connections, fd_limit) {
            Ok(_) if serve_options.max_connections == 0 => {
                return Err(StartError::Setting(
                    "--max-connections must be at least 1".into(),
                ));
            }
            Ok(_) => {}
            Err(room) if self.max_connections.is_some() => {
                return Err(StartError::Setting(format!(
                    "--max-connections {} cannot work: the descriptor limit (ulimit -n) is {}, \
                     which holds at most {room} connections ({} descriptors are kept for files); \
                     lower --max-connections or raise the limit",
                    serve_options.max_connections,
                    fd_limit.unwrap_or_default(),
                    crate::http::serve::RESERVED_FDS
                )));
            }
            Err(room) => {
                tracing::info!(
                    "connection cap lowered to {room} to fit the descriptor limit (ulimit -n {})",
                    fd_limit.unwrap_or_default()
                );
                serve_options.max_connections = room;
            }
        }
        let tls = match &self.tls {
            Some(source) => Some(crate::http::tls::config(source).map_err(StartError::Tls)?),
            None => None,
        };
        let faults = Faults::default();
        for rule in loaded.faults.into_iter().chain(self.faults.iter().cloned()) {
            faults.add(rule).map_err(|message| {
                StartError::Fixture(FixtureError {
                    problems: vec![seed::Problem {
                        file: "fault rule".into(),
                        path: "$".into(),
                        message,
                    }],
                })
            })?;
        }
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
        let state = AppState::new(Shared {
            store,
            started: Instant::now(),
            auth: Arc::new(AuthSettings {
                mode: self.auth,
                max_clock_skew: self.max_clock_skew,
                diagnostics: self.auth_diagnostics,
            }),
            faults,
            journal: Journal::new(self.journal_size),
            control: Arc::new(Control {
                sources,
                settings,
                configured_faults: self.faults,
                admin_token_digest: self
                    .admin_token
                    .map(|t| Sha256::digest(t.as_bytes()).into()),
            }),
            lifecycle: Lifecycle::default(),
            body_limits: crate::http::body::BodyLimits {
                read_timeout: self.read_timeout,
                max_admin: self.max_admin_body_bytes,
            },
            pages: crate::http::cache::PageCache::new(self.page_cache),
        });
        let (trigger, stopped) = oneshot::channel::<()>();
        let options = AppOptions {
            max_concurrency: self.max_concurrency,
            admin: self.admin,
            extra_routes: self.extra_routes,
        };
        let router = app(state.clone(), options);
        let stop = async {
            let _ = stopped.await;
        };
        let scheme = if tls.is_some() { "https" } else { "http" };
        state.store.blobs().set_scheme(scheme);
        let lifecycle = state.lifecycle.clone();
        lifecycle
            .connections()
            .set_max(serve_options.max_connections);
        let task = match tls {
            Some(config) => {
                let listener = TlsListener::new(
                    FaultListener::new(listener),
                    config,
                    lifecycle.connections(),
                    serve_options.header_read_timeout,
                )
                .map_err(bind_error(address.to_string()))?;
                tokio::spawn(serve_on(listener, router, lifecycle, serve_options, stop))
            }
            None => {
                let listener = FaultListener::new(listener);
                tokio::spawn(serve_on(listener, router, lifecycle, serve_options, stop))
            }
        };
        let saver = durable.map(|durable| {
            let (tx, rx) = tokio::sync::watch::channel(false);
            let handle = tokio::spawn(crate::store::persist::run(durable, state.store.clone(), rx));
            Saver { stop: tx, handle }
        });
        Ok(Server {
            address,
            scheme,
            state,
            trigger: Some(trigger),
            task: Some(task),
            saver,
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
    /// The server's data, rules and journal, for assertions and setup in tests.
    state: AppState,
    /// Dropping or firing this stops the accept loop.
    trigger: Option<oneshot::Sender<()>>,
    /// The serving task, awaited by [`Server::shutdown`].
    task: Option<JoinHandle<io::Result<()>>>,
    /// `http` or `https`.
    scheme: &'static str,
    /// The periodic state saver, when persistence is on.
    saver: Option<Saver>,
}

/// The running state saver of a persistent server.
#[derive(Debug)]
struct Saver {
    stop: tokio::sync::watch::Sender<bool>,
    handle: JoinHandle<Result<(), String>>,
}

/// Opens the state database (see [`crate::store::persist`]), loads the state it
/// holds into `store`, and makes `store` save every write into it.
async fn start_persistence(
    path: &std::path::Path,
    settings: &SeedSettings,
    store: &Store,
) -> Result<Arc<crate::store::persist::Durable>, StartError> {
    let shown = path.display().to_string();
    let (path, settings, fixtures) = (path.to_owned(), settings.clone(), store.clone());
    let opened = tokio::task::spawn_blocking(move || {
        let (durable, loaded) = crate::store::persist::open(&path, &settings, &fixtures)?;
        let fresh = loaded.is_none();
        if let Some(inner) = loaded {
            fixtures.replace(inner)?;
        }
        durable.load_blobs(fixtures.blobs()).map_err(|reason| {
            crate::store::persist::PersistError {
                path: path.display().to_string(),
                reason: format!("cannot read the registry's blobs: {reason}"),
            }
        })?;
        // A new database gets the whole state before any write is answered.
        fixtures.track_changes(fresh);
        durable.flush_now(&fixtures).map_err(|(_, reason)| {
            crate::store::persist::PersistError {
                path: path.display().to_string(),
                reason: format!("cannot write it: {reason}"),
            }
        })?;
        Ok::<_, crate::store::persist::OpenError>(durable)
    })
    .await
    .map_err(|e| {
        // The database library asserts on some damage (a truncated file).
        let detail = match e.try_into_panic() {
            Ok(panic) => panic
                .downcast_ref::<&str>()
                .map(std::string::ToString::to_string)
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default(),
            Err(e) => e.to_string(),
        };
        StartError::Persist(crate::store::persist::PersistError {
            path: shown,
            reason: format!("the state database is damaged (truncated or overwritten?): {detail}"),
        })
    })?;
    let durable = Arc::new(opened.map_err(|e| match e {
        crate::store::persist::OpenError::Persist(p) => StartError::Persist(p),
        crate::store::persist::OpenError::Fixture(f) => StartError::Fixture(f),
    })?);
    store.set_durable(durable.clone());
    Ok(durable)
}

impl Server {
    /// A builder with the embedded default fixture and `127.0.0.1:0`.
    pub fn builder() -> ServerBuilder {
        ServerBuilder::default()
    }

    /// The base URL, such as `http://127.0.0.1:41234` (`https://` with TLS).
    pub fn uri(&self) -> String {
        format!("{}://{}", self.scheme, self.address)
    }

    /// The bound address.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The server's store.
    pub fn store(&self) -> &Store {
        &self.state.store
    }

    /// The live fault rules (the same ones `/_mock/faults` manages).
    pub fn faults(&self) -> &Faults {
        &self.state.faults
    }

    /// The request journal (what `/_mock/requests` shows).
    pub fn journal(&self) -> &Journal {
        &self.state.journal
    }

    /// Goes back to the startup state, like `POST /_mock/reset`.
    ///
    /// # Errors
    /// The fixtures' problems, when a fixture file changed on disk and no longer loads; the state is left as it was.
    pub fn reset(&self) -> Result<(), FixtureError> {
        admin::reset(&self.state)?;
        self.sync()
    }

    /// With persistence, commits what the Rust API just changed (an HTTP
    /// write's answer waits for this instead).
    fn sync(&self) -> Result<(), FixtureError> {
        match self.state.store.durable() {
            Some(durable) => durable.sync(&self.state.store).map_err(|e| FixtureError {
                problems: vec![seed::Problem {
                    file: "--persist".into(),
                    path: "$".into(),
                    message: format!("applied, but not saved: {e}"),
                }],
            }),
            None => Ok(()),
        }
    }

    /// The data as fixture JSON, like `GET /_mock/state`.
    pub fn export_state(&self) -> serde_json::Value {
        self.state.store.export()
    }

    /// Pushes a tag as `docker push` would (creating the namespace and the
    /// repository when missing), like `PUT /_mock/swr/namespaces/…/tags/{tag}`.
    /// `spec` holds the tag in fixture form: `json!({"tag": "v1", "size": 1024})`.
    /// A nested repository name may be written with `/` or, as the API's
    /// paths write it, with `$` (`group$app`).
    ///
    /// # Errors
    /// The fixture problems of `spec` or of the names.
    pub fn push_tag(
        &self,
        namespace: &str,
        repository: &str,
        spec: serde_json::Value,
    ) -> Result<Arc<crate::store::SwrTag>, FixtureError> {
        let (tag, _) =
            self.state
                .store
                .push_tag(namespace, &repository.replace('$', "/"), None, spec)?;
        self.sync()?;
        Ok(tag)
    }

    /// Replaces the data with a fixture document, like `PUT /_mock/state`.
    ///
    /// # Errors
    /// The problems of `json` as a fixture; the state is left as it was.
    pub fn import_state(&self, json: &str) -> Result<(), FixtureError> {
        let bytes = bytes::Bytes::copy_from_slice(json.as_bytes());
        admin::import_state(&self.state, bytes)?;
        self.sync()
    }

    /// Stops accepting connections, waits for requests in flight to finish,
    /// and (with persistence) saves the final state.
    ///
    /// # Errors
    /// An I/O error of the accept loop or of the last `--persist` commit.
    pub async fn shutdown(mut self) -> io::Result<()> {
        if let Some(trigger) = self.trigger.take() {
            let _ = trigger.send(());
        }
        let served = match self.task.take() {
            Some(task) => task.await.map_err(io::Error::other)?,
            None => Ok(()),
        };
        if let Some(saver) = self.saver.take() {
            let _ = saver.stop.send(true);
            saver
                .handle
                .await
                .map_err(io::Error::other)?
                .map_err(io::Error::other)?;
        }
        served
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(trigger) = self.trigger.take() {
            let _ = trigger.send(());
        }
    }
}
