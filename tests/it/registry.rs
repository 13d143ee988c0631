//! The registry (OCI Distribution v2 on the API port): push, pull, the SWR
//! tag APIs on the same tags, login and tenancy, the blob budget.

use base64::Engine as _;
use ims_swr_mock::AuthMode;
use ims_swr_mock::Server;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::helpers::{self, TOKEN};

fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// A registry client with optional credentials.
struct Client {
    base: String,
    http: reqwest::Client,
    auth: Option<String>,
}

impl Client {
    fn new(server: &Server) -> Self {
        Self {
            base: server.uri(),
            http: reqwest::Client::new(),
            auth: None,
        }
    }

    fn with_basic(mut self, user: &str, password: &str) -> Self {
        let raw = format!("{user}:{password}");
        self.auth = Some(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        ));
        self
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        };
        let mut r = self.http.request(method, url);
        if let Some(a) = &self.auth {
            r = r.header("authorization", a);
        }
        r
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.send(Method::GET, path, vec![]).await
    }

    async fn send(&self, method: Method, path: &str, body: Vec<u8>) -> reqwest::Response {
        self.request(method, path)
            .body(body)
            .send()
            .await
            .expect("send")
    }

    /// Monolithic upload; returns the digest.
    async fn push_blob(&self, name: &str, data: &[u8]) -> String {
        let d = digest(data);
        let r = self
            .send(
                Method::POST,
                &format!("/v2/{name}/blobs/uploads/?digest={d}"),
                data.to_vec(),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED, "{:?}", r.text().await);
        d
    }

    /// Pushes a one-layer OCI image; returns (manifest digest, manifest bytes, size).
    async fn push_image(&self, name: &str, tag: &str, layer: &[u8]) -> (String, Vec<u8>, i64) {
        let config = br#"{"architecture":"amd64","os":"linux"}"#;
        let c = self.push_blob(name, config).await;
        let l = self.push_blob(name, layer).await;
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": c, "size": config.len()},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": l, "size": layer.len()}],
        });
        let bytes = serde_json::to_vec(&manifest).unwrap();
        let r = self
            .request(Method::PUT, &format!("/v2/{name}/manifests/{tag}"))
            .header("content-type", "application/vnd.oci.image.manifest.v1+json")
            .body(bytes.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED, "{:?}", r.text().await);
        let d = digest(&bytes);
        assert_eq!(r.headers()["docker-content-digest"], d.as_str());
        (d, bytes, (config.len() + layer.len()) as i64)
    }
    /// Pulls `name:tag` back: 200, the manifest digest `d` and bytes
    /// `manifest`, and the layer's blob byte for byte.
    async fn assert_pulls(&self, name: &str, tag: &str, d: &str, manifest: &[u8], layer: &[u8]) {
        let r = self.get(&format!("/v2/{name}/manifests/{tag}")).await;
        assert_eq!(r.status(), StatusCode::OK, "{name}:{tag}");
        assert_eq!(r.headers()["docker-content-digest"], d);
        assert_eq!(r.bytes().await.unwrap().as_ref(), manifest);
        let r = self
            .get(&format!("/v2/{name}/blobs/{}", digest(layer)))
            .await;
        assert_eq!(r.status(), StatusCode::OK, "{name}: layer");
        assert_eq!(r.bytes().await.unwrap().as_ref(), layer);
    }
}

async fn error_code(r: reqwest::Response) -> (u16, String) {
    let status = r.status().as_u16();
    let body: Value = r.json().await.expect("JSON error");
    (
        status,
        body["errors"][0]["code"].as_str().unwrap_or("").to_owned(),
    )
}

