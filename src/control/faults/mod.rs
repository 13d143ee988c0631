//! Fault injection: rules that make chosen requests fail, slow down or break
//! the connection, reproducibly.
//!
//! A [`FaultRule`] is shaped like a wiremock-rs `Mock`: a matcher (method,
//! path template or glob, query and header conditions), an action (a status in
//! the service's own error envelope, a delay, or a connection fault) and
//! limits (`times`, `probability` with a `seed`, `priority`). One serde type
//! serves the admin API's JSON, fixture files' `faults` section, the
//! `--fault` flag (through [`FaultRule::parse_spec`]) and the Rust API.
//!
//! Rules are tried by ascending `priority` (default 5, as in WireMock), ties
//! in insertion order; the first that matches and fires wins. A rule that
//! matches but does not fire (its probability said no) lets later rules try.

pub(crate) mod middleware;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use derive_setters::Setters;
use globset::{GlobBuilder, GlobMatcher};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

/// What a rule did to a request (a response extension, read by the journal).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppliedFault {
    /// The rule's id.
    pub rule: u64,
    /// `status`, `reset`, `empty`, `malformed` or `delay`.
    pub action: &'static str,
    /// Injected delay in milliseconds, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
}

/// Statuses a rule may inject.
pub(crate) const ALLOWED_STATUSES: [u16; 8] = [400, 401, 403, 404, 409, 429, 500, 503];

/// Default `priority`: smaller runs first.
pub(crate) const DEFAULT_PRIORITY: i32 = 5;

/// A delay: fixed milliseconds, or a uniformly random number in `[min, max]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Delay {
    /// Always this many milliseconds.
    Fixed(u64),
    /// Between `min` and `max` milliseconds, drawn from the rule's seeded generator.
    Range([u64; 2]),
}

pub use crate::http::conn::ConnectionFault;

/// One fault rule. Its JSON is flat; every field but `path` is optional.
///
/// Build one with [`FaultRule::new`] and the setters named after the fields
/// (`delay` sets `delay_ms`); an `Option` field's setter takes the value itself.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Setters)]
#[serde(deny_unknown_fields)]
#[setters(strip_option)]
pub struct FaultRule {
    /// Assigned when the rule is added; ignored on input.
    #[setters(skip)]
    pub id: Option<u64>,
    /// HTTP method to match, or `*` for any (default).
    #[serde(default = "any_method")]
    #[setters(skip)]
    pub method: String,
    /// Path to match: a route template (`/v2/{project_id}/images/tags`) or a
    /// glob where `*` is one segment and `**` any number of segments.
    #[setters(skip)]
    pub path: String,
    /// Query parameters that must be present with exactly these values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[setters(skip)]
    pub query: BTreeMap<String, String>,
    /// Headers that must be present with exactly these values (names ignore case).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[setters(skip)]
    pub headers: BTreeMap<String, String>,
    /// Status to answer with, in the native envelope of the matched service.
    pub status: Option<u16>,
    /// Overrides the default error code.
    #[setters(into)]
    pub error_code: Option<String>,
    /// Overrides the default error message.
    #[setters(into)]
    pub error_msg: Option<String>,
    /// `Retry-After` seconds (sent with 429 and 503; default 1).
    pub retry_after: Option<u64>,
    /// Delay before acting. Alone, it delays the real answer.
    #[setters(rename = "delay")]
    pub delay_ms: Option<Delay>,
    /// A connection fault instead of an answer.
    pub fault: Option<ConnectionFault>,
    /// Fire this many times, then retire.
    pub times: Option<u64>,
    /// Chance (0 to 1) that a matching request fires the rule.
    pub probability: Option<f64>,
    /// Seed of the rule's random generator (probability and random delays);
    /// the same seed gives the same sequence of decisions.
    pub seed: Option<u64>,
    /// Smaller runs first (default 5); ties go in insertion order.
    #[serde(default = "default_priority")]
    pub priority: i32,
}

fn any_method() -> String {
    "*".to_owned()
}

fn default_priority() -> i32 {
    DEFAULT_PRIORITY
}

