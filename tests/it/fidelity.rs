//! Fidelity round 2 (issue 16): what the API pages say, over raw HTTP, for
//! what the official Python SDK cannot send (the Go SDK's wire bodies, bad
//! methods, unmodelled query parameters, missing fields). CONFORMANCE.md
//! names these tests rule by rule.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

const IMG1: &str = "67e17426-359e-49fb-aa12-0bd1756ec240";
const IMG2: &str = "1d2e3f40-5a6b-4c7d-8e9f-0a1b2c3d4e5f";
const IMG3: &str = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a";
const OTHER_PROJECT: &str = "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b";

/// Sends `body` as the exact bytes given, with `X-Auth-Token: TOKENTEST`.
async fn raw(
    server: &ims_swr_mock::Server,
    method: Method,
    path: &str,
    body: Option<&str>,
) -> Answer {
    let body = body.map(|b| ("application/json", b.to_owned()));
    send_body(server, method, path, body).await
}

async fn json_call(
    server: &ims_swr_mock::Server,
    method: Method,
    path: &str,
    body: Value,
) -> Answer {
    raw(server, method, path, Some(&body.to_string())).await
}

async fn image_tags(server: &ims_swr_mock::Server, image: &str) -> Vec<(String, String)> {
    let a = get(server, &tags_path(image)).await;
    assert_eq!(a.status, 200, "{}", a.body);
    tag_pairs(&a)
}

fn batch_path(image: &str) -> String {
    format!("/v2/{PROJECT}/images/{image}/tags/action")
}

// ---------------------------------------------------------------------------
// Item 1: tag characters (ims_03_0902)
// ---------------------------------------------------------------------------

/// Keys: letters, digits, CJK, space, `_ . : + - @`; values also `/`;
/// neither starts or ends with a space. Refused with 400 `IMG.0115` by every
/// write path, and nothing is stored.
#[tokio::test]
async fn ims_tag_characters_follow_the_tag_format_page_on_every_write_path() {
    let server = spawn().await;
    let bad: [(&str, &str); 7] = [
        ("a*b<c>", "v"),
        ("k", "x/y|z"),
        (" lead", "v"),
        ("trail ", "v"),
        ("k", " lead"),
        ("a/b", "v"),
        ("k=v", "v"),
    ];
    let before = image_tags(&server, IMG2).await;
    for (key, value) in bad {
        let a = json_call(
            &server,
            Method::POST,
            &tags_path(IMG2),
            json!({"tag": {"key": key, "value": value}}),
        )
        .await;
        assert_ims_error(&a, 400, "IMG.0115");
        let a = json_call(
            &server,
            Method::POST,
            &batch_path(IMG2),
            json!({"action": "create", "tags": [{"key": key, "value": value}]}),
        )
        .await;
        assert_ims_error(&a, 400, "IMG.0115");
        let a = json_call(
            &server,
            Method::PUT,
            "/v1/cloudimages/tags",
            json!({"image_id": IMG2, "image_tag": {"key": key, "value": value}}),
        )
        .await;
        assert_ims_error(&a, 400, "IMG.0115");
    }
    // The `key.value` form splits at the first dot, so a bad key stays bad.
    let a = json_call(
        &server,
        Method::PUT,
        "/v1/cloudimages/tags",
        json!({"image_id": IMG2, "tag": "a*b.v"}),
    )
    .await;
    assert_ims_error(&a, 400, "IMG.0115");
    assert_eq!(image_tags(&server, IMG2).await, before, "nothing stored");

    // Every allowed character, in keys and values.
    let key = "Ab9 中文_.:+-@z";
    let value = "v/w x_.:+-@中";
    let a = json_call(
        &server,
        Method::POST,
        &tags_path(IMG2),
        json!({"tag": {"key": key, "value": value}}),
    )
    .await;
    assert_eq!(a.status, 204, "{}", a.body);
    assert!(
        image_tags(&server, IMG2)
            .await
            .contains(&(key.to_owned(), value.to_owned()))
    );
}

