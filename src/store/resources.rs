//! SWR organizations (namespaces) and repositories: what the resource APIs
//! show about them, the writes that create, change and remove them, and the
//! indexes the repository lists page through.
//!
//! # Consistency with the tags
//! A repository's `num_images` is its tag count, its `size` the sum of its
//! tags' sizes and its `updated_at` the later of its own last change and its
//! newest tag: all read from the same [`Repo`] under the same lock as the
//! tag lists, so a tag pushed, re-tagged or deleted shows in both at once.
//! The size sum is computed on first use and then kept in step by every tag
//! write ([`Repo`]'s `insert` and `unlink`).
//!
//! # Indexes
//! [`RepoIndexes`] keeps, for all repositories and for each account, three
//! sorted vectors of repository keys: by `(namespace, name)`, by
//! `(name, namespace)` and by id. A page by offset in an indexed order is a
//! slice (`O(page)`), a page of the v3 walk is a binary search on the id plus
//! a slice (`O(log n + page)`). The indexes are built on first use and then
//! maintained by every write (a binary search plus a `memmove` of pointers).
//! Filters (`namespace`, `name`, `category`, `is_public`) and the orders not
//! indexed (`updated_at`, `tag_count`, `is_public`) scan the caller's
//! repositories.

use std::collections::HashMap;
use std::sync::Arc;

use super::{Inner, LookupError, Namespace, Repo, RepoContext, Store, allocate_id, now};

/// Repository categories the pages list (`category` of `CreateRepo`,
/// `UpdateRepo` and the list filters).
pub(crate) const CATEGORIES: [&str; 8] = [
    "app_server",
    "linux",
    "framework_app",
    "database",
    "lang",
    "windows",
    "arm",
    "other",
];

/// The category of a repository when none is given.
pub(crate) const DEFAULT_CATEGORY: &str = "other";

/// Organizations an account may create through `CreateNamespace` (the SWR
/// quota: five organizations per account). Fixtures may hold more.
pub(crate) const NAMESPACE_QUOTA: usize = 5;

/// `creator_name` of an organization when a fixture gives none.
pub(crate) const DEFAULT_CREATOR: &str = "admin";

/// Creation and update time of a fixture repository that gives none and has
/// no tags: 2018-07-06T06:18:55Z, the time of the API pages' examples.
pub(crate) const DEFAULT_RESOURCE_TIME: i64 = 1_530_857_935;

/// What the repository APIs show about a repository besides its tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoMeta {
    /// `category`, one of [`CATEGORIES`].
    pub category: Arc<str>,
    /// `description`.
    pub description: Arc<str>,
    /// `is_public`.
    pub is_public: bool,
    /// Creation time, epoch seconds.
    pub created: i64,
    /// Last change of the repository itself (its fields, a tag deleted),
    /// epoch seconds; `updated_at` is the later of this and its newest tag.
    pub updated: i64,
    /// `num_download`.
    pub num_download: i64,
}

impl Default for RepoMeta {
    fn default() -> Self {
        Self {
            category: DEFAULT_CATEGORY.into(),
            description: "".into(),
            is_public: false,
            created: DEFAULT_RESOURCE_TIME,
            updated: DEFAULT_RESOURCE_TIME,
            num_download: 0,
        }
    }
}

/// A repository key: (namespace, repository name with real `/`).
pub(crate) type RepoKey = (Arc<str>, Arc<str>);

/// One set of sorted repository keys (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct RepoIndex {
    /// Sorted by `(namespace, name)`.
    by_namespace: Vec<RepoKey>,
    /// Sorted by `(name, namespace)`.
    by_name: Vec<RepoKey>,
    /// Sorted by repository id.
    by_id: Vec<(i64, RepoKey)>,
}

fn name_first(k: &RepoKey) -> (&str, &str) {
    (&k.1, &k.0)
}

impl RepoIndex {
    fn add(&mut self, id: i64, key: RepoKey) {
        let at = self.by_namespace.partition_point(|k| *k < key);
        self.by_namespace.insert(at, key.clone());
        let at = self
            .by_name
            .partition_point(|k| name_first(k) < name_first(&key));
        self.by_name.insert(at, key.clone());
        let at = self.by_id.partition_point(|(i, _)| *i < id);
        self.by_id.insert(at, (id, key));
    }

