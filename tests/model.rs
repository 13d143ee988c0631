//! Model-based property tests (reliability items 1 and 2).
//!
//! - `ims_and_swr_agree_with_the_reference_model`: random sequences of IMS and
//!   SWR tag operations run against a real server over HTTP and against a small
//!   reference model written from the README; after every step their answers
//!   (status, error code, body) agree.
//! - `walks_return_every_tag_once_in_order`: v2 offset walks and v3 marker
//!   walks, any limit and order, over repositories of 0..2000 tags with tied
//!   update times, return each tag exactly once in the documented order.
//! - `marker_walks_hold_under_a_concurrent_writer`: a v3 marker walk while a
//!   writer task creates, re-tags and deletes tags between its pages: every
//!   page is exactly what the model says follows the marker, and the walk as a
//!   whole returns every tag outside the writer's reach exactly once.
//!
//! Each property prints its seed (`PROPTEST_RNG_SEED=…`) on failure; set that
//! variable to replay the same cases. `PROPTEST_CASES` overrides case counts.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{Http, Reply};
use ims_swr_mock::Server;
use ims_swr_mock::internals::format_time;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError};
use reqwest::Method;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------
// Configuration and seeds

/// A config with `cases` cases (unless `PROPTEST_CASES` is set), no failure
/// files, and a fixed seed that is printed, so any failure can be replayed.
fn config(name: &str, cases: u32) -> Config {
    let base = Config::default();
    let seed = match base.rng_seed {
        RngSeed::Fixed(seed) => seed,
        RngSeed::Random => {
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            splitmix(nanos as u64 ^ u64::from(std::process::id()))
        }
    };
    eprintln!(
        "{name}: PROPTEST_RNG_SEED={seed} (set it to replay these cases; PROPTEST_CASES to change their number)"
    );
    let cases = if std::env::var_os("PROPTEST_CASES").is_some() {
        base.cases
    } else {
        cases
    };
    if name == "model" {
        PLANNED.store(cases as usize, Ordering::SeqCst);
    }
    Config {
        cases,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(seed),
        max_shrink_time: 120_000,
        ..base
    }
}

/// Cases planned for the model property, and what ran so far (for the summary line).
static PLANNED: AtomicUsize = AtomicUsize::new(0);
static CASES: AtomicUsize = AtomicUsize::new(0);
static OPS: AtomicUsize = AtomicUsize::new(0);
/// HTTP requests made by the model property (not the paging ones).
static REQUESTS: AtomicUsize = AtomicUsize::new(0);

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A tiny deterministic generator for bulk data derived from one seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = splitmix(self.0);
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn parse_time(text: &Value) -> i64 {
    let text = text.as_str().unwrap_or_default();
    text.parse::<jiff::Timestamp>()
        .map_or(i64::MIN, |t| t.as_second())
}

async fn call(
    http: &Http,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> Result<Reply, TestCaseError> {
    let reply = http
        .call(method.clone(), path, body)
        .await
        .map_err(|e| TestCaseError::fail(format!("{method} {path}: transport error {e}")))?;
    if reply.status >= 500 {
        return Err(TestCaseError::fail(format!(
            "{method} {path}: {} {}",
            reply.status, reply.body
        )));
    }
    Ok(reply)
}

fn enc(text: &str) -> String {
    utf8_percent_encode(text, NON_ALPHANUMERIC).to_string()
}

// ---------------------------------------------------------------------------
// The reference model

const PROJECT: &str = "p1";
const NS: &str = "ns";
/// `group/app`, sent with `$` for the slash as the SDKs do.
const REPO_URL: &str = "group$app";
/// Image ids; the last one does not exist.
const IMAGES: [&str; 5] = ["img-0", "img-1", "img-2", "img-3", "img-missing"];

/// The fixture's SWR tags: `(name, updated)`, with ties in `updated`.
const SWR_TAGS: [(&str, i64); 10] = [
    ("latest", 1_714_564_800),
    ("v1.0", 1_714_564_700),
    ("v1.1", 1_714_564_800),
    ("v2.0", 1_714_564_900),
    ("beta", 1_714_564_700),
    ("rc-1", 1_714_564_600),
    ("A", 1_714_564_900),
    ("_x", 1_714_564_800),
    ("v10", 1_714_564_500),
    ("9", 1_714_564_900),
];

fn model_fixture() -> String {
    let tags: Vec<Value> = SWR_TAGS
        .iter()
        .map(|(name, updated)| json!({"tag": name, "updated": format_time(*updated)}))
        .collect();
    json!({
        "ims": {"projects": [{"id": PROJECT, "images": [
            {"id": "img-0", "name": "web-server", "tags": [{"key": "k0", "value": "v0"}, {"key": "k1"}]},
            {"id": "img-1", "name": "db", "tags": [{"key": "k0", "value": "v1"}]},
            {"id": "img-2", "name": "cache"},
            {"id": "img-3", "name": "Web-Proxy", "tags": [{"key": "action", "value": "v2"}, {"key": "k1", "value": "v1"}]}
        ]}]},
        "swr": {"namespaces": [{"name": NS, "repositories": [{"name": "group/app", "tags": tags}]}]}
    })
    .to_string()
}

type Tags = Vec<(String, String)>;

#[derive(Debug, Clone)]
struct ModelImage {
    id: &'static str,
    name: &'static str,
    tags: Tags,
}

/// The IMS side of the model: images and the `ListImagesTags` aggregate,
/// kept as README says: keys and values in order of first appearance, a value
/// gone when no image has it, an edit counted as its difference, additions first.
#[derive(Debug, Clone)]
struct ImsModel {
    images: Vec<ModelImage>,
    counts: Vec<(String, Vec<(String, u32)>)>,
}

/// An expected failure: status and error code.
type Failure = (u16, &'static str);

impl ImsModel {
    fn new() -> Self {
        let t = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        let images = vec![
            ModelImage {
                id: "img-0",
                name: "web-server",
                tags: vec![t("k0", "v0"), t("k1", "")],
            },
            ModelImage {
                id: "img-1",
                name: "db",
                tags: vec![t("k0", "v1")],
            },
            ModelImage {
                id: "img-2",
                name: "cache",
                tags: vec![],
            },
            ModelImage {
                id: "img-3",
                name: "Web-Proxy",
                tags: vec![t("action", "v2"), t("k1", "v1")],
            },
        ];
        let mut model = Self {
            images: vec![],
            counts: vec![],
        };
        for image in images {
            model.count(&image.tags, true);
            model.images.push(image);
        }
        model
    }

    fn count(&mut self, tags: &Tags, add: bool) {
        for (key, value) in tags {
            let at = match self.counts.iter().position(|(k, _)| k == key) {
                Some(at) => at,
                None => {
                    self.counts.push((key.clone(), vec![]));
                    self.counts.len() - 1
                }
            };
            let values = &mut self.counts[at].1;
            let v = match values.iter().position(|(v, _)| v == value) {
                Some(v) => v,
                None => {
                    values.push((value.clone(), 0));
                    values.len() - 1
                }
            };
            if add {
                values[v].1 += 1;
            } else {
                values[v].1 -= 1;
                if values[v].1 == 0 {
                    values.remove(v);
                    if values.is_empty() {
                        self.counts.remove(at);
                    }
                }
            }
        }
    }

    fn summary(&self) -> Value {
        let tags: Vec<Value> = self
            .counts
            .iter()
            .map(|(k, vs)| json!({"key": k, "values": vs.iter().map(|(v, _)| v).collect::<Vec<_>>()}))
            .collect();
        json!({ "tags": tags })
    }

    /// Applies an edit of image `at` as the server does: on a copy, then the
    /// quota, then the aggregate by difference (additions first).
    fn edit(&mut self, at: usize, edit: impl FnOnce(&mut Tags)) -> Result<(), Failure> {
        let old = self.images[at].tags.clone();
        let mut new = old.clone();
        edit(&mut new);
        if new.len() > MAX_TAGS && new.len() > old.len() {
            return Err((400, "IMG.0116"));
        }
        let added: Tags = new.iter().filter(|t| !old.contains(t)).cloned().collect();
        let removed: Tags = old.iter().filter(|t| !new.contains(t)).cloned().collect();
        self.count(&added, true);
        self.count(&removed, false);
        self.images[at].tags = new;
        Ok(())
    }

    fn image(&self, id: &str) -> Result<usize, Failure> {
        self.images
            .iter()
            .position(|i| i.id == id)
            .ok_or((400, "IMG.0027"))
    }
}

fn upsert(tags: &mut Tags, key: &str, value: &str) {
    match tags.iter_mut().find(|(k, _)| k == key) {
        Some(t) => t.1 = value.to_owned(),
        None => tags.push((key.to_owned(), value.to_owned())),
    }
}

/// Most tags per image, longest key and value (Image Tag Format, `ims_03_0902`).
const MAX_TAGS: usize = 20;
const MAX_KEY: usize = 128;
const MAX_VALUE: usize = 255;

fn valid_new_tag(key: &str, value: &str) -> bool {
    let key_char = |c: char| {
        c.is_ascii_alphanumeric() || ('\u{4E00}'..='\u{9FFF}').contains(&c) || " _.:+-@".contains(c)
    };
    let no_edge_space = |s: &str| !s.starts_with(' ') && !s.ends_with(' ');
    !key.is_empty()
        && key.chars().count() <= MAX_KEY
        && key.chars().all(key_char)
        && no_edge_space(key)
        && value.chars().count() <= MAX_VALUE
        && value.chars().all(|c| key_char(c) || c == '/')
        && no_edge_space(value)
}

fn tags_json(tags: &Tags) -> Value {
    Value::Array(
        tags.iter()
            .map(|(k, v)| json!({"key": k, "value": v}))
            .collect(),
    )
}

/// One SWR tag as the model knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SwrTag {
    id: i64,
    image_id: String,
    digest: String,
    size: i64,
    created: i64,
    updated: i64,
}

/// The SWR side of the model: one repository.
#[derive(Debug, Clone, Default)]
struct SwrModel {
    tags: BTreeMap<String, SwrTag>,
    next_id: i64,
}

/// A sort order: by tag name or by `(updated, name)`, ascending or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Order {
    by_tag: bool,
    asc: bool,
}

