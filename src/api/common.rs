//! Pieces every emulated API uses: path parameters checked before the
//! handler runs, who asks, query words read from a table, and answers of
//! JSON text made in advance.

use std::sync::Arc;

use axum::Extension;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use crate::auth::Identity;

use crate::error::{ApiError, ApiResult};
use crate::http::extract::ApiPath;
use crate::state::AppState;

/// Path parameters with rules of their own (name patterns, id formats),
/// checked by the [`Checked`] extractor before the handler runs.
pub(crate) trait PathParams: DeserializeOwned + Send {
    /// What the handler gets: the parameters, checked (and normalised).
    type Checked: Send;

    /// Checks the parameters: a 400 in the service's envelope, naming the
    /// parameter, when one breaks its rules.
    fn check(self) -> ApiResult<Self::Checked>;
}

/// Extracts the path parameters `P` and checks them ([`PathParams::check`]),
/// so that a handler only ever sees valid names.
#[derive(Debug)]
pub(crate) struct Checked<P: PathParams>(pub P::Checked);

impl<P: PathParams, S: Send + Sync> FromRequestParts<S> for Checked<P> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> ApiResult<Self> {
        let ApiPath(params) = ApiPath::<P>::from_request_parts(parts, state).await?;
        params.check().map(Self)
    }
}

/// Who asks: the caller's identity and the project its `X-Project-Id`
/// names, with the state to answer from. In `--auth strict` every request
/// names a known caller; lists then show only its resources.
#[derive(Debug)]
pub(crate) struct Requester {
    /// The server state.
    pub(crate) state: AppState,
    /// The caller, when the credential is known.
    pub(crate) identity: Identity,
    /// `X-Project-Id`, which scopes the IMS routes without a project in
    /// their path (checked where it is used).
    pub(crate) project_header: Option<Arc<str>>,
}

impl Requester {
    /// The caller's account id, when the credential is known.
    pub(crate) fn domain(&self) -> Option<&str> {
        self.identity.0.as_ref().map(|c| &*c.domain_id)
    }
}

impl FromRequestParts<AppState> for Requester {
    type Rejection = <Extension<Identity> as FromRequestParts<AppState>>::Rejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Extension(identity) = Extension::from_request_parts(parts, state).await?;
        let project_header = parts
            .headers
            .get("x-project-id")
            .and_then(|v| v.to_str().ok())
            .map(Arc::<str>::from);
        Ok(Self {
            state: state.clone(),
            identity,
            project_header,
        })
    }
}

/// An answer whose body is JSON text already (serialised once and cached,
/// or written by hand), with `Content-Type: application/json`.
pub(crate) fn json_text(status: StatusCode, body: impl IntoResponse) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// A query parameter that takes one of a few words, each with its meaning.
#[derive(Debug)]
pub(crate) struct Words<T: 'static> {
    /// The parameter's name, as the 400 names it.
    name: &'static str,
    /// The meaning when the parameter is absent.
    default: T,
    /// Each word with its meaning, in the order the 400 lists them.
    words: &'static [(&'static str, T)],
}

impl<T: Copy> Words<T> {
    /// The parameter `name`: absent, `default`; otherwise one of `words`.
    pub(crate) const fn new(
        name: &'static str,
        default: T,
        words: &'static [(&'static str, T)],
    ) -> Self {
        Self {
            name,
            default,
            words,
        }
    }

    /// Reads the parameter: absent, the default; one of the words, its
    /// meaning; anything else, `reject(name, value, expected)` with the words
    /// listed in order (`"a, b or c"`), so that each API renders the 400 in
    /// its own envelope.
    pub(crate) fn parse(
        &self,
        raw: Option<&str>,
        reject: fn(&str, &str, &str) -> ApiError,
    ) -> ApiResult<T> {
        let Some(raw) = raw else {
            return Ok(self.default);
        };
        if let Some(&(_, value)) = self.words.iter().find(|(word, _)| *word == raw) {
            return Ok(value);
        }
        let expected = match self.words {
            [] => String::new(),
            [one] => one.0.to_owned(),
            [rest @ .., last] => {
                let rest: Vec<&str> = rest.iter().map(|(word, _)| *word).collect();
                format!("{} or {}", rest.join(", "), last.0)
            }
        };
        Err(reject(self.name, raw, &expected))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn echo(name: &str, value: &str, expected: &str) -> ApiError {
        ApiError::bad_request(format!("{name}={value:?}; expected {expected}"))
    }

    #[test]
    fn words_give_the_default_a_meaning_or_a_400_listing_them_in_order() {
        const THREE: Words<u8> = Words::new("w", 2, &[("a", 0), ("b", 1), ("c", 2)]);
        assert_eq!(THREE.parse(None, echo).ok(), Some(2));
        assert_eq!(THREE.parse(Some("b"), echo).ok(), Some(1));
        let e = THREE.parse(Some("B"), echo).unwrap_err();
        assert_eq!(e.message(), r#"w="B"; expected a, b or c"#);
        const ONE: Words<bool> = Words::new("one", false, &[("yes", true)]);
        let e = ONE.parse(Some(""), echo).unwrap_err();
        assert_eq!(e.message(), r#"one=""; expected yes"#);
    }
}
