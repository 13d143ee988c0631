//! Persisted rows: the state as key/value rows for `crate::store::persist`,
//! each value the export's own JSON record, and the way back from rows to a
//! store's contents through the same checks as a fixture.

use serde::Deserialize;

use super::document::{
    FixtureFile, IamSection, ImsSection, NamespaceDoc, ProjectDoc, RawTag, RepositoryDoc,
    SwrSection,
};
use super::export::{export_image, export_tag};
use super::parse::Document;
use super::{FixtureError, Secrets, SeedSettings, build_docs};
use crate::store::{DEFAULT_INTERNAL_HOST, Inner, Namespace, Repo, Store};

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
    serde_json::json!({
        "domain_id": &*ns.domain_id,
        "id": ns.id,
        "creator_name": &*ns.creator_name,
    })
    .to_string()
}

fn repo_row(repo: &Repo) -> String {
    serde_json::to_string(&super::export::repo_doc::<super::document::TagDoc>(
        "", repo,
    ))
    .unwrap_or_default()
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

/// Pushes each raw row of a child `table` (tags, images) onto its parent
/// in `parents`, found under the key part that `parent_key` picks. A row of
/// no known parent is refused with `orphan`; `bad` makes the errors.
fn attach_raw<P>(
    (table, rows): (&str, Vec<(String, String)>),
    parents: &mut indexmap::IndexMap<String, P>,
    parent_key: fn(&str) -> Option<&str>,
    children: fn(&mut P) -> &mut Vec<Box<serde_json::value::RawValue>>,
    orphan: &str,
    bad: impl Fn(&str, &str, String) -> FixtureError,
) -> Result<(), FixtureError> {
    for (key, value) in rows {
        let parent = parent_key(&key)
            .and_then(|parent| parents.get_mut(parent))
            .ok_or_else(|| bad(table, &key, orphan.to_owned()))?;
        let raw = serde_json::value::RawValue::from_string(value)
            .map_err(|e| bad(table, &key, e.to_string()))?;
        children(parent).push(raw);
    }
    Ok(())
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
        registry: None,
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
            #[serde(default)]
            id: Option<i64>,
            #[serde(default)]
            creator_name: Option<String>,
        }
        let row: NsRow =
            serde_json::from_str(&value).map_err(|e| bad("namespaces", &key, e.to_string()))?;
        namespaces.insert(
            key.clone(),
            NamespaceDoc {
                name: key,
                domain_id: Some(row.domain_id),
                id: row.id,
                creator_name: row.creator_name,
                repositories: Vec::new(),
            },
        );
    }
    let mut repos: indexmap::IndexMap<String, (String, RepositoryDoc<RawTag>)> = Default::default();
    for (key, value) in rows.repos {
        let (ns, repo) = key
            .split_once('\0')
            .ok_or_else(|| bad("repos", &key, "a key without its namespace".into()))?;
        // Rows of earlier versions hold only the id: the rest is derived.
        let mut row: serde_json::Value =
            serde_json::from_str(&value).map_err(|e| bad("repos", &key, e.to_string()))?;
        if let Some(fields) = row.as_object_mut() {
            fields.insert("name".into(), serde_json::Value::from(repo));
        }
        let row: RepositoryDoc<RawTag> =
            serde_json::from_value(row).map_err(|e| bad("repos", &key, e.to_string()))?;
        let doc = RepositoryDoc {
            name: repo.to_owned(),
            ..row
        };
        repos.insert(key.clone(), (ns.to_owned(), doc));
    }
    attach_raw(
        ("tags", rows.tags),
        &mut repos,
        |key| key.rsplit_once('\0').map(|(repo, _)| repo),
        |(_, repo)| &mut repo.tags,
        "a tag of no known repository",
        bad,
    )?;
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
    attach_raw(
        ("images", rows.images),
        &mut projects,
        |key| key.split_once('\0').map(|(project, _)| project),
        |project| &mut project.images,
        "an image of no known project",
        bad,
    )?;
    file.ims.projects = projects.into_values().collect();
    let doc = Document {
        name: name.to_owned(),
        file,
        trusted: false,
    };
    build_docs(vec![doc], settings, secrets).map(|(inner, _)| inner)
}

impl Store {
    /// The rows that record `changes` (everything when `changes.all`), read
    /// from the store as it is now: a row written later than the change
    /// holds a newer value, which is just as right.
    pub(crate) fn rows(&self, changes: &crate::store::Changes) -> Rows {
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
        for ns_name in &changes.namespaces {
            match inner.namespaces.get(ns_name) {
                Some(ns) => rows.put(Table::Namespaces, ns_name.to_string(), ns_row(ns)),
                None => rows.delete.push((Table::Namespaces, ns_name.to_string())),
            }
        }
        for (ns_name, repo_name) in &changes.repos {
            let key = repo_key(ns_name, repo_name);
            match inner
                .namespaces
                .get(ns_name)
                .and_then(|ns| ns.repos.get(repo_name))
            {
                Some(repo) => rows.put(Table::Repos, key, repo_row(repo)),
                None => rows.delete.push((Table::Repos, key)),
            }
        }
        for (ns_name, repo_name, tag) in &changes.tags {
            let key = repo_key(ns_name, repo_name);
            // A tag of a repository deleted since goes with it.
            let Some(ns) = inner.namespaces.get(ns_name) else {
                rows.delete.push((Table::Tags, tag_key(&key, tag)));
                continue;
            };
            let Some(repo) = ns.repos.get(repo_name) else {
                rows.delete.push((Table::Tags, tag_key(&key, tag)));
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
}