/// The lengths and the count of the current tag-format page: keys up to
/// 128 characters, values up to 255, 20 tags per image (issue 16 item 7).
#[tokio::test]
async fn ims_tag_limits_are_those_of_the_tag_format_page() {
    let server = spawn().await;
    let add = |key: String, value: String| {
        let server = &server;
        async move {
            json_call(
                server,
                Method::POST,
                &tags_path(IMG2),
                json!({"tag": {"key": key, "value": value}}),
            )
            .await
        }
    };
    assert_eq!(add("k".repeat(128), "v".repeat(255)).await.status, 204);
    assert_ims_error(&add("k".repeat(129), String::new()).await, 400, "IMG.0115");
    assert_ims_error(&add("k".into(), "v".repeat(256)).await, 400, "IMG.0115");
    // IMG2 has 2 tags now; 18 more reach 20.
    for i in 0..18 {
        assert_eq!(add(format!("n{i}"), "v".into()).await.status, 204, "{i}");
    }
    assert_ims_error(&add("one-more".into(), "v".into()).await, 400, "IMG.0116");
}

/// Glance tags follow the page's "Native OpenStack" format (no `=`) and,
/// being IMS tag keys, the IMS key rules (128 characters; `.` allowed).
#[tokio::test]
async fn glance_tags_follow_their_own_format() {
    let server = spawn().await;
    let put = |tag: String| {
        let server = &server;
        async move {
            raw(
                server,
                Method::PUT,
                &format!("/v2/images/{IMG2}/tags/{tag}"),
                None,
            )
            .await
        }
    };
    assert_eq!(put("a.b".into()).await.status, 204);
    assert_eq!(put("g".repeat(128)).await.status, 204);
    assert_ims_error(&put("g".repeat(129)).await, 400, "IMG.0115");
    assert_ims_error(&put("a=b".into()).await, 400, "IMG.0115");
    let keys: Vec<String> = image_tags(&server, IMG2)
        .await
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert!(keys.contains(&"a.b".to_owned()), "{keys:?}");
}

// ---------------------------------------------------------------------------
// Item 2: the Go SDK's key-only deletes
// ---------------------------------------------------------------------------

