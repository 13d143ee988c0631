//! Paging invariants: v2 offset walks and v3 marker walks return every tag
//! once and in order, also while a writer changes the repository between pages.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use crate::common::Http;
use crate::ops::order_strategy;
use crate::reference::{Order, sort_key};
use crate::support::{Rng, call, config, content_range, now, parse_time, runtime};
use ims_swr_mock::Server;
use ims_swr_mock::internals::format_time;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use reqwest::Method;
use serde_json::{Value, json};

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
    order.arrange(tags.iter().map(|(n, u)| sort_key(order, n, *u)).collect())
}

/// A server on [`paging_fixture`] of `tags`, without a journal.
async fn paging_server(tags: &[(String, i64)]) -> Result<Server, TestCaseError> {
    Server::builder()
        .fixture_json("paging.json", paging_fixture(tags))
        .journal_size(0)
        .start()
        .await
        .map_err(|e| TestCaseError::fail(format!("server start: {e}")))
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
        let range = content_range(&reply);
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
            let server = paging_server(&tags).await?;
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
        let keys: Vec<(i64, String)> = self
            .tags
            .iter()
            .map(|(n, u)| sort_key(order, n, *u))
            .filter(|k| self.ahead(order, k))
            .collect();
        order.arrange(keys)
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
    let server = paging_server(&tags).await?;
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
    let keys: Vec<(i64, String)> = s
        .tags
        .iter()
        .filter(|(n, _)| !s.created_behind.contains(*n))
        .map(|(n, u)| sort_key(order, n, *u))
        .collect();
    let want = order.arrange(keys);
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
