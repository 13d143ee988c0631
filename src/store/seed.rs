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

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::model::{self, Image, SwrTag, hex_sha256};
use super::{DEFAULT_DOMAIN_ID, DEFAULT_INTERNAL_HOST, Inner, Namespace, Repo, RepoContext, Store};

/// The JSON Schema every fixture must follow (`fixtures/schema.json`).
pub(crate) const SCHEMA: &str = include_str!("../../fixtures/schema.json");

/// The default fixture compiled into the binary (`fixtures/default.json`).
/// It reproduces the examples of the API pages the emulator implements.
pub(crate) const DEFAULT_FIXTURE: &str = include_str!("../../fixtures/default.json");

/// Name under which errors in the embedded default fixture are reported.
const DEFAULT_FIXTURE_NAME: &str = "<embedded default fixture: fixtures/default.json>";

/// Created/updated time of tags that give neither: 2024-01-01T00:00:00Z, plus
/// one second per tag in fixture order, so the default `updated_at desc` order
/// is the reverse of the file's order.
const DERIVED_TIME_BASE: i64 = 1_704_067_200;

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

static VALIDATOR: LazyLock<Result<jsonschema::Validator, String>> = LazyLock::new(|| {
    let schema: Value = serde_json::from_str(SCHEMA).map_err(|e| e.to_string())?;
    jsonschema::validator_for(&schema).map_err(|e| e.to_string())
});

/// What fixtures hold: the store's data and the fault rules of their
/// `faults` sections.
#[derive(Debug)]
pub(crate) struct Loaded {
    /// The data.
    pub store: Store,
    /// Fault rules, validated, in file order.
    pub faults: Vec<crate::control::faults::FaultRule>,
}

/// Loads fixtures into a new store; fault rules in them are dropped (see [`load_all`]).
pub fn load(sources: &[FixtureSource], settings: &SeedSettings) -> Result<Store, FixtureError> {
    load_all(sources, settings).map(|l| l.store)
}

/// Loads fixtures (such as a state `GET /_mock/state` exported) into a new
/// store, as `PUT /_mock/state` does: an access key given without its
/// secret key takes the one `donor` has for that AK (exports leave secret
/// keys out); one that `donor` does not know is an error.
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

/// [`build`], with the secret keys an export-shaped document may lean on.
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
    builder.known_secrets = secrets.known.clone();
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
    /// The whole store as fixture JSON: every id, time and digest explicit,
    /// everything sorted, so export, import and export again give the same
    /// bytes. Derived manifests and paths stay derived. Secrets (SKs, tokens)
    /// are included: this is the state the fixtures described.
    pub fn export(&self) -> Value {
        serde_json::to_value(self.export_doc()).unwrap_or(Value::Null)
    }

    /// [`Store::export`] as typed records (serialised without a tree).
    pub(crate) fn export_doc(&self) -> FixtureFile {
        let inner = self.read();
        let mut projects: Vec<ProjectDoc> = inner
            .projects
            .iter()
            .map(|(id, project)| ProjectDoc {
                id: id.to_string(),
                images: project.images.iter().map(export_image).collect(),
            })
            .collect();
        projects.sort_by(|a, b| a.id.cmp(&b.id));
        let mut namespaces: Vec<NamespaceDoc> = inner
            .namespaces
            .iter()
            .map(|(name, ns)| {
                let mut repositories: Vec<RepositoryDoc> = ns
                    .repos
                    .iter()
                    .map(|(repo_name, repo)| export_repo(repo_name, repo))
                    .collect();
                repositories.sort_by(|a, b| a.name.cmp(&b.name));
                NamespaceDoc {
                    name: name.to_string(),
                    domain_id: Some(ns.domain_id.to_string()),
                    repositories,
                }
            })
            .collect();
        namespaces.sort_by(|a, b| a.name.cmp(&b.name));
        FixtureFile {
            _schema: Some("schema.json".into()),
            _description: Some("State exported by ims-swr-mock (GET /_mock/state).".into()),
            iam: IamSection {
                domains: inner.iam.export.clone(),
            },
            ims: ImsSection { projects },
            swr: SwrSection {
                internal_registry_host: None,
                namespaces,
            },
            faults: Vec::new(),
        }
    }

    /// The rows that record `changes` (everything when `changes.all`), read
    /// from the store as it is now: a row written later than the change
    /// holds a newer value, which is just as right.
    pub(crate) fn rows(&self, changes: &super::Changes) -> Rows {
        let mut rows = Rows {
            clear: changes.all,
            ..Rows::default()
        };
        let inner = self.read();
        let json = |v: &dyn erased::Json| v.to_json();
        if changes.all {
            let iam = IamSection {
                domains: inner.iam.export.clone(),
            };
            rows.put(Table::Meta, META_IAM.into(), json(&iam));
            for (name, ns) in &inner.namespaces {
                rows.put(Table::Namespaces, name.to_string(), ns_row(ns));
                for (repo_name, repo) in &ns.repos {
                    let key = repo_key(name, repo_name);
                    rows.put(Table::Repos, key.clone(), repo_row(repo));
                    let default_host = *repo.ctx.internal_host == *DEFAULT_INTERNAL_HOST;
                    for t in &repo.by_name {
                        let doc = export_tag(&repo.ctx, default_host, t);
                        rows.put(Table::Tags, tag_key(&key, &t.name), json(&doc));
                    }
                }
            }
            for (id, project) in &inner.projects {
                rows.put(Table::Projects, id.to_string(), String::new());
                for (at, image) in project.images.iter().enumerate() {
                    let key = image_key(id, at);
                    rows.put(Table::Images, key, json(&export_image(image)));
                }
            }
            return rows;
        }
        for (ns_name, repo_name, tag) in &changes.tags {
            let key = repo_key(ns_name, repo_name);
            let Some(ns) = inner.namespaces.get(ns_name) else {
                continue;
            };
            let Some(repo) = ns.repos.get(repo_name) else {
                continue;
            };
            rows.put(Table::Namespaces, ns_name.to_string(), ns_row(ns));
            rows.put(Table::Repos, key.clone(), repo_row(repo));
            match repo.get(tag) {
                Some(t) => {
                    let default_host = *repo.ctx.internal_host == *DEFAULT_INTERNAL_HOST;
                    let doc = export_tag(&repo.ctx, default_host, t);
                    rows.put(Table::Tags, tag_key(&key, tag), json(&doc));
                }
                None => rows.delete.push((Table::Tags, tag_key(&key, tag))),
            }
        }
        for (project_id, image_id) in &changes.images {
            if let Some(project) = inner.projects.get(project_id)
                && let Some(&at) = project.index.get(image_id)
            {
                let doc = export_image(&project.images[at]);
                rows.put(Table::Images, image_key(project_id, at), json(&doc));
            }
        }
        rows
    }

    /// Adds (or replaces) a tag as `docker push` would, creating the namespace
    /// (owned by `domain_id`, default the default account) and the repository
    /// when missing. `spec` is the tag in fixture form (`{"tag": "v1", ...}`);
    /// omitted fields are derived, times default to now. Returns the tag and
    /// whether it is new.
    pub fn push_tag(
        &self,
        namespace: &str,
        repository: &str,
        domain_id: Option<&str>,
        spec: Value,
    ) -> Result<(Arc<SwrTag>, bool), FixtureError> {
        // Validate the tag exactly as a fixture would hold it.
        let wrapped = serde_json::json!({"swr": {"namespaces": [{
            "name": namespace,
            "repositories": [{"name": repository, "tags": [spec]}],
        }]}});
        let doc = parse("push", wrapped.to_string().as_bytes())?;
        let raw = &doc.file.swr.namespaces[0].repositories[0].tags[0];
        let tag_doc = &parse_tag(raw).map_err(|problems| FixtureError {
            problems: problems
                .into_iter()
                .map(|(below, message)| Problem {
                    file: "push".into(),
                    path: format!("${below}"),
                    message,
                })
                .collect(),
        })?;
        let mut inner = self.write();
        // Tag ids are unique across repositories, as in fixtures: an explicit
        // id may only be the id of the tag this push replaces.
        if let Some(id) = tag_doc.id {
            let holder = inner.namespaces.iter().find_map(|(ns_name, ns)| {
                ns.repos.iter().find_map(|(repo_name, repo)| {
                    repo.by_name.iter().find(|t| t.id == id).and_then(|t| {
                        let same = **ns_name == *namespace
                            && **repo_name == *repository
                            && *t.name == *tag_doc.tag;
                        (!same).then(|| format!("{ns_name}/{repo_name}:{}", t.name))
                    })
                })
            });
            if let Some(holder) = holder {
                return Err(FixtureError::one(
                    "push",
                    "$.id",
                    format!("tag id {id} is already used by {holder}"),
                ));
            }
        }
        // Every check runs before anything changes: on error nothing does.
        let registry_host = inner.registry_host.clone();
        let next_repo_id = inner.next_repo_id;
        let next_tag_id = inner.next_tag_id;
        let current = inner.namespaces.get(namespace);
        if let Some(ns) = current
            && domain_id.is_some_and(|d| *ns.domain_id != *d)
        {
            return Err(FixtureError::one(
                "push",
                "$.domain_id",
                format!("namespace {namespace} belongs to domain {}", ns.domain_id),
            ));
        }
        let exhausted = |what: &str, path: &str| {
            FixtureError::one(
                "push",
                path,
                format!("no {what} id is left: ids go up to {}", super::MAX_ID),
            )
        };
        let held = current.and_then(|ns| ns.repos.get(repository));
        let repo_id = match held {
            Some(repo) => repo.id,
            None => super::allocate_id(next_repo_id).ok_or_else(|| exhausted("repository", "$"))?,
        };
        let existing = held.and_then(|repo| repo.get(&tag_doc.tag).cloned());
        let id = match tag_doc.id.or(existing.as_ref().map(|e| e.id)) {
            Some(id) => id,
            None => super::allocate_id(next_tag_id).ok_or_else(|| exhausted("tag", "$.id"))?,
        };
        let tag = derive_tag(
            tag_doc,
            tag_doc.tag.as_str().into(),
            repo_id,
            id,
            super::now(),
        )
        .map_err(|problems| FixtureError {
            problems: problems
                .into_iter()
                .map(|(field, message)| Problem {
                    file: "push".into(),
                    path: format!("$.{field}"),
                    message,
                })
                .collect(),
        })?;
        let tag = Arc::new(tag);
        let ns = inner
            .namespaces
            .entry(namespace.into())
            .or_insert_with(|| Namespace {
                domain_id: domain_id.unwrap_or(DEFAULT_DOMAIN_ID).into(),
                repos: HashMap::new(),
            });
        let domain = ns.domain_id.clone();
        let repo = ns.repos.entry(repository.into()).or_insert_with(|| {
            let ctx = Arc::new(RepoContext {
                namespace: namespace.into(),
                repository: repository.into(),
                domain_id: domain,
                registry_host,
                internal_host: DEFAULT_INTERNAL_HOST.into(),
            });
            Repo::new(ctx, repo_id, Vec::new())
        });
        repo.insert(tag.clone());
        inner.mark_tag(namespace, repository, &tag.name);
        // Ids are at most MAX_ID (the schema bounds explicit ones): no overflow.
        inner.next_repo_id = inner.next_repo_id.max(repo_id + 1);
        inner.next_tag_id = inner.next_tag_id.max(id + 1);
        Ok((tag, existing.is_none()))
    }

    /// Replaces the whole contents of the store (every clone sees the new data).
    pub(crate) fn replace(&self, mut inner: Inner) {
        let mut guard = self.write();
        inner.change_seq = guard.change_seq + 1;
        if guard.changes.is_some() {
            inner.changes = Some(super::Changes {
                all: true,
                ..super::Changes::default()
            });
        }
        *guard = inner;
        self.next_epoch(); // under the lock: v3 markers of the old contents are refused
    }
}