impl FaultRule {
    /// A rule matching `method` and `path` that does nothing yet; add an action.
    pub fn new(method: impl Into<String>, path: impl Into<String>) -> Self {
        Self {
            id: None,
            method: method.into(),
            path: path.into(),
            query: BTreeMap::new(),
            headers: BTreeMap::new(),
            status: None,
            error_code: None,
            error_msg: None,
            retry_after: None,
            delay_ms: None,
            fault: None,
            times: None,
            probability: None,
            seed: None,
            priority: DEFAULT_PRIORITY,
        }
    }

    /// Parses the `--fault` syntax: `METHOD PATH [STATUS] [key=value ...]`,
    /// with the JSON field names as keys (`query.NAME=` and `headers.NAME=`
    /// for conditions; values that parse as JSON are taken as JSON, so
    /// `delay_ms=[100,500]` works).
    ///
    /// # Errors
    /// What is wrong with the spec, naming the part.
    pub fn parse_spec(spec: &str) -> Result<Self, String> {
        let mut words = spec.split_whitespace();
        let (Some(method), Some(path)) = (words.next(), words.next()) else {
            return Err(format!(
                "fault {spec:?}: expected 'METHOD PATH [STATUS] [key=value ...]'"
            ));
        };
        let mut json = serde_json::Map::new();
        json.insert("method".into(), method.into());
        json.insert("path".into(), path.into());
        let (mut query, mut headers) = (serde_json::Map::new(), serde_json::Map::new());
        for word in words {
            if let Ok(status) = word.parse::<u16>() {
                json.insert("status".into(), status.into());
                continue;
            }
            let (key, value) = word.split_once('=').ok_or_else(|| {
                format!("fault {spec:?}: {word:?} is neither a status nor key=value")
            })?;
            let value =
                serde_json::from_str(value).unwrap_or_else(|_| serde_json::Value::from(value));
            if let Some(name) = key.strip_prefix("query.") {
                query.insert(
                    name.into(),
                    value
                        .as_str()
                        .map_or(value.to_string(), str::to_owned)
                        .into(),
                );
            } else if let Some(name) = key.strip_prefix("headers.") {
                headers.insert(
                    name.into(),
                    value
                        .as_str()
                        .map_or(value.to_string(), str::to_owned)
                        .into(),
                );
            } else {
                json.insert(key.into(), value);
            }
        }
        if !query.is_empty() {
            json.insert("query".into(), query.into());
        }
        if !headers.is_empty() {
            json.insert("headers".into(), headers.into());
        }
        let rule: FaultRule = serde_json::from_value(serde_json::Value::Object(json))
            .map_err(|e| format!("fault {spec:?}: {e}"))?;
        rule.validate()
            .map_err(|e| format!("fault {spec:?}: {e}"))?;
        Ok(rule)
    }

    /// Checks what serde cannot: allowed statuses, one action, ranges.
    ///
    /// # Errors
    /// The first problem of the rule: an unknown method, a bad path glob, a status it may not inject, or contradictory fields.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(status) = self.status
            && !ALLOWED_STATUSES.contains(&status)
        {
            return Err(format!(
                "status {status} is not one of {ALLOWED_STATUSES:?}"
            ));
        }
        if self.status.is_some() && self.fault.is_some() {
            return Err("give either status or fault, not both".into());
        }
        if self.status.is_none() && self.fault.is_none() && self.delay_ms.is_none() {
            return Err("the rule does nothing: give status, fault or delay_ms".into());
        }
        if let Some(Delay::Range([min, max])) = self.delay_ms
            && min > max
        {
            return Err(format!("delay_ms [{min}, {max}]: min is above max"));
        }
        if let Some(p) = self.probability
            && !(0.0..=1.0).contains(&p)
        {
            return Err(format!("probability {p} is not between 0 and 1"));
        }
        if self.times == Some(0) {
            return Err("times must be at least 1".into());
        }
        if self.method != "*"
            && !KNOWN_METHODS
                .iter()
                .any(|m| m.eq_ignore_ascii_case(&self.method))
        {
            return Err(format!(
                "method {:?} is not one of {} or *: the rule would never fire",
                self.method,
                KNOWN_METHODS.join(", ")
            ));
        }
        if !self.path.starts_with('/') {
            return Err(format!("path {:?} must start with /", self.path));
        }
        check_template(&self.path)?;
        glob(&self.path).map(drop)
    }
}

