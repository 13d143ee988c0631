//! IMS native OpenStack (Glance v2) image tags.
//!
//! - `PUT /v2/images/{image_id}/tags/{tag}` (`GlanceCreateTag`), "Adding a
//!   Tag (Native OpenStack API)",
//!   <https://support.huaweicloud.com/intl/en-us/api-ims/ims_03_0712.html>.
//! - `DELETE /v2/images/{image_id}/tags/{tag}` (`GlanceDeleteTag`),
//!   <https://support.huaweicloud.com/intl/en-us/api-ims/ims_03_0713.html>.
//!
//! A Glance tag is an IMS tag key with an empty value ("This API can only be
//! used to add a tag key"). Adding a key the image already has changes
//! nothing (Glance semantics); deleting removes the key whatever its value,
//! and 404s if it is not there. The "Format (Native OpenStack)" part of
//! "Image Tag Format"
//! (<https://support.huaweicloud.com/intl/en-us/api-ims/ims_03_0902.html>)
//! allows up to 255 characters without `=`; since the tag becomes an IMS tag
//! key, the stricter IMS key rules (1-128 characters of the key set, which
//! has no `=`) apply too, so that every stored tag reads back through the
//! IMS operations and survives a state export and import. No project in the
//! path: the image is found among the caller's projects.

use axum::Router;
use axum::http::StatusCode;
use axum::routing::put;
use serde::Deserialize;

use super::tags::check_new_tag;
use crate::api::common::Requester;
use crate::error::ApiResult;
use crate::front::gated;
use crate::http::extract::ApiPath;
use crate::state::AppState;
use crate::store::ims::{ImsError, remove_key};

/// Glance tag routes.
pub(crate) fn router() -> Router<AppState> {
    Router::new().route(
        "/v2/images/{image_id}/tags/{tag}",
        put(gated(glance_create_tag)).delete(gated(glance_delete_tag)),
    )
}

/// `{image_id}` and `{tag}`.
#[derive(Debug, Deserialize)]
struct GlancePath {
    image_id: String,
    tag: String,
}

/// The Glance page's rules (no `=`, at most 255 characters) and the IMS key
/// rules; 400 `IMG.0115` otherwise.
fn check_glance_tag(tag: &str) -> Result<(), ImsError> {
    if tag.contains('=') || tag.chars().count() > 255 {
        return Err(ImsError::InvalidTag(format!(
            "tag {tag:?} must be at most 255 characters without ="
        )));
    }
    check_new_tag(tag, "")
}

/// `PUT /v2/images/{image_id}/tags/{tag}`: 204.
async fn glance_create_tag(
    requester: Requester,
    ApiPath(path): ApiPath<GlancePath>,
) -> ApiResult<StatusCode> {
    check_glance_tag(&path.tag)?;
    let project = requester.visible_project(&path.image_id)?;
    requester
        .state
        .store
        .edit_image_tags(&project, &path.image_id, |tags| {
            if !tags.iter().any(|(k, _)| **k == *path.tag) {
                tags.push((path.tag.as_str().into(), "".into()));
            }
            Ok(())
        })?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /v2/images/{image_id}/tags/{tag}`: 204; 404 `IMG.0121` if the
/// image has no such key.
async fn glance_delete_tag(
    requester: Requester,
    ApiPath(path): ApiPath<GlancePath>,
) -> ApiResult<StatusCode> {
    let project = requester.visible_project(&path.image_id)?;
    let (image, key) = (path.image_id, path.tag);
    requester
        .state
        .store
        .edit_image_tags(&project, &image, |tags| remove_key(tags, &image, &key))?;
    Ok(StatusCode::NO_CONTENT)
}
