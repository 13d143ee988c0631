//! Shared state handed to every handler: cheap handles only.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::FromRef;

use crate::auth::AuthSettings;
use crate::store::Store;

/// What handlers share. Clones are cheap and see the same data.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The emulated services' data.
    pub store: Store,
    /// When the server started, for `/_mock/health`'s `uptime_s`.
    pub started: Instant,
    /// How requests are authenticated.
    pub auth: Arc<AuthSettings>,
}

impl FromRef<AppState> for Store {
    fn from_ref(state: &AppState) -> Self {
        state.store.clone()
    }
}
