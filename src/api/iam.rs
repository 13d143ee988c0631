//! IAM project discovery, which the SDKs call when a client is built with a
//! region and no project id.
//!
//! - `GET /v3/projects?name={region}` (`KeystoneListProjects`): Keystone
//!   "Querying Project Information",
//!   <https://support.huaweicloud.com/intl/en-us/api-iam/iam_06_0001.html>.
//!   The Python SDK (docs/sdk-wire-facts.md §1) sends it signed at `build()` and wants
//!   exactly one project back.

use axum::extract::{Extension, OriginalUri, State};
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::auth::Identity;
use crate::error::{ApiError, ApiResult};
use crate::front::gated;
use crate::http::extract::ApiQuery;
use crate::state::AppState;
use crate::store::Store;

/// The region a project bound to every region is named after when the
/// request names none (the region of the README's examples).
pub(crate) const DEFAULT_REGION: &str = "cn-north-4";

/// Largest `per_page` (Keystone "Querying the Project List": 1-5000).
pub(crate) const MAX_PER_PAGE: usize = 5000;

/// IAM routes.
pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/v3/projects", get(gated(list_projects)))
}

/// Query of `KeystoneListProjects`
/// (<https://support.huaweicloud.com/intl/en-us/api-iam/iam_06_0001.html>).
#[derive(Debug, Deserialize)]
struct ProjectsQuery {
    /// Project name; by Huawei convention the region id, such as `cn-north-4`.
    name: Option<String>,
    /// Account (domain) id.
    domain_id: Option<String>,
    /// Parent id (the account id for a region's project).
    parent_id: Option<String>,
    /// `true` or `false`; every emulated project is enabled.
    enabled: Option<String>,
    /// `true` or `false`; no emulated project is a domain.
    is_domain: Option<String>,
    /// Page number from 1.
    page: Option<String>,
    /// Projects per page, 1-5000.
    per_page: Option<String>,
}

/// 400 in the gateway's envelope naming the parameter.
fn bad(name: &str, value: &str, expected: &str) -> ApiError {
    ApiError::bad_request(format!(
        "Invalid query parameter {name}={value:?}: expected {expected}."
    ))
    .in_service(crate::error::Service::Gateway)
    .with_code("APIGW.0201")
}

fn boolean(name: &str, value: Option<&str>) -> ApiResult<Option<bool>> {
    match value {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(other) => Err(bad(name, other, "true or false")),
    }
}

fn count(name: &str, value: Option<&str>, max: usize) -> ApiResult<Option<usize>> {
    match value {
        None => Ok(None),
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => Ok(Some(n)),
            _ => Err(bad(name, raw, &format!("an integer from 1 to {max}"))),
        },
    }
}

/// `GET /v3/projects`: the calling credential's projects that serve the
/// region `name`, filtered by `domain_id`, `parent_id`, `enabled` and
/// `is_domain`, paged by `page`/`per_page`. A project's `name` is its region:
/// its fixture name, else its first region, else (a project serving every
/// region) the region asked for, or [`DEFAULT_REGION`]. Links are absolute,
/// built from the `Host` the client used. An unknown credential sees none.
async fn list_projects(
    State(store): State<Store>,
    Extension(Identity(caller)): Extension<Identity>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<ProjectsQuery>,
) -> ApiResult<Json<ProjectsResponse>> {
    let enabled = boolean("enabled", query.enabled.as_deref())?;
    let is_domain = boolean("is_domain", query.is_domain.as_deref())?;
    let page = count("page", query.page.as_deref(), usize::MAX)?;
    let per_page = count("per_page", query.per_page.as_deref(), MAX_PER_PAGE)?;
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let base = format!("http://{host}");
    let found = match &caller {
        Some(caller) => store.discover_projects(caller, query.name.as_deref()),
        None => Vec::new(),
    };
    let matching: Vec<Value> = found
        .into_iter()
        .filter(|p| {
            query
                .domain_id
                .as_deref()
                .is_none_or(|d| *p.domain_id == *d)
                && query
                    .parent_id
                    .as_deref()
                    .is_none_or(|d| *p.domain_id == *d)
                && enabled.is_none_or(|e| e)
                && is_domain.is_none_or(|d| !d)
        })
        .map(|p| {
            let name = match (&p.regions, &query.name) {
                (None, Some(asked)) => asked.clone(),
                // The loader names an unnamed, unbound project by its id.
                (None, None) if p.name == p.id => DEFAULT_REGION.to_owned(),
                _ => p.name.to_string(),
            };
            json!({
                "id": p.id,
                "name": name,
                "domain_id": p.domain_id,
                "parent_id": p.domain_id,
                "is_domain": false,
                "enabled": true,
                "description": "",
                "links": {"self": format!("{base}/v3/projects/{}", p.id)},
            })
        })
        .collect();
    let projects = match per_page {
        Some(n) => {
            let skip = n.saturating_mul(page.unwrap_or(1) - 1);
            matching.into_iter().skip(skip).take(n).collect()
        }
        None if page.is_some_and(|p| p > 1) => Vec::new(),
        None => matching,
    };
    Ok(Json(ProjectsResponse {
        projects,
        links: json!({"self": format!("{base}{uri}"), "previous": null, "next": null}),
    }))
}

/// Body of `KeystoneListProjects`.
#[derive(Debug, Serialize)]
struct ProjectsResponse {
    /// Matching projects.
    projects: Vec<Value>,
    /// Paging links (absolute).
    links: Value,
}
