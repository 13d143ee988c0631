//! IMS image tags, v2, per project.
//!
//! | SDK operation | Route | API page |
//! |---|---|---|
//! | `ListImagesTags` | `GET /v2/{project_id}/images/tags` | <https://support.huaweicloud.com/intl/en-us/api-ims/ims_03_0621.html> (seed 001) |
//! | `ListImageTags` | `GET /v2/{project_id}/images/{image_id}/tags` | <https://support.huaweicloud.com/intl/en-us/api-ims/ims_03_0620.html> |
//! | `AddImageTag` | `POST /v2/{project_id}/images/{image_id}/tags` | <https://support.huaweicloud.com/intl/en-us/api-ims/ims_03_0618.html> |
//! | `BatchAddOrDeleteTags` | `POST /v2/{project_id}/images/{image_id}/tags/action` | <https://support.huaweicloud.com/intl/en-us/api-ims/ims_03_0617.html> |
//! | `DeleteImageTag` | `DELETE /v2/{project_id}/images/{image_id}/tags/{key}` | <https://support.huaweicloud.com/intl/en-us/api-ims/ims_03_0619.html> |
//!
//! Tag rules (the per-operation pages above): a key is 1-36 characters and
//! not blank, a value at most 43 and may be empty, an image has at most 10
//! tags; batch deletion checks only lengths (key 127, value 255) and counts a
//! missing tag as deleted. Writing an existing key replaces its value.
//! Errors, from the IMS error-code table
//! (<https://support.huaweicloud.com/intl/en-us/api-ims/ims_03_0908.html>):
//! 400 `IMG.0115` "The image tag is invalid.", 400 `IMG.0116` "The number of
//! image tags exceeds the quota.", `IMG.0027` "The image ID in the request
//! does not exist." (answered as 404, the status the tag pages list for a
//! missing resource), `IMG.0121` "The object cannot be found." for a missing
//! key (404, as `DeleteImageTag` documents), and `IMG.0001` for a malformed body.

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath};
use crate::front::gated;
use crate::state::AppState;
use crate::store::Store;
use crate::store::ims::{ImsError, Tags, remove_key, upsert};

/// IMS routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v2/{project_id}/images/tags",
            get(gated(cached_list_images_tags)),
        )
        .route(
            "/v2/{project_id}/images/{image_id}/tags",
            get(gated(list_image_tags)).post(gated(add_image_tag)),
        )
        // `DELETE …/tags/action` deletes the key "action": the static segment
        // would otherwise shadow it.
        .route(
            "/v2/{project_id}/images/{image_id}/tags/action",
            post(gated(batch_add_or_delete_tags)).delete(gated(delete_action_tag)),
        )
        .route(
            "/v2/{project_id}/images/{image_id}/tags/{key}",
            delete(gated(delete_image_tag)),
        )
}

impl From<ImsError> for ApiError {
    fn from(e: ImsError) -> Self {
        match e {
            ImsError::ImageNotFound(id) => ApiError::new(
                StatusCode::NOT_FOUND,
                format!("The image ID in the request does not exist: {id}"),
            )
            .with_code("IMG.0027"),
            ImsError::TagNotFound { image, key } => ApiError::new(
                StatusCode::NOT_FOUND,
                format!("The object cannot be found: image {image} has no tag with key {key:?}"),
            )
            .with_code("IMG.0121"),
            ImsError::InvalidTag(why) => {
                ApiError::bad_request(format!("The image tag is invalid: {why}"))
                    .with_code("IMG.0115")
            }
            e @ ImsError::Quota { .. } => {
                ApiError::bad_request(format!("The number of image tags exceeds the quota: {e}"))
                    .with_code("IMG.0116")
            }
        }
    }
}

/// One tag in request and response bodies.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ResourceTag {
    /// Tag key.
    pub(crate) key: String,
    /// Tag value (`""` for a key-only tag). Optional in deletions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) value: Option<String>,
}

/// Checks a tag being written: key 1-36 characters and not blank, value at most 43.
pub(crate) fn check_new_tag(key: &str, value: &str) -> Result<(), ImsError> {
    let key_len = key.chars().count();
    if key.trim().is_empty() || key_len > 36 {
        return Err(ImsError::InvalidTag(format!(
            "key {key:?} must be 1 to 36 characters and not blank"
        )));
    }
    if value.chars().count() > 43 {
        return Err(ImsError::InvalidTag(format!(
            "the value of {key:?} must be at most 43 characters"
        )));
    }
    Ok(())
}

/// Checks a tag being deleted: key 1-127 characters and not blank, value at most 255.
pub(crate) fn check_deleted_tag(tag: &ResourceTag) -> Result<(), ImsError> {
    if tag.key.trim().is_empty() || tag.key.chars().count() > 127 {
        return Err(ImsError::InvalidTag(format!(
            "key {:?} must be 1 to 127 characters and not blank",
            tag.key
        )));
    }
    if tag
        .value
        .as_deref()
        .is_some_and(|v| v.chars().count() > 255)
    {
        return Err(ImsError::InvalidTag(format!(
            "the value of {:?} must be at most 255 characters",
            tag.key
        )));
    }
    Ok(())
}

/// Removes tags as batch deletion does: by key when no value is given, by
/// key and value otherwise; a tag that is not there counts as deleted.
pub(crate) fn delete_tags(tags: &mut Tags, deleted: &[ResourceTag]) {
    tags.retain(|(k, v)| {
        !deleted
            .iter()
            .any(|d| *d.key == **k && d.value.as_deref().is_none_or(|dv| dv == &**v))
    });
}

