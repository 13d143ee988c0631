//! The emulated APIs: one router per API page, merged into one.
//!
//! IMS and SWR share a port. matchit gives a static segment (`/v2/manage/…`)
//! priority over a capture (`/v2/{project_id}/…`), so the routers stay
//! separate and could later be served per `Host`.

pub(crate) mod common;
pub(crate) mod iam;
pub(crate) mod ims;
pub(crate) mod registry;
pub(crate) mod swr;

use axum::Router;
use axum::http::StatusCode;

use crate::error::ApiError;
use crate::state::AppState;

/// All emulated API routes, each handler behind the gate
/// ([`crate::front::gated`]), with the gateway-style JSON 404 as the fallback
/// for unknown paths and for unknown methods on known paths (with `Allow`),
/// which fault rules reach too. Each API page's file declares its routes;
/// this is the one list of the pages.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .merge(iam::router())
        .merge(ims::tags::router())
        .merge(ims::search::router())
        .merge(ims::v1::router())
        .merge(ims::glance::router())
        .merge(ims::glance_images::router())
        .merge(ims::images::router())
        .merge(swr::tags::router())
        .merge(swr::namespaces::router())
        .merge(swr::repos::router())
        .merge(swr::secret::router())
        // The registry lives in the fallbacks: an exact API route wins.
        .fallback(registry::fallback)
        // After the merges: it applies to the routes present.
        .method_not_allowed_fallback(registry::method_fallback)
}

/// The emulated services' own admin routes, mounted under `/_mock` by the
/// control plane ([`crate::control::admin::router`]).
pub(crate) fn admin_routes() -> Router<AppState> {
    swr::admin::routes().merge(ims::admin::routes())
}

/// Answers paths that no route serves, as the API gateway does.
async fn not_found() -> ApiError {
    ApiError::route_not_found()
}

/// Answers a method a path does not serve as the API gateway does: 404
/// `APIGW.0101` "The API does not exist." ("The API request method does not
/// exist", APIG error codes,
/// <https://support.huaweicloud.com/intl/en-us/usermanual-apig/apig-ug-180530090.html>),
/// not 405. axum still adds `Allow`, a hint the gateway does not give.
async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "The API does not exist: the request method is not defined for this path.",
    )
    .in_service(crate::error::Service::Gateway)
    .with_code("APIGW.0101")
}
