//! Every error path, in each service's own envelope, always with `X-Request-Id`.

use std::collections::HashSet;

use reqwest::Method;

use crate::helpers::*;

const V2: &str = "/v2/manage/namespaces/namespace/repos/busybox/tags";
const V3: &str = "/v3/manage/namespaces/namespace/repos/busybox/tags";

#[tokio::test]
async fn bad_limits_are_invalid_page_sizes_in_both_versions() {
    let server = spawn().await;
    for base in [V2, V3] {
        for limit in [
            "0",
            "1001",
            "-1",
            "abc",
            "",
            "1.5",
            "99999999999999999999999",
        ] {
            let a = get(&server, &format!("{base}?limit={limit}")).await;
            let msg = assert_swr_error(&a, 400, "SVCSTG.SWR.4000056");
            assert!(msg.contains("Invalid page size"), "{msg}");
        }
    }
}

#[tokio::test]
async fn bad_offsets_and_orders_are_invalid_parameters_naming_the_parameter() {
    let server = spawn().await;
    let cases = [
        (format!("{V2}?offset=-1"), "offset"),
        (format!("{V2}?offset=x"), "offset"),
        (
            format!("{V2}?order_column=size"),
            r#"order_column="size"; expected updated_at or tag."#,
        ),
        (
            "/v2/manage/repos?order_column=size".to_owned(),
            r#"order_column="size"; expected updated_at, name, tag_count, namespace or is_public."#,
        ),
        (
            "/v2/manage/repos?order_type=up".to_owned(),
            r#"order_type="up"; expected desc or asc."#,
        ),
        (
            format!("{V2}?order_type=up"),
            r#"order_type="up"; expected desc or asc."#,
        ),
        (format!("{V3}?order_column=created_at"), "order_column"),
        (format!("{V3}?order_type=DESC"), "order_type"),
        (
            format!("{V3}?with_manifest=yes"),
            r#"with_manifest="yes"; expected true or false."#,
        ),
    ];
    for (url, param) in cases {
        let a = get(&server, &url).await;
        let msg = assert_swr_error(&a, 400, "SVCSTG.SWR.4000014");
        assert!(msg.contains(param), "{url}: {msg}");
    }
}

#[tokio::test]
async fn garbage_or_foreign_markers_are_rejected() {
    let server = spawn_json(&generated("bench", "app", 5)).await;
    let base = "/v3/manage/namespaces/bench/repos/app/tags";
    let first = get(&server, &format!("{base}?limit=2")).await;
    let marker = first.body["nextMarker"].as_str().unwrap().to_owned();
    for bad in ["9a909b", "%00", "not-a-marker!", "dTp4Ong"] {
        let a = get(&server, &format!("{base}?marker={bad}")).await;
        let msg = assert_swr_error(&a, 400, "SVCSTG.SWR.4000014");
        assert!(msg.contains("marker"), "{msg}");
    }
    let other_order = get(&server, &format!("{base}?marker={marker}&order_type=asc")).await;
    assert_swr_error(&other_order, 400, "SVCSTG.SWR.4000014");
    let same_order = get(&server, &format!("{base}?marker={marker}")).await;
    assert_eq!(same_order.status, 200);
}

#[tokio::test]
async fn malformed_filters_are_invalid_filtering_criteria() {
    let server = spawn().await;
    for filter in ["offset%3D1", "colour::red", "limit::5", "tag::a%7Ctag::b"] {
        let url = format!("{V2}?filter={filter}&limit=10");
        let a = get(&server, &url).await;
        assert_swr_error(&a, 400, "SVCSTG.SWR.4001035");
    }
}

#[tokio::test]
async fn duplicate_query_keys_are_rejected() {
    let server = spawn().await;
    for base in [V2, V3] {
        let a = get(&server, &format!("{base}?limit=5&limit=6")).await;
        assert_swr_error(&a, 400, "SVCSTG.SWR.4000014");
    }
}

