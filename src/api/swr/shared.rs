//! Pieces shared by the SWR tag APIs: name rules, sort parameters, limits,
//! and the tag fields both list formats carry.
//!
//! Error codes come from the SWR error-code table,
//! <https://support.huaweicloud.com/intl/en-us/api-swr/ErrorCode.html>
//! (the Open Telekom Cloud copy of the same table lists the 400/404 codes
//! below with their messages).

use std::borrow::Cow;
use std::sync::LazyLock;

use axum::http::StatusCode;
use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::api::common::{PathParams, Words, json_text};
use crate::error::{ApiError, ApiResult};
use crate::store::model::format_time;
use crate::store::{LookupError, Order, OrderColumn, OrderType, RepoContext, SwrTag};

/// Namespace (organization) names: 1-64 characters, a lowercase letter
/// first, a lowercase letter or digit last, lowercase letters and digits
/// joined by `.`, `_`, `__` or one or more `-` (the SWR FAQ's regular
/// expression, which allows repeated hyphens as Docker's reference grammar
/// does: `a--b` is valid; see CONFORMANCE.md for the sources). The length is
/// checked separately. The same pattern is in `fixtures/schema.json`.
pub(crate) const NAMESPACE_PATTERN: &str = "^[a-z][a-z0-9]*(?:(?:[._]|__|-+)[a-z0-9]+)*$";

/// Repository names: 1-128 characters, a lowercase letter or digit first and
/// last, components joined by `.`, `_`, `__`, `/` or one or more `-`.
pub(crate) const REPOSITORY_PATTERN: &str = "^[a-z0-9]+(?:(?:[._/]|__|-+)[a-z0-9]+)*$";

static NAMESPACE_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(NAMESPACE_PATTERN).expect("valid pattern"));
static REPOSITORY_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(REPOSITORY_PATTERN).expect("valid pattern"));

/// Default and largest page sizes of both list APIs.
pub(crate) const DEFAULT_LIMIT: usize = 100;
/// Largest page size of both list APIs.
pub(crate) const MAX_LIMIT: usize = 1000;

/// `{namespace}` and `{repository}` as they arrive in the path.
#[derive(Debug, Deserialize)]
pub(crate) struct RepoPath {
    /// Organization name.
    pub namespace: String,
    /// Repository name, with `/` written as `$` (raw, or `%24` from the Python SDK).
    pub repository: String,
}

impl RepoPath {
    /// Validates both names and turns `$` back into `/`.
    ///
    /// 400 `SVCSTG.SWR.4001028` "Invalid organization name" or
    /// `SVCSTG.SWR.4001029` "Invalid image name".
    pub(crate) fn resolve(self) -> ApiResult<(String, String)> {
        let ns = self.namespace;
        check_namespace(&ns)?;
        let repo = self.repository.replace('$', "/");
        if repo.len() > 128 || !REPOSITORY_RE.is_match(&repo) {
            return Err(ApiError::swr(
                "SVCSTG.SWR.4001029",
                format!(
                    "Invalid image name: {repo:?}. Use 1-128 lowercase letters, digits, '.', '/', '_' or '-', starting and ending with a letter or digit, with no two separators together except '__' and repeated '-'; send '/' as '$'."
                ),
            ));
        }
        Ok((ns, repo))
    }
}

impl PathParams for RepoPath {
    /// The organization and the repository (with `/`).
    type Checked = (String, String);

    fn check(self) -> ApiResult<(String, String)> {
        self.resolve()
    }
}

/// `{namespace}` as it arrives in the path.
#[derive(Debug, Deserialize)]
pub(crate) struct NamespacePath {
    /// Organization name.
    namespace: String,
}

impl PathParams for NamespacePath {
    /// The organization.
    type Checked = String;

    fn check(self) -> ApiResult<String> {
        check_namespace(&self.namespace)?;
        Ok(self.namespace)
    }
}

/// 400 `SVCSTG.SWR.4001028` "Invalid organization name" unless `ns`
/// follows the organization name rules.
pub(crate) fn check_namespace(ns: &str) -> ApiResult<()> {
    if ns.len() <= 64 && NAMESPACE_RE.is_match(ns) {
        return Ok(());
    }
    Err(ApiError::swr(
        "SVCSTG.SWR.4001028",
        format!(
            "Invalid organization name: {ns:?}. Use 1-64 lowercase letters, digits, '.', '_' or '-', starting with a letter and ending with a letter or digit, with no two separators together except '__' and repeated '-'."
        ),
    ))
}

impl From<LookupError> for ApiError {
    /// 404 `SVCSTG.SWR.4040058` "The organization was not found" or
    /// `SVCSTG.SWR.4040010` "The image does not exist" (the SWR table's words
    /// for a missing repository).
    fn from(e: LookupError) -> Self {
        match e {
            LookupError::NamespaceNotFound(ns) => ApiError::swr(
                "SVCSTG.SWR.4040058",
                format!("The organization was not found: {ns}"),
            ),
            LookupError::RepositoryNotFound(repo) => ApiError::swr(
                "SVCSTG.SWR.4040010",
                format!("The image does not exist: repository {repo} was not found"),
            ),
        }
    }
}

