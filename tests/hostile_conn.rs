//! Hostile connections and bodies (issue 14, round 2): one body limit and
//! one read deadline on every door (API and admin, HTTP/1.1 and HTTP/2),
//! silent, slow and stalled connections cut after `--read-timeout`, the
//! connection cap, TLS, and HTTP/2 framing abuse.
//!
//! Servers bind `127.0.0.1:0`; every loop is bounded in count and time, and
//! every wait has a deadline, so a server that hangs fails a test instead of
//! hanging it.

mod hostile_support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::http::{Method, Request};
use bytes::Bytes;
use hostile_support::{Envelope, IMAGE, PROJECT, SWR_V2, SWR_V3, TOKEN, exchange, head, with_body};
use ims_swr_mock::Server;
use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// The API body limit (1 MiB).
const MAX_BODY: usize = ims_swr_mock::internals::MAX_BODY;

/// A server that cuts slow and silent clients after one second.
async fn impatient() -> Server {
    Server::builder()
        .read_timeout(Duration::from_secs(1))
        .start()
        .await
        .expect("server starts")
}

fn ims_tags() -> String {
    format!("/v2/{PROJECT}/images/{IMAGE}/tags")
}

/// A valid IMS `AddImageTag` body for key `key`, padded with whitespace to
/// `len` bytes: a write that would be applied if the limit were skipped.
fn padded_tag(key: &str, len: usize) -> Vec<u8> {
    let mut body = format!(r#"{{"tag":{{"key":"{key}","value":"v"}}}}"#).into_bytes();
    body.resize(len, b' ');
    body
}

// ---------------------------------------------------------------------------
// A minimal HTTP/2 client (prior knowledge, h2c)
// ---------------------------------------------------------------------------

/// An HTTP/2 connection to `addr`.
async fn h2(addr: SocketAddr) -> h2::client::SendRequest<Bytes> {
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let (client, connection) = h2::client::handshake(tcp).await.expect("h2 handshake");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

/// One HTTP/2 answer: status, `X-Request-Id`, body as JSON (Null if empty).
#[derive(Debug)]
struct H2Answer {
    status: u16,
    request_id: Option<String>,
    body: Value,
}

async fn h2_answer(response: h2::client::ResponseFuture) -> H2Answer {
    let response = response.await.expect("an HTTP/2 answer");
    let status = response.status().as_u16();
    let request_id = response
        .headers()
        .get("x-request-id")
        .map(|v| v.to_str().unwrap().to_owned());
    let mut body = response.into_body();
    let mut bytes = Vec::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk.expect("body chunk");
        let _ = body.flow_control().release_capacity(chunk.len());
        bytes.extend_from_slice(&chunk);
    }
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    H2Answer {
        status,
        request_id,
        body,
    }
}

/// Starts an HTTP/2 request without `content-length`; returns the answer
/// future and the body stream to write into.
async fn h2_start(
    client: &mut h2::client::SendRequest<Bytes>,
    method: Method,
    path: &str,
) -> (h2::client::ResponseFuture, h2::SendStream<Bytes>) {
    let request = Request::builder()
        .method(method)
        .uri(format!("http://127.0.0.1{path}"))
        .header("x-auth-token", TOKEN)
        .header("content-type", "application/json")
        .body(())
        .unwrap();
    let mut ready = client.clone().ready().await.expect("h2 ready");
    let (response, stream) = ready.send_request(request, false).expect("send");
    *client = ready;
    (response, stream)
}

#[track_caller]
fn assert_error(answer: &H2Answer, status: u16, envelope: Envelope) {
    assert_eq!(answer.status, status, "{answer:?}");
    assert!(answer.request_id.is_some(), "no X-Request-Id: {answer:?}");
    let body = &answer.body;
    match envelope {
        Envelope::Ims => assert!(body["error"]["code"].is_string(), "{answer:?}"),
        Envelope::Swr => assert!(body["error_code"].is_string(), "{answer:?}"),
        Envelope::Gateway => assert!(body["error_code"].is_string(), "{answer:?}"),
    }
}

async fn image_tag_keys(server: &Server) -> Vec<String> {
    let url = format!("{}/v2/{PROJECT}/images/tags", server.uri());
    let body: Value = reqwest::Client::new()
        .get(url)
        .header("x-auth-token", TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["key"].as_str().unwrap().to_owned())
        .collect()
}

// ---------------------------------------------------------------------------
// HTTP/2 bodies: the same limit and deadline as HTTP/1.1 (finding 6)
// ---------------------------------------------------------------------------

/// Finding 6: a streamed HTTP/2 body (no `content-length`) of 1.5 MB was
/// applied while HTTP/1.1 got 413.
#[tokio::test]
async fn a_streamed_h2_body_over_1_mib_is_413_and_not_applied() {
    let server = impatient().await;
    let mut client = h2(server.address()).await;
    let (response, mut body) = h2_start(&mut client, Method::POST, &ims_tags()).await;
    let payload = padded_tag("h2big", MAX_BODY * 3 / 2);
    for chunk in payload.chunks(16 * 1024) {
        if body
            .send_data(Bytes::copy_from_slice(chunk), false)
            .is_err()
        {
            break; // the server answered early and reset the stream
        }
    }
    let _ = body.send_data(Bytes::new(), true);
    let answer = tokio::time::timeout(Duration::from_secs(10), h2_answer(response))
        .await
        .expect("an answer within 10 s");
    assert_error(&answer, 413, Envelope::Ims);
    assert!(!image_tag_keys(&server).await.contains(&"h2big".to_owned()));
    // At the limit, the same write is applied.
    let (response, mut body) = h2_start(&mut client, Method::POST, &ims_tags()).await;
    body.send_data(padded_tag("h2ok", MAX_BODY).into(), true)
        .unwrap();
    let answer = h2_answer(response).await;
    assert!(answer.status < 300, "{answer:?}");
    assert!(image_tag_keys(&server).await.contains(&"h2ok".to_owned()));
    // The SWR door: the same limit, in the SWR envelope.
    let (response, mut body) = h2_start(&mut client, Method::POST, SWR_V2).await;
    for chunk in payload.chunks(16 * 1024) {
        if body
            .send_data(Bytes::copy_from_slice(chunk), false)
            .is_err()
        {
            break;
        }
    }
    let _ = body.send_data(Bytes::new(), true);
    assert_error(&h2_answer(response).await, 413, Envelope::Swr);
}

/// Finding 6: an HTTP/2 body trickled one byte every 0.5 s was never cut.
#[tokio::test]
async fn a_trickled_h2_body_is_408_after_the_read_timeout() {
    let server = impatient().await;
    let mut client = h2(server.address()).await;
    let (response, mut body) = h2_start(&mut client, Method::POST, &ims_tags()).await;
    let started = Instant::now();
    let drip = tokio::spawn(async move {
        for _ in 0..20 {
            if body.send_data(Bytes::from_static(b" "), false).is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });
    let answer = tokio::time::timeout(Duration::from_secs(8), h2_answer(response))
        .await
        .expect("the trickled body is cut within 8 s");
    let took = started.elapsed();
    drip.abort();
    assert_error(&answer, 408, Envelope::Ims);
    assert!(took < Duration::from_millis(2500), "cut after {took:?}");
}

// ---------------------------------------------------------------------------
// Admin bodies: a limit and the read deadline (finding 3, first half)
// ---------------------------------------------------------------------------

/// Finding 3: a trickled admin body was never cut (and admin bodies could be
/// 1 GiB).
#[tokio::test]
async fn a_trickled_admin_body_is_408_in_the_admin_envelope() {
    let server = impatient().await;
    let extra = "Content-Type: application/json\r\nContent-Length: 1000\r\n";
    let mut request = head("PUT", "/_mock/state", extra).into_bytes();
    request.extend_from_slice(b"{");
    let started = Instant::now();
    let raw = tokio::time::timeout(Duration::from_secs(8), exchange(server.address(), &request))
        .await
        .expect("the stalled admin body is cut within 8 s")
        .expect("an answer");
    let took = started.elapsed();
    let code = raw.assert_error(408, Envelope::Gateway);
    assert_eq!(code, "MOCK.0408");
    assert!(took < Duration::from_millis(2500), "cut after {took:?}");
}

#[tokio::test]
async fn an_admin_body_over_the_default_limit_is_413_at_once() {
    let server = impatient().await;
    let over = ims_swr_mock::internals::DEFAULT_MAX_ADMIN_BODY + 1;
    let extra = format!("Content-Type: application/json\r\nContent-Length: {over}\r\n");
    let mut request = head("PUT", "/_mock/state", &extra).into_bytes();
    request.extend_from_slice(b"{");
    let started = Instant::now();
    let raw = exchange(server.address(), &request)
        .await
        .expect("an answer");
    assert!(started.elapsed() < Duration::from_millis(500));
    let code = raw.assert_error(413, Envelope::Gateway);
    assert_eq!(code, "MOCK.0413");
}

// ---------------------------------------------------------------------------
// What is recorded is what happened
// ---------------------------------------------------------------------------

/// The journal's `body_size` of a chunked HTTP/1.1 body and of an HTTP/2
/// body (neither declares a length) is the number of bytes sent.
#[tokio::test]
async fn the_journal_records_the_real_size_of_chunked_and_h2_bodies() {
    let server = impatient().await;
    let body = padded_tag("chunked", 70_000);
    let extra = "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n";
    let mut request = head("POST", &ims_tags(), extra).into_bytes();
    for chunk in body.chunks(10_000) {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    let raw = exchange(server.address(), &request)
        .await
        .expect("an answer");
    assert!(raw.status < 300, "{raw:?}");

    let mut client = h2(server.address()).await;
    let (response, mut stream) = h2_start(&mut client, Method::POST, &ims_tags()).await;
    let h2_body = padded_tag("viah2", 50_001);
    for chunk in h2_body.chunks(7_000) {
        stream
            .send_data(Bytes::copy_from_slice(chunk), false)
            .unwrap();
    }
    stream.send_data(Bytes::new(), true).unwrap();
    assert!(h2_answer(response).await.status < 300);

    let sizes: Vec<u64> = server
        .journal()
        .requests(&Default::default())
        .iter()
        .filter(|e| e.method == "POST")
        .map(|e| e.body_size)
        .collect();
    assert_eq!(sizes, [70_000, 50_001]);
}

/// The admin limit holds for bodies that declare no length (chunked, and
/// HTTP/2), and a configured limit is the one applied; the default state's
/// export goes back in.
#[tokio::test]
async fn a_configured_admin_limit_holds_for_chunked_and_h2_bodies() {
    let server = Server::builder()
        .read_timeout(Duration::from_secs(2))
        .max_admin_body_bytes(100_000)
        .start()
        .await
        .unwrap();
    let export = serde_json::to_vec(&server.export_state()).unwrap();
    assert!(export.len() < 100_000, "{}", export.len());
    let extra = "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n";
    let mut request = head("PUT", "/_mock/state", extra).into_bytes();
    let mut big = export.clone();
    big.resize(150_000, b' ');
    for chunk in big.chunks(30_000) {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    let raw = exchange(server.address(), &request)
        .await
        .expect("an answer");
    assert_eq!(raw.assert_error(413, Envelope::Gateway), "MOCK.0413");

    let mut client = h2(server.address()).await;
    let (response, mut stream) = h2_start(&mut client, Method::PUT, "/_mock/state").await;
    for chunk in big.chunks(16_384) {
        if stream
            .send_data(Bytes::copy_from_slice(chunk), false)
            .is_err()
        {
            break;
        }
    }
    let _ = stream.send_data(Bytes::new(), true);
    let answer = h2_answer(response).await;
    assert_error(&answer, 413, Envelope::Gateway);
    assert_eq!(answer.body["error_code"], "MOCK.0413");

    let request = with_body("PUT", "/_mock/state", "application/json", &export);
    let raw = exchange(server.address(), &request)
        .await
        .expect("an answer");
    assert_eq!(raw.status, 200, "{raw:?}");
    let (response, mut stream) = h2_start(&mut client, Method::PUT, "/_mock/state").await;
    stream.send_data(export.into(), true).unwrap();
    let answer = h2_answer(response).await;
    assert_eq!(answer.status, 200, "{answer:?}");
}

// ---------------------------------------------------------------------------
// Silent, idle and stalled connections (finding 2)
// ---------------------------------------------------------------------------

/// Waits up to `limit` for the server to close `stream` (EOF or reset);
/// returns how long it took from `since`, or `None` if it stayed open.
async fn closed_within<S: tokio::io::AsyncRead + Unpin>(
    stream: &mut S,
    since: Instant,
    limit: Duration,
) -> Option<Duration> {
    let mut buf = [0u8; 4096];
    let deadline = since + limit;
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(since.elapsed()),
            Ok(Ok(_)) => {} // an answer or a frame: keep reading
        }
    }
}

/// Finding 2: a connection that sends nothing was held forever. With a 1 s
/// read timeout, each kind of silent connection is closed within 2.5 s:
/// before the first request, between keep-alive requests, and HTTP/2 after
/// its preface (with and without a finished request).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_connections_are_cut_after_the_read_timeout() {
    let server = impatient().await;
    let started = Instant::now();
    let mut silent = Vec::new();
    for _ in 0..20 {
        silent.push(TcpStream::connect(server.address()).await.unwrap());
    }
    let mut kept_alive = Vec::new();
    for _ in 0..10 {
        let mut stream = TcpStream::connect(server.address()).await.unwrap();
        let request = format!("GET {SWR_V3} HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {TOKEN}\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        kept_alive.push(stream);
    }
    // HTTP/2: the preface and SETTINGS by hand, then nothing.
    let mut h2_silent = Vec::new();
    for _ in 0..10 {
        let mut stream = TcpStream::connect(server.address()).await.unwrap();
        stream
            .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
            .await
            .unwrap();
        h2_silent.push(stream);
    }
    let mut worst = Duration::ZERO;
    for (kind, streams) in [
        ("silent", &mut silent),
        ("kept alive", &mut kept_alive),
        ("h2 after preface", &mut h2_silent),
    ] {
        for stream in streams.iter_mut() {
            let took = closed_within(stream, started, Duration::from_secs(4))
                .await
                .unwrap_or_else(|| panic!("a {kind} connection is still open after 4 s"));
            assert!(
                took >= Duration::from_millis(900),
                "{kind}: cut early, {took:?}"
            );
            worst = worst.max(took);
        }
    }
    eprintln!("40 silent connections (read timeout 1 s) closed within {worst:?}");
    assert!(worst < Duration::from_millis(2500), "{worst:?}");
}

/// An HTTP/2 connection whose client keeps it alive with nothing but
/// traffic of its own (a finished request, then silence) is cut too.
#[tokio::test]
async fn an_idle_h2_connection_after_a_request_is_cut() {
    let server = impatient().await;
    let tcp = TcpStream::connect(server.address()).await.unwrap();
    let (client, connection) = h2::client::handshake(tcp).await.unwrap();
    let driver = tokio::spawn(connection);
    let mut ready = client.ready().await.unwrap();
    let request = Request::builder()
        .uri(format!("http://127.0.0.1{SWR_V3}"))
        .header("x-auth-token", TOKEN)
        .body(())
        .unwrap();
    let (response, _) = ready.send_request(request, true).unwrap();
    assert_eq!(h2_answer(response).await.status, 200);
    let idle_from = Instant::now();
    let ended = tokio::time::timeout(Duration::from_secs(4), driver).await;
    assert!(
        ended.is_ok(),
        "the idle h2 connection is still open after 4 s"
    );
    let took = idle_from.elapsed();
    assert!(took < Duration::from_millis(2500), "{took:?}");
}

/// A client that asks for a large answer and never reads it is cut after
/// the read timeout: over HTTP/2 its flow-control window stays shut, so the
/// answer stalls; over HTTP/1.1 the connection is closed, not held.
#[tokio::test]
async fn a_client_that_never_reads_its_answer_is_cut() {
    let fixture = {
        let spec = ims_swr_mock::internals::GenerateSpec {
            namespace: "ns".into(),
            repository: "app".into(),
            tags: 3000,
            project: None,
            images: 0,
            tags_per_image: 0,
        };
        let mut out = Vec::new();
        ims_swr_mock::internals::write_fixture(&spec, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    };
    let server = Server::builder()
        .fixture_json("big.json", fixture)
        .read_timeout(Duration::from_secs(1))
        .start()
        .await
        .unwrap();
    let path = "/v3/manage/namespaces/ns/repos/app/tags?limit=1000&with_manifest=true";
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(server.address()).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {TOKEN}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(3000)).await;
    // Now read: the server has given up on the connection (the kernel's
    // buffers may have taken the whole answer; the connection is closed
    // either way, never held).
    let mut got = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(3), stream.read_to_end(&mut got)).await;
    assert!(read.is_ok(), "still open after 6 s");

    let tcp = TcpStream::connect(server.address()).await.unwrap();
    let (client, connection) = h2::client::handshake(tcp).await.unwrap();
    let driver = tokio::spawn(connection);
    let mut ready = client.ready().await.unwrap();
    let request = Request::builder()
        .uri(format!("http://127.0.0.1{path}"))
        .header("x-auth-token", TOKEN)
        .body(())
        .unwrap();
    let (response, _) = ready.send_request(request, true).unwrap();
    let unread = response.await.unwrap(); // the head only; the body is never read
    let ended = tokio::time::timeout(Duration::from_secs(4), driver).await;
    assert!(
        ended.is_ok(),
        "the stalled h2 connection is still open after 4 s"
    );
    drop(unread);
}

/// At the connection cap, a new client is still served: the longest-idle
/// connection makes room for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_connection_cap_a_new_client_is_still_served() {
    let server = Server::builder()
        .read_timeout(Duration::from_secs(30))
        .max_connections(32)
        .start()
        .await
        .unwrap();
    let mut idle = Vec::new();
    for _ in 0..64 {
        idle.push(TcpStream::connect(server.address()).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let client = reqwest::Client::new();
    for _ in 0..5 {
        let started = Instant::now();
        let response = tokio::time::timeout(
            Duration::from_secs(2),
            client
                .get(format!("{}{SWR_V3}", server.uri()))
                .header("x-auth-token", TOKEN)
                .send(),
        )
        .await
        .expect("served within 2 s at the cap")
        .unwrap();
        assert_eq!(response.status(), 200);
        assert!(started.elapsed() < Duration::from_secs(1));
    }
    let since = Instant::now();
    let mut closed = 0;
    for stream in &mut idle {
        if closed_within(stream, since, Duration::from_millis(50))
            .await
            .is_some()
        {
            closed += 1;
        }
    }
    assert!(
        closed >= 32,
        "only {closed} of 64 idle connections were closed"
    );
}

/// Finding 2: under a 256-descriptor limit, 300 silent connections made new
/// clients wait forever. The binary, started by `bash -c 'ulimit -n 256;
/// exec …'` with a 30 s read timeout (so the cut of silent connections does
/// not help), keeps serving new clients, and says so in its log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_a_256_descriptor_limit_300_silent_connections_do_not_stop_new_clients() {
    use std::io::{BufRead as _, BufReader};
    use std::process::{Command, Stdio};

    let binary = env!("CARGO_BIN_EXE_ims-swr-mock");
    let mut child = Command::new("bash")
        .args([
            "-c",
            "ulimit -n 256 && exec \"$0\" --port 0 --read-timeout 30 --log-level warn",
        ])
        .arg(binary)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bash starts");
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let _child = Kill(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let uri = line
        .trim()
        .strip_prefix("Listening at ")
        .expect("Listening at")
        .to_owned();
    let addr: SocketAddr = uri.trim_start_matches("http://").parse().unwrap();
    let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let sink = log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            sink.lock().unwrap().push_str(&line);
            sink.lock().unwrap().push('\n');
        }
    });

    let mut silent = Vec::new();
    for _ in 0..300 {
        match tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => silent.push(stream),
            _ => break,
        }
    }
    assert_eq!(silent.len(), 300, "the backlog took only {}", silent.len());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    for i in 0..5 {
        let started = Instant::now();
        let response = tokio::time::timeout(
            Duration::from_secs(3),
            client
                .get(format!("{uri}{SWR_V3}"))
                .header("x-auth-token", TOKEN)
                .send(),
        )
        .await
        .unwrap_or_else(|_| panic!("probe {i}: no answer within 3 s"))
        .unwrap();
        assert_eq!(response.status(), 200);
        eprintln!("probe {i} at the descriptor limit: {:?}", started.elapsed());
    }
    let log = log.lock().unwrap().clone();
    assert!(
        log.contains("connection cap"),
        "no log line about the cap:\n{log}"
    );
}

