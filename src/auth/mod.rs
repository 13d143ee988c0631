//! Authentication and tenancy, as the API gateway in front of IMS and SWR does it.
//!
//! The middleware runs as a `route_layer` on the API routes (so unknown paths
//! stay 404, not 401) and inside the error renderer (so its 401s and 403s get
//! native envelopes). Modes ([`AuthMode`]):
//!
//! - `off`: everything passes.
//! - `lenient` (default): a request needs an `X-Auth-Token`, or a well-formed
//!   `Authorization: SDK-HMAC-SHA256 …` with an `X-Sdk-Date`; nothing is verified.
//! - `strict`: tokens and access keys must be defined in a fixture, signatures
//!   must verify (constant-time), `X-Sdk-Date` must be within the allowed skew,
//!   and a credential may only touch its own projects and its own account's
//!   namespaces.
//!
//! Failures answer as the gateway does (APIG error codes,
//! <https://support.huaweicloud.com/intl/en-us/devg-apisign/api-sign-errorcode.html>;
//! messages from the APIG FAQ "Common Errors Related to IAM Authentication
//! Information", <https://support.huaweicloud.com/intl/en-us/devg-apisign/api-sign-0001.html>,
//! and the OCR FAQ on `APIG.0301`,
//! <https://support.huaweicloud.com/intl/en-us/ocr_faq/ocr_01_0063.html>):
//! 401 `APIGW.0301` "Incorrect IAM authentication information: …" with
//! `x-auth-token not found`, `decrypt token fail`, `verify aksk signature fail`
//! or `Get secretKey failed,…,err:ak not exist`.
//!
//! Secrets never leave: SKs and tokens are not logged or echoed, and
//! `Authorization` and `X-Auth-Token` are marked sensitive for the trace layer.

pub(crate) mod signer;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::{RawPathParams, Request};
use axum::http::request::Parts;
use axum::http::{HeaderName, StatusCode, header};
use clap::ValueEnum;
use serde_json::json;

use crate::error::{ApiError, ApiResult, Service};
use crate::store::{Caller, Store};
use signer::{Authorization, UriForm};

/// The token header.
pub(crate) static X_AUTH_TOKEN: HeaderName = HeaderName::from_static("x-auth-token");
/// The signing date header.
pub(crate) static X_SDK_DATE: HeaderName = HeaderName::from_static("x-sdk-date");
/// The payload-hash override header.
pub(crate) static X_SDK_CONTENT_SHA256: HeaderName =
    HeaderName::from_static("x-sdk-content-sha256");

/// Largest request body read for signature checks (see [`crate::http::body`]).
pub(crate) const MAX_BODY: usize = crate::http::body::MAX_BODY;

/// How strictly requests are authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum AuthMode {
    /// Accept everything.
    Off,
    /// Require a token or a well-formed AK/SK signature, without verifying it.
    #[default]
    Lenient,
    /// Verify tokens and signatures against the fixtures, and enforce tenancy.
    Strict,
}

/// Authentication settings.
#[derive(Debug, Clone)]
pub(crate) struct AuthSettings {
    /// The mode.
    pub mode: AuthMode,
    /// Largest allowed distance between `X-Sdk-Date` and the server clock (strict mode).
    pub max_clock_skew: Duration,
    /// Put the server's canonical request and string-to-sign in signature
    /// failures (and a debug log line), for users debugging their signer.
    pub diagnostics: bool,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            mode: AuthMode::Lenient,
            max_clock_skew: Duration::from_secs(15 * 60),
            diagnostics: false,
        }
    }
}

/// Request extension: the caller, when the credential is one a fixture defines.
#[derive(Debug, Clone, Default)]
pub(crate) struct Identity(pub Option<Caller>);

/// 401 `APIGW.0301` "Incorrect IAM authentication information: {detail}".
fn unauthorized(detail: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        format!("Incorrect IAM authentication information: {detail}"),
    )
    .with_code("APIGW.0301")
    .in_service(Service::Gateway)
}

/// What authentication reads: its settings, and the accounts in the store.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AuthContext<'a> {
    /// How requests are authenticated.
    pub(crate) auth: &'a AuthSettings,
    /// The accounts (access keys, tokens, projects).
    pub(crate) store: &'a Store,
}

