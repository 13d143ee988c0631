//! The admin API under /_mock: faults, journal, reset, state, the admin token.

use ims_swr_mock::FaultRule;
use ims_swr_mock::Server;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

const V3: &str = "/v3/manage/namespaces/namespace/repos/busybox/tags";

async fn admin(server: &Server, method: Method, path: &str, body: Option<Value>) -> Answer {
    let mut request =
        reqwest::Client::new().request(method, format!("{}/_mock{path}", server.uri()));
    if let Some(body) = body {
        request = request.json(&body);
    }
    answer(request).await
}

#[tokio::test]
async fn faults_are_managed_through_the_admin_api() {
    let server = spawn().await;
    let created = admin(
        &server,
        Method::POST,
        "/faults",
        Some(json!({"method": "GET", "path": "/v3/**", "status": 503, "times": 1})),
    )
    .await;
    assert_eq!(created.status, 201);
    assert_eq!(created.body["id"], 1);
    assert_eq!(
        created.body["priority"], 5,
        "the stored rule shows its defaults"
    );
    assert_eq!(get(&server, V3).await.status, 503);
    assert_eq!(get(&server, V3).await.status, 200);
    let listed = admin(&server, Method::GET, "/faults", None).await;
    assert_eq!(listed.body["faults"][0]["fired"], 1);
    assert_eq!(listed.body["faults"][0]["retired"], true);
    assert_eq!(
        admin(&server, Method::DELETE, "/faults/1", None)
            .await
            .status,
        204
    );
    assert_eq!(
        admin(&server, Method::DELETE, "/faults/1", None)
            .await
            .status,
        404
    );
    for bad in [
        json!({"path": "/x", "status": 200}),
        json!({"path": "/x"}),
        json!({"path": "/x", "status": 500, "colour": 1}),
        json!([1]),
    ] {
        let a = admin(&server, Method::POST, "/faults", Some(bad.clone())).await;
        assert_eq!(a.status, 400, "{bad}");
        assert!(
            a.body["error_msg"].as_str().unwrap().contains("fault rule"),
            "{}",
            a.body
        );
    }
    admin(
        &server,
        Method::POST,
        "/faults",
        Some(json!({"path": "/**", "status": 500})),
    )
    .await;
    assert_eq!(
        admin(&server, Method::DELETE, "/faults", None).await.status,
        204
    );
    assert_eq!(get(&server, V3).await.status, 200);
}

#[tokio::test]
async fn the_journal_lists_requests_in_order_with_secrets_redacted() {
    let server = Server::builder()
        .fault(FaultRule::parse_spec("GET /v2/** 404 times=1").unwrap())
        .start()
        .await
        .unwrap();
    get(&server, "/v2/fd73a4a14a4a4dfb9771a8475e5198ea/images/tags").await;
    get(&server, &format!("{V3}?limit=5")).await;
    let signed = reqwest::Client::new()
        .get(format!("{}/nope", server.uri()))
        .header("authorization", "SDK-HMAC-SHA256 Access=AKTEST, SignedHeaders=host;x-sdk-date, Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
        .header("x-sdk-date", "20240101T000000Z");
    answer(signed).await;
    admin(&server, Method::GET, "/health", None).await;

    let all = admin(&server, Method::GET, "/requests", None).await;
    assert_eq!(
        all.body["count"], 3,
        "admin calls are not journaled: {}",
        all.body
    );
    let r = &all.body["requests"];
    assert_eq!(
        r[0]["path"],
        "/v2/fd73a4a14a4a4dfb9771a8475e5198ea/images/tags"
    );
    assert_eq!(r[0]["status"], 404);
    assert_eq!(r[0]["fault"], json!({"rule": 1, "action": "status"}));
    assert_eq!(r[0]["route"], "/v2/{project_id}/images/tags");
    assert_eq!(r[0]["headers"]["x-auth-token"], "<redacted>");
    assert_eq!(r[1]["query"], "limit=5");
    assert_eq!(r[1]["status"], 200);
    assert_eq!(r[2]["status"], 404);
    assert_eq!(
        r[2]["headers"]["authorization"],
        "SDK-HMAC-SHA256 Access=AKTEST, SignedHeaders=host;x-sdk-date, Signature=<redacted>"
    );
    assert!(
        !all.body.to_string().contains(TOKEN)
            && !all.body.to_string().contains("0123456789abcdef0123")
    );
    let seqs: Vec<u64> = r
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "oldest first");
    assert!(r[0]["request_id"].as_str().unwrap().len() == 32);

    let by_status = admin(
        &server,
        Method::GET,
        "/requests?status=404&method=get",
        None,
    )
    .await;
    assert_eq!(by_status.body["count"], 2);
    let by_path = admin(&server, Method::GET, "/requests?path=/v3/**", None).await;
    assert_eq!(by_path.body["count"], 1);
    let since = admin(
        &server,
        Method::GET,
        &format!("/requests?since={}", seqs[0]),
        None,
    )
    .await;
    assert_eq!(since.body["count"], 2);
    let since_time = admin(
        &server,
        Method::GET,
        "/requests?since=2000-01-01T00:00:00Z",
        None,
    )
    .await;
    assert_eq!(since_time.body["count"], 3);
    assert_eq!(
        admin(&server, Method::GET, "/requests?since=yesterday", None)
            .await
            .status,
        400
    );
    assert_eq!(
        admin(&server, Method::DELETE, "/requests", None)
            .await
            .status,
        204
    );
    assert_eq!(
        admin(&server, Method::GET, "/requests", None).await.body["count"],
        0
    );
}

