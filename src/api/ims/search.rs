//! IMS `ListImageByTags`: `POST /v2/{project_id}/images/resource_instances/action`,
//! "Querying Images by Tag",
//! <https://support.huaweicloud.com/intl/en-us/api-ims/ims_03_0616.html>.
//!
//! `action` `filter` answers a page of images with their tags and the total
//! number of matches; `count` answers the number alone. `tags` needs every
//! key (with any of its values, or any value when `values` is empty),
//! `tags_any` one key, `not_tags` excludes images that match every key,
//! `not_tags_any` those that match any; `without_any_tag` keeps only untagged
//! images. Each condition's `values` is required (an empty list means any
//! value). `matches` narrows by `resource_name` (case-insensitive substring;
//! an empty value matches the empty name exactly) or `resource_id` (exact).
//! `limit` (1-1000, default 10) and `offset` (0 or more) are JSON strings, as
//! the page types them (a JSON number is refused). Lists must not be empty
//! and hold at most 10 keys of at most 10 values. Violations: 400 `IMG.0001`.

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::paths::ProjectPath;
use super::tags::key_values;
use crate::api::common::Checked;
use crate::error::{ApiError, ApiResult};
use crate::front::gated;
use crate::http::extract::ApiJson;
use crate::state::AppState;
use crate::store::Store;
use crate::store::ims::{ByTags, TagCondition};

/// `ListImageByTags` route.
pub(crate) fn router() -> Router<AppState> {
    Router::new().route(
        "/v2/{project_id}/images/resource_instances/action",
        post(gated(list_image_by_tags)),
    )
}

/// One `{"key","values"}` condition.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TagsDto {
    key: String,
    /// Required; empty means any value.
    values: Vec<String>,
}

/// One `{"key","value"}` of `matches`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MatchDto {
    key: String,
    value: String,
}

/// Body of `ListImageByTags`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ByTagsBody {
    /// `filter` or `count`.
    action: String,
    tags: Option<Vec<TagsDto>>,
    tags_any: Option<Vec<TagsDto>>,
    not_tags: Option<Vec<TagsDto>>,
    not_tags_any: Option<Vec<TagsDto>>,
    /// A string of digits, as the page types it and the SDK sends it.
    limit: Option<String>,
    /// A string of digits, as the page types it and the SDK sends it.
    offset: Option<String>,
    matches: Option<Vec<MatchDto>>,
    without_any_tag: Option<bool>,
}

fn invalid(why: String) -> ApiError {
    ApiError::bad_request(format!("The request message format is invalid: {why}"))
        .with_code("IMG.0001")
}

fn conditions(name: &str, list: Option<Vec<TagsDto>>) -> ApiResult<Option<Vec<TagCondition>>> {
    let Some(list) = list else { return Ok(None) };
    if list.is_empty() || list.len() > 10 {
        return Err(invalid(format!(
            "{name} must hold 1 to 10 keys, not {}",
            list.len()
        )));
    }
    let mut keys = std::collections::HashSet::new();
    for t in &list {
        if t.key.trim().is_empty() || t.key.chars().count() > 127 {
            return Err(invalid(format!(
                "{name}: key {:?} must be 1 to 127 characters",
                t.key
            )));
        }
        if !keys.insert(t.key.as_str()) {
            return Err(invalid(format!("{name}: key {:?} appears twice", t.key)));
        }
        if t.values.len() > 10 || t.values.iter().any(|v| v.chars().count() > 255) {
            return Err(invalid(format!(
                "{name}: key {:?} takes at most 10 values of at most 255 characters",
                t.key
            )));
        }
        let mut seen = std::collections::HashSet::new();
        if t.values.iter().any(|v| !seen.insert(v)) {
            return Err(invalid(format!("{name}: key {:?} repeats a value", t.key)));
        }
    }
    Ok(Some(
        list.into_iter()
            .map(|t| TagCondition {
                key: t.key,
                values: t.values,
            })
            .collect(),
    ))
}

/// Reads `limit`/`offset`: a string of digits.
fn number(
    name: &str,
    value: Option<String>,
    default: usize,
    range: std::ops::RangeInclusive<usize>,
) -> ApiResult<usize> {
    let Some(text) = value else {
        return Ok(default);
    };
    match text.parse::<usize>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(invalid(format!(
            "{name}={text:?} must be an integer from {} to {}",
            range.start(),
            range.end()
        ))),
    }
}

/// `POST /v2/{project_id}/images/resource_instances/action`.
async fn list_image_by_tags(
    State(store): State<Store>,
    Checked(project_id): Checked<ProjectPath>,
    ApiJson(body): ApiJson<ByTagsBody>,
) -> ApiResult<Json<Value>> {
    let count_only = match body.action.as_str() {
        "filter" => false,
        "count" => true,
        other => return Err(invalid(format!("action {other:?} must be filter or count"))),
    };
    let mut query = ByTags {
        tags: conditions("tags", body.tags)?,
        tags_any: conditions("tags_any", body.tags_any)?,
        not_tags: conditions("not_tags", body.not_tags)?,
        not_tags_any: conditions("not_tags_any", body.not_tags_any)?,
        without_any_tag: body.without_any_tag.unwrap_or(false),
        ..ByTags::default()
    };
    if let Some(matches) = body.matches {
        if matches.is_empty() {
            return Err(invalid("matches must not be empty".into()));
        }
        for m in matches {
            if m.value.chars().count() > 255 || (m.key != "resource_name" && m.value.is_empty()) {
                return Err(invalid(format!(
                    "matches: the value of {} must be 1 to 255 characters",
                    m.key
                )));
            }
            let slot = match m.key.as_str() {
                "resource_name" if m.value.is_empty() => &mut query.name_exact,
                "resource_name" => &mut query.name_contains,
                "resource_id" => &mut query.id,
                other => {
                    return Err(invalid(format!(
                        "matches: key {other:?} must be resource_name or resource_id"
                    )));
                }
            };
            if slot.replace(m.value).is_some()
                || (query.name_exact.is_some() && query.name_contains.is_some())
            {
                return Err(invalid(format!("matches: key {} appears twice", m.key)));
            }
        }
    }
    let limit = number("limit", body.limit, 10, 1..=1000)?;
    let offset = number("offset", body.offset, 0, 0..=usize::MAX)?;
    let (page, total) = store.images_by_tags(
        &project_id,
        &query,
        offset,
        if count_only { 0 } else { limit },
    );
    if count_only {
        return Ok(Json(json!({"total_count": total})));
    }
    let resources: Vec<Resource> = page
        .iter()
        .map(|image| Resource {
            resource_id: image.id.to_string(),
            resource_name: image.name.to_string(),
            resource_detail: json!({"status": &*image.status}),
            tags: key_values(&image.tags),
        })
        .collect();
    Ok(Json(json!({"resources": resources, "total_count": total})))
}

/// One image of a `filter` answer.
#[derive(Debug, Serialize)]
struct Resource {
    /// Image id.
    resource_id: String,
    /// Image name.
    resource_name: String,
    /// `{"status": …}`.
    resource_detail: Value,
    /// The image's tags.
    tags: Vec<super::tags::KeyValue>,
}
