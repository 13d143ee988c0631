//! The page cache and zero-copy sending: repeated answers are the same bytes
//! as fresh ones, every kind of write is seen at once, and large answers
//! arrive whole, also to a slow reader.

use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::helpers::{TOKEN, generated, spawn_json};

const V3: &str = "/v3/manage/namespaces/ns/repos/app/tags";
const V2: &str = "/v2/manage/namespaces/ns/repos/app/tags";

async fn raw(
    server: &ims_swr_mock::Server,
    path: &str,
) -> (reqwest::StatusCode, String, bytes::Bytes) {
    let response = reqwest::Client::new()
        .get(format!("{}{path}", server.uri()))
        .header("x-auth-token", TOKEN)
        .send()
        .await
        .unwrap();
    let range = response
        .headers()
        .get("content-range")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (response.status(), range, response.bytes().await.unwrap())
}

fn tag_names(body: &[u8], v3: bool) -> Vec<String> {
    let value: serde_json::Value = serde_json::from_slice(body).unwrap();
    let tags = if v3 { &value["tags"] } else { &value };
    tags.as_array()
        .unwrap()
        .iter()
        .map(|t| {
            t[if v3 { "tag" } else { "Tag" }]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn a_repeated_page_is_byte_identical_with_its_headers() {
    let server = spawn_json(&generated("ns", "app", 300)).await;
    for path in [
        format!("{V3}?limit=100"),
        format!("{V3}?limit=100&with_manifest=true"),
        format!("{V2}?limit=100&offset=100"),
    ] {
        let first = raw(&server, &path).await;
        let second = raw(&server, &path).await;
        let third = raw(&server, &path).await;
        assert_eq!(first.0, 200, "{path}");
        assert!(
            first.2.len() > ims_swr_mock::internals::MIN_SHARED,
            "{path}: a large page"
        );
        assert_eq!(first, second, "{path}");
        assert_eq!(second, third, "{path}");
    }
    assert!(ims_swr_mock::internals::shared_count() > 0);
    let v2 = raw(&server, &format!("{V2}?limit=100&offset=100")).await;
    assert_eq!(v2.1, "100-100/300");
}

#[tokio::test]
async fn every_kind_of_write_is_seen_by_the_next_request() {
    let server = spawn_json(&generated("ns", "app", 5)).await;
    let page = format!("{V3}?order_column=tag&order_type=asc");
    let before = tag_names(&raw(&server, &page).await.2, true);
    assert_eq!(before.len(), 5);

    // The library's push door.
    server
        .push_tag("ns", "app", json!({"tag": "aaa-pushed"}))
        .unwrap();
    let after = tag_names(&raw(&server, &page).await.2, true);
    assert_eq!(after.len(), 6);
    assert_eq!(after[0], "aaa-pushed");

    // The API: delete it again; v2 sees it too.
    let deleted = reqwest::Client::new()
        .delete(format!(
            "{}/v2/manage/namespaces/ns/repos/app/tags/aaa-pushed",
            server.uri()
        ))
        .header("x-auth-token", TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    assert_eq!(tag_names(&raw(&server, &page).await.2, true), before);
    let v2 = raw(&server, &format!("{V2}?order_column=tag&order_type=asc")).await;
    assert_eq!(tag_names(&v2.2, false), before);

    // Import and reset replace the store.
    server.import_state(&generated("ns", "app", 2)).unwrap();
    assert_eq!(tag_names(&raw(&server, &page).await.2, true).len(), 2);
    server.reset().unwrap();
    assert_eq!(tag_names(&raw(&server, &page).await.2, true), before);
}

#[tokio::test]
async fn without_the_cache_the_answers_are_the_same() {
    let json = generated("ns", "app", 300);
    let cached = spawn_json(&json).await;
    let fresh = ims_swr_mock::Server::builder()
        .fixture_json("test.json", &json)
        .page_cache(false)
        .start()
        .await
        .unwrap();
    for path in [format!("{V3}?limit=100"), format!("{V2}?limit=50&offset=7")] {
        for _ in 0..2 {
            assert_eq!(
                raw(&cached, &path).await,
                raw(&fresh, &path).await,
                "{path}"
            );
        }
    }
}

#[tokio::test]
async fn errors_are_not_kept() {
    let server = spawn_json(&generated("ns", "app", 5)).await;
    let missing = "/v3/manage/namespaces/ns/repos/later/tags";
    assert_eq!(raw(&server, missing).await.0, 404);
    server
        .push_tag("ns", "later", json!({"tag": "v1"}))
        .unwrap();
    let found = raw(&server, missing).await;
    assert_eq!(found.0, 200);
    assert_eq!(tag_names(&found.2, true), ["v1"]);
}

/// A slow client with a tiny receive buffer gets a large cached page whole,
/// twice on one connection. (Partial sendfiles, which a big kernel send
/// buffer may hide here, are forced in `zerocopy`'s unit tests.)
#[tokio::test]
async fn a_slow_reader_gets_a_large_page_whole() {
    let server = spawn_json(&generated("ns", "app", 1000)).await;
    let path = format!("{V3}?limit=1000&with_manifest=true");
    let expected = raw(&server, &path).await.2; // also fills the cache
    assert!(expected.len() > 500_000, "{}", expected.len());

    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(server.address()).await.unwrap();
    for _ in 0..2 {
        let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {TOKEN}\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut received = Vec::new();
        let mut chunk = [0u8; 8192];
        let body_start = loop {
            let n = stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "closed early");
            received.extend_from_slice(&chunk[..n]);
            if let Some(i) = received.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
        };
        let head = String::from_utf8_lossy(&received[..body_start]).to_lowercase();
        assert!(head.starts_with("http/1.1 200"), "{head}");
        assert!(
            head.contains(&format!("content-length: {}", expected.len())),
            "{head}"
        );
        let mut reads = 0;
        while received.len() - body_start < expected.len() {
            let n = stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "closed early");
            received.extend_from_slice(&chunk[..n]);
            reads += 1;
            if reads % 16 == 0 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        assert_eq!(received.len() - body_start, expected.len());
        assert!(received[body_start..] == expected[..], "body differs");
    }
}

/// A fixture of `tags` tags, each carrying its own manifest list of about
/// `manifest_bytes` bytes (as multi-arch images do).
fn with_manifests(tags: usize, manifest_bytes: usize) -> String {
    let mut fixture: serde_json::Value =
        serde_json::from_str(&generated("ns", "app", tags)).unwrap();
    let list = &mut fixture["swr"]["namespaces"][0]["repositories"][0]["tags"];
    for (i, tag) in list.as_array_mut().unwrap().iter_mut().enumerate() {
        let mut manifests = Vec::new();
        while serde_json::to_string(&manifests).unwrap().len() < manifest_bytes {
            manifests.push(json!({
                "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "size": 1000 + i,
                "digest": format!("sha256:{:064x}", i * 31 + manifests.len()),
                "platform": {"architecture": "amd64", "os": "linux"}
            }));
        }
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
            "manifests": manifests
        });
        tag["manifest"] = json!(manifest.to_string());
    }
    fixture.to_string()
}

/// An IMS project of `images` images with ten tags each, all values distinct.
fn many_images(images: usize) -> String {
    let images: Vec<_> = (0..images)
        .map(|i| {
            let tags: Vec<_> = (0..10)
                .map(|k| json!({"key": format!("key{k}"), "value": format!("value-{i:06}-{k}-of-a-long-tag-value")}))
                .collect();
            json!({"name": format!("image-{i:06}"), "tags": tags})
        })
        .collect();
    json!({"ims": {"projects": [{"id": super::helpers::PROJECT, "images": images}]}}).to_string()
}

/// Finding 1 of issue 14: a list answer over the largest answer the cache
/// keeps (2 MiB) came back as a 200 with `Content-Length: 0`. Every answer,
/// first or repeated, cached or not, is the fresh one byte for byte.
#[tokio::test]
async fn answers_over_the_largest_kept_answer_arrive_whole_and_repeatedly() {
    let json = with_manifests(1000, 3000);
    let cached = spawn_json(&json).await;
    let fresh = ims_swr_mock::Server::builder()
        .fixture_json("test.json", &json)
        .page_cache(false)
        .start()
        .await
        .unwrap();
    for path in [
        format!("{V3}?limit=1000&with_manifest=true"),
        format!("{V2}?offset=0&limit=1000"),
    ] {
        let want = raw(&fresh, &path).await;
        assert_eq!(want.0, 200, "{path}");
        assert!(
            want.2.len() > ims_swr_mock::internals::PAGE_CACHE_MAX_BODY,
            "{path}: {} bytes, not over the cache's largest answer",
            want.2.len()
        );
        for round in 0..3 {
            let got = raw(&cached, &path).await;
            assert_eq!(got.0, 200, "{path} round {round}");
            assert_eq!(
                got.2.len(),
                want.2.len(),
                "{path} round {round}: body length"
            );
            assert!(got == want, "{path} round {round}: the body differs");
        }
    }
}

#[tokio::test]
async fn ims_list_images_tags_over_6000_images_arrives_whole_and_repeatedly() {
    let json = many_images(6000);
    let server = spawn_json(&json).await;
    let path = format!("/v2/{}/images/tags", super::helpers::PROJECT);
    let first = raw(&server, &path).await;
    assert_eq!(first.0, 200);
    assert!(
        first.2.len() > ims_swr_mock::internals::PAGE_CACHE_MAX_BODY,
        "{} bytes, not over the cache's largest answer",
        first.2.len()
    );
    for round in 0..2 {
        let again = raw(&server, &path).await;
        assert_eq!(again.2.len(), first.2.len(), "round {round}: body length");
        assert!(again == first, "round {round}: the body differs");
    }
}

/// Every size boundary of the send path, around its edges: the smallest
/// shared body (memfd + sendfile), the smallest slice sent from the file, the
/// largest answer kept, and the total the cache holds. Each answer, fresh and
/// repeated, has a `Content-Length` equal to its body, and the body is the
/// one the handler made.
#[tokio::test]
async fn answers_at_every_size_boundary_are_whole_fresh_and_cached() {
    use axum::extract::{Path, Request, State};
    use ims_swr_mock::internals::AppState;
    use ims_swr_mock::internals::MIN_SHARED;
    use ims_swr_mock::internals::{
        PAGE_CACHE_MAX_BODY as MAX_BODY, PAGE_CACHE_MAX_BYTES as MAX_BYTES,
    };

    async fn sized(
        State(state): State<AppState>,
        Path(len): Path<usize>,
        request: Request,
    ) -> axum::response::Response {
        let body: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
        ims_swr_mock::internals::serve_cached(state, request, move || async move { body }).await
    }
    let server = ims_swr_mock::Server::builder()
        .extra_routes(axum::Router::new().route("/sized/{len}", axum::routing::get(sized)))
        .start()
        .await
        .unwrap();
    let mut sizes = vec![0, 1, 4095, 4096, 4097];
    for edge in [
        MIN_SHARED,
        MIN_SHARED + 4096,
        MAX_BODY,
        MAX_BYTES / 8,
        MAX_BYTES,
    ] {
        sizes.extend([edge - 1, edge, edge + 1]);
    }
    // A reader with a tiny receive buffer forces partial sends (and partial
    // `sendfile`s) at the edges where a body starts to be shared, and around
    // the largest kept answer.
    for len in [
        MIN_SHARED - 1,
        MIN_SHARED,
        MIN_SHARED + 4097,
        MAX_BODY - 1,
        MAX_BODY,
        MAX_BODY + 1,
    ] {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let mut stream = socket.connect(server.address()).await.unwrap();
        for round in 0..2 {
            let request =
                format!("GET /sized/{len} HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {TOKEN}\r\n\r\n");
            stream.write_all(request.as_bytes()).await.unwrap();
            let mut received = Vec::new();
            let mut chunk = [0u8; 8192];
            let body_start = loop {
                let n = stream.read(&mut chunk).await.unwrap();
                assert!(n > 0, "{len}: closed early");
                received.extend_from_slice(&chunk[..n]);
                if let Some(i) = received.windows(4).position(|w| w == b"\r\n\r\n") {
                    break i + 4;
                }
            };
            let head = String::from_utf8_lossy(&received[..body_start]).to_lowercase();
            assert!(
                head.contains(&format!("content-length: {len}\r\n")),
                "{head}"
            );
            while received.len() - body_start < len {
                let n = stream.read(&mut chunk).await.unwrap();
                assert!(n > 0, "{len} round {round}: closed early");
                received.extend_from_slice(&chunk[..n]);
            }
            assert_eq!(
                received.len() - body_start,
                len,
                "{len} round {round}: extra bytes"
            );
            assert!(
                received[body_start..]
                    .iter()
                    .enumerate()
                    .all(|(i, b)| *b == b'a' + (i % 26) as u8),
                "{len} round {round}: the bytes differ"
            );
        }
    }
    let client = reqwest::Client::new();
    for round in 0..2 {
        for &len in &sizes {
            let response = client
                .get(format!("{}/sized/{len}", server.uri()))
                .header("x-auth-token", TOKEN)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200, "{len}");
            let declared = response
                .headers()
                .get("content-length")
                .map(|v| v.to_str().unwrap().to_owned());
            let body = response.bytes().await.unwrap();
            assert_eq!(body.len(), len, "round {round}: a body of {len} bytes");
            assert_eq!(
                declared,
                Some(len.to_string()),
                "round {round}: Content-Length of {len}"
            );
            assert!(
                body.iter()
                    .enumerate()
                    .all(|(i, b)| *b == b'a' + (i % 26) as u8),
                "round {round}: the bytes of {len}"
            );
        }
    }
}
