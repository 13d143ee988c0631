//! SWR v2 `GET /v2/manage/namespaces/{namespace}/repos/{repository}/tags`.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::helpers::*;

const SEED_MANIFEST: &str = r#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":1862,"digest":"sha256:741f24a795d6d93d7c6edd11780d63c13e16c39615dd9d223378a57a836f2ee6"},"layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":1292800,"digest":"sha256:8ac8bfaff55af948c796026ee867448c5b5b5d9dd3549f4006d9759b25d4a893"},{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":10240,"digest":"sha256:77ddbf3a9fe11e81761a0f9df43a28e3e6f29bbb53c0c8cf71cd7efa69729aed"}]}"#;

const LIST: &str = "/v2/manage/namespaces/namespace/repos/busybox/tags";

fn names(body: &Value) -> Vec<String> {
    body.as_array()
        .expect("bare array")
        .iter()
        .map(|t| t["Tag"].as_str().expect("Tag").to_owned())
        .collect()
}

#[tokio::test]
async fn the_seed_repository_answers_seed_003_with_id_1_and_the_configured_host() {
    let server = spawn().await;
    let a = get(&server, LIST).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.header("content-range"), "0-1/1");
    assert_eq!(
        a.body,
        json!([{
            "id": 1,
            "repo_id": 1,
            "Tag": "latest",
            "image_id": "741f24a795d6d93d7c6edd11780d63c13e16c39615dd9d223378a57a836f2ee6",
            "manifest": SEED_MANIFEST,
            "digest": "sha256:57b605845a6367c34bfb6ea6477f16852f59aa1861a2b51d10ab77ae0a1dc9c3",
            "schema": 2,
            "path": "swr.cn-north-1.myhuaweicloud.com/namespace/busybox:latest",
            "internal_path": "10.125.0.198:20202/namespace/busybox:latest",
            "size": 1_304_902,
            "is_trusted": false,
            "created": "2018-07-06T06:18:55Z",
            "updated": "2018-07-06T06:18:55Z",
            "deleted": null,
            "scanned": false,
            "tag_type": 0,
            "domain_id": "0503dda878000fed0f75c0096d70a960",
        }])
    );
    assert_request_id(&a);
}

#[tokio::test]
async fn the_registry_host_setting_shapes_derived_paths() {
    let server = ims_swr_mock::Server::builder()
        .registry_host("registry.test:5000")
        .start()
        .await
        .unwrap();
    let a = get(&server, LIST).await;
    assert_eq!(
        a.body[0]["path"],
        "registry.test:5000/namespace/busybox:latest"
    );
}

#[tokio::test]
async fn an_offset_walk_returns_every_tag_once_newest_first_with_content_range() {
    let server = spawn_json(&generated("bench", "app", 2500)).await;
    let mut seen = Vec::new();
    let mut offset = 0;
    loop {
        let a = get(
            &server,
            &format!("/v2/manage/namespaces/bench/repos/app/tags?limit=1000&offset={offset}"),
        )
        .await;
        assert_eq!(a.status, 200);
        let page = names(&a.body);
        assert_eq!(
            a.header("content-range"),
            format!("{offset}-{}/2500", page.len())
        );
        if page.is_empty() {
            break;
        }
        offset += page.len();
        seen.extend(page);
    }
    assert_eq!(offset, 2500);
    let want: Vec<String> = (0..2500).rev().map(|i| format!("v{i:07}")).collect();
    assert_eq!(
        seen, want,
        "updated_at desc is the reverse of generation order"
    );
}

#[tokio::test]
async fn the_default_page_is_100_tags_and_past_the_end_is_an_empty_array() {
    let server = spawn_json(&generated("bench", "app", 2500)).await;
    let a = get(&server, "/v2/manage/namespaces/bench/repos/app/tags").await;
    assert_eq!(names(&a.body).len(), 100);
    assert_eq!(a.header("content-range"), "0-100/2500");
    let a = get(
        &server,
        "/v2/manage/namespaces/bench/repos/app/tags?offset=2500",
    )
    .await;
    assert_eq!(a.body, json!([]));
    assert_eq!(a.header("content-range"), "2500-0/2500");
}