fn export_repo(name: &str, repo: &Repo) -> RepositoryDoc {
    let default_host = *repo.ctx.internal_host == *DEFAULT_INTERNAL_HOST;
    let tags = repo
        .by_name
        .iter()
        .map(|t| export_tag(&repo.ctx, default_host, t))
        .collect();
    RepositoryDoc {
        name: name.to_owned(),
        id: Some(repo.id),
        tags,
    }
}

/// A tag in fixture form, every derived value explicit except the manifest
/// and the paths (kept derived unless the fixture gave them).
fn export_tag(ctx: &RepoContext, default_host: bool, t: &SwrTag) -> TagDoc {
    let e = t.explicit();
    TagDoc {
        tag: t.name.to_string(),
        id: Some(t.id),
        image_id: Some(ctx.image_id(t).into_owned()),
        manifest: e.manifest.as_deref().map(str::to_owned),
        digest: Some(ctx.digest(t).into_owned()),
        schema: Some(t.schema),
        path: e.path.as_deref().map(str::to_owned),
        internal_path: match (&e.internal_path, default_host) {
            (Some(p), _) => Some(p.to_string()),
            (None, true) => None,
            (None, false) => Some(ctx.internal_path(t)),
        },
        size: Some(ctx.size(t)),
        is_trusted: Some(t.is_trusted),
        created: Some(model::format_time(t.created)),
        updated: Some(model::format_time(t.updated)),
        deleted: e.deleted.as_deref().map(|d| Some(d.to_owned())),
        scanned: Some(t.scanned),
        tag_type: Some(t.tag_type),
    }
}

/// An image in fixture form, every field explicit.
fn export_image(image: &Image) -> ImageDoc {
    ImageDoc {
        imagetype: Some(image.image_type.to_string()),
        platform: Some(image.platform.to_string()),
        os_type: Some(image.os_type.to_string()),
        min_disk: Some(image.min_disk),
        member_status: image.member_status.as_deref().map(str::to_owned),
        virtual_env_type: Some(image.virtual_env_type.to_string()),
        enterprise_project_id: Some(image.enterprise_project_id.to_string()),
        architecture: Some(image.architecture.to_string()),
        created_at: Some(model::format_time(image.created_at)),
        updated_at: Some(model::format_time(image.updated_at)),
        id: Some(image.id.to_string()),
        name: Some(image.name.to_string()),
        status: Some(image.status.to_string()),
        tags: image
            .tags
            .iter()
            .map(|(k, v)| ImageTagDoc {
                key: k.to_string(),
                value: v.to_string(),
            })
            .collect(),
    }
}

// ---------------------------------------------------------------------------
// Persisted rows: the state as key/value rows (see `crate::store::persist`). Values
// are the export's own JSON records, so a persisted state loads through the
// same checks as a fixture.

/// The tables of the persisted state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Table {
    /// `iam`: the accounts (no secrets); `format`: the layout version.
    Meta,
    /// Namespace name → `{"domain_id": …}`.
    Namespaces,
    /// `namespace\0repository` → `{"id": …}`.
    Repos,
    /// `namespace\0repository\0tag` → the tag in fixture form.
    Tags,
    /// Project id → `""`.
    Projects,
    /// `project\0position` (zero-padded) → the image in fixture form.
    Images,
}

/// Key of the accounts in [`Table::Meta`].
pub(crate) const META_IAM: &str = "iam";

/// Rows to write: puts and deletes, after clearing every table when `clear`.
#[derive(Debug, Default)]
pub(crate) struct Rows {
    /// Empty every table first (the whole state follows).
    pub(crate) clear: bool,
    /// Rows to insert or replace.
    pub(crate) put: Vec<(Table, String, String)>,
    /// Rows to remove.
    pub(crate) delete: Vec<(Table, String)>,
}

impl Rows {
    fn put(&mut self, table: Table, key: String, value: String) {
        self.put.push((table, key, value));
    }
}

/// Serialises the record types of this module (none can fail).
mod erased {
    /// A record that serialises to JSON text.
    pub(super) trait Json {
        fn to_json(&self) -> String;
    }
    impl<T: serde::Serialize> Json for T {
        fn to_json(&self) -> String {
            serde_json::to_string(self).unwrap_or_default()
        }
    }
}

fn repo_key(namespace: &str, repository: &str) -> String {
    format!("{namespace}\0{repository}")
}

fn tag_key(repo_key: &str, tag: &str) -> String {
    format!("{repo_key}\0{tag}")
}

fn image_key(project: &str, at: usize) -> String {
    format!("{project}\0{at:010}")
}

fn ns_row(ns: &Namespace) -> String {
    serde_json::json!({ "domain_id": &*ns.domain_id }).to_string()
}

fn repo_row(repo: &Repo) -> String {
    serde_json::json!({ "id": repo.id }).to_string()
}

