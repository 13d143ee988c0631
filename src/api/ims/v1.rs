//! IMS image tags, v1 ("cloudimages") operations.
//!
//! | SDK operation | Route | API page |
//! |---|---|---|
//! | `BatchDeleteTags` | `DELETE /v1/{project_id}/cloudimages/{image_id}/tags/delete` (body) | <https://support.huaweicloud.com/intl/en-us/api-ims/ims_03_0662.html> |
//! | `CreateOrUpdateTags` | `PUT /v1/cloudimages/tags` | <https://support.huaweicloud.com/intl/en-us/api-ims/ims_03_0612.html> |
//! | `ListTags` | `GET /v1/cloudimages/tags` | <https://support.huaweicloud.com/intl/en-us/api-ims/ims_03_0613.html> |
//!
//! `CreateOrUpdateTags` takes `"tag": "key.value"` (split at the first dot;
//! no dot means an empty value, per "Image Tag Format",
//! <https://support.huaweicloud.com/intl/en-us/api-ims/ims_03_0902.html>) or
//! `"image_tag": {"key","value"}` (both required), exactly one of them.
//! `ListTags` filters the images of one project (see [`list_tags`] for which),
//! sorts them (`sort_key`, `sort_dir`; newest first by default), pages over
//! them (`marker` or `page` from 1, `limit` images, all by default) and
//! answers their distinct tags as `key=value` (the "new specification" form;
//! a bare `key` for an empty value). Paths without a project find the image
//! among the caller's projects in strict mode, and anywhere otherwise.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::paths::{ImagePath, check_project_id};
use super::tags::{NewTag, ResourceTag, check_new_tag, delete_batch, require_tags};
use crate::api::common::{Checked, Requester, Words};
use crate::auth::AuthMode;
use crate::error::{ApiError, ApiResult};
use crate::front::gated;
use crate::http::extract::{ApiJson, ApiQuery};
use crate::state::AppState;
use crate::store::Store;
use crate::store::ims::{ImageFilter, ImageSort, ImsError, TimeOp, V1Page, upsert};

/// v1 routes.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/{project_id}/cloudimages/{image_id}/tags/delete",
            delete(gated(batch_delete_tags)),
        )
        .route(
            "/v1/cloudimages/tags",
            put(gated(create_or_update_tags)).get(gated(list_tags)),
        )
}

/// What the IMS routes without a project in their path ask of the caller.
impl Requester {
    /// The project of an image the caller may see: in strict mode only the
    /// caller's own projects count, and another tenant's image is "not found".
    pub(crate) fn visible_project(&self, image_id: &str) -> ApiResult<Arc<str>> {
        let project = self
            .state
            .store
            .image_project(image_id)
            .ok_or_else(|| ImsError::ImageNotFound(image_id.to_owned()))?;
        let hidden = self.state.auth.mode == AuthMode::Strict
            && self
                .identity
                .0
                .as_ref()
                .is_none_or(|c| !c.may_use_project(&project));
        if hidden {
            return Err(ImsError::ImageNotFound(image_id.to_owned()).into());
        }
        Ok(project)
    }

    /// The projects an image list without a project in its path scans (see
    /// [`list_tags`]); `None`: every project.
    pub(crate) fn scope(&self) -> ApiResult<Option<Vec<Arc<str>>>> {
        let header_project = self.project_header.clone();
        if let Some(p) = &header_project {
            check_project_id(p)?;
        }
        let strict = self.state.auth.mode == AuthMode::Strict;
        let scope: Option<Vec<Arc<str>>> = match (header_project, &self.identity.0) {
            (Some(p), Some(caller)) if caller.may_use_project(&p) => Some(vec![p]),
            (Some(_), Some(_)) => Some(Vec::new()),
            (Some(p), None) if !strict => Some(vec![p]),
            (None, Some(caller)) => Some(caller.projects.iter().take(1).cloned().collect()),
            (_, None) if strict => Some(Vec::new()),
            (_, None) => self.state.store.default_project().map(|p| vec![p]),
        };
        Ok(scope)
    }
}

/// Body of `BatchDeleteTags`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeleteBody {
    tags: Vec<ResourceTag>,
}

