//! SWR tag list, v2: "Querying the List of Image Repository Tags".
//!
//! - `GET /v2/manage/namespaces/{namespace}/repos/{repository}/tags`,
//!   <https://support.huaweicloud.com/intl/en-us/api-swr/swr_02_0035.html>
//!   (seeds 002, 003). SDK: `huaweicloudsdkswr.v2.SwrClient.list_repository_tags`.
//!
//! The body is a bare JSON array whose items spell the tag name `Tag` (capital
//! T; the SDK ignores `tag` here), and the `Content-Range` header says
//! `{offset}-{count in this page}/{total}`.

use axum::Router;
use std::borrow::Cow;

use axum::extract::{Request, State};
use axum::response::Response;
use axum::routing::get;
use serde::{Deserialize, Serialize};

use super::shared::{
    RepoPath, cached, json_list, parse_offset_limit, parse_order, with_content_range,
};
use crate::error::{ApiError, ApiResult};
use crate::front::gated;
use crate::http::extract::{ApiPath, ApiQuery};
use crate::state::AppState;
use crate::store::model::format_time;
use crate::store::{PageQuery, RepoContext, Start, Store, SwrTag};

/// SWR v2 tag routes.
pub(crate) fn router() -> Router<AppState> {
    Router::new().route(
        "/v2/manage/namespaces/{namespace}/repos/{repository}/tags",
        get(gated(cached_list_repository_tags)),
    )
}

/// [`list_repository_tags`] through the page cache ([`crate::http::cache`]).
async fn cached_list_repository_tags(State(state): State<AppState>, request: Request) -> Response {
    crate::http::cache::serve(state, request, list_repository_tags).await
}

/// Query of `ListRepositoryTags`. Every value arrives as a string (the SDK
/// models `limit` and `offset` as strings) and is checked by hand, so each
/// mistake gets its own code and message.
#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    /// Start index, 0 or more.
    offset: Option<String>,
    /// Page size, 1-1000, default 100.
    limit: Option<String>,
    /// `updated_at` (default) or `tag`.
    order_column: Option<String>,
    /// `desc` (default) or `asc`.
    order_type: Option<String>,
    /// Keep only tags whose name contains this (ignoring ASCII case).
    tag: Option<String>,
    /// The combined form `offset::0|limit::10|order_column::updated_at|order_type::desc|tag::x`.
    filter: Option<String>,
}

impl ListQuery {
    /// Folds `filter=` into the separate parameters. 400 `SVCSTG.SWR.4001035`
    /// "Invalid filtering criteria" for a malformed filter, an unknown key, or
    /// a key given twice with different values.
    fn merge_filter(mut self) -> ApiResult<Self> {
        let Some(filter) = self.filter.take() else {
            return Ok(self);
        };
        let invalid = |why: String| {
            ApiError::bad_request(format!("Invalid filtering criteria: {why}"))
                .with_code("SVCSTG.SWR.4001035")
        };
        for part in filter.split('|').filter(|p| !p.is_empty()) {
            let (key, value) = part
                .split_once("::")
                .ok_or_else(|| invalid(format!("{part:?} is not key::value")))?;
            let slot = match key {
                "offset" => &mut self.offset,
                "limit" => &mut self.limit,
                "order_column" => &mut self.order_column,
                "order_type" => &mut self.order_type,
                "tag" => &mut self.tag,
                other => {
                    return Err(invalid(format!(
                        "unknown key {other:?}; use offset, limit, order_column, order_type or tag"
                    )));
                }
            };
            match slot {
                Some(existing) if existing != value => {
                    return Err(invalid(format!(
                        "{key} is given twice, as {existing:?} and {value:?}"
                    )));
                }
                _ => *slot = Some(value.to_owned()),
            }
        }
        Ok(self)
    }

    /// The page request, and the offset it starts at (for `Content-Range`;
    /// `offset` and `limit` as [`parse_offset_limit`] reads them).
    fn into_page_query(self) -> ApiResult<(usize, PageQuery)> {
        let q = self.merge_filter()?;
        let (offset, limit) = parse_offset_limit(q.offset.as_deref(), q.limit.as_deref())?;
        let query = PageQuery {
            order: parse_order(q.order_column.as_deref(), q.order_type.as_deref())?,
            filter: q.tag,
            start: Start::Offset(offset),
            limit,
        };
        Ok((offset, query))
    }
}