/// The methods a rule may name (any case), besides `*`: a request with
/// another method never reaches a route, so a rule naming one (such as a
/// misspelt `GTE`) could never fire.
pub(crate) const KNOWN_METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE",
];

/// Checks the `{name}` captures of a path template: each `{` is closed, not
/// nested, and names something. (An unclosed `{` used to swallow the rest of
/// the path, making a rule that never fires.)
fn check_template(path: &str) -> Result<(), String> {
    let mut open: Option<usize> = None;
    for (at, c) in path.char_indices() {
        match (c, open) {
            ('{', None) => open = Some(at),
            ('{', Some(first)) => {
                return Err(format!(
                    "path {path:?}: the {{ at byte {at} is inside another capture (opened at byte {first})"
                ));
            }
            ('}', None) => {
                return Err(format!(
                    "path {path:?}: the }} at byte {at} was never opened"
                ));
            }
            ('}', Some(first)) if at == first + 1 => {
                return Err(format!(
                    "path {path:?}: the capture at byte {first} is empty; name it, as in {{id}}"
                ));
            }
            ('}', Some(_)) => open = None,
            ('/', Some(first)) => {
                return Err(format!(
                    "path {path:?}: the {{ at byte {first} is never closed in its segment"
                ));
            }
            _ => {}
        }
    }
    match open {
        Some(first) => Err(format!(
            "path {path:?}: the {{ at byte {first} is never closed"
        )),
        None => Ok(()),
    }
}

/// Compiles a path pattern (as rules and journal filters use them).
pub(crate) fn path_matcher(pattern: &str) -> Result<GlobMatcher, String> {
    check_template(pattern)?;
    glob(pattern)
}

/// Compiles a path pattern: `{name}` captures become `*`; `*` matches one
/// segment and `**` any number.
fn glob(pattern: &str) -> Result<GlobMatcher, String> {
    let mut translated = String::with_capacity(pattern.len());
    let mut in_capture = false;
    for c in pattern.chars() {
        match (c, in_capture) {
            ('{', false) => in_capture = true,
            ('}', true) => {
                in_capture = false;
                translated.push('*');
            }
            (_, true) => {}
            ('[' | ']' | '?' | '\\', false) => {
                translated.push('\\');
                translated.push(c);
            }
            (_, false) => translated.push(c),
        }
    }
    GlobBuilder::new(&translated)
        .literal_separator(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| format!("path {pattern:?} is not a valid pattern: {e}"))
}

/// What a request looks like to the matcher.
#[derive(Debug)]
pub(crate) struct RequestFacts<'a> {
    /// HTTP method.
    pub method: &'a str,
    /// Raw path, and its percent-decoded form.
    pub paths: [&'a str; 2],
    /// Decoded query pairs.
    pub query: &'a [(String, String)],
    /// Request headers.
    pub headers: &'a axum::http::HeaderMap,
}

/// A rule with its compiled matcher and live counters.
#[derive(Debug)]
struct Active {
    rule: FaultRule,
    matcher: GlobMatcher,
    /// Times the rule fired.
    fired: AtomicU64,
    /// The rule's generator, seeded from `seed` (or the id).
    rng: Mutex<ChaCha8Rng>,
}

impl Active {
    fn matches(&self, facts: &RequestFacts<'_>) -> bool {
        let rule = &self.rule;
        (rule.method == "*" || rule.method.eq_ignore_ascii_case(facts.method))
            && facts.paths.iter().any(|p| self.matcher.is_match(p))
            && rule
                .query
                .iter()
                .all(|(k, v)| facts.query.iter().any(|(qk, qv)| qk == k && qv == v))
            && rule.headers.iter().all(|(k, v)| {
                facts
                    .headers
                    .get(k.as_str())
                    .is_some_and(|h| h.as_bytes() == v.as_bytes())
            })
    }

