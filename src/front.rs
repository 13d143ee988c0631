//! The request path around the routes, written out as one function before
//! routing and one handler wrapper after it, instead of a stack of layers.
//!
//! axum's `Router::layer` wraps every route in its own boxed service, so each
//! layer costs a clone of a boxed service, a boxed future and a move of the
//! request per request. A profile of the release binary put more time into
//! that plumbing than into the handlers. So what every request goes through
//! runs here, once, in this order:
//!
//! 1. [`App`] (the front, before routing): the request id, marking secret
//!    headers sensitive, the debug span, the journal entry, draining (503
//!    once shutdown began), catching a handler's panic as a 500, rendering
//!    errors in the envelope of the service that owns the path, and the
//!    `X-Request-Id` response header;
//! 2. the router;
//! 3. the gate, around each API handler ([`gated`]) and the 404 and 405
//!    fallbacks ([`faulted`]), after routing (so the journal knows the route
//!    template): buffering the body, fault rules, then authentication (API
//!    handlers only, so unknown paths stay 404). Faults run outside
//!    authentication so they can inject 401s and 403s.
//!
//! Admin routes (`/_mock/…`) get the front only. Load shedding
//! (`--max-concurrency`) stays a layer, there only when asked for; routes
//! added with `extra_routes` get the gate as [`gate`] and [`authenticate`]
//! middleware.

use std::convert::Infallible;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::handler::Handler;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt as _;
use tower::Service as _;
use tracing::Instrument as _;

use crate::auth;
use crate::control::journal::{Pending, Recording};
use crate::error::{ApiError, Service};
use crate::http::request_id::{RequestId, X_REQUEST_ID};
use crate::http::serve::ResponseFuture;
use crate::state::AppState;

/// The whole application: the front (see the module docs) around the router.
///
/// A `tower::Service` for any body type, served by the accept loop
/// ([`crate::http::serve`]).
#[derive(Clone, Debug)]
pub(crate) struct App {
    state: AppState,
    router: Router,
}

impl crate::http::serve::Application for App {
    fn handle(&self, request: Request) -> ResponseFuture {
        App::handle(self, request)
    }
}

impl App {
    /// The front around `router`, which already has its routes and the gate.
    pub(crate) fn new(state: AppState, router: Router) -> Self {
        Self { state, router }
    }

    /// Answers one request.
    pub(crate) fn handle(&self, request: Request) -> ResponseFuture {
        Box::pin(front(self.state.clone(), self.router.clone(), request))
    }
}

impl<B> tower::Service<axum::http::Request<B>> for App
where
    B: axum::body::HttpBody<Data = axum::body::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: axum::http::Request<B>) -> ResponseFuture {
        self.handle(request.map(Body::new))
    }
}

/// The front: everything a request goes through before and after routing.
async fn front(
    state: AppState,
    router: Router,
    mut request: Request,
) -> Result<Response, Infallible> {
    let started = Instant::now();
    let id = RequestId::generate();
    let service = Service::for_path(request.uri().path());
    mark_sensitive(&mut request);
    let pending = Pending::open(&state.journal, &mut request, id, started);
    let span = if tracing::enabled!(tracing::Level::DEBUG) {
        tracing::debug_span!(
            "request",
            method = %request.method(),
            path = request.uri().path(),
            request_id = id.as_str()
        )
    } else {
        tracing::Span::none()
    };
    let response = if state.lifecycle.draining() {
        let mut response = ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Service unavailable: the server is shutting down.",
        )
        .into_response();
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        response
    } else {
        let _running = state.lifecycle.enter();
        let answer = AssertUnwindSafe(route(router, request).instrument(span.clone()))
            .catch_unwind()
            .await;
        match answer {
            Ok(response) => response,
            Err(_panic) => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal server error: the handler panicked.",
            )
            .into_response(),
        }
    };
    let mut response = crate::error::render(service, id.as_str(), response).await;
    response
        .headers_mut()
        .insert(X_REQUEST_ID.clone(), id.header_value());
    if let Some(pending) = pending {
        pending.finish(response.status().as_u16());
    }
    span.in_scope(|| {
        tracing::debug!(
            status = response.status().as_u16(),
            latency_ms = started.elapsed().as_secs_f64() * 1000.0,
            "finished processing request"
        );
    });
    Ok(response)
}

