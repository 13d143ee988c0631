//! The IMS API's admin route: `POST /_mock/ims/projects/{project_id}/images`
//! adds an image at run time. The control plane ([`crate::control::admin`])
//! mounts it under `/_mock`, behind its body reader and token check; it
//! lives here because it speaks IMS.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};

use super::images::ImageBody;
use super::paths::ProjectPath;
use crate::api::common::Checked;
use crate::error::ApiResult;
use crate::state::AppState;

/// The IMS admin routes, relative to `/_mock`.
pub(crate) fn routes() -> Router<AppState> {
    Router::new().route(
        "/ims/projects/{project_id}/images",
        axum::routing::post(admin_add_image),
    )
}

/// `POST /_mock/ims/projects/{project_id}/images` (admin): adds an image in
/// fixture form (`{"name", "tags": [{"key","value"}], "imagetype", …}`, all
/// optional; the id is derived when absent, the times are now); 201 with
/// the image as `ListImages` shows it; 400 `MOCK.0400` naming the field for
/// a bad record or an id already used.
pub(crate) async fn admin_add_image(
    State(state): State<AppState>,
    Checked(project_id): Checked<ProjectPath>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let spec: serde_json::Value = if body.is_empty() {
        serde_json::json!({})
    } else {
        crate::store::seed::check_duplicate_keys("image", &body)?;
        serde_json::from_slice(&body).map_err(|e| {
            crate::error::ApiError::bad_request(format!("Invalid image JSON: {e}"))
                .with_code("MOCK.0400")
        })?
    };
    if !spec.is_object() {
        return Err(crate::error::ApiError::bad_request(
            "The body must be a JSON object of image fields.",
        )
        .with_code("MOCK.0400"));
    }
    let image = state.store.add_image(&project_id, spec)?;
    Ok((
        axum::http::StatusCode::CREATED,
        Json(ImageBody::new(&image, &project_id)),
    )
        .into_response())
}
