//! What each fuzz target does with one input, shared by the cargo-fuzz
//! targets (`fuzz/fuzz_targets/*.rs`) and by `tests/fuzz_regressions.rs`,
//! which replays every saved input in plain `cargo test`.
//!
//! A function returns normally for an input that is handled correctly and
//! panics (which libFuzzer reports as a crash) for anything else: a panic in
//! the code under test, a 5xx, an answer without a JSON body or an
//! `X-Request-Id`, or a broken round trip.
//!
//! The router targets (`swr_query`, `v3_marker`) reach private parsers
//! (`ListQuery::merge_filter`, `decode_marker`) through a real server, started
//! once per process on `127.0.0.1:0` with the default fixture plus a
//! generated repository `fuzz/app` of 40 tags (so markers page).

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::sync::OnceLock;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ims_swr_mock::Server;
use ims_swr_mock::internals::signer::{self, Authorization, UriForm};
use ims_swr_mock::internals::{FixtureSource, SeedSettings, seed};
use ims_swr_mock::internals::{GenerateSpec, write_fixture};
use serde_json::Value;

/// What a target does with one input.
pub type Target = fn(&[u8]);

/// The fuzz targets, by name: the directory names under `fuzz/corpus/`.
pub const TARGETS: &[(&str, Target)] = &[
    ("fixture_load", fixture_load),
    ("authorization", authorization),
    ("swr_query", swr_query),
    ("v3_marker", v3_marker),
];

// ---------------------------------------------------------------------------
// Pure functions
// ---------------------------------------------------------------------------

/// The fixture loader on arbitrary text: never panics; a fixture that loads
/// exports to a document that loads again and exports identically.
pub fn fixture_load(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let settings = SeedSettings {
        registry_host: "swr.fuzz.example".into(),
    };
    let load = |text: String| {
        seed::load(
            &[FixtureSource::Json {
                name: "fuzz.json".into(),
                text,
            }],
            &settings,
        )
    };
    let Ok(store) = load(text.to_owned()) else {
        return;
    };
    let exported = store.export();
    // Exports leave secret keys out: the reload takes them from the store,
    // as `PUT /_mock/state` takes them from the server.
    let source = [FixtureSource::Json {
        name: "export.json".into(),
        text: exported.to_string(),
    }];
    let again = seed::load_with_secrets_of(&source, &settings, &store)
        .unwrap_or_else(|e| panic!("the export of a loaded fixture does not load: {e}"));
    assert_eq!(
        again.export(),
        exported,
        "export, load, export changed the data"
    );
}

/// `Authorization::parse` and the canonical-request functions: never panic;
/// a parsed header's parts come from the header; canonical URIs (the Python
/// form) and canonical queries are fixed points; a signature verifies.
///
/// The input is up to five lines: `Authorization` value, method, raw path,
/// raw query, body.
pub fn authorization(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.splitn(5, '\n');
    let mut next = || lines.next().unwrap_or_default();
    let (header, method, path, query, body) = (next(), next(), next(), next(), next());

    let names: Vec<&str> = match Authorization::parse(header) {
        Ok(auth) => {
            assert!(header.contains(auth.access), "{auth:?}");
            assert!(header.contains(auth.signed_headers), "{auth:?}");
            assert!(!auth.access.is_empty());
            assert_eq!(auth.signature.len(), 64);
            assert!(auth.signature.bytes().all(|b| b.is_ascii_hexdigit()));
            let names: Vec<&str> = auth.header_names().collect();
            assert!(
                names
                    .iter()
                    .all(|n| !n.is_empty() && !n.bytes().any(|b| b.is_ascii_uppercase())),
                "{names:?}"
            );
            names
        }
        Err(message) => {
            assert!(!message.is_empty());
            Vec::new()
        }
    };

    let python = signer::canonical_uri(path, UriForm::Python);
    let node = signer::canonical_uri(path, UriForm::Node);
    for uri in [&python, &node] {
        assert!(uri.ends_with('/'), "{uri:?}");
        assert!(
            uri.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.~/%".contains(&b)),
            "{uri:?}"
        );
    }
    assert_eq!(
        signer::canonical_uri(&python, UriForm::Python),
        python,
        "canonical URI of {path:?} is not a fixed point"
    );
    let canonical_query = signer::canonical_query(query);
    assert_eq!(
        signer::canonical_query(&canonical_query),
        canonical_query,
        "canonical query of {query:?} is not a fixed point"
    );

    let headers: Vec<(&str, &str)> = names.iter().map(|n| (*n, "value ")).collect();
    let payload = signer::payload_hash(body.as_bytes(), None);
    let request = signer::canonical_request(method, &python, &canonical_query, &headers, &payload);
    assert_eq!(
        request.matches('\n').count(),
        5 + headers.len(),
        "{request:?}"
    );
    let to_sign = signer::string_to_sign("20240101T000000Z", &request);
    let signature = signer::sign("SKFUZZ", &to_sign);
    assert!(signer::verify("SKFUZZ", &to_sign, &signature));
    assert!(!signer::verify("SKOTHER", &to_sign, &signature));
    let _ = signer::parse_sdk_date(header);
    let _ = signer::parse_sdk_date(method);
}

// ---------------------------------------------------------------------------
// Through the router
// ---------------------------------------------------------------------------

struct Running {
    _runtime: tokio::runtime::Runtime,
    server: Server,
}