/// `{project_id}` and `{image_id}`.
#[derive(Debug, Deserialize)]
struct ImagePath {
    project_id: String,
    image_id: String,
}

/// `{project_id}`, `{image_id}` and `{key}`.
#[derive(Debug, Deserialize)]
struct TagKeyPath {
    project_id: String,
    image_id: String,
    key: String,
}

/// Body of `ListImageTags`.
#[derive(Debug, Serialize)]
struct ImageTagsResponse {
    /// The image's tags in the order they were added.
    tags: Vec<KeyValue>,
}

/// A tag as responses write it: both fields always present.
#[derive(Debug, Serialize)]
pub(crate) struct KeyValue {
    /// Tag key.
    pub(crate) key: String,
    /// Tag value.
    pub(crate) value: String,
}

pub(crate) fn key_values(tags: &Tags) -> Vec<KeyValue> {
    tags.iter()
        .map(|(k, v)| KeyValue {
            key: k.to_string(),
            value: v.to_string(),
        })
        .collect()
}

/// `GET /v2/{project_id}/images/{image_id}/tags` (`ListImageTags`): 200
/// `{"tags":[{"key","value"}]}`; 404 `IMG.0027` for an unknown image.
async fn list_image_tags(
    State(store): State<Store>,
    ApiPath(path): ApiPath<ImagePath>,
) -> ApiResult<Json<ImageTagsResponse>> {
    check_project_id(&path.project_id)?;
    let image = store.image(&path.project_id, &path.image_id)?;
    Ok(Json(ImageTagsResponse {
        tags: key_values(&image.tags),
    }))
}

/// Body of `AddImageTag`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AddTagBody {
    /// The tag to add.
    tag: ResourceTag,
}

/// `POST /v2/{project_id}/images/{image_id}/tags` (`AddImageTag`): 204;
/// an existing key gets the new value.
async fn add_image_tag(
    State(store): State<Store>,
    ApiPath(path): ApiPath<ImagePath>,
    ApiJson(body): ApiJson<AddTagBody>,
) -> ApiResult<StatusCode> {
    check_project_id(&path.project_id)?;
    let value = body.tag.value.unwrap_or_default();
    check_new_tag(&body.tag.key, &value)?;
    store.edit_image_tags(&path.project_id, &path.image_id, |tags| {
        upsert(tags, &body.tag.key, &value);
        Ok(())
    })?;
    Ok(StatusCode::NO_CONTENT)
}

/// Body of `BatchAddOrDeleteTags`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchBody {
    /// `create` or `delete` (case-sensitive).
    action: String,
    /// The tags; keys must be unique.
    tags: Vec<ResourceTag>,
}

/// `POST /v2/{project_id}/images/{image_id}/tags/action`
/// (`BatchAddOrDeleteTags`): 204; the whole batch applies or none of it.
async fn batch_add_or_delete_tags(
    State(store): State<Store>,
    ApiPath(path): ApiPath<ImagePath>,
    ApiJson(body): ApiJson<BatchBody>,
) -> ApiResult<StatusCode> {
    check_project_id(&path.project_id)?;
    if body.tags.is_empty() {
        return Err(ImsError::InvalidTag("tags must not be empty".into()).into());
    }
    let mut keys = std::collections::HashSet::new();
    if let Some(dup) = body.tags.iter().find(|t| !keys.insert(t.key.as_str())) {
        return Err(ImsError::InvalidTag(format!(
            "key {:?} appears twice in the request",
            dup.key
        ))
        .into());
    }
    match body.action.as_str() {
        "create" => {
            for t in &body.tags {
                check_new_tag(&t.key, t.value.as_deref().unwrap_or(""))?;
            }
            store.edit_image_tags(&path.project_id, &path.image_id, |tags| {
                for t in &body.tags {
                    upsert(tags, &t.key, t.value.as_deref().unwrap_or(""));
                }
                Ok(())
            })?;
        }
        "delete" => {
            for t in &body.tags {
                check_deleted_tag(t)?;
            }
            store.edit_image_tags(&path.project_id, &path.image_id, |tags| {
                delete_tags(tags, &body.tags);
                Ok(())
            })?;
        }
        other => {
            return Err(ApiError::bad_request(format!(
                "The request message format is invalid: action {other:?} must be create or delete"
            ))
            .with_code("IMG.0001"));
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /v2/{project_id}/images/{image_id}/tags/{key}` (`DeleteImageTag`):
/// 204; 404 `IMG.0121` when the image has no such key (the API is documented
/// as not idempotent).
async fn delete_image_tag(
    State(store): State<Store>,
    ApiPath(path): ApiPath<TagKeyPath>,
) -> ApiResult<StatusCode> {
    check_project_id(&path.project_id)?;
    let (image, key) = (path.image_id, path.key);
    store.edit_image_tags(&path.project_id, &image, |tags| {
        remove_key(tags, &image, &key)
    })?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE …/tags/action`: the tag whose key is `action`.
async fn delete_action_tag(
    state: State<Store>,
    ApiPath(path): ApiPath<ImagePath>,
) -> ApiResult<StatusCode> {
    let path = TagKeyPath {
        project_id: path.project_id,
        image_id: path.image_id,
        key: "action".into(),
    };
    delete_image_tag(state, ApiPath(path)).await
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
) -> ApiResult<Response> {
    check_project_id(&project_id)?;
    let body = store.images_tags_json(&project_id);
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// [`list_images_tags`] through the page cache ([`crate::api::cache`]).
async fn cached_list_images_tags(State(state): State<AppState>, request: Request) -> Response {
    super::cache::serve(state, request, list_images_tags).await
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