#[tokio::test]
async fn the_journal_is_bounded_and_can_be_turned_off() {
    let server = Server::builder().journal_size(5).start().await.unwrap();
    for _ in 0..12 {
        get(&server, V3).await;
    }
    let kept = server.journal().requests(&Default::default());
    assert_eq!(kept.len(), 5);
    assert_eq!(kept[0].seq, 8, "the newest five remain");
    let off = Server::builder().journal_size(0).start().await.unwrap();
    get(&off, V3).await;
    assert!(off.journal().requests(&Default::default()).is_empty());
}

#[tokio::test]
async fn state_export_import_export_is_byte_identical_and_changes_the_answers() {
    let mut doc: Value = serde_json::from_str(&generated("bench", "group/app", 30)).unwrap();
    doc["swr"]["internal_registry_host"] = json!("100.1.1.1:5000");
    doc["ims"] = json!({"projects": [{"id": "p", "images": [{"tags": [{"key": "k"}, {"key": "a", "value": "1"}]}]}]});
    let server = spawn_json(&doc.to_string()).await;
    let first = admin(&server, Method::GET, "/state", None).await.body;
    let before = get(&server, "/v2/manage/namespaces/bench/repos/group$app/tags")
        .await
        .body;
    let put = reqwest::Client::new()
        .put(format!("{}/_mock/state", server.uri()))
        .body(first.to_string());
    assert_eq!(answer(put).await.status, 200);
    let second = admin(&server, Method::GET, "/state", None).await.body;
    assert_eq!(
        serde_json::to_string(&first).unwrap(),
        serde_json::to_string(&second).unwrap()
    );
    let after = get(&server, "/v2/manage/namespaces/bench/repos/group$app/tags")
        .await
        .body;
    assert_eq!(before, after, "the answers survive the round trip");

    // Importing other data changes the answers; importing garbage changes nothing.
    let other = r#"{"swr":{"namespaces":[{"name":"namespace","repositories":[{"name":"busybox","tags":[{"tag":"only"}]}]}]}}"#;
    assert!(server.import_state(other).is_ok());
    assert_eq!(get(&server, V3).await.body["tags"][0]["tag"], "only");
    let bad = answer(
        reqwest::Client::new()
            .put(format!("{}/_mock/state", server.uri()))
            .body("{\"swr\": 1}"),
    )
    .await;
    assert_eq!(bad.status, 400);
    assert!(
        bad.body["error_msg"].as_str().unwrap().contains("$.swr"),
        "{}",
        bad.body
    );
    let with_faults = r#"{"faults":[{"path":"/x","status":500}]}"#;
    assert!(server.import_state(with_faults).is_err());
    assert_eq!(
        get(&server, V3).await.body["tags"][0]["tag"],
        "only",
        "unchanged"
    );
}

#[tokio::test]
async fn reset_restores_the_fixtures_and_startup_faults_and_clears_the_journal() {
    let server = Server::builder()
        .fault(FaultRule::parse_spec("GET /v2/** 500 times=1").unwrap())
        .fixture_json("f.json", r#"{"swr":{"namespaces":[{"name":"namespace","repositories":[{"name":"busybox","tags":[{"tag":"a"}]}]}]},
            "faults":[{"path":"/v3/**","status":503,"times":1}]}"#)
        .start()
        .await
        .unwrap();
    let fresh = server.export_state();
    assert_eq!(get(&server, V3).await.status, 503, "the fixture's rule");
    assert_eq!(
        get(
            &server,
            "/v2/manage/namespaces/namespace/repos/busybox/tags"
        )
        .await
        .status,
        500,
        "the builder's rule"
    );
    server
        .import_state(
            r#"{"swr":{"namespaces":[{"name":"namespace","repositories":[{"name":"busybox"}]}]}}"#,
        )
        .unwrap();
    admin(
        &server,
        Method::POST,
        "/faults",
        Some(json!({"path": "/**", "status": 400, "priority": 0, "method": "PUT"})),
    )
    .await;
    let reset = admin(&server, Method::POST, "/reset", None).await;
    assert_eq!(reset.status, 200);
    assert_eq!(server.export_state(), fresh, "the data is back");
    assert_eq!(
        server.faults().list().len(),
        2,
        "startup rules only, counters fresh"
    );
    assert!(server.faults().list().iter().all(|r| r.fired == 0));
    assert!(server.journal().requests(&Default::default()).is_empty());
    assert_eq!(
        get(&server, V3).await.status,
        503,
        "the startup rule fires again"
    );
}

