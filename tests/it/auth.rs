//! Authentication modes, AK/SK signature verification, tenancy and IAM discovery.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ims_swr_mock::AuthMode;
use ims_swr_mock::Server;
use ims_swr_mock::internals::signer::{self, UriForm};
use reqwest::Method;

use crate::helpers::*;

const OTHER_PROJECT: &str = "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b";
const SWR_LIST: &str = "/v2/manage/namespaces/namespace/repos/busybox/tags";

async fn spawn_mode(mode: AuthMode) -> Server {
    Server::builder().auth(mode).start().await.unwrap()
}

fn sdk_date(offset_s: i64) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let ts = jiff::Timestamp::from_second(now + offset_s).unwrap();
    ts.strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// A request to sign: everything the signature covers.
#[derive(Clone)]
struct Signed {
    method: Method,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    access: String,
    secret: String,
    form: UriForm,
}

impl Signed {
    fn get(server: &Server, path_and_query: &str) -> Self {
        Self::get_at(&server.address().to_string(), path_and_query)
    }

    /// A GET of `path_and_query` for the server at `host` (`ip:port`).
    fn get_at(host: &str, path_and_query: &str) -> Self {
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        Self {
            method: Method::GET,
            path: path.into(),
            query: query.into(),
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("host".into(), host.to_owned()),
                (
                    "user-agent".into(),
                    "huaweicloud-usdk-python/3.0; it".into(),
                ),
                ("x-project-id".into(), PROJECT.into()),
                ("x-sdk-date".into(), sdk_date(0)),
            ],
            body: Vec::new(),
            access: "AKTEST".into(),
            secret: "SKTEST".into(),
            form: UriForm::Python,
        }
    }

    fn header(&self, name: &str) -> &str {
        &self.headers.iter().find(|(n, _)| n == name).unwrap().1
    }

    fn authorization(&self) -> String {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let creq = signer::canonical_request(
            self.method.as_str(),
            &signer::canonical_uri(&self.path, self.form),
            &signer::canonical_query(&self.query),
            &headers,
            &signer::payload_hash(
                &self.body,
                self.headers
                    .iter()
                    .find(|(n, _)| n == "x-sdk-content-sha256")
                    .map(|(_, v)| v.as_str()),
            ),
        );
        let sts = signer::string_to_sign(self.header("x-sdk-date"), &creq);
        let names: Vec<&str> = headers.iter().map(|(n, _)| *n).collect();
        format!(
            "SDK-HMAC-SHA256 Access={}, SignedHeaders={}, Signature={}",
            self.access,
            names.join(";"),
            signer::sign(&self.secret, &sts)
        )
    }

    /// Sends `wire`, signed as `self` says.
    async fn send_as(&self, server: &Server, wire: &Signed) -> Answer {
        self.send_with(server, wire, self.authorization()).await
    }

    async fn send_with(&self, server: &Server, wire: &Signed, authorization: String) -> Answer {
        self.send_to(&server.uri(), wire, authorization).await
    }

    /// Sends `wire` to the server at `uri` with this `Authorization`.
    async fn send_to(&self, uri: &str, wire: &Signed, authorization: String) -> Answer {
        let query = if wire.query.is_empty() {
            String::new()
        } else {
            format!("?{}", wire.query)
        };
        let url = format!("{uri}{}{query}", wire.path);
        let mut request = reqwest::Client::new()
            .request(wire.method.clone(), url)
            .header("authorization", authorization)
            .body(wire.body.clone());
        for (name, value) in &wire.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        answer(request).await
    }
}

#[track_caller]
fn assert_unauthorized(a: &Answer, detail: &str) {
    assert_eq!(a.status, 401, "{}", a.body);
    assert_eq!(a.body["error_code"], "APIGW.0301", "{}", a.body);
    let msg = a.body["error_msg"].as_str().unwrap();
    assert!(
        msg.starts_with("Incorrect IAM authentication information"),
        "{msg}"
    );
    assert!(msg.contains(detail), "{msg} should mention {detail}");
    assert_eq!(a.body["request_id"], a.header("x-request-id"));
}

