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
//! sorted vectors of repository entries ([`RepoEntry`]: id, key and view
//! slot): by `(namespace, name)`, by `(name, namespace)` and by id. A page
//! by offset in an indexed order is a slice (`O(page)`), a page of the v3
//! walk is a binary search on the id plus a slice (`O(log n + page)`). The
//! indexes are built on first use and then maintained by every write (a
//! binary search plus a `memmove` per vector).
//! Filters (`namespace`, `name`, `category`, `is_public`) and the orders not
//! indexed (`updated_at`, `tag_count`, `is_public`) scan the caller's
//! repositories.
//!
//! # Cached views
//! Each repository's view ([`RepoView`]) is built once and kept in its
//! [`ViewSlot`] until a write changes what it shows; the index entries
//! point at the slot, so a page of cached views costs one pointer per
//! repository, whatever the size of the store (see [`ViewSlot`] for why a
//! cached view cannot be stale). A view also keeps its answers' JSON
//! ([`RepoJson`]), serialised on first use, so a page of cached views is
//! the concatenation of ready byte strings; it goes with the view.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use bytes::Bytes;

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

/// A repository's view as the repository APIs show it, kept between the
/// writes that change it, and shared by the repository and its entries in
/// the list indexes, so that a page reaches each view through one pointer.
///
/// Filled on a read (under the store's read lock) and emptied by every
/// change to what the view shows, under the write lock: a tag inserted or
/// unlinked ([`Repo`]'s `insert` and `unlink`, whatever the route: API,
/// registry push, admin push, re-tag, delete) and the repository's own
/// fields ([`Repo::meta_mut`], the only way to change them). The other
/// inputs never change while the repository exists (its id, names and
/// context, its organization's id and creator, the account's name). A
/// reader cannot store a view built before a write after it: the write
/// waits for the readers to leave.
#[derive(Debug, Default)]
pub(crate) struct ViewSlot(Mutex<Option<Arc<RepoView>>>);

impl ViewSlot {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Arc<RepoView>>> {
        // Nothing is left half-written under this lock: poison is harmless.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cached view, if there is one with what the caller needs.
    fn get(&self, with_tags: bool) -> Option<Arc<RepoView>> {
        self.lock()
            .as_ref()
            .filter(|v| v.with_tags || !with_tags)
            .cloned()
    }

    /// Caches a view built under the store's read lock.
    fn set(&self, view: &Arc<RepoView>) {
        *self.lock() = Some(view.clone());
    }

    /// Drops the cached view (every change to what it shows calls this).
    pub(crate) fn clear(&self) {
        *self.lock() = None;
    }
}

/// One repository in the list indexes: its id and key (what the indexes
/// sort by) and its view slot.
#[derive(Debug, Clone)]
pub(crate) struct RepoEntry {
    /// The repository id.
    id: i64,
    /// (namespace, repository).
    key: RepoKey,
    /// The repository's view slot.
    view: Arc<ViewSlot>,
}

impl RepoEntry {
    /// The entry of a repository.
    pub(crate) fn of(repo: &Repo) -> Self {
        Self {
            id: repo.id,
            key: (repo.ctx.namespace.clone(), repo.ctx.repository.clone()),
            view: repo.view.clone(),
        }
    }

    fn by_namespace(&self) -> (&str, &str) {
        (&self.key.0, &self.key.1)
    }

    fn by_name(&self) -> (&str, &str) {
        (&self.key.1, &self.key.0)
    }
}

/// The order one index vector is sorted in.
type EntryOrder = fn(&RepoEntry, &RepoEntry) -> Ordering;

/// One set of sorted repository entries (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct RepoIndex {
    /// Sorted by `(namespace, name)`.
    by_namespace: Vec<RepoEntry>,
    /// Sorted by `(name, namespace)`.
    by_name: Vec<RepoEntry>,
    /// Sorted by repository id.
    by_id: Vec<RepoEntry>,
}

impl RepoIndex {
    /// The three vectors with the order each is sorted in.
    fn orders(&mut self) -> [(&mut Vec<RepoEntry>, EntryOrder); 3] {
        [
            (&mut self.by_namespace, |a, b| {
                a.by_namespace().cmp(&b.by_namespace())
            }),
            (&mut self.by_name, |a, b| a.by_name().cmp(&b.by_name())),
            (&mut self.by_id, |a, b| a.id.cmp(&b.id)),
        ]
    }

    fn add(&mut self, entry: &RepoEntry) {
        for (sorted, cmp) in self.orders() {
            let at = sorted.partition_point(|e| cmp(e, entry).is_lt());
            sorted.insert(at, entry.clone());
        }
    }

    fn remove(&mut self, entry: &RepoEntry) {
        for (sorted, cmp) in self.orders() {
            if let Ok(at) = sorted.binary_search_by(|e| cmp(e, entry)) {
                sorted.remove(at);
            }
        }
    }

    fn push(&mut self, entry: &RepoEntry) {
        for (sorted, _) in self.orders() {
            sorted.push(entry.clone());
        }
    }

