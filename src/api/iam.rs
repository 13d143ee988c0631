//! IAM project discovery, which the SDKs call when a client is built with a
//! region and no project id.
//!
//! - `GET /v3/projects?name={region}`: Keystone "Querying Project Information",
//!   <https://support.huaweicloud.com/intl/en-us/api-iam/iam_06_0001.html>.
//!   The Python SDK (api-surface §1) sends it signed at `build()` and wants
//!   exactly one project back.

use axum::extract::{Extension, OriginalUri, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::auth::Identity;
use crate::extract::ApiQuery;
use crate::front::gated;
use crate::state::AppState;
use crate::store::Store;

/// IAM routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/v3/projects", get(gated(list_projects)))
}

/// Query of `KeystoneListProjects`.
#[derive(Debug, Deserialize)]
struct ProjectsQuery {
    /// Project name; by convention the region id, such as `cn-north-4`.
    name: Option<String>,
}

/// `GET /v3/projects?name={region}`: the calling credential's projects that
/// serve the region. A fixture project without `regions` serves every region
/// name; an unknown credential sees none.
async fn list_projects(
    State(store): State<Store>,
    Extension(Identity(caller)): Extension<Identity>,
    OriginalUri(uri): OriginalUri,
    ApiQuery(query): ApiQuery<ProjectsQuery>,
) -> Json<ProjectsResponse> {
    let found = match &caller {
        Some(caller) => store.discover_projects(caller, query.name.as_deref()),
        None => Vec::new(),
    };
    let projects = found
        .into_iter()
        .map(|p| {
            // A project bound to no region takes the name it was asked for.
            let name = match (&p.regions, &query.name) {
                (None, Some(asked)) => asked.clone(),
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
                "links": {"self": format!("/v3/projects/{}", p.id)},
            })
        })
        .collect();
    Json(ProjectsResponse {
        projects,
        links: json!({"self": uri.to_string(), "previous": null, "next": null}),
    })
}

/// Body of `KeystoneListProjects`.
#[derive(Debug, Serialize)]
struct ProjectsResponse {
    /// Matching projects.
    projects: Vec<Value>,
    /// Paging links (always one page).
    links: Value,
}
