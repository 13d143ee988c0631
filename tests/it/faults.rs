//! Fault rules over real HTTP: envelopes, limits, delays (on tokio's paused
//! clock), connection faults, load shedding and panics.

use std::time::Duration;

use axum::routing::get as route_get;
use ims_swr_mock::Server;
use ims_swr_mock::{ConnectionFault, Delay, FaultRule};
use reqwest::Method;

use crate::helpers::*;

const V3: &str = "/v3/manage/namespaces/namespace/repos/busybox/tags";
const IMS: &str = "/v2/fd73a4a14a4a4dfb9771a8475e5198ea/images/tags";

async fn with_rules(rules: Vec<FaultRule>) -> Server {
    let mut builder = Server::builder();
    for rule in rules {
        builder = builder.fault(rule);
    }
    builder.start().await.unwrap()
}

#[tokio::test]
async fn each_status_comes_in_the_envelope_of_the_matched_service() {
    for status in [400u16, 401, 403, 404, 409, 429, 500, 503] {
        let server = with_rules(vec![FaultRule::new("GET", "/**").status(status)]).await;
        let swr = get(&server, V3).await;
        let ims = get(&server, IMS).await;
        for a in [&swr, &ims] {
            assert_eq!(a.status.as_u16(), status);
            assert_request_id(a);
        }
        if matches!(status, 401 | 429) {
            for a in [&swr, &ims] {
                let want = if status == 401 {
                    "APIGW.0301"
                } else {
                    "APIGW.0308"
                };
                assert_eq!(a.body["error_code"], want, "{status}");
                assert_eq!(a.body["request_id"], a.header("x-request-id"));
            }
        } else {
            assert!(
                swr.body["error_code"]
                    .as_str()
                    .unwrap()
                    .starts_with("SVCSTG.SWR."),
                "{status}: {}",
                swr.body
            );
            assert!(
                ims.body["error"]["code"]
                    .as_str()
                    .unwrap()
                    .starts_with("IMG."),
                "{status}: {}",
                ims.body
            );
            assert!(
                swr.body["error_msg"]
                    .as_str()
                    .unwrap()
                    .contains("injected by fault rule 1")
            );
        }
        let retry_after = swr
            .headers
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(
            retry_after.is_some(),
            matches!(status, 429 | 503),
            "{status}"
        );
    }
}

#[tokio::test]
async fn codes_messages_and_retry_after_can_be_overridden() {
    let mut rule = FaultRule::new("*", "/v3/**").status(503);
    rule.error_code = Some("SVCSTG.SWR.5030001".into());
    rule.error_msg = Some("maintenance".into());
    rule.retry_after = Some(30);
    let server = with_rules(vec![rule]).await;
    let a = get(&server, V3).await;
    assert_swr_error(&a, 503, "SVCSTG.SWR.5030001");
    assert_eq!(a.body["error_msg"], "maintenance");
    assert_eq!(a.header("retry-after"), "30");
}

#[tokio::test]
async fn times_retires_a_rule_so_the_third_call_succeeds() {
    let server = with_rules(vec![
        FaultRule::parse_spec("GET /v3/** 503 times=2").unwrap(),
    ])
    .await;
    let statuses: Vec<u16> = futures_statuses(&server, V3, 3).await;
    assert_eq!(statuses, [503, 503, 200]);
    let listed = server.faults().list();
    assert_eq!((listed[0].fired, listed[0].retired), (2, true));
}

async fn futures_statuses(server: &Server, path: &str, n: usize) -> Vec<u16> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(get(server, path).await.status.as_u16());
    }
    out
}

