//! Shared state handed to every handler and middleware: cheap handles only.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::FromRef;

use crate::auth::AuthSettings;
use crate::control::faults::{FaultRule, Faults};
use crate::control::journal::Journal;
use crate::store::Store;
use crate::store::seed::{FixtureSource, SeedSettings};

/// What handlers share: one `Arc`, so the per-request clones that axum and
/// every middleware make cost a single atomic increment.
#[derive(Clone, Debug)]
pub struct AppState(Arc<Shared>);

impl AppState {
    /// Wraps the shared parts.
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl AppState {
    /// What authentication reads.
    pub(crate) fn auth_context(&self) -> crate::auth::AuthContext<'_> {
        crate::auth::AuthContext {
            auth: &self.auth,
            store: &self.store,
        }
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The parts of [`AppState`]. Each is itself a cheap handle.
#[derive(Debug)]
pub struct Shared {
    /// The emulated services' data.
    pub(crate) store: Store,
    /// When the server started, for `/_mock/health`'s `uptime_s`.
    pub(crate) started: Instant,
    /// How requests are authenticated.
    pub(crate) auth: Arc<AuthSettings>,
    /// Live fault rules.
    pub(crate) faults: Faults,
    /// Recent requests.
    pub(crate) journal: Journal,
    /// What `POST /_mock/reset` goes back to, and admin settings.
    pub(crate) control: Arc<Control>,
    /// Draining state and running requests, shared with the accept loop.
    pub(crate) lifecycle: crate::http::serve::Lifecycle,
    /// The limits request bodies are read under.
    pub(crate) body_limits: crate::http::body::BodyLimits,
    /// Whole answers of the list routes, for the store's current generation.
    pub(crate) pages: crate::http::cache::PageCache,
}

/// The startup configuration that reset and import rebuild from.
#[derive(Debug)]
pub(crate) struct Control {
    /// Fixtures loaded at start (re-read on reset).
    pub(crate) sources: Vec<FixtureSource>,
    /// Settings that shape derived fields.
    pub(crate) settings: SeedSettings,
    /// Rules given on the command line or the builder (not from fixtures).
    pub(crate) configured_faults: Vec<FaultRule>,
    /// SHA-256 of the admin bearer token, if one is required.
    pub(crate) admin_token_digest: Option<[u8; 32]>,
}

impl FromRef<AppState> for Store {
    fn from_ref(state: &AppState) -> Self {
        state.store.clone()
    }
}

impl crate::http::cache::Cached for AppState {
    fn pages(&self) -> &crate::http::cache::PageCache {
        &self.pages
    }

    fn generation(&self) -> u64 {
        self.store.generation()
    }
}
