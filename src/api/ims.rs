//! IMS image tags.
//!
//! - `GET /v2/{project_id}/images/tags`: "Querying All Image Tags",
//!   <https://support.huaweicloud.com/intl/en-us/api-ims/ims_03_0621.html>
//!   (seed 001). SDK: `huaweicloudsdkims.v2.ImsClient.list_images_tags`.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use crate::error::{ApiError, ApiResult};
use crate::extract::ApiPath;
use crate::state::AppState;
use crate::store::{Store, TagSummary};

/// IMS routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/v2/{project_id}/images/tags", get(list_images_tags))
}

/// `GET /v2/{project_id}/images/tags`: every tag key of the project's images
/// with its distinct values, in order of first appearance.
///
/// <https://support.huaweicloud.com/intl/en-us/api-ims/ims_03_0621.html>
///
/// - 200 `{"tags":[{"key","values"}]}`; a key-only tag has `values: [""]`; an
///   unknown project has `tags: []`.
/// - 400 `IMG.0067` "The project ID is incorrect." for a project id outside
///   `^[A-Za-z0-9_-]{1,64}$` (IMS error-code table,
///   <https://support.huaweicloud.com/intl/en-us/api-ims/ims_03_0908.html>).
async fn list_images_tags(
    State(store): State<Store>,
    ApiPath(project_id): ApiPath<String>,
) -> ApiResult<Json<ImagesTagsResponse>> {
    check_project_id(&project_id)?;
    Ok(Json(ImagesTagsResponse {
        tags: store.images_tags(&project_id),
    }))
}

/// Rejects project ids the real service could never have issued.
pub(crate) fn check_project_id(id: &str) -> ApiResult<()> {
    let valid = (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if valid {
        Ok(())
    } else if id == "{project_id}" {
        // What the SDK sends when BasicCredentials has no project_id.
        Err(ApiError::bad_request(
            "The project ID is incorrect: the path holds the literal {project_id}; give BasicCredentials a project_id.",
        )
        .with_code("IMG.0067"))
    } else {
        Err(ApiError::bad_request(format!(
            "The project ID is incorrect: {id:?} does not match ^[A-Za-z0-9_-]{{1,64}}$."
        ))
        .with_code("IMG.0067"))
    }
}

/// Body of `ListImagesTags`.
#[derive(Debug, Serialize)]
struct ImagesTagsResponse {
    /// Tags of the project's images, aggregated.
    tags: Arc<[TagSummary]>,
}

impl Serialize for TagSummary {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("Tags", 2)?;
        s.serialize_field("key", &*self.key)?;
        s.serialize_field("values", &self.values)?;
        s.end()
    }
}
