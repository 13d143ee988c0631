//! IMS (Image Management Service) APIs, one file per API page.
//!
//! - [`tags`]: `ListImagesTags`, `GET /v2/{project_id}/images/tags`, and the
//!   v2 image tag writes.
//! - [`search`]: `ListImageByTags`, `POST /v2/{project_id}/images/resource_instances/action`.
//! - [`v1`]: the v1 (`/v1/cloudimages/…`) tag APIs.
//! - [`glance`]: the OpenStack Image v2 tag routes (`/v2/images/{image_id}/tags/{tag}`).

pub(crate) mod glance;
pub(crate) mod search;
pub(crate) mod tags;
pub(crate) mod v1;

use axum::Router;

use crate::state::AppState;

/// Every IMS route.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .merge(tags::router())
        .merge(search::router())
        .merge(v1::router())
        .merge(glance::router())
}
