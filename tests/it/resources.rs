//! SWR organizations and repositories over raw HTTP: persistence across a
//! restart, the state export/import, faults and the journal, and the
//! repository counters agreeing with the tags after each kind of write.

use ims_swr_mock::FaultRule;
use ims_swr_mock::Server;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

/// Sends `method path` with a JSON body as tenant 1.
async fn send_json(server: &Server, method: Method, path: &str, body: Value) -> Answer {
    let request = reqwest::Client::new()
        .request(method, format!("{}{path}", server.uri()))
        .header("x-auth-token", TOKEN)
        .json(&body);
    answer(request).await
}

/// Creates organization `group` with repositories `app` (linux, public) and
/// `gone` (with a tag), updates `app`, and deletes `gone`.
async fn write_resources(server: &Server) {
    let a = send_json(
        server,
        Method::POST,
        "/v2/manage/namespaces",
        json!({"namespace": "group"}),
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.body);
    for (name, category) in [("app", "linux"), ("gone", "other")] {
        let a = send_json(
            server,
            Method::POST,
            "/v2/manage/namespaces/group/repos",
            json!({"repository": name, "is_public": true, "category": category, "description": "d"}),
        )
        .await;
        assert_eq!(a.status, 201, "{}", a.body);
    }
    server
        .push_tag("group", "gone", json!({"tag": "v1"}))
        .unwrap();
    let a = send_json(
        server,
        Method::PATCH,
        "/v2/manage/namespaces/group/repos/app",
        json!({"is_public": false, "description": "changed"}),
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.body);
    let a = send(
        server,
        Method::DELETE,
        "/v2/manage/namespaces/group/repos/gone",
    )
    .await;
    assert_eq!(a.status, 204, "{}", a.body);
}

#[tokio::test]
async fn organization_and_repository_writes_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.redb");
    let server = Server::builder()
        .persist(&state, None)
        .start()
        .await
        .unwrap();
    write_resources(&server).await;
    // An organization created and deleted leaves no row behind.
    let a = send_json(
        &server,
        Method::POST,
        "/v2/manage/namespaces",
        json!({"namespace": "brief"}),
    )
    .await;
    assert_eq!(a.status, 201);
    let a = send(&server, Method::DELETE, "/v2/manage/namespaces/brief").await;
    assert_eq!(a.status, 204);
    let before = server.export_state();
    server.shutdown().await.unwrap();

    let again = Server::builder()
        .persist(&state, None)
        .start()
        .await
        .expect("the persisted state loads (no tag row of a deleted repository is left)");
    assert_eq!(
        again.export_state(),
        before,
        "every acknowledged write is back"
    );
    let app = get(&again, "/v2/manage/namespaces/group/repos/app").await;
    assert_eq!(app.status, 200, "{}", app.body);
    assert_eq!(app.body["description"], "changed");
    assert_eq!(app.body["category"], "linux");
    assert_eq!(app.body["is_public"], false);
    let gone = get(&again, "/v2/manage/namespaces/group/repos/gone").await;
    assert_swr_error(&gone, 404, "SVCSTG.SWR.4040010");
    let brief = get(&again, "/v2/manage/namespaces/brief").await;
    assert_swr_error(&brief, 404, "SVCSTG.SWR.4040058");
}