/// The Go SDK's tag model always sends `"value"`, `""` for a key-only tag:
/// these exact wire bodies delete by key, in both delete operations. A
/// non-empty value still deletes only on a match.
#[tokio::test]
async fn go_sdk_key_only_deletes_remove_the_key_in_both_delete_operations() {
    let server = spawn().await;
    // BatchAddOrDeleteTags, action delete (Go: json.Marshal of the request body).
    let a = raw(
        &server,
        Method::POST,
        &batch_path(IMG1),
        Some(r#"{"action":"delete","tags":[{"key":"key9","value":""}]}"#),
    )
    .await;
    assert_eq!(a.status, 204, "{}", a.body);
    assert_eq!(
        image_tags(&server, IMG1).await,
        [("key8".into(), String::new())]
    );

    // BatchDeleteTags (v1), same model.
    let a = raw(
        &server,
        Method::DELETE,
        &format!("/v1/{PROJECT}/cloudimages/{IMG3}/tags/delete"),
        Some(r#"{"tags":[{"key":"key3","value":""},{"key":"key9","value":"not-its-value"}]}"#),
    )
    .await;
    assert_eq!(a.status, 204, "{}", a.body);
    assert_eq!(
        image_tags(&server, IMG3).await,
        [
            ("key9".to_owned(), "value9".to_owned()),
            ("key8".to_owned(), String::new())
        ],
        "key3 deleted by key; key9 kept (its value differs)"
    );
}

// ---------------------------------------------------------------------------
// Item 6: AddImageTag needs a value (and so do the other create paths)
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_tag_being_created_without_a_value_or_with_null_is_refused() {
    let server = spawn().await;
    for tag in [json!({"key": "k"}), json!({"key": "k", "value": null})] {
        let a = json_call(&server, Method::POST, &tags_path(IMG2), json!({"tag": tag})).await;
        assert_ims_error(&a, 400, "IMG.0001");
        let a = json_call(
            &server,
            Method::POST,
            &batch_path(IMG2),
            json!({"action": "create", "tags": [tag]}),
        )
        .await;
        assert_ims_error(&a, 400, "IMG.0001");
        let a = json_call(
            &server,
            Method::PUT,
            "/v1/cloudimages/tags",
            json!({"image_id": IMG2, "image_tag": tag}),
        )
        .await;
        assert_ims_error(&a, 400, "IMG.0001");
    }
    // An empty value is a value.
    let a = json_call(
        &server,
        Method::POST,
        &tags_path(IMG2),
        json!({"tag": {"key": "k", "value": ""}}),
    )
    .await;
    assert_eq!(a.status, 204, "{}", a.body);
}

// ---------------------------------------------------------------------------
// Item 3: wrong method on a known path
// ---------------------------------------------------------------------------

/// The API gateway's table: "The API does not exist", 404 `APIGW.0101`, for
/// a request method the API does not define.
#[tokio::test]
async fn a_wrong_method_on_a_known_path_is_the_gateways_404_apigw_0101() {
    let server = spawn().await;
    for (method, path) in [
        (Method::POST, format!("/v2/{PROJECT}/images/tags")),
        (
            Method::DELETE,
            "/v2/manage/namespaces/namespace/repos/busybox/tags".to_owned(),
        ),
        (
            Method::PUT,
            "/v3/manage/namespaces/namespace/repos/busybox/tags".to_owned(),
        ),
        (Method::PATCH, "/v1/cloudimages/tags".to_owned()),
        (Method::POST, "/v3/projects".to_owned()),
    ] {
        let a = send(&server, method.clone(), &path).await;
        assert_eq!(a.status, 404, "{method} {path}: {}", a.body);
        assert_eq!(a.body["error_code"], "APIGW.0101", "{method} {path}");
        assert_eq!(a.body["request_id"], a.header("x-request-id"));
        assert_eq!(a.header("content-type"), "application/json;charset=UTF-8");
    }
}

// ---------------------------------------------------------------------------
// Item 4: ListTags (GET /v1/cloudimages/tags)
// ---------------------------------------------------------------------------

async fn v1_tags(server: &ims_swr_mock::Server, query: &str, headers: &[(&str, &str)]) -> Answer {
    let mut request =
        reqwest::Client::new().get(format!("{}/v1/cloudimages/tags{query}", server.uri()));
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    answer(request).await
}

fn strings(a: &Answer) -> Vec<String> {
    assert_eq!(a.status, 200, "{}", a.body);
    a.body["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect()
}

/// A token is scoped to one project (IAM tokens are project-scoped): a raw
/// token without `X-Project-Id` never sees another tenant's tags, in any mode.
#[tokio::test]
async fn list_tags_is_scoped_to_one_project_for_raw_tokens() {
    let server = spawn().await; // lenient
    let unknown = strings(&v1_tags(&server, "", &[("x-auth-token", "any-token")]).await);
    assert!(
        !unknown.contains(&"owner=tenant2".to_owned()),
        "{unknown:?}"
    );
    assert!(unknown.contains(&"key9=value9".to_owned()), "{unknown:?}");
    let tenant2 = strings(&v1_tags(&server, "", &[("x-auth-token", "TOKENOTHER")]).await);
    assert_eq!(tenant2, ["owner=tenant2"]);
    let by_header = strings(
        &v1_tags(
            &server,
            "",
            &[
                ("x-auth-token", "any-token"),
                ("x-project-id", OTHER_PROJECT),
            ],
        )
        .await,
    );
    assert_eq!(by_header, ["owner=tenant2"]);
    let off = ims_swr_mock::Server::builder()
        .auth(ims_swr_mock::AuthMode::Off)
        .start()
        .await
        .unwrap();
    let anonymous = strings(&v1_tags(&off, "", &[]).await);
    assert!(
        !anonymous.contains(&"owner=tenant2".to_owned()),
        "{anonymous:?}"
    );
}

/// `tag`, `limit`, `marker`, `sort_key`/`sort_dir` and `__isregistered`.
#[tokio::test]
async fn list_tags_honours_tag_marker_sort_and_isregistered() {
    let server = spawn().await;
    let q = |query: &'static str| {
        let server = &server;
        async move { v1_tags(server, query, &[("x-auth-token", TOKEN)]).await }
    };
    assert_eq!(
        strings(&q("?tag=key3.value3").await),
        ["key3=value3", "key9=value9", "key8"]
    );
    assert_eq!(strings(&q("?tag=key3.nope").await), Vec::<String>::new());
    assert_eq!(
        strings(&q("?sort_key=name&sort_dir=asc&limit=1").await),
        ["key9=value9", "key8"]
    );
    let after_first: &'static str =
        Box::leak(format!("?sort_key=name&sort_dir=asc&limit=1&marker={IMG1}").into_boxed_str());
    assert_eq!(strings(&q(after_first).await), ["key3=valueXX"]);
    assert_eq!(strings(&q("?__isregistered=true").await).len(), 4);
    assert_eq!(
        strings(&q("?__isregistered=false").await),
        Vec::<String>::new()
    );
    assert_eq!(strings(&q("?__imagetype=gold").await), Vec::<String>::new());
    for (bad, says) in [
        (
            "?sort_key=colour",
            r#"sort_key="colour"; expected created_at, updated_at, name, id, status or min_disk"#,
        ),
        ("?sort_dir=up", r#"sort_dir="up"; expected asc or desc"#),
        ("?marker=00000000-0000-4000-8000-00000000dead", "marker"),
        (
            "?__isregistered=maybe",
            r#"__isregistered="maybe"; expected true or false"#,
        ),
    ] {
        let a = q(bad).await;
        assert_ims_error(&a, 400, "IMG.0001");
        let msg = a.body["error"]["message"].as_str().unwrap_or_default();
        assert!(msg.contains(says), "{bad}: {msg}");
    }
}

// ---------------------------------------------------------------------------
// Item 5: SWR names with repeated hyphens
// ---------------------------------------------------------------------------

#[tokio::test]
async fn swr_names_allow_repeated_hyphens_as_docker_does() {
    let fixture = r#"{"swr": {"namespaces": [{"name": "team--a",
        "repositories": [{"name": "app--x/web---y", "tags": [{"tag": "v1"}]}]}]}}"#;
    let server = spawn_json(fixture).await;
    let a = get(
        &server,
        "/v2/manage/namespaces/team--a/repos/app--x$web---y/tags?offset=0&limit=10",
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body[0]["Tag"], "v1");
    let a = get(&server, "/v3/manage/namespaces/a--b/repos/c--d/tags").await;
    assert_swr_error(&a, 404, "SVCSTG.SWR.4040058");
    for bad in ["-a", "a-", "a-.b"] {
        let a = get(
            &server,
            &format!("/v3/manage/namespaces/{bad}/repos/r/tags"),
        )
        .await;
        assert_swr_error(&a, 400, "SVCSTG.SWR.4001028");
    }
}

