//! SWR v3 `GET /v3/manage/namespaces/{namespace}/repos/{repository}/tags`.

use std::collections::HashSet;

use ims_swr_mock::SwrTag;
use serde_json::{Value, json};

use crate::helpers::*;

const LIST: &str = "/v3/manage/namespaces/namespace/repos/busybox/tags";

fn names(body: &Value) -> Vec<String> {
    body["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .map(|t| t["tag"].as_str().expect("tag").to_owned())
        .collect()
}

/// Walks every page of `base` (a path with a query) by marker.
async fn walk(server: &ims_swr_mock::Server, base: &str) -> (Vec<String>, usize) {
    let mut seen = Vec::new();
    let mut pages = 0;
    let mut marker: Option<String> = None;
    loop {
        let url = match &marker {
            Some(m) => format!("{base}&marker={m}"),
            None => base.to_owned(),
        };
        let a = get(server, &url).await;
        assert_eq!(a.status, 200, "{}", a.body);
        pages += 1;
        seen.extend(names(&a.body));
        match a.body.get("nextMarker") {
            Some(m) => {
                assert_eq!(a.body["has_more"], true);
                marker = Some(m.as_str().expect("string marker").to_owned());
            }
            None => {
                assert_eq!(a.body["has_more"], false);
                return (seen, pages);
            }
        }
        assert!(pages < 10_000, "the walk does not end");
    }
}

#[tokio::test]
async fn the_seed_repository_answers_seed_004_with_no_next_marker() {
    let server = spawn().await;
    let a = get(&server, LIST).await;
    assert_eq!(a.status, 200);
    assert_eq!(
        a.body,
        json!({
            "tags": [{
                "id": 1,
                "repo_id": 1,
                "tag": "latest",
                "image_id": "741f24a795d6d93d7c6edd11780d63c13e16c39615dd9d223378a57a836f2ee6",
                "manifest": "",
                "digest": "sha256:57b605845a6367c34bfb6ea6477f16852f59aa1861a2b51d10ab77ae0a1dc9c3",
                "schema": 2,
                "path": "swr.cn-north-1.myhuaweicloud.com/namespace/busybox:latest",
                "internal_path": "10.125.0.198:20202/namespace/busybox:latest",
                "size": 1_304_902,
                "is_trusted": false,
                "created": "2018-07-06T06:18:55Z",
                "updated": "2018-07-06T06:18:55Z",
                "domain_id": "0503dda878000fed0f75c0096d70a960",
                "tag_type": 0,
            }],
            "has_more": false,
        })
    );
    assert_request_id(&a);
}

#[tokio::test]
async fn with_manifest_fills_the_manifest_and_false_leaves_it_empty() {
    let server = spawn().await;
    let full = get(&server, &format!("{LIST}?with_manifest=true")).await;
    let manifest = full.body["tags"][0]["manifest"].as_str().unwrap();
    let parsed: Value = serde_json::from_str(manifest).expect("manifest is JSON text");
    assert_eq!(parsed["schemaVersion"], 2);
    let empty = get(&server, &format!("{LIST}?with_manifest=false")).await;
    assert_eq!(empty.body["tags"][0]["manifest"], "");
}

#[tokio::test]
async fn a_marker_walk_over_2500_tags_returns_each_exactly_once_in_order() {
    let server = spawn_json(&generated("bench", "app", 2500)).await;
    let (seen, pages) = walk(
        &server,
        "/v3/manage/namespaces/bench/repos/app/tags?limit=100",
    )
    .await;
    assert_eq!(pages, 25);
    let want: Vec<String> = (0..2500).rev().map(|i| format!("v{i:07}")).collect();
    assert_eq!(seen, want);
    for (query, pages_wanted) in [
        ("limit=7&order_column=tag&order_type=asc", 358),
        ("limit=1000&order_type=asc", 3),
    ] {
        let (seen, pages) = walk(
            &server,
            &format!("/v3/manage/namespaces/bench/repos/app/tags?{query}"),
        )
        .await;
        assert_eq!(pages, pages_wanted, "{query}");
        let mut sorted = seen.clone();
        sorted.sort();
        assert_eq!(seen, sorted, "{query}: ascending");
        assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 2500, "{query}");
    }
}