#[tokio::test]
async fn a_pushed_image_pulls_back_byte_for_byte_and_is_an_swr_tag_in_v2_and_v3() {
    let server = helpers::spawn().await;
    let client = Client::new(&server);
    // Chunked upload of the layer: POST, two PATCHes, PUT.
    let layer: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let r = client
        .send(Method::POST, "/v2/neworg/group/app/blobs/uploads/", vec![])
        .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let r = client
        .request(Method::PATCH, &location)
        .header("content-range", "0-99999")
        .body(layer[..100_000].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert_eq!(r.headers()["range"], "0-99999");
    // A chunk that does not start where the upload ends: 416.
    let r = client
        .request(Method::PATCH, &location)
        .header("content-range", "5-10")
        .body(vec![0; 6])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    let r = client
        .send(
            Method::PUT,
            &format!("{location}?digest={}", digest(&layer)),
            layer[100_000..].to_vec(),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED, "{:?}", r.text().await);
    let (manifest_digest, manifest, size) =
        client.push_image("neworg/group/app", "v1", &layer).await;

    // Pull back: manifest by tag and by digest, blob whole and by range.
    for reference in ["v1", manifest_digest.as_str()] {
        let r = client
            .get(&format!("/v2/neworg/group/app/manifests/{reference}"))
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(
            r.headers()["docker-content-digest"],
            manifest_digest.as_str()
        );
        assert_eq!(
            r.headers()["content-type"],
            "application/vnd.oci.image.manifest.v1+json"
        );
        assert_eq!(r.bytes().await.unwrap().as_ref(), manifest.as_slice());
    }
    let r = client
        .get(&format!("/v2/neworg/group/app/blobs/{}", digest(&layer)))
        .await;
    assert_eq!(r.bytes().await.unwrap().as_ref(), layer.as_slice());
    let r = client
        .request(
            Method::GET,
            &format!("/v2/neworg/group/app/blobs/{}", digest(&layer)),
        )
        .header("range", "bytes=10-19")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(r.bytes().await.unwrap().as_ref(), &layer[10..20]);

    // The SWR APIs see the tag: digest, size = config + layers, path, manifest.
    let v2 = helpers::get(&server, "/v2/manage/namespaces/neworg/repos/group$app/tags").await;
    assert_eq!(v2.status, StatusCode::OK, "{}", v2.body);
    let tag = &v2.body[0];
    assert_eq!(tag["Tag"], "v1");
    assert_eq!(tag["digest"], manifest_digest.as_str());
    assert_eq!(tag["size"], size);
    assert_eq!(
        tag["path"],
        "swr.cn-north-1.myhuaweicloud.com/neworg/group/app:v1"
    );
    assert_eq!(
        tag["manifest"],
        String::from_utf8(manifest.clone()).unwrap()
    );
    let v3 = helpers::get(&server, "/v3/manage/namespaces/neworg/repos/group$app/tags").await;
    assert_eq!(v3.body["tags"][0]["digest"], manifest_digest.as_str());
    assert_eq!(v3.body["tags"][0]["size"], size);
}

#[tokio::test]
async fn create_repo_tag_pulls_and_delete_repo_tag_makes_the_pull_404_manifest_unknown() {
    let server = helpers::spawn().await;
    let client = Client::new(&server);
    let (d, manifest, _) = client
        .push_image("namespace/busybox", "built", b"layer")
        .await;
    let created = crate::helpers::answer(
        reqwest::Client::new()
            .post(format!(
                "{}/v2/manage/namespaces/namespace/repos/busybox/tags",
                server.uri()
            ))
            .header("x-auth-token", TOKEN)
            .json(&json!({"source_tag": "built", "destination_tag": "promoted"})),
    )
    .await;
    assert!(created.status.is_success(), "{}", created.body);
    let r = client.get("/v2/namespace/busybox/manifests/promoted").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["docker-content-digest"], d.as_str());
    assert_eq!(r.bytes().await.unwrap().as_ref(), manifest.as_slice());

    let deleted = helpers::send(
        &server,
        Method::DELETE,
        "/v2/manage/namespaces/namespace/repos/busybox/tags/promoted",
    )
    .await;
    assert!(deleted.status.is_success(), "{}", deleted.body);
    let r = client.get("/v2/namespace/busybox/manifests/promoted").await;
    assert_eq!(error_code(r).await, (404, "MANIFEST_UNKNOWN".to_owned()));
    // A fixture tag pulls as its manifest and digest say.
    let show = helpers::get(
        &server,
        "/v2/manage/namespaces/namespace/repos/busybox/tags/latest",
    )
    .await;
    let r = client.get("/v2/namespace/busybox/manifests/latest").await;
    assert_eq!(
        r.headers()["docker-content-digest"],
        show.body["digest"].as_str().unwrap()
    );
}