impl Order {
    fn query(self) -> String {
        format!(
            "order_column={}&order_type={}",
            if self.by_tag { "tag" } else { "updated_at" },
            if self.asc { "asc" } else { "desc" }
        )
    }
}

fn order_strategy() -> impl Strategy<Value = Order> {
    (any::<bool>(), any::<bool>()).prop_map(|(by_tag, asc)| Order { by_tag, asc })
}

/// The sort key of a tag in `order`, ascending: `(updated or 0, name)`.
fn sort_key(order: Order, name: &str, updated: i64) -> (i64, String) {
    (if order.by_tag { 0 } else { updated }, name.to_owned())
}

impl SwrModel {
    /// Tag names in `order`, keeping those containing `filter` (ASCII case ignored).
    fn ordered(&self, order: Order, filter: Option<&str>) -> Vec<String> {
        let mut names: Vec<(i64, String)> = self
            .tags
            .iter()
            .filter(|(n, _)| {
                filter.is_none_or(|f| n.to_ascii_lowercase().contains(&f.to_ascii_lowercase()))
            })
            .map(|(n, t)| sort_key(order, n, t.updated))
            .collect();
        names.sort();
        if !order.asc {
            names.reverse();
        }
        names.into_iter().map(|(_, n)| n).collect()
    }

    /// Checks one listed or shown tag's fields against the model.
    fn check_item(&self, item: &Value, name_field: &str) -> Result<(), TestCaseError> {
        let name = item[name_field].as_str().unwrap_or_default();
        let want = self
            .tags
            .get(name)
            .ok_or_else(|| TestCaseError::fail(format!("listed tag {name} is not in the model")))?;
        let have = SwrTag {
            id: item["id"].as_i64().unwrap_or(-1),
            image_id: item["image_id"].as_str().unwrap_or_default().to_owned(),
            digest: item["digest"].as_str().unwrap_or_default().to_owned(),
            size: item["size"].as_i64().unwrap_or(-1),
            created: parse_time(&item["created"]),
            updated: parse_time(&item["updated"]),
        };
        prop_assert_eq!(&have, want, "fields of tag {}: {}", name, item);
        Ok(())
    }
}

fn valid_swr_tag(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    first_ok
        && name.len() <= 128
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

// ---------------------------------------------------------------------------
// Operations

/// One `ListImageByTags` condition list: `(key, values)`.
type Conditions = Vec<(String, Vec<String>)>;

#[derive(Debug, Clone)]
struct ByTagsQuery {
    count: bool,
    tags: Option<Conditions>,
    tags_any: Option<Conditions>,
    not_tags: Option<Conditions>,
    not_tags_any: Option<Conditions>,
    without_any_tag: bool,
    name: Option<&'static str>,
    limit: usize,
    offset: usize,
}

#[derive(Debug, Clone)]
enum Op {
    AddImageTag {
        image: usize,
        key: String,
        value: String,
    },
    BatchTags {
        image: usize,
        action: &'static str,
        tags: Vec<(String, Option<String>)>,
    },
    DeleteImageTag {
        image: usize,
        key: String,
    },
    ListImageTags {
        image: usize,
    },
    ListImagesTags,
    ListImageByTags(ByTagsQuery),
    CreateRepoTag {
        source: String,
        destination: String,
        overwrite: bool,
    },
    DeleteRepoTag {
        tag: String,
    },
    ShowRepoTag {
        tag: String,
    },
    ListV2 {
        limit: usize,
        offset: usize,
        order: Order,
        filter: Option<&'static str>,
    },
    WalkV3 {
        limit: usize,
        order: Order,
        filter: Option<&'static str>,
    },
}

fn valid_keys() -> Vec<String> {
    let mut keys: Vec<String> = (0..MAX_TAGS + 1).map(|i| format!("k{i}")).collect();
    keys.extend(["action".into(), "中文 @x".into(), "中".repeat(MAX_KEY)]);
    keys
}

fn key_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        12 => prop::sample::select(valid_keys()),
        1 => prop::sample::select(vec![String::new(), "  ".into(), "k".repeat(MAX_KEY + 1), "ä".into(), " lead".into()]),
    ]
}

