//! The registry: OCI Distribution v2 on the API's port, so `docker`/`podman`
//! `login`, `push` and `pull`, `skopeo` and `oras` work against the emulator,
//! and what they push shows up in the SWR tag APIs.
//!
//! Spec: <https://github.com/opencontainers/distribution-spec/blob/main/spec.md>
//! (pull, push, content discovery, content management).
//!
//! # Routing
//! A registry path has the repository name in the middle
//! (`/v2/<organization>/<repo…>/manifests/<ref>`), which a route template
//! cannot express, and `/v2/…` is shared with IMS (`/v2/{project_id}/…`) and
//! SWR (`/v2/manage/…`). So the registry sits in the router's fallbacks:
//! an exact API route always wins, and only a request that no API route
//! serves is read as a registry request, recognised by its suffix and method
//! ([`parse`]): `/manifests/<ref>`, `/blobs/<digest>`, `/blobs/uploads/[<id>]`,
//! `/tags/list`, `/referrers/<digest>`, plus `/v2/` and the token endpoint
//! `/v2/token`. Anything else gets the gateway's 404 as before.
//!
//! Registry requests answer in the distribution spec's error format
//! (`{"errors":[{"code","message","detail"}]}`), skip the 1 MiB API body
//! limit (blobs stream into the blob store under `--max-blob-bytes`) and are
//! not subject to fault rules.
//!
//! # Names
//! `<organization>/<repo…>`: the first component is the SWR organization, the
//! rest the repository (`group/app`, which the SWR API spells `group$app`).

pub(crate) mod auth;
mod handlers;

use std::sync::LazyLock;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::handler::Handler as _;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use regex::Regex;
use serde_json::json;

use crate::state::AppState;

/// The API version header every registry answer carries.
pub(crate) const API_VERSION: &str = "registry/2.0";

/// Media types of manifests.
pub(crate) mod media {
    /// Docker image manifest, schema 2.
    pub(crate) const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
    /// Docker manifest list.
    pub(crate) const DOCKER_LIST: &str =
        "application/vnd.docker.distribution.manifest.list.v2+json";
    /// OCI image manifest.
    pub(crate) const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
    /// OCI image index.
    pub(crate) const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
}

/// A repository name as the distribution spec allows it.
static NAME_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$")
        .expect("valid pattern")
});

/// A tag as the distribution spec allows it.
static TAG_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$").expect("valid pattern"));

/// A digest (`algorithm:hex`); only sha256 is stored.
static DIGEST_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^sha256:[a-f0-9]{64}$").expect("valid pattern"));

/// What a registry request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    /// `GET /v2/`: the API version check.
    Base,
    /// `GET /v2/token`: the bearer token endpoint.
    Token,
    /// `/v2/<name>/manifests/<reference>`.
    Manifest {
        /// Repository name.
        name: String,
        /// Tag or digest.
        reference: String,
    },
    /// `/v2/<name>/blobs/<digest>`.
    Blob {
        /// Repository name.
        name: String,
        /// Digest.
        digest: String,
    },
    /// `/v2/<name>/blobs/uploads/[<id>]`.
    Upload {
        /// Repository name.
        name: String,
        /// Upload id; `None` for the `POST` that starts one.
        id: Option<String>,
    },
    /// `GET /v2/<name>/tags/list`.
    Tags {
        /// Repository name.
        name: String,
    },
    /// `GET /v2/<name>/referrers/<digest>`.
    Referrers {
        /// Repository name.
        name: String,
        /// The subject's digest.
        digest: String,
    },
}

impl Route {
    /// The repository name, if the route has one.
    pub(crate) fn name(&self) -> Option<&str> {
        match self {
            Route::Base | Route::Token => None,
            Route::Manifest { name, .. }
            | Route::Blob { name, .. }
            | Route::Upload { name, .. }
            | Route::Tags { name }
            | Route::Referrers { name, .. } => Some(name),
        }
    }
}

