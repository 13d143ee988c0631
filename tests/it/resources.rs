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