// ---------------------------------------------------------------------------
// TLS: the handshake has the read deadline, and silence after it is cut
// ---------------------------------------------------------------------------

async fn tls_server(dir: &std::path::Path) -> (Server, std::sync::Arc<rustls::ClientConfig>) {
    let pem = dir.join("ca.pem");
    let server = Server::builder()
        .read_timeout(Duration::from_secs(1))
        .tls(ims_swr_mock::TlsSource::SelfSigned(pem.clone()))
        .start()
        .await
        .unwrap();
    (server, client_config(&pem))
}

/// A TLS client configuration trusting the server certificate in `pem`.
fn client_config(pem: &std::path::Path) -> std::sync::Arc<rustls::ClientConfig> {
    use rustls_pki_types::pem::PemObject as _;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pki_types::CertificateDer::pem_file_iter(pem).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    std::sync::Arc::new(config)
}

/// A TLS client that never starts its handshake, and one that goes silent
/// after it, are both cut after the read timeout; a new client is served
/// meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_tls_connections_are_cut_before_and_after_the_handshake() {
    let dir = tempfile::tempdir().unwrap();
    let (server, config) = tls_server(dir.path()).await;
    let started = Instant::now();
    let mut before = Vec::new();
    for _ in 0..10 {
        before.push(TcpStream::connect(server.address()).await.unwrap());
    }
    let connector = tokio_rustls::TlsConnector::from(config);
    let mut after = Vec::new();
    for _ in 0..10 {
        let tcp = TcpStream::connect(server.address()).await.unwrap();
        let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
        after.push(connector.connect(name, tcp).await.expect("TLS handshake"));
    }
    let mut worst = Duration::ZERO;
    for stream in &mut before {
        let took = closed_within(stream, started, Duration::from_secs(4))
            .await
            .expect("a TCP connection without a handshake is still open after 4 s");
        worst = worst.max(took);
    }
    for stream in &mut after {
        let took = closed_within(stream, started, Duration::from_secs(4))
            .await
            .expect("a silent TLS connection is still open after 4 s");
        worst = worst.max(took);
    }
    eprintln!("20 silent TLS connections (read timeout 1 s) closed within {worst:?}");
    assert!(worst < Duration::from_millis(2500), "{worst:?}");
}

