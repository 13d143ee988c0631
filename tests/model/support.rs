//! What every property shares: the proptest config with a printed seed, the
//! case counters behind the summary line, a small seeded generator, the
//! runtime, and `call`, the HTTP request that fails the case on a 5xx.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::common::{Http, Reply};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use proptest::test_runner::{Config, RngSeed, TestCaseError};
use reqwest::Method;
use serde_json::Value;

/// A config with `cases` cases (unless `PROPTEST_CASES` is set), no failure
/// files, and a fixed seed that is printed, so any failure can be replayed.
pub(crate) fn config(name: &str, cases: u32) -> Config {
    let base = Config::default();
    let seed = match base.rng_seed {
        RngSeed::Fixed(seed) => seed,
        RngSeed::Random => {
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            splitmix(nanos as u64 ^ u64::from(std::process::id()))
        }
    };
    eprintln!(
        "{name}: PROPTEST_RNG_SEED={seed} (set it to replay these cases; PROPTEST_CASES to change their number)"
    );
    let cases = if std::env::var_os("PROPTEST_CASES").is_some() {
        base.cases
    } else {
        cases
    };
    if name == "model" {
        PLANNED.store(cases as usize, Ordering::SeqCst);
    }
    Config {
        cases,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(seed),
        max_shrink_time: 120_000,
        ..base
    }
}

/// Cases planned for the model property, and what ran so far (for the summary line).
pub(crate) static PLANNED: AtomicUsize = AtomicUsize::new(0);
pub(crate) static CASES: AtomicUsize = AtomicUsize::new(0);
pub(crate) static OPS: AtomicUsize = AtomicUsize::new(0);
/// HTTP requests made by the model property (not the paging ones).
pub(crate) static REQUESTS: AtomicUsize = AtomicUsize::new(0);

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A tiny deterministic generator for bulk data derived from one seed.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = splitmix(self.0);
        self.0
    }
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

pub(crate) fn parse_time(text: &Value) -> i64 {
    let text = text.as_str().unwrap_or_default();
    text.parse::<jiff::Timestamp>()
        .map_or(i64::MIN, jiff::Timestamp::as_second)
}

/// Sends one request; a transport error or a 5xx fails the case.
pub(crate) async fn call(
    http: &Http,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> Result<Reply, TestCaseError> {
    call_allowing(http, method, path, body, |_| false).await
}

/// [`call`], except that a 5xx for which `expected` holds is an answer.
pub(crate) async fn call_allowing(
    http: &Http,
    method: Method,
    path: &str,
    body: Option<&Value>,
    expected: impl Fn(&Reply) -> bool,
) -> Result<Reply, TestCaseError> {
    let reply = http
        .call(method.clone(), path, body)
        .await
        .map_err(|e| TestCaseError::fail(format!("{method} {path}: transport error {e}")))?;
    if reply.status >= 500 && !expected(&reply) {
        return Err(TestCaseError::fail(format!(
            "{method} {path}: {} {}",
            reply.status, reply.body
        )));
    }
    Ok(reply)
}

/// A reply's `Content-Range` header (empty when absent).
pub(crate) fn content_range(reply: &Reply) -> &str {
    reply
        .headers
        .get("content-range")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

pub(crate) fn enc(text: &str) -> String {
    utf8_percent_encode(text, NON_ALPHANUMERIC).to_string()
}
