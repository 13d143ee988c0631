//! Running a model case: `Case::step` sends one operation over HTTP, predicts
//! the answer from the reference model, compares the two, and applies the
//! change to the model. Also the model property itself.

use std::collections::HashSet;
use std::sync::atomic::Ordering;

use crate::common::{Http, Reply};
use crate::ops::{ByTagsQuery, Conditions, Op, op_strategy};
use crate::reference::{
    Failure, IMAGES, ImsModel, MAX_KEY, MAX_VALUE, ModelImage, NS, Order, PROJECT, REPO_URL,
    SWR_TAGS, SwrModel, SwrTag, model_fixture, tags_json, upsert, valid_new_tag, valid_swr_tag,
};
use crate::support::{
    CASES, OPS, PLANNED, REQUESTS, call, config, content_range, enc, now, parse_time, runtime,
};
use ims_swr_mock::Server;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use reqwest::Method;
use serde_json::{Value, json};

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
                    .await?;
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
                let range = content_range(&reply);
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