/// Reads `method path` as a registry request, by suffix and method; `None`
/// when it is not one (see the module docs).
pub(crate) fn parse(method: &Method, path: &str) -> Option<Route> {
    let get = matches!(*method, Method::GET | Method::HEAD);
    if path == "/v2/" || path == "/v2" {
        return get.then_some(Route::Base);
    }
    if path == "/v2/token" {
        return get.then_some(Route::Token);
    }
    let rest = path.strip_prefix("/v2/")?;
    if let Some(name) = rest.strip_suffix("/tags/list") {
        return (*method == Method::GET).then(|| Route::Tags { name: name.into() });
    }
    if let Some((name, id)) = rest.rsplit_once("/blobs/uploads/") {
        let id = (!id.is_empty()).then(|| id.to_owned());
        let ok = match id {
            None => *method == Method::POST,
            Some(ref id) => {
                !id.contains('/')
                    && matches!(
                        *method,
                        Method::GET | Method::PATCH | Method::PUT | Method::DELETE
                    )
            }
        };
        return ok.then(|| Route::Upload {
            name: name.into(),
            id,
        });
    }
    if let Some(name) = rest.strip_suffix("/blobs/uploads") {
        return (*method == Method::POST).then(|| Route::Upload {
            name: name.into(),
            id: None,
        });
    }
    if let Some((name, reference)) = rest.rsplit_once("/manifests/") {
        let ok = matches!(
            *method,
            Method::GET | Method::HEAD | Method::PUT | Method::DELETE
        );
        return (ok && !reference.is_empty() && !reference.contains('/')).then(|| {
            Route::Manifest {
                name: name.into(),
                reference: reference.into(),
            }
        });
    }
    if let Some((name, digest)) = rest.rsplit_once("/blobs/") {
        let ok = matches!(*method, Method::GET | Method::HEAD | Method::DELETE);
        return (ok && !digest.is_empty() && !digest.contains('/')).then(|| Route::Blob {
            name: name.into(),
            digest: digest.into(),
        });
    }
    if let Some((name, digest)) = rest.rsplit_once("/referrers/") {
        return (*method == Method::GET && !digest.is_empty() && !digest.contains('/')).then(
            || Route::Referrers {
                name: name.into(),
                digest: digest.into(),
            },
        );
    }
    None
}

/// Splits a repository name into the SWR organization and repository, or
/// says why it cannot be one.
pub(crate) fn split_name(name: &str) -> Result<(&str, &str), RegistryError> {
    if name.len() > 255 || !NAME_RE.is_match(name) {
        return Err(RegistryError::new(
            StatusCode::BAD_REQUEST,
            "NAME_INVALID",
            format!("invalid repository name {name:?}"),
        ));
    }
    match name.split_once('/') {
        Some((org, repo)) => Ok((org, repo)),
        None => Err(RegistryError::new(
            StatusCode::BAD_REQUEST,
            "NAME_INVALID",
            format!(
                "repository name {name:?} has no organization: SWR names are <organization>/<repository>"
            ),
        )),
    }
}

/// Whether `reference` is a digest (else a tag).
pub(crate) fn is_digest(reference: &str) -> bool {
    reference.contains(':')
}

/// Checks a digest: only `sha256:<64 hex>` is accepted.
pub(crate) fn check_digest(digest: &str) -> Result<(), RegistryError> {
    check_form(&DIGEST_RE, digest, "DIGEST_INVALID", || {
        format!("invalid digest {digest:?}: sha256:<64 lowercase hex> expected")
    })
}

/// Checks a tag name.
pub(crate) fn check_tag(tag: &str) -> Result<(), RegistryError> {
    check_form(&TAG_RE, tag, "TAG_INVALID", || {
        format!("invalid tag {tag:?}")
    })
}

/// `text` if it matches `re`, else a 400 with `code` and the message.
fn check_form(
    re: &Regex,
    text: &str,
    code: &'static str,
    message: impl FnOnce() -> String,
) -> Result<(), RegistryError> {
    if re.is_match(text) {
        Ok(())
    } else {
        Err(RegistryError::new(StatusCode::BAD_REQUEST, code, message()))
    }
}

/// An error in the distribution spec's format.
#[derive(Debug, Clone)]
pub(crate) struct RegistryError {
    /// The HTTP status.
    pub(crate) status: StatusCode,
    /// The spec's code (`BLOB_UNKNOWN`, `MANIFEST_UNKNOWN`, …).
    pub(crate) code: &'static str,
    /// A message for people.
    pub(crate) message: String,
    /// Extra headers (`WWW-Authenticate` on a 401).
    pub(crate) challenge: Option<String>,
}

impl RegistryError {
    /// An error with `status`, `code` and `message`.
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            challenge: None,
        }
    }
}