/// `DELETE /v1/{project_id}/cloudimages/{image_id}/tags/delete`: 204; a
/// missing tag counts as deleted; a tag with an empty or absent value is
/// deleted by key, one with a value only if the value matches.
async fn batch_delete_tags(
    State(store): State<Store>,
    Checked((project, image)): Checked<ImagePath>,
    ApiJson(DeleteBody { tags }): ApiJson<DeleteBody>,
) -> ApiResult<StatusCode> {
    require_tags(&tags)?;
    delete_batch(&store, &project, &image, &tags)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Body of `CreateOrUpdateTags`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateOrUpdateBody {
    image_id: String,
    /// `key.value`.
    tag: Option<String>,
    /// `{"key","value"}`, both required.
    image_tag: Option<NewTag>,
}

impl CreateOrUpdateBody {
    /// The tag, from whichever of `tag` and `image_tag` was given; 400
    /// `IMG.0001` unless exactly one was.
    fn key_value(&self) -> ApiResult<(String, String)> {
        match (&self.tag, &self.image_tag) {
            (Some(tag), None) => Ok(split_tag(tag, '.')),
            (None, Some(t)) => Ok((t.key.clone(), t.value.clone())),
            _ => Err(ApiError::bad_request(
                "The request message format is invalid: give exactly one of tag and image_tag",
            )
            .with_code("IMG.0001")),
        }
    }
}

/// A tag written as one string, `key{separator}value`, split at the first
/// separator; without one, a key with an empty value.
fn split_tag(text: &str, separator: char) -> (String, String) {
    match text.split_once(separator) {
        Some((k, v)) => (k.to_owned(), v.to_owned()),
        None => (text.to_owned(), String::new()),
    }
}

/// `PUT /v1/cloudimages/tags`: 204; adds the tag or replaces the key's value.
async fn create_or_update_tags(
    requester: Requester,
    ApiJson(body): ApiJson<CreateOrUpdateBody>,
) -> ApiResult<StatusCode> {
    let (key, value) = body.key_value()?;
    check_new_tag(&key, &value)?;
    let project = requester.visible_project(&body.image_id)?;
    requester
        .state
        .store
        .edit_image_tags(&project, &body.image_id, |tags| {
            upsert(tags, &key, &value);
            Ok(())
        })?;
    Ok(StatusCode::NO_CONTENT)
}

/// Query of `ListTags` (the SDK's `imagetype`, `platform` and `os_type`
/// travel as `__imagetype`, `__platform` and `__os_type`).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListTagsQuery {
    limit: Option<String>,
    page: Option<String>,
    /// Image id to start after (in the sort order).
    marker: Option<String>,
    /// `created_at` (default), `updated_at`, `name`, `id`, `status` or `min_disk`.
    sort_key: Option<String>,
    /// `desc` (default) or `asc`.
    sort_dir: Option<String>,
    /// `key.value` (split at the first dot; no dot: an empty value).
    tag: Option<String>,
    /// `true` (every emulated image is registered) or `false`.
    #[serde(rename = "__isregistered")]
    is_registered: Option<String>,
    #[serde(rename = "__imagetype")]
    image_type: Option<String>,
    id: Option<String>,
    status: Option<String>,
    name: Option<String>,
    min_disk: Option<String>,
    #[serde(rename = "__platform")]
    platform: Option<String>,
    #[serde(rename = "__os_type")]
    os_type: Option<String>,
    member_status: Option<String>,
    virtual_env_type: Option<String>,
    enterprise_project_id: Option<String>,
    architecture: Option<String>,
    created_at: Option<String>,
    updated_at: Option<String>,
}

pub(crate) fn bad_query(name: &str, value: &str, expected: &str) -> ApiError {
    ApiError::bad_request(format!(
        "The request message format is invalid: {name}={value:?}; expected {expected}"
    ))
    .with_code("IMG.0001")
}

fn one_of(name: &str, value: Option<String>, allowed: &[&str]) -> ApiResult<Option<String>> {
    match value {
        Some(v) if !allowed.contains(&v.as_str()) => Err(bad_query(name, &v, &allowed.join(", "))),
        v => Ok(v),
    }
}

fn time_filter(name: &str, value: Option<String>) -> ApiResult<Option<(TimeOp, i64)>> {
    let Some(text) = value else { return Ok(None) };
    let expected = "op:time with op gt, gte, lt, lte, eq or neq, such as gt:2018-10-28T10:00:00Z";
    let (op, time) = text
        .split_once(':')
        .ok_or_else(|| bad_query(name, &text, expected))?;
    let op = match op {
        "gt" => TimeOp::Gt,
        "gte" => TimeOp::Gte,
        "lt" => TimeOp::Lt,
        "lte" => TimeOp::Lte,
        "eq" => TimeOp::Eq,
        "neq" => TimeOp::Neq,
        _ => return Err(bad_query(name, &text, expected)),
    };
    let time = time.replacen(' ', "T", 1);
    let time = if time.ends_with('Z') {
        time
    } else {
        format!("{time}Z")
    };
    let secs =
        crate::store::model::parse_time(&time).map_err(|_| bad_query(name, &text, expected))?;
    Ok(Some((op, secs)))
}

fn positive(name: &str, value: Option<String>) -> ApiResult<Option<usize>> {
    match value {
        None => Ok(None),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if n >= 1 => Ok(Some(n)),
            _ => Err(bad_query(name, &v, "an integer of 1 or more")),
        },
    }
}

