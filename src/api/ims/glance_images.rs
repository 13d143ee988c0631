//! IMS native OpenStack (Glance v2) image reads.
//!
//! - `GET /v2/images/{image_id}` (`GlanceShowImage`), "Querying Image
//!   Details (Native OpenStack API)",
//!   <https://support.huaweicloud.com/intl/en-us/api-ims/ims_03_0702.html>.
//! - `GET /v2/images` (`GlanceListImages`), "Querying Images (Native
//!   OpenStack API)", <https://support.huaweicloud.com/intl/en-us/api-ims/ims_03_0701.html>.
//!
//! An image's `tags` array is the same list the Glance tag routes
//! ([`super::glance`]) change: a Glance tag is a key-only IMS tag and reads
//! back as the bare key; a `key=value` IMS tag reads back as `key=value`.
//! The list's `tag` filter takes the same strings. Paging: `limit` (25 by
//! default, Glance's) and `marker` (the last image id of the previous page);
//! `next` links to the following page while more images follow.

use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use super::images::{ImageBody, ImageList, ImagePath};
use crate::api::common::Requester;
use crate::error::ApiResult;
use crate::front::gated;
use crate::http::extract::ApiPath;
use crate::state::AppState;

/// Images per `GlanceListImages` page when `limit` is absent (OpenStack
/// Glance's default).
pub(crate) const DEFAULT_GLANCE_LIMIT: usize = 25;

/// Glance image routes (the tag routes are in [`super::glance`]).
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/v2/images", get(gated(glance_list_images)))
        .route("/v2/images/{image_id}", get(gated(glance_show_image)))
}

/// `GET /v2/images/{image_id}` (`GlanceShowImage`): 200 with the image; 400
/// `IMG.0027` for an image the caller cannot see (as the Glance tag routes).
async fn glance_show_image(
    requester: Requester,
    ApiPath(path): ApiPath<ImagePath>,
) -> ApiResult<Response> {
    let project = requester.visible_project(&path.image_id)?;
    let image = requester.state.store.image(&project, &path.image_id)?;
    Ok(Json(ImageBody::new(&image, &project)).into_response())
}

/// `GlanceListImages`' answer.
#[derive(Debug, Serialize)]
struct ListBody<'a> {
    images: Vec<ImageBody<'a>>,
    first: String,
    schema: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

/// `GET /v2/images` (`GlanceListImages`): 200 `{"images","first","schema"
/// [,"next"]}`; 400 `IMG.0001` naming a bad parameter or an unknown marker.
async fn glance_list_images(list: ImageList) -> ApiResult<Response> {
    let (images, limit, more) = list.select(DEFAULT_GLANCE_LIMIT)?;
    let limit = limit.unwrap_or(DEFAULT_GLANCE_LIMIT);
    let next = more
        .then(|| images.last())
        .flatten()
        .map(|(i, _)| format!("/v2/images?limit={limit}&marker={}", i.id));
    let body = ListBody {
        images: images
            .iter()
            .map(|(i, owner)| ImageBody::new(i, owner))
            .collect(),
        first: format!("/v2/images?limit={limit}"),
        schema: "/v2/schemas/images",
        next,
    };
    Ok(Json(body).into_response())
}
