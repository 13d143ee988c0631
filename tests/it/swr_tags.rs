//! SWR `ShowRepoTag`, `CreateRepoTag`, `DeleteRepoTag` and the admin push door.

use std::collections::HashSet;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

const BASE: &str = "/v2/manage/namespaces/namespace/repos/busybox/tags";
const V3: &str = "/v3/manage/namespaces/namespace/repos/busybox/tags";

async fn post_json(server: &ims_swr_mock::Server, path: &str, body: Value) -> Answer {
    let request = reqwest::Client::new()
        .post(format!("{}{path}", server.uri()))
        .header("x-auth-token", TOKEN)
        .header("content-type", "application/json;charset=utf-8")
        .body(body.to_string());
    answer(request).await
}

fn v2_names(body: &Value) -> Vec<String> {
    body.as_array()
        .unwrap()
        .iter()
        .map(|t| t["Tag"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn show_repo_tag_answers_one_tag_with_a_lowercase_name_and_the_manifest() {
    let server = spawn().await;
    let a = get(&server, &format!("{BASE}/latest")).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["tag"], "latest");
    assert!(a.body.get("Tag").is_none() && a.body.get("deleted").is_none());
    assert!(
        a.body["manifest"]
            .as_str()
            .unwrap()
            .starts_with("{\"schemaVersion\":2")
    );
    assert_eq!(a.body["domain_id"], "0503dda878000fed0f75c0096d70a960");
    let missing = get(&server, &format!("{BASE}/nope")).await;
    let msg = assert_swr_error(&missing, 404, "SVCSTG.SWR.4040048");
    assert!(msg.contains("nope"));
    assert_swr_error(
        &get(&server, &format!("{BASE}/-bad")).await,
        400,
        "SVCSTG.SWR.4009021",
    );
    assert_swr_error(
        &get(
            &server,
            "/v2/manage/namespaces/namespace/repos/nosuch/tags/latest",
        )
        .await,
        404,
        "SVCSTG.SWR.4040010",
    );
}

#[tokio::test]
async fn create_repo_tag_retags_and_the_lists_show_it_at_once() {
    let server = spawn().await;
    let created = post_json(
        &server,
        BASE,
        json!({"source_tag": "latest", "destination_tag": "v2", "override": false}),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body, Value::Null, "201 with an empty body");

    let v2 = get(&server, BASE).await;
    assert_eq!(v2_names(&v2.body), ["v2", "latest"], "newest first");
    assert_eq!(v2.header("content-range"), "0-2/2");
    let v3 = get(&server, V3).await;
    let new = &v3.body["tags"][0];
    let old = &v3.body["tags"][1];
    assert_eq!(new["tag"], "v2");
    assert_eq!(new["image_id"], old["image_id"]);
    assert_eq!(new["digest"], old["digest"]);
    assert_eq!(new["size"], old["size"]);
    assert_eq!(
        new["id"], 3,
        "the next free tag id (tenant 2's tag holds 2)"
    );
    assert_eq!(
        new["path"],
        "swr.cn-north-1.myhuaweicloud.com/namespace/busybox:v2"
    );
    assert_eq!(new["created"], new["updated"]);
    assert!(new["updated"].as_str().unwrap() > old["updated"].as_str().unwrap());

    let conflict = post_json(
        &server,
        BASE,
        json!({"source_tag": "latest", "destination_tag": "v2"}),
    )
    .await;
    assert_swr_error(&conflict, 409, "SVCSTG.SWR.4090006");
    let missing = post_json(
        &server,
        BASE,
        json!({"source_tag": "nope", "destination_tag": "v3"}),
    )
    .await;
    assert_swr_error(&missing, 404, "SVCSTG.SWR.4040048");
    let bad_name = post_json(
        &server,
        BASE,
        json!({"source_tag": "latest", "destination_tag": "has space"}),
    )
    .await;
    assert_swr_error(&bad_name, 400, "SVCSTG.SWR.4009021");
    for body in [
        "{",
        "[]",
        "{\"source_tag\":\"latest\"}",
        "{\"source_tag\":1,\"destination_tag\":\"x\"}",
    ] {
        let request = reqwest::Client::new()
            .post(format!("{}{BASE}", server.uri()))
            .header("x-auth-token", TOKEN)
            .header("content-type", "application/json")
            .body(body);
        let a = answer(request).await;
        assert_eq!(a.status, 400, "{body}: {}", a.body);
        assert!(
            a.body["error_code"]
                .as_str()
                .unwrap()
                .starts_with("SVCSTG.SWR."),
            "{body}"
        );
    }
}

#[tokio::test]
async fn create_repo_tag_with_override_replaces_the_destination_and_bumps_updated() {
    let server = spawn().await;
    server
        .push_tag(
            "namespace",
            "busybox",
            json!({"tag": "stable", "size": 7, "updated": "2020-01-01T00:00:00Z"}),
        )
        .unwrap();
    let before = get(&server, &format!("{BASE}/stable")).await.body;
    let a = post_json(
        &server,
        BASE,
        json!({"source_tag": "latest", "destination_tag": "stable", "override": true}),
    )
    .await;
    assert_eq!(a.status, 201);
    let after = get(&server, &format!("{BASE}/stable")).await.body;
    assert_eq!(after["id"], before["id"], "the tag keeps its id");
    assert_eq!(after["created"], before["created"]);
    assert_ne!(after["updated"], before["updated"]);
    assert_eq!(after["size"], 1_304_902, "it now points at latest's image");
}

#[tokio::test]
async fn delete_repo_tag_removes_it_from_every_view() {
    let server = spawn().await;
    post_json(
        &server,
        BASE,
        json!({"source_tag": "latest", "destination_tag": "old"}),
    )
    .await;
    let a = send(&server, Method::DELETE, &format!("{BASE}/old")).await;
    assert_eq!(a.status, 204);
    assert_eq!(a.body, Value::Null);
    assert_eq!(get(&server, BASE).await.header("content-range"), "0-1/1");
    assert_swr_error(
        &get(&server, &format!("{BASE}/old")).await,
        404,
        "SVCSTG.SWR.4040048",
    );
    assert_swr_error(
        &send(&server, Method::DELETE, &format!("{BASE}/old")).await,
        404,
        "SVCSTG.SWR.4040048",
    );
}

#[tokio::test]
async fn a_marker_walk_sees_each_tag_once_while_another_client_writes_over_http() {
    let server = spawn_json(&generated("namespace", "busybox", 600)).await;
    let base = "/v3/manage/namespaces/namespace/repos/busybox/tags?limit=50&order_column=tag&order_type=asc";
    let mut seen = Vec::new();
    let mut marker: Option<String> = None;
    let mut deleted = HashSet::new();
    for page in 0.. {
        let url = marker
            .as_ref()
            .map_or(base.to_owned(), |m| format!("{base}&marker={m}"));
        let a = get(&server, &url).await;
        seen.extend(
            a.body["tags"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["tag"].as_str().unwrap().to_owned()),
        );
        let victim = format!("v{:07}", 599 - page);
        assert_eq!(
            send(&server, Method::DELETE, &format!("{BASE}/{victim}"))
                .await
                .status,
            204
        );
        deleted.insert(victim);
        let add = post_json(
            &server,
            BASE,
            json!({"source_tag": "v0000000", "destination_tag": format!("w{page:03}")}),
        )
        .await;
        assert_eq!(add.status, 201);
        match a.body.get("nextMarker") {
            Some(m) => marker = Some(m.as_str().unwrap().to_owned()),
            None => break,
        }
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "nothing twice");
    for i in 0..600 {
        let name = format!("v{i:07}");
        assert!(
            unique.contains(&name) || deleted.contains(&name),
            "{name} skipped"
        );
    }
}

#[tokio::test]
async fn the_push_door_creates_namespaces_repositories_and_tags() {
    let server = spawn().await;
    let url = |path: &str| format!("{}/_mock/swr/namespaces/{path}", server.uri());
    let push = |path: String, body: Option<Value>| {
        let mut request = reqwest::Client::new().put(path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        answer(request)
    };
    let a = push(
        url("team/repos/group$app/tags/1.0"),
        Some(json!({"size": 42, "created": "2024-05-01T00:00:00Z"})),
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.body);
    assert_eq!(a.body["tag"], "1.0");
    assert_eq!(a.body["size"], 42);
    assert_eq!(
        a.body["path"],
        "swr.cn-north-1.myhuaweicloud.com/team/group/app:1.0"
    );
    let listed = get(&server, "/v3/manage/namespaces/team/repos/group$app/tags").await;
    assert_eq!(listed.body["tags"][0]["tag"], "1.0");
    assert_eq!(listed.body["tags"][0]["repo_id"], 3, "a new repository id");
    let again = push(url("team/repos/group$app/tags/1.0"), None).await;
    assert_eq!(again.status, 200, "replaced");
    assert_eq!(again.body["id"], a.body["id"]);
    let bad = push(
        url("team/repos/group$app/tags/1.1"),
        Some(json!({"size": "big"})),
    )
    .await;
    assert_eq!(bad.status, 400);
    assert!(
        bad.body["error_msg"].as_str().unwrap().contains("size"),
        "{}",
        bad.body
    );
    assert_eq!(push(url("Bad/repos/r/tags/t"), None).await.status, 400);
    let wrong_owner = push(
        format!(
            "{}?domain_id=someone-else",
            url("namespace/repos/busybox/tags/x")
        ),
        None,
    )
    .await;
    assert_eq!(
        wrong_owner.status, 400,
        "namespace belongs to another account"
    );
    let owned = push(
        format!(
            "{}?domain_id=0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d",
            url("newns/repos/r/tags/t")
        ),
        None,
    )
    .await;
    assert_eq!(owned.body["domain_id"], "0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d");
    // An id that another tag holds is refused (it would make the state unloadable).
    let taken = push(url("namespace/repos/other/tags/x1"), Some(json!({"id": 1}))).await;
    assert_eq!(taken.status, 400, "{}", taken.body);
    let msg = taken.body["error_msg"].as_str().unwrap();
    assert!(msg.contains("namespace/busybox:latest"), "{msg}");
    let own_id = push(
        url("namespace/repos/busybox/tags/latest"),
        Some(json!({"id": 1})),
    )
    .await;
    assert_eq!(own_id.status, 200, "a tag may keep its own id");
    let state = answer(reqwest::Client::new().get(format!("{}/_mock/state", server.uri()))).await;
    assert!(
        server.import_state(&state.body.to_string()).is_ok(),
        "the state stays loadable"
    );
}

#[tokio::test]
async fn tag_writes_respect_tenancy_in_strict_mode() {
    let server = ims_swr_mock::Server::builder()
        .auth(ims_swr_mock::AuthMode::Strict)
        .start()
        .await
        .unwrap();
    let other = "/v2/manage/namespaces/othernamespace/repos/nginx/tags";
    let a = post_json(
        &server,
        other,
        json!({"source_tag": "1.25", "destination_tag": "x"}),
    )
    .await;
    assert_swr_error(&a, 403, "SVCSTG.SWR.4030170");
    assert_swr_error(
        &send(&server, Method::DELETE, &format!("{other}/1.25")).await,
        403,
        "SVCSTG.SWR.4030170",
    );
    let own = post_json(
        &server,
        BASE,
        json!({"source_tag": "latest", "destination_tag": "mine"}),
    )
    .await;
    assert_eq!(own.status, 201);
}
