//! SWR image repository management: list (v2 by offset, v3 by marker),
//! show, create, update and delete repositories.
//!
//! - `GET /v2/manage/repos` (`ListReposDetails`), "Querying the Image
//!   Repository List", <https://support.huaweicloud.com/intl/en-us/api-swr/swr_02_0034.html>.
//! - `GET /v3/manage/repos` (`ListRepoDetails`), "Querying the Image
//!   Repository List (v3)", <https://support.huaweicloud.com/intl/en-us/api-swr/ListRepoDetails.html>.
//! - `GET /v2/manage/namespaces/{namespace}/repos/{repository}`
//!   (`ShowRepository`), "Querying the Brief Information on an Image
//!   Repository", <https://support.huaweicloud.com/intl/en-us/api-swr/swr_02_0033.html>.
//! - `POST /v2/manage/namespaces/{namespace}/repos` (`CreateRepo`),
//!   "Creating an Image Repository", <https://support.huaweicloud.com/intl/en-us/api-swr/swr_02_0030.html>.
//! - `PATCH /v2/manage/namespaces/{namespace}/repos/{repository}`
//!   (`UpdateRepo`), "Updating the Brief Information on an Image Repository",
//!   <https://support.huaweicloud.com/intl/en-us/api-swr/swr_02_0032.html>.
//! - `DELETE /v2/manage/namespaces/{namespace}/repos/{repository}`
//!   (`DeleteRepo`), "Deleting an Image Repository",
//!   <https://support.huaweicloud.com/intl/en-us/api-swr/swr_02_0031.html>.
//!
//! A repository's `num_images`, `size` and `updated_at` are read from its
//! tags under the same lock as the tag lists (see [`crate::store::resources`]).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use super::namespaces::created;
use super::shared::{
    NamespacePath, RepoPath, cached, invalid_parameter, json_list, json_list_with, parse_limit,
    parse_offset_limit, with_content_range,
};
use crate::api::common::{Checked, Requester, Words, json_text};
use crate::error::{ApiError, ApiResult};
use crate::front::gated;
use crate::http::extract::{ApiJson, ApiQuery};
use crate::state::AppState;
use crate::store::Store;
use crate::store::model::format_time;
use crate::store::resources::{
    CATEGORIES, RepoColumn, RepoFields, RepoFilter, RepoListQuery, RepoView, RepoWalkQuery,
    RepoWrite,
};

/// Longest `description` accepted (the console's limit; no page states one).
pub(crate) const MAX_DESCRIPTION: usize = 30_000;

/// SWR repository routes.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/v2/manage/repos", get(gated(list_repos_details)))
        .route("/v3/manage/repos", get(gated(list_repo_details)))
        .route(
            "/v2/manage/namespaces/{namespace}/repos",
            post(gated(create_repo)),
        )
        .route(
            "/v2/manage/namespaces/{namespace}/repos/{repository}",
            get(gated(show_repository))
                .patch(gated(update_repo))
                .delete(gated(delete_repo)),
        )
}

/// 400 `SVCSTG.SWR.4000014` unless `category` is one the pages list.
fn check_category(category: &str) -> ApiResult<()> {
    if CATEGORIES.contains(&category) {
        Ok(())
    } else {
        Err(invalid_parameter(
            "category",
            category,
            "app_server, linux, framework_app, database, lang, windows, arm or other",
        ))
    }
}

/// Parses a boolean query value (`true`/`false`, any case: the Python SDK
/// sends `True`).
fn parse_bool(name: &str, raw: &str) -> ApiResult<bool> {
    match raw.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(invalid_parameter(name, raw, "true or false")),
    }
}

/// `order_column` of the repository lists (default `namespace`).
const ORDER_COLUMN: Words<RepoColumn> = Words::new(
    "order_column",
    RepoColumn::Namespace,
    &[
        ("updated_at", RepoColumn::UpdatedAt),
        ("name", RepoColumn::Name),
        ("tag_count", RepoColumn::TagCount),
        ("namespace", RepoColumn::Namespace),
        ("is_public", RepoColumn::IsPublic),
    ],
);

/// `order_type`: `desc` is true; `asc` (default) false.
const ORDER_TYPE: Words<bool> = Words::new("order_type", false, &[("desc", true), ("asc", false)]);

/// The filter parameters both lists share.
#[derive(Debug, Default, Deserialize)]
struct FilterParams {
    namespace: Option<String>,
    name: Option<String>,
    category: Option<String>,
    is_public: Option<String>,
}