impl IntoResponse for RegistryError {
    fn into_response(self) -> Response {
        let body = json!({"errors": [{
            "code": self.code,
            "message": self.message,
            "detail": null,
        }]});
        let mut response = (self.status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            "docker-distribution-api-version",
            HeaderValue::from_static(API_VERSION),
        );
        if let Some(challenge) = self.challenge
            && let Ok(value) = HeaderValue::from_str(&challenge)
        {
            headers.insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

impl From<crate::store::blobs::BlobError> for RegistryError {
    fn from(e: crate::store::blobs::BlobError) -> Self {
        use crate::store::blobs::BlobError;
        let (status, code) = match &e {
            BlobError::Full { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "DENIED"),
            BlobError::UploadUnknown(_) => (StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN"),
            BlobError::DigestMismatch(_) => (StatusCode::BAD_REQUEST, "DIGEST_INVALID"),
            BlobError::TooManyUploads(_) => (StatusCode::TOO_MANY_REQUESTS, "TOOMANYREQUESTS"),
            BlobError::RangeInvalid { .. } => {
                (StatusCode::RANGE_NOT_SATISFIABLE, "BLOB_UPLOAD_INVALID")
            }
        };
        Self::new(status, code, e.to_string())
    }
}

/// The API router's fallback (unknown path): a registry request if it reads
/// as one, else the gateway's 404 behind the gate as before.
pub(crate) async fn fallback(State(state): State<AppState>, request: Request) -> Response {
    registry_or(super::not_found, state, request).await
}

/// The API router's fallback for a known path with another method: a
/// registry request if it reads as one, else the gateway's answer.
pub(crate) async fn method_fallback(State(state): State<AppState>, request: Request) -> Response {
    registry_or(super::method_not_allowed, state, request).await
}

/// A registry request if `request` reads as one, else `otherwise` behind
/// the gate (faults apply to it as to any API answer).
async fn registry_or<H, T>(otherwise: H, state: AppState, request: Request) -> Response
where
    H: axum::handler::Handler<T, AppState>,
    T: 'static,
{
    match parse(request.method(), request.uri().path()) {
        Some(route) => handlers::handle(state, route, request).await,
        None => crate::front::faulted(otherwise).call(request, state).await,
    }
}

/// Adds the version header to a successful answer.
fn versioned(mut response: Response) -> Response {
    response.headers_mut().insert(
        "docker-distribution-api-version",
        HeaderValue::from_static(API_VERSION),
    );
    response
}

/// An empty body.
fn empty() -> Body {
    Body::empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_requests_are_recognised_by_suffix_and_method() {
        let d = format!("sha256:{}", "a".repeat(64));
        assert_eq!(parse(&Method::GET, "/v2/"), Some(Route::Base));
        assert_eq!(
            parse(&Method::PUT, "/v2/org/group/app/manifests/v1"),
            Some(Route::Manifest {
                name: "org/group/app".into(),
                reference: "v1".into()
            })
        );
        assert_eq!(
            parse(&Method::HEAD, &format!("/v2/org/app/blobs/{d}")),
            Some(Route::Blob {
                name: "org/app".into(),
                digest: d.clone()
            })
        );
        assert_eq!(
            parse(&Method::POST, "/v2/org/app/blobs/uploads/"),
            Some(Route::Upload {
                name: "org/app".into(),
                id: None
            })
        );
        assert_eq!(
            parse(&Method::PATCH, "/v2/org/app/blobs/uploads/u1"),
            Some(Route::Upload {
                name: "org/app".into(),
                id: Some("u1".into())
            })
        );
        assert_eq!(
            parse(&Method::GET, "/v2/org/app/tags/list"),
            Some(Route::Tags {
                name: "org/app".into()
            })
        );
        // Wrong method, or no registry suffix: not a registry request.
        assert_eq!(parse(&Method::POST, "/v2/org/app/tags/list"), None);
        assert_eq!(parse(&Method::GET, "/v2/p1/images/tags"), None);
        assert_eq!(parse(&Method::PATCH, "/v2/org/app/manifests/v1"), None);
    }

    #[test]
    fn names_split_into_organization_and_repository() {
        assert_eq!(split_name("org/group/app").unwrap(), ("org", "group/app"));
        assert_eq!(split_name("app").unwrap_err().code, "NAME_INVALID");
        assert_eq!(split_name("Org/app").unwrap_err().code, "NAME_INVALID");
    }
}
