//! SWR tag list, v3: "Querying the Image Tag List (V3)".
//!
//! - `GET /v3/manage/namespaces/{namespace}/repos/{repository}/tags`,
//!   <https://support.huaweicloud.com/intl/en-us/api-swr/swr_02_0125.html>
//!   (seed 004). SDK: `huaweicloudsdkswr.v2.SwrClient.list_repository_tag`.
//!
//! Paging is by marker. A marker is the sort key of the last tag of the
//! previous page (not an offset), so a walk returns every tag exactly once
//! even while other tags are added or removed between pages. It is opaque to
//! clients: URL-safe base64 of `{column}{direction}:{key}`.

use std::borrow::Cow;

use axum::Router;
use axum::extract::{Request, State};
use axum::response::Response;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::swr::{RepoPath, cached, invalid_parameter, json_list, parse_limit, parse_order};
use crate::error::ApiResult;
use crate::extract::{ApiPath, ApiQuery};
use crate::front::gated;
use crate::state::AppState;
use crate::store::model::format_time;
use crate::store::{Order, OrderType, PageQuery, RepoContext, SortKey, Start, Store, SwrTag};

/// SWR v3 tag routes.
pub fn router() -> Router<AppState> {
    Router::new().route(
        "/v3/manage/namespaces/{namespace}/repos/{repository}/tags",
        get(gated(cached_list_repository_tag)),
    )
}

/// [`list_repository_tag`] through the page cache ([`crate::api::cache`]).
async fn cached_list_repository_tag(State(state): State<AppState>, request: Request) -> Response {
    super::cache::serve(state, request, list_repository_tag).await
}

/// Query of `ListRepositoryTag`.
#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    /// Page size, 1-1000, default 100.
    limit: Option<String>,
    /// The previous page's `nextMarker`.
    marker: Option<String>,
    /// Keep only tags whose name contains this (fuzzy match, ignoring ASCII case).
    tag: Option<String>,
    /// `updated_at` (default) or `tag`.
    order_column: Option<String>,
    /// `desc` (default) or `asc`.
    order_type: Option<String>,
    /// `true` to fill `manifest`; it is `""` otherwise.
    with_manifest: Option<String>,
}

/// `GET /v3/manage/namespaces/{namespace}/repos/{repository}/tags`.
///
/// <https://support.huaweicloud.com/intl/en-us/api-swr/swr_02_0125.html>
///
/// - 200 `{"tags":[…],"nextMarker":"…","has_more":true}`; on the last page
///   `nextMarker` is absent ("If this parameter is not returned, the data has
///   been queried") and `has_more` is false.
/// - 400: `SVCSTG.SWR.4000056` bad `limit`; `SVCSTG.SWR.4000014` bad
///   `marker`, `with_manifest`, `order_column` or `order_type`;
///   `SVCSTG.SWR.4001028`/`4001029` bad names.
/// - 404: `SVCSTG.SWR.4040058` unknown namespace, `SVCSTG.SWR.4040010`
///   unknown repository.
async fn list_repository_tag(
    State(store): State<Store>,
    ApiPath(path): ApiPath<RepoPath>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<Response> {
    let (namespace, repository) = path.resolve()?;
    let order = parse_order(query.order_column.as_deref(), query.order_type.as_deref())?;
    let with_manifest = match query.with_manifest.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => return Err(invalid_parameter("with_manifest", other, "true or false")),
    };
    let start = match query.marker.as_deref() {
        None | Some("") => Start::Offset(0),
        Some(marker) => Start::After(decode_marker(marker, order).ok_or_else(|| {
            invalid_parameter(
                "marker",
                marker,
                "the nextMarker of a previous page listed in the same order",
            )
        })?),
    };
    let page = store.list_tags(
        &namespace,
        &repository,
        &PageQuery {
            order,
            filter: query.tag,
            start,
            limit: parse_limit(query.limit.as_deref())?,
        },
    )?;
    let next_marker = page
        .next
        .as_ref()
        .map(|key| encode_marker(key, order.direction));
    // Each tag's JSON is built once and reused: a page is a concatenation.
    let items: Vec<Bytes> = page
        .tags
        .iter()
        .map(|t| {
            let shapes = t.json.shapes();
            let cell = if with_manifest {
                &shapes.v3_manifest
            } else {
                &shapes.v3
            };
            cached(cell, || V3Tag::new(t, &page.ctx, with_manifest))
        })
        .collect();
    // The marker is URL-safe base64: nothing in it needs escaping.
    let tail = match &next_marker {
        Some(m) => format!("],\"nextMarker\":\"{m}\",\"has_more\":true}}"),
        None => "],\"has_more\":false}".to_owned(),
    };
    Ok(json_list(b"{\"tags\":[", &items, tail.as_bytes()))
}

