//! The control plane under the reserved prefix `/_mock`: outside the API's
//! auth and fault layers, JSON in and out. The same operations are methods
//! of [`crate::Server`], and both call the functions here.
//!
//! | Route | Does |
//! |---|---|
//! | `GET /_mock/health` | `{"status":"ok","version":…,"uptime_s":…}` |
//! | `GET /_mock/openapi.json` | the OpenAPI 3.1 document of every route (`openapi.json` in the repo) |
//! | `POST /_mock/reset` | reload fixtures, reinstall startup faults, clear the journal |
//! | `GET /_mock/state`, `PUT /_mock/state` | export or replace the data as fixture JSON |
//! | `GET`, `POST`, `DELETE /_mock/faults`; `DELETE /_mock/faults/{id}` | fault rules |
//! | `GET /_mock/requests?method=&path=&status=&since=`, `DELETE /_mock/requests` | the journal |
//! | `PUT /_mock/swr/namespaces/{namespace}/repos/{repository}/tags/{tag}` | push a tag, as `docker push` would (a route of the SWR API, [`crate::api::swr::admin`], merged in here) |
//! | `POST /_mock/ims/projects/{project_id}/images` | add an IMS image (fixture form) at run time (a route of the IMS API, [`crate::api::ims::admin`], merged in here) |
//!
//! With an admin token, every route wants `Authorization: Bearer TOKEN`
//! (compared in constant time); otherwise 401.

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::control::faults::{FaultRule, RuleStatus};
use crate::control::journal::{Entry, Filter};
use crate::error::{ApiError, ApiResult, Service};
use crate::http::extract::{ApiPath, ApiQuery};
use crate::state::AppState;
use crate::store::seed::{self, FixtureError};

/// Admin routes, to be nested at [`PREFIX`](super::PREFIX), with the
/// emulated services' own admin routes (`services`) behind the same body
/// reader and token check.
pub(crate) fn router(state: AppState, services: Router<AppState>) -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/openapi.json", get(openapi))
        .route("/reset", post(reset_route))
        .route("/state", get(get_state).put(put_state))
        .route(
            "/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route("/faults/{id}", delete(remove_fault))
        .route("/requests", get(list_requests).delete(clear_requests))
        .merge(services)
        .route_layer(from_fn_with_state(state.clone(), read_body))
        .route_layer(from_fn_with_state(state, require_token))
}

/// Middleware: reads the body whole, under the admin body limit and the read
/// deadline, with the API's one body reader ([`crate::http::body`]).
async fn read_body(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> ApiResult<Response> {
    let request =
        crate::http::body::read(state.body_limits, crate::http::body::Door::Admin, request).await?;
    crate::control::journal::Recording::note_body_of(&request);
    Ok(next.run(request).await)
}

/// Middleware: the bearer token, when one is configured.
async fn require_token(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> ApiResult<Response> {
    if let Some(want) = &state.control.admin_token_digest {
        let given = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| <[u8; 32]>::from(Sha256::digest(t.trim().as_bytes())));
        let ok = given.is_some_and(|g| bool::from(g.ct_eq(want)));
        if !ok {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "The admin API needs Authorization: Bearer <the --admin-token value>.",
            )
            .with_code("MOCK.0401")
            .in_service(Service::Gateway));
        }
    }
    Ok(next.run(request).await)
}

/// Body of `GET /_mock/health`.
#[derive(Debug, Serialize)]
struct Health {
    /// Always `ok` while the server answers.
    status: &'static str,
    /// The crate version.
    version: &'static str,
    /// Seconds since the server started.
    uptime_s: u64,
    /// The git commit the binary was built from.
    commit: &'static str,
}

async fn health(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
        uptime_s: state.started.elapsed().as_secs(),
        commit: env!("IMS_SWR_MOCK_GIT_HASH"),
    })
}

/// The OpenAPI document, as kept in the repository.
pub(crate) const OPENAPI: &str = include_str!("../../openapi.json");

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

/// Goes back to the startup state: fixtures re-read (they may have changed on
/// disk), fault counters and admin-added rules dropped, the fixtures' and the
/// command line's rules installed afresh, the journal emptied. On a fixture
/// error nothing changes.
pub(crate) fn reset(state: &AppState) -> Result<(), FixtureError> {
    let (inner, fixture_faults) = seed::build(&state.control.sources, &state.control.settings)?;
    state.store.replace(inner)?;
    state.faults.clear();
    for rule in fixture_faults
        .into_iter()
        .chain(state.control.configured_faults.iter().cloned())
    {
        // Rules were validated when loaded; a failure here would be a bug.
        if let Err(e) = state.faults.add(rule) {
            tracing::error!("cannot reinstall a fault rule: {e}");
        }
    }
    state.journal.clear();
    Ok(())
}