#[tokio::test]
async fn strict_mode_accepts_a_correct_signature_and_rejects_any_single_tampering() {
    let server = spawn_mode(AuthMode::Strict).await;
    let base = Signed::get(
        &server,
        &format!("{SWR_LIST}?limit=10&offset=0&order_type=asc"),
    );
    let ok = base.send_as(&server, &base).await;
    assert_eq!(ok.status, 200, "the untouched request passes: {}", ok.body);

    let mut cases: Vec<(&str, Signed)> = Vec::new();
    let mut t = base.clone();
    t.method = Method::HEAD;
    cases.push(("method", t));
    let mut t = base.clone();
    t.path = "/v3/manage/namespaces/namespace/repos/busybox/tags".into();
    cases.push(("path", t));
    let mut t = base.clone();
    t.query = "limit=11&order_type=asc".into();
    cases.push(("query", t));
    let mut t = base.clone();
    t.body = b"{}".to_vec();
    cases.push(("body", t));
    for (i, (name, _)) in base.headers.iter().enumerate() {
        let mut t = base.clone();
        t.headers[i].1 = match name.as_str() {
            "x-sdk-date" => sdk_date(1),
            "host" => format!("localhost:{}", server.address().port()),
            _ => format!("{}x", t.headers[i].1),
        };
        cases.push(("a signed header", t));
    }
    for (what, wire) in &cases {
        let a = base.send_as(&server, wire).await;
        if wire.method == Method::HEAD {
            assert_eq!(a.status, 401, "{what}: HEAD answers carry no body");
        } else {
            assert_unauthorized(&a, "verify aksk signature fail");
        }
    }

    let auth_with_other_ak = base
        .authorization()
        .replace("Access=AKTEST", "Access=AKOTHER");
    assert_unauthorized(
        &base.send_with(&server, &base, auth_with_other_ak).await,
        "verify aksk signature fail",
    );
    let unknown = base
        .authorization()
        .replace("Access=AKTEST", "Access=AKNOBODY");
    assert_unauthorized(
        &base.send_with(&server, &base, unknown).await,
        "ak not exist",
    );
    let mut flipped = base.authorization();
    let last = flipped.pop().unwrap();
    flipped.push(if last == '0' { '1' } else { '0' });
    assert_unauthorized(
        &base.send_with(&server, &base, flipped).await,
        "verify aksk signature fail",
    );
    let mut wrong_secret = base.clone();
    wrong_secret.secret = "SKWRONG".into();
    assert_unauthorized(
        &wrong_secret.send_as(&server, &base).await,
        "verify aksk signature fail",
    );
}

#[tokio::test]
async fn strict_mode_rejects_a_skewed_date_even_when_correctly_signed() {
    let server = Server::builder()
        .auth(AuthMode::Strict)
        .max_clock_skew(Duration::from_secs(60))
        .start()
        .await
        .unwrap();
    for offset in [-3600, -61, 61, 3600] {
        let mut req = Signed::get(&server, SWR_LIST);
        req.headers[4].1 = sdk_date(offset);
        assert_unauthorized(
            &req.send_as(&server, &req).await,
            "away from the server clock",
        );
    }
    let mut within = Signed::get(&server, SWR_LIST);
    within.headers[4].1 = sdk_date(-50);
    assert_eq!(within.send_as(&server, &within).await.status, 200);
    let mut garbled = Signed::get(&server, SWR_LIST);
    garbled.headers[4].1 = "2024-01-01T00:00:00Z".into();
    assert_unauthorized(&garbled.send_as(&server, &garbled).await, "X-Sdk-Date");
}

