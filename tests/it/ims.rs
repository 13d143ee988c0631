//! IMS `GET /v2/{project_id}/images/tags`.

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn the_seed_project_answers_exactly_seed_001() {
    let server = spawn().await;
    let a = get(&server, &format!("/v2/{PROJECT}/images/tags")).await;
    assert_eq!(a.status, 200);
    assert_eq!(
        a.body,
        json!({"tags": [
            {"key": "key9", "values": ["value9"]},
            {"key": "key8", "values": [""]},
            {"key": "key3", "values": ["valueXX", "value3"]},
        ]})
    );
    assert_request_id(&a);
}

#[tokio::test]
async fn an_unknown_project_has_an_empty_tag_list() {
    let server = spawn().await;
    let a = get(&server, "/v2/0123456789abcdef/images/tags").await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body, json!({"tags": []}));
}

#[tokio::test]
async fn values_are_deduplicated_in_order_of_first_appearance() {
    let server = spawn_json(
        r#"{"ims":{"projects":[{"id":"p1","images":[
            {"tags":[{"key":"b","value":"2"},{"key":"a","value":"1"}]},
            {"tags":[{"key":"a","value":"0"},{"key":"c"}]},
            {"tags":[{"key":"a","value":"1"},{"key":"b","value":"2"},{"key":"c","value":""}]}
        ]},{"id":"p2","images":[{"tags":[{"key":"z","value":"9"}]}]}]}}"#,
    )
    .await;
    let a = get(&server, "/v2/p1/images/tags").await;
    assert_eq!(
        a.body,
        json!({"tags": [
            {"key": "b", "values": ["2"]},
            {"key": "a", "values": ["1", "0"]},
            {"key": "c", "values": [""]},
        ]})
    );
    let other = get(&server, "/v2/p2/images/tags").await;
    assert_eq!(other.body, json!({"tags": [{"key": "z", "values": ["9"]}]}));
}

#[tokio::test]
async fn project_ids_outside_the_allowed_pattern_get_400_in_the_ims_envelope() {
    let server = spawn().await;
    let too_long = "a".repeat(65);
    for bad in [
        "bad%20id",
        "x.y",
        "%C3%A9",
        too_long.as_str(),
        "%7Bproject_id%7D",
    ] {
        let a = get(&server, &format!("/v2/{bad}/images/tags")).await;
        assert_eq!(a.status, 400, "{bad}");
        assert_eq!(a.body["error"]["code"], "IMG.0067", "{bad}");
        assert!(
            a.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("project ID")
        );
        assert_request_id(&a);
    }
    let longest = "a".repeat(64);
    assert_eq!(
        get(&server, &format!("/v2/{longest}/images/tags"))
            .await
            .status,
        200
    );
}