// ---------------------------------------------------------------------------
// HTTP/2 and HTTP/1.1 framing abuse: bounded, and the server keeps serving
// ---------------------------------------------------------------------------

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// A raw HTTP/2 frame.
fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut out = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// The preface and an empty SETTINGS frame.
fn h2_hello() -> Vec<u8> {
    let mut out = PREFACE.to_vec();
    out.extend(frame(4, 0, 0, &[]));
    out
}

/// A plain GET answered quickly by the server, as a health probe.
async fn assert_still_serving(server: &Server) {
    let started = Instant::now();
    let response = tokio::time::timeout(
        Duration::from_secs(2),
        reqwest::Client::new()
            .get(format!("{}{SWR_V3}", server.uri()))
            .header("x-auth-token", TOKEN)
            .send(),
    )
    .await
    .expect("a probe is answered within 2 s")
    .expect("probe");
    assert_eq!(response.status(), 200);
    assert!(started.elapsed() < Duration::from_secs(1));
}

/// Garbage after (or instead of) the preface, and frames over the size
/// limit, close the connection quickly; others are served meanwhile.
#[tokio::test]
async fn bad_h2_prefaces_and_oversized_frames_close_the_connection() {
    let server = impatient().await;
    let mut oversized_data = h2_hello();
    // A DATA frame header announcing 1 MiB (the limit is 16 KiB), then bytes.
    oversized_data.extend_from_slice(&frame(0, 0, 1, &[])[..9]);
    oversized_data[PREFACE.len() + 9..PREFACE.len() + 12].copy_from_slice(&[0x10, 0, 0]);
    oversized_data.extend(std::iter::repeat_n(b'x', 20_000));
    let mut huge_headers = h2_hello();
    // A HEADERS block of 200 KB across CONTINUATION frames (the head cap is 64 KiB).
    let block = vec![0u8; 16_000];
    huge_headers.extend(frame(1, 0, 1, &block));
    for _ in 0..12 {
        huge_headers.extend(frame(9, 0, 1, &block));
    }
    huge_headers.extend(frame(9, 4, 1, &[]));
    let cases: [(&str, Vec<u8>); 4] = [
        (
            "garbled preface",
            b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\ngarbage".to_vec(),
        ),
        (
            "preface then garbage",
            [h2_hello(), vec![0xff; 64]].concat(),
        ),
        ("oversized frame", oversized_data),
        ("oversized header block", huge_headers),
    ];
    for (name, bytes) in cases {
        let mut stream = TcpStream::connect(server.address()).await.unwrap();
        let _ = stream.write_all(&bytes).await;
        let since = Instant::now();
        let took = closed_within(&mut stream, since, Duration::from_secs(3))
            .await
            .unwrap_or_else(|| panic!("{name}: still open after 3 s"));
        assert!(
            took < Duration::from_millis(1500),
            "{name}: closed after {took:?}"
        );
        assert_still_serving(&server).await;
    }
}

