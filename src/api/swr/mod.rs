//! SWR (SoftWare Repository for Container) APIs, one file per API page.
//!
//! - [`v2`]: `ListRepositoryTags`, `GET /v2/manage/namespaces/{namespace}/repos/{repository}/tags`.
//! - [`v3`]: `ListRepositoryTag`, the marker-paged `GET /v3/manage/…/tags`.
//! - [`tags`]: `ShowRepoTag`, `CreateRepoTag`, `DeleteRepoTag`, and the routes of
//!   every tag path (the two lists included).
//! - [`namespaces`]: `ListNamespaces`, `ShowNamespace`, `CreateNamespace`, `DeleteNamespaces`.
//! - [`repos`]: `ListReposDetails` (v2), `ListRepoDetails` (v3), `ShowRepository`, `CreateRepo`, `UpdateRepo`, `DeleteRepo`.
//! - [`secret`]: `CreateSecret`, `CreateAuthorizationToken` (registry login commands).
//! - [`admin`]: the admin route that pushes a tag (`/_mock/swr/…`).
//! - [`shared`]: name rules, sort parameters, limits and tag fields the pages share.

pub(crate) mod admin;
pub(crate) mod namespaces;
pub(crate) mod repos;
pub(crate) mod secret;
pub(crate) mod shared;
pub(crate) mod tags;
pub(crate) mod v2;
pub(crate) mod v3;