fn value_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        12 => prop::sample::select(vec![String::new(), "v0".into(), "v1".into(), "v2".into(), "v/3".into(), "中".repeat(MAX_VALUE)]),
        1 => prop::sample::select(vec!["x".repeat(MAX_VALUE + 1), "a|b".into()]),
    ]
}

fn image_strategy() -> impl Strategy<Value = usize> {
    prop_oneof![12 => 0..4usize, 1 => Just(4usize)]
}

fn conditions_strategy() -> impl Strategy<Value = Option<Conditions>> {
    let values = prop::sample::subsequence(vec!["", "v0", "v1", "v2", "v3"], 0..=2)
        .prop_map(|v| v.into_iter().map(str::to_owned).collect::<Vec<_>>());
    let keys = prop::sample::subsequence(
        vec!["k0", "k1", "k2", "k3", "action", "ключ", "nokey"],
        1..=3,
    );
    prop::option::weighted(
        0.3,
        (keys, prop::collection::vec(values, 3)).prop_map(|(keys, values)| {
            keys.into_iter()
                .zip(values)
                .map(|(k, v)| (k.to_owned(), v))
                .collect()
        }),
    )
}

fn by_tags_strategy() -> impl Strategy<Value = ByTagsQuery> {
    (
        prop::bool::weighted(0.2),
        conditions_strategy(),
        conditions_strategy(),
        conditions_strategy(),
        conditions_strategy(),
        prop::bool::weighted(0.1),
        prop::option::weighted(0.2, prop::sample::select(vec!["web", "WEB-p", "d"])),
        1..6usize,
        0..4usize,
    )
        .prop_map(
            |(
                count,
                tags,
                tags_any,
                not_tags,
                not_tags_any,
                without_any_tag,
                name,
                limit,
                offset,
            )| {
                ByTagsQuery {
                    count,
                    tags,
                    tags_any,
                    not_tags,
                    not_tags_any,
                    without_any_tag,
                    name,
                    limit,
                    offset,
                }
            },
        )
}

fn swr_names() -> Vec<String> {
    let mut names: Vec<String> = SWR_TAGS.iter().map(|(n, _)| (*n).to_owned()).collect();
    names.extend((0..6).map(|i| format!("n{i}")));
    names
}

/// A tag name: mostly valid ones (existing or not), sometimes invalid ones.
fn swr_name_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        16 => prop::sample::select(swr_names()),
        1 => prop::sample::select(vec!["-bad".to_owned(), ".x".into(), "t".repeat(129)]),
    ]
}

fn filter_strategy() -> impl Strategy<Value = Option<&'static str>> {
    prop::option::weighted(0.25, prop::sample::select(vec!["v1", "V", "a", "zz", "."]))
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let batch_tag = (
        key_strategy(),
        prop::option::weighted(0.8, value_strategy()),
    );
    prop_oneof![
        14 => (image_strategy(), key_strategy(), value_strategy())
            .prop_map(|(image, key, value)| Op::AddImageTag { image, key, value }),
        10 => (
            image_strategy(),
            prop_oneof![10 => Just("create"), 6 => Just("delete"), 1 => Just("Create")],
            prop::collection::vec(batch_tag, 0..6),
        )
            .prop_map(|(image, action, tags)| Op::BatchTags { image, action, tags }),
        8 => (image_strategy(), prop::sample::select(valid_keys()))
            .prop_map(|(image, key)| Op::DeleteImageTag { image, key }),
        5 => image_strategy().prop_map(|image| Op::ListImageTags { image }),
        5 => Just(Op::ListImagesTags),
        5 => by_tags_strategy().prop_map(Op::ListImageByTags),
        12 => (swr_name_strategy(), swr_name_strategy(), any::<bool>())
            .prop_map(|(source, destination, overwrite)| Op::CreateRepoTag { source, destination, overwrite }),
        7 => swr_name_strategy().prop_map(|tag| Op::DeleteRepoTag { tag }),
        5 => swr_name_strategy().prop_map(|tag| Op::ShowRepoTag { tag }),
        6 => (1..13usize, 0..15usize, order_strategy(), filter_strategy())
            .prop_map(|(limit, offset, order, filter)| Op::ListV2 { limit, offset, order, filter }),
        6 => (1..13usize, order_strategy(), filter_strategy())
            .prop_map(|(limit, order, filter)| Op::WalkV3 { limit, order, filter }),
    ]
}

// ---------------------------------------------------------------------------
// Running a case

struct Case {
    http: Http,
    ims: ImsModel,
    swr: SwrModel,
}

fn ims_code(reply: &Reply) -> &str {
    reply.body["error"]["code"].as_str().unwrap_or("")
}

fn swr_code(reply: &Reply) -> &str {
    reply.body["error_code"].as_str().unwrap_or("")
}

/// Asserts an IMS write's answer: 204, or the expected failure.
fn check_ims_write(reply: &Reply, want: Result<(), Failure>) -> Result<(), TestCaseError> {
    match want {
        Ok(()) => prop_assert_eq!(reply.status, 204, "{}", reply.body),
        Err((status, code)) => {
            prop_assert_eq!(reply.status, status, "{}", reply.body);
            prop_assert_eq!(ims_code(reply), code, "{}", reply.body);
        }
    }
    Ok(())
}

fn check_swr_error(reply: &Reply, status: u16, code: &str) -> Result<(), TestCaseError> {
    prop_assert_eq!(reply.status, status, "{}", reply.body);
    prop_assert_eq!(swr_code(reply), code, "{}", reply.body);
    Ok(())
}

fn conditions_json(list: &Conditions) -> Value {
    Value::Array(
        list.iter()
            .map(|(k, vs)| json!({"key": k, "values": vs}))
            .collect(),
    )
}

fn holds(tags: &Tags, (key, values): &(String, Vec<String>)) -> bool {
    tags.iter()
        .any(|(k, v)| k == key && (values.is_empty() || values.contains(v)))
}

impl ByTagsQuery {
    fn body(&self) -> Value {
        let mut body = json!({
            "action": if self.count { "count" } else { "filter" },
            "limit": self.limit.to_string(),
            "offset": self.offset.to_string(),
        });
        for (name, list) in [
            ("tags", &self.tags),
            ("tags_any", &self.tags_any),
            ("not_tags", &self.not_tags),
            ("not_tags_any", &self.not_tags_any),
        ] {
            if let Some(list) = list {
                body[name] = conditions_json(list);
            }
        }
        if self.without_any_tag {
            body["without_any_tag"] = json!(true);
        }
        if let Some(name) = self.name {
            body["matches"] = json!([{"key": "resource_name", "value": name}]);
        }
        body
    }

