//! SWR tag list, v3: "Querying the Image Tag List (V3)".
//!
//! - `GET /v3/manage/namespaces/{namespace}/repos/{repository}/tags`,
//!   <https://support.huaweicloud.com/intl/en-us/api-swr/swr_02_0125.html>
//!   (seed 004). SDK: `huaweicloudsdkswr.v2.SwrClient.list_repository_tag`.
//!
//! Paging is by marker. A marker carries the walk's position: the sort key
//! of the last tag of the previous page (not an offset) and the repository's
//! change number when the walk began. Pages follow the order the repository
//! had at the start of the walk, so a walk returns every tag that exists
//! for its whole length exactly once, even while other clients add, remove
//! or re-tag (`override`) tags between pages ([`Store::walk_tags`]).
//!
//! Markers are opaque to clients and signed: URL-safe base64 of a
//! truncated HMAC-SHA256 (a key drawn at process start, over the namespace,
//! the repository and the payload) followed by the payload. A marker this
//! process did not issue for this repository and order (forged, tampered
//! with, from another repository, order or process, or from before a reset)
//! gets 400 `SVCSTG.SWR.4000014`, never a silent position.

use std::borrow::Cow;

use axum::extract::State;
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use hmac::{Hmac, Mac as _};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::shared::{
    RepoPath, TagFields, TagListParams, cached, invalid_parameter, json_list, parse_limit,
};
use crate::api::common::{Checked, Words};
use crate::error::ApiError;
use crate::error::ApiResult;
use crate::http::extract::ApiQuery;
use crate::store::{
    Order, OrderColumn, OrderType, RepoContext, SortKey, Store, SwrTag, WalkError, WalkPosition,
    WalkQuery,
};

/// Query of `ListRepositoryTag`: the parameters both lists take, `marker`
/// and `with_manifest`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListQuery {
    /// `limit`, `tag` (a fuzzy match), `order_column`, `order_type`.
    #[serde(flatten)]
    list: TagListParams,
    /// The previous page's `nextMarker`.
    marker: Option<String>,
    /// `true` to fill `manifest`; it is `""` otherwise.
    with_manifest: Option<String>,
}