    fn remove(&mut self, id: i64, key: &RepoKey) {
        if let Ok(at) = self.by_namespace.binary_search(key) {
            self.by_namespace.remove(at);
        }
        if let Ok(at) = self
            .by_name
            .binary_search_by(|k| name_first(k).cmp(&name_first(key)))
        {
            self.by_name.remove(at);
        }
        if let Ok(at) = self.by_id.binary_search_by(|(i, _)| i.cmp(&id)) {
            self.by_id.remove(at);
        }
    }

    fn sort(&mut self) {
        self.by_namespace.sort();
        self.by_name
            .sort_by(|a, b| name_first(a).cmp(&name_first(b)));
        self.by_id.sort_by_key(|(id, _)| *id);
    }
}

/// The repository indexes: all repositories, and each account's.
#[derive(Debug, Default)]
pub(crate) struct RepoIndexes {
    /// Every repository (callers without an account, `--auth off`).
    all: RepoIndex,
    /// Each account's repositories.
    domains: HashMap<Arc<str>, RepoIndex>,
}

impl RepoIndexes {
    fn build(namespaces: &HashMap<Arc<str>, Namespace>) -> Self {
        let mut ix = Self::default();
        for (ns_name, ns) in namespaces {
            let domain = ix.domains.entry(ns.domain_id.clone()).or_default();
            for (name, repo) in &ns.repos {
                let key = (ns_name.clone(), name.clone());
                domain.by_namespace.push(key.clone());
                domain.by_name.push(key.clone());
                domain.by_id.push((repo.id, key.clone()));
                ix.all.by_namespace.push(key.clone());
                ix.all.by_name.push(key.clone());
                ix.all.by_id.push((repo.id, key));
            }
        }
        ix.all.sort();
        for d in ix.domains.values_mut() {
            d.sort();
        }
        ix
    }

    fn index(&self, domain: Option<&str>) -> Option<&RepoIndex> {
        match domain {
            None => Some(&self.all),
            Some(d) => self.domains.get(d),
        }
    }
}

impl Inner {
    /// The repository indexes, built on first use.
    fn repo_indexes(&self) -> &RepoIndexes {
        self.repo_index
            .get_or_init(|| RepoIndexes::build(&self.namespaces))
    }

    /// Keeps the indexes (when built) in step with a repository added.
    pub(crate) fn index_repo_added(&mut self, domain: &Arc<str>, id: i64, key: &RepoKey) {
        if let Some(ix) = self.repo_index.get_mut() {
            ix.all.add(id, key.clone());
            ix.domains
                .entry(domain.clone())
                .or_default()
                .add(id, key.clone());
        }
    }

    /// Keeps the indexes (when built) in step with a repository removed.
    fn index_repo_removed(&mut self, domain: &str, id: i64, key: &RepoKey) {
        if let Some(ix) = self.repo_index.get_mut() {
            ix.all.remove(id, key);
            if let Some(d) = ix.domains.get_mut(domain) {
                d.remove(id, key);
            }
        }
    }

    /// Records that a namespace was created or removed.
    pub(crate) fn mark_namespace(&mut self, namespace: &str) {
        self.change_seq += 1;
        if let Some(changes) = &mut self.changes
            && !changes.all
        {
            changes.namespaces.insert(namespace.into());
        }
    }

    /// Records that a repository was created, changed or removed.
    pub(crate) fn mark_repo(&mut self, namespace: &str, repository: &str) {
        self.change_seq += 1;
        if let Some(changes) = &mut self.changes
            && !changes.all
        {
            changes.repos.insert((namespace.into(), repository.into()));
        }
    }

    /// The account's display name (`domain_name`): the fixture's name for
    /// it, else its id.
    fn domain_name(&self, domain_id: &str) -> Arc<str> {
        self.iam
            .export
            .iter()
            .find(|d| d.id == domain_id)
            .and_then(|d| d._name.as_deref())
            .unwrap_or(domain_id)
            .into()
    }

