//! Raw-socket helpers for `tests/hostile.rs`: requests written byte for byte
//! (so nothing normalizes the URL or the framing), answers parsed by hand, and
//! assertions on each service's error envelope.
//!
//! Every read and write here is bounded in time: a server that hangs fails
//! the test instead of hanging it.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// The seed project of the default fixture.
pub const PROJECT: &str = "fd73a4a14a4a4dfb9771a8475e5198ea";
/// An image of the seed project.
pub const IMAGE: &str = "67e17426-359e-49fb-aa12-0bd1756ec240";
/// Tenant 1's token: passes lenient mode (any token does) and strict mode.
pub const TOKEN: &str = "TOKENTEST";
/// The default fixture's SWR list, v2.
pub const SWR_V2: &str = "/v2/manage/namespaces/namespace/repos/busybox/tags";
/// The default fixture's SWR list, v3.
pub const SWR_V3: &str = "/v3/manage/namespaces/namespace/repos/busybox/tags";
/// The longest any single answer may take in these tests.
pub const ANSWER_DEADLINE: Duration = Duration::from_secs(10);

/// Which envelope an error answer must be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Envelope {
    /// `{"error": {"code", "message"}}`.
    Ims,
    /// `{"error_code", "error_msg", "details", "errors"}`.
    Swr,
    /// `{"error_code", "error_msg", "request_id"}`.
    Gateway,
}

/// One HTTP/1.1 answer read off a raw socket.
#[derive(Debug)]
pub struct Raw {
    /// The status code.
    pub status: u16,
    /// Header names (lowercase) and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl Raw {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON; panics (naming the answer) when it is not.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{} answer is not JSON ({e}): {:?}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// Asserts a 32-hex-digit `X-Request-Id` and returns it.
    #[track_caller]
    pub fn request_id(&self) -> &str {
        let id = self
            .header("x-request-id")
            .unwrap_or_else(|| panic!("{} answer has no X-Request-Id: {self:?}", self.status));
        assert_eq!(id.len(), 32, "{id}");
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
        id
    }

    /// Asserts an error answer with `status` in `envelope`, with a JSON
    /// content type and a request id; returns the error code.
    #[track_caller]
    pub fn assert_error(&self, status: u16, envelope: Envelope) -> String {
        assert_eq!(
            self.status,
            status,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        self.assert_envelope(envelope)
    }

    /// Asserts the envelope (any 4xx), the content type and the request id;
    /// returns the error code.
    #[track_caller]
    pub fn assert_envelope(&self, envelope: Envelope) -> String {
        assert!(
            (400..500).contains(&self.status),
            "{}: {}",
            self.status,
            String::from_utf8_lossy(&self.body)
        );
        let id = self.request_id().to_owned();
        let ct = self.header("content-type").unwrap_or_default();
        assert!(ct.starts_with("application/json"), "content type {ct:?}");
        let body = self.json();
        let (code, message) = match envelope {
            Envelope::Ims => (&body["error"]["code"], &body["error"]["message"]),
            Envelope::Swr | Envelope::Gateway => (&body["error_code"], &body["error_msg"]),
        };
        let code = code
            .as_str()
            .unwrap_or_else(|| panic!("no error code in {body}"));
        assert!(
            !message.as_str().unwrap_or_default().is_empty(),
            "no message in {body}"
        );
        match envelope {
            Envelope::Ims => {}
            Envelope::Swr => {
                assert!(body["errors"].is_array(), "{body}");
                assert!(body["details"].is_array(), "{body}");
            }
            Envelope::Gateway => assert_eq!(body["request_id"], id.as_str(), "{body}"),
        }
        code.to_owned()
    }
}

/// A request head: `METHOD TARGET HTTP/1.1`, `Host`, the token,
/// `Connection: close`, then `extra` header lines (each ending in `\r\n`).
pub fn head(method: &str, target: &str, extra: &str) -> String {
    format!(
        "{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Auth-Token: {TOKEN}\r\nConnection: close\r\n{extra}\r\n"
    )
}

/// A whole request with a body and its `Content-Length`.
pub fn with_body(method: &str, target: &str, content_type: &str, body: &[u8]) -> Vec<u8> {
    let extra = format!(
        "Content-Type: {content_type}\r\nContent-Length: {}\r\n",
        body.len()
    );
    let mut out = head(method, target, &extra).into_bytes();
    out.extend_from_slice(body);
    out
}

/// Writes `request` on a new connection and reads the answer until the
/// server closes. `None` when the connection closed (or was reset) without
/// an answer. Panics after [`ANSWER_DEADLINE`].
pub async fn exchange(addr: SocketAddr, request: &[u8]) -> Option<Raw> {
    tokio::time::timeout(ANSWER_DEADLINE, async {
        let stream = TcpStream::connect(addr).await.expect("connect");
        let (mut reader, mut writer) = stream.into_split();
        let request = request.to_vec();
        // Write and read at once: a server that answers before it has read a
        // large body must not deadlock the test.
        let writing = tokio::spawn(async move {
            let _ = writer.write_all(&request).await;
            let _ = writer.flush().await;
            writer
        });
        let mut buf = Vec::new();
        let _ = reader.read_to_end(&mut buf).await;
        drop(writing.await);
        parse(&buf)
    })
    .await
    .unwrap_or_else(|_| panic!("no answer within {ANSWER_DEADLINE:?}"))
}

/// Parses one HTTP/1.1 answer; `None` when `bytes` holds no status line.
pub fn parse(bytes: &[u8]) -> Option<Raw> {
    let end = bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&bytes[..end]).expect("ASCII head");
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let rest = &bytes[end + 4..];
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let body = if chunked {
        dechunk(rest)
    } else {
        match headers.iter().find(|(n, _)| n == "content-length") {
            Some((_, len)) => {
                let len: usize = len.parse().expect("numeric Content-Length");
                rest[..len.min(rest.len())].to_vec()
            }
            None => rest.to_vec(),
        }
    };
    Some(Raw {
        status,
        headers,
        body,
    })
}

fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
        let size_text = std::str::from_utf8(&rest[..eol]).expect("chunk size");
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).expect("hex chunk size");
        if size == 0 {
            break;
        }
        let start = eol + 2;
        let end = (start + size).min(rest.len());
        body.extend_from_slice(&rest[start..end]);
        rest = rest.get(end + 2..).unwrap_or_default();
    }
    body
}