/// 507 when every id up to [`crate::store::MAX_ID`] is taken (`what`: "id",
/// "tag id"); SWR has no code for it.
pub(crate) fn ids_exhausted(what: &str) -> ApiError {
    ApiError::new(
        StatusCode::INSUFFICIENT_STORAGE,
        format!("No {what} is left: ids go up to {}.", crate::store::MAX_ID),
    )
}

/// A JSON answer from pre-serialised parts (`head`, the items joined with
/// commas, `tail`), with `Content-Type: application/json`.
pub(crate) fn json_list(
    head: &[u8],
    items: &[bytes::Bytes],
    tail: &[u8],
) -> axum::response::Response {
    json_list_with(head, items, b"", tail)
}

/// [`json_list`] with `item_tail` written after each item: the part of an
/// item that depends on the request, after its cached part.
pub(crate) fn json_list_with(
    head: &[u8],
    items: &[bytes::Bytes],
    item_tail: &[u8],
    tail: &[u8],
) -> axum::response::Response {
    let per_item = item_tail.len() + 1;
    let size = head.len() + tail.len() + items.iter().map(|i| i.len() + per_item).sum::<usize>();
    let mut body = bytes::BytesMut::with_capacity(size);
    body.extend_from_slice(head);
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            body.extend_from_slice(b",");
        }
        body.extend_from_slice(item);
        body.extend_from_slice(item_tail);
    }
    body.extend_from_slice(tail);
    json_text(StatusCode::OK, body.freeze())
}

/// The cached JSON of `value`, built by `make` on first use.
pub(crate) fn cached<T: serde::Serialize>(
    cell: &std::sync::OnceLock<bytes::Bytes>,
    make: impl FnOnce() -> T,
) -> bytes::Bytes {
    cell.get_or_init(|| serde_json::to_vec(&make()).unwrap_or_default().into())
        .clone()
}

/// 400 `SVCSTG.SWR.4000014` "Invalid API parameter(s)" naming the parameter.
pub(crate) fn invalid_parameter(name: &str, value: &str, expected: &str) -> ApiError {
    ApiError::swr(
        "SVCSTG.SWR.4000014",
        format!("Invalid API parameter(s): {name}={value:?}; expected {expected}."),
    )
}

/// Parses `limit`: default 100, 1-1000, else 400 `SVCSTG.SWR.4000056` "Invalid page size".
pub(crate) fn parse_limit(raw: Option<&str>) -> ApiResult<usize> {
    let Some(raw) = raw else {
        return Ok(DEFAULT_LIMIT);
    };
    match raw.parse::<usize>() {
        Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        _ => Err(ApiError::swr(
            "SVCSTG.SWR.4000056",
            format!("Invalid page size: limit={raw:?}; expected an integer from 1 to {MAX_LIMIT}."),
        )),
    }
}

/// Parses the v2 lists' `offset` (0 or more, default 0) and `limit` (see
/// [`parse_limit`]). `limit` without `offset` is 400 `SVCSTG.SWR.4001072`
/// "param offset error": the pages say the two are used together, and Open
/// Telekom Cloud's SWR answers exactly that (CONFORMANCE.md). `offset` alone
/// keeps the default page size.
pub(crate) fn parse_offset_limit(
    offset: Option<&str>,
    limit: Option<&str>,
) -> ApiResult<(usize, usize)> {
    let start = match offset {
        None => 0,
        Some(raw) => raw
            .parse::<usize>()
            .map_err(|_| invalid_parameter("offset", raw, "an integer of 0 or more"))?,
    };
    let size = parse_limit(limit)?;
    if limit.is_some() && offset.is_none() {
        return Err(ApiError::swr(
            "SVCSTG.SWR.4001072",
            "param offset error: limit and offset must be sent together; add offset=0 for the first page.",
        ));
    }
    Ok((start, size))
}

/// Sets a v2 list's `Content-Range: {offset}-{count}/{total}`.
pub(crate) fn with_content_range(
    mut response: axum::response::Response,
    offset: usize,
    count: usize,
    total: usize,
) -> axum::response::Response {
    if let Ok(value) = axum::http::HeaderValue::from_str(&format!("{offset}-{count}/{total}")) {
        response
            .headers_mut()
            .insert(axum::http::header::CONTENT_RANGE, value);
    }
    response
}