#[tokio::test]
async fn the_default_limit_is_100_and_the_last_full_page_has_no_marker() {
    let server = spawn_json(&generated("bench", "app", 200)).await;
    let a = get(&server, "/v3/manage/namespaces/bench/repos/app/tags").await;
    assert_eq!(names(&a.body).len(), 100);
    let marker = a.body["nextMarker"].as_str().unwrap();
    let b = get(
        &server,
        &format!("/v3/manage/namespaces/bench/repos/app/tags?marker={marker}"),
    )
    .await;
    assert_eq!(names(&b.body).len(), 100);
    assert!(
        b.body.get("nextMarker").is_none(),
        "exactly 200 tags: nothing follows"
    );
}

#[tokio::test]
async fn a_walk_sees_every_untouched_tag_once_while_others_are_added_and_removed() {
    let server = spawn_json(&generated("bench", "app", 2500)).await;
    let store = server.store().clone();
    let template = store.tag("bench", "app", "v0000000").unwrap().unwrap();
    let base =
        "/v3/manage/namespaces/bench/repos/app/tags?limit=100&order_column=tag&order_type=asc";
    let mut seen = Vec::new();
    let mut marker: Option<String> = None;
    let mut removed = HashSet::new();
    for page in 0.. {
        let url = marker
            .as_ref()
            .map_or(base.to_owned(), |m| format!("{base}&marker={m}"));
        let a = get(&server, &url).await;
        seen.extend(names(&a.body));
        // Between pages: remove a tag far ahead and add tags both behind and ahead.
        let ahead = format!("v{:07}", 2499 - page);
        store.remove_tag("bench", "app", &ahead).unwrap();
        removed.insert(ahead);
        for name in [format!("a-new-{page}"), format!("w-new-{page}")] {
            let tag = SwrTag {
                name: name.as_str().into(),
                ..(*template).clone()
            };
            store.put_tag("bench", "app", tag).unwrap();
        }
        match a.body.get("nextMarker") {
            Some(m) => marker = Some(m.as_str().unwrap().to_owned()),
            None => break,
        }
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no tag is returned twice");
    for i in 0..2500 {
        let name = format!("v{i:07}");
        assert!(
            unique.contains(&name) || removed.contains(&name),
            "{name} was skipped"
        );
    }
    assert!(
        seen.iter().any(|n| n.starts_with("w-new-")),
        "tags added ahead are seen"
    );
    assert!(
        !seen.iter().any(|n| n.starts_with("a-new-")),
        "tags added behind the cursor are not"
    );
}

#[tokio::test]
async fn the_tag_parameter_is_a_case_insensitive_fuzzy_match() {
    let server = spawn_json(&generated("bench", "app", 300)).await;
    let (seen, _) = walk(&server, "/v3/manage/namespaces/bench/repos/app/tags?limit=3&tag=V00002&order_column=tag&order_type=asc").await;
    let want: Vec<String> = (200..300).map(|i| format!("v{i:07}")).collect();
    assert_eq!(seen, want);
    let none = get(
        &server,
        "/v3/manage/namespaces/bench/repos/app/tags?tag=zzz",
    )
    .await;
    assert_eq!(none.body, json!({"tags": [], "has_more": false}));
}

#[tokio::test]
async fn a_repository_with_a_slash_is_addressed_with_a_dollar() {
    let server = spawn_json(&generated("ns", "group/sub/app", 2)).await;
    for repo in ["group$sub$app", "group%24sub%24app"] {
        let a = get(
            &server,
            &format!("/v3/manage/namespaces/ns/repos/{repo}/tags"),
        )
        .await;
        assert_eq!(a.status, 200, "{repo}: {}", a.body);
        assert_eq!(names(&a.body), ["v0000001", "v0000000"]);
    }
}

/// Finding 8 of issue 14: a walk while another client re-tags with
/// `CreateRepoTag` `override: true` (which moves the tag to "now" in the
/// `updated_at` order). Between pages, the writer re-tags one tag the walk
/// has returned and one it has not reached yet; in every order and
/// direction the walk returns every tag exactly once, in the order the
/// repository had when the walk began.
#[tokio::test]
async fn a_walk_returns_each_tag_exactly_once_while_another_client_retags_with_override() {
    const N: usize = 40;
    for (column, direction) in [
        ("updated_at", "asc"),
        ("updated_at", "desc"),
        ("tag", "asc"),
        ("tag", "desc"),
    ] {
        let server = spawn_json(&generated("bench", "app", N)).await;
        let base = format!(
            "/v3/manage/namespaces/bench/repos/app/tags?limit=3&order_column={column}&order_type={direction}"
        );
        // Generated tags are one second apart, so both orders agree at the start.
        let mut want: Vec<String> = (0..N).map(|i| format!("v{i:07}")).collect();
        if direction == "desc" {
            want.reverse();
        }
        let mut seen: Vec<String> = Vec::new();
        let mut marker: Option<String> = None;
        let mut retagged = 0;
        for _ in 0..100 {
            let url = marker
                .as_ref()
                .map_or(base.clone(), |m| format!("{base}&marker={m}"));
            let a = get(&server, &url).await;
            assert_eq!(a.status, 200, "{column} {direction}: {}", a.body);
            seen.extend(names(&a.body));
            // Another client re-tags one tag behind the walk and one ahead of it.
            let behind = seen.last().cloned();
            let ahead = want.get(seen.len() + 1).cloned();
            for destination in behind.into_iter().chain(ahead) {
                let w = send_json(
                    &server,
                    reqwest::Method::POST,
                    "/v2/manage/namespaces/bench/repos/app/tags",
                    json!({"source_tag": "v0000000", "destination_tag": destination, "override": true}),
                )
                .await;
                assert_eq!(w.status, 201, "{}", w.body);
                retagged += 1;
            }
            match a.body.get("nextMarker") {
                Some(m) => marker = Some(m.as_str().unwrap().to_owned()),
                None => break,
            }
        }
        assert!(retagged > 20, "the writer ran");
        assert_eq!(
            seen, want,
            "{column} {direction}: every tag exactly once, in the order of the walk's start"
        );
    }
}

/// "What is recorded is what happened": a marker the server did not issue
/// (forged, tampered with, from another repository or order, or from before
/// a reset) gets a clear 400 in the SWR envelope, never a silent position.
#[tokio::test]
async fn markers_the_server_did_not_issue_get_400() {
    use base64::Engine as _;
    let server = spawn_json(&generated("bench", "app", 30)).await;
    let base = "/v3/manage/namespaces/bench/repos/app/tags?limit=5";
    let first = get(&server, base).await;
    let marker = first.body["nextMarker"].as_str().unwrap().to_owned();
    assert_eq!(
        get(&server, &format!("{base}&marker={marker}"))
            .await
            .status,
        200
    );

    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut tampered = engine.decode(&marker).unwrap();
    let middle = tampered.len() / 2;
    tampered[middle] ^= 1;
    let tampered = engine.encode(tampered);
    // What the old, unsigned format would have taken as "after v0000010".
    let forged = engine.encode("ud:1530000010:v0000010");
    for bad in [
        tampered.as_str(),
        forged.as_str(),
        "9a909b", // the example of the API page
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ] {
        let a = get(&server, &format!("{base}&marker={bad}")).await;
        let msg = assert_swr_error(&a, 400, "SVCSTG.SWR.4000014");
        assert!(msg.contains("marker"), "{msg}");
    }
    // Issued, but for another order or another repository.
    let asc = get(&server, &format!("{base}&order_type=asc&marker={marker}")).await;
    assert_swr_error(&asc, 400, "SVCSTG.SWR.4000014");
    let other = get(
        &server,
        &format!("/v3/manage/namespaces/namespace/repos/busybox/tags?limit=5&marker={marker}"),
    )
    .await;
    assert_swr_error(&other, 400, "SVCSTG.SWR.4000014");
    // Issued before a reset: the repository it pointed into is gone.
    server.reset().unwrap();
    let a = get(&server, &format!("{base}&marker={marker}")).await;
    let msg = assert_swr_error(&a, 400, "SVCSTG.SWR.4000014");
    assert!(msg.contains("start the walk again"), "{msg}");
}

/// Sends `body` as JSON with a token.
async fn send_json(
    server: &ims_swr_mock::Server,
    method: reqwest::Method,
    path: &str,
    body: Value,
) -> Answer {
    answer(
        reqwest::Client::new()
            .request(method, format!("{}{path}", server.uri()))
            .header("x-auth-token", "TOKENTEST")
            .json(&body),
    )
    .await
}
