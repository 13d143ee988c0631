//! Request bodies, read whole, once, before anything else, by one reader for
//! every door: the API routes (1 MiB) and the admin routes
//! (`--max-admin-body-bytes`), over HTTP/1.1 and HTTP/2 alike.
//!
//! - Whether there is a body at all is the body's own business
//!   (`HttpBody::is_end_stream`), not the headers': an HTTP/2 request
//!   streams its body with neither `Content-Length` nor `Transfer-Encoding`.
//! - A body whose declared size (`Content-Length`, or the size hint an
//!   HTTP/2 `content-length` gives) is over the limit is refused at once,
//!   without waiting for the bytes; any other body is counted as it arrives
//!   and refused at the first byte over the limit, whatever its framing.
//! - The whole body must arrive within one total deadline (`--read-timeout`),
//!   not a per-chunk one: a client trickling a byte at a time is cut off like
//!   a silent one.
//!
//! Answers: 413 "Request entity too large" and 408 "Request timeout", in the
//! envelope of the service that owns the path (admin: `MOCK.0413` and
//! `MOCK.0408` in the gateway envelope), with `X-Request-Id`. Later layers
//! (strict signature checks, the JSON extractors, the admin handlers) see a
//! complete body, and the journal records its real size.

use std::time::Duration;

use axum::body::{Body, HttpBody as _};
use axum::extract::Request;
use axum::http::{StatusCode, header};

use crate::error::{ApiError, ApiResult};

/// Largest API request body.
pub const MAX_BODY: usize = 1 << 20;

/// Default largest admin request body (`--max-admin-body-bytes`): 64 MiB.
/// An export of a 100,000-tag store (`generate-fixture --tags 100000
/// --project p --images 1000`) is 33.7 MB; the default state is 4 KB.
pub const DEFAULT_MAX_ADMIN_BODY: usize = 64 << 20;

/// The limits a body is read under, set at start.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyLimits {
    /// Total time a client may take to send a request body.
    pub(crate) read_timeout: Duration,
    /// Largest admin request body, in bytes (`--max-admin-body-bytes`).
    pub(crate) max_admin: usize,
}

/// Which door a body comes through: it decides the limit and the error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Door {
    /// The emulated APIs ([`MAX_BODY`]).
    Api,
    /// The admin API under `/_mock` (the server's admin body limit).
    Admin,
}

impl Door {
    fn limit(self, limits: BodyLimits) -> usize {
        match self {
            Door::Api => MAX_BODY,
            Door::Admin => limits.max_admin,
        }
    }

    fn error(self, status: StatusCode, message: String) -> ApiError {
        let error = ApiError::new(status, message);
        match (self, status.as_u16()) {
            (Door::Api, _) => error,
            (Door::Admin, 408) => error.with_code("MOCK.0408"),
            (Door::Admin, 413) => error.with_code("MOCK.0413"),
            (Door::Admin, _) => error.with_code("MOCK.0400"),
        }
    }

    fn too_large(self, limit: usize) -> ApiError {
        self.error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("Request entity too large: the body exceeds {limit} bytes."),
        )
    }
}

/// Buffers an API request's body (see the module docs).
pub(crate) async fn buffer(limits: BodyLimits, request: Request) -> ApiResult<Request> {
    read(limits, Door::Api, request).await
}

/// Buffers the body of a request that came through `door` (see the module
/// docs) and returns the request with the whole body in memory.
///
/// The body comes back whole, so its exact size is its `size_hint` (the
/// journal reads it there: chunked and HTTP/2 bodies declare none).
pub(crate) async fn read(limits: BodyLimits, door: Door, request: Request) -> ApiResult<Request> {
    let limit = door.limit(limits);
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(0)
        .max(request.body().size_hint().lower());
    if declared > limit as u64 {
        return Err(door.too_large(limit));
    }
    if request.body().is_end_stream() {
        return Ok(request);
    }
    let (parts, body) = request.into_parts();
    let deadline: Duration = limits.read_timeout;
    let bytes = match tokio::time::timeout(deadline, axum::body::to_bytes(body, limit)).await {
        Err(_) => {
            return Err(door.error(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "Request timeout: the body did not arrive within {} s.",
                    deadline.as_secs_f64()
                ),
            ));
        }
        Ok(Err(e)) => {
            let over = std::error::Error::source(&e).is_some_and(
                <dyn std::error::Error + 'static>::is::<http_body_util::LengthLimitError>,
            ) || e.to_string().contains("length limit");
            return Err(if over {
                door.too_large(limit)
            } else {
                door.error(
                    StatusCode::BAD_REQUEST,
                    format!("The request body could not be read: {e}"),
                )
            });
        }
        Ok(Ok(bytes)) => bytes,
    };
    Ok(Request::from_parts(parts, Body::from(bytes)))
}