/// Routes the request.
async fn route(mut router: Router, request: Request) -> Response {
    match router.call(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

/// Marks credentials sensitive, so no `Debug` of the request shows them.
fn mark_sensitive(request: &mut Request) {
    for name in [&header::AUTHORIZATION, &auth::X_AUTH_TOKEN] {
        if let Some(value) = request.headers_mut().get_mut(name) {
            value.set_sensitive(true);
        }
    }
}

/// An API handler behind the gate (see the module docs): notes the route
/// template for the journal, buffers the body, applies fault rules, and
/// authenticates (unless made by [`faulted`]) before the handler runs.
///
/// A wrapper around the handler rather than a layer: axum wraps every layer
/// of every route in its own boxed service, which cost 13-16% of the
/// throughput of a cached answer.
#[derive(Clone, Debug)]
pub(crate) struct Gated<H> {
    handler: H,
    authenticate: bool,
    /// Answer through the page cache ([`crate::http::cache`]).
    page_cache: bool,
}

/// `handler` behind the whole gate, authentication included. Every API
/// route's handler is registered this way (`tests/it/auth.rs` checks each
/// operation of `openapi.json` for a 401 without credentials).
pub(crate) fn gated<H>(handler: H) -> Gated<H> {
    Gated {
        handler,
        authenticate: true,
        page_cache: false,
    }
}

/// A list handler as [`gated`], answered through the page cache
/// ([`crate::http::cache`]): a repeated request for the same page of
/// unchanged data is served from memory, after the gate as any other.
pub(crate) fn gated_cached<H>(handler: H) -> Gated<H> {
    Gated {
        page_cache: true,
        ..gated(handler)
    }
}

/// `handler` behind the gate without authentication: the 404 and 405
/// fallbacks, which fault rules reach too.
pub(crate) fn faulted<H>(handler: H) -> Gated<H> {
    Gated {
        authenticate: false,
        ..gated(handler)
    }
}

impl<H, T> Handler<T, AppState> for Gated<H>
where
    H: Handler<T, AppState>,
    T: 'static,
{
    type Future = Pin<Box<dyn Future<Output = Response> + Send>>;

    fn call(self, request: Request, state: AppState) -> Self::Future {
        Box::pin(async move {
            let Self {
                handler,
                authenticate,
                page_cache,
            } = self;
            let inner = state.clone();
            pass(&state, request, move |request| async move {
                let request = if authenticate {
                    match auth::authenticate(inner.auth_context(), request).await {
                        Ok(request) => request,
                        Err(error) => return error.into_response(),
                    }
                } else {
                    request
                };
                if page_cache {
                    crate::http::cache::serve(inner, request, handler).await
                } else {
                    handler.call(request, inner).await
                }
            })
            .await
        })
    }
}

/// The gate without authentication, as middleware, for routes added with
/// [`crate::ServerBuilder::extra_routes`] (a `route_layer`).
pub(crate) async fn gate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    pass(&state, request, |request| next.run(request)).await
}

/// The gate before authentication: notes the route template for the journal,
/// buffers the body, applies fault rules, then calls `next`.
async fn pass<F, Fut>(state: &AppState, request: Request, next: F) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Response>,
{
    if let (Some(recording), Some(route)) = (
        request.extensions().get::<Recording>(),
        request.extensions().get::<MatchedPath>(),
    ) {
        recording.note_route(route);
    }
    let request = match crate::http::body::buffer(state.body_limits, request).await {
        Ok(request) => request,
        Err(error) => return error.into_response(),
    };
    Recording::note_body_of(&request);
    crate::control::faults::middleware::inject(&state.faults, request, next).await
}

/// Authentication as middleware, for routes added with
/// [`crate::ServerBuilder::extra_routes`] (a `route_layer`).
pub(crate) async fn authenticate(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    match auth::authenticate(state.auth_context(), request).await {
        Ok(request) => next.run(request).await,
        Err(error) => error.into_response(),
    }
}
