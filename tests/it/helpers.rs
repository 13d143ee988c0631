//! Shared test setup: servers, fixtures and a JSON-speaking client; the
//! binary as a child process; small parsers of the answers several files check.
//!
//! A helper that two test files would otherwise each write goes here.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

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

/// Asserts an IMS error answer: status and `error.code`, with a request id.
#[track_caller]
pub fn assert_ims_error(a: &Answer, status: u16, code: &str) {
    assert_eq!(a.status.as_u16(), status, "{}", a.body);
    assert_eq!(a.body["error"]["code"], code, "{}", a.body);
    assert_request_id(a);
}

/// Asserts a 32-hex `X-Request-Id`.
#[track_caller]
pub fn assert_request_id(a: &Answer) {
    let id = a.header("x-request-id");
    assert_eq!(id.len(), 32, "{id}");
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
}

/// Sends `body` as the exact bytes given, labelled `content_type`, with
/// `X-Auth-Token: TOKENTEST`; `None` sends no body and no content type.
pub async fn send_body(
    server: &Server,
    method: reqwest::Method,
    path: &str,
    body: Option<(&str, String)>,
) -> Answer {
    let mut request = reqwest::Client::new()
        .request(method, format!("{}{path}", server.uri()))
        .header("x-auth-token", TOKEN);
    if let Some((content_type, body)) = body {
        request = request.header("content-type", content_type).body(body);
    }
    answer(request).await
}

/// The path of one image's tags in the seed project (`AddImageTag`, `ListImageTags`).
pub fn tags_path(image: &str) -> String {
    format!("/v2/{PROJECT}/images/{image}/tags")
}

/// The `(key, value)` pairs of an IMS `{"tags": [...]}` answer, in order.
pub fn tag_pairs(a: &Answer) -> Vec<(String, String)> {
    a.body["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["key"].as_str().unwrap().to_owned(),
                t["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// A server persisting to `path` (a database, or an old JSON state to migrate).
pub async fn persisting(path: &Path) -> Server {
    Server::builder()
        .persist(path, None)
        .start()
        .await
        .expect("server starts")
}

// ---------------------------------------------------------------------------
// The binary as a child process

/// The binary Cargo built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_ims-swr-mock");

/// The binary, without any `IMS_SWR_MOCK_*` variable of the test's environment.
pub fn bin() -> Command {
    let mut cmd = Command::new(BIN);
    for (key, _) in std::env::vars() {
        if key.starts_with("IMS_SWR_MOCK_") {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// A server process and its base URL, killed on drop.
pub struct Process {
    pub child: Child,
    pub uri: String,
}

impl Process {
    /// The port of the base URL.
    pub fn port(&self) -> &str {
        self.uri.rsplit(':').next().unwrap()
    }

    /// Sends SIGTERM (with `kill`) and waits for the exit: the logs are then complete.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().unwrap()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the binary, its stderr discarded, and waits (at most 10 s) for
/// its `Listening at` line.
pub fn start(cmd: &mut Command) -> Process {
    start_logging(cmd, Stdio::null())
}

/// [`start`], with the server's stderr (its logs) going to `stderr`.
pub fn start_logging(cmd: &mut Command, stderr: impl Into<Stdio>) -> Process {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("binary starts");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        if let Some(Ok(line)) = lines.next() {
            let _ = tx.send(line);
        }
        for _ in lines {} // keep the pipe drained
    });
    let line = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("a Listening line within 10 s");
    let uri = line
        .strip_prefix("Listening at ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    Process { child, uri }
}

/// Runs `cmd` to its end with piped output; a process still running after
/// 10 s (a server that accepted what it should refuse) is killed and fails.
pub fn exits_within_10_s(cmd: &mut Command) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "still running after 10 s (the setting was accepted): {}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// A port that was free a moment ago (the server is told it on its command line).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Sends `request` on `rt` and parses the answer as JSON (for the synchronous tests).
pub fn json_of(rt: &tokio::runtime::Runtime, request: reqwest::RequestBuilder) -> Value {
    rt.block_on(async { request.send().await.unwrap().json().await.unwrap() })
}

/// A current-thread runtime, for the synchronous tests that also call over HTTP.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}