/// Rows read back from a persisted state, by table, in key order.
#[derive(Debug, Default)]
pub(crate) struct StoredRows {
    /// [`Table::Meta`].
    pub(crate) meta: Vec<(String, String)>,
    /// [`Table::Namespaces`].
    pub(crate) namespaces: Vec<(String, String)>,
    /// [`Table::Repos`].
    pub(crate) repos: Vec<(String, String)>,
    /// [`Table::Tags`].
    pub(crate) tags: Vec<(String, String)>,
    /// [`Table::Projects`].
    pub(crate) projects: Vec<(String, String)>,
    /// [`Table::Images`].
    pub(crate) images: Vec<(String, String)>,
}

/// Builds a store's contents from persisted rows, through the same checks
/// as any fixture (`name` is what errors are reported under). Access keys
/// get their secret keys from `secrets` (rows never hold them).
pub(crate) fn build_rows(
    name: &str,
    rows: StoredRows,
    settings: &SeedSettings,
    secrets: &Secrets,
) -> Result<Inner, FixtureError> {
    let bad = |table: &str, key: &str, e: String| {
        FixtureError::one(name, &format!("{table}[{key:?}]"), e)
    };
    let mut file = FixtureFile::<RawTag> {
        _schema: None,
        _description: None,
        iam: IamSection::default(),
        ims: ImsSection::default(),
        swr: SwrSection::default(),
        faults: Vec::new(),
    };
    for (key, value) in &rows.meta {
        if key == META_IAM {
            file.iam = serde_json::from_str(value).map_err(|e| bad("meta", key, e.to_string()))?;
        }
    }
    let mut namespaces: indexmap::IndexMap<String, NamespaceDoc<RawTag>> = Default::default();
    for (key, value) in rows.namespaces {
        #[derive(Deserialize)]
        struct NsRow {
            domain_id: String,
        }
        let row: NsRow =
            serde_json::from_str(&value).map_err(|e| bad("namespaces", &key, e.to_string()))?;
        namespaces.insert(
            key.clone(),
            NamespaceDoc {
                name: key,
                domain_id: Some(row.domain_id),
                repositories: Vec::new(),
            },
        );
    }
    let mut repos: indexmap::IndexMap<String, (String, RepositoryDoc<RawTag>)> = Default::default();
    for (key, value) in rows.repos {
        #[derive(Deserialize)]
        struct RepoRow {
            id: i64,
        }
        let row: RepoRow =
            serde_json::from_str(&value).map_err(|e| bad("repos", &key, e.to_string()))?;
        let (ns, repo) = key
            .split_once('\0')
            .ok_or_else(|| bad("repos", &key, "a key without its namespace".into()))?;
        let doc = RepositoryDoc {
            name: repo.to_owned(),
            id: Some(row.id),
            tags: Vec::new(),
        };
        repos.insert(key.clone(), (ns.to_owned(), doc));
    }
    for (key, value) in rows.tags {
        let repo = key
            .rsplit_once('\0')
            .and_then(|(repo, _)| repos.get_mut(repo))
            .ok_or_else(|| bad("tags", &key, "a tag of no known repository".into()))?;
        let raw = serde_json::value::RawValue::from_string(value)
            .map_err(|e| bad("tags", &key, e.to_string()))?;
        repo.1.tags.push(raw);
    }
    for (_, (ns, repo)) in repos {
        namespaces
            .get_mut(&ns)
            .ok_or_else(|| {
                bad(
                    "repos",
                    &repo.name,
                    "a repository of no known namespace".into(),
                )
            })?
            .repositories
            .push(repo);
    }
    file.swr.namespaces = namespaces.into_values().collect();
    let mut projects: indexmap::IndexMap<String, ProjectDoc<RawTag>> = rows
        .projects
        .into_iter()
        .map(|(id, _)| {
            let doc = ProjectDoc {
                id: id.clone(),
                images: Vec::new(),
            };
            (id, doc)
        })
        .collect();
    for (key, value) in rows.images {
        let project = key
            .split_once('\0')
            .and_then(|(p, _)| projects.get_mut(p))
            .ok_or_else(|| bad("images", &key, "an image of no known project".into()))?;
        let raw = serde_json::value::RawValue::from_string(value)
            .map_err(|e| bad("images", &key, e.to_string()))?;
        project.images.push(raw);
    }
    file.ims.projects = projects.into_values().collect();
    let doc = Document {
        name: name.to_owned(),
        file,
        trusted: false,
    };
    build_docs(vec![doc], settings, secrets).map(|(inner, _)| inner)
}

/// The files a path stands for: itself, or a directory's `*.json` files.
fn expand(path: &Path) -> Result<Vec<PathBuf>, FixtureError> {
    let name = path.display().to_string();
    let meta = std::fs::metadata(path)
        .map_err(|e| FixtureError::one(&name, "$", format!("cannot read the fixture: {e}")))?;
    if !meta.is_dir() {
        return Ok(vec![path.to_owned()]);
    }
    let entries = std::fs::read_dir(path)
        .map_err(|e| FixtureError::one(&name, "$", format!("cannot list the directory: {e}")))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.extension().is_some_and(|x| x == "json")
                && p.file_name().is_some_and(|n| n != "schema.json")
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(FixtureError::one(
            &name,
            "$",
            "the directory holds no *.json fixture files",
        ));
    }
    Ok(files)
}

/// Documents up to this size that fail the typed parse are parsed again
/// as one JSON tree, for the schema's precise messages; larger ones get
/// serde's message and path from a streaming pass (a tree takes tens of
/// times the document's size).
const TREE_PARSE_LIMIT: usize = 1 << 20;

/// Steps 1-3: parse, validate against the schema, deserialise.
///
/// No JSON tree of the whole document is built unless it is small and
/// invalid: a streaming pass refuses duplicate keys; a typed parse keeps
/// tags as raw text (checked one by one when the store is built); the
/// schema then checks the rest of the document, without its tags.
fn parse(name: &str, bytes: &[u8]) -> Result<Document, FixtureError> {
    check_duplicate_keys(name, bytes)?;
    let file = match serde_json::from_slice::<FixtureFile<RawTag>>(bytes) {
        Ok(file) => file,
        Err(_) if bytes.len() <= TREE_PARSE_LIMIT => {
            // The whole tree against the schema, for its precise messages
            // and paths; then typed again.
            let file = parse_whole(name, bytes)?;
            let raw = serde_json::to_vec(&file).unwrap_or_default();
            serde_json::from_slice(&raw).map_err(|e| {
                FixtureError::one(name, "$", format!("cannot re-read the document: {e}"))
            })?
        }
        Err(_) => {
            let mut de = serde_json::Deserializer::from_slice(bytes);
            return Err(
                match serde_path_to_error::deserialize::<_, FixtureFile<RawTag>>(&mut de) {
                    Ok(_) => FixtureError::one(name, "$", "not a valid fixture document"),
                    Err(e) => {
                        let path = format!("$.{}", e.path()).replace(".[", "[");
                        FixtureError::one(name, path.trim_end_matches('.'), e.inner().to_string())
                    }
                },
            );
        }
    };
    // The rest of the document (tags are left out) against the schema.
    let rest = serde_json::to_value(&file).unwrap_or(Value::Null);
    let problems = schema_problems(name, &rest)?;
    if !problems.is_empty() {
        return Err(FixtureError { problems });
    }
    Ok(Document {
        name: name.to_owned(),
        file,
        trusted: false,
    })
}

/// Refuses a document in which an object names a key twice (JSON parsers
/// would silently keep one of the values), naming the object's JSONPath.
/// A streaming pass: no tree is built. Syntax errors are reported here too.
pub(crate) fn check_duplicate_keys(name: &str, bytes: &[u8]) -> Result<(), FixtureError> {
    let mut path = Vec::new();
    let mut found = None;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let walk = KeyWalk {
        path: &mut path,
        found: &mut found,
    };
    let result = serde::de::DeserializeSeed::deserialize(walk, &mut de).and_then(|()| de.end());
    match (result, found) {
        (_, Some((at, key))) => Err(FixtureError::one(
            name,
            &at,
            format!("duplicate key {key:?}: a key may appear only once in an object"),
        )),
        (Err(e), None) => Err(FixtureError::one(name, "$", format!("not valid JSON: {e}"))),
        (Ok(()), None) => Ok(()),
    }
}

/// One step of a JSONPath while [`check_duplicate_keys`] walks a document.
enum Step<'de> {
    Key(std::borrow::Cow<'de, str>),
    Index(usize),
}