/// The address of this process's server, started on first use.
pub fn server_address() -> SocketAddr {
    static SERVER: OnceLock<Running> = OnceLock::new();
    SERVER
        .get_or_init(|| {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("runtime");
            let spec = GenerateSpec {
                namespace: "fuzz".into(),
                repository: "app".into(),
                tags: 40,
                project: None,
                images: 0,
                tags_per_image: 0,
            };
            let mut generated = Vec::new();
            write_fixture(&spec, &mut generated).expect("generate");
            let generated = String::from_utf8(generated).expect("UTF-8");
            let server = runtime
                .block_on(
                    Server::builder()
                        .default_fixture()
                        .fixture_json("fuzz.json", generated)
                        .journal_size(0)
                        .start(),
                )
                .expect("server starts");
            Running {
                _runtime: runtime,
                server,
            }
        })
        .server
        .address()
}

/// One answer.
#[derive(Debug)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// The body parsed as JSON (`Null` when empty).
    pub body: Value,
}

/// Sends a GET for `target` (already a valid request target) and checks what
/// every answer of ours must be: no 5xx, a 32-hex `X-Request-Id`, a JSON
/// body, and an SWR envelope on SWR errors.
pub fn get(target: &str) -> Answer {
    let request = format!(
        "GET {target} HTTP/1.1\r\nHost: fuzz\r\nX-Auth-Token: TOKENTEST\r\nConnection: close\r\n\r\n"
    );
    let mut stream = TcpStream::connect(server_address()).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream.write_all(request.as_bytes()).expect("write");
    let mut bytes = Vec::new();
    stream
        .read_to_end(&mut bytes)
        .unwrap_or_else(|e| panic!("{target}: no answer: {e}"));
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("{target}: no answer head in {bytes:?}"));
    let head = String::from_utf8_lossy(&bytes[..end]);
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{target}: bad status line {head:?}"));
    let request_id = head.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("x-request-id")
            .then(|| value.trim().to_owned())
    });
    let body_bytes = &bytes[end + 4..];
    assert!(status < 500, "{target}: {status} {body_bytes:?}");
    let id = request_id
        .as_deref()
        .unwrap_or_else(|| panic!("{target}: {status} without X-Request-Id: {head}"));
    assert!(
        id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{id}"
    );
    let body = if body_bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(body_bytes).unwrap_or_else(|e| {
            panic!(
                "{target}: {status} body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(body_bytes)
            )
        })
    };
    if status >= 400 && target.starts_with("/v") {
        assert!(body["error_code"].is_string(), "{target}: {body}");
        assert!(body["error_msg"].is_string(), "{target}: {body}");
        assert!(body["errors"].is_array(), "{target}: {body}");
    }
    Answer { status, body }
}

/// Bytes allowed as they are in a request target (everything else is
/// percent-encoded, so hyper always accepts the line and our code runs).
/// `%` is kept raw, so malformed escapes reach our parsers too.
fn target_safe(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?%".contains(&b)
}

fn push_target_bytes(out: &mut String, bytes: &[u8]) {
    for &b in bytes {
        if target_safe(b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

const REPOS: [&str; 4] = [
    "/manage/namespaces/namespace/repos/busybox/tags",
    "/manage/namespaces/fuzz/repos/app/tags",
    "/manage/namespaces/fuzz/repos/nosuchrepo/tags",
    "/manage/namespaces/namespace/repos/group$app/tags",
];

/// The v2 and v3 list queries (`filter=` included). Byte 0 picks the version
/// (bit 0) and the repository (bits 1–2); the rest is the raw query string.
pub fn swr_query(data: &[u8]) {
    let Some((&pick, query)) = data.split_first() else {
        return;
    };
    let version = if pick & 1 == 0 { "/v2" } else { "/v3" };
    let mut target = format!("{version}{}?", REPOS[usize::from(pick >> 1) & 3]);
    push_target_bytes(&mut target, query);
    let answer = get(&target);
    if answer.status == 200 {
        match version {
            "/v2" => assert!(answer.body.is_array(), "{target}: {}", answer.body),
            _ => {
                assert!(answer.body["tags"].is_array(), "{target}: {}", answer.body);
                assert!(answer.body["has_more"].is_boolean(), "{target}");
            }
        }
    }
}

/// The v3 marker decoder. Byte 0: bit 0 sends the rest as it is (else it is
/// base64url-encoded first, so the fuzzer works on the decoded text, e.g.
/// `ud:1704067230:v0000030`); bits 1–2 pick the order; bit 3 the repository;
/// bits 4–5 a limit. A 200 must continue after the marker, never repeat it.
pub fn v3_marker(data: &[u8]) {
    let Some((&pick, marker)) = data.split_first() else {
        return;
    };
    let order = [
        "",
        "&order_type=asc",
        "&order_column=tag",
        "&order_column=tag&order_type=asc",
    ][usize::from(pick >> 1) & 3];
    let repo = REPOS[usize::from(pick >> 3) & 1];
    let limit = ["", "&limit=1", "&limit=3", "&limit=1000"][usize::from(pick >> 4) & 3];
    let mut target = format!("/v3{repo}?marker=");
    if pick & 1 == 1 {
        push_target_bytes(&mut target, marker);
    } else {
        target.push_str(&URL_SAFE_NO_PAD.encode(marker));
    }
    target.push_str(order);
    target.push_str(limit);
    let answer = get(&target);
    assert!(
        matches!(answer.status, 200 | 400),
        "{target}: {}",
        answer.status
    );
    if answer.status == 200 {
        let tags = answer.body["tags"].as_array().expect("tags");
        if let Some(next) = answer.body["nextMarker"].as_str() {
            assert!(!tags.is_empty(), "{target}: a next marker after no tags");
            assert_ne!(
                URL_SAFE_NO_PAD.encode(marker),
                next,
                "{target}: the next marker is the one sent"
            );
        }
    }
}
