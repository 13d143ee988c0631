//! Request ids: every response, success or error, carries a unique `X-Request-Id`.
//!
//! An id is 32 lowercase hex digits, like Huawei's: a random per-process
//! prefix and a per-process counter, so ids are unique within a process and
//! unlikely to repeat across processes. Ids sent by clients are not reused:
//! the id names *this* server's answer, which the SDKs surface as
//! `request_id` on exceptions.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

/// The response header that carries the id.
pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

static PREFIX: LazyLock<u64> = LazyLock::new(|| {
    // `RandomState` is seeded from the OS's randomness once per process.
    let mut h = RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.finish()
});
static COUNTER: AtomicU64 = AtomicU64::new(1);

/// One request's id, also stored in the request's extensions for handlers and
/// the error renderer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(HeaderValue);

impl RequestId {
    /// A new id, unique within this process.
    pub fn generate() -> Self {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let text = format!("{:016x}{n:016x}", *PREFIX);
        // 32 hex digits are always a valid header value.
        Self(HeaderValue::from_str(&text).unwrap_or(HeaderValue::from_static("0")))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        self.0.to_str().unwrap_or_default()
    }
}

/// Middleware: gives the request an id and copies it onto the response.
pub async fn assign(mut request: Request, next: Next) -> Response {
    let id = RequestId::generate();
    request.extensions_mut().insert(id.clone());
    let mut response = next.run(request).await;
    response.headers_mut().insert(X_REQUEST_ID.clone(), id.0);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_32_hex_digits_and_distinct() {
        let a = RequestId::generate();
        let b = RequestId::generate();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 32);
        assert!(a.as_str().bytes().all(|c| c.is_ascii_hexdigit()));
    }
}