#[tokio::test]
async fn tags_list_pages_with_n_and_last_and_a_link_header() {
    let server = helpers::spawn().await;
    let client = Client::new(&server);
    for tag in ["c", "a", "b", "d"] {
        client.push_image("org1/app", tag, b"same layer").await;
    }
    let r = client.get("/v2/org1/app/tags/list?n=2").await;
    let link = r.headers()["link"].to_str().unwrap().to_owned();
    assert_eq!(link, "</v2/org1/app/tags/list?n=2&last=b>; rel=\"next\"");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["tags"], json!(["a", "b"]));
    let r = client.get("/v2/org1/app/tags/list?n=2&last=b").await;
    assert!(r.headers().get("link").is_none());
    assert_eq!(r.json::<Value>().await.unwrap()["tags"], json!(["c", "d"]));
    let r = client.get("/v2/nope/app/tags/list").await;
    assert_eq!(error_code(r).await, (404, "NAME_UNKNOWN".to_owned()));
}

#[tokio::test]
async fn a_blob_is_held_once_across_repositories_and_mounts() {
    let server = helpers::spawn().await;
    let client = Client::new(&server);
    let big = vec![42u8; 1 << 20];
    client.push_image("org1/a", "v1", &big).await;
    client.push_image("org1/b", "v1", &big).await;
    client.push_image("org2/c", "v1", &big).await;
    let d = digest(&big);
    let r = client
        .send(
            Method::POST,
            &format!("/v2/org3/d/blobs/uploads/?mount={d}&from=org1/a"),
            vec![],
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let used = ims_swr_mock::internals::blob_bytes_used(server.store());
    // One layer, one config, three manifests (the same bytes: one).
    assert!(
        used < (1 << 20) + 2048,
        "{used} bytes held for a 1 MiB layer in 4 repositories"
    );
    let r = client
        .send(Method::HEAD, &format!("/v2/org3/d/blobs/{d}"), vec![])
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-length"], "1048576");
}

#[tokio::test]
async fn a_full_blob_store_answers_413_denied_naming_the_flag() {
    let server = Server::builder()
        .max_blob_bytes(1000)
        .start()
        .await
        .unwrap();
    let client = Client::new(&server);
    let data = vec![1u8; 2000];
    let r = client
        .send(
            Method::POST,
            &format!("/v2/org1/a/blobs/uploads/?digest={}", digest(&data)),
            data,
        )
        .await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "DENIED");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("--max-blob-bytes"),
        "{body}"
    );
    assert_eq!(ims_swr_mock::internals::blob_bytes_used(server.store()), 0);
}