/// Authenticates, checks tenancy, and records the [`Identity`] (called by the
/// API routes' gate, [`crate::front::gate`]).
pub(crate) async fn authenticate(state: AuthContext<'_>, request: Request) -> ApiResult<Request> {
    let (mut parts, body) = request.into_parts();
    let (caller, body) = match state.auth.mode {
        AuthMode::Off => (identify(state.store, &parts), body),
        AuthMode::Lenient => (lenient(state.store, &parts)?, body),
        AuthMode::Strict => {
            let bytes = read_body(body).await?;
            let caller = strict(state, &parts, &bytes)?;
            check_tenancy(state.store, &caller, &mut parts).await?;
            (Some(caller), Body::from(bytes))
        }
    };
    parts.extensions.insert(Identity(caller));
    Ok(Request::from_parts(parts, body))
}

fn header<'a>(parts: &'a Parts, name: &HeaderName) -> Option<&'a str> {
    parts.headers.get(name).and_then(|v| v.to_str().ok())
}

/// Who the credential belongs to, without verifying anything.
fn identify(store: &Store, parts: &Parts) -> Option<Caller> {
    if let Some(auth) =
        header(parts, &header::AUTHORIZATION).and_then(|v| Authorization::parse(v).ok())
    {
        return store.access_key(auth.access).map(|k| k.caller);
    }
    header(parts, &X_AUTH_TOKEN).and_then(|t| store.token(t))
}

/// Lenient mode: some credential must be present and well-formed.
fn lenient(store: &Store, parts: &Parts) -> ApiResult<Option<Caller>> {
    if let Some(value) = header(parts, &header::AUTHORIZATION) {
        Authorization::parse(value).map_err(unauthorized)?;
        sdk_date(parts)?;
    } else if header(parts, &X_AUTH_TOKEN).is_none_or(str::is_empty) {
        return Err(unauthorized("x-auth-token not found"));
    }
    Ok(identify(store, parts))
}

/// The `X-Sdk-Date` of a signed request, in epoch seconds.
fn sdk_date(parts: &Parts) -> ApiResult<(&str, i64)> {
    let text = header(parts, &X_SDK_DATE)
        .ok_or_else(|| unauthorized("the signed request has no X-Sdk-Date header"))?;
    let secs = signer::parse_sdk_date(text).ok_or_else(|| {
        unauthorized(format!(
            "X-Sdk-Date {text:?} is not of the form 20240101T000000Z (UTC)"
        ))
    })?;
    Ok((text, secs))
}

async fn read_body(body: Body) -> ApiResult<Bytes> {
    axum::body::to_bytes(body, MAX_BODY).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("Request entity too large: the body exceeds {MAX_BODY} bytes."),
        )
    })
}

/// Strict mode: the credential must be known and, for AK/SK, the signature must verify.
fn strict(state: AuthContext<'_>, parts: &Parts, body: &[u8]) -> ApiResult<Caller> {
    if let Some(value) = header(parts, &header::AUTHORIZATION) {
        return verify_signature(state, parts, value, body);
    }
    match header(parts, &X_AUTH_TOKEN) {
        None | Some("") => Err(unauthorized("x-auth-token not found")),
        Some(token) => state
            .store
            .token(token)
            .ok_or_else(|| unauthorized("decrypt token fail")),
    }
}