// ---------------------------------------------------------------------------
// Item 7: SWR v2 limit without offset
// ---------------------------------------------------------------------------

/// The page: `offset` and `limit` are used together; Open Telekom Cloud
/// answers 400 `SVCSTG.SWR.4001072` "param offset error" for `limit` alone.
#[tokio::test]
async fn swr_v2_limit_without_offset_is_400_param_offset_error() {
    let server = spawn().await;
    const V2: &str = "/v2/manage/namespaces/namespace/repos/busybox/tags";
    let a = get(&server, &format!("{V2}?limit=10")).await;
    let msg = assert_swr_error(&a, 400, "SVCSTG.SWR.4001072");
    assert!(msg.contains("offset"), "{msg}");
    let a = get(&server, &format!("{V2}?filter=limit::10")).await;
    assert_swr_error(&a, 400, "SVCSTG.SWR.4001072");
    for ok in ["", "?offset=0&limit=10", "?filter=offset::0|limit::10"] {
        assert_eq!(get(&server, &format!("{V2}{ok}")).await.status, 200, "{ok}");
    }
}

// ---------------------------------------------------------------------------
// Item 8: the smaller ones
// ---------------------------------------------------------------------------

/// Keystone: `name` is the region; `domain_id`, `enabled`, `page` and
/// `per_page` filter; links are absolute.
#[tokio::test]
async fn keystone_list_projects_filters_and_answers_absolute_links() {
    let server = spawn().await;
    let list = |query: String| {
        let server = &server;
        async move { get(server, &format!("/v3/projects{query}")).await }
    };
    let all = list(String::new()).await;
    assert_eq!(all.status, 200, "{}", all.body);
    let project = &all.body["projects"][0];
    assert_eq!(project["id"], PROJECT);
    assert_eq!(
        project["name"], "cn-north-4",
        "a project's name is a region"
    );
    let base = server.uri();
    assert_eq!(
        project["links"]["self"],
        format!("{base}/v3/projects/{PROJECT}")
    );
    assert_eq!(all.body["links"]["self"], format!("{base}/v3/projects"));
    let named = list("?name=ap-southeast-1".into()).await;
    assert_eq!(named.body["projects"][0]["name"], "ap-southeast-1");
    let count = |a: &Answer| a.body["projects"].as_array().map_or(usize::MAX, Vec::len);
    let domain = "0503dda878000fed0f75c0096d70a960";
    assert_eq!(count(&list(format!("?domain_id={domain}")).await), 1);
    assert_eq!(count(&list("?domain_id=elsewhere".into()).await), 0);
    assert_eq!(count(&list("?enabled=true".into()).await), 1);
    assert_eq!(count(&list("?enabled=false".into()).await), 0);
    assert_eq!(count(&list("?page=1&per_page=1".into()).await), 1);
    assert_eq!(count(&list("?page=2&per_page=1".into()).await), 0);
    for bad in ["?page=0", "?per_page=0", "?per_page=5001", "?enabled=maybe"] {
        let a = list(bad.into()).await;
        assert_eq!(a.status, 400, "{bad}: {}", a.body);
    }
}