/// A visitor that walks any JSON value, recording where it is.
struct KeyWalk<'p, 'de> {
    path: &'p mut Vec<Step<'de>>,
    /// Set to (JSONPath of the object, key) at the first duplicate.
    found: &'p mut Option<(String, String)>,
}

impl KeyWalk<'_, '_> {
    fn json_path(&self) -> String {
        json_path(self.path.iter().map(|s| match s {
            Step::Key(k) => k.to_string(),
            Step::Index(i) => i.to_string(),
        }))
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for KeyWalk<'_, 'de> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for KeyWalk<'_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0;
        loop {
            self.path.push(Step::Index(i));
            let more = seq.next_element_seed(KeyWalk {
                path: &mut *self.path,
                found: &mut *self.found,
            })?;
            self.path.pop();
            if more.is_none() {
                return Ok(());
            }
            i += 1;
        }
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        // Borrowed from the input when the key has no escapes; a short
        // object (the usual case) is searched linearly, without hashing.
        let mut few: Vec<std::borrow::Cow<'de, str>> = Vec::new();
        let mut many: HashSet<std::borrow::Cow<'de, str>> = HashSet::new();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let seen = if many.is_empty() {
                few.contains(&key)
            } else {
                many.contains(&key)
            };
            if seen {
                *self.found = Some((self.json_path(), key.into_owned()));
                return Err(serde::de::Error::custom("duplicate key"));
            }
            self.path.push(Step::Key(key.clone()));
            map.next_value_seed(KeyWalk {
                path: &mut *self.path,
                found: &mut *self.found,
            })?;
            self.path.pop();
            if many.is_empty() && few.len() < 16 {
                few.push(key);
            } else {
                many.extend(few.drain(..));
                many.insert(key);
            }
        }
        Ok(())
    }
}

/// Reads an object key, borrowing it from the input when it can.
struct KeySeed;

impl<'de> serde::de::DeserializeSeed<'de> for KeySeed {
    type Value = std::borrow::Cow<'de, str>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> serde::de::Visitor<'de> for KeySeed {
    type Value = std::borrow::Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(std::borrow::Cow::Borrowed(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(std::borrow::Cow::Owned(v.to_owned()))
    }
}

/// Parses a document known to be valid (the embedded default) without
/// compiling the schema validators.
fn parse_trusted(name: &str, bytes: &[u8]) -> Result<Document, FixtureError> {
    let file = serde_json::from_slice::<FixtureFile<RawTag>>(bytes)
        .map_err(|e| FixtureError::one(name, "$", format!("not valid JSON: {e}")))?;
    Ok(Document {
        name: name.to_owned(),
        file,
        trusted: true,
    })
}

/// Parses and validates a whole document as one JSON tree.
fn parse_whole(name: &str, bytes: &[u8]) -> Result<FixtureFile, FixtureError> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| FixtureError::one(name, "$", format!("not valid JSON: {e}")))?;
    let problems = schema_problems(name, &value)?;
    if !problems.is_empty() {
        return Err(FixtureError { problems });
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = format!("$.{}", e.path()).replace(".[", "[");
        FixtureError::one(name, path.trim_end_matches('.'), e.inner().to_string())
    })
}

/// The validator of one tag: the schema's own `swrTag` definition.
static TAG_VALIDATOR: LazyLock<Result<jsonschema::Validator, String>> =
    LazyLock::new(|| def_validator("swrTag"));

/// The validator of one image: the schema's own `image` definition.
static IMAGE_VALIDATOR: LazyLock<Result<jsonschema::Validator, String>> =
    LazyLock::new(|| def_validator("image"));

/// A validator of one definition (`$defs/NAME`) of the fixture schema.
fn def_validator(name: &str) -> Result<jsonschema::Validator, String> {
    let mut schema: Value = serde_json::from_str(SCHEMA).map_err(|e| e.to_string())?;
    let root = schema
        .as_object_mut()
        .ok_or("the schema is not an object")?;
    for keyword in [
        "properties",
        "additionalProperties",
        "required",
        "type",
        "title",
        "description",
    ] {
        root.remove(keyword);
    }
    root.insert("$ref".into(), Value::String(format!("#/$defs/{name}")));
    jsonschema::validator_for(&schema).map_err(|e| e.to_string())
}

/// Validates one raw tag against the schema and reads it. Errors are
/// `(path below the tag, message)`.
pub(crate) fn parse_tag(raw: &RawTag) -> Result<TagDoc, Vec<(String, String)>> {
    parse_item(raw, &TAG_VALIDATOR)
}

/// What the fixture schema finds wrong with `value` of the file `name`
/// (at most [`FixtureError::MAX_PROBLEMS`]); empty when it is valid.
fn schema_problems(name: &str, value: &Value) -> Result<Vec<Problem>, FixtureError> {
    let validator = VALIDATOR
        .as_ref()
        .map_err(|e| FixtureError::one("fixtures/schema.json", "$", e.clone()))?;
    if validator.is_valid(value) {
        return Ok(Vec::new());
    }
    Ok(validator
        .iter_errors(value)
        .take(FixtureError::MAX_PROBLEMS)
        .map(|e| Problem {
            file: name.to_owned(),
            path: json_path(e.instance_path().segments().map(|s| s.to_string())),
            message: e.to_string(),
        })
        .collect())
}

/// Validates one raw item against its schema definition and reads it.
fn parse_item<T: serde::de::DeserializeOwned>(
    raw: &RawTag,
    validator: &Result<jsonschema::Validator, String>,
) -> Result<T, Vec<(String, String)>> {
    let value: Value =
        serde_json::from_str(raw.get()).map_err(|e| vec![(String::new(), e.to_string())])?;
    let validator = validator
        .as_ref()
        .map_err(|e| vec![(String::new(), e.clone())])?;
    if !validator.is_valid(&value) {
        return Err(validator
            .iter_errors(&value)
            .take(FixtureError::MAX_PROBLEMS)
            .map(|e| {
                let below = json_path(e.instance_path().segments().map(|s| s.to_string()));
                (below.trim_start_matches('$').to_owned(), e.to_string())
            })
            .collect());
    }
    serde_json::from_value(value).map_err(|e| vec![(String::new(), e.to_string())])
}

/// Renders JSON Pointer segments as a JSONPath (`$.a.b[0]`).
fn json_path(segments: impl Iterator<Item = String>) -> String {
    let mut out = String::from("$");
    for s in segments {
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(&format!("[{s}]"));
        } else if s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$')
        {
            out.push('.');
            out.push_str(&s);
        } else {
            out.push_str(&format!("[{}]", Value::String(s)));
        }
    }
    out
}

/// A parsed fixture file and the name it is reported under.
struct Document {
    name: String,
    file: FixtureFile<RawTag>,
    /// Already known valid: tags are read without the schema.
    trusted: bool,
}

/// The top level of a fixture file. See `fixtures/schema.json` for the documentation
/// of every field.
/// A tag as it sits in a parsed file: its raw JSON (about 40 bytes), turned
/// into a [`TagDoc`] only when the store is built. A million-tag fixture thus
/// never holds a million `TagDoc`s or a million-node JSON tree at once.
pub(crate) type RawTag = Box<serde_json::value::RawValue>;

/// What a repository's `tags` list holds: [`TagDoc`]s (export) or [`RawTag`]s
/// (load); and what a project's `images` list holds: [`ImageDoc`]s or raw
/// JSON, the same way.
pub(crate) trait TagItem {
    /// Whether to leave the tags and images out when the rest of the
    /// document is serialised for schema validation (raw ones are validated
    /// one by one).
    const VALIDATED_APART: bool;
    /// An image of a project's `images` list.
    type Image: fmt::Debug + Clone + Serialize + serde::de::DeserializeOwned;
}

impl TagItem for TagDoc {
    const VALIDATED_APART: bool = false;
    type Image = ImageDoc;
}

impl TagItem for RawTag {
    const VALIDATED_APART: bool = true;
    type Image = RawTag;
}

fn validated_apart<T: TagItem>(_: &[T]) -> bool {
    T::VALIDATED_APART
}

