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

use axum::http::{HeaderName, HeaderValue};

/// The response header that carries the id.
pub(crate) static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

static PREFIX: LazyLock<u64> = LazyLock::new(|| {
    // `RandomState` is seeded from the OS's randomness once per process.
    let mut h = RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.finish()
});
static COUNTER: AtomicU64 = AtomicU64::new(1);

/// One request's id. It is plain bytes, so copies cost nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RequestId([u8; 32]);

impl RequestId {
    /// A new id, unique within this process.
    pub(crate) fn generate() -> Self {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut text = [0u8; 32];
        for (i, byte) in text.iter_mut().enumerate() {
            let word = if i < 16 { *PREFIX } else { n };
            *byte = HEX[((word >> (4 * (15 - i % 16))) & 0xf) as usize];
        }
        Self(text)
    }

    /// The id as text.
    pub(crate) fn as_str(&self) -> &str {
        // Only hex digits are ever written.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The id as a header value.
    pub(crate) fn header_value(&self) -> HeaderValue {
        HeaderValue::from_bytes(&self.0).unwrap_or(HeaderValue::from_static("0"))
    }
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
        assert_eq!(&a.as_str()[..16], &b.as_str()[..16]);
        let n = u64::from_str_radix(&a.as_str()[16..], 16).unwrap();
        let m = u64::from_str_radix(&b.as_str()[16..], 16).unwrap();
        assert!(m > n);
        assert_eq!(a.header_value(), a.as_str());
    }
}
