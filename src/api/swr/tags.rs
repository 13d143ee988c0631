//! SWR single-tag operations: show, create (retag) and delete.
//!
//! - `GET /v2/manage/namespaces/{namespace}/repos/{repository}/tags/{tag}`:
//!   "Querying a Specified Image Tag" (`ShowRepoTag`),
//!   <https://support.huaweicloud.com/intl/en-us/api-swr/ShowRepoTag.html>.
//! - `POST /v2/manage/namespaces/{namespace}/repos/{repository}/tags`:
//!   "Creating an Image Tag" (`CreateRepoTag`),
//!   <https://support.huaweicloud.com/api-swr/swr_02_0076.html>.
//! - `DELETE /v2/manage/namespaces/{namespace}/repos/{repository}/tags/{tag}`:
//!   "Deleting the Image with a Specified Tag" (`DeleteRepoTag`),
//!   <https://support.huaweicloud.com/intl/en-us/api-swr/swr_02_0036.html>.
//!
//! Writes are visible at once in the v2 and v3 lists, in their place in
//! every order (a retag's `updated` is now).

use std::sync::LazyLock;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use regex::Regex;
use serde::Deserialize;

use super::shared::{RepoPath, ids_exhausted};
use super::v3::V3Tag;
use crate::api::common::{Checked, PathParams, json_text};
use crate::error::{ApiError, ApiResult};
use crate::front::{gated, gated_cached};
use crate::http::extract::ApiJson;
use crate::state::AppState;
use crate::store::{Store, TagWriteError};

/// Docker tag names: a word character first, then up to 127 of `[A-Za-z0-9_.-]`.
/// The same pattern is in `fixtures/schema.json`.
pub(crate) const TAG_PATTERN: &str = "^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$";

static TAG_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(TAG_PATTERN).expect("valid pattern"));

/// SWR tag routes: the two tag lists ([`super::v2`], [`super::v3`]) and
/// the single-tag operations.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v2/manage/namespaces/{namespace}/repos/{repository}/tags",
            get(gated_cached(super::v2::list_repository_tags)).post(gated(create_repo_tag)),
        )
        .route(
            "/v3/manage/namespaces/{namespace}/repos/{repository}/tags",
            get(gated_cached(super::v3::list_repository_tag)),
        )
        .route(
            "/v2/manage/namespaces/{namespace}/repos/{repository}/tags/{tag}",
            get(gated(show_repo_tag)).delete(gated(delete_repo_tag)),
        )
}

/// `{namespace}`, `{repository}` and `{tag}` from the path.
#[derive(Debug, Deserialize)]
struct TagPath {
    /// `{namespace}` and `{repository}`.
    #[serde(flatten)]
    repo: RepoPath,
    tag: String,
}

impl PathParams for TagPath {
    /// The organization, the repository (with `/`) and the tag.
    type Checked = (String, String, String);

    fn check(self) -> ApiResult<(String, String, String)> {
        let (ns, repo) = self.repo.resolve()?;
        check_tag(&self.tag, "tag")?;
        Ok((ns, repo, self.tag))
    }
}

/// 400 `SVCSTG.SWR.4009021` "Invalid image tag" (SWR error-code table).
fn check_tag(tag: &str, field: &str) -> ApiResult<()> {
    if TAG_RE.is_match(tag) {
        Ok(())
    } else {
        Err(ApiError::swr(
            "SVCSTG.SWR.4009021",
            format!(
                "Invalid image tag: {field}={tag:?}; use up to 128 of A-Z a-z 0-9 _ . -, not starting with . or -."
            ),
        ))
    }
}

impl From<TagWriteError> for ApiError {
    /// 404 `SVCSTG.SWR.4040048` "The image tag was not found"; 409
    /// `SVCSTG.SWR.4090006` "The image already exists" (SWR error-code table).
    fn from(e: TagWriteError) -> Self {
        match e {
            TagWriteError::Lookup(e) => e.into(),
            TagWriteError::TagNotFound(tag) => ApiError::swr(
                "SVCSTG.SWR.4040048",
                format!("The image tag was not found: {tag}"),
            ),
            TagWriteError::TagExists(tag) => ApiError::swr(
                "SVCSTG.SWR.4090006",
                format!(
                    "The image already exists: tag {tag} exists; send \"override\": true to replace it"
                ),
            ),
            TagWriteError::IdsExhausted => ids_exhausted("tag id"),
        }
    }
}

/// `GET …/tags/{tag}` (`ShowRepoTag`): 200 with the tag, lowercase `tag`,
/// manifest included; 404 `SVCSTG.SWR.4040048` when it does not exist.
async fn show_repo_tag(
    State(store): State<Store>,
    Checked((ns, repo, name)): Checked<TagPath>,
) -> ApiResult<Response> {
    let Some(tag) = store.tag(&ns, &repo, &name)? else {
        return Err(TagWriteError::TagNotFound(name).into());
    };
    let ctx = store.list_context(&ns, &repo)?;
    let body = super::shared::cached(&tag.json.shapes().v3_manifest, || {
        V3Tag::new(&tag, &ctx, true)
    });
    Ok(json_text(StatusCode::OK, body))
}

/// Body of `CreateRepoTag`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateTagBody {
    /// The existing tag.
    source_tag: String,
    /// The new tag.
    destination_tag: String,
    /// Replace `destination_tag` if it exists (default false).
    #[serde(default)]
    r#override: bool,
}

/// `POST …/tags` (`CreateRepoTag`): 201 with an empty body; 404
/// `SVCSTG.SWR.4040048` when the source is missing; 409 `SVCSTG.SWR.4090006`
/// when the destination exists and `override` is false.
async fn create_repo_tag(
    State(store): State<Store>,
    Checked((ns, repo)): Checked<RepoPath>,
    ApiJson(body): ApiJson<CreateTagBody>,
) -> ApiResult<StatusCode> {
    check_tag(&body.source_tag, "source_tag")?;
    check_tag(&body.destination_tag, "destination_tag")?;
    store.retag(
        &ns,
        &repo,
        &body.source_tag,
        &body.destination_tag,
        body.r#override,
    )?;
    Ok(StatusCode::CREATED)
}

/// `DELETE …/tags/{tag}` (`DeleteRepoTag`): 204; 404 `SVCSTG.SWR.4040048`.
async fn delete_repo_tag(
    State(store): State<Store>,
    Checked((ns, repo, name)): Checked<TagPath>,
) -> ApiResult<StatusCode> {
    store.delete_tag(&ns, &repo, &name)?;
    Ok(StatusCode::NO_CONTENT)
}