#[tokio::test]
async fn the_node_uri_form_is_accepted_too() {
    let server = Server::builder()
        .auth(AuthMode::Strict)
        .default_fixture()
        .fixture_json("slash.json", r#"{"swr":{"namespaces":[{"name":"namespace","repositories":[{"name":"group/app","tags":[{"tag":"t"}]}]}]}}"#)
        .start()
        .await
        .unwrap();
    for form in [UriForm::Python, UriForm::Node] {
        let mut req = Signed::get(
            &server,
            "/v3/manage/namespaces/namespace/repos/group%24app/tags",
        );
        req.form = form;
        let a = req.send_as(&server, &req).await;
        assert_eq!(a.status, 200, "{form:?}: {}", a.body);
    }
}

#[tokio::test]
async fn strict_tokens_see_their_own_tenant_and_get_403_on_the_other() {
    let server = spawn_mode(AuthMode::Strict).await;
    let call = |token: &'static str, path: String| {
        let request = reqwest::Client::new()
            .get(format!("{}{path}", server.uri()))
            .header("x-auth-token", token);
        answer(request)
    };
    assert_eq!(
        call("TOKENTEST", format!("/v2/{PROJECT}/images/tags"))
            .await
            .status,
        200
    );
    assert_eq!(call("TOKENTEST", SWR_LIST.into()).await.status, 200);
    let ims = call("TOKENTEST", format!("/v2/{OTHER_PROJECT}/images/tags")).await;
    assert_eq!(ims.status, 400, "{}", ims.body);
    assert_eq!(ims.body["error"]["code"], "IMG.0030");
    let swr = call(
        "TOKENTEST",
        "/v3/manage/namespaces/othernamespace/repos/nginx/tags".into(),
    )
    .await;
    assert_swr_error(&swr, 403, "SVCSTG.SWR.4030170");
    let other = call(
        "TOKENOTHER",
        "/v3/manage/namespaces/othernamespace/repos/nginx/tags".into(),
    )
    .await;
    assert_eq!(other.status, 200);
    assert_eq!(other.body["tags"][0]["tag"], "1.25");
    assert_eq!(
        call("TOKENOTHER", format!("/v2/{OTHER_PROJECT}/images/tags"))
            .await
            .body["tags"][0]["key"],
        "owner"
    );
    assert_eq!(call("TOKENOTHER", SWR_LIST.into()).await.status, 403);
    assert_unauthorized(
        &call("TOKENNOBODY", SWR_LIST.into()).await,
        "decrypt token fail",
    );
    let unknown_ns = call(
        "TOKENTEST",
        "/v2/manage/namespaces/nosuchns/repos/r/tags".into(),
    )
    .await;
    assert_swr_error(&unknown_ns, 404, "SVCSTG.SWR.4040058");
}

#[tokio::test]
async fn strict_signatures_are_scoped_like_tokens() {
    let server = spawn_mode(AuthMode::Strict).await;
    let mut req = Signed::get(&server, &format!("/v2/{OTHER_PROJECT}/images/tags"));
    assert_eq!(req.send_as(&server, &req).await.status, 400, "IMG.0030");
    req.access = "AKOTHER".into();
    req.secret = "SKOTHER".into();
    assert_eq!(req.send_as(&server, &req).await.status, 200);
}

#[tokio::test]
async fn lenient_mode_needs_some_well_formed_credential_but_verifies_nothing() {
    let server = spawn_mode(AuthMode::Lenient).await;
    let url = format!("{}{SWR_LIST}", server.uri());
    let bare = answer(reqwest::Client::new().get(&url)).await;
    assert_unauthorized(&bare, "x-auth-token not found");
    let any_token = answer(
        reqwest::Client::new()
            .get(&url)
            .header("x-auth-token", "whatever"),
    )
    .await;
    assert_eq!(any_token.status, 200);
    let mut wrong = Signed::get(&server, SWR_LIST);
    wrong.secret = "not-the-secret".into();
    assert_eq!(
        wrong.send_as(&server, &wrong).await.status,
        200,
        "lenient does not verify"
    );
    let malformed = answer(
        reqwest::Client::new()
            .get(&url)
            .header("authorization", "SDK-HMAC-SHA256 Access=A"),
    )
    .await;
    assert_unauthorized(&malformed, "SignedHeaders");
    let undated = answer(
        reqwest::Client::new()
            .get(&url)
            .header("authorization", wrong.authorization()),
    )
    .await;
    assert_unauthorized(&undated, "X-Sdk-Date");
}

