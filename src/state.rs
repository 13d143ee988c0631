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
    pub store: Store,
    /// When the server started, for `/_mock/health`'s `uptime_s`.
    pub started: Instant,
    /// How requests are authenticated.
    pub auth: Arc<AuthSettings>,
    /// Live fault rules.
    pub faults: Faults,
    /// Recent requests.
    pub journal: Journal,
    /// What `POST /_mock/reset` goes back to, and admin settings.
    pub control: Arc<Control>,
    /// Draining state and running requests, shared with the accept loop.
    pub lifecycle: crate::http::serve::Lifecycle,
    /// Total time a client may take to send a request body.
    pub body_read_timeout: std::time::Duration,
    /// Largest admin request body, in bytes (`--max-admin-body-bytes`).
    pub max_admin_body: usize,
    /// Whole answers of the list routes, for the store's current generation.
    pub pages: crate::api::cache::PageCache,
}

/// The startup configuration that reset and import rebuild from.
#[derive(Debug)]
pub struct Control {
    /// Fixtures loaded at start (re-read on reset).
    pub sources: Vec<FixtureSource>,
    /// Settings that shape derived fields.
    pub settings: SeedSettings,
    /// Rules given on the command line or the builder (not from fixtures).
    pub configured_faults: Vec<FaultRule>,
    /// SHA-256 of the admin bearer token, if one is required.
    pub admin_token_digest: Option<[u8; 32]>,
}

impl FromRef<AppState> for Store {
    fn from_ref(state: &AppState) -> Self {
        state.store.clone()
    }
}
