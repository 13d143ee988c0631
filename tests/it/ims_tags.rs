//! IMS tag writes and queries: the rules, atomicity, the aggregate, search,
//! the v1 and Glance operations, and tenancy.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

const IMAGE: &str = "67e17426-359e-49fb-aa12-0bd1756ec240";
const IMAGE3: &str = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a";

async fn call(
    server: &ims_swr_mock::Server,
    method: Method,
    path: impl Into<String>,
    body: Option<Value>,
) -> Answer {
    let body = body.map(|b| ("application/json;charset=utf-8", b.to_string()));
    send_body(server, method, &path.into(), body).await
}

/// `DeleteImageTag`: deletes `key` (sent as given, so already percent-encoded) of `image`.
async fn delete_key(server: &ims_swr_mock::Server, image: &str, key: &str) -> Answer {
    call(
        server,
        Method::DELETE,
        format!("{}/{key}", tags_path(image)),
        None,
    )
    .await
}

async fn keys(server: &ims_swr_mock::Server, image: &str) -> Vec<(String, String)> {
    tag_pairs(&get(server, &tags_path(image)).await)
}

#[tokio::test]
async fn add_image_tag_upserts_in_place_and_enforces_the_rules() {
    let server = spawn().await;
    let add = |key: &str, value: &str| {
        call(
            &server,
            Method::POST,
            tags_path(IMAGE),
            Some(json!({"tag": {"key": key, "value": value}})),
        )
    };
    assert_eq!(add("key9", "new").await.status, 204);
    assert_eq!(
        keys(&server, IMAGE).await[0],
        ("key9".into(), "new".into()),
        "replaced in place"
    );
    assert_eq!(
        add(&"k".repeat(128), &"v".repeat(255)).await.status,
        204,
        "limits are inclusive"
    );
    for (key, value) in [
        ("", "v"),
        ("   ", "v"),
        (&*"k".repeat(129), "v"),
        ("k", &*"v".repeat(256)),
    ] {
        assert_ims_error(&add(key, value).await, 400, "IMG.0115");
    }
    for i in 0..17 {
        assert_eq!(add(&format!("fill{i}"), "").await.status, 204);
    }
    assert_eq!(keys(&server, IMAGE).await.len(), 20);
    assert_ims_error(&add("twenty-first", "x").await, 400, "IMG.0116");
    assert_eq!(
        add("fill0", "changed").await.status,
        204,
        "replacing at the quota is fine"
    );
    assert_ims_error(
        &call(
            &server,
            Method::POST,
            tags_path("no-such-image"),
            Some(json!({"tag": {"key": "k", "value": ""}})),
        )
        .await,
        400,
        "IMG.0027",
    );
    assert_ims_error(
        &call(
            &server,
            Method::POST,
            tags_path(IMAGE),
            Some(json!({"tag": {"value": "x"}})),
        )
        .await,
        400,
        "IMG.0001",
    );
}

#[tokio::test]
async fn batches_apply_completely_or_not_at_all() {
    let server = spawn().await;
    let before = keys(&server, IMAGE).await;
    let batch = |body: Value| {
        call(
            &server,
            Method::POST,
            format!("{}/action", tags_path(IMAGE)),
            Some(body),
        )
    };
    let nine: Vec<Value> = (0..19)
        .map(|i| json!({"key": format!("n{i}"), "value": "v"}))
        .collect();
    assert_ims_error(
        &batch(json!({"action": "create", "tags": nine})).await,
        400,
        "IMG.0116",
    );
    assert_ims_error(&batch(json!({"action": "create", "tags": [{"key": "ok", "value": "1"}, {"key": "", "value": "2"}]})).await, 400, "IMG.0115");
    assert_ims_error(&batch(json!({"action": "create", "tags": [{"key": "d", "value": "1"}, {"key": "d", "value": "2"}]})).await, 400, "IMG.0115");
    assert_ims_error(
        &batch(json!({"action": "create", "tags": []})).await,
        400,
        "IMG.0115",
    );
    assert_ims_error(
        &batch(json!({"action": "Create", "tags": [{"key": "a", "value": "1"}]})).await,
        400,
        "IMG.0001",
    );
    assert_eq!(keys(&server, IMAGE).await, before, "nothing applied");

    assert_eq!(batch(json!({"action": "create", "tags": [{"key": "a", "value": "1"}, {"key": "key8", "value": "now"}]})).await.status, 204);
    assert_eq!(
        keys(&server, IMAGE).await,
        [
            ("key9".into(), "value9".into()),
            ("key8".into(), "now".into()),
            ("a".into(), "1".into())
        ]
    );
    let deleted = batch(json!({"action": "delete", "tags": [{"key": "a", "value": "other"}, {"key": "key8"}, {"key": "missing", "value": "x"}]})).await;
    assert_eq!(deleted.status, 204, "missing tags count as deleted");
    assert_eq!(
        keys(&server, IMAGE).await,
        [("key9".into(), "value9".into()), ("a".into(), "1".into())],
        "a kept: its value differs"
    );
    assert_ims_error(
        &batch(json!({"action": "delete", "tags": [{"key": "k".repeat(129)}]})).await,
        400,
        "IMG.0115",
    );
}