fn verify_signature(
    state: AuthContext<'_>,
    parts: &Parts,
    value: &str,
    body: &[u8],
) -> ApiResult<Caller> {
    let auth = Authorization::parse(value).map_err(unauthorized)?;
    let (date_text, date) = sdk_date(parts)?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let skew = now.abs_diff(date);
    let max = state.auth.max_clock_skew.as_secs();
    if skew > max {
        return Err(unauthorized(format!(
            "verify aksk signature fail: X-Sdk-Date {date_text} is {skew} s away from the server clock (at most {max} s allowed)"
        )));
    }
    let key = state.store.access_key(auth.access).ok_or_else(|| {
        unauthorized(format!(
            "Get secretKey failed,ak:{},err:ak not exist",
            auth.access
        ))
    })?;
    let content_sha256 = header(parts, &X_SDK_CONTENT_SHA256);
    if let Err(actual) = signer::check_content_sha256(body, content_sha256) {
        let error = unauthorized(
            "verify aksk signature fail: X-Sdk-Content-Sha256 is not the SHA-256 of the body \
             (send the body's hash, or UNSIGNED-PAYLOAD)",
        );
        if !state.auth.diagnostics {
            return Err(error);
        }
        tracing::debug!(
            access_key = auth.access,
            x_sdk_content_sha256 = content_sha256.unwrap_or_default(),
            body_sha256 = %actual,
            "AK/SK payload hash mismatch"
        );
        return Err(error.with_extra(
            "diagnostics",
            json!({
                "x_sdk_content_sha256": content_sha256,
                "body_sha256": actual,
                "hint": "X-Sdk-Content-Sha256 must be the hex SHA-256 of the body as sent, or UNSIGNED-PAYLOAD.",
            }),
        ));
    }
    let headers: Vec<(&str, &str)> = auth
        .header_names()
        .map(|name| {
            let value = parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            (name, value)
        })
        .collect();
    let query = signer::canonical_query(parts.uri.query().unwrap_or(""));
    let payload = signer::payload_hash(body, content_sha256);
    let path = parts.uri.path();
    // The canonical request in one URI form over the given header values.
    let canonical = |form, headers: &[(&str, &str)]| {
        signer::canonical_request(
            parts.method.as_str(),
            &signer::canonical_uri(path, form),
            &query,
            headers,
            &payload,
        )
    };
    let python = canonical(UriForm::Python, &headers);
    let node = canonical(UriForm::Node, &headers);
    let python_sts = signer::string_to_sign(date_text, &python);
    if signer::verify(&key.secret, &python_sts, auth.signature)
        || (node != python
            && signer::verify(
                &key.secret,
                &signer::string_to_sign(date_text, &node),
                auth.signature,
            ))
    {
        return Ok(key.caller);
    }
    let error = unauthorized("verify aksk signature fail");
    if !state.auth.diagnostics {
        return Err(error);
    }
    // What is shown (in the 401 and the log line) hides credential headers'
    // values: a signed `X-Auth-Token` is a secret like the SK. The string to
    // sign is the real one (a hash reveals nothing).
    let shown_headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|&(name, value)| {
            if is_secret_header(name) {
                (name, crate::control::journal::REDACTED)
            } else {
                (name, value)
            }
        })
        .collect();
    let python_shown = canonical(UriForm::Python, &shown_headers);
    let node_shown = canonical(UriForm::Node, &shown_headers);
    tracing::debug!(
        access_key = auth.access,
        canonical_request = %python_shown,
        string_to_sign = %python_sts,
        "AK/SK signature mismatch"
    );
    let mut diagnostics = json!({
        "canonical_request": python_shown,
        "string_to_sign": python_sts,
        "signed_headers": auth.signed_headers,
        "hint": "Diff these against your signer's canonical request and string to sign; the first line that differs is the bug.",
    });
    if node != python {
        diagnostics["canonical_request_node_form"] = json!(node_shown);
    }
    Err(error.with_extra("diagnostics", diagnostics))
}

/// Headers whose values are credentials. When signed, their values are shown
/// as `<redacted>` in diagnostics, never as sent.
const SECRET_HEADERS: [&str; 6] = [
    "authorization",
    "proxy-authorization",
    "cookie",
    "x-auth-token",
    "x-security-token",
    "x-subject-token",
];

/// Whether a header's value is a credential (see [`SECRET_HEADERS`]).
fn is_secret_header(name: &str) -> bool {
    SECRET_HEADERS.iter().any(|s| s.eq_ignore_ascii_case(name))
}

/// Strict mode: a credential may use only its own projects (IMS
/// `{project_id}`) and its own account's namespaces (SWR `{namespace}`).
///
/// IMS: 400 `IMG.0030` "The project ID and token in the request are
/// invalid.", the status the IMS error-code table gives it
/// (<https://support.huaweicloud.com/intl/en-us/api-ims/ims_03_0908.html>;
/// decision in CONFORMANCE.md). SWR: 403 `SVCSTG.SWR.4030170` "Insufficient permissions" (SWR error-code page,
/// <https://support.huaweicloud.com/intl/en-us/api-swr/ErrorCode.html>).
async fn check_tenancy(store: &Store, caller: &Caller, parts: &mut Parts) -> ApiResult<()> {
    use axum::extract::FromRequestParts;
    let Ok(params) = RawPathParams::from_request_parts(parts, &()).await else {
        return Ok(()); // malformed params: the handler's extractor reports them
    };
    for (name, value) in &params {
        match name {
            "project_id" if !caller.may_use_project(value) => {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "The project ID and token in the request are invalid: this credential (domain {}) may not use project {value}.",
                        caller.domain_id
                    ),
                )
                .with_code("IMG.0030"));
            }
            "namespace" => {
                if let Some(owner) = store.namespace_domain(value)
                    && owner != caller.domain_id
                {
                    return Err(ApiError::new(
                        StatusCode::FORBIDDEN,
                        format!(
                            "Insufficient permissions: namespace {value} belongs to another account than this credential (domain {})",
                            caller.domain_id
                        ),
                    )
                    .with_code("SVCSTG.SWR.4030170"));
                }
            }
            _ => {}
        }
    }
    Ok(())
}
