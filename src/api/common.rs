//! Pieces every emulated API uses: path parameters checked before the
//! handler runs.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, ApiResult};
use crate::http::extract::ApiPath;

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