/// The query parameters both tag lists take (v2 adds `offset` and `filter`,
/// v3 `marker` and `with_manifest`). Every value arrives as a string (the SDK
/// models `limit` as one) and is checked by hand, so each mistake gets its
/// own code and message.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct TagListParams {
    /// Page size, 1-1000, default 100 ([`parse_limit`]).
    pub limit: Option<String>,
    /// Keep only tags whose name contains this (ignoring ASCII case).
    pub tag: Option<String>,
    /// `updated_at` (default) or `tag`.
    pub order_column: Option<String>,
    /// `desc` (default) or `asc`.
    pub order_type: Option<String>,
}

impl TagListParams {
    /// The sort order ([`parse_order`]).
    pub(crate) fn order(&self) -> ApiResult<Order> {
        parse_order(self.order_column.as_deref(), self.order_type.as_deref())
    }
}

/// The fields both tag formats carry between the tag's name and their own
/// fields, in the order of seeds 003 and 004 (`#[serde(flatten)]` into
/// `V2Tag` and `V3Tag`).
#[derive(Debug, Serialize)]
pub(crate) struct TagFields<'a> {
    /// Image id.
    image_id: Cow<'a, str>,
    /// Manifest as a JSON string (`""` where the list leaves it out).
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
}

impl<'a> TagFields<'a> {
    /// The fields of `t`, with `manifest` as given.
    pub(crate) fn new(t: &'a SwrTag, ctx: &'a RepoContext, manifest: Cow<'a, str>) -> Self {
        Self {
            image_id: ctx.image_id(t),
            manifest,
            digest: ctx.digest(t),
            schema: t.schema,
            path: ctx.path(t),
            internal_path: ctx.internal_path(t),
            size: ctx.size(t),
            is_trusted: t.is_trusted,
            created: format_time(t.created),
            updated: format_time(t.updated),
        }
    }
}

/// `order_column` of the tag lists (default `updated_at`).
const ORDER_COLUMN: Words<OrderColumn> = Words::new(
    "order_column",
    OrderColumn::UpdatedAt,
    &[
        ("updated_at", OrderColumn::UpdatedAt),
        ("tag", OrderColumn::Tag),
    ],
);

/// `order_type` of the tag lists (default `desc`).
const ORDER_TYPE: Words<OrderType> = Words::new(
    "order_type",
    OrderType::Desc,
    &[("desc", OrderType::Desc), ("asc", OrderType::Asc)],
);

/// Parses `order_column` (`updated_at` | `tag`) and `order_type` (`desc` |
/// `asc`). The defaults, `updated_at` and `desc`, are the emulator's choice:
/// the API pages document no default.
pub(crate) fn parse_order(column: Option<&str>, direction: Option<&str>) -> ApiResult<Order> {
    let column = ORDER_COLUMN.parse(column, invalid_parameter)?;
    let direction = ORDER_TYPE.parse(direction, invalid_parameter)?;
    Ok(Order { column, direction })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(ns: &str, repo: &str) -> ApiResult<(String, String)> {
        RepoPath {
            namespace: ns.into(),
            repository: repo.into(),
        }
        .resolve()
    }

    #[test]
    fn names_follow_the_documented_rules() {
        assert!(names("namespace", "busybox").is_ok());
        assert!(names("a", "b").is_ok());
        assert!(names("my__org", "a__b").is_ok());
        assert!(
            names("a--b", "c---d$e--f").is_ok(),
            "repeated hyphens, as Docker"
        );
        assert_eq!(names("ns", "group$app").unwrap().1, "group/app");
        for bad in [
            "",
            "1ns",
            "ns-",
            "Ns",
            "a.-b",
            "a-.b",
            "a___b",
            "a..b",
            &"a".repeat(65),
        ] {
            let e = names(bad, "r").unwrap_err();
            assert_eq!(e.code(), Some("SVCSTG.SWR.4001028"), "{bad:?}");
        }
        for bad in [
            "",
            "-r",
            "r/",
            "a$$b",
            "a/.b",
            "A",
            "a___b",
            &"a".repeat(129),
        ] {
            let e = names("ns", bad).unwrap_err();
            assert_eq!(e.code(), Some("SVCSTG.SWR.4001029"), "{bad:?}");
        }
    }

    #[test]
    fn the_schema_uses_the_same_name_patterns() {
        let schema: serde_json::Value = serde_json::from_str(crate::store::seed::SCHEMA).unwrap();
        let defs = &schema["$defs"];
        assert_eq!(
            defs["namespace"]["properties"]["name"]["pattern"],
            NAMESPACE_PATTERN
        );
        assert_eq!(
            defs["repository"]["properties"]["name"]["pattern"],
            REPOSITORY_PATTERN
        );
    }

    #[test]
    fn limits_outside_1_to_1000_are_invalid_page_sizes() {
        assert_eq!(parse_limit(None).unwrap(), 100);
        assert_eq!(parse_limit(Some("1000")).unwrap(), 1000);
        for bad in ["0", "1001", "-1", "ten", "", "1e3"] {
            assert_eq!(
                parse_limit(Some(bad)).unwrap_err().code(),
                Some("SVCSTG.SWR.4000056")
            );
        }
    }
}