    fn sort(&mut self) {
        for (sorted, cmp) in self.orders() {
            sorted.sort_by(cmp);
        }
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
        for ns in namespaces.values() {
            let domain = ix.domains.entry(ns.domain_id.clone()).or_default();
            for repo in ns.repos.values() {
                let entry = RepoEntry::of(repo);
                domain.push(&entry);
                ix.all.push(&entry);
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
    pub(crate) fn index_repo_added(&mut self, domain: &Arc<str>, entry: &RepoEntry) {
        if let Some(ix) = self.repo_index.get_mut() {
            ix.all.add(entry);
            ix.domains.entry(domain.clone()).or_default().add(entry);
        }
    }

    /// Keeps the indexes (when built) in step with a repository removed.
    fn index_repo_removed(&mut self, domain: &str, entry: &RepoEntry) {
        if let Some(ix) = self.repo_index.get_mut() {
            ix.all.remove(entry);
            if let Some(d) = ix.domains.get_mut(domain) {
                d.remove(entry);
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

    /// The view of a repository: the cached one, else built and cached.
    fn view_of(&self, repo: &Repo, with_tags: bool) -> Option<Arc<RepoView>> {
        if let Some(view) = repo.view.get(with_tags) {
            return Some(view);
        }
        let ns = self.namespaces.get(&repo.ctx.namespace)?;
        let view = Arc::new(RepoView::new(
            ns,
            repo,
            self.domain_name(&ns.domain_id),
            with_tags,
        ));
        repo.view.set(&view);
        Some(view)
    }

    /// The view of an indexed repository: one pointer away when cached.
    fn entry_view(&self, entry: &RepoEntry, with_tags: bool) -> Option<Arc<RepoView>> {
        match entry.view.get(with_tags) {
            Some(view) => Some(view),
            None => self.view_of(self.entry_repo(entry)?, with_tags),
        }
    }

    /// An indexed repository (for the filters and the orders that scan).
    fn entry_repo(&self, entry: &RepoEntry) -> Option<&Repo> {
        self.namespaces.get(&entry.key.0)?.repos.get(&entry.key.1)
    }

    /// The view of the repository `namespace`/`repository`.
    fn lookup_view(&self, namespace: &str, repository: &str) -> Result<Arc<RepoView>, LookupError> {
        let repo = super::swr::lookup(self, namespace, repository)?;
        self.view_of(repo, false)
            .ok_or_else(|| LookupError::NamespaceNotFound(namespace.to_owned()))
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
    /// Whether `tags` was filled (a cached view without them does not
    /// serve the v2 list).
    with_tags: bool,
    /// The JSON of this view in the APIs' shapes, serialised on first use
    /// (by the API layer) and dropped with the view, so it is never staler
    /// than the view.
    pub(crate) json: RepoJson,
}

/// A repository view's JSON in each shape the repository APIs answer. Only
/// what the view holds goes in: the parts that depend on the request (the
/// v2 list's `total_range`) are added per answer.
#[derive(Debug, Default, Clone)]
pub(crate) struct RepoJson {
    /// The v2 list item up to, not including, its `total_range` field and
    /// closing brace (only filled on views with their tags).
    pub(crate) v2_head: OnceLock<Bytes>,
    /// The v3 list item.
    pub(crate) v3: OnceLock<Bytes>,
    /// `ShowRepository`'s answer.
    pub(crate) show: OnceLock<Bytes>,
}

impl RepoView {
    fn new(ns: &Namespace, repo: &Repo, domain_name: Arc<str>, with_tags: bool) -> Self {
        let size = *repo
            .size_total
            .get_or_init(|| repo.by_name.iter().map(|t| repo.ctx.size(t)).sum());
        Self {
            id: repo.id,
            ns_id: ns.id,
            ctx: repo.ctx.clone(),
            meta: repo.meta().clone(),
            num_images: repo.len(),
            size,
            updated_at: updated_at(repo),
            creator_name: ns.creator_name.clone(),
            domain_name,
            tags: if with_tags {
                repo.by_name.iter().map(|t| t.name.clone()).collect()
            } else {
                Vec::new()
            },
            with_tags,
            json: RepoJson::default(),
        }
    }
}

/// `updated_at` of a repository: the later of its own change and its newest tag.
fn updated_at(repo: &Repo) -> i64 {
    let newest = repo.by_updated.last().map_or(i64::MIN, |t| t.updated);
    repo.meta().updated.max(newest)
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
                .is_none_or(|c| *repo.meta().category == *c)
            && self.is_public.is_none_or(|p| repo.meta().is_public == p)
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
    pub repos: Vec<Arc<RepoView>>,
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
    pub repos: Vec<Arc<RepoView>>,
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

/// Which repository write [`Store::write_repo`] makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RepoWrite {
    /// `CreateRepo`: the repository must not exist.
    Create,
    /// `UpdateRepo`: the repository must exist.
    Update,
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
    ) -> Result<Arc<RepoView>, LookupError> {
        self.read().lookup_view(namespace, repository)
    }

    /// `CreateRepo` (a new, empty repository in an existing organization)
    /// or `UpdateRepo` (the given fields change), as `write` says; the
    /// repository's `updated` becomes now. Returns its view.
    pub(crate) fn write_repo(
        &self,
        namespace: &str,
        repository: &str,
        write: RepoWrite,
        fields: &RepoFields,
    ) -> Result<Arc<RepoView>, ResourceError> {
        let mut inner = self.write();
        let at = now();
        if write == RepoWrite::Create {
            inner.add_repo(namespace, repository, at)?;
        }
        let meta = super::swr::lookup_mut(&mut inner, namespace, repository)?.meta_mut();
        if let Some(c) = &fields.category {
            meta.category = c.as_str().into();
        }
        if let Some(d) = &fields.description {
            meta.description = d.as_str().into();
        }
        if let Some(p) = fields.is_public {
            meta.is_public = p;
        }
        meta.updated = meta.updated.max(at);
        inner.mark_repo(namespace, repository);
        Ok(inner.lookup_view(namespace, repository)?)
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
        let repo = ns
            .repos
            .remove(repository)
            .ok_or_else(|| LookupError::RepositoryNotFound(repository.to_owned()))?;
        for t in &repo.by_name {
            inner.mark_tag(namespace, repository, &t.name);
        }
        inner.index_repo_removed(&domain, &RepoEntry::of(&repo));
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
        let indexed = match query.column {
            RepoColumn::Namespace => Some(&index.by_namespace),
            RepoColumn::Name => Some(&index.by_name),
            _ => None,
        };
        let view = |entry: &RepoEntry| inner.entry_view(entry, true);
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
        let mut rows: Vec<(&RepoEntry, &Repo)> = base
            .iter()
            .filter_map(|e| Some((e, inner.entry_repo(e)?)))
            .filter(|(e, r)| query.filter.matches(&e.key, r))
            .collect();
        if indexed.is_none() {
            // Stable sort: ties stay in (namespace, name) order.
            match query.column {
                RepoColumn::TagCount => rows.sort_by_key(|(_, r)| r.len()),
                RepoColumn::IsPublic => rows.sort_by_key(|(_, r)| r.meta().is_public),
                _ => rows.sort_by_key(|(_, r)| updated_at(r)),
            }
        }
        if query.desc {
            rows.reverse();
        }
        let total = rows.len();
        let repos = rows
            .into_iter()
            .skip(query.offset)
            .take(query.limit)
            .filter_map(|(e, _)| view(e))
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
        let from = query
            .after
            .map_or(0, |after| index.by_id.partition_point(|e| e.id <= after));
        let want = query.limit.saturating_add(1);
        let mut entries: Vec<&RepoEntry> = index.by_id[from..]
            .iter()
            .filter(|e| {
                query.filter.is_empty()
                    || inner
                        .entry_repo(e)
                        .is_some_and(|r| query.filter.matches(&e.key, r))
            })
            .take(want)
            .collect();
        let next = if entries.len() > query.limit {
            entries.truncate(query.limit);
            entries.last().map(|e| e.id)
        } else {
            None
        };
        RepoWalkPage {
            repos: entries
                .into_iter()
                .filter_map(|e| inner.entry_view(e, false))
                .collect(),
            next,
        }
    }
}

impl Inner {
    /// Adds an empty repository to an existing organization, created `at`.
    fn add_repo(
        &mut self,
        namespace: &str,
        repository: &str,
        at: i64,
    ) -> Result<(), ResourceError> {
        let next_id = self.next_repo_id.max(1);
        let registry_host = self.registry_host.clone();
        let (ns_key, ns) = self
            .namespaces
            .get_key_value(namespace)
            .ok_or_else(|| LookupError::NamespaceNotFound(namespace.to_owned()))?;
        if ns.repos.contains_key(repository) {
            return Err(ResourceError::RepoExists(repository.to_owned()));
        }
        let id = allocate_id(next_id).ok_or(ResourceError::IdsExhausted)?;
        let domain = ns.domain_id.clone();
        let ctx = Arc::new(RepoContext {
            namespace: ns_key.clone(),
            repository: repository.into(),
            domain_id: domain.clone(),
            registry_host,
            internal_host: super::DEFAULT_INTERNAL_HOST.into(),
        });
        let mut repo = Repo::new(ctx, id, Vec::new());
        let meta = repo.meta_mut();
        meta.created = at;
        meta.updated = at;
        let entry = RepoEntry::of(&repo);
        self.next_repo_id = id + 1;
        if let Some(ns) = self.namespaces.get_mut(namespace) {
            ns.repos.insert(entry.key.1.clone(), repo);
        }
        self.index_repo_added(&domain, &entry);
        Ok(())
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

    fn create(s: &Store, name: &str) -> Result<Arc<RepoView>, ResourceError> {
        s.write_repo("ns", name, RepoWrite::Create, &RepoFields::default())
    }

    #[test]
    fn the_index_follows_creates_and_deletes_after_it_was_built() {
        let s = store();
        for name in ["b", "a", "c"] {
            create(&s, name).unwrap();
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
        create(&s, "aa").unwrap();
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
        create(&s, "r").unwrap();
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
