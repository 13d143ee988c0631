//! Step 4: the cross-file checks (unique names and ids, merged projects and
//! namespaces) and the building of the store's records from parsed documents.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::derive::derive_tag;
use super::derive::derived_uuid;
use super::derived_time;
use super::document::{DomainDoc, ImageDoc, RawTag, TagDoc};
use super::iam::PendingCredential;
use super::parse::Document;
use super::schema::{IMAGE_VALIDATOR, parse_item, parse_tag};
use super::{FixtureError, Problem, SeedSettings};
use crate::store::model::{self, Image, SwrTag};
use crate::store::{DEFAULT_DOMAIN_ID, DEFAULT_INTERNAL_HOST, Inner, Namespace, Repo, RepoContext};

/// Step 4: cross-file checks and derivation.
pub(super) struct Builder<'a> {
    pub(super) settings: &'a SeedSettings,
    /// Secret keys by AK, for access keys a document gives without one.
    pub(super) known_secrets: HashMap<Arc<str>, Arc<str>>,
    /// Leave out (with a warning) an AK whose secret nobody knows, instead
    /// of refusing the document.
    pub(super) drop_unknown_secrets: bool,
    pub(super) problems: Vec<Problem>,
    pub(super) inner: Inner,
    /// Where each namespace's domain and each repository were first defined.
    pub(super) seen_repos: HashMap<(String, String), String>,
    /// Where each image id was first defined: (document, project, image).
    pub(super) seen_images: HashMap<Arc<str>, (usize, usize, usize)>,
    /// Names of the documents loaded so far, by number.
    pub(super) doc_names: Vec<String>,
    pub(super) ns_domains: HashMap<String, (String, String)>,
    /// One shared string per distinct value of low-variety image fields.
    pub(super) interned: HashSet<Arc<str>>,
    /// Explicit ids, reserved before derived ones are handed out.
    pub(super) used_repo_ids: HashSet<i64>,
    pub(super) used_tag_ids: HashSet<i64>,
    pub(super) next_repo_id: i64,
    pub(super) next_tag_id: i64,
    /// IAM projects by id, with the account that owns them and where.
    pub(super) project_owners: HashMap<String, (String, String)>,
    /// Credentials to resolve once every account's projects are known.
    pub(super) credentials: Vec<PendingCredential>,
    /// Accounts as defined (merged across files), for export.
    pub(super) domain_docs: indexmap::IndexMap<String, DomainDoc>,
    /// AKs and token digests already defined, with where.
    pub(super) seen_credentials: HashMap<Vec<u8>, String>,
}

impl<'a> Builder<'a> {
    pub(super) fn new(settings: &'a SeedSettings) -> Self {
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

    pub(super) fn problem(&mut self, file: &str, path: String, message: String) {
        if self.problems.len() < FixtureError::MAX_PROBLEMS {
            self.problems.push(Problem {
                file: file.to_owned(),
                path,
                message,
            });
        }
    }

    /// Reads a document's `registry` section into the contents' blobs.
    fn load_registry(&mut self, doc: &mut Document) {
        let Some(section) = doc.file.registry.take() else {
            return;
        };
        let snapshot = self
            .inner
            .blob_snapshot
            .get_or_insert_with(|| crate::store::blobs::Snapshot::new(&doc.name));
        if let Err(problems) = snapshot.add_section(section, "$.registry") {
            for (path, message) in problems {
                self.problem(&doc.name, path, message);
            }
        }
    }

    pub(super) fn build(
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
            self.load_registry(&mut doc);
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
        // Organizations without an explicit id get the next free ones, in
        // name order (deterministic whatever the load order).
        let mut next_ns = self
            .inner
            .namespaces
            .values()
            .map(|ns| ns.id)
            .max()
            .unwrap_or(0)
            + 1;
        let mut unnumbered: Vec<Arc<str>> = self
            .inner
            .namespaces
            .iter()
            .filter(|(_, ns)| ns.id == 0)
            .map(|(name, _)| name.clone())
            .collect();
        unnumbered.sort();
        for name in unnumbered {
            if let Some(ns) = self.inner.namespaces.get_mut(&name) {
                ns.id = next_ns;
                next_ns += 1;
            }
        }
        self.inner.next_namespace_id = next_ns;
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
                let fallback = derived_time(ordinal.saturating_mul(60));
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
                    description: image_doc.description.as_deref().unwrap_or("").into(),
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
                let mut repo = Repo::new(ctx, repo_id, tags);
                match super::export::repo_meta(repo_doc, &repo) {
                    Ok(meta) => *repo.meta_mut() = meta,
                    Err((field, message)) => {
                        self.problem(&name, format!("{path}.{field}"), message);
                    }
                }
                repos.push((repo_doc.name.as_str().into(), repo));
            }
            let ns = self
                .inner
                .namespaces
                .entry(ns_doc.name.as_str().into())
                .or_insert_with(|| Namespace {
                    domain_id,
                    id: 0,
                    creator_name: crate::store::resources::DEFAULT_CREATOR.into(),
                    repos: HashMap::new(),
                });
            if let Some(id) = ns_doc.id {
                ns.id = id;
            }
            if let Some(creator) = &ns_doc.creator_name {
                ns.creator_name = creator.as_str().into();
            }
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
            match derive_tag(d, name, repo_id, id, derived_time(t)) {
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

#[cfg(test)]
mod tests {
    use crate::store::seed::tests::load_json;

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
}
