//! Registry login, as SWR does it.
//!
//! - **Credentials**: user `<project name>@<AK>`, password the *login key*:
//!   the hex HMAC-SHA256 of the AK keyed with the SK, which is what SWR's
//!   "Obtaining a Long-Term Valid Login Command" page derives with
//!   `printf "$AK" | openssl dgst -binary -sha256 -hmac "$SK" | od -An -vtx1 …`
//!   (<https://support.huaweicloud.com/intl/en-us/usermanual-swr/swr_01_1000.html>).
//!   `CreateSecret` hands out the same pair ([`crate::api::swr::secret`]).
//! - **Schemes**: `Basic` on any registry request, or the bearer token flow:
//!   an unauthenticated request in `--auth strict` gets 401 with
//!   `WWW-Authenticate: Bearer realm="<scheme>://<host>/v2/token",service=…,scope=…`;
//!   the client asks the realm for a token with its Basic credentials and
//!   retries with `Authorization: Bearer <token>`. Tokens are signed with a
//!   per-process key and last an hour.
//! - **Modes**: `strict` checks the credentials against the fixtures' access
//!   keys and refuses a push (or a pull) into another account's organization
//!   with 403 `DENIED`; `lenient` and `off` accept anything (a known AK still
//!   names the owner of an organization a push creates).
//!
//! Login keys, tokens and SKs are never logged.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use base64::Engine as _;
use hmac::{Hmac, Mac as _};
use sha2::Sha256;
use subtle::ConstantTimeEq as _;

use super::{RegistryError, Route};
use crate::auth::AuthMode;
use crate::state::AppState;

/// How long a bearer token lasts, in seconds.
pub(crate) const TOKEN_SECONDS: u64 = 3600;