/// Replaces the data with a fixture document (as `GET /_mock/state` exports).
/// It must not carry fault rules. On error nothing changes.
///
/// Parsed without a JSON tree of the whole document (see
/// [`seed`]'s `parse`), and `json` is freed once parsed: the import's peak
/// memory stays within a few times its size. Access keys given without a
/// `secret` (as exports give them) keep the secret key the server has for
/// that AK; an unknown one is refused.
pub(crate) fn import_state(state: &AppState, json: Bytes) -> Result<(), FixtureError> {
    let secrets = seed::Secrets {
        known: state.store.secret_keys(),
        drop_unknown: false,
    };
    let (inner, faults) =
        seed::build_bytes("PUT /_mock/state", json, &state.control.settings, &secrets)?;
    if !faults.is_empty() {
        return Err(FixtureError {
            problems: vec![seed::Problem {
                file: "PUT /_mock/state".into(),
                path: "$.faults".into(),
                message: "state holds data only; add fault rules with POST /_mock/faults".into(),
            }],
        });
    }
    state.store.replace(inner)?;
    Ok(())
}

impl From<FixtureError> for ApiError {
    fn from(e: FixtureError) -> Self {
        ApiError::bad_request(e.to_string()).with_code("MOCK.0400")
    }
}

async fn reset_route(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    reset(&state)?;
    Ok(Json(json!({"status": "reset"})))
}

async fn get_state(State(state): State<AppState>) -> Response {
    // Serialised from typed records: no JSON tree of the whole state.
    let doc = state.store.export_doc();
    match serde_json::to_vec(&doc) {
        Ok(body) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(e) => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot serialise the state: {e}"),
        )
        .into_response(),
    }
}

async fn put_state(State(state): State<AppState>, body: Bytes) -> ApiResult<Json<Value>> {
    if std::str::from_utf8(&body).is_err() {
        return Err(ApiError::bad_request("The state must be UTF-8 JSON.").with_code("MOCK.0400"));
    }
    import_state(&state, body)?;
    Ok(Json(json!({"status": "imported"})))
}

/// Body of `GET /_mock/faults`.
#[derive(Debug, Serialize)]
struct FaultList {
    /// Rules in the order they are tried, with their counters.
    faults: Vec<RuleStatus>,
}

async fn list_faults(State(state): State<AppState>) -> Json<FaultList> {
    Json(FaultList {
        faults: state.faults.list(),
    })
}

async fn add_fault(State(state): State<AppState>, body: Bytes) -> ApiResult<Response> {
    seed::check_duplicate_keys("POST /_mock/faults", &body)?;
    let rule: FaultRule = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!("Invalid fault rule: {e}")).with_code("MOCK.0400")
    })?;
    let stored = state.faults.add(rule).map_err(|e| {
        ApiError::bad_request(format!("Invalid fault rule: {e}")).with_code("MOCK.0400")
    })?;
    Ok((StatusCode::CREATED, Json(stored)).into_response())
}

async fn clear_faults(State(state): State<AppState>) -> StatusCode {
    state.faults.clear();
    StatusCode::NO_CONTENT
}

async fn remove_fault(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<u64>,
) -> ApiResult<StatusCode> {
    if state.faults.remove(id) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(
            ApiError::new(StatusCode::NOT_FOUND, format!("No fault rule {id}."))
                .with_code("MOCK.0404"),
        )
    }
}

/// Query of `GET /_mock/requests`.
#[derive(Debug, Deserialize)]
struct RequestsQuery {
    /// Method, ignoring case.
    method: Option<String>,
    /// Path glob or route template.
    path: Option<String>,
    /// Status.
    status: Option<u16>,
    /// A `seq` (entries after it) or an RFC 3339 time (entries at or after it).
    since: Option<String>,
}

/// Body of `GET /_mock/requests`.
#[derive(Debug, Serialize)]
struct RequestList {
    /// Number of entries returned.
    count: usize,
    /// Entries, oldest first.
    requests: Vec<Entry>,
}

async fn list_requests(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<RequestsQuery>,
) -> ApiResult<Json<RequestList>> {
    let mut filter = Filter {
        method: query.method,
        status: query.status,
        ..Filter::default()
    };
    if let Some(path) = &query.path {
        filter.path = Some(
            crate::control::faults::path_matcher(path)
                .map_err(|e| ApiError::bad_request(e).with_code("MOCK.0400"))?,
        );
    }
    if let Some(since) = &query.since {
        if let Ok(seq) = since.parse::<u64>() {
            filter.since_seq = Some(seq);
        } else {
            let at: jiff::Timestamp = since.parse().map_err(|_| {
                ApiError::bad_request(format!(
                    "since={since:?} is neither a seq number nor an RFC 3339 time"
                ))
                .with_code("MOCK.0400")
            })?;
            filter.since_ms = Some(at.as_millisecond());
        }
    }
    let requests = state.journal.requests(&filter);
    Ok(Json(RequestList {
        count: requests.len(),
        requests,
    }))
}

async fn clear_requests(State(state): State<AppState>) -> StatusCode {
    state.journal.clear();
    StatusCode::NO_CONTENT
}