    fn repo_view(&self, key: &RepoKey, with_tags: bool) -> Option<RepoView> {
        let ns = self.namespaces.get(&key.0)?;
        let repo = ns.repos.get(&key.1)?;
        Some(RepoView::new(
            ns,
            repo,
            self.domain_name(&ns.domain_id),
            with_tags,
        ))
    }
}

/// An organization as `ListNamespaces` and `ShowNamespace` describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NamespaceView {
    /// `id`.
    pub(crate) id: i64,
    /// `name`.
    pub(crate) name: Arc<str>,
    /// `creator_name`.
    pub(crate) creator_name: Arc<str>,
    /// The owning account.
    pub(crate) domain_id: Arc<str>,
    /// Number of repositories.
    pub(crate) repos: usize,
}

impl NamespaceView {
    fn new(name: &Arc<str>, ns: &Namespace) -> Self {
        Self {
            id: ns.id,
            name: name.clone(),
            creator_name: ns.creator_name.clone(),
            domain_id: ns.domain_id.clone(),
            repos: ns.repos.len(),
        }
    }
}

/// A repository as the repository APIs describe it, read in one critical
/// section with its tags.
#[derive(Debug, Clone)]
pub struct RepoView {
    /// `id`.
    pub id: i64,
    /// `ns_id`: the organization's id.
    pub ns_id: i64,
    /// Names and hosts.
    pub ctx: Arc<RepoContext>,
    /// Category, description, visibility, times.
    pub meta: RepoMeta,
    /// `num_images`: the tag count.
    pub num_images: usize,
    /// `size`: the sum of the tags' sizes.
    pub size: i64,
    /// `updated_at`: the later of the repository's own change and its newest tag.
    pub updated_at: i64,
    /// `creator_name` (the organization's creator).
    pub creator_name: Arc<str>,
    /// `domain_name`.
    pub domain_name: Arc<str>,
    /// Tag names in name order (v2 list only; empty otherwise).
    pub tags: Vec<Arc<str>>,
}

impl RepoView {
    fn new(ns: &Namespace, repo: &Repo, domain_name: Arc<str>, with_tags: bool) -> Self {
        let size = *repo
            .size_total
            .get_or_init(|| repo.by_name.iter().map(|t| repo.ctx.size(t)).sum());
        let newest = repo.by_updated.last().map_or(i64::MIN, |t| t.updated);
        Self {
            id: repo.id,
            ns_id: ns.id,
            ctx: repo.ctx.clone(),
            meta: repo.meta.clone(),
            num_images: repo.len(),
            size,
            updated_at: repo.meta.updated.max(newest),
            creator_name: ns.creator_name.clone(),
            domain_name,
            tags: if with_tags {
                repo.by_name.iter().map(|t| t.name.clone()).collect()
            } else {
                Vec::new()
            },
        }
    }
}

/// The columns the v2 repository list sorts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RepoColumn {
    /// Organization, then name (indexed; the emulator's default).
    #[default]
    Namespace,
    /// Name, then organization (indexed).
    Name,
    /// `updated_at` (scans).
    UpdatedAt,
    /// Tag count (scans).
    TagCount,
    /// `is_public` (scans).
    IsPublic,
}

/// Which repositories a list keeps. Every field narrows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepoFilter {
    /// The organization name contains this (the pages' "fuzzy match").
    pub namespace: Option<String>,
    /// The repository name contains this.
    pub name: Option<String>,
    /// The category is exactly this.
    pub category: Option<String>,
    /// `is_public` is this.
    pub is_public: Option<bool>,
}

impl RepoFilter {
    fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    fn matches(&self, key: &RepoKey, repo: &Repo) -> bool {
        self.namespace.as_deref().is_none_or(|n| key.0.contains(n))
            && self.name.as_deref().is_none_or(|n| key.1.contains(n))
            && self
                .category
                .as_deref()
                .is_none_or(|c| *repo.meta.category == *c)
            && self.is_public.is_none_or(|p| repo.meta.is_public == p)
    }
}