impl FilterParams {
    fn into_filter(self) -> ApiResult<RepoFilter> {
        let non_empty = |v: Option<String>| v.filter(|s| !s.is_empty());
        let category = non_empty(self.category);
        if let Some(c) = &category {
            check_category(c)?;
        }
        Ok(RepoFilter {
            namespace: non_empty(self.namespace),
            name: non_empty(self.name),
            category,
            is_public: non_empty(self.is_public)
                .map(|p| parse_bool("is_public", &p))
                .transpose()?,
        })
    }
}

/// Query of `ListReposDetails` (v2); every value arrives as a string.
#[derive(Debug, Default, Deserialize)]
struct V2Query {
    #[serde(flatten)]
    filter: FilterParams,
    offset: Option<String>,
    limit: Option<String>,
    order_column: Option<String>,
    order_type: Option<String>,
    /// The combined form `center::self|namespace::x|name::y|category::z|offset::0|limit::10|order_column::name|order_type::asc`.
    #[serde(rename = "filter")]
    combined: Option<String>,
}

impl V2Query {
    /// Folds `filter=` into the separate parameters: 400 `SVCSTG.SWR.4001035`
    /// for a malformed part or an unknown key.
    fn merge_filter(mut self) -> ApiResult<Self> {
        let Some(combined) = self.combined.take() else {
            return Ok(self);
        };
        for part in combined.split('|').filter(|p| !p.is_empty()) {
            let invalid = || {
                ApiError::swr(
                    "SVCSTG.SWR.4001035",
                    format!(
                        "Invalid filtering criteria: {part:?}; use key::value with center, namespace, name, category, is_public, offset, limit, order_column or order_type"
                    ),
                )
            };
            let (key, value) = part.split_once("::").ok_or_else(invalid)?;
            let slot = match key {
                "center" => continue,
                "namespace" => &mut self.filter.namespace,
                "name" => &mut self.filter.name,
                "category" => &mut self.filter.category,
                "is_public" => &mut self.filter.is_public,
                "offset" => &mut self.offset,
                "limit" => &mut self.limit,
                "order_column" => &mut self.order_column,
                "order_type" => &mut self.order_type,
                _ => return Err(invalid()),
            };
            *slot = Some(value.to_owned());
        }
        Ok(self)
    }

    fn into_query(self) -> ApiResult<(usize, RepoListQuery)> {
        let q = self.merge_filter()?;
        let (offset, limit) = parse_offset_limit(q.offset.as_deref(), q.limit.as_deref())?;
        let column = ORDER_COLUMN.parse(q.order_column.as_deref(), invalid_parameter)?;
        let desc = ORDER_TYPE.parse(q.order_type.as_deref(), invalid_parameter)?;
        Ok((
            offset,
            RepoListQuery {
                filter: q.filter.into_filter()?,
                column,
                desc,
                offset,
                limit,
            },
        ))
    }
}

/// The fields every repository answer carries, in the order of the pages'
/// examples (`#[serde(flatten)]` into `V2Repo` and `V3Repo`).
#[derive(Debug, Serialize)]
struct RepoSummary<'a> {
    name: &'a str,
    category: &'a str,
    description: &'a str,
    size: i64,
    is_public: bool,
    num_images: usize,
    num_download: i64,
    created_at: String,
    updated_at: String,
}

impl<'a> From<&'a RepoView> for RepoSummary<'a> {
    fn from(v: &'a RepoView) -> Self {
        Self {
            name: &v.ctx.repository,
            category: &v.meta.category,
            description: &v.meta.description,
            size: v.size,
            is_public: v.meta.is_public,
            num_images: v.num_images,
            num_download: v.meta.num_download,
            created_at: format_time(v.meta.created),
            updated_at: format_time(v.updated_at),
        }
    }
}

/// The external and the intra-cluster pull paths of a repository.
fn pull_paths(v: &RepoView) -> (String, String) {
    let at = |host: &str| format!("{host}/{}/{}", v.ctx.namespace, v.ctx.repository);
    (at(&v.ctx.registry_host), at(&v.ctx.internal_host))
}

/// One item of the v2 list (`ShowReposResp`) but its last field,
/// `total_range`, which depends on the request's filter (see [`v2_items`]).
#[derive(Debug, Serialize)]
struct V2Repo<'a> {
    #[serde(flatten)]
    summary: RepoSummary<'a>,
    logo: &'a str,
    url: &'a str,
    path: String,
    internal_path: String,
    domain_name: &'a str,
    namespace: &'a str,
    tags: Vec<&'a str>,
    status: bool,
}

impl<'a> V2Repo<'a> {
    fn new(v: &'a RepoView) -> Self {
        let (path, internal_path) = pull_paths(v);
        Self {
            summary: RepoSummary::from(v),
            logo: "",
            url: "",
            path,
            internal_path,
            domain_name: &v.domain_name,
            namespace: &v.ctx.namespace,
            tags: v.tags.iter().map(|t| &**t).collect(),
            status: false,
        }
    }
}

