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
//! Tag rules ("Image Tag Format",
//! <https://support.huaweicloud.com/intl/en-us/api-ims/ims_03_0902.html>,
//! which is newer than the per-operation pages' 36/43/10; see CONFORMANCE.md):
//! a key is 1-[`MAX_KEY_CHARS`] characters of letters, digits, CJK
//! (U+4E00-U+9FFF), space and `_ . : + - @`; a value is 0-[`MAX_VALUE_CHARS`]
//! of the same plus `/`; neither starts or ends with a space; an image has at
//! most [`MAX_TAGS`](crate::store::ims::MAX_TAGS) tags. A tag being created needs its `value` (it may be
//! `""`). Deletion checks only lengths, deletes by key when the value is
//! absent or empty (the Go SDK always sends `"value": ""`), and counts a
//! missing tag as deleted. Writing an existing key replaces its value.
//! Errors, from the IMS error-code table
//! (<https://support.huaweicloud.com/intl/en-us/api-ims/ims_03_0908.html>),
//! all 400 as the table lists them: `IMG.0115` "The image tag is invalid.",
//! `IMG.0116` "The number of image tags exceeds the quota.", `IMG.0027` "The
//! image ID in the request does not exist.", and `IMG.0001` for a malformed
//! body; `IMG.0121` "The object cannot be found." (404, as `DeleteImageTag`
//! documents) for a missing key.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::paths::{ImagePath, ProjectPath, TagKeyPath};
use crate::api::common::{Checked, json_text};
use crate::error::{ApiError, ApiResult};
use crate::front::{gated, gated_cached};
use crate::http::extract::ApiJson;
use crate::state::AppState;
use crate::store::Store;
use crate::store::ims::{ImsError, Tags, remove_key, upsert};
pub(crate) use crate::store::ims::{MAX_KEY_CHARS, MAX_VALUE_CHARS};

/// IMS routes.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v2/{project_id}/images/tags",
            get(gated_cached(list_images_tags)),
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
            // 400, as the error-code table lists it (CONFORMANCE.md).
            ImsError::ImageNotFound(id) => {
                ApiError::bad_request(format!("The image ID in the request does not exist: {id}"))
                    .with_code("IMG.0027")
            }
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

/// One tag in deletion bodies, where `value` is optional.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ResourceTag {
    /// Tag key.
    key: String,
    /// Tag value; absent or `""` deletes by key.
    #[serde(default)]
    value: Option<String>,
}

/// One tag being created, where `value` is required ("The value cannot be
/// left blank but can be an empty character string", `ims_03_0617/0618`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewTag {
    /// Tag key.
    pub(crate) key: String,
    /// Tag value (`""` for a key-only tag); `null` or absent is refused.
    pub(crate) value: String,
}

/// A character a tag key may hold: ASCII letters and digits, CJK unified
/// ideographs (U+4E00-U+9FFF), space and `_ . : + - @` (`ims_03_0902`).
fn key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || ('\u{4E00}'..='\u{9FFF}').contains(&c) || " _.:+-@".contains(c)
}

/// A character a tag value may hold: a key's characters and `/`.
fn value_char(c: char) -> bool {
    key_char(c) || c == '/'
}

/// Checks one side of a tag: length, characters, no space at either end.
fn check_text(
    what: &str,
    text: &str,
    min: usize,
    max: usize,
    allowed: fn(char) -> bool,
    also: &str,
) -> Result<(), ImsError> {
    let len = text.chars().count();
    if len < min || len > max {
        return Err(ImsError::InvalidTag(format!(
            "{what} {text:?} must be {min} to {max} characters"
        )));
    }
    if let Some(bad) = text.chars().find(|c| !allowed(*c)) {
        return Err(ImsError::InvalidTag(format!(
            "{what} {text:?} contains {bad:?}; use letters, digits, Chinese characters, space and _ . : + - @{also}"
        )));
    }
    if text.starts_with(' ') || text.ends_with(' ') {
        return Err(ImsError::InvalidTag(format!(
            "{what} {text:?} must not start or end with a space"
        )));
    }
    Ok(())
}

/// Checks a tag being written against the tag-format page (`ims_03_0902`):
/// see the module docs. 400 `IMG.0115` otherwise.
pub(crate) fn check_new_tag(key: &str, value: &str) -> Result<(), ImsError> {
    check_text("key", key, 1, MAX_KEY_CHARS, key_char, "")?;
    check_text(
        &format!("the value of {key:?}"),
        value,
        0,
        MAX_VALUE_CHARS,
        value_char,
        " /",
    )
}

/// Checks a tag being deleted: lengths only (key 1-[`MAX_KEY_CHARS`] and
/// not blank, value at most [`MAX_VALUE_CHARS`]); the characters of tags
/// being deleted are not checked, so tags stored under older rules can go.
pub(crate) fn check_deleted_tag(tag: &ResourceTag) -> Result<(), ImsError> {
    if tag.key.trim().is_empty() || tag.key.chars().count() > MAX_KEY_CHARS {
        return Err(ImsError::InvalidTag(format!(
            "key {:?} must be 1 to {MAX_KEY_CHARS} characters and not blank",
            tag.key
        )));
    }
    if tag
        .value
        .as_deref()
        .is_some_and(|v| v.chars().count() > MAX_VALUE_CHARS)
    {
        return Err(ImsError::InvalidTag(format!(
            "the value of {:?} must be at most {MAX_VALUE_CHARS} characters",
            tag.key
        )));
    }
    Ok(())
}