#[tokio::test]
async fn bad_digests_unknown_blobs_and_bad_names_get_distribution_errors() {
    let server = helpers::spawn().await;
    let client = Client::new(&server);
    let wrong = digest(b"other");
    let r = client
        .send(
            Method::POST,
            &format!("/v2/org1/a/blobs/uploads/?digest={wrong}"),
            b"data".to_vec(),
        )
        .await;
    assert_eq!(error_code(r).await, (400, "DIGEST_INVALID".to_owned()));
    let r = client.get(&format!("/v2/org1/a/blobs/{wrong}")).await;
    assert_eq!(error_code(r).await, (404, "BLOB_UNKNOWN".to_owned()));
    let r = client.get("/v2/UPPER/a/tags/list").await;
    assert_eq!(error_code(r).await, (400, "NAME_INVALID".to_owned()));
    // A manifest naming a blob the repository lacks.
    let manifest = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": wrong, "size": 5}, "layers": []});
    let r = client
        .request(Method::PUT, "/v2/org1/a/manifests/v1")
        .header("content-type", "application/vnd.oci.image.manifest.v1+json")
        .body(manifest.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(r).await,
        (400, "MANIFEST_BLOB_UNKNOWN".to_owned())
    );
}

#[tokio::test]
async fn api_routes_win_over_the_registry_and_other_paths_stay_gateway_404s() {
    let server = helpers::spawn().await;
    let ims = helpers::get(&server, &format!("/v2/{}/images/tags", helpers::PROJECT)).await;
    assert_eq!(ims.status, StatusCode::OK);
    assert!(ims.body["tags"].is_array());
    let unknown = helpers::get(&server, "/v2/org1/app/nothing").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.body["error_code"], "APIGW.0101");
    let base = helpers::get(&server, "/v2/").await;
    assert_eq!(base.status, StatusCode::OK);
    assert_eq!(
        base.header("docker-distribution-api-version"),
        "registry/2.0"
    );
}

#[tokio::test]
async fn an_index_and_a_referrer_are_stored_and_discovered() {
    let server = helpers::spawn().await;
    let client = Client::new(&server);
    let (amd, amd_bytes, _) = client
        .push_image("org1/multi", "amd64", b"amd64 layer")
        .await;
    let (arm, arm_bytes, _) = client
        .push_image("org1/multi", "arm64", b"arm64 layer")
        .await;
    let index = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": amd, "size": amd_bytes.len(), "platform": {"architecture": "amd64", "os": "linux"}},
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": arm, "size": arm_bytes.len(), "platform": {"architecture": "arm64", "os": "linux"}},
    ]});
    let r = client
        .request(Method::PUT, "/v2/org1/multi/manifests/latest")
        .header("content-type", "application/vnd.oci.image.index.v1+json")
        .body(index.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let show = helpers::get(
        &server,
        "/v2/manage/namespaces/org1/repos/multi/tags/latest",
    )
    .await;
    assert_eq!(show.body["tag_type"], 1, "{}", show.body);
    // A signature-like artifact referring to the amd64 manifest.
    let empty = client.push_blob("org1/multi", b"{}").await;
    let artifact = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": "application/vnd.example.sig", "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
        "layers": [], "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": amd, "size": amd_bytes.len()}});
    let bytes = artifact.to_string();
    let r = client
        .request(
            Method::PUT,
            &format!("/v2/org1/multi/manifests/{}", digest(bytes.as_bytes())),
        )
        .header("content-type", "application/vnd.oci.image.manifest.v1+json")
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.headers()["oci-subject"], amd.as_str());
    let r = client.get(&format!("/v2/org1/multi/referrers/{amd}")).await;
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["manifests"][0]["digest"], digest(bytes.as_bytes()));
    assert_eq!(
        body["manifests"][0]["artifactType"],
        "application/vnd.example.sig"
    );
    // Manifest delete by digest removes the tags pointing at it.
    let r = client
        .send(
            Method::DELETE,
            &format!("/v2/org1/multi/manifests/{arm}"),
            vec![],
        )
        .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let r = client.get("/v2/org1/multi/manifests/arm64").await;
    assert_eq!(error_code(r).await, (404, "MANIFEST_UNKNOWN".to_owned()));
}

