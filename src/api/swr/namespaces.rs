//! SWR organization management: list, show, create and delete organizations
//! (namespaces).
//!
//! - `GET /v2/manage/namespaces` (`ListNamespaces`), "Querying the List of
//!   Organizations", <https://support.huaweicloud.com/intl/en-us/api-swr/swr_02_0028.html>.
//! - `GET /v2/manage/namespaces/{namespace}` (`ShowNamespace`), "Querying
//!   Details About an Organization", <https://support.huaweicloud.com/intl/en-us/api-swr/swr_02_0029.html>.
//! - `POST /v2/manage/namespaces` (`CreateNamespace`), "Creating an
//!   Organization", <https://support.huaweicloud.com/intl/en-us/api-swr/swr_02_0026.html>.
//! - `DELETE /v2/manage/namespaces/{namespace}` (`DeleteNamespaces`),
//!   "Deleting an Organization", <https://support.huaweicloud.com/intl/en-us/api-swr/swr_02_0027.html>.
//!
//! Organizations are the same store records the tag APIs look repositories up
//! in; a credential sees and changes only its own account's (403
//! `SVCSTG.SWR.4030170` for another account's, from the gate).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};

use super::shared::{NamespacePath, check_namespace, ids_exhausted};
use crate::api::common::{Checked, Requester, json_text};
use crate::error::{ApiError, ApiResult};
use crate::front::gated;
use crate::http::extract::{ApiJson, ApiQuery};
use crate::state::AppState;
use crate::store::resources::{NAMESPACE_QUOTA, NamespaceView, ResourceError};
use crate::store::{DEFAULT_DOMAIN_ID, Store};

/// `auth` of an organization for its own account: 7, manage (read, write
/// and manage), the value of the pages' examples.
pub(crate) const OWNER_AUTH: i64 = 7;

/// SWR organization routes.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v2/manage/namespaces",
            get(gated(list_namespaces)).post(gated(create_namespace)),
        )
        .route(
            "/v2/manage/namespaces/{namespace}",
            get(gated(show_namespace)).delete(gated(delete_namespace)),
        )
}

impl From<ResourceError> for ApiError {
    /// The organization and repository write errors (see CONFORMANCE.md for
    /// the choice of codes where the pages give only a status).
    fn from(e: ResourceError) -> Self {
        match e {
            ResourceError::Lookup(e) => e.into(),
            ResourceError::NamespaceExists(ns) => ApiError::swr(
                "SVCSTG.SWR.4090006",
                format!(
                    "The resource already exists: organization {ns} exists (organization names are unique across accounts)."
                ),
            ),
            ResourceError::NamespaceQuota(quota) => ApiError::swr(
                "SVCSTG.SWR.4000014",
                format!(
                    "The number of organizations exceeds the upper limit: an account may create {quota} organizations."
                ),
            ),
            ResourceError::NamespaceNotEmpty(ns, repos) => ApiError::swr(
                "SVCSTG.SWR.4060012",
                format!(
                    "Failed to delete the organization because there are images in it: {ns} holds {repos} repositories; delete them first."
                ),
            ),
            ResourceError::RepoExists(repo) => ApiError::swr(
                "SVCSTG.SWR.4090006",
                format!("The image already exists: repository {repo} exists in this organization."),
            ),
            ResourceError::IdsExhausted => ids_exhausted("id"),
        }
    }
}

/// An organization as `ListNamespaces` and `ShowNamespace` answer it.
#[derive(Debug, Serialize)]
struct NamespaceBody<'a> {
    /// Organization id.
    id: i64,
    /// Organization name.
    name: &'a str,
    /// Creator (IAM user name).
    creator_name: &'a str,
    /// The caller's permission: 7 manage, 3 write, 1 read.
    auth: i64,
}

impl<'a> From<&'a NamespaceView> for NamespaceBody<'a> {
    fn from(v: &'a NamespaceView) -> Self {
        Self {
            id: v.id,
            name: &v.name,
            creator_name: &v.creator_name,
            auth: OWNER_AUTH,
        }
    }
}

/// `ListNamespaces`' answer.
#[derive(Debug, Serialize)]
struct ListBody<'a> {
    /// The organizations, by name.
    namespaces: Vec<NamespaceBody<'a>>,
}

/// Query of `ListNamespaces`.
#[derive(Debug, Deserialize)]
struct ListQuery {
    /// Keep organizations whose name contains this.
    namespace: Option<String>,
    /// The combined form `namespace::{namespace}|mode::{mode}`.
    filter: Option<String>,
}

/// `GET /v2/manage/namespaces` (`ListNamespaces`): 200
/// `{"namespaces":[{id,name,creator_name,auth}]}`, the caller's
/// organizations by name; 400 `SVCSTG.SWR.4001035` for a malformed filter.
async fn list_namespaces(
    requester: Requester,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<Response> {
    let mut name = query.namespace;
    if let Some(filter) = query.filter {
        for part in filter.split('|').filter(|p| !p.is_empty()) {
            match part.split_once("::") {
                Some(("namespace", v)) => name = Some(v.to_owned()),
                Some(("mode", _)) => {}
                _ => {
                    return Err(ApiError::swr(
                        "SVCSTG.SWR.4001035",
                        format!(
                            "Invalid filtering criteria: {part:?}; use namespace::{{name}} or mode::{{mode}}"
                        ),
                    ));
                }
            }
        }
    }
    let views = requester.state.store.list_namespaces(
        requester.domain(),
        name.as_deref().filter(|n| !n.is_empty()),
    );
    let namespaces: Vec<NamespaceBody<'_>> = views.iter().map(NamespaceBody::from).collect();
    Ok(axum::Json(ListBody { namespaces }).into_response())
}

/// `GET /v2/manage/namespaces/{namespace}` (`ShowNamespace`): 200
/// `{id,name,creator_name,auth}`; 404 `SVCSTG.SWR.4040058`.
async fn show_namespace(
    State(store): State<Store>,
    Checked(ns): Checked<NamespacePath>,
) -> ApiResult<Response> {
    let view = store.namespace(&ns)?;
    Ok(axum::Json(NamespaceBody::from(&view)).into_response())
}

/// Body of `CreateNamespace`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    /// The organization name.
    namespace: String,
}

/// `POST /v2/manage/namespaces` (`CreateNamespace`): 201 `{}`; 400
/// `SVCSTG.SWR.4001028` bad name, 400 `SVCSTG.SWR.4000014` past the
/// account's [`NAMESPACE_QUOTA`]; 409 `SVCSTG.SWR.4090006` when the name is
/// taken (by any account).
async fn create_namespace(
    requester: Requester,
    ApiJson(CreateBody { namespace }): ApiJson<CreateBody>,
) -> ApiResult<Response> {
    check_namespace(&namespace)?;
    let domain = requester.domain().unwrap_or(DEFAULT_DOMAIN_ID);
    requester
        .state
        .store
        .create_namespace(&namespace, domain, None, Some(NAMESPACE_QUOTA))?;
    Ok(created())
}

/// 201 with the pages' example body `{}`.
pub(crate) fn created() -> Response {
    json_text(StatusCode::CREATED, "{}")
}

/// `DELETE /v2/manage/namespaces/{namespace}` (`DeleteNamespaces`): 204; 404
/// `SVCSTG.SWR.4040058`; 406 `SVCSTG.SWR.4060012` while it holds repositories.
async fn delete_namespace(
    State(store): State<Store>,
    Checked(ns): Checked<NamespacePath>,
) -> ApiResult<StatusCode> {
    store.delete_namespace(&ns)?;
    Ok(StatusCode::NO_CONTENT)
}