#[tokio::test]
async fn matchers_use_method_template_glob_query_and_headers() {
    let server = with_rules(vec![
        FaultRule::parse_spec("DELETE /** 500").unwrap(),
        FaultRule::parse_spec("GET /v2/{project_id}/images/tags 404 query.limit=5").unwrap(),
        FaultRule::parse_spec("* /v3/*/namespaces/*/repos/*/tags 403 headers.X-Trace=yes").unwrap(),
    ])
    .await;
    assert_eq!(get(&server, IMS).await.status, 200, "query condition unmet");
    assert_eq!(get(&server, &format!("{IMS}?limit=5")).await.status, 404);
    assert_eq!(get(&server, V3).await.status, 200, "header condition unmet");
    let traced = reqwest::Client::new()
        .get(format!("{}{V3}", server.uri()))
        .header("x-auth-token", TOKEN)
        .header("x-trace", "yes");
    assert_eq!(answer(traced).await.status, 403);
    assert_eq!(
        send(&server, Method::DELETE, "/anything/at/all")
            .await
            .status,
        500
    );
    // A method the path does not serve (405 without the rule) is reached too.
    assert_eq!(send(&server, Method::DELETE, IMS).await.status, 500);
}

#[tokio::test]
async fn priority_decides_between_overlapping_rules() {
    let mut low = FaultRule::new("*", "/**").status(500);
    low.priority = 9;
    let mut high = FaultRule::new("*", "/v3/**").status(503);
    high.priority = 1;
    let server = with_rules(vec![low, high]).await;
    assert_eq!(get(&server, V3).await.status, 503);
    assert_eq!(get(&server, IMS).await.status, 500);
}

#[tokio::test]
async fn a_seeded_probability_fires_reproducibly_within_tolerance() {
    let run = || async {
        let mut rule = FaultRule::new("GET", "/v3/**").status(500);
        rule.probability = Some(0.3);
        rule.seed = Some(2024);
        let server = with_rules(vec![rule]).await;
        let client = reqwest::Client::new();
        let mut fired = Vec::with_capacity(1000);
        for _ in 0..1000 {
            let r = client
                .get(format!("{}{V3}", server.uri()))
                .header("x-auth-token", TOKEN)
                .send()
                .await
                .unwrap();
            fired.push(r.status() == 500);
        }
        fired
    };
    let first = run().await;
    let second = run().await;
    assert_eq!(first, second, "the same seed gives the same decisions");
    let count = first.iter().filter(|f| **f).count();
    assert!(
        (240..=360).contains(&count),
        "{count} of 1000 fired at p=0.3 (tolerance ±60)"
    );
}

#[tokio::test(start_paused = true)]
async fn delays_are_honoured_on_tokios_clock() {
    let mut slow = FaultRule::new("GET", "/v3/**").delay(Delay::Fixed(30_000));
    slow.times = Some(1);
    let mut random = FaultRule::new("GET", "/v2/**").delay(Delay::Range([5_000, 6_000]));
    random.seed = Some(1);
    let server = with_rules(vec![slow, random]).await;
    let wall = std::time::Instant::now();
    let clock = tokio::time::Instant::now();
    let a = get(&server, V3).await;
    assert_eq!(a.status, 200, "a delay alone lets the real answer through");
    assert!(
        clock.elapsed() >= Duration::from_secs(30),
        "{:?}",
        clock.elapsed()
    );
    let clock = tokio::time::Instant::now();
    assert_eq!(get(&server, IMS).await.status, 200);
    let waited = clock.elapsed();
    assert!(
        waited >= Duration::from_secs(5) && waited < Duration::from_secs(7),
        "{waited:?}"
    );
    assert!(
        wall.elapsed() < Duration::from_secs(10),
        "the paused clock skipped the waits"
    );
    let journal = server.journal().requests(&Default::default());
    assert_eq!(journal[0].fault.as_ref().unwrap().delay_ms, Some(30_000));
}