/// A flood of streams opened and reset at once (the "rapid reset" attack)
/// is bounded: the server closes the connection (GOAWAY) or absorbs it, and
/// keeps serving others quickly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_h2_rapid_reset_flood_is_bounded() {
    let server = impatient().await;
    let mut stream = TcpStream::connect(server.address()).await.unwrap();
    stream.write_all(&h2_hello()).await.unwrap();
    // HPACK: :method GET, :scheme http, :path / (static table 2, 6, 4).
    let block = [0x82, 0x86, 0x84];
    let started = Instant::now();
    let mut sent = 0u32;
    for batch in 0..100u32 {
        let mut bytes = Vec::new();
        for i in 0..100u32 {
            let id = 1 + 2 * (batch * 100 + i);
            bytes.extend(frame(1, 0x5, id, &block));
            bytes.extend(frame(3, 0, id, &8u32.to_be_bytes()));
        }
        match tokio::time::timeout(Duration::from_secs(2), stream.write_all(&bytes)).await {
            Ok(Ok(())) => sent += 100,
            _ => break,
        }
    }
    let closed = closed_within(&mut stream, Instant::now(), Duration::from_secs(3)).await;
    eprintln!(
        "rapid reset: {sent} streams opened and reset in {:?}; connection closed: {}",
        started.elapsed(),
        closed.is_some()
    );
    assert!(closed.is_some(), "the flooding connection stays open");
    assert_still_serving(&server).await;
}