#[tokio::test]
async fn the_export_carries_organization_and_repository_fields_and_imports_back() {
    let server = spawn().await;
    write_resources(&server).await;
    let exported = server.export_state();
    let group = exported["swr"]["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "group")
        .expect("group exported")
        .clone();
    assert_eq!(group["id"], 3);
    assert_eq!(group["creator_name"], "admin");
    let app = &group["repositories"][0];
    assert_eq!(
        (
            &app["name"],
            &app["category"],
            &app["description"],
            &app["is_public"]
        ),
        (
            &json!("app"),
            &json!("linux"),
            &json!("changed"),
            &json!(false)
        )
    );
    let fresh = spawn().await;
    fresh.import_state(&exported.to_string()).unwrap();
    assert_eq!(
        fresh.export_state(),
        exported,
        "export, import, export: the same"
    );
    let shown = get(&fresh, "/v2/manage/namespaces/group/repos/app").await;
    assert_eq!(shown.body["description"], "changed");
}

#[tokio::test]
async fn fixture_resources_are_optional_and_derived_deterministically() {
    let fixture = json!({"swr": {"namespaces": [
        {"name": "zeta", "repositories": [{"name": "r", "tags": [{"tag": "a", "created": "2020-01-01T00:00:00Z", "updated": "2021-01-01T00:00:00Z"}]}]},
        {"name": "alpha", "id": 40, "creator_name": "ops", "repositories": [
            {"name": "s", "category": "database", "description": "x", "is_public": true,
             "created": "2019-01-01T00:00:00Z", "updated": "2019-06-01T00:00:00Z", "num_download": 7}
        ]},
        {"name": "beta"}
    ]}});
    let server = spawn_json(&fixture.to_string()).await;
    let ns = |name: &'static str| {
        let server = &server;
        async move {
            get(server, &format!("/v2/manage/namespaces/{name}"))
                .await
                .body
        }
    };
    // Explicit id kept; the others get the next ones in name order.
    assert_eq!(ns("alpha").await["id"], 40);
    assert_eq!(ns("beta").await["id"], 41);
    assert_eq!(ns("zeta").await["id"], 42);
    assert_eq!(ns("alpha").await["creator_name"], "ops");
    let r = get(&server, "/v2/manage/namespaces/zeta/repos/r")
        .await
        .body;
    assert_eq!(
        (
            &r["category"],
            &r["created"],
            &r["updated"],
            &r["num_images"]
        ),
        (
            &json!("other"),
            &json!("2020-01-01T00:00:00Z"),
            &json!("2021-01-01T00:00:00Z"),
            &json!(1)
        ),
        "created from the oldest tag, updated from the newest"
    );
    let s = get(&server, "/v2/manage/namespaces/alpha/repos/s")
        .await
        .body;
    assert_eq!(
        (
            &s["category"],
            &s["is_public"],
            &s["num_download"],
            &s["updated"]
        ),
        (
            &json!("database"),
            &json!(true),
            &json!(7),
            &json!("2019-06-01T00:00:00Z")
        )
    );
    let bad = json!({"swr": {"namespaces": [{"name": "n", "repositories": [{"name": "r", "category": "games"}]}]}});
    let err = Server::builder()
        .fixture_json("bad.json", bad.to_string())
        .start()
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("category"), "{err}");
}

#[tokio::test]
async fn faults_and_the_journal_reach_the_resource_routes() {
    let server = Server::builder()
        .fault(FaultRule::new("GET", "/v2/manage/repos").status(503))
        .start()
        .await
        .unwrap();
    let a = get(&server, "/v2/manage/repos").await;
    assert_eq!(a.status, 503);
    assert_request_id(&a);
    let b = get(&server, "/v3/manage/repos").await;
    assert_eq!(b.status, 200, "{}", b.body);
    let entries = server.journal().requests(&Default::default());
    let seen: Vec<(&str, Option<u16>)> = entries
        .iter()
        .map(|e| (e.path.as_str(), e.status))
        .collect();
    assert!(seen.contains(&("/v2/manage/repos", Some(503))), "{seen:?}");
    assert!(seen.contains(&("/v3/manage/repos", Some(200))), "{seen:?}");
}