fn images_validated_apart<T: TagItem>(_: &[T::Image]) -> bool {
    T::VALIDATED_APART
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FixtureFile<T: TagItem = TagDoc> {
    #[serde(rename = "$schema")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) _schema: Option<String>,
    #[serde(rename = "description")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) _description: Option<String>,
    #[serde(default)]
    pub(crate) iam: IamSection,
    #[serde(default = "Default::default")]
    pub(crate) ims: ImsSection<T>,
    #[serde(default = "Default::default")]
    pub(crate) swr: SwrSection<T>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) faults: Vec<crate::control::faults::FaultRule>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct IamSection {
    #[serde(default)]
    pub(crate) domains: Vec<DomainDoc>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DomainDoc {
    pub(crate) id: String,
    #[serde(rename = "name")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) _name: Option<String>,
    #[serde(default)]
    pub(crate) projects: Vec<IamProjectDoc>,
    #[serde(default)]
    pub(crate) access_keys: Vec<AccessKeyDoc>,
    #[serde(default)]
    pub(crate) tokens: Vec<TokenDoc>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct IamProjectDoc {
    pub(crate) id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) regions: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AccessKeyDoc {
    pub(crate) access: String,
    /// Never exported: `None` in the export and in the persisted state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) projects: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TokenDoc {
    /// The token itself (fixtures); exports give `token_sha256` instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) token: Option<String>,
    /// Lowercase hex SHA-256 of the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) token_sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) projects: Option<Vec<String>>,
}

/// A credential waiting for its account's projects to be known (accounts
/// merge across files), with where it was defined.
struct PendingCredential {
    domain: String,
    scope: Option<Vec<String>>,
    secret: PendingSecret,
    file: String,
    path: String,
}

enum PendingSecret {
    /// `secret` is `None` when the document left it out (an export).
    AccessKey {
        access: String,
        secret: Option<String>,
    },
    /// The token's SHA-256.
    Token([u8; 32]),
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ImsSection<T: TagItem = TagDoc> {
    #[serde(default = "Vec::new")]
    pub(crate) projects: Vec<ProjectDoc<T>>,
}

impl<T: TagItem> Default for ImsSection<T> {
    fn default() -> Self {
        Self {
            projects: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProjectDoc<T: TagItem = TagDoc> {
    pub(crate) id: String,
    #[serde(
        default = "Vec::new",
        skip_serializing_if = "images_validated_apart::<T>"
    )]
    pub(crate) images: Vec<T::Image>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ImageDoc {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) status: Option<String>,
    #[serde(default)]
    pub(crate) tags: Vec<ImageTagDoc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) imagetype: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) platform: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) os_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) min_disk: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) member_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) virtual_env_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) enterprise_project_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) architecture: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) created_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) updated_at: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ImageTagDoc {
    pub(crate) key: String,
    #[serde(default)]
    pub(crate) value: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SwrSection<T: TagItem = TagDoc> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) internal_registry_host: Option<String>,
    #[serde(default = "Vec::new")]
    pub(crate) namespaces: Vec<NamespaceDoc<T>>,
}

impl<T: TagItem> Default for SwrSection<T> {
    fn default() -> Self {
        Self {
            internal_registry_host: None,
            namespaces: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NamespaceDoc<T: TagItem = TagDoc> {
    pub(crate) name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) domain_id: Option<String>,
    #[serde(default = "Vec::new")]
    pub(crate) repositories: Vec<RepositoryDoc<T>>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RepositoryDoc<T: TagItem = TagDoc> {
    pub(crate) name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) id: Option<i64>,
    #[serde(default = "Vec::new", skip_serializing_if = "validated_apart")]
    pub(crate) tags: Vec<T>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TagDoc {
    pub(crate) tag: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) image_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) manifest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) digest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) schema: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) internal_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) size: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) is_trusted: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) created: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) updated: Option<String>,
    #[serde(default, deserialize_with = "explicit_null")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) deleted: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) scanned: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) tag_type: Option<i64>,
}

/// Tells `"deleted": null` (kept as `Some(None)`) from an absent field (`None`).
fn explicit_null<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// The digest of a token entry: the SHA-256 of `token`, or `token_sha256`
/// (the schema requires exactly one, as 64 lowercase hex digits).
fn token_doc_digest(doc: &TokenDoc) -> [u8; 32] {
    match (&doc.token, &doc.token_sha256) {
        (Some(token), _) => super::iam::Iam::token_digest(token),
        (None, Some(hex)) => {
            let mut out = [0; 32];
            // Checked by the schema's pattern; a bad value gives a digest no token has.
            let _ = hex::decode_to_slice(hex, &mut out);
            out
        }
        (None, None) => [0; 32],
    }
}

/// Step 4: cross-file checks and derivation.
struct Builder<'a> {
    settings: &'a SeedSettings,
    /// Secret keys by AK, for access keys a document gives without one.
    known_secrets: HashMap<Arc<str>, Arc<str>>,
    /// Leave out (with a warning) an AK whose secret nobody knows, instead
    /// of refusing the document.
    drop_unknown_secrets: bool,
    problems: Vec<Problem>,
    inner: Inner,
    /// Where each namespace's domain and each repository were first defined.
    seen_repos: HashMap<(String, String), String>,
    /// Where each image id was first defined: (document, project, image).
    seen_images: HashMap<Arc<str>, (usize, usize, usize)>,
    /// Names of the documents loaded so far, by number.
    doc_names: Vec<String>,
    ns_domains: HashMap<String, (String, String)>,
    /// One shared string per distinct value of low-variety image fields.
    interned: HashSet<Arc<str>>,
    /// Explicit ids, reserved before derived ones are handed out.
    used_repo_ids: HashSet<i64>,
    used_tag_ids: HashSet<i64>,
    next_repo_id: i64,
    next_tag_id: i64,
    /// IAM projects by id, with the account that owns them and where.
    project_owners: HashMap<String, (String, String)>,
    /// Credentials to resolve once every account's projects are known.
    credentials: Vec<PendingCredential>,
    /// Accounts as defined (merged across files), for export.
    domain_docs: indexmap::IndexMap<String, DomainDoc>,
    /// AKs and token digests already defined, with where.
    seen_credentials: HashMap<Vec<u8>, String>,
}

impl<'a> Builder<'a> {
    fn new(settings: &'a SeedSettings) -> Self {
        Self {
            settings,
            known_secrets: HashMap::new(),
            interned: HashSet::new(),
            drop_unknown_secrets: false,
            problems: Vec::new(),
            inner: Inner::default(),
            seen_repos: HashMap::new(),
            seen_images: HashMap::new(),
            doc_names: Vec::new(),
            ns_domains: HashMap::new(),
            used_repo_ids: HashSet::new(),
            used_tag_ids: HashSet::new(),
            next_repo_id: 1,
            next_tag_id: 1,
            project_owners: HashMap::new(),
            credentials: Vec::new(),
            domain_docs: indexmap::IndexMap::new(),
            seen_credentials: HashMap::new(),
        }
    }

    fn problem(&mut self, file: &str, path: String, message: String) {
        if self.problems.len() < FixtureError::MAX_PROBLEMS {
            self.problems.push(Problem {
                file: file.to_owned(),
                path,
                message,
            });
        }
    }

    fn build(
        mut self,
        docs: Vec<Document>,
    ) -> Result<(Inner, Vec<crate::control::faults::FaultRule>), FixtureError> {
        self.reserve_ids(&docs);
        let mut faults = Vec::new();
        for mut doc in docs {
            self.doc_names.push(doc.name.clone());
            self.load_iam(&doc);
            self.load_ims(&mut doc);
            self.load_swr(&mut doc);
            for (i, rule) in doc.file.faults.iter().enumerate() {
                match rule.validate() {
                    Ok(()) => faults.push(crate::control::faults::FaultRule {
                        id: None,
                        ..rule.clone()
                    }),
                    Err(message) => self.problem(&doc.name, format!("$.faults[{i}]"), message),
                }
            }
        }
        self.resolve_credentials();
        if !self.problems.is_empty() {
            return Err(FixtureError {
                problems: self.problems,
            });
        }
        for project in self.inner.projects.values_mut() {
            project.refresh_summary();
        }
        self.inner.iam.export = self.domain_docs.into_values().collect();
        let repos = self
            .inner
            .namespaces
            .values()
            .flat_map(|ns| ns.repos.values());
        let (max_repo, max_tag) = repos.fold((0, 0), |(r, t), repo| {
            let top = repo.by_name.iter().map(|tag| tag.id).max().unwrap_or(0);
            (r.max(repo.id), t.max(top))
        });
        self.inner.next_repo_id = max_repo + 1;
        self.inner.next_tag_id = max_tag + 1;
        self.inner.registry_host = self.settings.registry_host.as_str().into();
        Ok((self.inner, faults))
    }