    fn matches(&self, image: &ModelImage) -> bool {
        let t = &image.tags;
        let tag_ok = if self.without_any_tag {
            t.is_empty()
        } else {
            self.tags
                .as_ref()
                .is_none_or(|c| c.iter().all(|c| holds(t, c)))
                && self
                    .tags_any
                    .as_ref()
                    .is_none_or(|c| c.iter().any(|c| holds(t, c)))
                && self
                    .not_tags
                    .as_ref()
                    .is_none_or(|c| !c.iter().all(|c| holds(t, c)))
                && self
                    .not_tags_any
                    .as_ref()
                    .is_none_or(|c| !c.iter().any(|c| holds(t, c)))
        };
        tag_ok
            && self
                .name
                .is_none_or(|n| image.name.to_lowercase().contains(&n.to_lowercase()))
    }
}

impl Case {
    async fn start(server: &Server) -> Result<Self, TestCaseError> {
        let http = Http::new(server.uri());
        // The repository's starting state, checked against the fixture.
        let reply = call(
            &http,
            Method::GET,
            &format!("/v2/manage/namespaces/{NS}/repos/{REPO_URL}/tags?offset=0&limit=1000"),
            None,
        )
        .await?;
        prop_assert_eq!(reply.status, 200);
        let mut swr = SwrModel::default();
        for item in reply.body.as_array().into_iter().flatten() {
            let name = item["Tag"].as_str().unwrap_or_default().to_owned();
            let fixture = SWR_TAGS.iter().find(|(n, _)| *n == name);
            prop_assert!(fixture.is_some(), "unexpected tag {}", name);
            let updated = fixture.map_or(0, |(_, u)| *u);
            let tag = SwrTag {
                id: item["id"].as_i64().unwrap_or(-1),
                image_id: item["image_id"].as_str().unwrap_or_default().to_owned(),
                digest: item["digest"].as_str().unwrap_or_default().to_owned(),
                size: item["size"].as_i64().unwrap_or(-1),
                created: updated,
                updated,
            };
            prop_assert_eq!(parse_time(&item["updated"]), updated);
            prop_assert_eq!(parse_time(&item["created"]), updated);
            swr.next_id = swr.next_id.max(tag.id + 1);
            swr.tags.insert(name, tag);
        }
        prop_assert_eq!(swr.tags.len(), SWR_TAGS.len());
        Ok(Self {
            http,
            ims: ImsModel::new(),
            swr,
        })
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Reply, TestCaseError> {
        REQUESTS.fetch_add(1, Ordering::Relaxed);
        call(&self.http, method, path, body).await
    }

    async fn step(&mut self, op: &Op) -> Result<(), TestCaseError> {
        match op {
            Op::AddImageTag { image, key, value } => {
                let path = format!("/v2/{PROJECT}/images/{}/tags", IMAGES[*image]);
                let body = json!({"tag": {"key": key, "value": value}});
                let reply = self.call(Method::POST, &path, Some(&body)).await?;
                let want = if valid_new_tag(key, value) {
                    self.ims
                        .image(IMAGES[*image])
                        .and_then(|at| self.ims.edit(at, |t| upsert(t, key, value)))
                } else {
                    Err((400, "IMG.0115"))
                };
                check_ims_write(&reply, want)?;
            }
            Op::BatchTags {
                image,
                action,
                tags,
            } => {
                let path = format!("/v2/{PROJECT}/images/{}/tags/action", IMAGES[*image]);
                let items: Vec<Value> = tags
                    .iter()
                    .map(|(k, v)| match v {
                        Some(v) => json!({"key": k, "value": v}),
                        None => json!({"key": k}),
                    })
                    .collect();
                let body = json!({"action": action, "tags": items});
                let reply = self.call(Method::POST, &path, Some(&body)).await?;
                let mut keys = HashSet::new();
                let want = if tags.is_empty() || !tags.iter().all(|(k, _)| keys.insert(k)) {
                    Err((400, "IMG.0115"))
                } else if *action == "create" && tags.iter().any(|(_, v)| v.is_none()) {
                    // A tag being created needs its value.
                    Err((400, "IMG.0001"))
                } else if *action == "create" {
                    if tags
                        .iter()
                        .all(|(k, v)| valid_new_tag(k, v.as_deref().unwrap_or("")))
                    {
                        self.ims.image(IMAGES[*image]).and_then(|at| {
                            self.ims.edit(at, |t| {
                                for (k, v) in tags {
                                    upsert(t, k, v.as_deref().unwrap_or(""));
                                }
                            })
                        })
                    } else {
                        Err((400, "IMG.0115"))
                    }
                } else if *action == "delete" {
                    // Deletion checks lengths only (key 1-128, not blank; value 255).
                    if tags.iter().all(|(k, v)| {
                        !k.trim().is_empty()
                            && k.chars().count() <= MAX_KEY
                            && v.as_ref().is_none_or(|v| v.chars().count() <= MAX_VALUE)
                    }) {
                        self.ims.image(IMAGES[*image]).and_then(|at| {
                            self.ims.edit(at, |t| {
                                t.retain(|(k, v)| {
                                    !tags.iter().any(|(dk, dv)| {
                                        dk == k
                                            && dv.as_ref().is_none_or(|dv| dv.is_empty() || dv == v)
                                    })
                                });
                            })
                        })
                    } else {
                        Err((400, "IMG.0115"))
                    }
                } else {
                    Err((400, "IMG.0001"))
                };
                check_ims_write(&reply, want)?;
            }
            Op::DeleteImageTag { image, key } => {
                let path = format!("/v2/{PROJECT}/images/{}/tags/{}", IMAGES[*image], enc(key));
                let reply = self.call(Method::DELETE, &path, None).await?;
                let want = self.ims.image(IMAGES[*image]).and_then(|at| {
                    if self.ims.images[at].tags.iter().any(|(k, _)| k == key) {
                        self.ims.edit(at, |t| t.retain(|(k, _)| k != key))
                    } else {
                        Err((404, "IMG.0121"))
                    }
                });
                check_ims_write(&reply, want)?;
            }
            Op::ListImageTags { image } => {
                let path = format!("/v2/{PROJECT}/images/{}/tags", IMAGES[*image]);
                let reply = self.call(Method::GET, &path, None).await?;
                match self.ims.image(IMAGES[*image]) {
                    Ok(at) => {
                        prop_assert_eq!(reply.status, 200, "{}", reply.body);
                        prop_assert_eq!(
                            &reply.body,
                            &json!({"tags": tags_json(&self.ims.images[at].tags)})
                        );
                    }
                    Err((status, code)) => {
                        prop_assert_eq!(reply.status, status);
                        prop_assert_eq!(ims_code(&reply), code);
                    }
                }
            }
            Op::ListImagesTags => {
                let reply = self
                    .call(Method::GET, &format!("/v2/{PROJECT}/images/tags"), None)
                    .await?;
                prop_assert_eq!(reply.status, 200, "{}", reply.body);
                prop_assert_eq!(&reply.body, &self.ims.summary());
            }
            Op::ListImageByTags(q) => {
                let path = format!("/v2/{PROJECT}/images/resource_instances/action");
                let reply = self.call(Method::POST, &path, Some(&q.body())).await?;
                prop_assert_eq!(reply.status, 200, "{}", reply.body);
                let matching: Vec<&ModelImage> =
                    self.ims.images.iter().filter(|i| q.matches(i)).collect();
                let want = if q.count {
                    json!({"total_count": matching.len()})
                } else {
                    let resources: Vec<Value> = matching
                        .iter()
                        .skip(q.offset)
                        .take(q.limit)
                        .map(|i| {
                            json!({
                                "resource_id": i.id,
                                "resource_name": i.name,
                                "resource_detail": {"status": "active"},
                                "tags": tags_json(&i.tags),
                            })
                        })
                        .collect();
                    json!({"resources": resources, "total_count": matching.len()})
                };
                prop_assert_eq!(&reply.body, &want);
            }
            Op::CreateRepoTag {
                source,
                destination,
                overwrite,
            } => {
                self.create_repo_tag(source, destination, *overwrite)
                    .await?
            }
            Op::DeleteRepoTag { tag } => {
                let path = format!("/v2/manage/namespaces/{NS}/repos/{REPO_URL}/tags/{tag}");
                let reply = self.call(Method::DELETE, &path, None).await?;
                if !valid_swr_tag(tag) {
                    check_swr_error(&reply, 400, "SVCSTG.SWR.4009021")?;
                } else if self.swr.tags.remove(tag).is_some() {
                    prop_assert_eq!(reply.status, 204, "{}", reply.body);
                } else {
                    check_swr_error(&reply, 404, "SVCSTG.SWR.4040048")?;
                }
            }
            Op::ShowRepoTag { tag } => {
                let path = format!("/v2/manage/namespaces/{NS}/repos/{REPO_URL}/tags/{tag}");
                let reply = self.call(Method::GET, &path, None).await?;
                if !valid_swr_tag(tag) {
                    check_swr_error(&reply, 400, "SVCSTG.SWR.4009021")?;
                } else if self.swr.tags.contains_key(tag) {
                    prop_assert_eq!(reply.status, 200, "{}", reply.body);
                    self.swr.check_item(&reply.body, "tag")?;
                } else {
                    check_swr_error(&reply, 404, "SVCSTG.SWR.4040048")?;
                }
            }
            Op::ListV2 {
                limit,
                offset,
                order,
                filter,
            } => {
                let mut path = format!(
                    "/v2/manage/namespaces/{NS}/repos/{REPO_URL}/tags?limit={limit}&offset={offset}&{}",
                    order.query()
                );
                if let Some(f) = filter {
                    path.push_str(&format!("&tag={f}"));
                }
                let reply = self.call(Method::GET, &path, None).await?;
                prop_assert_eq!(reply.status, 200, "{}", reply.body);
                let all = self.swr.ordered(*order, *filter);
                let want: Vec<&String> = all.iter().skip(*offset).take(*limit).collect();
                let items = reply.body.as_array().cloned().unwrap_or_default();
                let have: Vec<&str> = items
                    .iter()
                    .map(|i| i["Tag"].as_str().unwrap_or_default())
                    .collect();
                prop_assert_eq!(&have, &want, "{}", path);
                for item in &items {
                    self.swr.check_item(item, "Tag")?;
                }
                let range = reply
                    .headers
                    .get("content-range")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                prop_assert_eq!(range, format!("{offset}-{}/{}", want.len(), all.len()));
            }
            Op::WalkV3 {
                limit,
                order,
                filter,
            } => {
                let mut base = format!(
                    "/v3/manage/namespaces/{NS}/repos/{REPO_URL}/tags?limit={limit}&{}",
                    order.query()
                );
                if let Some(f) = filter {
                    base.push_str(&format!("&tag={f}"));
                }
                let want = self.swr.ordered(*order, *filter);
                let mut have: Vec<String> = vec![];
                let mut marker: Option<String> = None;
                loop {
                    let path = match &marker {
                        Some(m) => format!("{base}&marker={m}"),
                        None => base.clone(),
                    };
                    let reply = self.call(Method::GET, &path, None).await?;
                    prop_assert_eq!(reply.status, 200, "{}", reply.body);
                    let items = reply.body["tags"].as_array().cloned().unwrap_or_default();
                    prop_assert!(items.len() <= *limit);
                    for item in &items {
                        self.swr.check_item(item, "tag")?;
                        have.push(item["tag"].as_str().unwrap_or_default().to_owned());
                    }
                    let more_left = have.len() < want.len();
                    match reply.body.get("nextMarker").and_then(Value::as_str) {
                        Some(m) => {
                            prop_assert_eq!(reply.body["has_more"].as_bool(), Some(true));
                            prop_assert!(more_left, "a marker after the last tag: {}", path);
                            prop_assert_eq!(items.len(), *limit);
                            marker = Some(m.to_owned());
                        }
                        None => {
                            prop_assert_eq!(reply.body["has_more"].as_bool(), Some(false));
                            break;
                        }
                    }
                    prop_assert!(have.len() <= want.len(), "walk too long: {:?}", have);
                }
                prop_assert_eq!(&have, &want, "{}", base);
            }
        }
        Ok(())
    }

    async fn create_repo_tag(
        &mut self,
        source: &str,
        destination: &str,
        overwrite: bool,
    ) -> Result<(), TestCaseError> {
        let path = format!("/v2/manage/namespaces/{NS}/repos/{REPO_URL}/tags");
        let body =
            json!({"source_tag": source, "destination_tag": destination, "override": overwrite});
        let before = now();
        let reply = self.call(Method::POST, &path, Some(&body)).await?;
        let after = now();
        if !valid_swr_tag(source) || !valid_swr_tag(destination) {
            return check_swr_error(&reply, 400, "SVCSTG.SWR.4009021");
        }
        let Some(src) = self.swr.tags.get(source).cloned() else {
            return check_swr_error(&reply, 404, "SVCSTG.SWR.4040048");
        };
        let existing = self.swr.tags.get(destination).cloned();
        if existing.is_some() && !overwrite {
            return check_swr_error(&reply, 409, "SVCSTG.SWR.4090006");
        }
        prop_assert_eq!(reply.status, 201, "{}", reply.body);
        // `updated` is the server's "now", 1-second resolution: known exactly
        // when the request did not straddle a second, else read back.
        let updated = if before == after {
            before
        } else {
            let show = self
                .call(
                    Method::GET,
                    &format!("/v2/manage/namespaces/{NS}/repos/{REPO_URL}/tags/{destination}"),
                    None,
                )
                .await?;
            let t = parse_time(&show.body["updated"]);
            prop_assert!(
                (before..=after).contains(&t),
                "updated {} not in [{}, {}]",
                t,
                before,
                after
            );
            t
        };
        let tag = SwrTag {
            id: existing.as_ref().map_or(self.swr.next_id, |e| e.id),
            image_id: src.image_id,
            digest: src.digest,
            size: src.size,
            created: existing.as_ref().map_or(updated, |e| e.created),
            updated,
        };
        if existing.is_none() {
            self.swr.next_id += 1;
        }
        self.swr.tags.insert(destination.to_owned(), tag);
        Ok(())
    }
}

async fn run_ops(ops: &[Op]) -> Result<(), TestCaseError> {
    let server = Server::builder()
        .fixture_json("model.json", model_fixture())
        .journal_size(0)
        .start()
        .await
        .map_err(|e| TestCaseError::fail(format!("server start: {e}")))?;
    let mut case = Case::start(&server).await?;
    for (i, op) in ops.iter().enumerate() {
        case.step(op)
            .await
            .map_err(|e| TestCaseError::fail(format!("step {i} ({op:?}): {e}")))?;
    }
    // The final state, seen whole, agrees too.
    case.step(&Op::ListImagesTags).await?;
    for image in 0..4 {
        case.step(&Op::ListImageTags { image }).await?;
    }
    let all = Order {
        by_tag: false,
        asc: false,
    };
    case.step(&Op::WalkV3 {
        limit: 1000,
        order: all,
        filter: None,
    })
    .await?;
    server
        .shutdown()
        .await
        .map_err(|e| TestCaseError::fail(format!("shutdown: {e}")))?;
    let ops = OPS.fetch_add(ops.len(), Ordering::SeqCst) + ops.len();
    let cases = CASES.fetch_add(1, Ordering::SeqCst) + 1;
    if cases == PLANNED.load(Ordering::SeqCst) {
        eprintln!(
            "model: {cases} cases, {ops} operations, {} HTTP requests, all agreeing with the model",
            REQUESTS.load(Ordering::Relaxed)
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(config("model", 125))]

    /// 125 cases of 1 to 200 operations (about 12,500 in all), each checked
    /// against the model.
    #[test]
    fn ims_and_swr_agree_with_the_reference_model(ops in prop::collection::vec(op_strategy(), 1..=200)) {
        runtime().block_on(run_ops(&ops))?;
    }
}

// ---------------------------------------------------------------------------
// Paging invariants

/// `n` tags with random distinct names and update times with many ties.
fn paging_tags(n: usize, seed: u64) -> Vec<(String, i64)> {
    const FIRST: &[u8] = b"ABCXYZabcxyz0189_";
    const REST: &[u8] = b"ABCXYZabcxyz0189_.-";
    let mut rng = Rng(seed);
    let mut seen = HashSet::new();
    let mut tags = Vec::with_capacity(n);
    while tags.len() < n {
        let len = 1 + rng.below(8);
        let mut name = String::with_capacity(len);
        name.push(FIRST[rng.below(FIRST.len())] as char);
        for _ in 1..len {
            name.push(REST[rng.below(REST.len())] as char);
        }
        if seen.insert(name.clone()) {
            let updated = 1_700_000_000 + rng.below(n / 4 + 1) as i64;
            tags.push((name, updated));
        }
    }
    tags
}

fn paging_fixture(tags: &[(String, i64)]) -> String {
    let tags: Vec<Value> = tags
        .iter()
        .map(|(name, updated)| json!({"tag": name, "updated": format_time(*updated)}))
        .collect();
    json!({"swr": {"namespaces": [{"name": "pg", "repositories": [{"name": "r", "tags": tags}]}]}})
        .to_string()
}

fn expected_order(tags: &[(String, i64)], order: Order) -> Vec<String> {
    let mut keys: Vec<(i64, String)> = tags.iter().map(|(n, u)| sort_key(order, n, *u)).collect();
    keys.sort();
    if !order.asc {
        keys.reverse();
    }
    keys.into_iter().map(|(_, n)| n).collect()
}

async fn walk_v3(http: &Http, base: &str, limit: usize) -> Result<Vec<String>, TestCaseError> {
    let mut have = vec![];
    let mut marker: Option<String> = None;
    for _ in 0..10_000 {
        let path = match &marker {
            Some(m) => format!("{base}&marker={m}"),
            None => base.to_owned(),
        };
        let reply = call(http, Method::GET, &path, None).await?;
        prop_assert_eq!(reply.status, 200, "{}", reply.body);
        let items = reply.body["tags"].as_array().cloned().unwrap_or_default();
        prop_assert!(items.len() <= limit);
        have.extend(
            items
                .iter()
                .map(|i| i["tag"].as_str().unwrap_or_default().to_owned()),
        );
        match reply.body.get("nextMarker").and_then(Value::as_str) {
            Some(m) => marker = Some(m.to_owned()),
            None => return Ok(have),
        }
    }
    Err(TestCaseError::fail("the v3 walk does not end"))
}

async fn walk_v2(
    http: &Http,
    base: &str,
    limit: usize,
    total: usize,
) -> Result<Vec<String>, TestCaseError> {
    let mut have = vec![];
    let mut offset = 0;
    loop {
        let path = format!("{base}&offset={offset}");
        let reply = call(http, Method::GET, &path, None).await?;
        prop_assert_eq!(reply.status, 200, "{}", reply.body);
        let items = reply.body.as_array().cloned().unwrap_or_default();
        let range = reply
            .headers
            .get("content-range")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        prop_assert_eq!(range, format!("{offset}-{}/{total}", items.len()));
        prop_assert_eq!(items.len(), limit.min(total.saturating_sub(offset)));
        have.extend(
            items
                .iter()
                .map(|i| i["Tag"].as_str().unwrap_or_default().to_owned()),
        );
        offset += limit;
        if offset >= total {
            return Ok(have);
        }
    }
}

/// `(n, limit)` with at most ~300 pages per walk, so a case stays fast.
fn size_and_limit() -> impl Strategy<Value = (usize, usize)> {
    (0..2000usize).prop_flat_map(|n| {
        let min = (n / 300).max(1);
        let limit = prop_oneof![
            3 => min..=(min + 20).min(1000),
            2 => min..=1000usize,
            1 => Just(1000usize),
        ];
        (Just(n), limit)
    })
}

proptest! {
    #![proptest_config(config("paging", 48))]

    /// v2 offsets and v3 markers, any limit and order: each tag once, in order.
    #[test]
    fn walks_return_every_tag_once_in_order(
        (n, limit) in size_and_limit(),
        order in order_strategy(),
        seed in any::<u64>(),
    ) {
        let tags = paging_tags(n, seed);
        let want = expected_order(&tags, order);
        runtime().block_on(async {
            let server = Server::builder()
                .fixture_json("paging.json", paging_fixture(&tags))
                .journal_size(0)
                .start()
                .await
                .map_err(|e| TestCaseError::fail(format!("server start: {e}")))?;
            let http = Http::new(server.uri());
            let q = format!("limit={limit}&{}", order.query());
            let v3 = walk_v3(&http, &format!("/v3/manage/namespaces/pg/repos/r/tags?{q}"), limit).await?;
            prop_assert_eq!(v3.len(), n, "v3 walk length");
            prop_assert_eq!(&v3, &want, "v3 {}", q);
            let v2 = walk_v2(&http, &format!("/v2/manage/namespaces/pg/repos/r/tags?{q}"), limit, n).await?;
            prop_assert_eq!(&v2, &want, "v2 {}", q);
            Ok(())
        })?;
    }
}

/// What the walker has seen, shared with the writer under one lock: writes
/// happen between pages, never during one, so the model is exact at each page.
#[derive(Debug, Default)]
struct WalkState {
    /// Name → `updated` of every tag in the repository now.
    tags: BTreeMap<String, i64>,
    /// The sort key of the last tag returned (`None` before the first page).
    position: Option<(i64, String)>,
    /// Tags created behind the walk's position (never to be returned).
    created_behind: HashSet<String>,
    done: bool,
    writes: usize,
}

impl WalkState {
    fn ahead(&self, order: Order, key: &(i64, String)) -> bool {
        match &self.position {
            None => true,
            Some(p) if order.asc => key > p,
            Some(p) => key < p,
        }
    }

    /// The tags that follow the position, in walk order.
    fn following(&self, order: Order) -> Vec<String> {
        let mut keys: Vec<(i64, String)> = self
            .tags
            .iter()
            .map(|(n, u)| sort_key(order, n, *u))
            .filter(|k| self.ahead(order, k))
            .collect();
        keys.sort();
        if !order.asc {
            keys.reverse();
        }
        keys.into_iter().map(|(_, n)| n).collect()
    }
}

async fn writer(
    http: Http,
    state: Arc<tokio::sync::Mutex<WalkState>>,
    order: Order,
    seed: u64,
) -> Result<(), TestCaseError> {
    let mut rng = Rng(seed);
    let base = "/v2/manage/namespaces/pg/repos/r/tags";
    let mut fresh = 0;
    loop {
        let mut s = state.lock().await;
        if s.done {
            return Ok(());
        }
        let ahead: Vec<String> = s
            .tags
            .iter()
            .filter(|(n, u)| s.ahead(order, &sort_key(order, n, **u)))
            .map(|(n, _)| n.clone())
            .collect();
        match rng.below(10) {
            // Create a new tag (it may land ahead of the walk or behind it).
            0..=4 => {
                fresh += 1;
                let name = format!("{}w{fresh}", ["a", "M", "z", "0", "_"][rng.below(5)]);
                let before = now();
                let reply = match s.tags.keys().nth(rng.below(s.tags.len())) {
                    Some(source) => {
                        let body = json!({"source_tag": source, "destination_tag": name});
                        call(&http, Method::POST, base, Some(&body)).await?
                    }
                    None => {
                        let path = format!("/_mock/swr/namespaces/pg/repos/r/tags/{name}");
                        call(&http, Method::PUT, &path, None).await?
                    }
                };
                prop_assert_eq!(reply.status, 201, "create {}: {}", name, reply.body);
                let after = now();
                let updated = if before == after {
                    before
                } else {
                    let show = call(&http, Method::GET, &format!("{base}/{name}"), None).await?;
                    parse_time(&show.body["updated"])
                };
                if !s.ahead(order, &sort_key(order, &name, updated)) {
                    s.created_behind.insert(name.clone());
                }
                s.tags.insert(name, updated);
            }
            // Delete a tag the walk has not reached.
            5..=7 if !ahead.is_empty() => {
                let name = ahead[rng.below(ahead.len())].clone();
                let reply = call(&http, Method::DELETE, &format!("{base}/{name}"), None).await?;
                prop_assert_eq!(reply.status, 204, "delete {}: {}", name, reply.body);
                s.tags.remove(&name);
            }
            // Re-tag (override) a tag the walk has not reached, in the tag
            // order only: its key stays put there (by time it would move).
            _ if order.by_tag && !ahead.is_empty() => {
                let name = ahead[rng.below(ahead.len())].clone();
                let body = json!({"source_tag": name, "destination_tag": name, "override": true});
                let reply = call(&http, Method::POST, base, Some(&body)).await?;
                prop_assert_eq!(reply.status, 201, "override {}: {}", name, reply.body);
                let show = call(&http, Method::GET, &format!("{base}/{name}"), None).await?;
                s.tags.insert(name, parse_time(&show.body["updated"]));
            }
            _ => {}
        }
        s.writes += 1;
        drop(s);
        tokio::task::yield_now().await;
    }
}

async fn walk_while_writing(
    tags: Vec<(String, i64)>,
    limit: usize,
    order: Order,
    seed: u64,
) -> Result<(), TestCaseError> {
    let server = Server::builder()
        .fixture_json("paging.json", paging_fixture(&tags))
        .journal_size(0)
        .start()
        .await
        .map_err(|e| TestCaseError::fail(format!("server start: {e}")))?;
    let http = Http::new(server.uri());
    let state = Arc::new(tokio::sync::Mutex::new(WalkState {
        tags: tags.iter().cloned().collect(),
        ..WalkState::default()
    }));
    let writer = tokio::spawn(writer(http.clone(), state.clone(), order, seed));
    let base = format!(
        "/v3/manage/namespaces/pg/repos/r/tags?limit={limit}&{}",
        order.query()
    );
    let mut marker: Option<String> = None;
    let mut have: Vec<String> = vec![];
    let walked = async {
        for _ in 0..10_000 {
            let mut s = state.lock().await;
            let want_all = s.following(order);
            let path = match &marker {
                Some(m) => format!("{base}&marker={m}"),
                None => base.clone(),
            };
            let reply = call(&http, Method::GET, &path, None).await?;
            prop_assert_eq!(reply.status, 200, "{}", reply.body);
            let page: Vec<String> = reply.body["tags"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|i| i["tag"].as_str().unwrap_or_default().to_owned())
                .collect();
            let want: Vec<String> = want_all.iter().take(limit).cloned().collect();
            prop_assert_eq!(&page, &want, "page after {:?}", s.position);
            if let Some(last) = page.last() {
                let updated = s.tags.get(last).copied().unwrap_or_default();
                s.position = Some(sort_key(order, last, updated));
            }
            have.extend(page);
            match reply.body.get("nextMarker").and_then(Value::as_str) {
                Some(m) => {
                    prop_assert!(want_all.len() > limit, "a marker after the last tag");
                    marker = Some(m.to_owned());
                }
                None => {
                    prop_assert!(want_all.len() <= limit, "no marker but tags follow");
                    s.done = true;
                    return Ok(s.writes);
                }
            }
        }
        Err(TestCaseError::fail("the walk does not end"))
    };
    let result = walked.await;
    state.lock().await.done = true;
    let written = writer
        .await
        .map_err(|e| TestCaseError::fail(format!("writer: {e}")))?;
    let writes = result?;
    written?;
    // As a whole: every tag present at the end, except those created behind
    // the walk, exactly once and in order (deleted ones never appear).
    let s = state.lock().await;
    let mut keys: Vec<(i64, String)> = s
        .tags
        .iter()
        .filter(|(n, _)| !s.created_behind.contains(*n))
        .map(|(n, u)| sort_key(order, n, *u))
        .collect();
    keys.sort();
    if !order.asc {
        keys.reverse();
    }
    let want: Vec<String> = keys.into_iter().map(|(_, n)| n).collect();
    let unique: HashSet<&String> = have.iter().collect();
    prop_assert_eq!(unique.len(), have.len(), "a tag returned twice");
    prop_assert_eq!(&have, &want, "{} writes during the walk", writes);
    Ok(())
}

proptest! {
    #![proptest_config(config("paging-writer", 24))]

    /// v3 marker walks while a writer adds and deletes tags between pages.
    #[test]
    fn marker_walks_hold_under_a_concurrent_writer(
        n in 0..400usize,
        limit in prop_oneof![1..=10usize, 11..=60usize],
        order in order_strategy(),
        seed in any::<u64>(),
    ) {
        let tags = paging_tags(n, seed);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            tokio::time::timeout(
                Duration::from_secs(60),
                walk_while_writing(tags, limit, order, seed ^ 0x5eed),
            )
            .await
            .map_err(|_| TestCaseError::fail("timed out: a hang"))?
        })?;
    }
}

