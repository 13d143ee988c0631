//! `--persist`'s promise at the HTTP level: the answer of a write waits
//! until the write is on disk. The database itself is the store's
//! ([`crate::store::persist`]).

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::state::AppState;

/// Middleware: the answer of a write waits until the write is on disk.
pub(crate) async fn acknowledge(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(durable) = state.store.durable() else {
        return next.run(request).await;
    };
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    let response = next.run(request).await;
    let target = state.store.change_seq();
    match durable.wait(target).await {
        Ok(()) => response,
        Err(e) => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!(
                "The write was applied in memory but could not be saved to the --persist file: {e}"
            ),
        )
        .with_code("MOCK.0500")
        .into_response(),
    }
}
