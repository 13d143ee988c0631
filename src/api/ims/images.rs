//! IMS images (extension API): list images and update an image's name and
//! description.
//!
//! - `GET /v2/cloudimages` (`ListImages`), "Querying Images",
//!   <https://support.huaweicloud.com/intl/en-us/api-ims/ims_03_0602.html>.
//! - `PATCH /v2/cloudimages/{image_id}` (`UpdateImage`), "Updating Image
//!   Information", <https://support.huaweicloud.com/intl/en-us/api-ims/ims_03_0604.html>.
//!
//! `ListImages` takes the filters of the v1 `ListTags` (same parsing, same
//! scope: the caller's project) plus `visibility`; its `tag` is `key=value`
//! (a bare `key` matches a key-only tag). Images are sorted by `sort_key`
//! (`created_at` by default) and `sort_dir` (`desc` by default) and paged
//! with `marker` (the last image id of the previous page) and `limit`.
//! Every image field is read from the same store records the tag APIs
//! change, so a tag added shows at once in `tags` and in the `tag` filter.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::v1::{ListTagsQuery, bad_marker, bad_query, parse_image_query};
use crate::api::common::{Requester, Words};
use crate::error::ApiResult;
use crate::front::gated;
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;
use crate::store::Image;
use crate::store::images::ImagePatch;
use crate::store::model::format_time;

/// Images per `ListImages` page when `limit` is absent (no page states a
/// default for the extension API: the emulator's choice).
pub(crate) const DEFAULT_LIST_LIMIT: usize = 500;

/// Longest image name (`UpdateImage`: 1-128 characters).
pub(crate) const MAX_NAME_CHARS: usize = 128;

/// Longest description.
pub(crate) const MAX_DESCRIPTION_CHARS: usize = 1024;

/// IMS image routes.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/v2/cloudimages", get(gated(list_images)))
        .route("/v2/cloudimages/{image_id}", patch(gated(update_image)))
}

/// `visibility` of an image, from its `__imagetype`.
pub(crate) fn visibility(image: &Image) -> &'static str {
    match &*image.image_type {
        "gold" | "market" => "public",
        "shared" => "shared",
        _ => "private",
    }
}

/// An image's tags as the image APIs list them: `key=value`, or `key` for
/// a key-only tag (the form `ListTags` answers and Glance tags take).
pub(crate) fn tag_strings(image: &Image) -> Vec<String> {
    image
        .tags
        .iter()
        .map(|(k, v)| {
            if v.is_empty() {
                k.to_string()
            } else {
                format!("{k}={v}")
            }
        })
        .collect()
}

/// An image as `ListImages`, `UpdateImage` and the Glance image routes
/// describe it (the fields of the pages' examples that the store knows;
/// the rest are fixed plausible values).
#[derive(Debug, Serialize)]
pub(crate) struct ImageBody<'a> {
    #[serde(rename = "__imagetype")]
    imagetype: &'a str,
    #[serde(rename = "__platform")]
    platform: &'a str,
    #[serde(rename = "__os_type")]
    os_type: &'a str,
    #[serde(rename = "__os_bit")]
    os_bit: &'static str,
    #[serde(rename = "__isregistered")]
    isregistered: &'static str,
    #[serde(rename = "__description")]
    description: &'a str,
    #[serde(rename = "__image_source_type")]
    image_source_type: &'static str,
    #[serde(rename = "__support_arm", skip_serializing_if = "Option::is_none")]
    support_arm: Option<&'static str>,
    checksum: &'static str,
    container_format: &'static str,
    disk_format: &'static str,
    created_at: String,
    updated_at: String,
    enterprise_project_id: &'a str,
    file: String,
    id: &'a str,
    min_disk: i64,
    min_ram: i64,
    name: &'a str,
    owner: &'a str,
    protected: bool,
    schema: &'static str,
    #[serde(rename = "self")]
    self_link: String,
    size: i64,
    status: &'a str,
    tags: Vec<String>,
    virtual_env_type: &'a str,
    virtual_size: i64,
    visibility: &'static str,
}

impl<'a> ImageBody<'a> {
    /// `owner` is the project that holds the image.
    pub(crate) fn new(image: &'a Image, owner: &'a str) -> Self {
        Self {
            imagetype: &image.image_type,
            platform: &image.platform,
            os_type: &image.os_type,
            os_bit: "64",
            isregistered: "true",
            description: &image.description,
            image_source_type: "uds",
            support_arm: (&*image.architecture == "arm").then_some("true"),
            checksum: "d41d8cd98f00b204e9800998ecf8427e",
            container_format: "bare",
            disk_format: "zvhd2",
            created_at: format_time(image.created_at),
            updated_at: format_time(image.updated_at),
            enterprise_project_id: &image.enterprise_project_id,
            file: format!("/v2/images/{}/file", image.id),
            id: &image.id,
            min_disk: image.min_disk,
            min_ram: 0,
            name: &image.name,
            owner,
            protected: &*image.image_type == "gold",
            schema: "/v2/schemas/image",
            self_link: format!("/v2/images/{}", image.id),
            size: 2,
            status: &image.status,
            tags: tag_strings(image),
            virtual_env_type: &image.virtual_env_type,
            virtual_size: 0,
            visibility: visibility(image),
        }
    }
}

/// The parameters `ListImages` has beyond the v1 `ListTags` query.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ExtraQuery {
    /// `public`, `private` or `shared`.
    pub(crate) visibility: Option<String>,
}