/// Asserts that busybox's `num_images` and `size` (`ShowRepository` and the
/// v2 list) agree with its tags as the v2 tag list shows them.
async fn assert_counters_agree(server: &Server, label: &str) -> i64 {
    let r = get(server, "/v2/manage/namespaces/namespace/repos/busybox")
        .await
        .body;
    let tags = get(server, "/v2/manage/namespaces/namespace/repos/busybox/tags")
        .await
        .body;
    let tags = tags.as_array().unwrap();
    let size: i64 = tags.iter().map(|t| t["size"].as_i64().unwrap()).sum();
    assert_eq!(r["num_images"], tags.len(), "{label}: {r}");
    assert_eq!(r["size"], size, "{label}: {r}");
    let listed = get(server, "/v2/manage/repos?name=busybox").await.body;
    assert_eq!(listed[0]["num_images"], tags.len(), "{label}");
    assert_eq!(listed[0]["size"], size, "{label}");
    assert_eq!(
        listed[0]["tags"].as_array().unwrap().len(),
        tags.len(),
        "{label}"
    );
    size
}

#[tokio::test]
async fn repository_counters_agree_with_the_tags_after_every_kind_of_write() {
    let server = spawn().await;
    assert_counters_agree(&server, "fixture").await;
    server
        .push_tag("namespace", "busybox", json!({"tag": "pushed", "size": 10}))
        .unwrap();
    assert_counters_agree(&server, "push").await;
    let a = send_json(
        &server,
        Method::POST,
        "/v2/manage/namespaces/namespace/repos/busybox/tags",
        json!({"source_tag": "pushed", "destination_tag": "copy"}),
    )
    .await;
    assert_eq!(a.status, 201);
    assert_counters_agree(&server, "retag").await;
    let a = send(
        &server,
        Method::DELETE,
        "/v2/manage/namespaces/namespace/repos/busybox/tags/latest",
    )
    .await;
    assert_eq!(a.status, 204);
    assert_eq!(assert_counters_agree(&server, "delete").await, 20);
}

/// busybox as `ShowRepository`, the unfiltered v2 list and the v3 list show
/// it; asserts that the three agree and returns `(num_images, size,
/// description)`.
async fn busybox_everywhere(server: &Server, label: &str) -> (i64, i64, String) {
    let show = get(server, "/v2/manage/namespaces/namespace/repos/busybox")
        .await
        .body;
    let find = |list: &Value| -> Value {
        list.as_array()
            .and_then(|l| l.iter().find(|r| r["name"] == "busybox"))
            .cloned()
            .unwrap_or_else(|| panic!("{label}: busybox is not listed: {list}"))
    };
    let v2 = find(
        &get(server, "/v2/manage/repos?offset=0&limit=100")
            .await
            .body,
    );
    let v3 = find(&get(server, "/v3/manage/repos?limit=100").await.body["repos"]);
    for (field, listed) in [
        ("num_images", "num_images"),
        ("size", "size"),
        ("description", "description"),
        ("is_public", "is_public"),
        ("updated", "updated_at"),
    ] {
        assert_eq!(show[field], v2[listed], "{label}: {field} {show} {v2}");
        assert_eq!(show[field], v3[listed], "{label}: {field} {show} {v3}");
    }
    assert_eq!(
        v2["tags"].as_array().map(Vec::len),
        show["num_images"].as_u64().map(|n| n as usize),
        "{label}: {v2}"
    );
    (
        show["num_images"].as_i64().unwrap(),
        show["size"].as_i64().unwrap(),
        show["description"].as_str().unwrap().to_owned(),
    )
}

/// Pushes a one-layer image to `namespace/busybox:{tag}` through the registry.
async fn registry_push(server: &Server, tag: &str, layer: &[u8]) {
    use sha2::{Digest as _, Sha256};
    let digest = |b: &[u8]| format!("sha256:{}", hex::encode(Sha256::digest(b)));
    let base = format!("{}/v2/namespace/busybox", server.uri());
    let http = reqwest::Client::new();
    let config = br#"{"architecture":"amd64","os":"linux"}"#;
    for blob in [&config[..], layer] {
        let r = http
            .post(format!("{base}/blobs/uploads/?digest={}", digest(blob)))
            .body(blob.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{:?}", r.text().await);
    }
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest(config), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest(layer), "size": layer.len()}],
    });
    let r = http
        .put(format!("{base}/manifests/{tag}"))
        .header("content-type", "application/vnd.oci.image.manifest.v1+json")
        .body(serde_json::to_vec(&manifest).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{:?}", r.text().await);
}