async fn strict_server() -> Server {
    Server::builder()
        .auth(AuthMode::Strict)
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn strict_mode_challenges_then_accepts_the_login_key_by_basic_and_by_bearer_token() {
    let server = strict_server().await;
    let anonymous = Client::new(&server);
    let r = anonymous.get("/v2/").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let challenge = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
    let realm = format!("{}/v2/token", server.uri());
    assert!(
        challenge.starts_with(&format!("Bearer realm=\"{realm}\"")),
        "{challenge}"
    );

    // The login key, as the SWR page derives it: hex HMAC-SHA256(SK, AK).
    let key = ims_swr_mock::internals::login_key("AKTEST", "SKTEST");
    let wrong = Client::new(&server).with_basic("cn-north-4@AKTEST", "not-the-key");
    let r = wrong.get("/v2/").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    let basic = Client::new(&server).with_basic("cn-north-4@AKTEST", &key);
    basic
        .push_image("namespace/pushed", "v1", b"strict layer")
        .await;
    // Bearer: the token endpoint takes the Basic credentials.
    let r = basic.get(&realm).await;
    assert_eq!(r.status(), StatusCode::OK);
    let token = r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut bearer = Client::new(&server);
    bearer.auth = Some(format!("Bearer {token}"));
    let r = bearer.get("/v2/namespace/pushed/manifests/v1").await;
    assert_eq!(r.status(), StatusCode::OK);
    let mut forged = Client::new(&server);
    forged.auth = Some(format!("Bearer {token}x"));
    let r = forged.get("/v2/namespace/pushed/manifests/v1").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn strict_mode_refuses_a_push_into_another_tenants_organization() {
    let server = strict_server().await;
    let key = ims_swr_mock::internals::login_key("AKTEST", "SKTEST");
    let tenant1 = Client::new(&server).with_basic("cn-north-4@AKTEST", &key);
    let r = tenant1
        .send(
            Method::POST,
            "/v2/othernamespace/nginx/blobs/uploads/",
            vec![],
        )
        .await;
    assert_eq!(error_code(r).await, (403, "DENIED".to_owned()));
    // A new organization is created for the pusher's account.
    tenant1.push_image("tenant1org/app", "v1", b"x").await;
    let v3 = helpers::get(&server, "/v3/manage/namespaces/tenant1org/repos/app/tags").await;
    assert_eq!(v3.status, StatusCode::OK, "{}", v3.body);
    assert_eq!(
        v3.body["tags"][0]["domain_id"],
        "0503dda878000fed0f75c0096d70a960"
    );
    let other_key = ims_swr_mock::internals::login_key("AKOTHER", "SKOTHER");
    let tenant2 = Client::new(&server).with_basic("cn-north-4@AKOTHER", &other_key);
    let r = tenant2.get("/v2/tenant1org/app/tags/list").await;
    assert_eq!(error_code(r).await, (403, "DENIED".to_owned()));
}

#[tokio::test]
async fn create_secret_answers_the_login_command_and_auths_with_the_derived_key() {
    let server = helpers::spawn().await;
    let a = helpers::answer(
        reqwest::Client::new()
            .post(format!(
                "{}/v2/manage/utils/secret?projectname=cn-north-4",
                server.uri()
            ))
            .header("x-auth-token", TOKEN),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let key = ims_swr_mock::internals::login_key("AKTEST", "SKTEST");
    assert_eq!(
        a.header("x-swr-dockerlogin"),
        format!("docker login -u cn-north-4@AKTEST -p {key} swr.cn-north-1.myhuaweicloud.com")
    );
    let auth = a.body["auths"]["swr.cn-north-1.myhuaweicloud.com"]["auth"]
        .as_str()
        .unwrap();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(auth)
        .unwrap();
    assert_eq!(
        String::from_utf8(decoded).unwrap(),
        format!("cn-north-4@AKTEST:{key}")
    );
}

#[tokio::test]
async fn reset_clears_the_blobs() {
    let server = helpers::spawn().await;
    let client = Client::new(&server);
    client.push_image("org1/app", "v1", b"layer").await;
    assert!(ims_swr_mock::internals::blob_bytes_used(server.store()) > 0);
    server.reset().unwrap();
    assert_eq!(ims_swr_mock::internals::blob_bytes_used(server.store()), 0);
    let r = client.get("/v2/org1/app/manifests/v1").await;
    assert_eq!(error_code(r).await, (404, "NAME_UNKNOWN".to_owned()));
}

#[tokio::test]
async fn with_persist_pushed_blobs_survive_a_restart_and_reset_clears_them_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let layer = vec![9u8; 200_000];
    let (d, manifest) = {
        let server = helpers::persisting(&state).await;
        let client = Client::new(&server);
        let (d, manifest, _) = client.push_image("org1/kept", "v1", &layer).await;
        client.push_image("org1/other", "v1", &layer).await;
        server.shutdown().await.unwrap();
        (d, manifest)
    };
    let server = helpers::persisting(&state).await;
    let client = Client::new(&server);
    client
        .assert_pulls("org1/kept", "v1", &d, &manifest, &layer)
        .await;
    let held = ims_swr_mock::internals::blob_bytes_used(server.store());
    assert!(
        held < 200_000 + 2048,
        "the layer is held once after a reload: {held}"
    );
    server.reset().unwrap();
    server.shutdown().await.unwrap();
    let server = helpers::persisting(&state).await;
    assert_eq!(ims_swr_mock::internals::blob_bytes_used(server.store()), 0);
}

#[tokio::test]
async fn a_blob_upload_that_stalls_is_cut_off_after_the_read_timeout_and_releases_its_bytes() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let server = Server::builder()
        .read_timeout(std::time::Duration::from_secs(1))
        .start()
        .await
        .unwrap();
    let mut conn = tokio::net::TcpStream::connect(server.address())
        .await
        .unwrap();
    let head = "POST /v2/org1/slow/blobs/uploads/?digest=sha256:0000000000000000000000000000000000000000000000000000000000000000 HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n";
    conn.write_all(head.as_bytes()).await.unwrap();
    conn.write_all(&[0u8; 10]).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        let mut buf = [0u8; 4096];
        loop {
            let n = conn.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&buf[..n]);
            if answer.windows(4).any(|w| w == b"\r\n\r\n") {
                break;
            }
        }
    })
    .await;
    assert!(read.is_ok(), "no answer 5 s into a stalled upload");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert_eq!(ims_swr_mock::internals::blob_bytes_used(server.store()), 0);
}

