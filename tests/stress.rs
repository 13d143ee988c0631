//! Concurrent stress (reliability item 3): 8 clients × 5,000 mixed operations
//! against ONE server.
//!
//! Each client writes IMS tags on its own two images and creates and deletes
//! its own SWR tag names (so it can predict every answer exactly from its own
//! model), and reads and walks lists that other clients change at the same
//! time. At the end the server's whole state equals the clients' models
//! merged, no response was a 5xx, and the run finished within a hard timeout
//! (a deadlock fails it). It prints the throughput.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::{Duration, Instant};

use common::{Http, Reply};
use ims_swr_mock::Server;
use reqwest::Method;
use serde_json::{Value, json};

const CLIENTS: usize = 8;
const OPS_PER_CLIENT: usize = 5_000;
const IMAGES_PER_CLIENT: usize = 2;
const NAMES_PER_CLIENT: usize = 20;
const PROJECT: &str = "p1";
const BASE_TAGS: usize = 5;
const LIST: &str = "/v2/manage/namespaces/ns/repos/app/tags";
const KEYS: [&str; 12] = [
    "k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "k9", "k10", "k11",
];
const VALUES: [&str; 4] = ["", "v1", "v2", "v3"];

fn image_id(client: usize, j: usize) -> String {
    format!("c{client}-img{j}")
}

fn fixture() -> String {
    let images: Vec<Value> = (0..CLIENTS)
        .flat_map(|c| (0..IMAGES_PER_CLIENT).map(move |j| json!({"id": image_id(c, j)})))
        .collect();
    let tags: Vec<Value> = (0..BASE_TAGS)
        .map(|t| json!({"tag": format!("base-{t}")}))
        .collect();
    json!({
        "ims": {"projects": [{"id": PROJECT, "images": images}]},
        "swr": {"namespaces": [{"name": "ns", "repositories": [{"name": "app", "tags": tags}]}]}
    })
    .to_string()
}

/// A splitmix64 stream: reproducible per client.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut x = self.0;
        x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((x ^ (x >> 31)) % n as u64) as usize
    }
}

type Tags = Vec<(String, String)>;

/// What one client knows: its images' tags and its SWR names.
#[derive(Debug, Default)]
struct ClientModel {
    images: Vec<Tags>,
    names: BTreeSet<String>,
}

#[derive(Debug, Default)]
struct Tally {
    ops: usize,
    requests: usize,
    server_errors: Vec<String>,
}

struct Client {
    id: usize,
    http: Http,
    rng: Rng,
    model: ClientModel,
    tally: Tally,
}

fn upsert(tags: &mut Tags, key: &str, value: &str) {
    match tags.iter_mut().find(|(k, _)| k == key) {
        Some(t) => value.clone_into(&mut t.1),
        None => tags.push((key.to_owned(), value.to_owned())),
    }
}