#[tokio::test]
async fn order_column_and_order_type_sort_by_name_or_time_either_way() {
    let server = spawn_json(
        r#"{"swr":{"namespaces":[{"name":"ns","repositories":[{"name":"r","tags":[
            {"tag":"b","updated":"2020-01-01T00:00:02Z"},
            {"tag":"a","updated":"2020-01-01T00:00:03Z"},
            {"tag":"c","updated":"2020-01-01T00:00:01Z"}]}]}]}}"#,
    )
    .await;
    let cases = [
        ("", ["a", "b", "c"]),
        ("?order_column=updated_at&order_type=desc", ["a", "b", "c"]),
        ("?order_column=updated_at&order_type=asc", ["c", "b", "a"]),
        ("?order_column=tag&order_type=asc", ["a", "b", "c"]),
        ("?order_column=tag&order_type=desc", ["c", "b", "a"]),
        ("?order_type=asc", ["c", "b", "a"]),
    ];
    for (query, want) in cases {
        let a = get(
            &server,
            &format!("/v2/manage/namespaces/ns/repos/r/tags{query}"),
        )
        .await;
        assert_eq!(names(&a.body), want, "{query}");
    }
}

#[tokio::test]
async fn the_tag_filter_matches_substrings_and_counts_only_matches() {
    let server = spawn_json(&generated("bench", "app", 250)).await;
    let a = get(&server, "/v2/manage/namespaces/bench/repos/app/tags?tag=v00001&offset=0&limit=5&order_column=tag&order_type=asc").await;
    assert_eq!(
        names(&a.body),
        ["v0000100", "v0000101", "v0000102", "v0000103", "v0000104"]
    );
    assert_eq!(a.header("content-range"), "0-5/100");
    let a = get(
        &server,
        "/v2/manage/namespaces/bench/repos/app/tags?tag=V000024",
    )
    .await;
    assert_eq!(names(&a.body).len(), 10, "matching ignores ASCII case");
    let a = get(
        &server,
        "/v2/manage/namespaces/bench/repos/app/tags?tag=nope",
    )
    .await;
    assert_eq!(a.body, json!([]));
    assert_eq!(a.header("content-range"), "0-0/0");
}

#[tokio::test]
async fn the_combined_filter_form_means_the_same_as_separate_parameters() {
    let server = spawn_json(&generated("bench", "app", 250)).await;
    let separate = get(&server, "/v2/manage/namespaces/bench/repos/app/tags?offset=3&limit=4&order_column=tag&order_type=asc&tag=v00001").await;
    let combined = get(&server, "/v2/manage/namespaces/bench/repos/app/tags?filter=offset::3%7Climit::4%7Corder_column::tag%7Corder_type::asc%7Ctag::v00001").await;
    assert_eq!(combined.status, 200, "{}", combined.body);
    assert_eq!(combined.body, separate.body);
    assert_eq!(combined.header("content-range"), "3-4/100");
    assert_eq!(
        names(&combined.body),
        ["v0000103", "v0000104", "v0000105", "v0000106"]
    );
}

#[tokio::test]
async fn a_repository_with_a_slash_is_addressed_with_a_dollar_raw_or_encoded() {
    let server = spawn_json(&generated("ns", "group/app", 3)).await;
    for repo in ["group$app", "group%24app", "group%2Fapp"] {
        let a = get(
            &server,
            &format!("/v2/manage/namespaces/ns/repos/{repo}/tags"),
        )
        .await;
        assert_eq!(a.status, 200, "{repo}: {}", a.body);
        assert_eq!(
            a.body[0]["path"],
            "swr.cn-north-1.myhuaweicloud.com/ns/group/app:v0000002"
        );
    }
}

#[tokio::test]
async fn every_limit_from_1_to_1000_is_accepted_and_pages_tile_the_repository() {
    let server = spawn_json(&generated("bench", "app", 1000)).await;
    for limit in [1, 7, 999, 1000] {
        let mut seen = HashSet::new();
        let mut offset = 0;
        while offset < 1000 {
            let a = get(
                &server,
                &format!(
                    "/v2/manage/namespaces/bench/repos/app/tags?limit={limit}&offset={offset}"
                ),
            )
            .await;
            let page = names(&a.body);
            assert_eq!(page.len(), limit.min(1000 - offset));
            seen.extend(page);
            offset += limit;
            if limit == 1 && offset >= 20 {
                break; // a 1-tag walk over 1,000 tags adds nothing but time
            }
        }
        assert_eq!(seen.len(), offset.min(1000), "limit {limit}");
    }
}
