//! SWR login commands: `CreateSecret` and `CreateAuthorizationToken`.
//!
//! - `POST /v2/manage/utils/secret?projectname=<region>`: "Generating a
//!   Login Command" (`CreateSecret`),
//!   <https://support.huaweicloud.com/intl/en-us/api-swr/swr_02_0030.html>.
//! - `POST /v2/manage/utils/authorizationtoken`: `CreateAuthorizationToken`
//!   (the official SDK's model: same headers and body).
//!
//! Both answer with the `X-Swr-Dockerlogin` header
//! (`docker login -u <region>@<AK> -p <login key> <registry host>`),
//! `X-Swr-Expireat`, and the body `{"auths": {"<host>": {"auth":
//! base64("<user>:<login key>")}}}`. The login key is the long-term one
//! ([`crate::api::registry::auth::login_key`]), which the registry checks in
//! `--auth strict`; the AK is the caller's (the signing AK, or for a token
//! caller the first access key of its account). A real SWR hands out a
//! temporary AK here; the emulator's key does not expire, and
//! `X-Swr-Expireat` says six hours from now (not documented on the page).

use axum::Router;
use axum::extract::{Extension, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use serde_json::json;

use crate::api::registry::auth::login_key;
use crate::auth::Identity;
use crate::auth::signer::Authorization;
use crate::error::{ApiError, ApiResult, Service};
use crate::front::gated;
use crate::state::AppState;

/// SWR login-command routes.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/v2/manage/utils/secret", post(gated(create_secret)))
        .route(
            "/v2/manage/utils/authorizationtoken",
            post(gated(create_secret)),
        )
}

/// The region part of `swr.<region>.<domain>`, else `region`.
fn region_of(host: &str) -> String {
    let mut parts = host.split('.');
    match (parts.next(), parts.next()) {
        (Some("swr"), Some(region)) if !region.is_empty() => region.to_owned(),
        _ => "region".to_owned(),
    }
}

/// `CreateSecret` / `CreateAuthorizationToken` (see the module docs).
async fn create_secret(
    State(state): State<AppState>,
    Extension(Identity(caller)): Extension<Identity>,
    request: Request,
) -> ApiResult<Response> {
    let host = state.store.registry_host_name();
    let project = form_urlencoded::parse(request.uri().query().unwrap_or("").as_bytes())
        .find(|(k, _)| k == "projectname")
        .map_or_else(|| region_of(&host), |(_, v)| v.into_owned());
    let signing_ak = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| Authorization::parse(v).ok())
        .map(|a| a.access.to_owned());
    let (ak, sk) = match signing_ak {
        Some(ak) => {
            let sk = state.store.access_key(&ak).map(|k| k.secret);
            (ak, sk)
        }
        None => match caller
            .as_ref()
            .and_then(|c| state.store.access_key_of(&c.domain_id))
        {
            Some((ak, sk)) => (ak.to_string(), Some(sk)),
            None if state.auth.mode == crate::auth::AuthMode::Strict => {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "The account of this token has no access key in the fixtures, so no login key can be derived; add an access key to the account.",
                )
                .with_code("SVCSTG.SWR.4000014")
                .in_service(Service::Swr));
            }
            None => ("anonymous".to_owned(), None),
        },
    };
    // In lenient mode an unknown AK gets a key derived with an empty SK:
    // the registry accepts any credentials there.
    let key = login_key(&ak, sk.as_deref().unwrap_or(""));
    let user = format!("{project}@{ak}");
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{key}"));
    let expire = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_hours(6))
        .unwrap_or_else(|_| jiff::Timestamp::now())
        .to_string();
    let body = json!({"auths": {host.clone(): {"auth": auth}}});
    let mut response = axum::Json(body).into_response();
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!("docker login -u {user} -p {key} {host}")) {
        headers.insert("x-swr-dockerlogin", v);
    }
    if let Ok(v) = HeaderValue::from_str(&expire) {
        headers.insert("x-swr-expireat", v);
    }
    Ok(response)
}