/// The long-term login key of an access key: hex HMAC-SHA256(key = SK, message = AK).
pub fn login_key(ak: &str, sk: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(sk.as_bytes()).expect("HMAC takes any key");
    mac.update(ak.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Who a registry request comes from: the account, when known.
#[derive(Debug, Clone, Default)]
pub(crate) struct RegistryCaller {
    /// The account (domain) id.
    pub(crate) domain_id: Option<Arc<str>>,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Signs `domain.expiry` with the process key.
fn sign(state: &AppState, payload: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(state.store.blobs().token_key())
        .expect("HMAC takes any key");
    mac.update(payload.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// A bearer token for `domain` (empty for an anonymous caller in lenient mode).
pub(crate) fn issue_token(state: &AppState, domain: &str) -> String {
    let payload = format!("{domain}.{}", now() + TOKEN_SECONDS);
    let signature = sign(state, &payload);
    format!("{payload}.{signature}")
}

/// The domain a token stands for, if it is ours and unexpired.
fn verify_token(state: &AppState, token: &str) -> Option<Option<Arc<str>>> {
    let (payload, signature) = token.rsplit_once('.')?;
    let (domain, expiry) = payload.rsplit_once('.')?;
    let expected = sign(state, payload);
    if !bool::from(expected.as_bytes().ct_eq(signature.as_bytes())) {
        return None;
    }
    if expiry.parse::<u64>().ok()? < now() {
        return None;
    }
    Some((!domain.is_empty()).then(|| Arc::from(domain)))
}

/// Basic credentials: `Ok(Some(domain))` when they verify, `Ok(None)` when
/// the AK is unknown, `Err` when they are malformed or wrong.
fn verify_basic(state: &AppState, value: &str) -> Result<Option<Arc<str>>, &'static str> {
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .map_err(|_| "the Basic credentials are not base64")?;
    let text = String::from_utf8(decoded).map_err(|_| "the Basic credentials are not UTF-8")?;
    let (user, password) = text
        .split_once(':')
        .ok_or("the Basic credentials have no ':'")?;
    // `<project name>@<AK>`; a bare AK is accepted too.
    let ak = user.rsplit_once('@').map_or(user, |(_, ak)| ak);
    let Some(key) = state.store.access_key(ak) else {
        return Ok(None);
    };
    let expected = login_key(ak, &key.secret);
    if bool::from(expected.as_bytes().ct_eq(password.as_bytes())) {
        Ok(Some(key.caller.domain_id))
    } else {
        Err("the login key does not match the access key")
    }
}

/// The credentials of a request: `Ok(Some(caller))` when verified, `Ok(None)`
/// when absent or unknown, `Err(reason)` when present and wrong.
fn credentials(state: &AppState, parts: &Parts) -> Result<Option<RegistryCaller>, &'static str> {
    let Some(value) = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(None);
    };
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if scheme.eq_ignore_ascii_case("basic") {
        return Ok(verify_basic(state, rest)?.map(|d| RegistryCaller { domain_id: Some(d) }));
    }
    if scheme.eq_ignore_ascii_case("bearer") {
        return match verify_token(state, rest.trim()) {
            Some(domain) => Ok(Some(RegistryCaller { domain_id: domain })),
            None => Err("the bearer token is invalid or expired"),
        };
    }
    Err("unsupported authorization scheme")
}

/// The host the client used (for the token realm).
pub(crate) fn host(state: &AppState, parts: &Parts) -> String {
    parts
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| parts.uri.authority().map(ToString::to_string))
        .unwrap_or_else(|| state.store.registry_host_name())
}

/// The 401 that starts the bearer token flow.
fn challenge(state: &AppState, parts: &Parts, route: &Route, why: &str) -> RegistryError {
    let host = host(state, parts);
    let scheme = state.store.blobs().scheme();
    let mut value = format!("Bearer realm=\"{scheme}://{host}/v2/token\",service=\"{host}\"");
    if let Some(name) = route.name() {
        value.push_str(&format!(",scope=\"repository:{name}:pull,push\""));
    }
    let mut error = RegistryError::new(
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
        format!("authentication required: {why}"),
    );
    error.challenge = Some(value);
    error
}

/// Authenticates a registry request and checks tenancy (see the module docs).
pub(crate) fn check(
    state: &AppState,
    parts: &Parts,
    route: &Route,
) -> Result<RegistryCaller, RegistryError> {
    let strict = state.auth.mode == AuthMode::Strict;
    let caller = match credentials(state, parts) {
        Ok(Some(caller)) => caller,
        Ok(None) if strict => {
            let why = if parts.headers.contains_key(header::AUTHORIZATION) {
                "the access key is not known"
            } else {
                "no credentials were sent"
            };
            return Err(challenge(state, parts, route, why));
        }
        Err(why) if strict => return Err(challenge(state, parts, route, why)),
        Ok(None) | Err(_) => RegistryCaller::default(),
    };
    if strict
        && let Some(name) = route.name()
        && let Some((org, _)) = name.split_once('/')
        && let Some(owner) = state.store.registry_owner(org)
        && caller.domain_id.as_deref() != Some(&*owner)
    {
        return Err(RegistryError::new(
            StatusCode::FORBIDDEN,
            "DENIED",
            format!("organization {org} belongs to another account"),
        ));
    }
    Ok(caller)
}

/// `GET /v2/token`: a bearer token for the Basic credentials sent (in
/// strict mode they must verify; otherwise anything gets a token).
pub(crate) fn token(state: &AppState, parts: &Parts) -> Result<serde_json::Value, RegistryError> {
    let strict = state.auth.mode == AuthMode::Strict;
    let domain = match credentials(state, parts) {
        Ok(Some(caller)) => caller.domain_id,
        Ok(None) | Err(_) if strict => {
            let mut error = RegistryError::new(
                StatusCode::UNAUTHORIZED,
                "UNAUTHORIZED",
                "authentication required: send the login command's user and key as Basic credentials",
            );
            error.challenge = Some("Basic realm=\"ims-swr-mock registry\"".into());
            return Err(error);
        }
        Ok(None) | Err(_) => None,
    };
    let token = issue_token(state, domain.as_deref().unwrap_or(""));
    let issued = jiff::Timestamp::now().to_string();
    Ok(serde_json::json!({
        "token": token,
        "access_token": token,
        "expires_in": TOKEN_SECONDS,
        "issued_at": issued,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_login_key_is_the_hmac_of_the_ak_keyed_with_the_sk() {
        // printf "AK" | openssl dgst -sha256 -hmac "SK" (hex), as the SWR page derives it.
        assert_eq!(
            login_key("AK", "SK"),
            "32d633d480c6d326ddd8f439f4fbfc7c9a4e0fa3fc0565ccd56e027700d41b14"
        );
    }
}