/// 1,000 concurrent streams on one connection (more than the 256 the server
/// allows at once): the client queues, every one is answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_h2_streams_on_one_connection_are_all_answered() {
    let server = impatient().await;
    // Windows wide enough for every answer at once: with the default 64 KiB
    // connection window, 1,000 answers arrive as many small DATA frames and
    // the h2 client itself gives up (ENHANCE_YOUR_CALM, its own guard).
    let tcp = TcpStream::connect(server.address()).await.unwrap();
    let (client, connection) = h2::client::Builder::new()
        .initial_connection_window_size(32 << 20)
        .initial_window_size(1 << 20)
        .handshake::<_, Bytes>(tcp)
        .await
        .unwrap();
    tokio::spawn(connection);
    let mut answers = Vec::new();
    for _ in 0..1000 {
        let mut client = client.clone();
        answers.push(tokio::spawn(async move {
            let mut ready = client.ready().await.ok()?;
            let request = Request::builder()
                .uri(format!("http://127.0.0.1{SWR_V3}"))
                .header("x-auth-token", TOKEN)
                .body(())
                .unwrap();
            let (response, _) = ready.send_request(request, true).ok()?;
            client = ready;
            drop(client);
            Some(h2_answer(response).await.status)
        }));
    }
    let started = Instant::now();
    let mut ok = 0;
    for answer in answers {
        let status = tokio::time::timeout(Duration::from_secs(20), answer)
            .await
            .expect("answered within 20 s")
            .unwrap();
        if status == Some(200) {
            ok += 1;
        }
    }
    eprintln!(
        "1000 concurrent h2 streams answered in {:?}",
        started.elapsed()
    );
    assert_eq!(ok, 1000);
}