/// The repository lists keep each repository's view between writes: every
/// route that changes what a view shows (a registry push, the admin push
/// route, a re-tag, a tag delete, `UpdateRepo`) must show at once in
/// `ShowRepository` and in both lists, read just before the write.
#[tokio::test]
async fn cached_repository_views_follow_every_write_in_show_and_both_lists() {
    let server = spawn().await;
    let (mut count, mut size, _) = busybox_everywhere(&server, "fixture").await;

    registry_push(&server, "from-registry", &[7; 1000]).await;
    let (n, s, _) = busybox_everywhere(&server, "registry push").await;
    assert_eq!((n, s > size), (count + 1, true), "registry push");
    (count, size) = (n, s);

    let a = send_body(
        &server,
        Method::PUT,
        "/_mock/swr/namespaces/namespace/repos/busybox/tags/from-admin",
        Some(("application/json", json!({"size": 5}).to_string())),
    )
    .await;
    assert!(a.status.is_success(), "{}", a.body);
    let (n, s, _) = busybox_everywhere(&server, "admin push").await;
    assert_eq!((n, s), (count + 1, size + 5), "admin push");
    (count, size) = (n, s);

    let a = send_json(
        &server,
        Method::POST,
        "/v2/manage/namespaces/namespace/repos/busybox/tags",
        json!({"source_tag": "from-admin", "destination_tag": "copy"}),
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.body);
    let (n, s, _) = busybox_everywhere(&server, "retag").await;
    assert_eq!((n, s), (count + 1, size + 5), "retag");
    (count, size) = (n, s);

    let a = send(
        &server,
        Method::DELETE,
        "/v2/manage/namespaces/namespace/repos/busybox/tags/copy",
    )
    .await;
    assert_eq!(a.status, 204, "{}", a.body);
    let (n, s, _) = busybox_everywhere(&server, "delete").await;
    assert_eq!((n, s), (count - 1, size - 5), "delete");

    let a = send_json(
        &server,
        Method::PATCH,
        "/v2/manage/namespaces/namespace/repos/busybox",
        json!({"is_public": true, "description": "after the cache"}),
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.body);
    let (_, _, description) = busybox_everywhere(&server, "update").await;
    assert_eq!(description, "after the cache");
}

/// The v2 list's items are cached JSON, but `total_range` depends on the
/// request's filter: an item served from a view cached by an unfiltered
/// list must carry the filtered list's total, and the cached item must not
/// keep it either way.
#[tokio::test]
async fn v2_items_from_cached_views_carry_each_requests_total_range() {
    let server = spawn().await;
    let a = send_json(
        &server,
        Method::POST,
        "/v2/manage/namespaces/namespace/repos",
        json!({"repository": "second", "is_public": false}),
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.body);
    let totals = |a: &Answer| -> Vec<Value> {
        a.body
            .as_array()
            .expect("an array")
            .iter()
            .map(|item| item["total_range"].clone())
            .collect()
    };
    for (query, expected) in [
        ("", vec![json!(2), json!(2)]),
        ("?name=busybox", vec![json!(1)]),
        ("", vec![json!(2), json!(2)]),
        ("?namespace=namespace&offset=1&limit=1", vec![json!(2)]),
    ] {
        let a = send(&server, Method::GET, &format!("/v2/manage/repos{query}")).await;
        assert_eq!(a.status, 200, "{query}: {}", a.body);
        assert_eq!(totals(&a), expected, "{query}: {}", a.body);
    }
}