    /// Collects explicit repository and tag ids so derived ids never collide with them.
    fn reserve_ids(&mut self, docs: &[Document]) {
        let mut repo_ids: HashMap<i64, String> = HashMap::new();
        let mut tag_ids: HashMap<i64, String> = HashMap::new();
        for doc in docs {
            for (n, ns) in doc.file.swr.namespaces.iter().enumerate() {
                for (r, repo) in ns.repositories.iter().enumerate() {
                    let path = format!("$.swr.namespaces[{n}].repositories[{r}]");
                    if let Some(id) = repo.id
                        && let Some(first) = repo_ids.insert(id, format!("{} at {path}", doc.name))
                    {
                        self.problem(
                            &doc.name,
                            format!("{path}.id"),
                            format!("repository id {id} is already used by {first}"),
                        );
                    }
                    for (t, raw) in repo.tags.iter().enumerate() {
                        // Most tags carry no id: skip parsing those here.
                        if !raw.get().contains("\"id\"") {
                            continue;
                        }
                        if let Ok(TagDoc { id: Some(id), .. }) = parse_tag(raw) {
                            let tpath = format!("{path}.tags[{t}]");
                            if let Some(first) =
                                tag_ids.insert(id, format!("{} at {tpath}", doc.name))
                            {
                                self.problem(
                                    &doc.name,
                                    format!("{tpath}.id"),
                                    format!("tag id {id} is already used by {first}"),
                                );
                            }
                        }
                    }
                }
            }
        }
        self.used_repo_ids = repo_ids.into_keys().collect();
        self.used_tag_ids = tag_ids.into_keys().collect();
    }

    fn fresh_repo_id(&mut self) -> i64 {
        while self.used_repo_ids.contains(&self.next_repo_id) {
            self.next_repo_id += 1;
        }
        self.next_repo_id += 1;
        self.next_repo_id - 1
    }

    fn fresh_tag_id(&mut self) -> i64 {
        while self.used_tag_ids.contains(&self.next_tag_id) {
            self.next_tag_id += 1;
        }
        self.next_tag_id += 1;
        self.next_tag_id - 1
    }

    fn load_iam(&mut self, doc: &Document) {
        for (d, domain) in doc.file.iam.domains.iter().enumerate() {
            let path = format!("$.iam.domains[{d}]");
            let merged = self
                .domain_docs
                .entry(domain.id.clone())
                .or_insert_with(|| DomainDoc {
                    id: domain.id.clone(),
                    _name: domain._name.clone(),
                    projects: Vec::new(),
                    access_keys: Vec::new(),
                    tokens: Vec::new(),
                });
            merged.projects.extend(domain.projects.iter().cloned());
            // Kept for export, without secrets: SKs stay only in the key
            // table, tokens only as digests.
            merged
                .access_keys
                .extend(domain.access_keys.iter().map(|k| AccessKeyDoc {
                    secret: None,
                    ..k.clone()
                }));
            merged.tokens.extend(domain.tokens.iter().map(|t| TokenDoc {
                token: None,
                token_sha256: Some(hex::encode(token_doc_digest(t))),
                projects: t.projects.clone(),
            }));
            for (p, project) in domain.projects.iter().enumerate() {
                let ppath = format!("{path}.projects[{p}]");
                if let Some((owner, at)) = self.project_owners.get(&project.id) {
                    let message = format!(
                        "project {} is already defined (owned by {owner}) by {at}",
                        project.id
                    );
                    self.problem(&doc.name, format!("{ppath}.id"), message);
                    continue;
                }
                let at = format!("{} at {ppath}", doc.name);
                self.project_owners
                    .insert(project.id.clone(), (domain.id.clone(), at));
                let regions: Option<Vec<Arc<str>>> = project
                    .regions
                    .as_ref()
                    .map(|rs| rs.iter().map(|r| Arc::from(r.as_str())).collect());
                let name = project
                    .name
                    .clone()
                    .or_else(|| project.regions.as_ref().and_then(|rs| rs.first().cloned()))
                    .unwrap_or_else(|| project.id.clone());
                self.inner.iam.projects.push(super::IamProject {
                    id: project.id.as_str().into(),
                    name: name.into(),
                    domain_id: domain.id.as_str().into(),
                    regions,
                });
            }
            let keys = domain
                .access_keys
                .iter()
                .enumerate()
                .map(|(k, key)| PendingCredential {
                    domain: domain.id.clone(),
                    scope: key.projects.clone(),
                    secret: PendingSecret::AccessKey {
                        access: key.access.clone(),
                        secret: key.secret.clone(),
                    },
                    file: doc.name.clone(),
                    path: format!("{path}.access_keys[{k}]"),
                });
            let tokens = domain
                .tokens
                .iter()
                .enumerate()
                .map(|(t, token)| PendingCredential {
                    domain: domain.id.clone(),
                    scope: token.projects.clone(),
                    secret: PendingSecret::Token(token_doc_digest(token)),
                    file: doc.name.clone(),
                    path: format!("{path}.tokens[{t}]"),
                });
            let pending: Vec<_> = keys.chain(tokens).collect();
            self.credentials.extend(pending);
        }
    }

    /// Turns credentials into callers now that every account's projects are known.
    fn resolve_credentials(&mut self) {
        for cred in std::mem::take(&mut self.credentials) {
            let owned: Vec<Arc<str>> = self
                .inner
                .iam
                .projects
                .iter()
                .filter(|p| *p.domain_id == *cred.domain)
                .map(|p| p.id.clone())
                .collect();
            let projects: Vec<Arc<str>> = match &cred.scope {
                None => owned,
                Some(scope) => {
                    for (i, id) in scope.iter().enumerate() {
                        if !owned.iter().any(|p| **p == **id) {
                            let message =
                                format!("project {id} is not a project of domain {}", cred.domain);
                            self.problem(
                                &cred.file,
                                format!("{}.projects[{i}]", cred.path),
                                message,
                            );
                        }
                    }
                    scope.iter().map(|id| Arc::from(id.as_str())).collect()
                }
            };
            let caller = super::Caller {
                domain_id: cred.domain.as_str().into(),
                projects: projects.into(),
            };
            let (key, what) = match &cred.secret {
                PendingSecret::AccessKey { access, .. } => {
                    (access.as_bytes().to_vec(), format!("access key {access}"))
                }
                PendingSecret::Token(digest) => (digest.to_vec(), "this token".to_owned()),
            };
            let here = format!("{} at {}", cred.file, cred.path);
            if let Some(first) = self.seen_credentials.get(&key) {
                let message = format!("{what} is already defined by {first}");
                self.problem(&cred.file, cred.path.clone(), message);
                continue;
            }
            self.seen_credentials.insert(key, here);
            match cred.secret {
                PendingSecret::AccessKey { access, secret } => {
                    let secret: Arc<str> = match secret {
                        Some(s) => s.into(),
                        None => match self.known_secrets.get(access.as_str()) {
                            Some(s) => s.clone(),
                            None if self.drop_unknown_secrets => {
                                tracing::warn!(
                                    ak = %access,
                                    "access key {access} in {} has no secret key, and no fixture gives one: it is left out (secret keys are never written to exports or the persisted state)",
                                    cred.file
                                );
                                continue;
                            }
                            None => {
                                let message = format!(
                                    "access key {access} has no `secret`, and the server knows none for it (exports leave secret keys out: give it here or in a fixture)"
                                );
                                self.problem(&cred.file, format!("{}.secret", cred.path), message);
                                continue;
                            }
                        },
                    };
                    let key = super::AccessKey { caller, secret };
                    self.inner.iam.access_keys.insert(access.into(), key);
                }
                PendingSecret::Token(digest) => {
                    self.inner.iam.tokens.insert(digest, caller);
                }
            }
        }
    }