// ---------------------------------------------------------------------------
// Export round trip (issue 14, finding 7)

/// Ids at and around the edges of the accepted range, and plain ones.
fn id_strategy() -> impl Strategy<Value = i64> {
    const MAX_ID: i64 = 9_007_199_254_740_991;
    prop_oneof![
        Just(1),
        Just(0),
        Just(-1),
        Just(MAX_ID - 1),
        Just(MAX_ID),
        Just(MAX_ID + 1),
        Just(i64::MAX),
        Just(i64::MIN),
        1i64..1000,
    ]
}

/// One write through one of the doors that change the state.
#[derive(Debug, Clone)]
enum StateOp {
    /// `PUT /_mock/swr/namespaces/{ns}/repos/app/tags/{tag}` with optional fields.
    Push {
        ns: usize,
        tag: usize,
        id: Option<i64>,
        size: Option<i64>,
    },
    /// `PUT /_mock/state` with one repository (explicit repo and tag ids).
    Import { repo_id: i64, tag_id: i64 },
    /// `CreateRepoTag` (v2) from `src` to `dst` in `ns/app`, overriding.
    Retag { ns: usize, src: usize, dst: usize },
    /// `DeleteRepoTag` (v3).
    Delete { ns: usize, tag: usize },
    /// IMS `AddImageTag` on the seed image.
    ImsTag { key: usize },
}

