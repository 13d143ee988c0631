//! One error type, rendered in one place, in each service's own envelope.
//!
//! Handlers, extractor rejections, the 404 fallback and bare error responses
//! from axum or tower all end up as an [`ApiError`]. [`ApiError::into_response`]
//! only records the error on the response; [`render`], called by the front
//! of the stack ([`crate::front`]), which knows the request path and the
//! request id, writes the body in the envelope of the service that owns the
//! path:
//!
//! | service | envelope | source |
//! |---|---|---|
//! | IMS | `{"error":{"code":"IMG.0067","message":"…"}}` | <https://support.huaweicloud.com/intl/en-us/api-ims/ims_03_0908.html> |
//! | SWR | `{"errors":[{"errorCode","errorMessage","detail"}],"error_code","error_msg","details":[…]}` | <https://support.huaweicloud.com/intl/en-us/api-swr/ErrorCode.html> |
//! | API gateway | `{"error_code":"APIGW.0101","error_msg":"…","request_id":"…"}` | <https://support.huaweicloud.com/intl/en-us/devg-apisign/api-sign-errorcode.html> |
//!
//! The official Python SDK reads the first of `error_code`/`error_msg`,
//! `errorCode`/`errorMsg` or `code`/`message` it finds, at the top level or one
//! level down; the Node SDK reads top-level `error_code`/`error_msg` or
//! `error.code`/`error.message`. Every envelope above satisfies both.

use std::borrow::Cow;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The service whose native error format a response uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// Image Management Service.
    Ims,
    /// SoftWare Repository for Container.
    Swr,
    /// The API gateway (APIG) in front of both: unknown routes, authentication.
    Gateway,
}

impl Service {
    /// The service that owns a request path.
    pub(crate) fn for_path(path: &str) -> Self {
        let mut segments = path.trim_start_matches('/').split('/');
        match (segments.next(), segments.next(), segments.next()) {
            (Some("v2" | "v3"), Some("manage"), _) => Service::Swr,
            (Some("v1"), Some("cloudimages"), _)
            | (Some("v2"), Some("images" | "cloudimages"), _) => Service::Ims,
            (Some("v1"), Some(_), Some("cloudimages")) | (Some("v2"), Some(_), Some("images")) => {
                Service::Ims
            }
            _ => Service::Gateway,
        }
    }

    /// The code used when an error gives none: the closest documented code for
    /// the status in this service's error table.
    fn default_code(self, status: StatusCode) -> &'static str {
        match (self, status.as_u16()) {
            (Service::Ims, 403) => "IMG.0026",
            (Service::Ims, 500..) => "IMG.0061",
            (Service::Ims, _) => "IMG.0001",
            (Service::Swr, 401) => "SVCSTG.SWR.4010000",
            (Service::Swr, 403) => "SVCSTG.SWR.4030170",
            (Service::Swr, 404) => "SVCSTG.SWR.4040083",
            (Service::Swr, 409) => "SVCSTG.SWR.4090006",
            (Service::Swr, 413) => "SVCSTG.SWR.4131001",
            (Service::Swr, 500..) => "SVCSTG.SWR.5000008",
            (Service::Swr, _) => "SVCSTG.SWR.4000014",
            (Service::Gateway, 401) => "APIGW.0301",
            (Service::Gateway, 403) => "APIGW.0306",
            (Service::Gateway, 404 | 405) => "APIGW.0101",
            (Service::Gateway, 429) => "APIGW.0308",
            (Service::Gateway, 503) => "APIGW.0613",
            (Service::Gateway, 500..) => "APIGW.0601",
            (Service::Gateway, _) => "APIGW.0201",
        }
    }
}