#[tokio::test]
async fn concurrent_writers_never_exceed_the_quota_or_lose_a_write() {
    let server = spawn().await;
    let mut handles = Vec::new();
    for i in 0..22 {
        let url = format!("{}{}", server.uri(), tags_path(IMAGE));
        handles.push(tokio::spawn(async move {
            reqwest::Client::new()
                .post(url)
                .header("x-auth-token", TOKEN)
                .json(&json!({"tag": {"key": format!("c{i}"), "value": "x"}}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for h in handles {
        statuses.push(h.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 204).count(),
        18,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 400).count(),
        4,
        "{statuses:?}"
    );
    assert_eq!(keys(&server, IMAGE).await.len(), 20);
    let all = get(&server, &format!("/v2/{PROJECT}/images/tags")).await;
    let added = all.body["tags"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["key"].as_str().unwrap().starts_with('c'))
        .count();
    assert_eq!(added, 18, "the aggregate saw exactly the accepted writes");
}

#[tokio::test]
async fn deleting_a_missing_key_is_a_404_and_the_aggregate_follows_every_write() {
    let server = spawn().await;
    assert_ims_error(&delete_key(&server, IMAGE, "nope").await, 404, "IMG.0121");
    // key9=value9 sits on images 1 and 3: it stays until both lose it.
    assert_eq!(delete_key(&server, IMAGE, "key9").await.status, 204);
    let agg = get(&server, &format!("/v2/{PROJECT}/images/tags"))
        .await
        .body;
    assert_eq!(agg["tags"][0], json!({"key": "key9", "values": ["value9"]}));
    assert_eq!(delete_key(&server, IMAGE3, "key9").await.status, 204);
    let agg = get(&server, &format!("/v2/{PROJECT}/images/tags"))
        .await
        .body;
    assert_eq!(
        agg,
        json!({"tags": [{"key": "key8", "values": [""]}, {"key": "key3", "values": ["valueXX", "value3"]}]})
    );
    // A key with a space and an at sign, percent-encoded as the SDK sends it.
    call(
        &server,
        Method::POST,
        tags_path(IMAGE),
        Some(json!({"tag": {"key": "k 1@x", "value": ""}})),
    )
    .await;
    assert_eq!(delete_key(&server, IMAGE, "k%201%40x").await.status, 204);
    assert_eq!(
        call(
            &server,
            Method::POST,
            tags_path(IMAGE),
            Some(json!({"tag": {"key": "action", "value": ""}}))
        )
        .await
        .status,
        204
    );
    assert_eq!(
        delete_key(&server, IMAGE, "action").await.status,
        204,
        "the key 'action' is deletable"
    );
}

#[tokio::test]
async fn list_image_by_tags_filters_counts_and_pages() {
    let server = spawn().await;
    let search = |body: Value| {
        call(
            &server,
            Method::POST,
            format!("/v2/{PROJECT}/images/resource_instances/action"),
            Some(body),
        )
    };
    let ids = |a: &Answer| -> Vec<String> {
        a.body["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["resource_name"].as_str().unwrap().to_owned())
            .collect()
    };
    let a = search(json!({"action": "filter", "tags": [{"key": "key9", "values": []}]})).await;
    assert_eq!(ids(&a), ["seed-image-1", "seed-image-3"]);
    assert_eq!(a.body["total_count"], 2);
    assert_eq!(
        a.body["resources"][0]["resource_detail"],
        json!({"status": "active"})
    );
    assert_eq!(
        a.body["resources"][0]["tags"][0],
        json!({"key": "key9", "value": "value9"})
    );
    let page = search(json!({"action": "filter", "tags_any": [{"key": "key3", "values": ["valueXX", "value3"]}], "limit": "1", "offset": "1"})).await;
    assert_eq!(
        (ids(&page), page.body["total_count"].clone()),
        (vec!["seed-image-3".to_owned()], json!(2))
    );
    let not_any =
        search(json!({"action": "filter", "not_tags_any": [{"key": "key8", "values": []}]})).await;
    assert_eq!(ids(&not_any), ["seed-image-2"]);
    let not_all = search(json!({"action": "filter", "not_tags": [{"key": "key8", "values": []}, {"key": "key3", "values": []}]})).await;
    assert_eq!(ids(&not_all), ["seed-image-1", "seed-image-2"]);
    let name = search(
        json!({"action": "filter", "matches": [{"key": "resource_name", "value": "IMAGE-2"}]}),
    )
    .await;
    assert_eq!(ids(&name), ["seed-image-2"]);
    let id =
        search(json!({"action": "count", "matches": [{"key": "resource_id", "value": IMAGE}]}))
            .await;
    assert_eq!(id.body, json!({"total_count": 1}));
    delete_key(&server, "1d2e3f40-5a6b-4c7d-8e9f-0a1b2c3d4e5f", "action").await;
    let batch = call(
        &server,
        Method::POST,
        format!(
            "{}/action",
            tags_path("1d2e3f40-5a6b-4c7d-8e9f-0a1b2c3d4e5f")
        ),
        Some(json!({"action": "delete", "tags": [{"key": "key3"}]})),
    )
    .await;
    assert_eq!(batch.status, 204);
    let untagged = search(json!({"action": "filter", "without_any_tag": true})).await;
    assert_eq!(ids(&untagged), ["seed-image-2"]);
    for bad in [
        json!({"action": "list"}),
        json!({"action": "filter", "tags": []}),
        json!({"action": "filter", "limit": "0"}),
        json!({"action": "filter", "limit": "1001"}),
        json!({"action": "filter", "offset": "-1"}),
        json!({"action": "filter", "matches": [{"key": "owner", "value": "x"}]}),
        json!({"action": "filter", "tags": (0..11).map(|i| json!({"key": format!("k{i}"), "values": []})).collect::<Vec<_>>()}),
    ] {
        assert_ims_error(&search(bad.clone()).await, 400, "IMG.0001");
    }
}

#[tokio::test]
async fn v1_operations_write_by_image_id_and_list_with_filters() {
    let server = spawn().await;
    let put = |body: Value| call(&server, Method::PUT, "/v1/cloudimages/tags", Some(body));
    assert_eq!(
        put(json!({"image_id": IMAGE, "tag": "app.web.v2"}))
            .await
            .status,
        204
    );
    assert_eq!(
        put(json!({"image_id": IMAGE, "tag": "solo"})).await.status,
        204
    );
    assert_eq!(
        put(json!({"image_id": IMAGE, "image_tag": {"key": "tier", "value": "1"}}))
            .await
            .status,
        204
    );
    let tags = keys(&server, IMAGE).await;
    assert!(
        tags.contains(&("app".into(), "web.v2".into()))
            && tags.contains(&("solo".into(), String::new()))
    );
    assert_ims_error(&put(json!({"image_id": IMAGE})).await, 400, "IMG.0001");
    assert_ims_error(
        &put(json!({"image_id": IMAGE, "tag": "a.b", "image_tag": {"key": "a", "value": "b"}}))
            .await,
        400,
        "IMG.0001",
    );
    assert_ims_error(
        &put(json!({"image_id": "nope", "tag": "a.b"})).await,
        400,
        "IMG.0027",
    );

    let list = |q: &str| {
        call(
            &server,
            Method::GET,
            format!("/v1/cloudimages/tags{q}"),
            None,
        )
    };
    let newest_first = list("?limit=1&page=1&architecture=x86").await;
    assert_eq!(
        newest_first.body,
        json!({"tags": ["key3=value3", "key9=value9", "key8"]}),
        "seed-image-3 is newest"
    );
    let older = list("?created_at=lt:2024-01-01T00:02:30Z&__os_type=Linux").await;
    let older: Vec<&str> = older.body["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(
        older,
        [
            "key3=valueXX",
            "key9=value9",
            "key8",
            "app=web.v2",
            "solo",
            "tier=1"
        ]
    );
    assert_eq!(
        list("?name=seed-image-2").await.body,
        json!({"tags": ["key3=valueXX"]})
    );
    assert_eq!(list("?__imagetype=gold").await.body, json!({"tags": []}));
    for bad in [
        "?architecture=mips",
        "?created_at=after:2024",
        "?page=0",
        "?limit=x",
    ] {
        assert_ims_error(&list(bad).await, 400, "IMG.0001");
    }

    let del = call(
        &server,
        Method::DELETE,
        format!("/v1/{PROJECT}/cloudimages/{IMAGE}/tags/delete"),
        Some(json!({"tags": [{"key": "tier", "value": "1"}, {"key": "solo"}, {"key": "ghost"}]})),
    )
    .await;
    assert_eq!(del.status, 204);
    let left: Vec<String> = keys(&server, IMAGE)
        .await
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(left, ["key9", "key8", "app"]);
}

#[tokio::test]
async fn glance_tags_are_key_only_tags() {
    let server = spawn().await;
    let glance =
        |m: Method, tag: &str| call(&server, m, format!("/v2/images/{IMAGE}/tags/{tag}"), None);
    assert_eq!(glance(Method::PUT, "blue").await.status, 204);
    assert_eq!(
        glance(Method::PUT, "key9").await.status,
        204,
        "an existing key is left alone"
    );
    let tags = keys(&server, IMAGE).await;
    assert!(
        tags.contains(&("blue".into(), String::new()))
            && tags.contains(&("key9".into(), "value9".into()))
    );
    assert_eq!(
        glance(Method::DELETE, "key9").await.status,
        204,
        "deleted whatever its value"
    );
    assert_ims_error(&glance(Method::DELETE, "key9").await, 404, "IMG.0121");
    assert_ims_error(&glance(Method::PUT, "a=b").await, 400, "IMG.0115");
    assert_eq!(
        glance(Method::PUT, "a.b").await.status,
        204,
        "a dot is a key character"
    );
    assert_ims_error(&glance(Method::PUT, "a*b").await, 400, "IMG.0115");
    assert_ims_error(
        &call(&server, Method::PUT, "/v2/images/nope/tags/x", None).await,
        400,
        "IMG.0027",
    );
}

#[tokio::test]
async fn strict_tenancy_covers_paths_with_and_without_a_project() {
    let server = ims_swr_mock::Server::builder()
        .auth(ims_swr_mock::AuthMode::Strict)
        .start()
        .await
        .unwrap();
    let other_image = "0b0b0b0b-0000-4000-8000-000000000001";
    let other_project = "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b";
    let a = call(
        &server,
        Method::POST,
        format!("/v2/{other_project}/images/{other_image}/tags"),
        Some(json!({"tag": {"key": "k", "value": ""}})),
    )
    .await;
    assert_ims_error(&a, 400, "IMG.0030");
    let v1 = call(
        &server,
        Method::PUT,
        "/v1/cloudimages/tags",
        Some(json!({"image_id": other_image, "tag": "k.v"})),
    )
    .await;
    assert_ims_error(&v1, 400, "IMG.0027");
    assert_ims_error(
        &call(
            &server,
            Method::PUT,
            format!("/v2/images/{other_image}/tags/k"),
            None,
        )
        .await,
        400,
        "IMG.0027",
    );
    let mine = get(&server, "/v1/cloudimages/tags").await;
    assert!(
        !mine.body.to_string().contains("owner"),
        "tenant 2's tags are not listed: {}",
        mine.body
    );
}
