//! The control plane under the reserved prefix `/_mock`, outside the API
//! routes (and, later, outside their auth and fault layers).
//!
//! - `GET /_mock/health`: `{"status":"ok","version":…,"uptime_s":…}`, used by
//!   the `healthcheck` subcommand and container health checks.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use crate::state::AppState;

/// The reserved prefix of admin routes.
pub const PREFIX: &str = "/_mock";

/// Admin routes, to be nested at [`PREFIX`].
pub fn router() -> Router<AppState> {
    Router::new().route("/health", get(health))
}

/// Body of `GET /_mock/health`.
#[derive(Debug, Serialize)]
struct Health {
    /// Always `ok` while the server answers.
    status: &'static str,
    /// The crate version.
    version: &'static str,
    /// Seconds since the server started.
    uptime_s: u64,
}

/// `GET /_mock/health`.
async fn health(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
        uptime_s: state.started.elapsed().as_secs(),
    })
}
