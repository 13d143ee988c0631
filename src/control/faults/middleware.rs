//! The fault layer: runs after routing (so templates can be matched), outside
//! authentication (so it can inject 401s and 403s), and records what it did
//! on the response for the journal.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use percent_encoding::percent_decode_str;

use super::{AppliedFault, ConnectionFault, Decision, RequestFacts};
use crate::control::journal::Recording;
use crate::error::{ApiError, Service};
use crate::http::conn::ConnHandle;

/// Applies the first rule that matches and fires; `next` answers the request
/// when no rule stops it (called by the API routes' gate, [`crate::front::gate`]).
pub(crate) async fn inject<F, Fut>(faults: &super::Faults, request: Request, next: F) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Response>,
{
    if faults.is_empty() {
        return next(request).await;
    }
    let decision = {
        let raw = request.uri().path();
        let decoded = percent_decode_str(raw).decode_utf8_lossy();
        let query: Vec<(String, String)> =
            form_urlencoded::parse(request.uri().query().unwrap_or("").as_bytes())
                .into_owned()
                .collect();
        faults.decide(&RequestFacts {
            method: request.method().as_str(),
            paths: [raw, &decoded],
            query: &query,
            headers: request.headers(),
        })
    };
    let Some(Decision { rule, delay }) = decision else {
        return next(request).await;
    };
    let id = rule.id.unwrap_or_default();
    let action = match (rule.status, rule.fault) {
        (Some(_), _) => "status",
        (None, Some(ConnectionFault::Malformed)) => "malformed",
        (None, Some(ConnectionFault::Reset)) => "reset",
        (None, Some(ConnectionFault::Empty)) => "empty",
        (None, None) => "delay",
    };
    // Noted before waiting, so a request abandoned during the delay still shows it.
    if let Some(recording) = request.extensions().get::<Recording>() {
        recording.note_fault(AppliedFault {
            rule: id,
            action,
            delay_ms: delay
                .as_ref()
                .map(Duration::as_millis)
                .map(|ms| u64::try_from(ms).unwrap_or(u64::MAX)),
        });
    }
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    let mut response = match (rule.status, rule.fault) {
        (Some(status), _) => injected_error(&rule, status).into_response(),
        (None, Some(ConnectionFault::Malformed)) => malformed(next(request).await).await,
        (None, Some(fault)) => {
            match request.extensions().get::<ConnectInfo<ConnHandle>>() {
                Some(ConnectInfo(conn)) => conn.break_with(fault),
                None => tracing::warn!(
                    "fault rule {id}: no connection to break (not served by ims_swr_mock::http::serve)"
                ),
            }
            // Never sent: the connection breaks on the first write.
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
        (None, None) => next(request).await,
    };
    if let Some(seconds) = rule
        .retry_after
        .or(Some(1))
        .filter(|_| matches!(rule.status, Some(429 | 503)))
    {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// The injected error: 401 and 429 in the gateway's envelope, other statuses
/// in the envelope of the service that owns the path; default code and
/// message unless the rule overrides them.
fn injected_error(rule: &super::FaultRule, status: u16) -> ApiError {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let message = rule.error_msg.clone().unwrap_or_else(|| {
        format!(
            "{} (injected by fault rule {})",
            status.canonical_reason().unwrap_or("Error"),
            rule.id.unwrap_or_default()
        )
    });
    let mut error = ApiError::new(status, message);
    if let Some(code) = &rule.error_code {
        error = error.with_code(code.clone());
    }
    if matches!(status.as_u16(), 401 | 429) {
        error = error.in_service(Service::Gateway);
    }
    error
}

/// The real answer as a 200 whose body is cut short, so it is not valid JSON.
async fn malformed(real: Response) -> Response {
    let (mut parts, body) = real.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let cut = match bytes.len() {
        0 | 1 => bytes::Bytes::from_static(b"{\"tags\":["),
        n => bytes.slice(..n / 2),
    };
    parts.status = StatusCode::OK;
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.extensions.remove::<ApiError>();
    Response::from_parts(parts, Body::from(cut))
}
