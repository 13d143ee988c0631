//! Whole answers of the list routes (the SWR tag lists and IMS
//! `ListImagesTags`), kept until the store changes.
//!
//! A list answer is a pure function of the store and the request's path and
//! query (authentication and tenancy are settled before the handler runs), so
//! a 200 answer is kept under its path and query and served again while the
//! store's [generation](Cached::generation) stays the same. Any
//! write, reset or import moves the generation on, which empties the cache.
//!
//! A hit skips extraction, validation, the store and the JSON assembly: the
//! answer is the same reference-counted bytes again, and a large one is sent
//! with `sendfile(2)` ([`crate::http::zerocopy`]). Pages of a marker walk
//! are each asked for once, so the cache is small and simply emptied when it
//! fills up.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use axum::body::HttpBody as _;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::handler::Handler;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse as _, Response};

use crate::error::ApiError;

/// Most answers kept.
pub(crate) const MAX_ENTRIES: usize = 256;
/// Most body bytes kept.
pub const MAX_BYTES: usize = 16 << 20;
/// Largest answer kept. Larger answers are sent whole, and not kept.
pub const MAX_BODY: usize = 2 << 20;

/// What the cache needs of the application's state: the cache, and the
/// generation of the data the answers are computed from.
pub trait Cached: Clone + Send + Sync + 'static {
    /// The server's cache.
    fn pages(&self) -> &PageCache;
    /// The data's generation now: it moves on with every change.
    fn generation(&self) -> u64;
}

/// Answers `request` from the server's cache, or with `handler` (keeping a 200).
pub async fn serve<H, T, S>(state: S, request: Request, handler: H) -> Response
where
    H: Handler<T, S>,
    S: Cached,
{
    let key = request
        .uri()
        .path_and_query()
        .map(axum::http::uri::PathAndQuery::as_str);
    let Some(key) = key.filter(|_| state.pages().enabled) else {
        return handler.call(request, state).await;
    };
    // Read before the store is: an answer computed after a write is then
    // kept under the older generation at worst, never served as newer.
    let generation = state.generation();
    if let Some(page) = state.pages().get(generation, key) {
        return page.response();
    }
    let key: Box<str> = key.into();
    let keep = state.clone();
    let response = handler.call(request, state).await;
    if response.status() != StatusCode::OK {
        return response;
    }
    // An answer too large to keep is sent as it is, untouched.
    if response.body().size_hint().lower() > MAX_BODY as u64 {
        return response;
    }
    let (parts, body) = response.into_parts();
    // No limit here: the handler's answer is already in memory, and cutting
    // it would send a truncated (or, as once, an empty) 200.
    let body = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(body) => body,
        Err(e) => {
            return ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("Internal server error: the answer could not be assembled: {e}"),
            )
            .into_response();
        }
    };
    if body.len() > MAX_BODY {
        return Response::from_parts(parts, Body::from(body));
    }
    // Large pages are sent with sendfile(2) from here on.
    let body = crate::http::zerocopy::share(body);
    let page = Arc::new(Page {
        headers: parts.headers.clone(),
        body: body.clone(),
    });
    keep.pages().put(generation, key, page);
    Response::from_parts(parts, Body::from(body))
}

/// The cache (one per server; clones of the application state share it).
#[derive(Debug)]
pub struct PageCache {
    enabled: bool,
    inner: RwLock<Pages>,
}

impl Default for PageCache {
    fn default() -> Self {
        Self::new(true)
    }
}

#[derive(Debug, Default)]
struct Pages {
    /// The store generation every entry belongs to.
    generation: u64,
    entries: HashMap<Box<str>, Arc<Page>>,
    bytes: usize,
}

/// One kept answer.
#[derive(Debug)]
struct Page {
    headers: HeaderMap,
    body: Bytes,
}

impl Page {
    fn response(&self) -> Response {
        let mut response = Response::new(Body::from(self.body.clone()));
        // Room for the headers added on the way out (`X-Request-Id`), so
        // none of them grows the map again.
        let headers = response.headers_mut();
        headers.reserve(self.headers.len() + 2);
        for (name, value) in &self.headers {
            headers.append(name.clone(), value.clone());
        }
        response
    }
}

impl PageCache {
    /// A cache; a disabled one keeps nothing (`--no-page-cache`).
    pub(crate) fn new(enabled: bool) -> Self {
        Self {
            enabled,
            inner: RwLock::default(),
        }
    }

    fn get(&self, generation: u64, key: &str) -> Option<Arc<Page>> {
        let pages = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        if pages.generation != generation {
            return None;
        }
        pages.entries.get(key).cloned()
    }

    fn put(&self, generation: u64, key: Box<str>, page: Arc<Page>) {
        let mut pages = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        if generation < pages.generation {
            return;
        }
        let size = page.body.len();
        if generation > pages.generation
            || pages.entries.len() >= MAX_ENTRIES
            || pages.bytes + size > MAX_BYTES
        {
            pages.entries.clear();
            pages.generation = generation;
            pages.bytes = 0;
        }
        pages.bytes += size;
        if let Some(previous) = pages.entries.insert(key, page) {
            pages.bytes -= previous.body.len();
        }
    }
}