#[tokio::test]
async fn off_mode_accepts_anything_and_unknown_routes_and_admin_skip_auth() {
    let off = spawn_mode(AuthMode::Off).await;
    let bare = answer(reqwest::Client::new().get(format!("{}{SWR_LIST}", off.uri()))).await;
    assert_eq!(bare.status, 200);
    let strict = spawn_mode(AuthMode::Strict).await;
    let unknown = answer(reqwest::Client::new().get(format!("{}/nope", strict.uri()))).await;
    assert_eq!(unknown.status, 404, "unknown routes stay 404 under auth");
    let health = answer(reqwest::Client::new().get(format!("{}/_mock/health", strict.uri()))).await;
    assert_eq!(health.status, 200);
}

#[tokio::test]
async fn diagnostics_show_the_canonical_request_but_never_the_secret() {
    let plain = spawn_mode(AuthMode::Strict).await;
    let mut req = Signed::get(&plain, SWR_LIST);
    req.secret = "SKWRONG".into();
    let a = req.send_as(&plain, &req).await;
    assert!(a.body.get("diagnostics").is_none(), "off by default");

    let server = Server::builder()
        .auth(AuthMode::Strict)
        .auth_diagnostics(true)
        .start()
        .await
        .unwrap();
    let mut req = Signed::get(&server, &format!("{SWR_LIST}?limit=5"));
    req.secret = "SKWRONG".into();
    let a = req.send_as(&server, &req).await;
    assert_unauthorized(&a, "verify aksk signature fail");
    let d = &a.body["diagnostics"];
    let creq = d["canonical_request"].as_str().unwrap();
    assert!(
        creq.starts_with("GET\n/v2/manage/namespaces/namespace/repos/busybox/tags/\nlimit=5\n"),
        "{creq}"
    );
    assert!(creq.ends_with(signer::EMPTY_PAYLOAD_HASH));
    assert!(
        d["string_to_sign"]
            .as_str()
            .unwrap()
            .starts_with("SDK-HMAC-SHA256\n")
    );
    let text = a.body.to_string();
    let mut right = req.clone();
    right.secret = "SKTEST".into();
    let expected_signature = right.authorization().rsplit('=').next().unwrap().to_owned();
    assert!(
        !text.contains("SKTEST") && !text.contains(&expected_signature),
        "{text}"
    );
}

#[tokio::test]
async fn iam_discovery_answers_the_callers_project_for_a_region() {
    let server = spawn_mode(AuthMode::Strict).await;
    for (access, secret, project) in [
        ("AKTEST", "SKTEST", PROJECT),
        ("AKOTHER", "SKOTHER", OTHER_PROJECT),
    ] {
        let mut req = Signed::get(&server, "/v3/projects?name=cn-north-4");
        req.headers
            .retain(|(n, _)| n != "content-type" && n != "x-project-id");
        req.access = access.into();
        req.secret = secret.into();
        let a = req.send_as(&server, &req).await;
        assert_eq!(a.status, 200, "{}", a.body);
        let projects = a.body["projects"].as_array().unwrap();
        assert_eq!(projects.len(), 1, "{}", a.body);
        assert_eq!(projects[0]["id"], project);
        assert_eq!(projects[0]["name"], "cn-north-4");
    }
    let lenient = spawn_mode(AuthMode::Lenient).await;
    let a = get(&lenient, "/v3/projects?name=cn-north-4").await;
    assert_eq!(
        a.body["projects"][0]["id"], PROJECT,
        "TOKENTEST is tenant 1's token"
    );
    let stranger = answer(
        reqwest::Client::new()
            .get(format!("{}/v3/projects?name=x", lenient.uri()))
            .header("x-auth-token", "stranger"),
    )
    .await;
    assert_eq!(stranger.body["projects"], serde_json::json!([]));
}

