//! Shared state handed to every handler: cheap handles only.

use std::time::Instant;

use axum::extract::FromRef;

use crate::store::Store;

/// What handlers share. Clones are cheap and see the same data.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The emulated services' data.
    pub store: Store,
    /// When the server started, for `/_mock/health`'s `uptime_s`.
    pub started: Instant,
}

impl FromRef<AppState> for Store {
    fn from_ref(state: &AppState) -> Self {
        state.store.clone()
    }
}