/// `GET /v2/manage/namespaces/{namespace}/repos/{repository}/tags`.
///
/// <https://support.huaweicloud.com/intl/en-us/api-swr/swr_02_0035.html>
///
/// - 200: bare array of tags, `Content-Range: {offset}-{count}/{total}`;
///   `[]` past the end or when nothing matches.
/// - 400: `SVCSTG.SWR.4000056` bad `limit`; `SVCSTG.SWR.4001072` `limit`
///   without `offset`; `SVCSTG.SWR.4000014` bad `offset`, `order_column` or
///   `order_type`; `SVCSTG.SWR.4001035` bad `filter`;
///   `SVCSTG.SWR.4001028`/`4001029` bad names.
/// - 404: `SVCSTG.SWR.4040058` unknown namespace, `SVCSTG.SWR.4040010`
///   unknown repository.
async fn list_repository_tags(
    State(store): State<Store>,
    ApiPath(path): ApiPath<RepoPath>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<Response> {
    let (namespace, repository) = path.resolve()?;
    let (offset, query) = query.into_page_query()?;
    let page = store.list_tags(&namespace, &repository, &query)?;
    let items: Vec<bytes::Bytes> = page
        .tags
        .iter()
        .map(|t| cached(&t.json.shapes().v2, || V2Tag::new(t, &page.ctx)))
        .collect();
    let response = json_list(b"[", &items, b"]");
    Ok(with_content_range(
        response,
        offset,
        page.tags.len(),
        page.total,
    ))
}

/// One item of the v2 list (`ShowReposTagResp`), fields in the order of seed 003.
#[derive(Debug, Serialize)]
struct V2Tag<'a> {
    /// Tag id.
    id: i64,
    /// Repository id.
    repo_id: i64,
    /// Tag name, spelled `Tag`.
    #[serde(rename = "Tag")]
    tag: &'a str,
    /// Image id.
    image_id: Cow<'a, str>,
    /// Manifest as a JSON string.
    manifest: Cow<'a, str>,
    /// Manifest digest.
    digest: Cow<'a, str>,
    /// Docker schema version.
    schema: i64,
    /// External pull path.
    path: String,
    /// Intra-cluster pull path.
    internal_path: String,
    /// Size in bytes.
    size: i64,
    /// Always false in the real service.
    is_trusted: bool,
    /// Creation time, `2018-07-06T06:18:55Z`.
    created: String,
    /// Update time.
    updated: String,
    /// Deletion time, or null.
    deleted: Option<&'a str>,
    /// Scanned flag.
    scanned: bool,
    /// 0 manifest, 1 manifest list.
    tag_type: i64,
    /// Owning account id.
    domain_id: &'a str,
}

impl<'a> V2Tag<'a> {
    fn new(t: &'a SwrTag, ctx: &'a RepoContext) -> Self {
        Self {
            id: t.id,
            repo_id: t.repo_id,
            tag: &t.name,
            image_id: ctx.image_id(t),
            manifest: ctx.manifest(t),
            digest: ctx.digest(t),
            schema: t.schema,
            path: ctx.path(t),
            internal_path: ctx.internal_path(t),
            size: ctx.size(t),
            is_trusted: t.is_trusted,
            created: format_time(t.created),
            updated: format_time(t.updated),
            deleted: t.explicit().deleted.as_deref(),
            scanned: t.scanned,
            tag_type: t.tag_type,
            domain_id: &ctx.domain_id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(filter: &str) -> ListQuery {
        ListQuery {
            filter: Some(filter.into()),
            ..Default::default()
        }
    }

    #[test]
    fn the_filter_form_sets_every_parameter() {
        let (offset, pq) = q("offset::5|limit::10|order_column::tag|order_type::asc|tag::v1")
            .into_page_query()
            .unwrap();
        assert_eq!(offset, 5);
        assert_eq!(pq.start, Start::Offset(5));
        assert_eq!(pq.limit, 10);
        assert_eq!(pq.filter.as_deref(), Some("v1"));
        assert_eq!(pq.order.column, crate::store::OrderColumn::Tag);
    }

    #[test]
    fn malformed_or_conflicting_filters_are_rejected() {
        for bad in ["offset=5", "size::5", "limit::"] {
            let err = q(bad).into_page_query().unwrap_err();
            let code = err.code().unwrap();
            assert!(
                code == "SVCSTG.SWR.4001035" || code == "SVCSTG.SWR.4000056",
                "{bad}: {code}"
            );
        }
        let mut conflict = q("offset::0|limit::10");
        conflict.limit = Some("20".into());
        assert_eq!(
            conflict.into_page_query().unwrap_err().code(),
            Some("SVCSTG.SWR.4001035")
        );
    }
}