/// Finding 9 of issue 14: a concrete `X-Sdk-Content-Sha256` must be the
/// body's SHA-256, or a captured signature could be replayed with any body.
#[tokio::test]
async fn a_concrete_payload_hash_must_match_the_body_or_the_signature_is_refused() {
    use sha2::Digest as _;
    let server = Server::builder()
        .auth(AuthMode::Strict)
        .auth_diagnostics(true)
        .start()
        .await
        .unwrap();
    let create = |destination: &str| {
        serde_json::json!({"source_tag": "latest", "destination_tag": destination, "override": false})
            .to_string()
            .into_bytes()
    };
    let mut signed = Signed::get(&server, SWR_LIST);
    signed.method = Method::POST;
    signed.body = create("captured");
    let hash = hex::encode(sha2::Sha256::digest(&signed.body));
    signed
        .headers
        .push(("x-sdk-content-sha256".into(), hash.clone()));
    let ok = signed.send_as(&server, &signed).await;
    assert_eq!(ok.status, 201, "the genuine request passes: {}", ok.body);

    // The same head and signature with another body: a replay.
    let mut replay = signed.clone();
    replay.body = create("replayed");
    let a = signed.send_as(&server, &replay).await;
    assert_unauthorized(&a, "verify aksk signature fail");
    assert!(
        a.body["error_msg"]
            .as_str()
            .unwrap()
            .contains("X-Sdk-Content-Sha256"),
        "{}",
        a.body
    );
    let d = &a.body["diagnostics"];
    assert_eq!(d["x_sdk_content_sha256"], hash, "{}", a.body);
    assert_eq!(
        d["body_sha256"],
        hex::encode(sha2::Sha256::digest(&replay.body)),
        "{}",
        a.body
    );
    let shown = get(&server, &format!("{SWR_LIST}/replayed")).await;
    assert_eq!(shown.status, 404, "the replayed write was not applied");

    // A concrete hash with an empty body is refused the same way.
    let mut empty = signed.clone();
    empty.method = Method::GET;
    empty.body = Vec::new();
    assert_unauthorized(
        &empty.send_as(&server, &empty).await,
        "X-Sdk-Content-Sha256",
    );
    // Upper-case hex of the right hash is the same hash.
    let mut upper = signed.clone();
    upper.body = create("upper");
    let upper_hash = hex::encode_upper(sha2::Sha256::digest(&upper.body));
    upper.headers.last_mut().unwrap().1 = upper_hash;
    assert_eq!(upper.send_as(&server, &upper).await.status, 201);

    // UNSIGNED-PAYLOAD keeps working, with a body and without one.
    let mut unsigned = signed.clone();
    unsigned.body = create("unsigned");
    unsigned.headers.last_mut().unwrap().1 = "UNSIGNED-PAYLOAD".into();
    let a = unsigned.send_as(&server, &unsigned).await;
    assert_eq!(a.status, 201, "{}", a.body);
    let mut unsigned_get = unsigned.clone();
    unsigned_get.method = Method::GET;
    unsigned_get.body = Vec::new();
    let a = unsigned_get.send_as(&server, &unsigned_get).await;
    assert_eq!(a.status, 200, "{}", a.body);
}

#[tokio::test]
async fn bodies_over_1_mib_get_413_in_strict_mode() {
    let server = spawn_mode(AuthMode::Strict).await;
    let mut req = Signed::get(&server, SWR_LIST);
    req.body = vec![b'x'; (1 << 20) + 1];
    let a = req.send_as(&server, &req).await;
    assert_swr_error(&a, 413, "SVCSTG.SWR.4131001");
}

#[tokio::test]
async fn tokens_secrets_and_signatures_never_reach_the_logs() {
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("stderr.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut process = start_logging(
        bin().args([
            "--port",
            "0",
            "--auth",
            "strict",
            "--auth-diagnostics",
            "--log-level",
            "trace",
        ]),
        log,
    );
    let uri = process.uri.clone();
    let client = reqwest::Client::new();
    let list_with = |token: &'static str| {
        client
            .get(format!("{uri}{SWR_LIST}"))
            .header("x-auth-token", token)
            .send()
    };
    let token = list_with("TOKENTEST").await.unwrap();
    assert_eq!(token.status(), 200);
    let bad_token = list_with("TOKENSECRETWRONG").await.unwrap();
    assert_eq!(bad_token.status(), 401);
    // Signed requests, right and wrong, against the real address.
    let addr: std::net::SocketAddr = uri.trim_start_matches("http://").parse().unwrap();
    let server = Server::builder()
        .bind("127.0.0.1:0".parse().unwrap())
        .start()
        .await
        .unwrap();
    let mut signed = Signed::get(&server, SWR_LIST);
    signed.headers[1].1 = addr.to_string();
    let good_auth = signed.authorization();
    let mut wrong = signed.clone();
    wrong.secret = "SKWRONG".into();
    let wrong_auth = wrong.authorization();
    for authorization in [&good_auth, &wrong_auth] {
        let mut request = client
            .get(format!("{uri}{SWR_LIST}"))
            .header("authorization", authorization.as_str());
        for (name, value) in &signed.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        request.send().await.unwrap();
    }
    process.terminate();
    let logs = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        logs.contains("AK/SK signature mismatch"),
        "the diagnostics debug line is there: {logs}"
    );
    for secret in ["TOKENTEST", "TOKENSECRETWRONG", "SKTEST", "SKWRONG"] {
        assert!(!logs.contains(secret), "{secret} leaked into the logs");
    }
    for authorization in [&good_auth, &wrong_auth] {
        let signature = authorization.rsplit('=').next().unwrap();
        assert!(
            !logs.contains(signature),
            "a signature leaked into the logs"
        );
    }
}