fn tags_of(body: &Value) -> Tags {
    body["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            (
                t["key"].as_str().unwrap_or_default().to_owned(),
                t["value"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

impl Client {
    async fn call(&mut self, method: Method, path: &str, body: Option<&Value>) -> Reply {
        self.tally.requests += 1;
        let reply = self
            .http
            .call(method.clone(), path, body)
            .await
            .unwrap_or_else(|e| panic!("client {}: {method} {path}: {e}", self.id));
        if reply.status >= 500 {
            self.tally
                .server_errors
                .push(format!("{method} {path}: {} {}", reply.status, reply.body));
        }
        reply
    }

    /// Applies an edit to the model of image `j` as the server must: all or
    /// nothing, at most 20 tags (`ims_03_0902`) unless the edit shrinks. Returns the status.
    fn expect_edit(&mut self, j: usize, edit: impl FnOnce(&mut Tags)) -> u16 {
        let old = &self.model.images[j];
        let mut new = old.clone();
        edit(&mut new);
        if new.len() > 20 && new.len() > old.len() {
            return 400;
        }
        self.model.images[j] = new;
        204
    }

    async fn step(&mut self) {
        let c = self.id;
        let j = self.rng.below(IMAGES_PER_CLIENT);
        let image = image_id(c, j);
        let name = format!("c{c}-t{}", self.rng.below(NAMES_PER_CLIENT));
        let roll = self.rng.below(100);
        match roll {
            // IMS writes on the client's own images.
            0..=9 => {
                let (k, v) = (KEYS[self.rng.below(12)], VALUES[self.rng.below(4)]);
                let body = json!({"tag": {"key": k, "value": v}});
                let reply = self
                    .call(
                        Method::POST,
                        &format!("/v2/{PROJECT}/images/{image}/tags"),
                        Some(&body),
                    )
                    .await;
                let want = self.expect_edit(j, |t| upsert(t, k, v));
                assert_eq!(reply.status, want, "c{c} add {k}={v}: {}", reply.body);
            }
            10..=17 => {
                let n = 1 + self.rng.below(3);
                let start = self.rng.below(12);
                let create = self.rng.below(2) == 0;
                let tags: Vec<(&str, &str)> = (0..n)
                    .map(|i| (KEYS[(start + i) % 12], VALUES[self.rng.below(4)]))
                    .collect();
                let items: Vec<Value> = tags
                    .iter()
                    .map(|(k, v)| json!({"key": k, "value": v}))
                    .collect();
                let action = if create { "create" } else { "delete" };
                let body = json!({"action": action, "tags": items});
                let reply = self
                    .call(
                        Method::POST,
                        &format!("/v2/{PROJECT}/images/{image}/tags/action"),
                        Some(&body),
                    )
                    .await;
                let want = if create {
                    self.expect_edit(j, |t| {
                        for (k, v) in &tags {
                            upsert(t, k, v);
                        }
                    })
                } else {
                    self.expect_edit(j, |t| {
                        // An empty value deletes by key (the Go SDK's key-only delete).
                        t.retain(|(k, v)| {
                            !tags
                                .iter()
                                .any(|(dk, dv)| dk == k && (dv.is_empty() || dv == v))
                        });
                    })
                };
                assert_eq!(reply.status, want, "c{c} batch {body}: {}", reply.body);
            }
            18..=24 => {
                let k = KEYS[self.rng.below(12)];
                let reply = self
                    .call(
                        Method::DELETE,
                        &format!("/v2/{PROJECT}/images/{image}/tags/{k}"),
                        None,
                    )
                    .await;
                let want = if self.model.images[j].iter().any(|(key, _)| key == k) {
                    self.expect_edit(j, |t| t.retain(|(key, _)| key != k))
                } else {
                    404
                };
                assert_eq!(reply.status, want, "c{c} delete {k}: {}", reply.body);
            }
            // SWR writes on the client's own tag names.
            25..=39 => {
                let source = format!("base-{}", self.rng.below(BASE_TAGS));
                let overwrite = self.rng.below(3) == 0;
                let body =
                    json!({"source_tag": source, "destination_tag": name, "override": overwrite});
                let reply = self.call(Method::POST, LIST, Some(&body)).await;
                let exists = self.model.names.contains(&name);
                let want = if exists && !overwrite { 409 } else { 201 };
                assert_eq!(reply.status, want, "c{c} create {name}: {}", reply.body);
                self.model.names.insert(name);
            }
            40..=49 => {
                let reply = self
                    .call(Method::DELETE, &format!("{LIST}/{name}"), None)
                    .await;
                let want = if self.model.names.remove(&name) {
                    204
                } else {
                    404
                };
                assert_eq!(reply.status, want, "c{c} delete {name}: {}", reply.body);
            }
            // Reads of the client's own data: exact.
            50..=64 => {
                let reply = self
                    .call(
                        Method::GET,
                        &format!("/v2/{PROJECT}/images/{image}/tags"),
                        None,
                    )
                    .await;
                assert_eq!(reply.status, 200, "{}", reply.body);
                assert_eq!(tags_of(&reply.body), self.model.images[j], "c{c} {image}");
            }
            65..=72 => {
                let reply = self
                    .call(Method::GET, &format!("{LIST}/{name}"), None)
                    .await;
                if self.model.names.contains(&name) {
                    assert_eq!(reply.status, 200, "{}", reply.body);
                    assert_eq!(reply.body["tag"], name.as_str());
                } else {
                    assert_eq!(reply.status, 404, "c{c} show {name}: {}", reply.body);
                }
            }
            // Reads of shared lists that others change meanwhile.
            73..=82 => {
                let offset = self.rng.below(150);
                let limit = 1 + self.rng.below(100);
                let order = ["tag&order_type=asc", "updated_at&order_type=desc"][self.rng.below(2)];
                let path = format!("{LIST}?offset={offset}&limit={limit}&order_column={order}");
                let reply = self.call(Method::GET, &path, None).await;
                assert_eq!(reply.status, 200, "{}", reply.body);
                let items = reply.body.as_array().map_or(0, Vec::len);
                assert!(items <= limit);
                let range = reply
                    .headers
                    .get("content-range")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                assert!(
                    range.starts_with(&format!("{offset}-{items}/")),
                    "{path}: {range}"
                );
            }
            83..=91 => {
                // A marker walk over the client's own names (a filter only
                // they match), in tag order: exactly its model, in order.
                let limit = 1 + self.rng.below(8);
                let asc = self.rng.below(2) == 0;
                let base = format!(
                    "/v3/manage/namespaces/ns/repos/app/tags?tag=c{c}-t&order_column=tag&order_type={}&limit={limit}",
                    if asc { "asc" } else { "desc" }
                );
                let mut seen = vec![];
                let mut marker: Option<String> = None;
                loop {
                    let path = match &marker {
                        Some(m) => format!("{base}&marker={m}"),
                        None => base.clone(),
                    };
                    let reply = self.call(Method::GET, &path, None).await;
                    assert_eq!(reply.status, 200, "{}", reply.body);
                    for t in reply.body["tags"].as_array().into_iter().flatten() {
                        seen.push(t["tag"].as_str().unwrap_or_default().to_owned());
                    }
                    match reply.body.get("nextMarker").and_then(Value::as_str) {
                        Some(m) => marker = Some(m.to_owned()),
                        None => break,
                    }
                    assert!(seen.len() <= NAMES_PER_CLIENT, "c{c}: walk too long");
                }
                let mut want: Vec<String> = self.model.names.iter().cloned().collect();
                if !asc {
                    want.reverse();
                }
                assert_eq!(seen, want, "c{c} walk {base}");
            }
            _ => {
                // The aggregate: every tag on the client's own images is in it
                // (no other client can remove it), and no key appears twice.
                let reply = self
                    .call(Method::GET, &format!("/v2/{PROJECT}/images/tags"), None)
                    .await;
                assert_eq!(reply.status, 200, "{}", reply.body);
                let aggregate = aggregate_of(&reply.body);
                for (k, v) in self.model.images.iter().flatten() {
                    assert!(
                        aggregate.get(k).is_some_and(|vs| vs.contains(v)),
                        "c{c}: {k}={v} missing from {}",
                        reply.body
                    );
                }
            }
        }
        self.tally.ops += 1;
    }
}

/// `ListImagesTags` as key → values, checking that nothing repeats.
fn aggregate_of(body: &Value) -> BTreeMap<String, BTreeSet<String>> {
    let mut out = BTreeMap::new();
    for entry in body["tags"].as_array().into_iter().flatten() {
        let key = entry["key"].as_str().unwrap_or_default().to_owned();
        let values: Vec<String> = entry["values"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|v| v.as_str().unwrap_or_default().to_owned())
            .collect();
        let set: BTreeSet<String> = values.iter().cloned().collect();
        assert_eq!(set.len(), values.len(), "a value twice under {key}: {body}");
        assert!(!values.is_empty(), "a key without values: {body}");
        assert!(out.insert(key, set).is_none(), "a key twice: {body}");
    }
    out
}

async fn run(server: &Server) -> Vec<Client> {
    let mut tasks = Vec::new();
    for id in 0..CLIENTS {
        let http = Http::new(server.uri());
        tasks.push(tokio::spawn(async move {
            let mut client = Client {
                id,
                http,
                rng: Rng(0x5eed_0000 + id as u64),
                model: ClientModel {
                    images: vec![Vec::new(); IMAGES_PER_CLIENT],
                    names: BTreeSet::new(),
                },
                tally: Tally::default(),
            };
            for _ in 0..OPS_PER_CLIENT {
                client.step().await;
            }
            client
        }));
    }
    let mut clients = Vec::new();
    for task in tasks {
        clients.push(task.await.expect("a client panicked"));
    }
    clients
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_clients_5000_mixed_operations_each_end_in_the_merged_state() {
    let server = Server::builder()
        .fixture_json("stress.json", fixture())
        .start()
        .await
        .expect("server starts");
    let started = Instant::now();
    let clients = tokio::time::timeout(Duration::from_secs(300), run(&server))
        .await
        .expect("the stress run did not finish in 300 s: a deadlock or a hang");
    let elapsed = started.elapsed();

    let ops: usize = clients.iter().map(|c| c.tally.ops).sum();
    let requests: usize = clients.iter().map(|c| c.tally.requests).sum();
    let errors: Vec<&String> = clients
        .iter()
        .flat_map(|c| &c.tally.server_errors)
        .collect();
    eprintln!(
        "stress: {CLIENTS} clients, {ops} operations ({requests} HTTP requests) in {:.1} s: {:.0} ops/s, {:.0} requests/s, {} 5xx",
        elapsed.as_secs_f64(),
        ops as f64 / elapsed.as_secs_f64(),
        requests as f64 / elapsed.as_secs_f64(),
        errors.len()
    );
    assert!(errors.is_empty(), "5xx answers: {errors:#?}");
    assert_eq!(ops, CLIENTS * OPS_PER_CLIENT);

    // The final state equals the merged models.
    let http = Http::new(server.uri());
    let mut all_tags = Vec::new();
    for c in &clients {
        for (j, want) in c.model.images.iter().enumerate() {
            let path = format!("/v2/{PROJECT}/images/{}/tags", image_id(c.id, j));
            let reply = http.call(Method::GET, &path, None).await.expect("get");
            assert_eq!(&tags_of(&reply.body), want, "{path}");
            all_tags.extend(want.iter().cloned());
        }
    }
    let reply = http
        .call(Method::GET, &format!("/v2/{PROJECT}/images/tags"), None)
        .await
        .expect("aggregate");
    let mut want_aggregate: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (k, v) in all_tags {
        want_aggregate.entry(k).or_default().insert(v);
    }
    assert_eq!(aggregate_of(&reply.body), want_aggregate);

    let reply = http
        .call(Method::GET, &format!("{LIST}?offset=0&limit=1000"), None)
        .await
        .expect("list");
    let listed: Vec<String> = reply
        .body
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| t["Tag"].as_str().unwrap_or_default().to_owned())
        .collect();
    let unique: HashSet<&String> = listed.iter().collect();
    assert_eq!(unique.len(), listed.len(), "a tag listed twice");
    let mut want: BTreeSet<String> = (0..BASE_TAGS).map(|t| format!("base-{t}")).collect();
    for c in &clients {
        want.extend(c.model.names.iter().cloned());
    }
    assert_eq!(listed.into_iter().collect::<BTreeSet<_>>(), want);
    server.shutdown().await.expect("clean shutdown");
}
