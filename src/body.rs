//! Request bodies of the API routes: read whole, once, before anything else.
//!
//! A body is buffered under one total deadline (`--read-timeout`), not a
//! per-chunk one: a client trickling a byte at a time is cut off like a
//! silent one. A declared `Content-Length` over the limit is refused at once,
//! without waiting for the bytes. Both answers use the service's envelope:
//! 413 "Request entity too large" and 408 "Request timeout". Later layers
//! (strict signature checks, the JSON extractors) see a complete body.

use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{StatusCode, header};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Largest API request body.
pub const MAX_BODY: usize = 1 << 20;

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("Request entity too large: the body exceeds {MAX_BODY} bytes."),
    )
}

/// Buffers the body (see the module docs) and returns the request with the
/// whole body in memory.
pub async fn buffer(state: &AppState, request: Request) -> ApiResult<Request> {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return Err(too_large());
    }
    let chunked = request.headers().contains_key(header::TRANSFER_ENCODING);
    if declared.unwrap_or(0) == 0 && !chunked {
        return Ok(request);
    }
    let (parts, body) = request.into_parts();
    let deadline: Duration = state.body_read_timeout;
    let bytes = match tokio::time::timeout(deadline, axum::body::to_bytes(body, MAX_BODY)).await {
        Err(_) => {
            return Err(ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "Request timeout: the body did not arrive within {} s.",
                    deadline.as_secs_f64()
                ),
            ));
        }
        Ok(Err(e)) => {
            let limit = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
                || e.to_string().contains("length limit");
            return Err(if limit {
                too_large()
            } else {
                ApiError::bad_request(format!("The request body could not be read: {e}"))
            });
        }
        Ok(Ok(bytes)) => bytes,
    };
    Ok(Request::from_parts(parts, Body::from(bytes)))
}