/// `ListImageByTags`: `values` is required, `limit`/`offset` are strings, and
/// an empty `resource_name` value matches the name exactly (the empty name).
#[tokio::test]
async fn list_image_by_tags_requires_values_and_string_paging() {
    let server = spawn().await;
    let path = format!("/v2/{PROJECT}/images/resource_instances/action");
    let call = |body: Value| {
        let (server, path) = (&server, &path);
        async move { json_call(server, Method::POST, path, body).await }
    };
    let a = call(json!({"action": "filter", "tags": [{"key": "key9"}]})).await;
    assert_ims_error(&a, 400, "IMG.0001");
    let a = call(json!({"action": "filter", "limit": 10})).await;
    assert_ims_error(&a, 400, "IMG.0001");
    let a = call(json!({"action": "filter", "offset": 0})).await;
    assert_ims_error(&a, 400, "IMG.0001");
    let a = call(json!({"action": "filter", "limit": "10", "offset": "0"})).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let a =
        call(json!({"action": "count", "matches": [{"key": "resource_name", "value": ""}]})).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["total_count"], 0);
    let a = call(
        json!({"action": "count", "matches": [{"key": "resource_name", "value": "seed-image"}]}),
    )
    .await;
    assert_eq!(
        a.body["total_count"], 3,
        "a non-empty value is a substring match"
    );
}

/// The IMS error table gives 400 for `IMG.0027` (unknown image) and
/// `IMG.0030` (another tenant's project).
#[tokio::test]
async fn img_0027_and_img_0030_answer_400_as_the_error_table_says() {
    let server = spawn().await;
    let unknown = "00000000-0000-4000-8000-00000000dead";
    let a = get(&server, &format!("/v2/{PROJECT}/images/{unknown}/tags")).await;
    assert_ims_error(&a, 400, "IMG.0027");
    let strict = ims_swr_mock::Server::builder()
        .auth(ims_swr_mock::AuthMode::Strict)
        .start()
        .await
        .unwrap();
    let a = get(&strict, &format!("/v2/{OTHER_PROJECT}/images/tags")).await;
    assert_ims_error(&a, 400, "IMG.0030");
}