/// A request for one page of the v2 repository list.
#[derive(Debug, Clone, Default)]
pub struct RepoListQuery {
    /// Which repositories.
    pub filter: RepoFilter,
    /// Sort column.
    pub column: RepoColumn,
    /// Descending order.
    pub desc: bool,
    /// Skip this many.
    pub offset: usize,
    /// At most this many.
    pub limit: usize,
}

/// One page of the v2 repository list.
#[derive(Debug)]
pub struct RepoListPage {
    /// The repositories of the page, in order.
    pub repos: Vec<RepoView>,
    /// How many repositories match in all.
    pub total: usize,
}

/// A request for one page of the v3 repository walk (by id).
#[derive(Debug, Clone, Default)]
pub struct RepoWalkQuery {
    /// Which repositories.
    pub filter: RepoFilter,
    /// Start after this repository id (`marker`).
    pub after: Option<i64>,
    /// At most this many.
    pub limit: usize,
}

/// One page of the v3 repository walk.
#[derive(Debug)]
pub struct RepoWalkPage {
    /// The repositories of the page, by id.
    pub repos: Vec<RepoView>,
    /// The marker of the next page (the last id returned) when more follow.
    pub next: Option<i64>,
}

/// Why an organization or repository write failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ResourceError {
    /// The organization or repository does not exist.
    #[error(transparent)]
    Lookup(#[from] LookupError),
    /// An organization of that name exists (names are global, as in SWR).
    #[error("organization {0} already exists")]
    NamespaceExists(String),
    /// The account already has [`NAMESPACE_QUOTA`] organizations.
    #[error("the account already has {0} organizations, the quota")]
    NamespaceQuota(usize),
    /// The organization still holds repositories.
    #[error("organization {0} still holds {1} repositories")]
    NamespaceNotEmpty(String, usize),
    /// A repository of that name exists in the organization.
    #[error("repository {0} already exists")]
    RepoExists(String),
    /// Every id up to [`super::MAX_ID`] is taken.
    #[error("no id is left below {}", super::MAX_ID)]
    IdsExhausted,
}

/// The fields `CreateRepo` sets and `UpdateRepo` changes (`None`: keep).
#[derive(Debug, Clone, Default)]
pub(crate) struct RepoFields {
    /// `category`.
    pub(crate) category: Option<String>,
    /// `description`.
    pub(crate) description: Option<String>,
    /// `is_public`.
    pub(crate) is_public: Option<bool>,
}