#[tokio::test]
async fn uploads_in_progress_are_capped_with_429_toomanyrequests() {
    let server = helpers::spawn().await;
    let client = Client::new(&server);
    let cap = ims_swr_mock::internals::MAX_UPLOADS;
    for _ in 0..cap {
        let r = client
            .send(Method::POST, "/v2/org1/many/blobs/uploads/", vec![])
            .await;
        assert_eq!(r.status(), StatusCode::ACCEPTED);
    }
    let r = client
        .send(Method::POST, "/v2/org1/many/blobs/uploads/", vec![])
        .await;
    assert_eq!(error_code(r).await, (429, "TOOMANYREQUESTS".to_owned()));
}

/// `GET /_mock/state` of `server`, as JSON.
async fn export_state(server: &Server) -> Value {
    let r = reqwest::get(format!("{}/_mock/state", server.uri()))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

/// `PUT /_mock/state` on `server`: status and body.
async fn import_state(server: &Server, state: &Value) -> (StatusCode, Value, bool) {
    let r = reqwest::Client::new()
        .put(format!("{}/_mock/state", server.uri()))
        .body(serde_json::to_vec(state).unwrap())
        .send()
        .await
        .unwrap();
    let has_id = r.headers().contains_key("x-request-id");
    (r.status(), r.json().await.unwrap_or(Value::Null), has_id)
}

#[tokio::test]
async fn an_exported_state_carries_the_blobs_and_imports_into_a_new_server_byte_for_byte() {
    let first = helpers::spawn().await;
    let client = Client::new(&first);
    let layer: Vec<u8> = (0..150_000u32).map(|i| (i % 241) as u8).collect();
    let (d1, m1, size) = client.push_image("org1/app", "v1", &layer).await;
    let (d2, m2, _) = client.push_image("org2/group/tool", "v2", &layer).await;
    let state = export_state(&first).await;
    let registry = &state["registry"];
    assert!(
        registry["blobs"][digest(&layer).as_str()].is_string(),
        "{registry}"
    );

    let second = helpers::spawn().await;
    let (status, body, _) = import_state(&second, &state).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let client = Client::new(&second);
    for (name, tag, d, m) in [
        ("org1/app", "v1", &d1, &m1),
        ("org2/group/tool", "v2", &d2, &m2),
    ] {
        client.assert_pulls(name, tag, d, m, &layer).await;
    }
    let v2 = helpers::get(&second, "/v2/manage/namespaces/org1/repos/app/tags").await;
    assert_eq!(v2.body[0]["digest"], d1.as_str());
    assert_eq!(v2.body[0]["size"], size);
    // The layer shared by both repositories is held once, and a second
    // export gives the same document.
    let held = ims_swr_mock::internals::blob_bytes_used(second.store());
    assert!(held < 150_000 + 4096, "held {held}");
    assert_eq!(export_state(&second).await, state);
}

#[tokio::test]
async fn an_import_whose_blob_does_not_match_its_digest_is_refused_naming_it_and_changes_nothing() {
    let server = helpers::spawn().await;
    let client = Client::new(&server);
    let (d, manifest, _) = client.push_image("org1/app", "v1", b"layer-bytes").await;
    let mut state = export_state(&server).await;
    let layer_digest = digest(b"layer-bytes");
    state["registry"]["blobs"][layer_digest.as_str()] =
        json!(base64::engine::general_purpose::STANDARD.encode(b"other bytes"));
    state["swr"]["namespaces"] = json!([]);
    let (status, body, has_id) = import_state(&server, &state).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(has_id);
    assert_eq!(body["error_code"], "MOCK.0400", "{body}");
    assert!(
        body.to_string()
            .contains(&format!("do not match digest {layer_digest}")),
        "{body}"
    );
    // Nothing changed: the image still pulls.
    let r = client.get("/v2/org1/app/manifests/v1").await;
    assert_eq!(r.headers()["docker-content-digest"], d.as_str());
    assert_eq!(r.bytes().await.unwrap().as_ref(), manifest.as_slice());
    // Bad base64 and a link to a blob the section lacks are refused too.
    let mut bad = export_state(&server).await;
    bad["registry"]["blobs"][layer_digest.as_str()] = json!("not base64!");
    let (status, body, _) = import_state(&server, &bad).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.to_string().contains("base64"), "{body}");
    let mut bad = export_state(&server).await;
    bad["registry"]["blobs"]
        .as_object_mut()
        .unwrap()
        .remove(&layer_digest);
    let (status, body, _) = import_state(&server, &bad).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.to_string().contains(&layer_digest), "{body}");
}