    /// Loads the projects of a document, consuming its raw images (each is
    /// freed once its record is built).
    fn load_ims(&mut self, doc: &mut Document) {
        let trusted = doc.trusted;
        for (p, project_doc) in doc.file.ims.projects.iter_mut().enumerate() {
            let mut project = self
                .inner
                .projects
                .remove(project_doc.id.as_str())
                .unwrap_or_default();
            let project_id: Arc<str> = project_doc.id.as_str().into();
            let raws = std::mem::take(&mut project_doc.images);
            for (i, raw) in raws.into_iter().enumerate() {
                let path = format!("$.ims.projects[{p}].images[{i}]");
                let parsed = if trusted {
                    serde_json::from_str::<ImageDoc>(raw.get())
                        .map_err(|e| vec![(String::new(), e.to_string())])
                } else {
                    parse_item::<ImageDoc>(&raw, &IMAGE_VALIDATOR)
                };
                drop(raw);
                let image_doc = match parsed {
                    Ok(d) => d,
                    Err(problems) => {
                        for (below, message) in problems {
                            self.problem(&doc.name, format!("{path}{below}"), message);
                        }
                        continue;
                    }
                };
                let image_doc = &image_doc;
                let ordinal = project.images.len() + 1;
                let id: Arc<str> = match &image_doc.id {
                    Some(id) => id.as_str().into(),
                    None => derived_uuid(&format!("image:{}:{ordinal}", project_doc.id)).into(),
                };
                if let Some(&(d, fp, fi)) = self.seen_images.get(&id) {
                    let first = format!(
                        "{} at $.ims.projects[{fp}].images[{fi}]",
                        self.doc_names.get(d).map_or("?", String::as_str)
                    );
                    let message = format!("image {id} is already defined by {first}");
                    self.problem(&doc.name, format!("{path}.id"), message);
                    continue;
                }
                let doc_no = self.doc_names.len().saturating_sub(1);
                self.seen_images.insert(id.clone(), (doc_no, p, i));
                let mut keys = HashSet::new();
                for (t, tag) in image_doc.tags.iter().enumerate() {
                    if !keys.insert(tag.key.as_str()) {
                        let message = format!("tag key {:?} appears twice on this image", tag.key);
                        self.problem(&doc.name, format!("{path}.tags[{t}].key"), message);
                    }
                }
                let mut time = |field: &Option<String>, name: &str| -> Option<i64> {
                    let text = field.as_deref()?;
                    match model::parse_time(text) {
                        Ok(secs) => Some(secs),
                        Err(message) => {
                            self.problem(&doc.name, format!("{path}.{name}"), message);
                            None
                        }
                    }
                };
                let fallback = DERIVED_TIME_BASE + 60 * ordinal as i64;
                let created_at = time(&image_doc.created_at, "created_at").unwrap_or(fallback);
                let updated_at = time(&image_doc.updated_at, "updated_at").unwrap_or(created_at);
                // Low-variety fields share one string per distinct value.
                let interned = &mut self.interned;
                let mut text = |v: &Option<String>, default: &str| -> Arc<str> {
                    let v = v.as_deref().unwrap_or(default);
                    match interned.get(v) {
                        Some(shared) => shared.clone(),
                        None => {
                            let shared: Arc<str> = v.into();
                            interned.insert(shared.clone());
                            shared
                        }
                    }
                };
                let image = Image {
                    id,
                    name: image_doc
                        .name
                        .clone()
                        .unwrap_or_else(|| format!("image-{ordinal}"))
                        .into(),
                    status: text(&image_doc.status, "active"),
                    tags: image_doc
                        .tags
                        .iter()
                        .map(|t| (Arc::from(t.key.as_str()), Arc::from(t.value.as_str())))
                        .collect(),
                    image_type: text(&image_doc.imagetype, "private"),
                    platform: text(&image_doc.platform, "Ubuntu"),
                    os_type: text(&image_doc.os_type, "Linux"),
                    min_disk: image_doc.min_disk.unwrap_or(40),
                    member_status: image_doc
                        .member_status
                        .as_ref()
                        .map(|m| text(&Some(m.clone()), "")),
                    virtual_env_type: text(&image_doc.virtual_env_type, "FusionCompute"),
                    enterprise_project_id: text(&image_doc.enterprise_project_id, "0"),
                    architecture: text(&image_doc.architecture, "x86"),
                    created_at,
                    updated_at,
                };
                self.inner
                    .image_projects
                    .insert(image.id.clone(), project_id.clone());
                project.push_image(image);
            }
            self.inner
                .projects
                .insert(project_doc.id.as_str().into(), project);
        }
    }

    /// Loads the namespaces of a document, consuming its raw tags (each is
    /// freed once its record is built).
    fn load_swr(&mut self, doc: &mut Document) {
        let (name, trusted) = (doc.name.clone(), doc.trusted);
        let internal_host: Arc<str> = doc
            .file
            .swr
            .internal_registry_host
            .as_deref()
            .unwrap_or(DEFAULT_INTERNAL_HOST)
            .into();
        let registry_host: Arc<str> = self.settings.registry_host.as_str().into();
        for (n, ns_doc) in doc.file.swr.namespaces.iter_mut().enumerate() {
            let ns_path = format!("$.swr.namespaces[{n}]");
            let domain_id = ns_doc.domain_id.as_deref().unwrap_or(DEFAULT_DOMAIN_ID);
            match self.ns_domains.get(&ns_doc.name) {
                Some((first_domain, first_at)) if first_domain != domain_id => {
                    let message = format!(
                        "namespace {} belongs to domain {first_domain} ({first_at}), not {domain_id}",
                        ns_doc.name
                    );
                    self.problem(&name, format!("{ns_path}.domain_id"), message);
                    continue;
                }
                Some(_) => {}
                None => {
                    let at = format!("{name} at {ns_path}");
                    self.ns_domains
                        .insert(ns_doc.name.clone(), (domain_id.to_owned(), at));
                }
            }
            let domain_id: Arc<str> = domain_id.into();
            let mut repos = Vec::new();
            for (r, repo_doc) in ns_doc.repositories.iter_mut().enumerate() {
                let path = format!("{ns_path}.repositories[{r}]");
                let key = (ns_doc.name.clone(), repo_doc.name.clone());
                if let Some(first) = self.seen_repos.get(&key) {
                    let message = format!(
                        "repository {}/{} is already defined by {first}",
                        ns_doc.name, repo_doc.name
                    );
                    self.problem(&name, format!("{path}.name"), message);
                    continue;
                }
                self.seen_repos.insert(key, format!("{name} at {path}"));
                let ctx = Arc::new(RepoContext {
                    namespace: ns_doc.name.as_str().into(),
                    repository: repo_doc.name.as_str().into(),
                    domain_id: domain_id.clone(),
                    registry_host: registry_host.clone(),
                    internal_host: internal_host.clone(),
                });
                let repo_id = match repo_doc.id {
                    Some(id) => id,
                    None => self.fresh_repo_id(),
                };
                let raw = std::mem::take(&mut repo_doc.tags);
                let tags = self.load_tags(&name, trusted, &path, repo_id, raw);
                repos.push((repo_doc.name.as_str().into(), Repo::new(ctx, repo_id, tags)));
            }
            let ns = self
                .inner
                .namespaces
                .entry(ns_doc.name.as_str().into())
                .or_insert_with(|| Namespace {
                    domain_id,
                    repos: HashMap::new(),
                });
            ns.repos.extend(repos);
        }
    }

    fn load_tags(
        &mut self,
        file: &str,
        trusted: bool,
        repo_path: &str,
        repo_id: i64,
        docs: Vec<RawTag>,
    ) -> Vec<Arc<SwrTag>> {
        let mut names = HashSet::new();
        let mut tags = Vec::with_capacity(docs.len());
        for (t, raw) in docs.into_iter().enumerate() {
            // Built only when something is wrong: most fixtures have no errors.
            let path = || format!("{repo_path}.tags[{t}]");
            let parsed = if trusted {
                serde_json::from_str::<TagDoc>(raw.get())
                    .map_err(|e| vec![(String::new(), e.to_string())])
            } else {
                parse_tag(&raw)
            };
            drop(raw);
            let parsed = match parsed {
                Ok(d) => d,
                Err(problems) => {
                    for (below, message) in problems {
                        self.problem(file, format!("{}{below}", path()), message);
                    }
                    continue;
                }
            };
            let d = &parsed;
            let name: Arc<str> = d.tag.as_str().into();
            if !names.insert(name.clone()) {
                let message = format!("tag {:?} appears twice in this repository", d.tag);
                self.problem(file, format!("{}.tag", path()), message);
                continue;
            }
            let id = match d.id {
                Some(id) => id,
                None => self.fresh_tag_id(),
            };
            match derive_tag(d, name, repo_id, id, DERIVED_TIME_BASE + t as i64) {
                Ok(tag) => tags.push(Arc::new(tag)),
                Err(problems) => {
                    for (field, message) in problems {
                        self.problem(file, format!("{}.{field}", path()), message);
                    }
                }
            }
        }
        tags
    }
}