#[tokio::test]
async fn invalid_names_get_400_and_unknown_names_get_404() {
    let server = spawn().await;
    for version in ["v2", "v3"] {
        let at =
            |ns: &str, repo: &str| format!("/{version}/manage/namespaces/{ns}/repos/{repo}/tags");
        assert_swr_error(
            &get(&server, &at("Bad_NS", "busybox")).await,
            400,
            "SVCSTG.SWR.4001028",
        );
        assert_swr_error(
            &get(&server, &at("a-.b", "busybox")).await,
            400,
            "SVCSTG.SWR.4001028",
        );
        assert_swr_error(
            &get(&server, &at("namespace", "Busy")).await,
            400,
            "SVCSTG.SWR.4001029",
        );
        assert_swr_error(
            &get(&server, &at("namespace", "a$$b")).await,
            400,
            "SVCSTG.SWR.4001029",
        );
        assert_swr_error(
            &get(&server, &at("namespace", "a..b")).await,
            400,
            "SVCSTG.SWR.4001029",
        );
        assert_swr_error(
            &get(&server, &at("namespace", "a%00b")).await,
            400,
            "SVCSTG.SWR.4001029",
        );
        let msg = assert_swr_error(
            &get(&server, &at("nosuchns", "busybox")).await,
            404,
            "SVCSTG.SWR.4040058",
        );
        assert!(msg.contains("nosuchns"), "{msg}");
        let msg = assert_swr_error(
            &get(&server, &at("namespace", "nosuchrepo")).await,
            404,
            "SVCSTG.SWR.4040010",
        );
        assert!(msg.contains("nosuchrepo"), "{msg}");
    }
}

#[tokio::test]
async fn unknown_routes_get_the_gateway_json_404() {
    let server = spawn().await;
    for path in [
        "/",
        "/nope",
        "/v2/manage/namespaces/namespace/repos/busybox/nothing",
        "/v4/x/images/tags",
    ] {
        let a = get(&server, path).await;
        assert_eq!(a.status, 404, "{path}");
        assert_eq!(a.body["error_code"], "APIGW.0101", "{path}");
        assert_eq!(a.body["request_id"], a.header("x-request-id"), "{path}");
    }
}

/// The API gateway answers a method an API does not define with 404
/// `APIGW.0101` (fidelity.rs has the full check); `Allow` stays as a hint.
#[tokio::test]
async fn wrong_methods_get_the_gateways_json_404_with_allow() {
    let server = spawn().await;
    for (method, path) in [
        (Method::POST, format!("/v2/{PROJECT}/images/tags")),
        (Method::DELETE, V2.to_owned()),
        (Method::PUT, V3.to_owned()),
    ] {
        let a = send(&server, method.clone(), &path).await;
        assert_eq!(a.status, 404, "{method} {path}");
        assert_eq!(a.body["error_code"], "APIGW.0101");
        assert!(a.header("allow").contains("GET"));
        assert_eq!(a.header("content-type"), "application/json;charset=UTF-8");
        assert_request_id(&a);
    }
}

#[tokio::test]
async fn invalid_percent_encoding_in_a_path_is_a_400_not_a_crash() {
    let server = spawn().await;
    let a = get(&server, "/v2/manage/namespaces/namespace/repos/%FF%FE/tags").await;
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(
        a.body["error_code"]
            .as_str()
            .unwrap()
            .starts_with("SVCSTG.SWR.")
    );
    let a = get(&server, "/v2/%FF/images/tags").await;
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(
        a.body["error"]["code"]
            .as_str()
            .unwrap()
            .starts_with("IMG.")
    );
}

#[tokio::test]
async fn request_ids_are_unique_across_successes_and_errors() {
    let server = spawn().await;
    let mut ids = HashSet::new();
    for i in 0..200 {
        let path = match i % 4 {
            0 => V2.to_owned(),
            1 => V3.to_owned(),
            2 => format!("/v2/{PROJECT}/images/tags"),
            _ => "/nope".to_owned(),
        };
        let a = get(&server, &path).await;
        assert_request_id(&a);
        assert!(
            ids.insert(a.header("x-request-id").to_owned()),
            "duplicate id"
        );
    }
}

/// Path parameters are checked before the body is read (the `Checked`
/// extractor runs before `ApiJson`): a request with both a bad name in its
/// path and a malformed body gets the name's error.
#[tokio::test]
async fn a_bad_path_parameter_is_reported_before_a_bad_body() {
    let server = spawn().await;
    let malformed = || Some(("application/json", "{".to_owned()));
    let swr = "/v2/manage/namespaces/Bad_NS/repos";
    let a = send_body(&server, Method::POST, swr, malformed()).await;
    assert_swr_error(&a, 400, "SVCSTG.SWR.4001028");
    let ims = "/v2/bad.project/images/some-image/tags";
    let a = send_body(&server, Method::POST, ims, malformed()).await;
    assert_ims_error(&a, 400, "IMG.0067");
}
