//! SWR tag list, v2: "Querying the List of Image Repository Tags".
//!
//! - `GET /v2/manage/namespaces/{namespace}/repos/{repository}/tags`,
//!   <https://support.huaweicloud.com/intl/en-us/api-swr/swr_02_0035.html>
//!   (seeds 002, 003). SDK: `huaweicloudsdkswr.v2.SwrClient.list_repository_tags`.
//!
//! The body is a bare JSON array whose items spell the tag name `Tag` (capital
//! T; the SDK ignores `tag` here), and the `Content-Range` header says
//! `{offset}-{count in this page}/{total}`.

use axum::extract::State;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::shared::{
    RepoPath, TagFields, TagListParams, cached, json_list, parse_offset_limit, with_content_range,
};
use crate::api::common::Checked;
use crate::error::{ApiError, ApiResult};
use crate::http::extract::ApiQuery;
use crate::store::{PageQuery, RepoContext, Start, Store, SwrTag};

/// Query of `ListRepositoryTags`: the parameters both lists take, `offset`,
/// and the combined `filter`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListQuery {
    /// Start index, 0 or more.
    offset: Option<String>,
    /// `limit`, `tag`, `order_column`, `order_type`.
    #[serde(flatten)]
    list: TagListParams,
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
            ApiError::swr(
                "SVCSTG.SWR.4001035",
                format!("Invalid filtering criteria: {why}"),
            )
        };
        for part in filter.split('|').filter(|p| !p.is_empty()) {
            let (key, value) = part
                .split_once("::")
                .ok_or_else(|| invalid(format!("{part:?} is not key::value")))?;
            let slot = match key {
                "offset" => &mut self.offset,
                "limit" => &mut self.list.limit,
                "order_column" => &mut self.list.order_column,
                "order_type" => &mut self.list.order_type,
                "tag" => &mut self.list.tag,
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
        let (offset, limit) = parse_offset_limit(q.offset.as_deref(), q.list.limit.as_deref())?;
        let query = PageQuery {
            order: q.list.order()?,
            filter: q.list.tag,
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
pub(crate) async fn list_repository_tags(
    State(store): State<Store>,
    Checked((namespace, repository)): Checked<RepoPath>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<Response> {
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
    /// `image_id` to `updated`, the manifest included.
    #[serde(flatten)]
    fields: TagFields<'a>,
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
            fields: TagFields::new(t, ctx, ctx.manifest(t)),
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
        conflict.list.limit = Some("20".into());
        assert_eq!(
            conflict.into_page_query().unwrap_err().code(),
            Some("SVCSTG.SWR.4001035")
        );
    }
}
