//! Fixtures: JSON files that seed the store, validated against
//! `fixtures/schema.json` and turned into indexed records.
//!
//! Loading runs in four steps, each of which names the file and the JSON path
//! of whatever it rejects:
//! 1. read and parse the JSON;
//! 2. validate it against the JSON Schema (compiled into the binary), which
//!    catches typos, wrong types and out-of-range values;
//! 3. deserialise it into typed records;
//! 4. check what a schema cannot (duplicate names and ids across files, times)
//!    and derive every omitted field deterministically.
//!
//! Several files merge: projects and namespaces with the same id or name
//! combine; repositories, images and ids must be unique.
//!
//! The files, in the order a document goes through them:
//! - this file: the entry points (`load`, `build`, …), the sources, settings
//!   and errors;
//! - `parse.rs`: steps 1 and 3, reading files and typed parsing;
//! - `keys.rs`: the streaming pass that refuses duplicate keys;
//! - `schema.rs`: step 2, the JSON Schema validators and the JSON paths of their errors;
//! - `document.rs`: the fixture file types;
//! - `build.rs`: step 4, cross-file checks and the store's records;
//! - `iam.rs`: accounts, access keys and tokens (part of step 4);
//! - `derive.rs`: the fields a tag leaves out;
//! - `push.rs`: `Store::push_tag`, one tag checked like a fixture's;
//! - `export.rs`: the store back as a fixture document;
//! - `rows.rs`: the persisted state's key/value rows, both ways.

mod build;
mod derive;
pub(crate) mod document;
mod export;
mod iam;
mod keys;
mod parse;
mod push;
mod rows;
mod schema;

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

pub(crate) use document::DomainDoc;
pub(crate) use keys::check_duplicate_keys;
pub(crate) use rows::{Rows, StoredRows, Table, build_rows};

use crate::store::{Inner, Store};
use build::Builder;
use parse::{Document, expand, parse, parse_trusted};

/// The JSON Schema every fixture must follow (`fixtures/schema.json`).
pub(crate) const SCHEMA: &str = include_str!("../../../fixtures/schema.json");

/// The default fixture compiled into the binary (`fixtures/default.json`).
/// It reproduces the examples of the API pages the emulator implements.
pub(crate) const DEFAULT_FIXTURE: &str = include_str!("../../../fixtures/default.json");

/// Name under which errors in the embedded default fixture are reported.
const DEFAULT_FIXTURE_NAME: &str = "<embedded default fixture: fixtures/default.json>";

/// Created/updated time of tags that give neither: 2024-01-01T00:00:00Z, plus
/// one second per tag in fixture order, so the default `updated_at desc` order
/// is the reverse of the file's order.
const DERIVED_TIME_BASE: i64 = 1_704_067_200;

/// The derived time `seconds` after [`DERIVED_TIME_BASE`] (saturating; no
/// fixture holds enough items to reach the end of time).
fn derived_time(seconds: usize) -> i64 {
    i64::try_from(seconds).map_or(i64::MAX, |s| DERIVED_TIME_BASE.saturating_add(s))
}

/// Where a fixture comes from.
#[derive(Debug, Clone)]
pub enum FixtureSource {
    /// A JSON file, or a directory whose `*.json` files (except `schema.json`)
    /// load in name order.
    Path(PathBuf),
    /// JSON text with a name to report errors under.
    Json {
        /// Name used in error messages.
        name: String,
        /// The JSON document.
        text: String,
    },
    /// The default fixture compiled into the binary.
    Default,
    /// JSON bytes with a name to report errors under (not copied).
    Bytes {
        /// Name used in error messages.
        name: String,
        /// The JSON document.
        bytes: bytes::Bytes,
    },
}

/// Settings that shape derived fields.
#[derive(Debug, Clone)]
pub struct SeedSettings {
    /// Host used in derived SWR `path` values (`--registry-host`).
    pub registry_host: String,
}

/// One thing wrong with a fixture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file (or source name) it is in.
    pub file: String,
    /// Where in the document, as a JSONPath such as `$.swr.namespaces[0].name`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// Why fixtures could not be loaded: every problem found, in file order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct FixtureError {
    /// The problems, at most [`FixtureError::MAX_PROBLEMS`] of them.
    pub problems: Vec<Problem>,
}

impl FixtureError {
    /// Most problems reported at once.
    pub const MAX_PROBLEMS: usize = 20;

    fn one(file: &str, path: &str, message: impl Into<String>) -> Self {
        Self {
            problems: vec![Problem {
                file: file.to_owned(),
                path: path.to_owned(),
                message: message.into(),
            }],
        }
    }
}

impl fmt::Display for FixtureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "bad fixture {}: at {}: {}", p.file, p.path, p.message)?;
        }
        Ok(())
    }
}

/// What fixtures hold: the store's data and the fault rules of their
/// `faults` sections.
#[derive(Debug)]
pub(crate) struct Loaded {
    /// The data.
    pub store: Store,
    /// Fault rules, validated, in file order.
    pub faults: Vec<crate::control::faults::FaultRule>,
}

/// Loads fixtures into a new store; fault rules in them are dropped (see `load_all`).
///
/// # Errors
/// Every problem of the fixtures, each with its file and JSON path.
pub fn load(sources: &[FixtureSource], settings: &SeedSettings) -> Result<Store, FixtureError> {
    load_all(sources, settings).map(|l| l.store)
}