    /// Decides whether a matching request fires the rule, counting it if so.
    fn fire(&self) -> Option<Decision> {
        let mut rng = self.rng.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(p) = self.rule.probability
            && rng.random::<f64>() >= p
        {
            return None;
        }
        let claimed = self
            .fired
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (self.rule.times.is_none_or(|t| n < t)).then_some(n + 1)
            });
        claimed.ok()?;
        let delay = match self.rule.delay_ms {
            None => None,
            Some(Delay::Fixed(ms)) => Some(Duration::from_millis(ms)),
            Some(Delay::Range([min, max])) => {
                Some(Duration::from_millis(rng.random_range(min..=max)))
            }
        };
        Some(Decision {
            rule: self.rule.clone(),
            delay,
        })
    }

    fn retired(&self) -> bool {
        self.rule
            .times
            .is_some_and(|t| self.fired.load(Ordering::SeqCst) >= t)
    }
}

/// What to do with one request.
#[derive(Debug, Clone)]
pub(crate) struct Decision {
    /// The rule that fired.
    pub rule: FaultRule,
    /// How long to wait first.
    pub delay: Option<Duration>,
}

/// The live rules. Cheap to clone; clones share the rules.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    inner: Arc<Mutex<Registry>>,
    /// Number of rules, readable without the lock: the hot path checks it
    /// first, so requests pay nothing while no rule is installed.
    count: Arc<std::sync::atomic::AtomicUsize>,
}

#[derive(Debug, Default)]
struct Registry {
    /// Rules sorted by (priority, id).
    rules: Vec<Arc<Active>>,
    next_id: u64,
}

/// A rule as the admin API lists it: the rule plus its counters.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleStatus {
    /// The rule, with its id.
    #[serde(flatten)]
    pub rule: FaultRule,
    /// How many times it fired.
    pub fired: u64,
    /// Whether `times` is used up (retired rules no longer fire).
    pub retired: bool,
}

impl Faults {
    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Validates and adds a rule; returns it with its new id.
    ///
    /// # Errors
    /// The rule's problem (see [`FaultRule::validate`]); nothing is added then.
    pub fn add(&self, mut rule: FaultRule) -> Result<FaultRule, String> {
        rule.validate()?;
        let matcher = glob(&rule.path)?;
        let mut registry = self.lock();
        registry.next_id += 1;
        let id = registry.next_id;
        rule.id = Some(id);
        let rng = ChaCha8Rng::seed_from_u64(rule.seed.unwrap_or(id));
        let active = Arc::new(Active {
            rule: rule.clone(),
            matcher,
            fired: AtomicU64::new(0),
            rng: Mutex::new(rng),
        });
        let at = registry
            .rules
            .partition_point(|r| r.rule.priority <= rule.priority);
        registry.rules.insert(at, active);
        self.count.store(registry.rules.len(), Ordering::SeqCst);
        Ok(rule)
    }

    /// Removes one rule; false if there was none with that id.
    pub fn remove(&self, id: u64) -> bool {
        let mut registry = self.lock();
        let before = registry.rules.len();
        registry.rules.retain(|r| r.rule.id != Some(id));
        self.count.store(registry.rules.len(), Ordering::SeqCst);
        registry.rules.len() != before
    }

    /// Removes every rule.
    pub fn clear(&self) {
        let mut registry = self.lock();
        registry.rules.clear();
        self.count.store(0, Ordering::SeqCst);
    }

    /// Every rule, in the order they are tried.
    pub fn list(&self) -> Vec<RuleStatus> {
        self.lock()
            .rules
            .iter()
            .map(|r| RuleStatus {
                rule: r.rule.clone(),
                fired: r.fired.load(Ordering::SeqCst),
                retired: r.retired(),
            })
            .collect()
    }

    /// Whether any rule is installed (a cheap check for the hot path).
    pub fn is_empty(&self) -> bool {
        self.count.load(Ordering::SeqCst) == 0
    }