/// An error answer: status, code and message, rendered in the envelope of the service that owns the path (in one place, `render`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {}: {message}", code.as_deref().unwrap_or("-"))]
pub struct ApiError {
    status: StatusCode,
    code: Option<Cow<'static, str>>,
    message: Cow<'static, str>,
    service: Option<Service>,
    /// One extra top-level field of the body, such as signature diagnostics.
    extra: Option<Box<(&'static str, serde_json::Value)>>,
}

/// Result type of handlers.
pub(crate) type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// An error in the envelope of the service that owns the request path,
    /// with that service's default code for `status`.
    pub fn new(status: StatusCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            status,
            code: None,
            message: message.into(),
            service: None,
            extra: None,
        }
    }

    /// Adds a top-level field to the body.
    pub(crate) fn with_extra(mut self, key: &'static str, value: serde_json::Value) -> Self {
        self.extra = Some(Box::new((key, value)));
        self
    }

    /// Sets the error code.
    #[must_use]
    pub fn with_code(mut self, code: impl Into<Cow<'static, str>>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// Renders in `service`'s envelope whatever the path.
    #[must_use]
    pub fn in_service(mut self, service: Service) -> Self {
        self.service = Some(service);
        self
    }

    /// A 400 with the path's service's generic "invalid parameter" code.
    pub fn bad_request(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// An SWR error with `code` from the SWR error-code table; the status is
    /// the code's first three digits (`SVCSTG.SWR.4040058` is a 404), so the
    /// two cannot disagree.
    pub(crate) fn swr(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        let status = code
            .strip_prefix("SVCSTG.SWR.")
            .and_then(|digits| digits.get(..3)?.parse().ok())
            .and_then(|n| StatusCode::from_u16(n).ok())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        Self::new(status, message).with_code(code)
    }

    /// 404 for a path no route serves: the gateway's `APIGW.0101`.
    pub fn route_not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "The API does not exist or has not been published in the environment.",
        )
        .in_service(Service::Gateway)
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The error code, when one was set explicitly.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The JSON body in the envelope of `service` (or this error's own service).
    pub fn body(&self, path_service: Service, request_id: Option<&str>) -> serde_json::Value {
        let service = self.service.unwrap_or(path_service);
        let code = self
            .code
            .as_deref()
            .unwrap_or_else(|| service.default_code(self.status));
        let msg = &*self.message;
        let mut body = match service {
            Service::Ims => json!({"error": {"code": code, "message": msg}}),
            Service::Swr => json!({
                "errors": [{"errorCode": code, "errorMessage": msg, "detail": ""}],
                "error_code": code,
                "error_msg": msg,
                "details": [{"error_code": code, "error_msg": msg}],
            }),
            Service::Gateway => json!({
                "error_code": code,
                "error_msg": msg,
                "request_id": request_id.unwrap_or_default(),
            }),
        };
        if let (Some(extra), Some(map)) = (&self.extra, body.as_object_mut()) {
            map.insert(extra.0.to_owned(), extra.1.clone());
        }
        body
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = self.status.into_response();
        response.extensions_mut().insert(self);
        response
    }
}

/// Writes an error response's body in the envelope of `service` (the one
/// that owns the request path); other responses pass through untouched.
///
/// Errors raised as [`ApiError`] carry their own status, code and message.
/// Bare error responses made elsewhere (axum's 405, tower's timeouts) have no
/// content type; they get the default code for their status.
pub(crate) async fn render(service: Service, request_id: &str, mut response: Response) -> Response {
    if response.status().is_success() {
        return response;
    }
    let error = match response.extensions_mut().remove::<ApiError>() {
        Some(error) => error,
        None if is_bare_error(&response) => {
            let status = response.status();
            let reason = status.canonical_reason().unwrap_or("Error");
            // axum's own rejections say what went wrong in plain text: keep it.
            let body = std::mem::take(response.body_mut());
            let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
            let text = String::from_utf8_lossy(&text);
            let message = if status == StatusCode::METHOD_NOT_ALLOWED {
                "The API does not exist: the method is not allowed on this path.".to_owned()
            } else if text.trim().is_empty() {
                format!("{reason}.")
            } else {
                format!("{reason}: {}", text.trim())
            };
            let gateway = matches!(status.as_u16(), 404 | 405);
            let error = ApiError::new(status, message);
            if gateway {
                error.in_service(Service::Gateway)
            } else {
                error
            }
        }
        None => return response,
    };
    let body = error.body(service, Some(request_id)).to_string();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=UTF-8"),
    );
    headers.remove(header::CONTENT_LENGTH);
    *response.body_mut() = Body::from(body);
    response
}

/// An error response not made by [`ApiError`]: no content type, or plain text.
fn is_bare_error(response: &Response) -> bool {
    let status = response.status();
    let plain = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_none_or(|t| t.as_bytes().starts_with(b"text/plain"));
    (status.is_client_error() || status.is_server_error()) && plain
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_the_services_that_own_them() {
        assert_eq!(Service::for_path("/v2/abc/images/tags"), Service::Ims);
        assert_eq!(Service::for_path("/v1/cloudimages/tags"), Service::Ims);
        assert_eq!(Service::for_path("/v2/images/x/tags/y"), Service::Ims);
        assert_eq!(
            Service::for_path("/v1/p/cloudimages/i/tags/delete"),
            Service::Ims
        );
        assert_eq!(
            Service::for_path("/v2/manage/namespaces/n/repos/r/tags"),
            Service::Swr
        );
        assert_eq!(
            Service::for_path("/v3/manage/namespaces/n/repos/r/tags"),
            Service::Swr
        );
        assert_eq!(Service::for_path("/"), Service::Gateway);
        assert_eq!(Service::for_path("/v3/projects"), Service::Gateway);
    }

    #[test]
    fn each_envelope_carries_code_and_message_where_the_sdks_look() {
        let e = ApiError::bad_request("bad").with_code("X.1");
        assert_eq!(
            e.body(Service::Ims, None),
            json!({"error": {"code": "X.1", "message": "bad"}})
        );
        let swr = e.body(Service::Swr, None);
        assert_eq!(
            (swr["error_code"].as_str(), swr["error_msg"].as_str()),
            (Some("X.1"), Some("bad"))
        );
        assert_eq!(swr["errors"][0]["errorCode"], "X.1");
        let id = "0123456789abcdef0123456789abcdef";
        let gw = ApiError::route_not_found().body(Service::Swr, Some(id));
        assert_eq!(gw["error_code"], "APIGW.0101");
        assert_eq!(gw["request_id"], id);
    }

    #[test]
    fn an_swr_error_takes_its_status_from_its_code() {
        for (code, status) in [
            ("SVCSTG.SWR.4000014", 400),
            ("SVCSTG.SWR.4040058", 404),
            ("SVCSTG.SWR.4060012", 406),
            ("SVCSTG.SWR.4090006", 409),
        ] {
            let e = ApiError::swr(code, "m");
            assert_eq!((e.status().as_u16(), e.code()), (status, Some(code)));
        }
        assert_eq!(ApiError::swr("IMG.0001", "m").status().as_u16(), 500);
    }
}
