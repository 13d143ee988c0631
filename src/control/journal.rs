//! The request journal: what clients actually sent, for tests to verify.
//!
//! It is a bounded ring (`--journal-size`, default 1000; 0 turns it off), so
//! memory stays flat under any load: the oldest entries drop out first.
//! Secrets are redacted before they are stored: tokens entirely, and the
//! signature part of an `Authorization` header.

use std::collections::{BTreeMap, VecDeque};
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use axum::body::HttpBody as _;
use axum::extract::{MatchedPath, Request};
use derive_setters::Setters;
use serde::Serialize;

use crate::control::faults::AppliedFault;
use crate::http::request_id::RequestId;

/// Default number of entries kept.
pub(crate) const DEFAULT_SIZE: usize = 1000;

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
pub(crate) const REDACTED: &str = "<redacted>";

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
    /// Request body size in bytes: the bytes read when the body was read
    /// (every API route reads it), else the declared `Content-Length`.
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
#[derive(Debug, Clone, Default, Setters)]
#[setters(strip_option)]
pub struct Filter {
    /// Only requests with this method (ignoring case).
    #[setters(into)]
    pub(crate) method: Option<String>,
    /// Path glob or route template (as in fault rules); set by [`Filter::path`].
    #[setters(skip)]
    pub(crate) path: Option<globset::GlobMatcher>,
    /// Only answers with this status.
    pub(crate) status: Option<u16>,
    /// Only entries after the one numbered `seq` ([`Entry::seq`]).
    pub(crate) since_seq: Option<u64>,
    /// Only entries at or after this time (epoch milliseconds).
    #[setters(skip)]
    pub(crate) since_ms: Option<i64>,
}

impl Filter {
    /// Every entry; narrow it with the methods below.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only requests whose path matches `pattern`: a glob (`*` within a
    /// segment, `**` across segments) or a route template such as
    /// `/v2/{project_id}/images/tags`, as in fault rules.
    ///
    /// # Errors
    /// The pattern's problem, when it is not a valid glob.
    pub fn path(mut self, pattern: &str) -> Result<Self, String> {
        self.path = Some(crate::control::faults::path_matcher(pattern)?);
        Ok(self)
    }
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
    entries: Mutex<VecDeque<Recording>>,
}

/// A recorded request in the compact form kept in the ring: the request's
/// text (method, path, query, kept header values, secrets already redacted)
/// in one string, and spans into it. [`Entry`] is built from it when the
/// journal is read, so recording costs two allocations.
#[derive(Debug)]
struct Record {
    seq: u64,
    at_ms: i64,
    text: String,
    method: Range<u32>,
    path: Range<u32>,
    query: Option<Range<u32>>,
    headers: [Option<Range<u32>>; KEPT_HEADERS.len()],
    body_size: u64,
    status: Option<u16>,
    abandoned: bool,
    latency_ms: f64,
    route: Option<MatchedPath>,
    fault: Option<AppliedFault>,
    request_id: RequestId,
}

impl Record {
    fn new(request: &Request, request_id: RequestId, at_ms: i64) -> Self {
        let mut text = String::with_capacity(256);
        // Offsets fit in u32: a request head is capped far below 4 GiB.
        let end = |text: &String| u32::try_from(text.len()).unwrap_or(u32::MAX);
        let mut push = |s: &str| {
            let start = end(&text);
            text.push_str(s);
            start..end(&text)
        };
        let method = push(request.method().as_str());
        let path = push(request.uri().path());
        let query = request.uri().query().map(&mut push);
        let mut headers: [Option<Range<u32>>; KEPT_HEADERS.len()] = Default::default();
        // One pass over the few headers sent, not a lookup per kept name;
        // the first value of a repeated header is kept, as `get` would.
        for (name, value) in request.headers() {
            let Some(index) = KEPT_HEADERS.iter().position(|k| *k == name.as_str()) else {
                continue;
            };
            let slot = &mut headers[index];
            if slot.is_some() {
                continue;
            }
            let value = value.to_str().unwrap_or("<not UTF-8>");
            *slot = Some(match KEPT_HEADERS[index] {
                "x-auth-token" | "x-security-token" => push(REDACTED),
                "authorization" => push(&redact_authorization(value)),
                _ => push(value),
            });
        }
        let body_size = request
            .headers()
            .get(axum::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse().ok())
            .or_else(|| request.body().size_hint().exact())
            .unwrap_or(0);
        Self {
            seq: 0,
            at_ms,
            text,
            method,
            path,
            query,
            headers,
            body_size,
            status: None,
            abandoned: false,
            latency_ms: 0.0,
            route: None,
            fault: None,
            request_id,
        }
    }