/// Removes tags as both batch deletions do: by key when the value is absent
/// or empty (the pages' own example deletes `{"key":"key3","value":""}`, and
/// the Go SDK always sends `"value"`), by key and value otherwise; a tag that
/// is not there counts as deleted.
pub(crate) fn delete_tags(tags: &mut Tags, deleted: &[ResourceTag]) {
    tags.retain(|(k, v)| {
        !deleted.iter().any(|d| {
            *d.key == **k
                && d.value
                    .as_deref()
                    .is_none_or(|dv| dv.is_empty() || dv == &**v)
        })
    });
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
    Checked((project, image)): Checked<ImagePath>,
) -> ApiResult<Json<ImageTagsResponse>> {
    let image = store.image(&project, &image)?;
    Ok(Json(ImageTagsResponse {
        tags: key_values(&image.tags),
    }))
}

/// Body of `AddImageTag`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AddTagBody {
    /// The tag to add.
    tag: NewTag,
}

/// `POST /v2/{project_id}/images/{image_id}/tags` (`AddImageTag`): 204;
/// an existing key gets the new value.
async fn add_image_tag(
    State(store): State<Store>,
    Checked((project, image)): Checked<ImagePath>,
    ApiJson(AddTagBody { tag }): ApiJson<AddTagBody>,
) -> ApiResult<StatusCode> {
    check_new_tag(&tag.key, &tag.value)?;
    store.edit_image_tags(&project, &image, |tags| {
        upsert(tags, &tag.key, &tag.value);
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
    /// The tags; keys must be unique. Read per action: `value` is required
    /// to create and optional to delete.
    tags: Vec<serde_json::Value>,
}

/// Reads the tags of a batch as `T`; 400 `IMG.0001` naming the field.
pub(crate) fn parse_tags<T: serde::de::DeserializeOwned>(
    tags: Vec<serde_json::Value>,
) -> ApiResult<Vec<T>> {
    tags.into_iter()
        .enumerate()
        .map(|(i, t)| {
            serde_json::from_value(t).map_err(|e| {
                ApiError::bad_request(format!(
                    "The request message format is invalid: tags[{i}]: {e}"
                ))
                .with_code("IMG.0001")
            })
        })
        .collect()
}

/// `POST /v2/{project_id}/images/{image_id}/tags/action`
/// (`BatchAddOrDeleteTags`): 204; the whole batch applies or none of it.
async fn batch_add_or_delete_tags(
    State(store): State<Store>,
    Checked((project, image)): Checked<ImagePath>,
    ApiJson(body): ApiJson<BatchBody>,
) -> ApiResult<StatusCode> {
    require_tags(&body.tags)?;
    unique_keys(
        body.tags
            .iter()
            .filter_map(|t| t.get("key").and_then(serde_json::Value::as_str)),
    )?;
    match body.action.as_str() {
        "create" => {
            let new: Vec<NewTag> = parse_tags(body.tags)?;
            for t in &new {
                check_new_tag(&t.key, &t.value)?;
            }
            store.edit_image_tags(&project, &image, |tags| {
                for t in &new {
                    upsert(tags, &t.key, &t.value);
                }
                Ok(())
            })?;
        }
        "delete" => {
            let deleted: Vec<ResourceTag> = parse_tags(body.tags)?;
            delete_batch(&store, &project, &image, &deleted)?;
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

/// 400 `IMG.0115` for a batch without tags.
pub(crate) fn require_tags<T>(tags: &[T]) -> Result<(), ImsError> {
    if tags.is_empty() {
        return Err(ImsError::InvalidTag("tags must not be empty".into()));
    }
    Ok(())
}

/// Checks the tags of a batch deletion ([`check_deleted_tag`]), then
/// deletes them all ([`delete_tags`]) or, on an error, none.
pub(crate) fn delete_batch(
    store: &Store,
    project: &str,
    image: &str,
    deleted: &[ResourceTag],
) -> ApiResult<()> {
    for t in deleted {
        check_deleted_tag(t)?;
    }
    store.edit_image_tags(project, image, |tags| {
        delete_tags(tags, deleted);
        Ok(())
    })?;
    Ok(())
}

/// 400 `IMG.0115` when a key appears twice in one request.
pub(crate) fn unique_keys<'a>(keys: impl Iterator<Item = &'a str>) -> Result<(), ImsError> {
    let mut seen = std::collections::HashSet::new();
    for key in keys {
        if !seen.insert(key) {
            return Err(ImsError::InvalidTag(format!(
                "key {key:?} appears twice in the request"
            )));
        }
    }
    Ok(())
}

/// `DELETE /v2/{project_id}/images/{image_id}/tags/{key}` (`DeleteImageTag`):
/// 204; 404 `IMG.0121` when the image has no such key (the API is documented
/// as not idempotent).
async fn delete_image_tag(
    State(store): State<Store>,
    Checked((project, image, key)): Checked<TagKeyPath>,
) -> ApiResult<StatusCode> {
    store.edit_image_tags(&project, &image, |tags| remove_key(tags, &image, &key))?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE …/tags/action`: the tag whose key is `action`.
async fn delete_action_tag(
    State(store): State<Store>,
    Checked((project, image)): Checked<ImagePath>,
) -> ApiResult<StatusCode> {
    store.edit_image_tags(&project, &image, |tags| remove_key(tags, &image, "action"))?;
    Ok(StatusCode::NO_CONTENT)
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
    Checked(project_id): Checked<ProjectPath>,
) -> ApiResult<Response> {
    Ok(json_text(
        StatusCode::OK,
        store.images_tags_json(&project_id),
    ))
}