#[tokio::test]
async fn an_import_larger_than_max_blob_bytes_is_refused_naming_the_flag_and_changes_nothing() {
    let big = helpers::spawn().await;
    Client::new(&big)
        .push_image("org1/app", "v1", &[5u8; 5000])
        .await;
    let state = export_state(&big).await;
    let small = Server::builder()
        .max_blob_bytes(4000)
        .start()
        .await
        .unwrap();
    let client = Client::new(&small);
    let (d, _, _) = client.push_image("org9/kept", "v1", b"kept").await;
    let (status, body, has_id) = import_state(&small, &state).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(has_id);
    assert!(body.to_string().contains("--max-blob-bytes"), "{body}");
    let r = client.get("/v2/org9/kept/manifests/v1").await;
    assert_eq!(r.headers()["docker-content-digest"], d.as_str());
}

#[tokio::test]
async fn a_state_with_blobs_over_the_admin_body_limit_is_refused_413() {
    let big = helpers::spawn().await;
    Client::new(&big)
        .push_image("org1/app", "v1", &[5u8; 300_000])
        .await;
    let state = export_state(&big).await;
    let small = Server::builder()
        .max_admin_body_bytes(256 << 10)
        .start()
        .await
        .unwrap();
    let (status, body, has_id) = import_state(&small, &state).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(has_id);
    assert_eq!(body["error_code"], "MOCK.0413", "{body}");
}

