//! Shared test setup: servers, fixtures and a JSON-speaking client.

use ims_swr_mock::Server;
use ims_swr_mock::internals::{GenerateSpec, write_fixture};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::Value;

/// The seed project of the default fixture (seed 001).
pub const PROJECT: &str = "fd73a4a14a4a4dfb9771a8475e5198ea";

/// A server on the embedded default fixture.
pub async fn spawn() -> Server {
    Server::builder().start().await.expect("server starts")
}

/// A server on one JSON fixture.
pub async fn spawn_json(json: &str) -> Server {
    Server::builder()
        .fixture_json("test.json", json)
        .start()
        .await
        .expect("server starts")
}

/// A generated fixture with `tags` tags in `namespace/repository`.
pub fn generated(namespace: &str, repository: &str, tags: usize) -> String {
    let spec = GenerateSpec {
        namespace: namespace.into(),
        repository: repository.into(),
        tags,
        project: None,
        images: 0,
        tags_per_image: 0,
    };
    let mut out = Vec::new();
    write_fixture(&spec, &mut out).expect("generate");
    String::from_utf8(out).expect("utf-8")
}

/// One answer: status, headers and the body parsed as JSON (`Null` if empty).
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header"))
            .to_str()
            .expect("ASCII header")
    }
}

/// GETs `path` (with query) on `server`.
pub async fn get(server: &Server, path_and_query: &str) -> Answer {
    send(server, reqwest::Method::GET, path_and_query).await
}

/// The token the helpers send: any token passes the default (lenient) mode,
/// and this one is tenant 1's in strict mode.
pub const TOKEN: &str = "TOKENTEST";

/// Sends a bodiless request with `X-Auth-Token: TOKENTEST`.
pub async fn send(server: &Server, method: reqwest::Method, path_and_query: &str) -> Answer {
    let url = format!("{}{path_and_query}", server.uri());
    let request = reqwest::Client::new()
        .request(method, &url)
        .header("x-auth-token", TOKEN);
    answer(request).await
}

/// Sends a prepared request and collects the answer.
pub async fn answer(request: reqwest::RequestBuilder) -> Answer {
    let response = request.send().await.unwrap_or_else(|e| panic!("{e}"));
    let url = response.url().to_string();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("body");
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("{url}: body is not JSON ({e}): {bytes:?}"))
    };
    Answer {
        status,
        headers,
        body,
    }
}

/// Asserts an SWR error answer and returns its message.
#[track_caller]
pub fn assert_swr_error(a: &Answer, status: u16, code: &str) -> String {
    assert_eq!(a.status.as_u16(), status, "{}", a.body);
    assert_eq!(a.body["error_code"], code, "{}", a.body);
    assert_eq!(a.body["errors"][0]["errorCode"], code, "{}", a.body);
    assert_request_id(a);
    let msg = a.body["error_msg"].as_str().expect("error_msg").to_owned();
    assert!(!msg.is_empty());
    msg
}

/// Asserts a 32-hex `X-Request-Id`.
#[track_caller]
pub fn assert_request_id(a: &Answer) {
    let id = a.header("x-request-id");
    assert_eq!(id.len(), 32, "{id}");
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
}