/// The common request headers make `Content-Type` mandatory for a body:
/// a body without it, an unknown field or a wrong JSON type is 400
/// `IMG.0001` in the service's envelope (not a silent default).
#[tokio::test]
async fn bodies_without_content_type_unknown_fields_or_wrong_types_are_refused() {
    let server = spawn().await;
    let no_type = reqwest::Client::new()
        .post(format!("{}{}", server.uri(), tags_path(IMG2)))
        .header("x-auth-token", TOKEN)
        .body(r#"{"tag":{"key":"k","value":"v"}}"#);
    let a = answer(no_type).await;
    assert_ims_error(&a, 400, "IMG.0001");
    assert!(
        a.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Content-Type"),
        "{}",
        a.body
    );
    let a = json_call(
        &server,
        Method::POST,
        &tags_path(IMG2),
        json!({"tag": {"key": "k", "value": "v", "colour": "red"}}),
    )
    .await;
    assert_ims_error(&a, 400, "IMG.0001");
    let a = json_call(
        &server,
        Method::POST,
        &tags_path(IMG2),
        json!({"tag": {"key": "k", "value": 5}}),
    )
    .await;
    assert_ims_error(&a, 400, "IMG.0001");
}

// ---------------------------------------------------------------------------
// The Go SDK's wire habits, replayed with an independent signer (strict mode)
// ---------------------------------------------------------------------------

/// Signs like the Go SDK's `core/auth/signer`: `SignedHeaders` are
/// `user-agent;x-project-id;x-sdk-date` (no `Host`, no `Content-Type`), the
/// canonical URI encodes each decoded segment (`$` as `%24`) and ends in `/`,
/// and an empty query value is signed as `key=`.
fn go_authorization(
    method: &str,
    canonical_uri: &str,
    canonical_query: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> String {
    use hmac::{Hmac, Mac};
    use sha2::{Digest, Sha256};
    let mut creq = format!("{method}\n{canonical_uri}\n{canonical_query}\n");
    for (k, v) in headers {
        creq.push_str(&format!("{k}:{v}\n"));
    }
    let names: Vec<&str> = headers.iter().map(|(k, _)| *k).collect();
    creq.push_str(&format!(
        "\n{}\n{}",
        names.join(";"),
        hex::encode(Sha256::digest(body))
    ));
    let date = headers.iter().find(|(k, _)| *k == "x-sdk-date").unwrap().1;
    let sts = format!(
        "SDK-HMAC-SHA256\n{date}\n{}",
        hex::encode(Sha256::digest(creq.as_bytes()))
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(b"SKGO").unwrap();
    mac.update(sts.as_bytes());
    format!(
        "SDK-HMAC-SHA256 Access=AKGO, SignedHeaders={}, Signature={}",
        names.join(";"),
        hex::encode(mac.finalize().into_bytes())
    )
}

#[tokio::test]
async fn a_go_sdk_style_signed_request_passes_strict_mode() {
    let fixture = r#"{
      "iam": {"domains": [{"id": "d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0",
        "projects": [{"id": "90909090909090909090909090909090"}],
        "access_keys": [{"access": "AKGO", "secret": "SKGO"}]}]},
      "ims": {"projects": [{"id": "90909090909090909090909090909090",
        "images": [{"id": "90909090-0000-4000-8000-000000000001", "tags": [{"key": "env", "value": "prod"}]}]}]},
      "swr": {"namespaces": [{"name": "gons", "domain_id": "d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0",
        "repositories": [{"name": "group/app", "tags": [{"tag": "v1"}]}]}]}
    }"#;
    let server = ims_swr_mock::Server::builder()
        .fixture_json("go.json", fixture)
        .auth(ims_swr_mock::AuthMode::Strict)
        .start()
        .await
        .unwrap();
    let date = jiff::Timestamp::now()
        .strftime("%Y%m%dT%H%M%SZ")
        .to_string();
    let project = "90909090909090909090909090909090";
    let ua = "huaweicloud-usdk-go/3.0";
    let signed = [
        ("user-agent", ua),
        ("x-project-id", project),
        ("x-sdk-date", date.as_str()),
    ];

    // SWR v3 list: `$` unencoded on the wire, a bare `&marker`, Content-Type on a GET.
    let auth = go_authorization(
        "GET",
        "/v3/manage/namespaces/gons/repos/group%24app/tags/",
        "limit=10&marker=",
        &signed,
        b"",
    );
    let request = reqwest::Client::new()
        .get(format!(
            "{}/v3/manage/namespaces/gons/repos/group$app/tags?limit=10&marker",
            server.uri()
        ))
        .header("content-type", "application/json")
        .header("user-agent", ua)
        .header("x-project-id", project)
        .header("x-sdk-date", &date)
        .header("authorization", auth);
    let a = answer(request).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["tags"][0]["tag"], "v1");

    // IMS batch delete, key only, as the Go SDK sends it.
    let body = br#"{"action":"delete","tags":[{"key":"env","value":""}]}"#;
    let path = format!("/v2/{project}/images/90909090-0000-4000-8000-000000000001/tags/action");
    let auth = go_authorization("POST", &format!("{path}/"), "", &signed, body);
    let request = reqwest::Client::new()
        .post(format!("{}{path}", server.uri()))
        .header("content-type", "application/json")
        .header("user-agent", ua)
        .header("x-project-id", project)
        .header("x-sdk-date", &date)
        .header("authorization", auth)
        .body(body.to_vec());
    let a = answer(request).await;
    assert_eq!(a.status, 204, "{}", a.body);
}