#[tokio::test]
async fn a_second_monolithic_push_of_a_held_blob_is_checked_and_linked_without_a_copy() {
    let server = helpers::spawn().await;
    let client = Client::new(&server);
    let layer = vec![3u8; 100_000];
    let d = client.push_blob("org1/a", &layer).await;
    let held = ims_swr_mock::internals::blob_bytes_used(server.store());
    // POST ?digest= with the body, into another repository: linked.
    client.push_blob("org1/b", &layer).await;
    // POST, then PUT ?digest= with the body: linked too.
    let r = client
        .send(Method::POST, "/v2/org1/c/blobs/uploads/", vec![])
        .await;
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let r = client
        .send(
            Method::PUT,
            &format!("{location}?digest={d}"),
            layer.clone(),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    for repo in ["org1/b", "org1/c"] {
        let r = client.get(&format!("/v2/{repo}/blobs/{d}")).await;
        assert_eq!(
            r.bytes().await.unwrap().as_ref(),
            layer.as_slice(),
            "{repo}"
        );
    }
    assert_eq!(
        ims_swr_mock::internals::blob_bytes_used(server.store()),
        held
    );
    // Other bytes under a held digest: DIGEST_INVALID, and nothing is linked.
    let r = client
        .send(
            Method::POST,
            &format!("/v2/org1/d/blobs/uploads/?digest={d}"),
            vec![4u8; 100_000],
        )
        .await;
    assert_eq!(error_code(r).await, (400, "DIGEST_INVALID".to_owned()));
    let r = client
        .send(Method::HEAD, &format!("/v2/org1/d/blobs/{d}"), vec![])
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn with_persist_imported_blobs_are_saved_and_pull_after_a_restart() {
    let source = helpers::spawn().await;
    let layer = vec![6u8; 50_000];
    let (d, manifest, _) = Client::new(&source)
        .push_image("org1/app", "v1", &layer)
        .await;
    let state = export_state(&source).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let server = helpers::persisting(&path).await;
    let (status, body, _) = import_state(&server, &state).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    server.shutdown().await.unwrap();
    let server = helpers::persisting(&path).await;
    let client = Client::new(&server);
    client
        .assert_pulls("org1/app", "v1", &d, &manifest, &layer)
        .await;
}

#[tokio::test]
async fn fixtures_whose_blobs_exceed_max_blob_bytes_stop_the_start_naming_the_flag() {
    let data = vec![8u8; 2000];
    let fixture = json!({
        "registry": {
            "blobs": {digest(&data): base64::engine::general_purpose::STANDARD.encode(&data)},
            "repositories": {"org1/app": {"blobs": [digest(&data)]}},
        }
    })
    .to_string();
    let err = Server::builder()
        .fixture_json("blobs.json", fixture.clone())
        .max_blob_bytes(1000)
        .start()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("--max-blob-bytes"), "{err}");
    // Within the budget, the fixture's blob is served.
    let server = Server::builder()
        .fixture_json("blobs.json", fixture)
        .start()
        .await
        .unwrap();
    let r = Client::new(&server)
        .get(&format!("/v2/org1/app/blobs/{}", digest(&data)))
        .await;
    assert_eq!(r.bytes().await.unwrap().as_ref(), data.as_slice());
}