/// 100 HTTP/1.1 requests pipelined in one write get 100 answers, in order.
#[tokio::test]
async fn pipelined_http1_requests_are_answered_in_order() {
    let server = impatient().await;
    let mut stream = TcpStream::connect(server.address()).await.unwrap();
    let mut requests = Vec::new();
    for i in 0..100 {
        let path = if i % 2 == 0 { SWR_V3 } else { "/nope" };
        requests.extend_from_slice(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {TOKEN}\r\n\r\n").as_bytes(),
        );
    }
    stream.write_all(&requests).await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 65536];
    let deadline = Instant::now() + Duration::from_secs(10);
    let count = |got: &[u8]| got.windows(9).filter(|w| w == b"HTTP/1.1 ").count();
    while count(&got) < 100 || !got.ends_with(b"}") {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => got.extend_from_slice(&buf[..n]),
            _ => break,
        }
    }
    let text = String::from_utf8_lossy(&got);
    let statuses: Vec<&str> = text
        .match_indices("HTTP/1.1 ")
        .map(|(i, _)| &text[i + 9..i + 12])
        .collect();
    assert_eq!(statuses.len(), 100);
    for (i, status) in statuses.iter().enumerate() {
        assert_eq!(
            *status,
            if i % 2 == 0 { "200" } else { "404" },
            "answer {i}"
        );
    }
}