/// Every secret of the default fixture (each token and each SK).
fn default_fixture_secrets() -> Vec<String> {
    let doc: serde_json::Value =
        serde_json::from_str(include_str!("../../fixtures/default.json")).unwrap();
    let mut secrets = Vec::new();
    for domain in doc["iam"]["domains"].as_array().unwrap() {
        for key in domain["access_keys"].as_array().into_iter().flatten() {
            secrets.push(key["secret"].as_str().unwrap().to_owned());
        }
        for token in domain["tokens"].as_array().into_iter().flatten() {
            secrets.push(token["token"].as_str().unwrap().to_owned());
        }
    }
    assert!(secrets.len() >= 4, "{secrets:?}");
    secrets
}

/// Finding 10 of issue 14: at every log level and in both formats, with
/// diagnostics on, no token, SK, admin token or signature reaches the logs,
/// also when tokens are signed headers; and a 401's diagnostics do not echo
/// a token either.
#[tokio::test]
async fn no_secret_reaches_the_logs_at_any_level_in_either_format() {
    use sha2::Digest as _;
    const ADMIN: &str = "ADMINTOKEN-s3cr3t-0001";
    const SECURITY: &str = "SECURITYTOKEN-s3cr3t-0002";
    const WRONG_TOKEN: &str = "TOKENWRONG-s3cr3t-0003";
    let mut secrets = default_fixture_secrets();
    secrets.extend([ADMIN, SECURITY, WRONG_TOKEN, "SKWRONG"].map(String::from));
    let dir = tempfile::tempdir().unwrap();
    for format in ["text", "json"] {
        for level in ["error", "warn", "info", "debug", "trace"] {
            let log_path = dir.path().join(format!("{format}-{level}.log"));
            let mut process = start_logging(
                bin()
                    .args(["--port", "0", "--auth", "strict", "--auth-diagnostics"])
                    .args([
                        "--admin-token",
                        ADMIN,
                        "--log-format",
                        format,
                        "--log-level",
                        level,
                    ]),
                std::fs::File::create(&log_path).unwrap(),
            );
            let uri = process.uri.clone();
            let host = uri.trim_start_matches("http://").to_owned();
            let client = reqwest::Client::new();
            let mut sent_signatures = Vec::new();
            // Tokens, known and unknown.
            for token in ["TOKENTEST", "TOKENOTHER", WRONG_TOKEN] {
                client
                    .get(format!("{uri}{SWR_LIST}"))
                    .header("x-auth-token", token)
                    .header("x-security-token", SECURITY)
                    .send()
                    .await
                    .unwrap();
            }
            // Signatures with both keys, right and wrong, with the tokens
            // as signed headers.
            for (access, secret) in [
                ("AKTEST", "SKTEST"),
                ("AKOTHER", "SKOTHER"),
                ("AKTEST", "SKWRONG"),
                ("AKOTHER", "SKTEST"),
            ] {
                let mut signed = Signed::get_at(&host, SWR_LIST);
                signed.access = access.into();
                signed.secret = secret.into();
                signed
                    .headers
                    .push(("x-auth-token".into(), "TOKENTEST".into()));
                signed
                    .headers
                    .push(("x-security-token".into(), SECURITY.into()));
                let authorization = signed.authorization();
                sent_signatures.push(authorization.rsplit('=').next().unwrap().to_owned());
                let a = signed.send_to(&uri, &signed, authorization).await;
                if secret == "SKWRONG" {
                    assert_unauthorized(&a, "verify aksk signature fail");
                    let body = a.body.to_string();
                    let creq = a.body["diagnostics"]["canonical_request"].as_str().unwrap();
                    assert!(
                        creq.contains("\nx-auth-token:<redacted>\nx-security-token:<redacted>\n"),
                        "{creq}"
                    );
                    for secret in &secrets {
                        assert!(
                            !body.contains(secret.as_str()),
                            "the 401 echoes {secret}: {body}"
                        );
                    }
                }
            }
            // A payload hash that is not the body's, with diagnostics.
            let mut replay = Signed::get_at(&host, SWR_LIST);
            replay.method = Method::POST;
            replay.body = b"{}".to_vec();
            replay.headers.push((
                "x-sdk-content-sha256".into(),
                hex::encode(sha2::Sha256::digest(b"[]")),
            ));
            replay
                .headers
                .push(("x-auth-token".into(), "TOKENOTHER".into()));
            let authorization = replay.authorization();
            sent_signatures.push(authorization.rsplit('=').next().unwrap().to_owned());
            let a = replay.send_to(&uri, &replay, authorization).await;
            assert_eq!(a.status, 401, "{}", a.body);
            // The admin API, with the right and a wrong bearer token.
            for bearer in [ADMIN, WRONG_TOKEN] {
                client
                    .get(format!("{uri}/_mock/health"))
                    .bearer_auth(bearer)
                    .send()
                    .await
                    .unwrap();
            }
            process.terminate();
            let logs = std::fs::read_to_string(&log_path).unwrap();
            if level == "debug" || level == "trace" {
                assert!(
                    logs.contains("AK/SK signature mismatch"),
                    "{format} {level}: the diagnostics line is there: {logs}"
                );
            }
            for secret in secrets.iter().chain(&sent_signatures) {
                assert!(
                    !logs.contains(secret.as_str()),
                    "{format} {level}: {secret} leaked into the logs: {}",
                    logs.lines()
                        .find(|l| l.contains(secret.as_str()))
                        .unwrap_or_default()
                );
            }
        }
    }
}

