//! The SWR API's admin route: `PUT /_mock/swr/namespaces/{namespace}/repos/{repository}/tags/{tag}`
//! pushes a tag as `docker push` would. The control plane
//! ([`crate::control::admin`]) mounts it under `/_mock`, behind its body
//! reader and token check; it lives here because it speaks SWR.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::http::extract::{ApiPath, ApiQuery};
use crate::state::AppState;
use crate::store::seed;

/// The SWR admin routes, relative to `/_mock`.
pub(crate) fn routes() -> Router<AppState> {
    Router::new().route(
        "/swr/namespaces/{namespace}/repos/{repository}/tags/{tag}",
        axum::routing::put(push_tag),
    )
}

/// `{namespace}`, `{repository}` (with `/` or `$`) and `{tag}` of a push.
#[derive(Debug, Deserialize)]
struct PushPath {
    namespace: String,
    repository: String,
    tag: String,
}

/// Query of a push.
#[derive(Debug, Deserialize)]
struct PushQuery {
    /// Owner of the namespace when the push creates it.
    domain_id: Option<String>,
}

/// `PUT /_mock/swr/namespaces/{namespace}/repos/{repository}/tags/{tag}`:
/// creates the namespace, repository and tag as a `docker push` would, or
/// replaces the tag. The optional body holds tag fields in fixture form
/// (`size`, `digest`, `manifest`, `created`, …); the rest is derived and the
/// times default to now. 201 for a new tag, 200 for a replaced one, with the
/// tag as `ShowRepoTag` shows it.
async fn push_tag(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<PushPath>,
    ApiQuery(query): ApiQuery<PushQuery>,
    body: Bytes,
) -> ApiResult<Response> {
    let mut spec: Value = if body.is_empty() {
        json!({})
    } else {
        seed::check_duplicate_keys("push", &body)?;
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::bad_request(format!("Invalid tag JSON: {e}")).with_code("MOCK.0400")
        })?
    };
    let Some(fields) = spec.as_object_mut() else {
        return Err(
            ApiError::bad_request("The body must be a JSON object of tag fields.")
                .with_code("MOCK.0400"),
        );
    };
    fields.insert("tag".into(), Value::String(path.tag));
    let (namespace, repository) = super::shared::RepoPath {
        namespace: path.namespace,
        repository: path.repository,
    }
    .resolve()?;
    let (tag, created) =
        state
            .store
            .push_tag(&namespace, &repository, query.domain_id.as_deref(), spec)?;
    let ctx = state.store.list_context(&namespace, &repository)?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(super::v3::V3Tag::new(&tag, &ctx, true))).into_response())
}