    fn span(&self, span: &Range<u32>) -> &str {
        self.text
            .get(span.start as usize..span.end as usize)
            .unwrap_or_default()
    }

    fn entry(&self) -> Entry {
        Entry {
            seq: self.seq,
            time: jiff::Timestamp::from_millisecond(self.at_ms)
                .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
                .unwrap_or_default(),
            method: self.span(&self.method).to_owned(),
            path: self.span(&self.path).to_owned(),
            query: self.query.as_ref().map(|q| self.span(q).to_owned()),
            headers: KEPT_HEADERS
                .iter()
                .zip(&self.headers)
                .filter_map(|(name, span)| {
                    Some(((*name).to_owned(), self.span(span.as_ref()?).to_owned()))
                })
                .collect(),
            body_size: self.body_size,
            status: self.status,
            abandoned: self.abandoned,
            latency_ms: self.latency_ms,
            route: self.route.as_ref().map(|r| r.as_str().to_owned()),
            fault: self.fault.clone(),
            request_id: self.request_id.as_str().to_owned(),
        }
    }
}

/// A request being recorded: opened by the front of the stack, which closes
/// it with the outcome, and noted on by the API routes' gate (the route
/// template, the fault applied). A request extension.
#[derive(Debug, Clone)]
pub(crate) struct Recording(Arc<Mutex<Record>>);

impl Recording {
    fn lock(&self) -> MutexGuard<'_, Record> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Notes the route template that matched.
    pub(crate) fn note_route(&self, route: &MatchedPath) {
        self.lock().route = Some(route.clone());
    }

    /// Notes the size of the body as read (see [`crate::http::body`]): what a
    /// chunked or HTTP/2 body really held, whatever its headers declared.
    pub(crate) fn note_body_size(&self, size: u64) {
        self.lock().body_size = size;
    }

    /// Notes the size of `request`'s body, read whole by
    /// [`crate::http::body::read`], in the journal entry it belongs to.
    pub(crate) fn note_body_of(request: &axum::extract::Request) {
        use axum::body::HttpBody as _;
        if let Some(recording) = request.extensions().get::<Recording>() {
            let body = request.body();
            let size = if body.is_end_stream() {
                0
            } else {
                body.size_hint().exact().unwrap_or(body.size_hint().lower())
            };
            recording.note_body_size(size);
        }
    }

    /// Notes the fault rule applied, as soon as it is decided (so even a
    /// request abandoned during a delay shows it).
    pub(crate) fn note_fault(&self, fault: AppliedFault) {
        self.lock().fault = Some(fault);
    }
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