/// The v2 list's answer: each item's cached JSON (its view's
/// [`V2Repo`], serialised once, without the closing brace) followed by
/// `,"total_range":{total}}`, the only part that depends on the request.
fn v2_items(views: &[std::sync::Arc<RepoView>], total: usize) -> Response {
    let heads: Vec<bytes::Bytes> = views
        .iter()
        .map(|v| {
            v.json
                .v2_head
                .get_or_init(|| {
                    let mut json = serde_json::to_vec(&V2Repo::new(v)).unwrap_or_default();
                    // The closing brace: `total_range` follows in each answer.
                    json.pop();
                    json.into()
                })
                .clone()
        })
        .collect();
    let item_tail = format!(",\"total_range\":{total}}}");
    json_list_with(b"[", &heads, item_tail.as_bytes(), b"]")
}

/// `GET /v2/manage/repos` (`ListReposDetails`): 200, a bare array of the
/// caller's repositories with `Content-Range: {offset}-{count}/{total}`.
/// Default order: organization, then name, ascending (no page states one).
/// 400: `SVCSTG.SWR.4000056` bad `limit`, `SVCSTG.SWR.4001072` `limit`
/// without `offset`, `SVCSTG.SWR.4000014` bad `offset`, `order_column`,
/// `order_type`, `category` or `is_public`, `SVCSTG.SWR.4001035` bad `filter`.
async fn list_repos_details(
    requester: Requester,
    ApiQuery(query): ApiQuery<V2Query>,
) -> ApiResult<Response> {
    let (offset, query) = query.into_query()?;
    let page = requester.state.store.list_repos(requester.domain(), &query);
    let response = v2_items(&page.repos, page.total);
    Ok(with_content_range(
        response,
        offset,
        page.repos.len(),
        page.total,
    ))
}

/// Query of `ListRepoDetails` (v3).
#[derive(Debug, Default, Deserialize)]
struct V3Query {
    #[serde(flatten)]
    filter: FilterParams,
    limit: Option<String>,
    marker: Option<String>,
}

/// One item of the v3 list (`ShowReposRespV3`).
#[derive(Debug, Serialize)]
struct V3Repo<'a> {
    id: i64,
    #[serde(flatten)]
    summary: RepoSummary<'a>,
    domain_name: &'a str,
    namespace_name: &'a str,
    status: bool,
}

/// `GET /v3/manage/repos` (`ListRepoDetails`): 200 `{"repos":[…],
/// "nextMarker":N}` (`nextMarker` absent on the last page), each item its
/// view's cached JSON. The marker is an integer (the SDK models it so): the id
/// of the last repository returned; pages follow repository ids, so a walk
/// returns every repository that exists throughout exactly once, whatever is
/// created or deleted between pages. 400 `SVCSTG.SWR.4000056` bad `limit`,
/// `SVCSTG.SWR.4000014` bad `marker`, `category` or `is_public`.
async fn list_repo_details(
    requester: Requester,
    ApiQuery(query): ApiQuery<V3Query>,
) -> ApiResult<Response> {
    let limit = parse_limit(query.limit.as_deref())?;
    let after = match query.marker.as_deref().filter(|m| !m.is_empty()) {
        None => None,
        Some(raw) => Some(raw.parse::<i64>().ok().filter(|m| *m >= 0).ok_or_else(|| {
            invalid_parameter("marker", raw, "an integer of 0 or more (a nextMarker)")
        })?),
    };
    let walk = RepoWalkQuery {
        filter: query.filter.into_filter()?,
        after,
        limit,
    };
    let page = requester.state.store.walk_repos(requester.domain(), &walk);
    let items: Vec<bytes::Bytes> = page
        .repos
        .iter()
        .map(|v| {
            cached(&v.json.v3, || V3Repo {
                id: v.id,
                summary: RepoSummary::from(&**v),
                domain_name: &v.domain_name,
                namespace_name: &v.ctx.namespace,
                status: false,
            })
        })
        .collect();
    let tail = match page.next {
        Some(next) => format!("],\"nextMarker\":{next}}}"),
        None => "]}".to_owned(),
    };
    Ok(json_list(b"{\"repos\":[", &items, tail.as_bytes()))
}

/// `ShowRepository`'s answer.
#[derive(Debug, Serialize)]
struct ShowBody<'a> {
    id: i64,
    ns_id: i64,
    name: &'a str,
    category: &'a str,
    description: &'a str,
    creator_id: &'a str,
    creator_name: &'a str,
    size: i64,
    is_public: bool,
    num_images: usize,
    num_download: i64,
    url: &'a str,
    path: String,
    internal_path: String,
    created: String,
    updated: String,
    domain_id: &'a str,
    priority: i64,
}

