//! The request journal: what clients actually sent, for tests to verify.
//!
//! It is a bounded ring (`--journal-size`, default 1000; 0 turns it off), so
//! memory stays flat under any load: the oldest entries drop out first.
//! Secrets are redacted before they are stored: tokens entirely, and the
//! signature part of an `Authorization` header.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use axum::body::HttpBody as _;
use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use serde::Serialize;

use crate::faults::middleware::AppliedFault;
use crate::request_id::RequestId;
use crate::state::AppState;

/// Default number of entries kept.
pub const DEFAULT_SIZE: usize = 1000;

/// Request headers kept in entries (others are dropped).
const KEPT_HEADERS: [&str; 10] = [
    "authorization",
    "content-type",
    "host",
    "user-agent",
    "x-auth-token",
    "x-domain-id",
    "x-project-id",
    "x-sdk-content-sha256",
    "x-sdk-date",
    "x-security-token",
];

/// What is shown instead of a secret.
pub const REDACTED: &str = "<redacted>";

/// One journal entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    /// Position in the journal since the server started (1, 2, …); use it as `since`.
    pub seq: u64,
    /// When the request arrived, RFC 3339 UTC with milliseconds (formatted
    /// when the journal is read, not on the request path).
    pub time: String,
    /// HTTP method.
    pub method: String,
    /// Path as received.
    pub path: String,
    /// Query string as received, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// Selected request headers, secrets redacted.
    pub headers: BTreeMap<String, String>,
    /// Request body size in bytes (from `Content-Length` or the body's exact size).
    pub body_size: u64,
    /// Response status; `null` when no answer was sent (a connection fault,
    /// or the client gave up first).
    pub status: Option<u16>,
    /// True when the client closed the connection before the answer.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub abandoned: bool,
    /// Time to produce the response head, in milliseconds.
    pub latency_ms: f64,
    /// The route template that matched, if one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    /// The fault rule applied, if one was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<AppliedFault>,
    /// The `X-Request-Id` the server answered with.
    pub request_id: String,
}

/// Filters of `GET /_mock/requests`.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Method, ignoring case.
    pub method: Option<String>,
    /// Path glob or route template (as in fault rules).
    pub path: Option<globset::GlobMatcher>,
    /// Exact status.
    pub status: Option<u16>,
    /// Only entries after this `seq`.
    pub since_seq: Option<u64>,
    /// Only entries at or after this time (epoch milliseconds).
    pub since_ms: Option<i64>,
}

/// The journal handle; clones share the entries.
#[derive(Debug, Clone)]
pub struct Journal {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    capacity: usize,
    next_seq: AtomicU64,
    entries: Mutex<VecDeque<Arc<(i64, Entry)>>>,
}