/// `with_manifest` (default false).
const WITH_MANIFEST: Words<bool> =
    Words::new("with_manifest", false, &[("true", true), ("false", false)]);

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
pub(crate) async fn list_repository_tag(
    State(store): State<Store>,
    Checked((namespace, repository)): Checked<RepoPath>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<Response> {
    let order = query.list.order()?;
    let with_manifest = WITH_MANIFEST.parse(query.with_manifest.as_deref(), invalid_parameter)?;
    let after = match query.marker.as_deref() {
        None | Some("") => None,
        Some(marker) => Some(
            decode_marker(marker, &namespace, &repository, order)
                .ok_or_else(|| marker_error(marker, None))?,
        ),
    };
    let page = store
        .walk_tags(
            &namespace,
            &repository,
            &WalkQuery {
                order,
                filter: query.list.tag,
                after,
                limit: parse_limit(query.list.limit.as_deref())?,
            },
        )?
        .map_err(|e| marker_error(query.marker.as_deref().unwrap_or_default(), Some(e)))?;
    let next_marker = page
        .next
        .as_ref()
        .map(|p| encode_marker(p, &namespace, &repository, order.direction));
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

/// 400 `SVCSTG.SWR.4000014` for a marker that cannot be used, saying why.
fn marker_error(marker: &str, why: Option<WalkError>) -> ApiError {
    let expected = match why {
        Some(WalkError::Stale) => {
            "a marker of the current walk: the walk began before the repository was reset or \
             reloaded; start the walk again without a marker"
                .to_owned()
        }
        Some(WalkError::Expired) => format!(
            "a marker of a more recent walk: more than {} tags of the repository changed since \
             this walk began; start the walk again without a marker",
            crate::store::WALK_CHANGE_WINDOW
        ),
        _ => "the nextMarker of a previous page of this repository, listed in the same order \
              (this server did not issue this marker)"
            .to_owned(),
    };
    invalid_parameter("marker", marker, &expected)
}

/// Bytes of the HMAC-SHA256 kept in a marker.
const MAC_LEN: usize = 16;

/// Marker format version.
const MARKER_VERSION: u8 = 1;

/// The process's marker key, drawn at first use.
fn marker_key() -> &'static [u8; 32] {
    static KEY: std::sync::OnceLock<[u8; 32]> = std::sync::OnceLock::new();
    KEY.get_or_init(|| {
        let mut key = [0; 32];
        for chunk in key.chunks_mut(8) {
            chunk.copy_from_slice(&crate::store::random_u64().to_le_bytes());
        }
        key
    })
}

/// The MAC of a marker payload for one repository.
fn marker_mac(namespace: &str, repository: &str, payload: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(marker_key()).expect("any key length");
    for part in [
        namespace.as_bytes(),
        b"\0",
        repository.as_bytes(),
        b"\0",
        payload,
    ] {
        mac.update(part);
    }
    mac
}

/// The column and direction byte pair of a marker.
fn order_bytes(column: OrderColumn, direction: OrderType) -> [u8; 2] {
    let c = match column {
        OrderColumn::UpdatedAt => b'u',
        OrderColumn::Tag => b't',
    };
    let d = match direction {
        OrderType::Asc => b'a',
        OrderType::Desc => b'd',
    };
    [c, d]
}

/// Encodes a walk position as an opaque, signed marker.
fn encode_marker(
    position: &WalkPosition,
    namespace: &str,
    repository: &str,
    direction: OrderType,
) -> String {
    let mut payload = Vec::with_capacity(64);
    payload.push(MARKER_VERSION);
    payload.extend(order_bytes(position.after.column(), direction));
    payload.extend(position.epoch.to_be_bytes());
    payload.extend(position.since.to_be_bytes());
    match &position.after {
        SortKey::Updated { updated, name } => {
            payload.extend(updated.to_be_bytes());
            payload.extend(name.as_bytes());
        }
        SortKey::Name(name) => payload.extend(name.as_bytes()),
    }
    let mac = marker_mac(namespace, repository, &payload)
        .finalize()
        .into_bytes();
    let mut bytes = mac[..MAC_LEN].to_vec();
    bytes.extend(payload);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes a marker made by [`encode_marker`] for the same repository and
/// order; `None` for anything else (the MAC is checked in constant time).
fn decode_marker(
    marker: &str,
    namespace: &str,
    repository: &str,
    order: Order,
) -> Option<WalkPosition> {
    let bytes = URL_SAFE_NO_PAD.decode(marker).ok()?;
    let (mac, payload) = bytes.split_at_checked(MAC_LEN)?;
    marker_mac(namespace, repository, payload)
        .verify_truncated_left(mac)
        .ok()?;
    let (&version, rest) = payload.split_first()?;
    let (head, rest) = rest.split_at_checked(2)?;
    if version != MARKER_VERSION || head != order_bytes(order.column, order.direction) {
        return None;
    }
    let (epoch, rest) = rest.split_first_chunk::<8>()?;
    let (since, rest) = rest.split_first_chunk::<8>()?;
    let after = match order.column {
        OrderColumn::UpdatedAt => {
            let (updated, name) = rest.split_first_chunk::<8>()?;
            SortKey::Updated {
                updated: i64::from_be_bytes(*updated),
                name: std::str::from_utf8(name).ok()?.into(),
            }
        }
        OrderColumn::Tag => SortKey::Name(std::str::from_utf8(rest).ok()?.into()),
    };
    Some(WalkPosition {
        epoch: u64::from_be_bytes(*epoch),
        since: u64::from_be_bytes(*since),
        after,
    })
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
    /// `image_id` to `updated`; `manifest` is `""` unless `with_manifest=true`.
    #[serde(flatten)]
    fields: TagFields<'a>,
    /// Owning account id.
    domain_id: &'a str,
    /// 0 manifest, 1 manifest list.
    tag_type: i64,
}

impl<'a> V3Tag<'a> {
    /// The item for `t`; `manifest` is `""` unless `with_manifest`.
    pub(crate) fn new(t: &'a SwrTag, ctx: &'a RepoContext, with_manifest: bool) -> Self {
        let manifest = if with_manifest {
            ctx.manifest(t)
        } else {
            Cow::Borrowed("")
        };
        Self {
            id: t.id,
            repo_id: t.repo_id,
            tag: &t.name,
            fields: TagFields::new(t, ctx, manifest),
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
    fn markers_round_trip_only_in_their_own_order_and_repository() {
        let order = Order {
            column: OrderColumn::UpdatedAt,
            direction: OrderType::Desc,
        };
        let position = WalkPosition {
            epoch: 7,
            since: 42,
            after: SortKey::Updated {
                updated: 1_530_857_935,
                name: "v1:rc/x".into(),
            },
        };
        let marker = encode_marker(&position, "ns", "group/app", order.direction);
        assert!(
            marker
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(
            decode_marker(&marker, "ns", "group/app", order),
            Some(position.clone())
        );
        let asc = Order {
            direction: OrderType::Asc,
            ..order
        };
        assert_eq!(decode_marker(&marker, "ns", "group/app", asc), None);
        assert_eq!(decode_marker(&marker, "ns", "group/app2", order), None);
        assert_eq!(decode_marker(&marker, "ns2", "group/app", order), None);
        // Any single bit flipped anywhere is refused.
        let bytes = URL_SAFE_NO_PAD.decode(&marker).unwrap();
        for i in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[i] ^= 0x10;
            let flipped = URL_SAFE_NO_PAD.encode(flipped);
            assert_eq!(
                decode_marker(&flipped, "ns", "group/app", order),
                None,
                "{i}"
            );
        }
        for garbage in ["9a909b", "!!!", "", "dTp4", "dWQ6eDp5"] {
            assert_eq!(
                decode_marker(garbage, "ns", "group/app", order),
                None,
                "{garbage}"
            );
        }
    }
}