#[tokio::test]
async fn the_admin_token_is_enforced_on_every_admin_route() {
    let server = Server::builder()
        .admin_token("s3cret")
        .start()
        .await
        .unwrap();
    for path in ["/health", "/faults", "/requests", "/state"] {
        let bare = admin(&server, Method::GET, path, None).await;
        assert_eq!(bare.status, 401, "{path}");
        assert_eq!(bare.body["error_code"], "MOCK.0401");
        let wrong = answer(
            reqwest::Client::new()
                .get(format!("{}/_mock{path}", server.uri()))
                .bearer_auth("s3cre"),
        )
        .await;
        assert_eq!(wrong.status, 401, "{path}");
        let right = answer(
            reqwest::Client::new()
                .get(format!("{}/_mock{path}", server.uri()))
                .bearer_auth("s3cret"),
        )
        .await;
        assert_eq!(right.status, 200, "{path}");
    }
    assert_eq!(
        get(&server, V3).await.status,
        200,
        "the API itself does not need the admin token"
    );
}

#[tokio::test]
async fn no_admin_turns_the_admin_api_into_404s() {
    let server = Server::builder().admin(false).start().await.unwrap();
    let a = admin(&server, Method::GET, "/health", None).await;
    assert_eq!(a.status, 404);
    assert_eq!(a.body["error_code"], "APIGW.0101");
}

#[test]
fn healthcheck_sends_the_admin_token_from_the_environment() {
    let p = start(
        bin()
            .args(["--port", "0"])
            .env("IMS_SWR_MOCK_ADMIN_TOKEN", "tok"),
    );
    let port = p.port().to_owned();
    let check = |token: Option<&str>| {
        let mut cmd = bin();
        cmd.arg("healthcheck").env("IMS_SWR_MOCK_PORT", &port);
        if let Some(t) = token {
            cmd.env("IMS_SWR_MOCK_ADMIN_TOKEN", t);
        }
        cmd.status().unwrap().code()
    };
    assert_eq!(check(Some("tok")), Some(0));
    assert_eq!(check(None), Some(1));
    assert_eq!(check(Some("nope")), Some(1));
    drop(p);
}

#[tokio::test]
async fn abandoned_and_broken_requests_are_journaled_without_a_status() {
    use ims_swr_mock::{ConnectionFault, Delay};
    use tokio::io::AsyncWriteExt;
    let server = Server::builder()
        .fault(FaultRule::new("GET", "/v3/**").delay(Delay::Fixed(2_000)))
        .fault(FaultRule::new("GET", "/v2/{project_id}/images/tags").fault(ConnectionFault::Reset))
        .start()
        .await
        .unwrap();
    let _ = reqwest::Client::new()
        .get(format!(
            "{}/v2/fd73a4a14a4a4dfb9771a8475e5198ea/images/tags",
            server.uri()
        ))
        .header("x-auth-token", TOKEN)
        .send()
        .await;
    let mut stream = tokio::net::TcpStream::connect(server.address())
        .await
        .unwrap();
    stream
        .write_all(format!("GET {V3} HTTP/1.1\r\nhost: x\r\nx-auth-token: t\r\n\r\n").as_bytes())
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    drop(stream); // give up during the delay
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let entries = loop {
        let entries = server.journal().requests(&Default::default());
        if entries.len() == 2 || std::time::Instant::now() > deadline {
            break entries;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(entries.len(), 2, "{entries:?}");
    let reset = &entries[0];
    assert_eq!(
        (reset.status, reset.abandoned),
        (None, false),
        "nothing was sent"
    );
    assert_eq!(reset.fault.as_ref().unwrap().action, "reset");
    let abandoned = &entries[1];
    assert_eq!((abandoned.status, abandoned.abandoned), (None, true));
    assert_eq!(abandoned.fault.as_ref().unwrap().delay_ms, Some(2_000));
}