    fn push(&self, recording: Recording) {
        recording.lock().seq = self.inner.next_seq.fetch_add(1, Ordering::Relaxed);
        let evicted = {
            let mut entries = self
                .inner
                .entries
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let evicted = if entries.len() == self.inner.capacity {
                entries.pop_front()
            } else {
                None
            };
            entries.push_back(recording);
            evicted
        };
        // Freed outside the lock.
        drop(evicted);
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
            .filter_map(|recording| {
                let e = recording.lock();
                let keep = filter
                    .method
                    .as_deref()
                    .is_none_or(|m| m.eq_ignore_ascii_case(e.span(&e.method)))
                    && filter
                        .path
                        .as_ref()
                        .is_none_or(|g| g.is_match(e.span(&e.path)))
                    && filter.status.is_none_or(|s| Some(s) == e.status)
                    && filter.since_seq.is_none_or(|s| e.seq > s)
                    && filter.since_ms.is_none_or(|s| e.at_ms >= s);
                keep.then(|| e.entry())
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

/// Keeps the algorithm, `Access` and `SignedHeaders`; hides the signature
/// (and anything that is not an SDK signature, such as a bearer token).
fn redact_authorization(value: &str) -> String {
    match value.split_once(" Signature=") {
        Some((head, _)) if value.starts_with("SDK-") => format!("{head} Signature={REDACTED}"),
        _ => REDACTED.to_owned(),
    }
}

/// A request being recorded by the front of the stack. If it is dropped
/// before [`Pending::finish`] (the client went away), the entry is recorded
/// as abandoned.
#[derive(Debug)]
pub(crate) struct Pending {
    journal: Journal,
    started: Instant,
    recording: Option<Recording>,
}

impl Pending {
    /// Opens an entry for `request` and adds its [`Recording`] to the
    /// request's extensions; `None` when the journal is off or the request is
    /// an admin one (`/_mock/…`: the journal shows what the code under test sent).
    /// `started` is when the request arrived (its latency is measured from then).
    pub(crate) fn open(
        journal: &Journal,
        request: &mut Request,
        request_id: RequestId,
        started: Instant,
    ) -> Option<Self> {
        if !journal.enabled() || crate::control::is_admin_path(request.uri().path()) {
            return None;
        }
        let at_ms = jiff::Timestamp::now().as_millisecond();
        let recording = Recording(Arc::new(Mutex::new(Record::new(
            request, request_id, at_ms,
        ))));
        request.extensions_mut().insert(recording.clone());
        Some(Self {
            journal: journal.clone(),
            started,
            recording: Some(recording),
        })
    }

    /// Records the answer's status.
    pub(crate) fn finish(mut self, status: u16) {
        self.close(Some(status), false);
    }

    fn close(&mut self, status: Option<u16>, abandoned: bool) {
        let Some(recording) = self.recording.take() else {
            return;
        };
        {
            let mut record = recording.lock();
            let broken = record
                .fault
                .as_ref()
                .is_some_and(|f| matches!(f.action, "reset" | "empty"));
            record.status = if broken { None } else { status };
            record.abandoned = abandoned;
            record.latency_ms = self.started.elapsed().as_secs_f64() * 1000.0;
        }
        self.journal.push(recording);
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        self.close(None, true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(path: &str, headers: &[(&str, &str)]) -> Request {
        let mut request = Request::builder().uri(path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.body(axum::body::Body::empty()).unwrap()
    }

    fn open(j: &Journal, path: &str) -> Option<Pending> {
        Pending::open(
            j,
            &mut request(path, &[]),
            RequestId::generate(),
            Instant::now(),
        )
    }

    fn record(j: &Journal, path: &str, status: u16) {
        open(j, path).unwrap().finish(status);
    }

    #[test]
    fn admin_requests_and_a_disabled_journal_record_nothing() {
        let j = Journal::new(10);
        assert!(open(&j, "/_mock/health").is_none());
        assert!(open(&j, "/_mockery").is_some());
        assert!(open(&Journal::new(0), "/x").is_none());
    }

    #[test]
    fn the_journal_is_bounded_and_keeps_the_newest() {
        let j = Journal::new(3);
        for i in 0..5 {
            record(&j, &format!("/{i}"), 200);
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
        let j = Journal::new(10);
        let mut r = request(
            "/p?q=1",
            &[
                ("x-auth-token", "TOKENTEST"),
                (
                    "authorization",
                    "SDK-HMAC-SHA256 Access=AK, SignedHeaders=host, Signature=abcd",
                ),
                ("cookie", "c"),
                ("content-type", "application/json"),
            ],
        );
        let id = RequestId::generate();
        let pending = Pending::open(&j, &mut r, id, Instant::now()).unwrap();
        drop(pending);
        let entry = j.requests(&Filter::default()).remove(0);
        assert!(entry.abandoned);
        assert_eq!(entry.status, None);
        assert_eq!((entry.method.as_str(), entry.path.as_str()), ("GET", "/p"));
        assert_eq!(entry.query.as_deref(), Some("q=1"));
        assert_eq!(entry.request_id, id.as_str());
        let kept = entry.headers;
        assert_eq!(kept["content-type"], "application/json");
        assert_eq!(kept["x-auth-token"], REDACTED);
        assert_eq!(
            kept["authorization"],
            "SDK-HMAC-SHA256 Access=AK, SignedHeaders=host, Signature=<redacted>"
        );
        assert!(!kept.contains_key("cookie"));
        assert_eq!(redact_authorization("Bearer secret"), REDACTED);
    }
}