/// TLS at the cap: a flood of connections that never handshake cannot lock
/// out a real client, and a TLS client trickling its body gets 408.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_at_the_connection_cap_and_a_trickled_tls_body() {
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("ca.pem");
    let server = Server::builder()
        .read_timeout(Duration::from_secs(1))
        .max_connections(16)
        .tls(ims_swr_mock::TlsSource::SelfSigned(pem.clone()))
        .start()
        .await
        .unwrap();
    let config = client_config(&pem);
    let mut flood = Vec::new();
    for _ in 0..48 {
        flood.push(TcpStream::connect(server.address()).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let connector = tokio_rustls::TlsConnector::from(config);
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    let started = Instant::now();
    let tcp = TcpStream::connect(server.address()).await.unwrap();
    let mut tls = tokio::time::timeout(Duration::from_secs(2), connector.connect(name, tcp))
        .await
        .expect("a handshake at the cap within 2 s")
        .expect("TLS handshake");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{",
        ims_tags()
    );
    tls.write_all(head.as_bytes()).await.unwrap();
    let since = Instant::now();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        if tls.write_all(b" ").await.is_err() {
            break;
        }
        if let Ok(Ok(n)) = tokio::time::timeout(Duration::from_millis(1), tls.read(&mut buf)).await
        {
            answer.extend_from_slice(&buf[..n]);
            if n == 0 || !answer.is_empty() {
                break;
            }
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(2), tls.read_to_end(&mut answer)).await;
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(
        since.elapsed() < Duration::from_millis(2500),
        "{:?}",
        since.elapsed()
    );
    drop(flood);
}

// ---------------------------------------------------------------------------
// Settings that cannot work are refused where they enter
// ---------------------------------------------------------------------------

/// `(exit code, stderr)` of the binary run by bash with `script` (`$0` is the binary).
fn run_binary(script: &str) -> (Option<i32>, String) {
    let output = std::process::Command::new("bash")
        .args(["-c", script])
        .arg(env!("CARGO_BIN_EXE_ims-swr-mock"))
        .stdin(std::process::Stdio::null())
        .output()
        .expect("bash runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_connection_cap_the_descriptor_limit_cannot_hold_is_refused_at_start() {
    let (code, stderr) =
        run_binary("ulimit -n 256 && exec timeout 10 \"$0\" --port 0 --max-connections 1000");
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("--max-connections 1000"), "{stderr}");
    assert!(stderr.contains("256"), "{stderr}");
}

#[test]
fn zero_connections_and_a_tiny_admin_body_limit_are_refused() {
    for args in ["--max-connections 0", "--max-admin-body-bytes 100"] {
        let (code, stderr) = run_binary(&format!("exec timeout 10 \"$0\" --port 0 {args}"));
        assert_eq!(code, Some(2), "{args}: {stderr}");
        let flag = args.split(' ').next().unwrap();
        assert!(stderr.contains(flag), "{args}: {stderr}");
    }
}

/// The default admin body limit admits the export of a 100,000-tag store
/// (the clarifications' bar: 33.7 MB under 64 MiB), which goes back in
/// through `PUT /_mock/state`. About 15 s in a debug build.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_admin_limit_admits_the_export_of_a_100000_tag_store() {
    let spec = ims_swr_mock::internals::GenerateSpec {
        namespace: "ns".into(),
        repository: "app".into(),
        tags: 100_000,
        project: Some("p1".into()),
        images: 1000,
        tags_per_image: 3,
    };
    let mut fixture = Vec::new();
    ims_swr_mock::internals::write_fixture(&spec, &mut fixture).unwrap();
    let server = Server::builder()
        .fixture_json("big.json", String::from_utf8(fixture).unwrap())
        .default_fixture()
        .start()
        .await
        .unwrap();
    let export = reqwest::get(format!("{}/_mock/state", server.uri()))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    eprintln!("export of a 100,000-tag store: {} bytes", export.len());
    assert!(export.len() > 20_000_000, "{}", export.len());
    assert!(export.len() < ims_swr_mock::internals::DEFAULT_MAX_ADMIN_BODY);
    // Only the reading is this test's business (the import's cost is the
    // benchmark's): the whole body is read and handed on, not refused.
    let response = reqwest::Client::new()
        .put(format!("{}/_mock/state", server.uri()))
        .header("content-type", "application/json")
        .body(export)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}