impl Journal {
    /// A journal keeping at most `capacity` entries (0: keep none).
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: Arc::new(Inner {
                capacity,
                next_seq: AtomicU64::new(1),
                entries: Mutex::new(VecDeque::with_capacity(capacity.min(4096))),
            }),
        }
    }

    /// Whether entries are kept at all.
    pub fn enabled(&self) -> bool {
        self.inner.capacity > 0
    }

    fn push(&self, at_ms: i64, mut entry: Entry) {
        entry.seq = self.inner.next_seq.fetch_add(1, Ordering::Relaxed);
        let mut entries = self
            .inner
            .entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if entries.len() == self.inner.capacity {
            entries.pop_front();
        }
        entries.push_back(Arc::new((at_ms, entry)));
    }

    /// Entries that pass `filter`, oldest first.
    pub fn requests(&self, filter: &Filter) -> Vec<Entry> {
        let entries: Vec<_> = self
            .inner
            .entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .cloned()
            .collect();
        entries
            .iter()
            .filter(|e| {
                let (at, e) = (&e.0, &e.1);
                filter
                    .method
                    .as_deref()
                    .is_none_or(|m| m.eq_ignore_ascii_case(&e.method))
                    && filter.path.as_ref().is_none_or(|g| g.is_match(&e.path))
                    && filter.status.is_none_or(|s| Some(s) == e.status)
                    && filter.since_seq.is_none_or(|s| e.seq > s)
                    && filter.since_ms.is_none_or(|s| *at >= s)
            })
            .map(|e| {
                let mut entry = e.1.clone();
                entry.time = jiff::Timestamp::from_millisecond(e.0)
                    .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
                    .unwrap_or_default();
                entry
            })
            .collect()
    }

    /// Forgets every entry (sequence numbers keep counting).
    pub fn clear(&self) {
        self.inner
            .entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

fn is_admin_path(path: &str) -> bool {
    path.strip_prefix(crate::admin::PREFIX)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Keeps the listed headers, redacting secrets.
fn kept_headers(headers: &HeaderMap) -> BTreeMap<String, String> {
    KEPT_HEADERS
        .iter()
        .filter_map(|name| {
            let value = headers.get(*name)?.to_str().unwrap_or("<not UTF-8>");
            let value = match *name {
                "x-auth-token" | "x-security-token" => REDACTED.to_owned(),
                "authorization" => redact_authorization(value),
                _ => value.to_owned(),
            };
            Some(((*name).to_owned(), value))
        })
        .collect()
}

/// Keeps the algorithm, `Access` and `SignedHeaders`; hides the signature
/// (and anything that is not an SDK signature, such as a bearer token).
fn redact_authorization(value: &str) -> String {
    match value.split_once(" Signature=") {
        Some((head, _)) if value.starts_with("SDK-") => format!("{head} Signature={REDACTED}"),
        _ => REDACTED.to_owned(),
    }
}

/// Request extension: where the fault layer notes the rule it applied, as
/// soon as it decides (so even a request abandoned during a delay shows it).
#[derive(Debug, Clone, Default)]
pub struct FaultSlot(Arc<Mutex<Option<AppliedFault>>>);

impl FaultSlot {
    /// Notes the applied fault.
    pub fn set(&self, fault: AppliedFault) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(fault);
    }

    fn take(&self) -> Option<AppliedFault> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

/// An entry being filled in. If the request future is dropped first (the
/// client went away), dropping this records the entry as abandoned.
struct Pending {
    journal: Journal,
    at_ms: i64,
    started: Instant,
    slot: FaultSlot,
    entry: Option<Entry>,
}

impl Pending {
    fn finish(mut self, status: Option<u16>) {
        if let Some(mut entry) = self.entry.take() {
            entry.fault = self.slot.take();
            let broken = entry
                .fault
                .as_ref()
                .is_some_and(|f| matches!(f.action, "reset" | "empty"));
            entry.status = if broken { None } else { status };
            entry.latency_ms = self.started.elapsed().as_secs_f64() * 1000.0;
            self.journal.push(self.at_ms, entry);
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Some(mut entry) = self.entry.take() {
            entry.fault = self.slot.take();
            entry.abandoned = true;
            entry.latency_ms = self.started.elapsed().as_secs_f64() * 1000.0;
            self.journal.push(self.at_ms, entry);
        }
    }
}

/// Middleware: records each API request and its outcome. Admin requests
/// (`/_mock/…`) are not recorded: the journal shows what the code under test sent.
pub async fn record(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let journal = &state.journal;
    if !journal.enabled() || is_admin_path(request.uri().path()) {
        return next.run(request).await;
    }
    let started = Instant::now();
    let at = jiff::Timestamp::now();
    let slot = FaultSlot::default();
    let entry = Entry {
        seq: 0,
        time: String::new(),
        method: request.method().to_string(),
        path: request.uri().path().to_owned(),
        query: request.uri().query().map(str::to_owned),
        headers: kept_headers(request.headers()),
        body_size: request
            .headers()
            .get(axum::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse().ok())
            .or_else(|| request.body().size_hint().exact())
            .unwrap_or(0),
        status: None,
        abandoned: false,
        latency_ms: 0.0,
        route: request
            .extensions()
            .get::<MatchedPath>()
            .map(|m| m.as_str().to_owned()),
        fault: None,
        request_id: request
            .extensions()
            .get::<RequestId>()
            .map(|id| id.as_str().to_owned())
            .unwrap_or_default(),
    };
    let pending = Pending {
        journal: journal.clone(),
        at_ms: at.as_millisecond(),
        started,
        slot: slot.clone(),
        entry: Some(entry),
    };
    let mut request = request;
    request.extensions_mut().insert(slot);
    let response = next.run(request).await;
    pending.finish(Some(response.status().as_u16()));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, status: u16) -> Entry {
        Entry {
            seq: 0,
            time: String::new(),
            method: "GET".into(),
            path: path.into(),
            query: None,
            headers: BTreeMap::new(),
            body_size: 0,
            status: Some(status),
            abandoned: false,
            latency_ms: 0.0,
            route: None,
            fault: None,
            request_id: String::new(),
        }
    }

    #[test]
    fn the_journal_is_bounded_and_keeps_the_newest() {
        let j = Journal::new(3);
        for i in 0..5 {
            j.push(i, entry(&format!("/{i}"), 200));
        }
        let paths: Vec<String> = j
            .requests(&Filter::default())
            .into_iter()
            .map(|e| e.path)
            .collect();
        assert_eq!(paths, ["/2", "/3", "/4"]);
        let since = Filter {
            since_seq: Some(4),
            ..Default::default()
        };
        assert_eq!(j.requests(&since).len(), 1);
        j.clear();
        assert!(j.requests(&Filter::default()).is_empty());
        let off = Journal::new(0);
        assert!(!off.enabled());
    }

    #[test]
    fn secrets_are_redacted() {
        let mut h = HeaderMap::new();
        h.insert("x-auth-token", "TOKENTEST".parse().unwrap());
        h.insert(
            "authorization",
            "SDK-HMAC-SHA256 Access=AK, SignedHeaders=host, Signature=abcd"
                .parse()
                .unwrap(),
        );
        h.insert("cookie", "c".parse().unwrap());
        let kept = kept_headers(&h);
        assert_eq!(kept["x-auth-token"], REDACTED);
        assert_eq!(
            kept["authorization"],
            "SDK-HMAC-SHA256 Access=AK, SignedHeaders=host, Signature=<redacted>"
        );
        assert!(!kept.contains_key("cookie"));
        assert_eq!(redact_authorization("Bearer secret"), REDACTED);
    }
}