/// `GET /v2/manage/namespaces/{namespace}/repos/{repository}`
/// (`ShowRepository`): 200 (the view's cached JSON); 404
/// `SVCSTG.SWR.4040058` / `SVCSTG.SWR.4040010`.
async fn show_repository(
    State(store): State<Store>,
    Checked((ns, repo)): Checked<RepoPath>,
) -> ApiResult<Response> {
    let v = store.repository(&ns, &repo)?;
    let body = cached(&v.json.show, || {
        let (path, internal_path) = pull_paths(&v);
        ShowBody {
            id: v.id,
            ns_id: v.ns_id,
            name: &v.ctx.repository,
            category: &v.meta.category,
            description: &v.meta.description,
            creator_id: &v.ctx.domain_id,
            creator_name: &v.creator_name,
            size: v.size,
            is_public: v.meta.is_public,
            num_images: v.num_images,
            num_download: v.meta.num_download,
            url: "",
            path,
            internal_path,
            created: format_time(v.meta.created),
            updated: format_time(v.updated_at),
            domain_id: &v.ctx.domain_id,
            priority: 0,
        }
    });
    Ok(json_text(StatusCode::OK, body))
}

/// Body of `CreateRepo`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    /// Repository name (`/` allowed).
    repository: String,
    /// Public or private.
    is_public: bool,
    /// One of [`CATEGORIES`].
    category: Option<String>,
    /// Free text.
    description: Option<String>,
}

/// Body of `UpdateRepo`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateBody {
    /// Public or private.
    is_public: bool,
    /// One of [`CATEGORIES`].
    category: Option<String>,
    /// Free text.
    description: Option<String>,
}

impl UpdateBody {
    /// The fields to write, checked ([`repo_fields`]).
    fn into_fields(self) -> ApiResult<RepoFields> {
        repo_fields(self.category, self.description, self.is_public)
    }
}

/// The repository fields of a `CreateRepo` or `UpdateRepo` body, checked:
/// 400 `SVCSTG.SWR.4000014` for an unknown category or a description over
/// [`MAX_DESCRIPTION`] characters.
fn repo_fields(
    category: Option<String>,
    description: Option<String>,
    is_public: bool,
) -> ApiResult<RepoFields> {
    if let Some(c) = &category {
        check_category(c)?;
    }
    if let Some(d) = &description
        && d.chars().count() > MAX_DESCRIPTION
    {
        return Err(invalid_parameter(
            "description",
            &format!("{} characters", d.chars().count()),
            &format!("at most {MAX_DESCRIPTION} characters"),
        ));
    }
    Ok(RepoFields {
        category,
        description,
        is_public: Some(is_public),
    })
}

/// `POST /v2/manage/namespaces/{namespace}/repos` (`CreateRepo`): 201 `{}`;
/// 400 `SVCSTG.SWR.4001029` bad name, `SVCSTG.SWR.4000014` bad category; 404
/// `SVCSTG.SWR.4040058` unknown organization; 409 `SVCSTG.SWR.4090006` when
/// the repository exists.
async fn create_repo(
    State(store): State<Store>,
    Checked(namespace): Checked<NamespacePath>,
    ApiJson(body): ApiJson<CreateBody>,
) -> ApiResult<Response> {
    let (ns, repo) = RepoPath {
        namespace,
        repository: body.repository,
    }
    .resolve()?;
    let fields = repo_fields(body.category, body.description, body.is_public)?;
    store.write_repo(&ns, &repo, RepoWrite::Create, &fields)?;
    Ok(created())
}

/// `PATCH /v2/manage/namespaces/{namespace}/repos/{repository}`
/// (`UpdateRepo`): 201 `{}`; 400 `SVCSTG.SWR.4000014` bad category; 404.
async fn update_repo(
    State(store): State<Store>,
    Checked((ns, repo)): Checked<RepoPath>,
    ApiJson(body): ApiJson<UpdateBody>,
) -> ApiResult<Response> {
    store.write_repo(&ns, &repo, RepoWrite::Update, &body.into_fields()?)?;
    Ok(created())
}

/// `DELETE /v2/manage/namespaces/{namespace}/repos/{repository}`
/// (`DeleteRepo`): 204, its tags go with it; 404.
async fn delete_repo(
    State(store): State<Store>,
    Checked((ns, repo)): Checked<RepoPath>,
) -> ApiResult<StatusCode> {
    store.delete_repo(&ns, &repo)?;
    Ok(StatusCode::NO_CONTENT)
}