/// Every API operation of `openapi.json` answers 401 without credentials, in
/// strict and in lenient mode: no route escapes the gate (handlers are
/// wrapped one by one, so a forgotten wrapper would show here).
#[tokio::test]
async fn every_api_operation_requires_credentials() {
    let doc: serde_json::Value =
        serde_json::from_str(include_str!("../../openapi.json")).expect("openapi.json");
    let sample = |segment: &str| match segment {
        "{project_id}" => super::helpers::PROJECT.to_owned(),
        "{namespace}" => "namespace".to_owned(),
        "{repository}" => "busybox".to_owned(),
        "{tag}" => "latest".to_owned(),
        s if s.starts_with('{') => "x1".to_owned(),
        s => s.to_owned(),
    };
    let mut checked = 0;
    for mode in [AuthMode::Strict, AuthMode::Lenient] {
        let server = spawn_mode(mode).await;
        for (template, ops) in doc["paths"].as_object().expect("paths") {
            if template.starts_with("/_mock") {
                continue;
            }
            let path: Vec<String> = template.split('/').map(sample).collect();
            let url = format!("{}{}", server.uri(), path.join("/"));
            for method in ops.as_object().expect("operations").keys() {
                let Ok(method) = reqwest::Method::from_bytes(method.to_uppercase().as_bytes())
                else {
                    continue;
                };
                let a = answer(
                    reqwest::Client::new()
                        .request(method.clone(), &url)
                        .header("content-type", "application/json")
                        .body("{}"),
                )
                .await;
                assert_eq!(a.status, 401, "{mode:?} {method} {template}: {}", a.body);
                assert_eq!(a.body["error_code"], "APIGW.0301", "{method} {template}");
                checked += 1;
            }
        }
    }
    assert!(checked >= 2 * 18, "{checked} operations checked");
}
