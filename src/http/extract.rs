//! Extractors whose rejections are [`ApiError`]s, so a malformed path or query
//! gets a 400 in the service's own envelope instead of axum's plain text.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};

use crate::error::ApiError;

/// `axum::extract::Path` with a native-envelope rejection.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub(crate) struct ApiPath<T>(pub T);

/// `axum::extract::Query` with a native-envelope rejection. Duplicate keys of
/// a struct field are rejected too.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub(crate) struct ApiQuery<T>(pub T);

/// `axum::Json` with a native-envelope rejection: 400 for a body that is not
/// JSON, does not fit the type (a wrong JSON type, a missing required field,
/// or an unknown field where the type denies them), or comes without a JSON
/// `Content-Type`. The content type is checked: `application/json`, with
/// parameters (`application/json;charset=utf-8`, as the SDKs send it) or a
/// `+json` subtype, passes; a missing or other one is refused, as the common
/// request headers of "Making an API Request" in the IMS and SWR API
/// references (<https://support.huaweicloud.com/intl/en-us/api-ims/>) list
/// `Content-Type` as mandatory for a body.
/// Unknown fields and wrong types: no page decides; the emulator refuses
/// them (CONFORMANCE.md marks this "not documented").
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub(crate) struct ApiJson<T>(pub T);

impl From<JsonRejection> for ApiError {
    /// 413 for a body over the limit, 400 for anything else.
    fn from(rejection: JsonRejection) -> Self {
        let text = rejection.body_text();
        if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                format!("Request entity too large: {text}"),
            )
        } else {
            ApiError::bad_request(format!("Invalid request body: {text}"))
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::bad_request(format!("Invalid path: {}", rejection.body_text()))
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::bad_request(format!("Invalid query: {}", rejection.body_text()))
    }
}