    /// The first rule that matches and fires, if any.
    pub(crate) fn decide(&self, facts: &RequestFacts<'_>) -> Option<Decision> {
        // Clone the candidates out so no lock is held while generators run.
        let candidates: Vec<Arc<Active>> = self.lock().rules.clone();
        candidates
            .iter()
            .filter(|r| !r.retired() && r.matches(facts))
            .find_map(|r| r.fire())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static HEADERS: std::sync::LazyLock<axum::http::HeaderMap> = std::sync::LazyLock::new(|| {
        let mut h = axum::http::HeaderMap::new();
        h.insert("x-auth-token", "T".parse().unwrap());
        h
    });

    fn facts<'a>(
        method: &'a str,
        path: &'a str,
        query: &'a [(String, String)],
    ) -> RequestFacts<'a> {
        RequestFacts {
            method,
            paths: [path, path],
            query,
            headers: &HEADERS,
        }
    }

    #[test]
    fn specs_parse_into_the_json_shape() {
        let rule = FaultRule::parse_spec("GET /v3/** 503 times=2 retry_after=7 delay_ms=[10,20] query.marker=abc headers.X-Auth-Token=T").unwrap();
        assert_eq!(rule.method, "GET");
        assert_eq!(rule.status, Some(503));
        assert_eq!(rule.times, Some(2));
        assert_eq!(rule.delay_ms, Some(Delay::Range([10, 20])));
        assert_eq!(rule.query["marker"], "abc");
        assert_eq!(rule.headers["X-Auth-Token"], "T");
        let reset = FaultRule::parse_spec("* /v2/{project_id}/images/tags fault=reset").unwrap();
        assert_eq!(reset.fault, Some(ConnectionFault::Reset));
        for bad in [
            "GET",
            "GET /x 200",
            "GET /x 503 fault=reset",
            "GET /x",
            "GET /x 503 colour=red",
            "GET x 503",
            "GET /x 503 probability=2",
        ] {
            assert!(FaultRule::parse_spec(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn globs_and_templates_match_by_segment() {
        let faults = Faults::default();
        faults
            .add(FaultRule::new("GET", "/v2/{project_id}/images/tags").status(500))
            .unwrap();
        faults
            .add(FaultRule::new("*", "/v3/*/namespaces/**").status(503))
            .unwrap();
        let none: Vec<(String, String)> = vec![];
        for (method, path, fires) in [
            ("GET", "/v2/p1/images/tags", true),
            ("POST", "/v2/p1/images/tags", false),
            ("GET", "/v2/p1/x/images/tags", false),
            ("DELETE", "/v3/manage/namespaces/a/repos/b/tags", true),
            ("GET", "/v3/manage/other", false),
        ] {
            let fired = faults.decide(&facts(method, path, &none)).is_some();
            assert_eq!(fired, fires, "{method} {path}");
        }
    }

    #[test]
    fn times_priority_and_conditions_decide_which_rule_fires() {
        let faults = Faults::default();
        faults
            .add(FaultRule::new("*", "/**").status(500).priority(9))
            .unwrap();
        let mut first = FaultRule::new("*", "/**").status(503).times(2).priority(1);
        first.query.insert("limit".into(), "5".into());
        faults.add(first).unwrap();
        let q = vec![("limit".to_owned(), "5".to_owned())];
        let statuses: Vec<_> = (0..3)
            .map(|_| faults.decide(&facts("GET", "/a", &q)).unwrap().rule.status)
            .collect();
        assert_eq!(statuses, [Some(503), Some(503), Some(500)]);
        assert!(faults.list().iter().any(|r| r.retired && r.fired == 2));
        let mut by_header = FaultRule::new("*", "/h").status(401);
        by_header.headers.insert("X-Auth-Token".into(), "T".into());
        faults.add(by_header).unwrap();
        assert_eq!(
            faults.decide(&facts("GET", "/h", &[])).unwrap().rule.status,
            Some(401)
        );
    }

    #[test]
    fn seeded_probability_is_reproducible() {
        let run = || {
            let faults = Faults::default();
            let mut rule = FaultRule::new("*", "/**").status(500);
            rule.probability = Some(0.3);
            rule.seed = Some(42);
            faults.add(rule).unwrap();
            (0..1000)
                .map(|_| faults.decide(&facts("GET", "/x", &[])).is_some())
                .collect::<Vec<_>>()
        };
        let (a, b) = (run(), run());
        assert_eq!(a, b);
        let fired = a.iter().filter(|f| **f).count();
        assert!((250..=350).contains(&fired), "{fired}");
    }
}