fn state_op_strategy() -> impl Strategy<Value = StateOp> {
    prop_oneof![
        4 => (0..2usize, 0..4usize, prop::option::of(id_strategy()), prop::option::of(prop_oneof![Just(0i64), Just(-5), Just(i64::MAX), 1i64..1_000_000]))
            .prop_map(|(ns, tag, id, size)| StateOp::Push { ns, tag, id, size }),
        1 => (id_strategy(), id_strategy()).prop_map(|(repo_id, tag_id)| StateOp::Import { repo_id, tag_id }),
        2 => (0..2usize, 0..4usize, 0..4usize).prop_map(|(ns, src, dst)| StateOp::Retag { ns, src, dst }),
        1 => (0..2usize, 0..4usize).prop_map(|(ns, tag)| StateOp::Delete { ns, tag }),
        1 => (0..4usize).prop_map(|key| StateOp::ImsTag { key }),
    ]
}

async fn apply_state_op(http: &Http, op: &StateOp) -> Result<Reply, TestCaseError> {
    let ns_name = |ns: usize| format!("ns{ns}");
    let tag_name = |t: usize| format!("t{t}");
    match op {
        StateOp::Push { ns, tag, id, size } => {
            let mut body = serde_json::Map::new();
            if let Some(id) = id {
                body.insert("id".into(), json!(id));
            }
            if let Some(size) = size {
                body.insert("size".into(), json!(size));
            }
            let path = format!(
                "/_mock/swr/namespaces/{}/repos/app/tags/{}",
                ns_name(*ns),
                tag_name(*tag)
            );
            call(http, Method::PUT, &path, Some(&Value::Object(body))).await
        }
        StateOp::Import { repo_id, tag_id } => {
            let state = json!({"swr": {"namespaces": [{"name": "ns0", "repositories": [
                {"name": "app", "id": repo_id, "tags": [{"tag": "t0", "id": tag_id}]}]}]}});
            call(http, Method::PUT, "/_mock/state", Some(&state)).await
        }
        StateOp::Retag { ns, src, dst } => {
            let path = format!("/v2/manage/namespaces/{}/repos/app/tags", ns_name(*ns));
            let body = json!({"source_tag": tag_name(*src), "destination_tag": tag_name(*dst), "override": true});
            call(http, Method::POST, &path, Some(&body)).await
        }
        StateOp::Delete { ns, tag } => {
            let path = format!(
                "/v3/manage/namespaces/{}/repos/app/tags/{}",
                ns_name(*ns),
                tag_name(*tag)
            );
            call(http, Method::DELETE, &path, None).await
        }
        StateOp::ImsTag { key } => {
            let path = format!(
                "/v2/{PROJECT}/images/67e17426-359e-49fb-aa12-0bd1756ec240/tags",
                PROJECT = "fd73a4a14a4a4dfb9771a8475e5198ea"
            );
            let body = json!({"tag": {"key": format!("k{key}"), "value": "v"}});
            call(http, Method::POST, &path, Some(&body)).await
        }
    }
}

/// After every operation (accepted or refused, never a 5xx): the export
/// loads into a fresh server (as after a restart) and exports the same bytes.
async fn run_state_ops(ops: &[StateOp]) -> Result<(), TestCaseError> {
    let server = Server::builder()
        .start()
        .await
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let http = Http::new(server.uri());
    for op in ops {
        apply_state_op(&http, op).await?;
        let exported = server.export_state().to_string();
        let mirror = Server::builder()
            .start()
            .await
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        mirror.import_state(&exported).map_err(|e| {
            TestCaseError::fail(format!("after {op:?} the export does not load: {e}"))
        })?;
        prop_assert_eq!(
            mirror.export_state().to_string(),
            exported,
            "after {:?} the export reloads to another state",
            op
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(config("export round trip", 24))]

    /// 24 cases of 1 to 12 writes through the admin push, the state import,
    /// the SWR and IMS APIs, with ids at the edges of their range.
    #[test]
    fn any_accepted_state_exports_and_reloads_to_the_same_state(
        ops in prop::collection::vec(state_op_strategy(), 1..=12)
    ) {
        runtime().block_on(run_state_ops(&ops))?;
    }
}