#[tokio::test]
async fn connection_faults_reset_close_or_garble() {
    let server = with_rules(vec![
        FaultRule::new("GET", "/v3/**").fault(ConnectionFault::Reset),
        FaultRule::new("GET", IMS).fault(ConnectionFault::Empty),
        FaultRule::new("GET", "/v2/manage/**").fault(ConnectionFault::Malformed),
    ])
    .await;
    let client = reqwest::Client::new();
    let url = |p: &str| format!("{}{p}", server.uri());
    let reset = client
        .get(url(V3))
        .header("x-auth-token", TOKEN)
        .send()
        .await;
    let err = reset.expect_err("no answer after a reset");
    assert!(
        !err.is_status() && (err.is_request() || err.is_connect() || err.is_body()),
        "{err:?}"
    );
    let empty = client
        .get(url(IMS))
        .header("x-auth-token", TOKEN)
        .send()
        .await;
    assert!(empty.is_err(), "no answer on an empty close: {empty:?}");
    let garbled = client
        .get(url("/v2/manage/namespaces/namespace/repos/busybox/tags"))
        .header("x-auth-token", TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(garbled.status(), 200);
    let text = garbled.text().await.unwrap();
    assert!(text.starts_with("[{\"id\":1"), "{text}");
    assert!(
        serde_json::from_str::<serde_json::Value>(&text).is_err(),
        "not valid JSON"
    );
    // The server keeps serving other connections.
    let fine = reqwest::Client::new()
        .get(url("/_mock/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(fine.status(), 200);
}

#[tokio::test]
async fn a_reset_is_a_tcp_rst_without_any_bytes() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = with_rules(vec![
        FaultRule::new("GET", "/v3/**").fault(ConnectionFault::Reset),
    ])
    .await;
    let mut stream = tokio::net::TcpStream::connect(server.address())
        .await
        .unwrap();
    let request = format!("GET {V3} HTTP/1.1\r\nhost: x\r\nx-auth-token: t\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let result = stream.read_to_end(&mut buf).await;
    assert!(
        buf.is_empty(),
        "no bytes: {:?}",
        String::from_utf8_lossy(&buf)
    );
    assert_eq!(
        result.map_err(|e| e.kind()),
        Err(std::io::ErrorKind::ConnectionReset)
    );
    let mut stream = tokio::net::TcpStream::connect(server.address())
        .await
        .unwrap();
    server.faults().clear();
    server
        .faults()
        .add(FaultRule::new("GET", "/v3/**").fault(ConnectionFault::Empty))
        .unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    assert_eq!(
        stream.read_to_end(&mut buf).await.unwrap(),
        0,
        "a clean close with no bytes"
    );
}

#[tokio::test]
async fn faults_run_before_authentication() {
    let server = Server::builder()
        .auth(ims_swr_mock::AuthMode::Strict)
        .fault(FaultRule::new("GET", "/v3/**").status(500))
        .start()
        .await
        .unwrap();
    let unauthenticated = answer(reqwest::Client::new().get(format!("{}{V3}", server.uri()))).await;
    assert_eq!(unauthenticated.status, 500);
}

#[tokio::test]
async fn max_concurrency_sheds_load_with_503_in_the_native_envelope() {
    let server = Server::builder()
        .max_concurrency(1)
        .fault(FaultRule::new("GET", IMS).delay(Delay::Fixed(1_500)))
        .start()
        .await
        .unwrap();
    let slow = tokio::spawn({
        let url = format!("{}{IMS}", server.uri());
        async move {
            reqwest::Client::new()
                .get(url)
                .header("x-auth-token", TOKEN)
                .send()
                .await
                .unwrap()
                .status()
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let shed = get(&server, V3).await;
    assert_swr_error(&shed, 503, "SVCSTG.SWR.5000008");
    assert!(
        shed.body["error_msg"]
            .as_str()
            .unwrap()
            .contains("in flight")
    );
    let health = reqwest::get(format!("{}/_mock/health", server.uri()))
        .await
        .unwrap();
    assert_eq!(health.status(), 200, "the admin API is not shed");
    assert_eq!(slow.await.unwrap(), 200);
    assert_eq!(get(&server, V3).await.status, 200, "capacity is back");
}

#[tokio::test]
async fn a_panicking_handler_gives_a_500_in_the_native_envelope() {
    async fn boom() -> &'static str {
        panic!("deliberate test panic")
    }
    let routes =
        axum::Router::new().route("/v2/manage/namespaces/{namespace}/boom", route_get(boom));
    let server = Server::builder()
        .extra_routes(routes)
        .start()
        .await
        .unwrap();
    let a = get(&server, "/v2/manage/namespaces/namespace/boom").await;
    assert_swr_error(&a, 500, "SVCSTG.SWR.5000008");
    assert_eq!(get(&server, V3).await.status, 200, "the server lives on");
}

#[test]
fn bad_fault_specs_stop_startup_with_exit_2() {
    for spec in [
        "GET /x 200",
        "GET x 503",
        "GET /x 503 fault=reset",
        "GET /x nonsense",
    ] {
        let out = std::process::Command::new(BIN)
            .args(["--port", "0", "--fault", spec])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{spec}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("fault"),
            "{spec}"
        );
    }
}

/// A rule that could never fire (a misspelt method, an unclosed `{` in its
/// path template) is refused at every door, naming the rule and the problem:
/// `--fault`, its env twin, a fixture's `faults` section and `POST /_mock/faults`.
#[tokio::test]
async fn rules_that_could_never_fire_are_refused_at_every_door() {
    let bad = [
        ("GTE", "/v2/{project_id}/images/tags", "method \"GTE\""),
        ("FETCH", "/v2/**", "method \"FETCH\""),
        ("GET", "/v2/{project_id/images/tags", "never closed"),
        ("GET", "/v2/{project_{id}}/images/tags", "inside another"),
        ("GET", "/v2/project_id}/images/tags", "never opened"),
        ("GET", "/v2/{}/images/tags", "empty"),
    ];
    for (method, path, problem) in bad {
        let spec = format!("{method} {path} 503");
        // --fault
        let out = exits_within_10_s(
            std::process::Command::new(BIN).args(["--port", "0", "--fault", &spec]),
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "--fault {spec}: {stderr}");
        assert!(
            stderr.contains(problem) && stderr.contains(path),
            "--fault {spec}: {stderr}"
        );
        // IMS_SWR_MOCK_FAULTS
        let out = exits_within_10_s(
            std::process::Command::new(BIN)
                .args(["--port", "0"])
                .env("IMS_SWR_MOCK_FAULTS", format!("GET /v3/** 500;{spec}")),
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "env {spec}: {stderr}");
        assert!(
            stderr.contains(problem) && stderr.contains("IMS_SWR_MOCK_FAULTS"),
            "env {spec}: {stderr}"
        );
        // A fixture's faults section.
        let fixture =
            serde_json::json!({"faults": [{"method": method, "path": path, "status": 503}]});
        let err = Server::builder()
            .fixture_json("f.json", fixture.to_string())
            .start()
            .await
            .err()
            .unwrap_or_else(|| panic!("fixture {spec} is accepted"))
            .to_string();
        assert!(
            err.contains(problem) && err.contains("$.faults[0]"),
            "fixture {spec}: {err}"
        );
        // POST /_mock/faults
        let server = Server::builder().start().await.unwrap();
        let a = answer(
            reqwest::Client::new()
                .post(format!("{}/_mock/faults", server.uri()))
                .json(&serde_json::json!({"method": method, "path": path, "status": 503})),
        )
        .await;
        assert_eq!(a.status, 400, "POST {spec}: {}", a.body);
        assert!(
            a.body["error_msg"]
                .as_str()
                .unwrap_or_default()
                .contains(problem),
            "POST {spec}: {}",
            a.body
        );
    }
    // Well-formed rules still pass, in any method case the spec allows.
    for spec in [
        "* /v2/** 503",
        "get /v2/** 503",
        "DELETE /v2/{project_id}/images/{image_id}/tags/{key} 500",
        "PATCH /x/** 500",
    ] {
        assert!(FaultRule::parse_spec(spec).is_ok(), "{spec}");
    }
}