impl Store {
    /// The organizations of `domain` (all with `None`) whose name contains
    /// `filter`, by name.
    pub(crate) fn list_namespaces(
        &self,
        domain: Option<&str>,
        filter: Option<&str>,
    ) -> Vec<NamespaceView> {
        let inner = self.read();
        let mut out: Vec<NamespaceView> = inner
            .namespaces
            .iter()
            .filter(|(name, ns)| {
                domain.is_none_or(|d| *ns.domain_id == *d)
                    && filter.is_none_or(|f| name.contains(f))
            })
            .map(|(name, ns)| NamespaceView::new(name, ns))
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// One organization.
    pub(crate) fn namespace(&self, name: &str) -> Result<NamespaceView, LookupError> {
        let inner = self.read();
        let (key, ns) = inner
            .namespaces
            .get_key_value(name)
            .ok_or_else(|| LookupError::NamespaceNotFound(name.to_owned()))?;
        Ok(NamespaceView::new(key, ns))
    }

    /// `CreateNamespace`: a new, empty organization owned by `domain`.
    /// `quota` limits how many organizations the account may then hold.
    pub(crate) fn create_namespace(
        &self,
        name: &str,
        domain: &str,
        creator: Option<&str>,
        quota: Option<usize>,
    ) -> Result<NamespaceView, ResourceError> {
        let mut inner = self.write();
        if inner.namespaces.contains_key(name) {
            return Err(ResourceError::NamespaceExists(name.to_owned()));
        }
        if let Some(quota) = quota {
            let held = inner
                .namespaces
                .values()
                .filter(|ns| *ns.domain_id == *domain)
                .count();
            if held >= quota {
                return Err(ResourceError::NamespaceQuota(quota));
            }
        }
        let id = allocate_id(inner.next_namespace_id.max(1)).ok_or(ResourceError::IdsExhausted)?;
        inner.next_namespace_id = id + 1;
        let key: Arc<str> = name.into();
        let ns = Namespace {
            domain_id: domain.into(),
            id,
            creator_name: creator.unwrap_or(DEFAULT_CREATOR).into(),
            repos: HashMap::new(),
        };
        let view = NamespaceView::new(&key, &ns);
        inner.namespaces.insert(key, ns);
        inner.mark_namespace(name);
        Ok(view)
    }

    /// `DeleteNamespaces`: removes an empty organization; one that holds
    /// repositories is refused.
    pub(crate) fn delete_namespace(&self, name: &str) -> Result<(), ResourceError> {
        let mut inner = self.write();
        let ns = inner
            .namespaces
            .get(name)
            .ok_or_else(|| LookupError::NamespaceNotFound(name.to_owned()))?;
        if !ns.repos.is_empty() {
            return Err(ResourceError::NamespaceNotEmpty(
                name.to_owned(),
                ns.repos.len(),
            ));
        }
        inner.namespaces.remove(name);
        inner.mark_namespace(name);
        Ok(())
    }

    /// One repository.
    pub(crate) fn repository(
        &self,
        namespace: &str,
        repository: &str,
    ) -> Result<RepoView, LookupError> {
        let inner = self.read();
        let ns = inner
            .namespaces
            .get(namespace)
            .ok_or_else(|| LookupError::NamespaceNotFound(namespace.to_owned()))?;
        let repo = ns
            .repos
            .get(repository)
            .ok_or_else(|| LookupError::RepositoryNotFound(repository.to_owned()))?;
        Ok(RepoView::new(
            ns,
            repo,
            inner.domain_name(&ns.domain_id),
            false,
        ))
    }

    /// `CreateRepo`: a new, empty repository in an existing organization.
    pub(crate) fn create_repo(
        &self,
        namespace: &str,
        repository: &str,
        fields: &RepoFields,
    ) -> Result<RepoView, ResourceError> {
        let mut inner = self.write();
        let next_id = inner.next_repo_id.max(1);
        let registry_host = inner.registry_host.clone();
        let ns = inner
            .namespaces
            .get(namespace)
            .ok_or_else(|| LookupError::NamespaceNotFound(namespace.to_owned()))?;
        if ns.repos.contains_key(repository) {
            return Err(ResourceError::RepoExists(repository.to_owned()));
        }
        let id = allocate_id(next_id).ok_or(ResourceError::IdsExhausted)?;
        let domain = ns.domain_id.clone();
        let (ns_key, repo_key): RepoKey = (
            inner
                .namespaces
                .get_key_value(namespace)
                .map_or_else(|| namespace.into(), |(k, _)| k.clone()),
            repository.into(),
        );
        let ctx = Arc::new(RepoContext {
            namespace: ns_key.clone(),
            repository: repo_key.clone(),
            domain_id: domain.clone(),
            registry_host,
            internal_host: super::DEFAULT_INTERNAL_HOST.into(),
        });
        let at = now();
        let mut repo = Repo::new(ctx, id, Vec::new());
        repo.meta = RepoMeta {
            category: fields
                .category
                .as_deref()
                .unwrap_or(DEFAULT_CATEGORY)
                .into(),
            description: fields.description.as_deref().unwrap_or("").into(),
            is_public: fields.is_public.unwrap_or(false),
            created: at,
            updated: at,
            num_download: 0,
        };
        inner.next_repo_id = id + 1;
        let key = (ns_key, repo_key);
        if let Some(ns) = inner.namespaces.get_mut(namespace) {
            ns.repos.insert(key.1.clone(), repo);
        }
        inner.index_repo_added(&domain, id, &key);
        inner.mark_repo(namespace, repository);
        let view = inner.repo_view(&key, false);
        view.ok_or_else(|| LookupError::RepositoryNotFound(repository.to_owned()).into())
    }

    /// `UpdateRepo`: changes the given fields; the repository's `updated`
    /// becomes now.
    pub(crate) fn update_repo(
        &self,
        namespace: &str,
        repository: &str,
        fields: &RepoFields,
    ) -> Result<RepoView, ResourceError> {
        let mut inner = self.write();
        let repo = super::swr::lookup_mut(&mut inner, namespace, repository)?;
        if let Some(c) = &fields.category {
            repo.meta.category = c.as_str().into();
        }
        if let Some(d) = &fields.description {
            repo.meta.description = d.as_str().into();
        }
        if let Some(p) = fields.is_public {
            repo.meta.is_public = p;
        }
        repo.meta.updated = repo.meta.updated.max(now());
        inner.mark_repo(namespace, repository);
        let key: RepoKey = (namespace.into(), repository.into());
        inner
            .repo_view(&key, false)
            .ok_or_else(|| LookupError::RepositoryNotFound(repository.to_owned()).into())
    }

    /// `DeleteRepo`: removes a repository and all its tags; returns how many
    /// tags went with it.
    pub(crate) fn delete_repo(
        &self,
        namespace: &str,
        repository: &str,
    ) -> Result<usize, ResourceError> {
        let mut inner = self.write();
        let ns = inner
            .namespaces
            .get_mut(namespace)
            .ok_or_else(|| LookupError::NamespaceNotFound(namespace.to_owned()))?;
        let domain = ns.domain_id.clone();
        let (key, repo) = ns
            .repos
            .remove_entry(repository)
            .ok_or_else(|| LookupError::RepositoryNotFound(repository.to_owned()))?;
        for t in &repo.by_name {
            inner.mark_tag(namespace, repository, &t.name);
        }
        inner.index_repo_removed(&domain, repo.id, &(namespace.into(), key));
        inner.mark_repo(namespace, repository);
        Ok(repo.len())
    }

    /// One page of the v2 repository list of `domain` (all with `None`).
    pub fn list_repos(&self, domain: Option<&str>, query: &RepoListQuery) -> RepoListPage {
        let inner = self.read();
        let Some(index) = inner.repo_indexes().index(domain) else {
            return RepoListPage {
                repos: Vec::new(),
                total: 0,
            };
        };
        let lookup = |key: &RepoKey| {
            inner
                .namespaces
                .get(&key.0)
                .and_then(|ns| ns.repos.get(&key.1))
        };
        let indexed = match query.column {
            RepoColumn::Namespace => Some(&index.by_namespace),
            RepoColumn::Name => Some(&index.by_name),
            _ => None,
        };
        let view = |key: &RepoKey| inner.repo_view(key, true);
        if let Some(sorted) = indexed
            && query.filter.is_empty()
        {
            let n = sorted.len();
            let first = query.offset.min(n);
            let last = first.saturating_add(query.limit).min(n);
            let at = |i: usize| {
                if query.desc {
                    &sorted[n - 1 - i]
                } else {
                    &sorted[i]
                }
            };
            return RepoListPage {
                repos: (first..last).filter_map(|i| view(at(i))).collect(),
                total: n,
            };
        }
        let base = indexed.unwrap_or(&index.by_namespace);
        let mut keys: Vec<&RepoKey> = base
            .iter()
            .filter(|k| lookup(k).is_some_and(|r| query.filter.matches(k, r)))
            .collect();
        if indexed.is_none() {
            // Stable sort: ties stay in (namespace, name) order.
            match query.column {
                RepoColumn::TagCount => keys.sort_by_key(|k| lookup(k).map_or(0, Repo::len)),
                RepoColumn::IsPublic => {
                    keys.sort_by_key(|k| lookup(k).is_some_and(|r| r.meta.is_public));
                }
                _ => keys.sort_by_key(|k| {
                    lookup(k).map_or(0, |r| {
                        r.meta
                            .updated
                            .max(r.by_updated.last().map_or(i64::MIN, |t| t.updated))
                    })
                }),
            }
        }
        if query.desc {
            keys.reverse();
        }
        let total = keys.len();
        let repos = keys
            .into_iter()
            .skip(query.offset)
            .take(query.limit)
            .filter_map(view)
            .collect();
        RepoListPage { repos, total }
    }

    /// One page of the v3 repository walk of `domain` (all with `None`), by
    /// repository id. Ids are never reused and new repositories get higher
    /// ids, so a walk returns every repository that exists for the whole
    /// walk exactly once, whatever is written between pages, and a
    /// repository created during the walk once, at the end.
    pub fn walk_repos(&self, domain: Option<&str>, query: &RepoWalkQuery) -> RepoWalkPage {
        let inner = self.read();
        let Some(index) = inner.repo_indexes().index(domain) else {
            return RepoWalkPage {
                repos: Vec::new(),
                next: None,
            };
        };
        let from = query.after.map_or(0, |after| {
            index.by_id.partition_point(|(id, _)| *id <= after)
        });
        let want = query.limit.saturating_add(1);
        let mut keys: Vec<&(i64, RepoKey)> = index.by_id[from..]
            .iter()
            .filter(|(_, k)| {
                query.filter.is_empty()
                    || inner
                        .namespaces
                        .get(&k.0)
                        .and_then(|ns| ns.repos.get(&k.1))
                        .is_some_and(|r| query.filter.matches(k, r))
            })
            .take(want)
            .collect();
        let next = if keys.len() > query.limit {
            keys.truncate(query.limit);
            keys.last().map(|(id, _)| *id)
        } else {
            None
        };
        RepoWalkPage {
            repos: keys
                .into_iter()
                .filter_map(|(_, k)| inner.repo_view(k, false))
                .collect(),
            next,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> Store {
        let store = Store::default();
        store.create_namespace("ns", "d1", None, None).unwrap();
        store
    }

    #[test]
    fn the_index_follows_creates_and_deletes_after_it_was_built() {
        let s = store();
        for name in ["b", "a", "c"] {
            s.create_repo("ns", name, &RepoFields::default()).unwrap();
        }
        let names = |s: &Store, q: &RepoListQuery| -> Vec<String> {
            s.list_repos(Some("d1"), q)
                .repos
                .iter()
                .map(|r| r.ctx.repository.to_string())
                .collect()
        };
        let q = RepoListQuery {
            limit: 10,
            ..RepoListQuery::default()
        };
        assert_eq!(names(&s, &q), ["a", "b", "c"]);
        s.delete_repo("ns", "b").unwrap();
        s.create_repo("ns", "aa", &RepoFields::default()).unwrap();
        assert_eq!(names(&s, &q), ["a", "aa", "c"]);
        assert_eq!(s.list_repos(Some("d2"), &q).total, 0);
        assert_eq!(s.list_repos(None, &q).total, 3);
        let walk = s.walk_repos(
            Some("d1"),
            &RepoWalkQuery {
                limit: 2,
                ..RepoWalkQuery::default()
            },
        );
        let ids: Vec<i64> = walk.repos.iter().map(|r| r.id).collect();
        assert_eq!(ids, [2, 3]);
        assert_eq!(walk.next, Some(3));
    }

    #[test]
    fn a_namespace_with_repositories_cannot_be_deleted_and_quota_holds() {
        let s = store();
        s.create_repo("ns", "r", &RepoFields::default()).unwrap();
        assert_eq!(
            s.delete_namespace("ns"),
            Err(ResourceError::NamespaceNotEmpty("ns".into(), 1))
        );
        assert_eq!(
            s.create_namespace("ns", "d2", None, Some(5)),
            Err(ResourceError::NamespaceExists("ns".into()))
        );
        for i in 1..5 {
            s.create_namespace(&format!("n{i}"), "d1", None, Some(5))
                .unwrap();
        }
        assert_eq!(
            s.create_namespace("n9", "d1", None, Some(5)),
            Err(ResourceError::NamespaceQuota(5))
        );
        s.delete_repo("ns", "r").unwrap();
        s.delete_namespace("ns").unwrap();
    }
}