/// `GET /v1/cloudimages/tags` (`ListTags`,
/// <https://support.huaweicloud.com/intl/en-us/api-ims/ims_03_0613.html>):
/// 200 `{"tags":["key=value", "key", …]}`.
///
/// Scope: one project, as an IAM token is scoped to one project
/// ("Obtaining a User Token",
/// <https://support.huaweicloud.com/intl/en-us/api-iam/iam_30_0001.html>):
/// `X-Project-Id` when sent (it must be one of a known caller's projects,
/// else nothing is found), else a known caller's first project, else (an
/// unknown credential, lenient or off) the first project the fixtures'
/// accounts define. Only a fixture without accounts, where there is no
/// tenant to keep apart, lets an unknown credential see every project.
/// The filters scan only that project's images.
async fn list_tags(
    requester: Requester,
    ApiQuery(q): ApiQuery<ListTagsQuery>,
) -> ApiResult<Json<Value>> {
    let parsed = parse_image_query(q, '.')?;
    let scope = requester.scope()?;
    let tags = requester
        .state
        .store
        .list_tags_v1(scope.as_deref(), &parsed.page())
        .map_err(|marker| bad_marker(&marker))?;
    Ok(Json(json!({"tags": tags})))
}

/// 400 `IMG.0001` for a `marker` the query does not list.
pub(crate) fn bad_marker(marker: &str) -> ApiError {
    bad_query(
        "marker",
        marker,
        "the id of an image this query lists (the last image of the previous page)",
    )
}

/// An image query of the image list operations, validated.
#[derive(Debug)]
pub(crate) struct ImageQuery {
    /// Attribute filters.
    pub(crate) filter: ImageFilter,
    /// `tag`: (key, value).
    pub(crate) tag: Option<(String, String)>,
    /// `__isregistered`.
    pub(crate) registered: bool,
    /// `sort_key`.
    pub(crate) sort: ImageSort,
    /// `sort_dir=asc`.
    pub(crate) ascending: bool,
    /// `marker`.
    pub(crate) marker: Option<String>,
    /// `page` (from 1).
    pub(crate) page: usize,
    /// `limit`.
    pub(crate) limit: Option<usize>,
}

impl ImageQuery {
    /// The store's view of the query.
    pub(crate) fn page(&self) -> V1Page<'_> {
        V1Page {
            filter: &self.filter,
            tag: self.tag.as_ref().map(|(k, v)| (k.as_str(), v.as_str())),
            registered: self.registered,
            sort: self.sort,
            ascending: self.ascending,
            marker: self.marker.as_deref(),
            page: self.page,
            limit: self.limit,
        }
    }
}

/// `__isregistered`: whether the images listed are registered (default).
const IS_REGISTERED: Words<bool> =
    Words::new("__isregistered", true, &[("true", true), ("false", false)]);

/// `sort_key` (default `created_at`).
const SORT_KEY: Words<ImageSort> = Words::new(
    "sort_key",
    ImageSort::CreatedAt,
    &[
        ("created_at", ImageSort::CreatedAt),
        ("updated_at", ImageSort::UpdatedAt),
        ("name", ImageSort::Name),
        ("id", ImageSort::Id),
        ("status", ImageSort::Status),
        ("min_disk", ImageSort::MinDisk),
    ],
);

/// `sort_dir`: `asc` is true; `desc` (default) false.
const SORT_DIR: Words<bool> = Words::new("sort_dir", false, &[("asc", true), ("desc", false)]);

/// Validates the image query shared by `ListTags` (v1, `tag=key.value`:
/// `separator` `.`) and `ListImages` (v2, `tag=key=value`: `separator` `=`):
/// 400 `IMG.0001` naming the parameter otherwise.
pub(crate) fn parse_image_query(q: ListTagsQuery, separator: char) -> ApiResult<ImageQuery> {
    let tag = q.tag.map(|t| split_tag(&t, separator));
    let registered = IS_REGISTERED.parse(q.is_registered.as_deref(), bad_query)?;
    let sort = SORT_KEY.parse(q.sort_key.as_deref(), bad_query)?;
    let ascending = SORT_DIR.parse(q.sort_dir.as_deref(), bad_query)?;
    let filter = ImageFilter {
        image_type: one_of(
            "__imagetype",
            q.image_type,
            &["gold", "private", "shared", "market"],
        )?,
        id: q.id,
        status: one_of(
            "status",
            q.status,
            &["queued", "saving", "deleted", "killed", "active"],
        )?,
        name: q.name,
        min_disk: match q.min_disk {
            None => None,
            Some(v) => Some(
                v.parse()
                    .map_err(|_| bad_query("min_disk", &v, "an integer"))?,
            ),
        },
        platform: q.platform,
        os_type: one_of("__os_type", q.os_type, &["Linux", "Windows", "Other"])?,
        member_status: one_of(
            "member_status",
            q.member_status,
            &["accepted", "rejected", "pending"],
        )?,
        virtual_env_type: one_of(
            "virtual_env_type",
            q.virtual_env_type,
            &["FusionCompute", "Ironic", "DataImage", "IsoImage"],
        )?,
        enterprise_project_id: q.enterprise_project_id,
        architecture: one_of("architecture", q.architecture, &["x86", "arm"])?,
        created_at: time_filter("created_at", q.created_at)?,
        updated_at: time_filter("updated_at", q.updated_at)?,
    };
    let limit = positive("limit", q.limit)?;
    let page = positive("page", q.page)?.unwrap_or(1);
    Ok(ImageQuery {
        filter,
        tag,
        registered,
        sort,
        ascending,
        marker: q.marker,
        page,
        limit,
    })
}
