//! Graceful shutdown under load (reliability item 6), against the real binary.
//!
//! - `sigterm_finishes_in_flight_writes_and_persists_every_acknowledged_one`:
//!   100 writes in flight (each delayed 500 ms by a fault rule) when SIGTERM
//!   arrives all finish; requests arriving after it get a clean 503 in the SWR
//!   envelope; the process exits 0 within its grace period; restarted on the
//!   same `--persist` file, it holds every acknowledged (201) tag and none of
//!   the refused ones.
//! - `the_shutdown_deadline_cuts_slow_requests_cleanly_and_loses_nothing_acknowledged`:
//!   with `--shutdown-timeout 1` and writes delayed 3 s, the process exits
//!   about 1 s after SIGTERM, the slow requests see their connection closed
//!   (no answer, no hang), and every write acknowledged before is persisted.

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Http, Reply};
use reqwest::Method;
use serde_json::{Value, json};

const LIST: &str = "/v2/manage/namespaces/namespace/repos/busybox/tags";

/// A running `ims-swr-mock` process and its base URL.
struct Process {
    child: Child,
    uri: String,
}

impl Process {
    /// Starts the binary with `args` and waits for its `Listening at` line.
    fn start(args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ims-swr-mock"))
            .args(["--port", "0", "--log-level", "off"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the binary starts");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("a Listening at line within 30 s");
        let uri = line
            .trim()
            .strip_prefix("Listening at ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        Self { child, uri }
    }

    fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -TERM failed");
    }

    /// Waits up to `limit` for the process to exit; returns its exit code.
    async fn wait(&mut self, limit: Duration) -> Option<i32> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status.code();
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("the process did not exit within {limit:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn create_body(destination: &str) -> Value {
    json!({"source_tag": "latest", "destination_tag": destination})
}

/// The tag names the server at `http` holds in `namespace/busybox`.
async fn names(http: &Http) -> BTreeSet<String> {
    let reply = http
        .call(Method::GET, &format!("{LIST}?offset=0&limit=1000"), None)
        .await
        .expect("list");
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply
        .body
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| t["Tag"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Restarts on `state` and returns the persisted tag names.
async fn persisted(state: &Path) -> BTreeSet<String> {
    let mut again = Process::start(&["--persist", state.to_str().expect("utf-8 path")]);
    let found = names(&Http::new(again.uri.clone())).await;
    again.sigterm();
    assert_eq!(again.wait(Duration::from_secs(10)).await, Some(0));
    found
}

/// A clean "shutting down" 503: the SWR envelope and `Connection: close`.
fn assert_clean_503(reply: &Reply) {
    assert_eq!(reply.status, 503, "{}", reply.body);
    let code = reply.body["error_code"].as_str().unwrap_or_default();
    assert!(code.starts_with("SVCSTG.SWR."), "{}", reply.body);
    let msg = reply.body["error_msg"].as_str().unwrap_or_default();
    assert!(msg.contains("shutting down"), "{}", reply.body);
    assert_eq!(
        reply
            .headers
            .get("connection")
            .and_then(|v| v.to_str().ok()),
        Some("close")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_finishes_in_flight_writes_and_persists_every_acknowledged_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state.json");
    let mut server = Process::start(&[
        "--persist",
        state.to_str().expect("utf-8 path"),
        "--persist-interval",
        "0",
        "--shutdown-timeout",
        "5",
        "--fault",
        "POST /v2/manage/** delay_ms=500",
    ]);
    let http = Http::new(server.uri.clone());
    let fire = |prefix: &'static str, n: usize| {
        (0..n)
            .map(|i| {
                let http = http.clone();
                let name = format!("{prefix}{i}");
                tokio::spawn(async move {
                    let reply = http
                        .call(Method::POST, LIST, Some(&create_body(&name)))
                        .await;
                    (name, reply)
                })
            })
            .collect::<Vec<_>>()
    };
    let early = fire("early", 100);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let signalled = Instant::now();
    server.sigterm();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let late = fire("late", 20);

    let (mut acknowledged, mut refused) = (BTreeSet::new(), BTreeSet::new());
    for task in early {
        let (name, reply) = task.await.expect("task");
        match reply {
            Ok(r) if r.status == 201 => drop(acknowledged.insert(name)),
            // Only possible for a request that reached the server after SIGTERM.
            Ok(r) => {
                assert_clean_503(&r);
                refused.insert(name);
            }
            Err(e) => panic!("{name}: a connection error before the deadline: {e}"),
        }
    }
    for task in late {
        let (name, reply) = task.await.expect("task");
        let reply = reply.unwrap_or_else(|e| panic!("{name}: no answer while draining: {e}"));
        assert_clean_503(&reply);
        refused.insert(name);
    }
    let code = server.wait(Duration::from_secs(5 + 3)).await;
    let took = signalled.elapsed();
    eprintln!(
        "shutdown: {} acknowledged, {} refused with 503, exit {code:?} {:.2} s after SIGTERM",
        acknowledged.len(),
        refused.len(),
        took.as_secs_f64()
    );
    assert_eq!(code, Some(0), "exit status");
    assert!(
        acknowledged.len() >= 90,
        "the writes in flight at SIGTERM should finish"
    );

    let kept = persisted(&state).await;
    let lost: Vec<&String> = acknowledged.difference(&kept).collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    let applied: Vec<&String> = refused.intersection(&kept).collect();
    assert!(
        applied.is_empty(),
        "refused with 503 but applied: {applied:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_shutdown_deadline_cuts_slow_requests_cleanly_and_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state.json");
    let mut server = Process::start(&[
        "--persist",
        state.to_str().expect("utf-8 path"),
        "--persist-interval",
        "0",
        "--shutdown-timeout",
        "1",
        "--fault",
        "POST /v2/manage/** delay_ms=3000 headers.x-slow=1",
    ]);
    let http = Http::new(server.uri.clone());
    let mut acknowledged = BTreeSet::new();
    for i in 0..20 {
        let name = format!("fast{i}");
        let reply = http
            .call(Method::POST, LIST, Some(&create_body(&name)))
            .await
            .expect("fast write");
        assert_eq!(reply.status, 201, "{}", reply.body);
        acknowledged.insert(name);
    }
    let slow_client = reqwest::Client::new();
    let slow: Vec<_> = (0..30)
        .map(|i| {
            let request = slow_client
                .post(format!("{}{LIST}", server.uri))
                .header("x-auth-token", common::TOKEN)
                .header("x-slow", "1")
                .json(&create_body(&format!("slow{i}")));
            tokio::spawn(async move {
                let started = Instant::now();
                let outcome = match request.send().await {
                    Ok(response) => Ok(response.status().as_u16()),
                    Err(e) => Err(e.to_string()),
                };
                (outcome, started.elapsed())
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let signalled = Instant::now();
    server.sigterm();
    let code = server.wait(Duration::from_secs(1 + 4)).await;
    let took = signalled.elapsed();
    for task in slow {
        let (outcome, waited) = task.await.expect("task");
        // Cut at the deadline: the connection closes without an answer (a
        // 201 is impossible: the fault holds each request for 3 s).
        assert!(outcome.is_err(), "a slow request got {outcome:?}");
        assert!(waited < Duration::from_secs(3), "a cut request hung");
    }
    eprintln!(
        "shutdown deadline: 30 slow requests cut, exit {code:?} {:.2} s after SIGTERM",
        took.as_secs_f64()
    );
    assert_eq!(code, Some(0), "exit status");
    assert!(
        took < Duration::from_millis(2500),
        "exit {took:?} after SIGTERM"
    );
    let kept = persisted(&state).await;
    let lost: Vec<&String> = acknowledged.difference(&kept).collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    // The fault delays before the handler, so no cut write was applied.
    assert!(
        kept.iter().all(|n| !n.starts_with("slow")),
        "a cut write was applied: {kept:?}"
    );
}

/// Issue 14: the shutdown deadline holds with stalled HTTP/2 clients. One
/// stream asks for a 4 MB answer and never reads it (its flow-control window
/// stays shut), another never finishes its request body, a third connection
/// sits idle after the preface: the process still exits 0 about
/// `--shutdown-timeout` after SIGTERM.
#[tokio::test]
async fn the_shutdown_deadline_holds_with_stalled_http2_clients() {
    stalled_http2(true).await;
}

/// The same without a request in flight: shutdown then waits for the
/// connections to close gracefully, and the unread answer never lets one.
#[tokio::test]
async fn the_shutdown_deadline_holds_with_an_unread_http2_answer_alone() {
    stalled_http2(false).await;
}

async fn stalled_http2(open_body: bool) {
    let dir = tempfile::tempdir().expect("tempdir");
    let fixture = dir.path().join("big.json");
    let generated = Command::new(env!("CARGO_BIN_EXE_ims-swr-mock"))
        .args([
            "generate-fixture",
            "--namespace",
            "ns",
            "--repository",
            "app",
        ])
        .args(["--tags", "3000"])
        .output()
        .expect("generate-fixture runs");
    std::fs::write(&fixture, &generated.stdout).expect("write the fixture");
    let mut server = Process::start(&[
        "--fixtures",
        fixture.to_str().expect("utf-8 path"),
        "--shutdown-timeout",
        "1",
        "--read-timeout",
        "30",
    ]);
    let addr = server
        .uri
        .trim_start_matches("http://")
        .parse::<std::net::SocketAddr>()
        .expect("address");
    let mut clients = Vec::new();
    for _ in 0..3 {
        let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let (client, connection) = h2::client::handshake(tcp).await.expect("h2");
        tokio::spawn(async move {
            let _ = connection.await;
        });
        clients.push(client);
    }
    let request = |method: &str, path: &str| {
        axum::http::Request::builder()
            .method(method)
            .uri(format!("http://{addr}{path}"))
            .header("x-auth-token", common::TOKEN)
            .body(())
            .unwrap()
    };
    // Never read: the answer's window is never released.
    let big = "/v3/manage/namespaces/ns/repos/app/tags?limit=1000&with_manifest=true";
    let mut stalled = clients[0].clone().ready().await.expect("ready");
    let (unread, _) = stalled
        .send_request(request("GET", big), true)
        .expect("send");
    let unread = unread.await.expect("the answer's head arrives");
    assert_eq!(unread.status(), 200);
    // Never finish the body.
    let mut open = clients[1].clone().ready().await.expect("ready");
    let (_pending, mut body) = open
        .send_request(request("POST", LIST), !open_body)
        .expect("send");
    if open_body {
        body.send_data(bytes::Bytes::from_static(b"{"), false)
            .expect("data");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    let signalled = Instant::now();
    server.sigterm();
    let code = server.wait(Duration::from_secs(1 + 5)).await;
    let took = signalled.elapsed();
    eprintln!(
        "stalled HTTP/2 clients: exit {code:?} {:.2} s after SIGTERM",
        took.as_secs_f64()
    );
    assert_eq!(code, Some(0), "exit status");
    assert!(
        took < Duration::from_millis(2500),
        "exit {took:?} after SIGTERM"
    );
    drop((unread, body, clients));
}