/// `visibility` of the Glance image list.
const VISIBILITY: Words<()> = Words::new(
    "visibility",
    (),
    &[("public", ()), ("private", ()), ("shared", ())],
);

impl ExtraQuery {
    /// 400 `IMG.0001` for a `visibility` outside `public`, `private`, `shared`.
    pub(crate) fn check(&self) -> ApiResult<()> {
        VISIBILITY.parse(self.visibility.as_deref(), bad_query)
    }
}

/// A page of images with each one's project, the page size used, and
/// whether more follow.
pub(crate) type Selection = (Vec<(Image, std::sync::Arc<str>)>, Option<usize>, bool);

/// An image list request (`ListImages`, `GlanceListImages`): who asks, the
/// v1 `ListTags` query and the parameters beyond it, extracted in that order.
#[derive(Debug)]
pub(crate) struct ImageList {
    /// Who asks, for the scope.
    requester: Requester,
    /// The filters, sort and paging of the v1 `ListTags`.
    query: ListTagsQuery,
    /// `visibility`.
    extra: ExtraQuery,
}

impl FromRequestParts<AppState> for ImageList {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let requester = Requester::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let ApiQuery(query) = ApiQuery::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let ApiQuery(extra) = ApiQuery::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Self {
            requester,
            query,
            extra,
        })
    }
}

impl ImageList {
    /// The images the query selects, with each one's project, the page size
    /// (`limit`, else `default_limit`), and whether more follow.
    pub(crate) fn select(self, default_limit: usize) -> ApiResult<Selection> {
        let Self {
            requester,
            query,
            extra,
        } = self;
        extra.check()?;
        let mut parsed = parse_image_query(query, '=')?;
        parsed.limit = Some(parsed.limit.unwrap_or(default_limit));
        let scope = requester.scope()?;
        let store = &requester.state.store;
        let (images, more) = store
            .list_images(scope.as_deref(), &parsed.page(), |i| {
                extra
                    .visibility
                    .as_deref()
                    .is_none_or(|v| visibility(i) == v)
            })
            .map_err(|m| bad_marker(&m))?;
        let images = images
            .into_iter()
            .map(|i| {
                let project = store.image_project(&i.id).unwrap_or_else(|| "".into());
                (i, project)
            })
            .collect();
        Ok((images, parsed.limit, more))
    }
}

/// `GET /v2/cloudimages` (`ListImages`): 200 `{"images":[…]}`; 400
/// `IMG.0001` naming a bad parameter or a `marker` the query does not list.
async fn list_images(list: ImageList) -> ApiResult<Response> {
    let (images, _, _) = list.select(DEFAULT_LIST_LIMIT)?;
    let body: Vec<ImageBody<'_>> = images
        .iter()
        .map(|(i, owner)| ImageBody::new(i, owner))
        .collect();
    Ok(Json(serde_json::json!({ "images": body })).into_response())
}

/// `{image_id}`.
#[derive(Debug, Deserialize)]
pub(crate) struct ImagePath {
    pub(crate) image_id: String,
}

/// One JSON Patch operation of `UpdateImage`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchOp {
    /// `replace`, `add` or `remove`.
    op: String,
    /// `/name` or `/__description`.
    path: String,
    /// The new value (not with `remove`).
    value: Option<String>,
}

/// `PATCH /v2/cloudimages/{image_id}` (`UpdateImage`): a JSON Patch array
/// changing `/name` (`replace`, 1-128 characters) and `/__description`
/// (`replace`/`add`, or `remove`); 200 with the image. 400 `IMG.0001` for
/// another path or op, or a bad value; 400 `IMG.0027` for an image the
/// caller cannot see.
async fn update_image(
    requester: Requester,
    ApiPath(path): ApiPath<ImagePath>,
    ApiJson(ops): ApiJson<Vec<PatchOp>>,
) -> ApiResult<Response> {
    let mut patch = ImagePatch::default();
    if ops.is_empty() {
        return Err(bad_query(
            "body",
            "[]",
            "at least one {\"op\",\"path\",\"value\"}",
        ));
    }
    for op in ops {
        match (op.op.as_str(), op.path.as_str(), op.value) {
            ("replace", "/name", Some(name)) => {
                let n = name.chars().count();
                if n == 0 || n > MAX_NAME_CHARS || name.trim() != name {
                    return Err(bad_query(
                        "name",
                        &name,
                        "1 to 128 characters, no space at either end",
                    ));
                }
                patch.name = Some(name);
            }
            ("replace" | "add", "/__description", Some(d)) => {
                if d.chars().count() > MAX_DESCRIPTION_CHARS {
                    return Err(bad_query(
                        "__description",
                        &format!("{} characters", d.chars().count()),
                        "at most 1024 characters",
                    ));
                }
                patch.description = Some(d);
            }
            ("remove", "/__description", _) => patch.description = Some(String::new()),
            (op, p, _) => {
                return Err(bad_query(
                    "op/path",
                    &format!("{op} {p}"),
                    "replace /name, or replace, add or remove /__description (with a string value where needed)",
                ));
            }
        }
    }
    let project = requester.visible_project(&path.image_id)?;
    let image = requester
        .state
        .store
        .update_image(&project, &path.image_id, &patch)?;
    Ok(Json(ImageBody::new(&image, &project)).into_response())
}