/// Loads fixtures (such as a state `GET /_mock/state` exported) into a new
/// store, as `PUT /_mock/state` does: an access key given without its
/// secret key takes the one `donor` has for that AK (exports leave secret
/// keys out); one that `donor` does not know is an error.
///
/// # Errors
/// Every problem of the fixtures, and each access key whose secret key neither the fixtures nor `donor` give.
pub fn load_with_secrets_of(
    sources: &[FixtureSource],
    settings: &SeedSettings,
    donor: &Store,
) -> Result<Store, FixtureError> {
    let secrets = Secrets {
        known: donor.secret_keys(),
        drop_unknown: false,
    };
    build_with(sources, settings, &secrets).map(|(inner, _)| Store::from_inner(inner))
}

/// Loads fixtures: data and fault rules.
pub(crate) fn load_all(
    sources: &[FixtureSource],
    settings: &SeedSettings,
) -> Result<Loaded, FixtureError> {
    let (inner, faults) = build(sources, settings)?;
    Ok(Loaded {
        store: Store::from_inner(inner),
        faults,
    })
}

/// Loads fixtures into a store's contents.
pub(crate) fn build(
    sources: &[FixtureSource],
    settings: &SeedSettings,
) -> Result<(Inner, Vec<crate::control::faults::FaultRule>), FixtureError> {
    build_with(sources, settings, &Secrets::default())
}

/// Where the secret key of an access key comes from when a document gives
/// the AK without one (as every export does).
#[derive(Debug, Clone, Default)]
pub(crate) struct Secrets {
    /// Secret keys the server already has, by AK.
    pub(crate) known: HashMap<Arc<str>, Arc<str>>,
    /// Leave such an AK out with a warning (a persisted state at start)
    /// instead of refusing the document (an import).
    pub(crate) drop_unknown: bool,
}

/// [`build()`], with the secret keys an export-shaped document may lean on.
pub(crate) fn build_with(
    sources: &[FixtureSource],
    settings: &SeedSettings,
    secrets: &Secrets,
) -> Result<(Inner, Vec<crate::control::faults::FaultRule>), FixtureError> {
    let mut docs = Vec::new();
    for source in sources {
        match source {
            FixtureSource::Path(path) => {
                for file in expand(path)? {
                    let name = file.display().to_string();
                    let bytes = std::fs::read(&file).map_err(|e| {
                        FixtureError::one(&name, "$", format!("cannot read the file: {e}"))
                    })?;
                    docs.push(parse(&name, &bytes)?);
                }
            }
            FixtureSource::Json { name, text } => docs.push(parse(name, text.as_bytes())?),
            FixtureSource::Bytes { name, bytes } => docs.push(parse(name, bytes)?),
            // The embedded default is validated by the test suite
            // (`the_default_fixture_loads`, `every_shipped_fixture_is_valid…`);
            // trusting it keeps the schema validators out of a plain start.
            FixtureSource::Default => docs.push(parse_trusted(
                DEFAULT_FIXTURE_NAME,
                DEFAULT_FIXTURE.as_bytes(),
            )?),
        }
    }
    build_docs(docs, settings, secrets)
}

/// Step 4 over parsed documents.
fn build_docs(
    docs: Vec<Document>,
    settings: &SeedSettings,
    secrets: &Secrets,
) -> Result<(Inner, Vec<crate::control::faults::FaultRule>), FixtureError> {
    let mut builder = Builder::new(settings);
    builder.known_secrets.clone_from(&secrets.known);
    builder.drop_unknown_secrets = secrets.drop_unknown;
    builder.build(docs)
}

/// Parses one document held in memory and builds a store's contents from
/// it; `bytes` is dropped as soon as it is parsed, so an import does not
/// keep its body and its records at once.
pub(crate) fn build_bytes(
    name: &str,
    bytes: bytes::Bytes,
    settings: &SeedSettings,
    secrets: &Secrets,
) -> Result<(Inner, Vec<crate::control::faults::FaultRule>), FixtureError> {
    let doc = parse(name, &bytes)?;
    drop(bytes);
    build_docs(vec![doc], settings, secrets)
}

impl Store {
    /// Replaces the whole contents of the store (every clone sees the new
    /// data), the registry's blobs included.
    ///
    /// # Errors
    /// The blobs `inner` carries do not fit `--max-blob-bytes`; then nothing
    /// changes.
    pub(crate) fn replace(&self, mut inner: Inner) -> Result<(), FixtureError> {
        let snapshot = inner.blob_snapshot.take();
        if let Some(s) = &snapshot {
            self.blobs()
                .fits(s)
                .map_err(|e| FixtureError::one(&s.source, "$.registry.blobs", e.to_string()))?;
        }
        let mut guard = self.write();
        inner.change_seq = guard.change_seq + 1;
        if guard.changes.is_some() {
            inner.changes = Some(crate::store::Changes {
                all: true,
                ..crate::store::Changes::default()
            });
        }
        *guard = inner;
        self.blobs().clear();
        if let Some(s) = snapshot {
            self.blobs().install(s);
        }
        self.next_epoch(); // under the lock: v3 markers of the old contents are refused
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn settings() -> SeedSettings {
        SeedSettings {
            registry_host: "registry.example".into(),
        }
    }

    pub(super) fn load_json(text: &str) -> Result<Store, FixtureError> {
        let src = FixtureSource::Json {
            name: "t.json".into(),
            text: text.into(),
        };
        load(&[src], &settings())
    }

    #[test]
    fn the_default_fixture_loads() {
        let store = load(&[FixtureSource::Default], &settings()).unwrap();
        assert_eq!(store.tag_count("namespace", "busybox"), Some(1));
    }
}