/// Encodes a sort key as an opaque marker.
fn encode_marker(key: &SortKey, direction: OrderType) -> String {
    let d = match direction {
        OrderType::Asc => 'a',
        OrderType::Desc => 'd',
    };
    let text = match key {
        SortKey::Updated { updated, name } => format!("u{d}:{updated}:{name}"),
        SortKey::Name(name) => format!("t{d}:{name}"),
    };
    URL_SAFE_NO_PAD.encode(text)
}

/// Decodes a marker made by [`encode_marker`] for the same order; `None` for
/// anything else.
fn decode_marker(marker: &str, order: Order) -> Option<SortKey> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(marker).ok()?).ok()?;
    let (head, rest) = text.split_once(':')?;
    let direction = match head.get(1..)? {
        "a" => OrderType::Asc,
        "d" => OrderType::Desc,
        _ => return None,
    };
    let key = match head.get(..1)? {
        "u" => {
            let (updated, name) = rest.split_once(':')?;
            SortKey::Updated {
                updated: updated.parse().ok()?,
                name: name.into(),
            }
        }
        "t" => SortKey::Name(rest.into()),
        _ => return None,
    };
    (direction == order.direction && key.column() == order.column).then_some(key)
}

/// One item of the v3 list (`ShowReposTagRespV3`), fields in the order of
/// seed 004; also the body of `ShowRepoTag`.
#[derive(Debug, Serialize)]
pub(crate) struct V3Tag<'a> {
    /// Tag id.
    id: i64,
    /// Repository id.
    repo_id: i64,
    /// Tag name, spelled `tag`.
    tag: &'a str,
    /// Image id.
    image_id: Cow<'a, str>,
    /// Manifest, or `""` unless `with_manifest=true`.
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
    /// Creation time.
    created: String,
    /// Update time.
    updated: String,
    /// Owning account id.
    domain_id: &'a str,
    /// 0 manifest, 1 manifest list.
    tag_type: i64,
}

impl<'a> V3Tag<'a> {
    /// The item for `t`; `manifest` is `""` unless `with_manifest`.
    pub(crate) fn new(t: &'a SwrTag, ctx: &'a RepoContext, with_manifest: bool) -> Self {
        Self {
            id: t.id,
            repo_id: t.repo_id,
            tag: &t.name,
            image_id: ctx.image_id(t),
            manifest: if with_manifest {
                ctx.manifest(t)
            } else {
                Cow::Borrowed("")
            },
            digest: ctx.digest(t),
            schema: t.schema,
            path: ctx.path(t),
            internal_path: ctx.internal_path(t),
            size: ctx.size(t),
            is_trusted: t.is_trusted,
            created: format_time(t.created),
            updated: format_time(t.updated),
            domain_id: &ctx.domain_id,
            tag_type: t.tag_type,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::OrderColumn;

    #[test]
    fn markers_round_trip_only_in_their_own_order() {
        let order = Order {
            column: OrderColumn::UpdatedAt,
            direction: OrderType::Desc,
        };
        let key = SortKey::Updated {
            updated: 1_530_857_935,
            name: "v1:rc/x".into(),
        };
        let marker = encode_marker(&key, order.direction);
        assert!(
            marker
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(decode_marker(&marker, order), Some(key));
        let asc = Order {
            direction: OrderType::Asc,
            ..order
        };
        assert_eq!(decode_marker(&marker, asc), None);
        for garbage in ["9a909b", "!!!", "", "dTp4", "dWQ6eDp5"] {
            assert_eq!(decode_marker(garbage, order), None, "{garbage}");
        }
    }
}