/// Builds a tag record from its fixture form, deriving what it leaves out;
/// `fallback_time` is used when it gives neither `created` nor `updated`.
/// Errors name the field.
pub(crate) fn derive_tag(
    d: &TagDoc,
    name: Arc<str>,
    repo_id: i64,
    id: i64,
    fallback_time: i64,
) -> Result<SwrTag, Vec<(String, String)>> {
    let mut problems = Vec::new();
    let mut time = |field: &Option<String>, name: &str| -> Option<i64> {
        let text = field.as_deref()?;
        match model::parse_time(text) {
            Ok(secs) if (0..=253_402_300_799).contains(&secs) => Some(secs),
            Ok(_) => {
                problems.push((
                    name.to_owned(),
                    format!("`{text}` is outside the years 1970-9999"),
                ));
                None
            }
            Err(message) => {
                problems.push((name.to_owned(), message));
                None
            }
        }
    };
    let created = time(&d.created, "created");
    let updated = time(&d.updated, "updated");
    if !problems.is_empty() {
        return Err(problems);
    }
    let (created, updated) = match (created, updated) {
        (Some(c), Some(u)) => (c, u),
        (Some(c), None) => (c, c),
        (None, Some(u)) => (u, u),
        (None, None) => (fallback_time, fallback_time),
    };
    let arc = |v: &Option<String>| v.as_deref().map(Arc::from);
    let explicit = model::Explicit {
        image_id: arc(&d.image_id),
        digest: arc(&d.digest),
        manifest: arc(&d.manifest),
        path: arc(&d.path),
        internal_path: arc(&d.internal_path),
        deleted: d.deleted.clone().flatten().map(Arc::from),
    };
    Ok(SwrTag {
        id,
        repo_id,
        name,
        schema: d.schema.unwrap_or(2),
        size: d.size,
        is_trusted: d.is_trusted.unwrap_or(false),
        created,
        updated,
        scanned: d.scanned.unwrap_or(false),
        tag_type: d.tag_type.unwrap_or(0),
        explicit: explicit.boxed(),
        json: Default::default(),
    })
}

/// A UUID-shaped (8-4-4-4-12 hex) id derived from a seed string.
fn derived_uuid(seed: &str) -> String {
    let h = hex_sha256(seed.as_bytes());
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> SeedSettings {
        SeedSettings {
            registry_host: "registry.example".into(),
        }
    }

    fn load_json(text: &str) -> Result<Store, FixtureError> {
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

    #[test]
    fn schema_errors_name_the_file_and_json_path() {
        let err = load_json(r#"{"swr":{"namespaces":[{"name":"ns","repositories":[{"name":"r","tags":[{"tag":"x","size":"big"}]}]}]}}"#)
            .unwrap_err();
        let p = &err.problems[0];
        assert_eq!(p.file, "t.json");
        assert_eq!(p.path, "$.swr.namespaces[0].repositories[0].tags[0].size");
        assert!(p.message.contains("integer"), "{}", p.message);
    }

    #[test]
    fn unknown_fields_are_rejected_with_their_path() {
        let err = load_json(r#"{"ims":{"projects":[{"id":"p","imagez":[]}]}}"#).unwrap_err();
        assert_eq!(err.problems[0].path, "$.ims.projects[0]");
        assert!(err.to_string().contains("imagez"), "{err}");
    }

    #[test]
    fn syntax_errors_say_where() {
        let err = load_json("{\"ims\": ").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("bad fixture t.json: at $: not valid JSON"),
            "{err}"
        );
        assert!(err.to_string().contains("line 1"), "{err}");
    }

    #[test]
    fn duplicates_and_bad_times_are_reported_together() {
        let err = load_json(
            r#"{"swr":{"namespaces":[{"name":"ns","repositories":[
                {"name":"r","tags":[{"tag":"a"},{"tag":"a"},{"tag":"b","updated":"soon"}]},
                {"name":"r"}]}]}}"#,
        )
        .unwrap_err();
        let paths: Vec<&str> = err.problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "$.swr.namespaces[0].repositories[0].tags[1].tag",
                "$.swr.namespaces[0].repositories[0].tags[2].updated",
                "$.swr.namespaces[0].repositories[1].name",
            ]
        );
    }

    #[test]
    fn derived_ids_skip_explicit_ones() {
        let store = load_json(
            r#"{"swr":{"namespaces":[{"name":"ns","repositories":[{"name":"r","tags":[{"tag":"a"},{"tag":"b","id":1}]}]}]}}"#,
        )
        .unwrap();
        let page = store
            .list_tags(
                "ns",
                "r",
                &crate::store::PageQuery {
                    order: crate::store::Order {
                        column: crate::store::OrderColumn::Tag,
                        direction: crate::store::OrderType::Asc,
                    },
                    filter: None,
                    start: crate::store::Start::Offset(0),
                    limit: 10,
                },
            )
            .unwrap();
        let ids: Vec<i64> = page.tags.iter().map(|t| t.id).collect();
        assert_eq!(ids, [2, 1]);
    }

    #[test]
    fn credentials_resolve_to_their_accounts_projects() {
        let store = load_json(
            r#"{"iam":{"domains":[
                {"id":"d1","projects":[{"id":"p1"},{"id":"p2","regions":["r2"]}],
                 "access_keys":[{"access":"AK1","secret":"SK1"},{"access":"AK2","secret":"SK2","projects":["p2"]}],
                 "tokens":[{"token":"T1"}]}]}}"#,
        )
        .unwrap();
        let ak1 = store.access_key("AK1").unwrap();
        assert_eq!(&*ak1.secret, "SK1");
        assert!(ak1.caller.may_use_project("p1") && ak1.caller.may_use_project("p2"));
        let ak2 = store.access_key("AK2").unwrap().caller;
        assert!(!ak2.may_use_project("p1"));
        assert_eq!(store.token("T1").unwrap().domain_id.as_ref(), "d1");
        assert!(store.token("T2").is_none());
        let found: Vec<_> = store
            .discover_projects(&ak1.caller, Some("r2"))
            .into_iter()
            .map(|p| p.id)
            .collect();
        assert_eq!(found, [Arc::from("p1"), Arc::from("p2")]);
        assert_eq!(
            store.discover_projects(&ak1.caller, Some("r9")).len(),
            1,
            "p2 only serves r2"
        );
    }

    #[test]
    fn credential_mistakes_are_reported_with_their_paths() {
        let err = load_json(
            r#"{"iam":{"domains":[
                {"id":"d1","projects":[{"id":"p1"}],"access_keys":[{"access":"AK","secret":"S","projects":["p9"]}]},
                {"id":"d2","projects":[{"id":"p1"}],"access_keys":[{"access":"AK","secret":"S"}],"tokens":[{"token":"T"},{"token":"T"}]}]}}"#,
        )
        .unwrap_err();
        let paths: Vec<&str> = err.problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "$.iam.domains[1].projects[0].id",
                "$.iam.domains[0].access_keys[0].projects[0]",
                "$.iam.domains[1].access_keys[0]",
                "$.iam.domains[1].tokens[1]",
            ]
        );
        assert!(
            !err.to_string().contains("\"T\""),
            "tokens are never echoed: {err}"
        );
    }

    #[test]
    fn duplicate_keys_are_found_in_short_long_and_escaped_objects() {
        assert!(check_duplicate_keys("t", br#"{"a":[{"b":1},{"b":1}]}"#).is_ok());
        let err = check_duplicate_keys("t", br#"{"a":[{"b":1},{"b":1,"b":2}]}"#).unwrap_err();
        assert_eq!(err.problems[0].path, "$.a[1]");
        let long: Vec<String> = (0..40).map(|i| format!("\"k{i}\":{i}")).collect();
        let text = format!("{{\"x\":{{{},\"k33\":0}}}}", long.join(","));
        let err = check_duplicate_keys("t", text.as_bytes()).unwrap_err();
        assert_eq!(err.problems[0].path, "$.x");
        assert!(err.to_string().contains("\"k33\""), "{err}");
        let err = check_duplicate_keys("t", br#"{"\u0061":1,"a":2}"#).unwrap_err();
        assert_eq!(err.problems[0].path, "$");
        let err = check_duplicate_keys("t", b"[[[").unwrap_err();
        assert!(err.to_string().contains("not valid JSON"), "{err}");
    }

    #[test]
    fn json_paths_quote_odd_property_names() {
        let segs = ["a", "0", "odd key"].map(String::from);
        assert_eq!(json_path(segs.into_iter()), r#"$.a[0]["odd key"]"#);
    }
}
