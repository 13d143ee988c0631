//! The in-memory store: a cheap, cloneable handle with domain methods.
//!
//! Handlers never see the lock. Every method takes a `std::sync::RwLock` for a
//! short, synchronous critical section, copies out `Arc`s, and returns; no
//! guard ever lives across an `.await` (the same choice, for the same reasons,
//! as mini-redis's `Db`).
//!
//! # Indexes
//! - **SWR**: each repository keeps its tags in two sorted vectors, one by tag
//!   name and one by `(updated, name)`. A page by offset is a slice (`O(page)`);
//!   a page by marker is a binary search plus a slice (`O(log n + page)`).
//!   Descending order walks the same vectors backwards. Only a `tag` substring
//!   filter needs a scan, and then only as far as the page reaches (plus a
//!   count for the v2 `Content-Range` total).
//! - **IMS**: each project keeps the aggregate answer of `ListImagesTags`
//!   (keys and values in order of first appearance, values de-duplicated),
//!   built when the project is loaded, so a request does not rescan images.

pub(crate) mod generate;
pub(crate) mod iam;
pub(crate) mod ims;
pub(crate) mod model;
pub(crate) mod persist;
pub(crate) mod seed;

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use indexmap::IndexMap;

pub(crate) use iam::{AccessKey, Caller, IamProject};
pub(crate) use model::{Image, SwrTag};

/// The account (domain) id used when a fixture gives a namespace none.
///
/// Seed 004 shows a masked `050*****************6d70a9600`; this fills the mask
/// in with a fixed, documented value.
pub(crate) const DEFAULT_DOMAIN_ID: &str = "0503dda878000fed0f75c0096d70a960";

/// The registry host used in `path` when none is configured (seed 002).
pub(crate) const DEFAULT_REGISTRY_HOST: &str = "swr.cn-north-1.myhuaweicloud.com";

/// The intra-cluster registry host used in `internal_path` when a fixture gives
/// none (seeds 002-004).
pub(crate) const DEFAULT_INTERNAL_HOST: &str = "10.125.0.198:20202";

/// The largest repository or tag id: 2^53-1, the largest integer every JSON
/// client (JavaScript's `Number` included) reads exactly. Fixtures, imports
/// and pushes may not give a larger one, and allocation stops there instead
/// of wrapping.
pub(crate) const MAX_ID: i64 = 9_007_199_254_740_991;

/// The id `next` if it is still in range (ids never wrap).
pub(crate) fn allocate_id(next: i64) -> Option<i64> {
    (1..=MAX_ID).contains(&next).then_some(next)
}

/// Shared handle to the emulator's state. Clones share the same data.
#[derive(Clone, Debug, Default)]
pub struct Store {
    inner: Arc<RwLock<Inner>>,
    /// Counts write-lock acquisitions.
    generation: Arc<std::sync::atomic::AtomicU64>,
    /// The state database, with `--persist`.
    durable: Arc<std::sync::OnceLock<Arc<crate::store::persist::Durable>>>,
    /// Counts wholesale replacements of the contents (reset, import): a v3
    /// marker from an earlier epoch is refused. Deterministic, so two
    /// servers given the same requests issue the same markers.
    epoch: Arc<std::sync::atomic::AtomicU64>,
}

/// Everything the store holds.
#[derive(Debug, Default)]
pub(crate) struct Inner {
    /// IMS projects by project id.
    pub(crate) projects: HashMap<Arc<str>, Project>,
    /// SWR namespaces (organizations) by name.
    pub(crate) namespaces: HashMap<Arc<str>, Namespace>,
    /// The project of every image, by image id (ids are unique across projects).
    pub(crate) image_projects: HashMap<Arc<str>, Arc<str>>,
    /// Accounts, projects and credentials.
    pub(crate) iam: iam::Iam,
    /// The next free SWR tag id.
    pub(crate) next_tag_id: i64,
    /// The next free SWR repository id.
    pub(crate) next_repo_id: i64,
    /// Host of derived `path` values, for repositories created at run time.
    pub(crate) registry_host: Arc<str>,
    /// Counts recorded changes (see [`Inner::mark_tag`]).
    pub(crate) change_seq: u64,
    /// What changed since persistence last saved; `None` when nothing
    /// persists (then nothing is recorded).
    pub(crate) changes: Option<Changes>,
}

/// What changed since the last save, by key (see [`crate::store::persist`]).
#[derive(Debug, Default)]
pub(crate) struct Changes {
    /// Everything (an import or a reset replaced the store).
    pub(crate) all: bool,
    /// SWR tags written or removed: (namespace, repository, tag).
    pub(crate) tags: HashSet<(Arc<str>, Arc<str>, Arc<str>)>,
    /// IMS images whose tags changed: (project, image id).
    pub(crate) images: HashSet<(Arc<str>, Arc<str>)>,
}

impl Changes {
    /// Whether nothing changed.
    pub(crate) fn is_empty(&self) -> bool {
        !self.all && self.tags.is_empty() && self.images.is_empty()
    }

    /// Folds `other` (older changes that failed to save) back in.
    pub(crate) fn merge(&mut self, other: Changes) {
        self.all |= other.all;
        self.tags.extend(other.tags);
        self.images.extend(other.images);
    }
}

impl Inner {
    /// Records that a tag was written or removed.
    pub(crate) fn mark_tag(&mut self, namespace: &str, repository: &str, tag: &str) {
        self.change_seq += 1;
        if let Some(changes) = &mut self.changes
            && !changes.all
        {
            changes
                .tags
                .insert((namespace.into(), repository.into(), tag.into()));
        }
    }

    /// Records that an image's tags changed.
    pub(crate) fn mark_image(&mut self, project: &str, image: &str) {
        self.change_seq += 1;
        if let Some(changes) = &mut self.changes
            && !changes.all
        {
            changes.images.insert((project.into(), image.into()));
        }
    }
}

/// One IMS project: its images and the cached tag aggregate.
#[derive(Debug, Default)]
pub(crate) struct Project {
    /// Images in fixture order.
    pub(crate) images: Vec<Image>,
    /// Position of each image in `images`, by id.
    pub(crate) index: HashMap<Arc<str>, usize>,
    /// Key → (value → number of images carrying `key=value`), in order of first appearance.
    counts: IndexMap<Arc<str>, IndexMap<Arc<str>, u32>>,
    /// The `ListImagesTags` answer, rebuilt from `counts` whenever it changes.
    summary: Arc<[TagSummary]>,
    /// `summary` as the JSON body `{"tags":[…]}`, serialised with it.
    summary_json: bytes::Bytes,
}

impl Project {
    /// Adds an image and folds its tags into the aggregate.
    pub(crate) fn push_image(&mut self, mut image: Image) {
        self.count(&image.tags, 1);
        // Share the aggregate's strings: keys and values repeat across images.
        for (key, value) in &mut image.tags {
            if let Some((shared_key, values)) = self.counts.get_key_value(&**key) {
                if let Some((shared_value, _)) = values.get_key_value(&**value) {
                    *value = shared_value.clone();
                }
                *key = shared_key.clone();
            }
        }
        self.index.insert(image.id.clone(), self.images.len());
        self.images.push(image);
    }

    /// Adds `delta` (±1) to the count of each tag; drops values and keys that
    /// reach zero (so they reappear at the end if added again).
    pub(crate) fn count(&mut self, tags: &[(Arc<str>, Arc<str>)], delta: i32) {
        for (key, value) in tags {
            let values = self.counts.entry(key.clone()).or_default();
            let n = values.entry(value.clone()).or_insert(0);
            *n = n.saturating_add_signed(delta);
            if *n == 0 {
                values.shift_remove(value);
                if values.is_empty() {
                    self.counts.shift_remove(key);
                }
            }
        }
    }

    /// Rebuilds the cached summary (and its JSON) from the counts.
    pub(crate) fn refresh_summary(&mut self) {
        self.summary = self
            .counts
            .iter()
            .map(|(key, values)| TagSummary {
                key: key.clone(),
                values: values.keys().cloned().collect(),
            })
            .collect();
        let body = serde_json::json!({ "tags": &*self.summary });
        self.summary_json = serde_json::to_vec(&body).unwrap_or_default().into();
    }
}

/// One entry of the IMS `ListImagesTags` answer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TagSummary {
    /// Tag key.
    pub key: Arc<str>,
    /// Distinct values in order of first appearance; `""` for a key-only tag.
    pub values: Vec<Arc<str>>,
}

/// One SWR namespace (organization).
#[derive(Debug)]
pub(crate) struct Namespace {
    /// Account (domain) that owns the namespace.
    pub(crate) domain_id: Arc<str>,
    /// Repositories by full name (with real `/`, not `$`).
    pub(crate) repos: HashMap<Arc<str>, Repo>,
}

/// What a serialiser needs to know about the repository a tag lives in.
#[derive(Debug, PartialEq, Eq)]
pub struct RepoContext {
    /// Namespace name.
    pub namespace: Arc<str>,
    /// Repository name, with real `/`.
    pub repository: Arc<str>,
    /// Account id that owns the namespace (`domain_id`).
    pub domain_id: Arc<str>,
    /// Host used for derived `path` values.
    pub registry_host: Arc<str>,
    /// Host used for derived `internal_path` values.
    pub internal_host: Arc<str>,
}

impl RepoContext {
    /// `{namespace}/{repository}:{tag}`, the seed of derived values.
    fn reference(&self, tag: &SwrTag) -> String {
        format!("{}/{}:{}", self.namespace, self.repository, tag.name)
    }

    /// `image_id`: the explicit one, or the SHA-256 of `image:{reference}`.
    pub fn image_id<'a>(&self, tag: &'a SwrTag) -> Cow<'a, str> {
        match &tag.explicit().image_id {
            Some(id) => Cow::Borrowed(id),
            None => Cow::Owned(model::hex_sha256(
                format!("image:{}", self.reference(tag)).as_bytes(),
            )),
        }
    }

    /// `size`: the explicit one, or 1-200 MB from a hash of the reference.
    pub fn size(&self, tag: &SwrTag) -> i64 {
        tag.size
            .unwrap_or_else(|| model::derived_size(&self.reference(tag)))
    }

    /// `manifest`: the explicit one, or a schema-2 manifest naming `image_id`.
    pub fn manifest<'a>(&self, tag: &'a SwrTag) -> Cow<'a, str> {
        match &tag.explicit().manifest {
            Some(m) => Cow::Borrowed(m),
            None => Cow::Owned(model::derived_manifest(&self.image_id(tag), self.size(tag))),
        }
    }

    /// `digest`: the explicit one, or `sha256:` + the SHA-256 of the manifest.
    pub fn digest<'a>(&self, tag: &'a SwrTag) -> Cow<'a, str> {
        match &tag.explicit().digest {
            Some(d) => Cow::Borrowed(d),
            None => Cow::Owned(format!(
                "sha256:{}",
                model::hex_sha256(self.manifest(tag).as_bytes())
            )),
        }
    }

    /// `path` of a tag: the stored one, or `{registry_host}/{namespace}/{repository}:{tag}`.
    pub fn path(&self, tag: &SwrTag) -> String {
        match &tag.explicit().path {
            Some(p) => p.to_string(),
            None => format!(
                "{}/{}/{}:{}",
                self.registry_host, self.namespace, self.repository, tag.name
            ),
        }
    }

    /// `internal_path` of a tag: the stored one, or `{internal_host}/{namespace}/{repository}:{tag}`.
    pub fn internal_path(&self, tag: &SwrTag) -> String {
        match &tag.explicit().internal_path {
            Some(p) => p.to_string(),
            None => format!(
                "{}/{}/{}:{}",
                self.internal_host, self.namespace, self.repository, tag.name
            ),
        }
    }
}

/// One SWR repository and its tag indexes.
#[derive(Debug)]
pub(crate) struct Repo {
    /// Names and hosts shared by every tag of the repository.
    pub(crate) ctx: Arc<RepoContext>,
    /// The repository id (`repo_id` of its tags).
    pub(crate) id: i64,
    /// Tags sorted by name (the `tag` order, and lookups by name).
    by_name: Vec<Arc<SwrTag>>,
    /// Tags sorted by `(updated, name)` (the `updated_at` order).
    by_updated: Vec<Arc<SwrTag>>,
    /// Recent changes to the `updated_at` order, oldest first, so that a
    /// marker walk sees the order of its start (see [`Store::walk_tags`]).
    changes: std::collections::VecDeque<Change>,
    /// Sequence number of the last change (0: none since the repository was built).
    seq: u64,
    /// Sequence number of the newest change dropped from `changes` (walks
    /// that began before it can no longer be served exactly).
    dropped: u64,
}

/// One change to a repository's `updated_at` order.
#[derive(Debug)]
struct Change {
    /// Its sequence number ([`Repo::seq`] after it).
    seq: u64,
    /// The tag's name.
    name: Arc<str>,
    /// The tag's `updated` before the change; `None` when it did not exist.
    before: Option<i64>,
}

/// Changes kept per repository for marker walks: a walk during which more
/// changes than this happened to its repository gets a 400 asking to start
/// again, rather than a page that might repeat or skip a tag.
pub(crate) const WALK_CHANGE_WINDOW: usize = 10_000;

/// A random `u64` (a per-process keyed `SipHash` of a counter and the clock).
pub(crate) fn random_u64() -> u64 {
    use std::hash::{BuildHasher as _, Hasher as _};
    use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, AtomicOrdering::Relaxed));
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

impl Repo {
    /// Builds a repository's indexes from its tags. Tag names must be unique.
    pub(crate) fn new(ctx: Arc<RepoContext>, id: i64, tags: Vec<Arc<SwrTag>>) -> Self {
        let mut by_name = tags.clone();
        by_name.sort_by(|a, b| a.name.cmp(&b.name));
        let mut by_updated = tags;
        by_updated.sort_by(|a, b| cmp_updated(a, b));
        Self {
            ctx,
            id,
            by_name,
            by_updated,
            changes: std::collections::VecDeque::new(),
            seq: 0,
            dropped: 0,
        }
    }

    /// Records that `name` moved in the `updated_at` order (from `before`).
    fn record(&mut self, name: &Arc<str>, before: Option<i64>) {
        self.seq += 1;
        self.changes.push_back(Change {
            seq: self.seq,
            name: name.clone(),
            before,
        });
        if self.changes.len() > WALK_CHANGE_WINDOW
            && let Some(old) = self.changes.pop_front()
        {
            self.dropped = old.seq;
        }
    }

    fn ordered(&self, column: OrderColumn) -> &[Arc<SwrTag>] {
        match column {
            OrderColumn::UpdatedAt => &self.by_updated,
            OrderColumn::Tag => &self.by_name,
        }
    }

    /// Number of tags.
    pub(crate) fn len(&self) -> usize {
        self.by_name.len()
    }

    /// Adds a tag, replacing any tag of the same name. `O(log n)` to find the
    /// places, plus a shift of the two vectors (a `memmove` of pointers), the
    /// price of `O(1)` offsets on reads, which are far more frequent.
    /// Returns the replaced tag.
    fn insert(&mut self, tag: Arc<SwrTag>) -> Option<Arc<SwrTag>> {
        let old = self.unlink(&tag.name);
        let before = old.as_ref().map(|o| o.updated);
        if before != Some(tag.updated) {
            self.record(&tag.name, before);
        }
        let at = self.by_name.partition_point(|t| t.name < tag.name);
        self.by_name.insert(at, tag.clone());
        let at = self
            .by_updated
            .partition_point(|t| cmp_updated(t, &tag).is_lt());
        self.by_updated.insert(at, tag);
        old
    }

    /// Removes the tag called `name`, if any.
    fn remove(&mut self, name: &str) -> Option<Arc<SwrTag>> {
        let old = self.unlink(name)?;
        self.record(&old.name, Some(old.updated));
        Some(old)
    }

    /// Takes the tag called `name` out of both indexes, without recording it.
    fn unlink(&mut self, name: &str) -> Option<Arc<SwrTag>> {
        let at = self
            .by_name
            .binary_search_by(|t| (*t.name).cmp(name))
            .ok()?;
        let old = self.by_name.remove(at);
        if let Ok(at) = self.by_updated.binary_search_by(|t| cmp_updated(t, &old)) {
            self.by_updated.remove(at);
        }
        Some(old)
    }

    /// The tag called `name`, if any.
    fn get(&self, name: &str) -> Option<&Arc<SwrTag>> {
        let at = self
            .by_name
            .binary_search_by(|t| (*t.name).cmp(name))
            .ok()?;
        self.by_name.get(at)
    }
}

fn cmp_updated(a: &SwrTag, b: &SwrTag) -> Ordering {
    a.updated.cmp(&b.updated).then_with(|| a.name.cmp(&b.name))
}

/// The column a tag list is sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OrderColumn {
    /// Last update time, ties broken by tag name (the API's default).
    #[default]
    UpdatedAt,
    /// Tag name, byte-wise.
    Tag,
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OrderType {
    /// Newest or greatest first (the API's default).
    #[default]
    Desc,
    /// Oldest or smallest first.
    Asc,
}

/// A sort column and direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Order {
    /// Sort column.
    pub column: OrderColumn,
    /// Sort direction.
    pub direction: OrderType,
}

/// The position of a tag in an order: what a v3 marker carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortKey {
    /// Position in the `updated_at` order.
    Updated {
        /// `updated`, epoch seconds.
        updated: i64,
        /// Tag name (the tie-breaker).
        name: Arc<str>,
    },
    /// Position in the `tag` order.
    Name(Arc<str>),
}

impl SortKey {
    fn of(tag: &SwrTag, column: OrderColumn) -> Self {
        match column {
            OrderColumn::UpdatedAt => SortKey::Updated {
                updated: tag.updated,
                name: tag.name.clone(),
            },
            OrderColumn::Tag => SortKey::Name(tag.name.clone()),
        }
    }

    /// Which column this key orders by.
    pub fn column(&self) -> OrderColumn {
        match self {
            SortKey::Updated { .. } => OrderColumn::UpdatedAt,
            SortKey::Name(_) => OrderColumn::Tag,
        }
    }

    /// Compares a tag's position to this key in ascending order.
    fn cmp_tag(&self, tag: &SwrTag) -> Ordering {
        match self {
            SortKey::Updated { updated, name } => {
                tag.updated.cmp(updated).then_with(|| (*tag.name).cmp(name))
            }
            SortKey::Name(name) => (*tag.name).cmp(name),
        }
    }
}

/// Where a page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// Skip this many (matching) tags: the v2 `offset`.
    Offset(usize),
    /// Start right after this key: the v3 `marker`.
    After(SortKey),
}

/// A request for one page of a repository's tags.
#[derive(Debug, Clone)]
pub struct PageQuery {
    /// Sort order.
    pub order: Order,
    /// Case-insensitive substring that tag names must contain.
    pub filter: Option<String>,
    /// Where the page starts.
    pub start: Start,
    /// Most tags to return.
    pub limit: usize,
}

/// One page of a repository's tags.
#[derive(Debug)]
pub struct TagPage {
    /// The repository the tags belong to.
    pub ctx: Arc<RepoContext>,
    /// The tags of this page, in order.
    pub tags: Vec<Arc<SwrTag>>,
    /// Number of tags matching the filter in the whole repository.
    pub total: usize,
    /// The key of the last tag returned, when more tags follow it.
    pub next: Option<SortKey>,
}

/// Where a v3 marker walk stands: what its marker carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalkPosition {
    /// The store's epoch when the walk began (a reset or an import starts
    /// a new one).
    pub epoch: u64,
    /// The repository's change sequence number when the walk began: pages
    /// follow the order the repository had then.
    pub since: u64,
    /// The position of the last tag returned, in that order.
    pub after: SortKey,
}

/// A request for one page of a v3 marker walk.
#[derive(Debug, Clone)]
pub struct WalkQuery {
    /// Sort order.
    pub order: Order,
    /// Case-insensitive substring that tag names must contain.
    pub filter: Option<String>,
    /// Where the previous page ended; `None` starts a walk.
    pub after: Option<WalkPosition>,
    /// Most tags to return.
    pub limit: usize,
}

/// One page of a v3 marker walk.
#[derive(Debug)]
pub struct WalkPage {
    /// The repository the tags belong to.
    pub ctx: Arc<RepoContext>,
    /// The tags of this page, in order.
    pub tags: Vec<Arc<SwrTag>>,
    /// Where the next page starts, when more tags follow.
    pub next: Option<WalkPosition>,
}

/// Why a page of a marker walk cannot be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WalkError {
    /// The namespace or repository does not exist.
    #[error(transparent)]
    Lookup(#[from] LookupError),
    /// The walk began on an earlier build of the repository (before a reset or an import).
    #[error("the walk began before the repository was reset or reloaded")]
    Stale,
    /// More than [`WALK_CHANGE_WINDOW`] changes happened to the repository
    /// since the walk began.
    #[error("more than {WALK_CHANGE_WINDOW} tags of the repository changed since the walk began")]
    Expired,
    /// The position is not one this repository could have issued.
    #[error("the position was not issued for this repository and order")]
    NotIssued,
}

/// Why an SWR tag write failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TagWriteError {
    /// The namespace or repository does not exist.
    #[error(transparent)]
    Lookup(#[from] LookupError),
    /// The tag does not exist.
    #[error("tag {0} not found")]
    TagNotFound(String),
    /// The destination tag exists and overriding was not asked for.
    #[error("tag {0} already exists")]
    TagExists(String),
    /// Every tag id up to [`MAX_ID`] is taken.
    #[error("no tag id is left below {MAX_ID}")]
    IdsExhausted,
}

/// The current time in epoch seconds.
pub(crate) fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// Why a repository lookup failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    /// No namespace of that name.
    #[error("namespace {0} not found")]
    NamespaceNotFound(String),
    /// The namespace exists, the repository does not.
    #[error("repository {0} not found")]
    RepositoryNotFound(String),
}

impl Store {
    pub(crate) fn from_inner(inner: Inner) -> Self {
        Self {
            inner: Arc::new(RwLock::new(inner)),
            generation: Arc::default(),
            durable: Arc::default(),
            epoch: Arc::default(),
        }
    }

    /// A read guard. A panic while a lock is held cannot leave the data
    /// half-written (every mutation builds its new value before swapping it
    /// in), so a poisoned lock is safe to keep using.
    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// A write guard; see [`Store::read`] on poisoning.
    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        let guard = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        guard
    }

    /// A write guard for bookkeeping that changes no data (the change log):
    /// the generation, and so the page cache, stays.
    fn write_quiet(&self) -> RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// A number that changes whenever the store may have changed.
    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The number of the latest recorded change: a write is saved once the
    /// persister has saved up to the number read after it.
    pub fn change_seq(&self) -> u64 {
        self.read().change_seq
    }

    /// Starts recording changes for persistence; with `all`, everything
    /// counts as changed (the database does not hold this state yet).
    pub(crate) fn track_changes(&self, all: bool) {
        let mut inner = self.write_quiet();
        inner.changes = Some(Changes {
            all,
            ..Changes::default()
        });
    }

    /// Takes what changed so far (`None`: nothing), with the number of the
    /// latest change.
    pub(crate) fn take_changes(&self) -> (u64, Option<Changes>) {
        let mut inner = self.write_quiet();
        let seq = inner.change_seq;
        let changes = inner
            .changes
            .as_mut()
            .filter(|c| !c.is_empty())
            .map(std::mem::take);
        (seq, changes)
    }

    /// The state database, when the store persists.
    pub fn durable(&self) -> Option<&Arc<crate::store::persist::Durable>> {
        self.durable.get()
    }

    /// Makes the store persist into `durable` (once).
    pub(crate) fn set_durable(&self, durable: Arc<crate::store::persist::Durable>) {
        let _ = self.durable.set(durable);
    }

    /// Moves the contents out, leaving an empty store.
    pub(crate) fn take_inner(&self) -> Inner {
        std::mem::take(&mut *self.write())
    }

    /// Puts back changes that could not be saved.
    pub(crate) fn restore_changes(&self, failed: Changes) {
        let mut inner = self.write_quiet();
        if let Some(changes) = &mut inner.changes {
            changes.merge(failed);
        }
    }

    /// The secret key of every access key, by AK (kept across an import of
    /// an export, which leaves secret keys out).
    pub(crate) fn secret_keys(&self) -> HashMap<Arc<str>, Arc<str>> {
        self.read()
            .iam
            .access_keys
            .iter()
            .map(|(ak, key)| (ak.clone(), key.secret.clone()))
            .collect()
    }

    /// Adds a tag to a repository, replacing any tag of the same name, and
    /// returns the replaced one. The tag shows up at once in both list APIs,
    /// in its place in every order.
    pub fn put_tag(
        &self,
        namespace: &str,
        repository: &str,
        tag: SwrTag,
    ) -> Result<Option<Arc<SwrTag>>, LookupError> {
        let mut inner = self.write();
        let name = tag.name.clone();
        let old = lookup_mut(&mut inner, namespace, repository)?.insert(Arc::new(tag));
        inner.mark_tag(namespace, repository, &name);
        Ok(old)
    }

    /// Removes a tag from a repository and returns it (`None` if there was none).
    pub fn remove_tag(
        &self,
        namespace: &str,
        repository: &str,
        name: &str,
    ) -> Result<Option<Arc<SwrTag>>, LookupError> {
        let mut inner = self.write();
        let old = lookup_mut(&mut inner, namespace, repository)?.remove(name);
        if old.is_some() {
            inner.mark_tag(namespace, repository, name);
        }
        Ok(old)
    }

    /// `CreateRepoTag`: points `destination` at the image of `source`, as
    /// `docker tag` + `docker push` would. The new tag gets a fresh id and the
    /// current time; with `override_existing` an existing destination keeps its
    /// id and `created`, and gets the source's image and a new `updated`.
    pub fn retag(
        &self,
        namespace: &str,
        repository: &str,
        source: &str,
        destination: &str,
        override_existing: bool,
    ) -> Result<Arc<SwrTag>, TagWriteError> {
        let mut inner = self.write();
        let next_id = inner.next_tag_id;
        let repo = lookup_mut(&mut inner, namespace, repository)?;
        let src = repo
            .get(source)
            .cloned()
            .ok_or_else(|| TagWriteError::TagNotFound(source.to_owned()))?;
        let existing = repo.get(destination).cloned();
        if existing.is_some() && !override_existing {
            return Err(TagWriteError::TagExists(destination.to_owned()));
        }
        let id = match &existing {
            Some(e) => e.id,
            None => allocate_id(next_id).ok_or(TagWriteError::IdsExhausted)?,
        };
        let at = now();
        // The source's derived values depend on its name: pin them down.
        let explicit = model::Explicit {
            image_id: Some(repo.ctx.image_id(&src).into()),
            digest: Some(repo.ctx.digest(&src).into()),
            manifest: src.explicit().manifest.clone(),
            ..model::Explicit::default()
        };
        let tag = Arc::new(SwrTag {
            id,
            name: destination.into(),
            size: Some(repo.ctx.size(&src)),
            explicit: explicit.boxed(),
            created: existing.as_ref().map_or(at, |e| e.created),
            updated: at,
            ..(*src).clone()
        });
        repo.insert(tag.clone());
        if existing.is_none() {
            inner.next_tag_id = id + 1;
        }
        inner.mark_tag(namespace, repository, destination);
        Ok(tag)
    }

    /// `DeleteRepoTag`: removes a tag and returns it.
    pub fn delete_tag(
        &self,
        namespace: &str,
        repository: &str,
        name: &str,
    ) -> Result<Arc<SwrTag>, TagWriteError> {
        let mut inner = self.write();
        let repo = lookup_mut(&mut inner, namespace, repository)?;
        let old = repo
            .remove(name)
            .ok_or_else(|| TagWriteError::TagNotFound(name.to_owned()))?;
        inner.mark_tag(namespace, repository, name);
        Ok(old)
    }

    /// The naming context of a repository (for serialising its tags).
    pub fn list_context(
        &self,
        namespace: &str,
        repository: &str,
    ) -> Result<Arc<RepoContext>, LookupError> {
        let inner = self.read();
        let repo = lookup(&inner, namespace, repository)?;
        Ok(repo.ctx.clone())
    }

    /// One tag of a repository.
    pub fn tag(
        &self,
        namespace: &str,
        repository: &str,
        name: &str,
    ) -> Result<Option<Arc<SwrTag>>, LookupError> {
        let inner = self.read();
        let repo = lookup(&inner, namespace, repository)?;
        Ok(repo.get(name).cloned())
    }

    /// The IMS `ListImagesTags` answer for a project: every key and its distinct
    /// values across the project's images. An unknown project has no tags.
    pub fn images_tags(&self, project_id: &str) -> Arc<[TagSummary]> {
        self.read()
            .projects
            .get(project_id)
            .map(|p| p.summary.clone())
            .unwrap_or_else(|| Arc::from([]))
    }

    /// The `ListImagesTags` body of a project, serialised once per change.
    pub fn images_tags_json(&self, project_id: &str) -> bytes::Bytes {
        match self.read().projects.get(project_id) {
            Some(p) if !p.summary_json.is_empty() => p.summary_json.clone(),
            _ => bytes::Bytes::from_static(b"{\"tags\":[]}"),
        }
    }

    /// Images of a project, in fixture order.
    pub fn images(&self, project_id: &str) -> Vec<Image> {
        self.read()
            .projects
            .get(project_id)
            .map(|p| p.images.clone())
            .unwrap_or_default()
    }

    /// One page of an SWR repository's tags.
    pub fn list_tags(
        &self,
        namespace: &str,
        repository: &str,
        query: &PageQuery,
    ) -> Result<TagPage, LookupError> {
        let inner = self.read();
        let repo = lookup(&inner, namespace, repository)?;
        Ok(page(repo, query))
    }

    /// One page of a v3 marker walk. Pages follow the order the repository
    /// had when the walk began: a tag whose `updated` changes during the walk
    /// (a re-tag with `override`) keeps its place as of the start, so every
    /// tag that exists for the whole walk is returned exactly once. A tag
    /// added during the walk is returned (once) when it lands ahead of the
    /// walk; a tag deleted before the walk reaches it is not returned.
    pub fn walk_tags(
        &self,
        namespace: &str,
        repository: &str,
        query: &WalkQuery,
    ) -> Result<WalkPage, WalkError> {
        let inner = self.read();
        // Read under the lock: `replace` moves the epoch under the write lock.
        let epoch = self.epoch.load(std::sync::atomic::Ordering::SeqCst);
        let repo = lookup(&inner, namespace, repository)?;
        walk_page(repo, query, epoch)
    }

    /// Starts a new epoch (called with the contents replaced wholesale,
    /// under the write lock; see [`Store::walk_tags`]).
    pub(crate) fn next_epoch(&self) {
        self.epoch.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    /// The access key `ak`, if a fixture defines it.
    pub fn access_key(&self, ak: &str) -> Option<AccessKey> {
        self.read().iam.access_keys.get(ak).cloned()
    }

    /// The caller a token stands for, if a fixture defines it.
    pub fn token(&self, token: &str) -> Option<Caller> {
        let digest = iam::Iam::token_digest(token);
        self.read().iam.tokens.get(&digest).cloned()
    }

    /// IAM discovery: the projects of `caller` that serve `region` (all of
    /// them when `region` is `None`).
    pub fn discover_projects(&self, caller: &Caller, region: Option<&str>) -> Vec<IamProject> {
        self.read()
            .iam
            .projects
            .iter()
            .filter(|p| caller.may_use_project(&p.id) && region.is_none_or(|r| p.serves_region(r)))
            .cloned()
            .collect()
    }

    /// The account (domain) that owns a namespace, if it exists.
    pub fn namespace_domain(&self, namespace: &str) -> Option<Arc<str>> {
        self.read()
            .namespaces
            .get(namespace)
            .map(|ns| ns.domain_id.clone())
    }

    /// Number of tags in a repository, if it exists.
    pub fn tag_count(&self, namespace: &str, repository: &str) -> Option<usize> {
        let inner = self.read();
        Some(
            inner
                .namespaces
                .get(namespace)?
                .repos
                .get(repository)?
                .len(),
        )
    }
}

fn lookup<'a>(
    inner: &'a Inner,
    namespace: &str,
    repository: &str,
) -> Result<&'a Repo, LookupError> {
    inner
        .namespaces
        .get(namespace)
        .ok_or_else(|| LookupError::NamespaceNotFound(namespace.to_owned()))?
        .repos
        .get(repository)
        .ok_or_else(|| LookupError::RepositoryNotFound(repository.to_owned()))
}

fn lookup_mut<'a>(
    inner: &'a mut Inner,
    namespace: &str,
    repository: &str,
) -> Result<&'a mut Repo, LookupError> {
    inner
        .namespaces
        .get_mut(namespace)
        .ok_or_else(|| LookupError::NamespaceNotFound(namespace.to_owned()))?
        .repos
        .get_mut(repository)
        .ok_or_else(|| LookupError::RepositoryNotFound(repository.to_owned()))
}

/// Cuts one page out of a repository's index. See the module docs for costs.
fn page(repo: &Repo, query: &PageQuery) -> TagPage {
    let column = query.order.column;
    let sorted = repo.ordered(column);
    let n = sorted.len();
    let desc = query.order.direction == OrderType::Desc;

    // The page's window in logical (possibly reversed) order: [from, n).
    let (from, skip) = match &query.start {
        Start::Offset(offset) => (0, *offset),
        Start::After(key) if desc => (n - sorted.partition_point(|t| key.cmp_tag(t).is_lt()), 0),
        Start::After(key) => (sorted.partition_point(|t| key.cmp_tag(t).is_le()), 0),
    };
    let at = |i: usize| if desc { &sorted[n - 1 - i] } else { &sorted[i] };

    let needle = query.filter.as_deref().filter(|f| !f.is_empty());
    let (mut tags, total): (Vec<Arc<SwrTag>>, usize) = match needle {
        None => {
            let first = from.saturating_add(skip).min(n);
            let last = first.saturating_add(query.limit.saturating_add(1)).min(n);
            ((first..last).map(|i| at(i).clone()).collect(), n)
        }
        Some(needle) => {
            let needle = needle.to_ascii_lowercase();
            let matches = |t: &SwrTag| contains_ignore_ascii_case(&t.name, &needle);
            let total = sorted.iter().filter(|t| matches(t)).count();
            let tags = (from..n)
                .map(at)
                .filter(|t| matches(t))
                .skip(skip)
                .take(query.limit.saturating_add(1))
                .cloned()
                .collect();
            (tags, total)
        }
    };
    let next = if tags.len() > query.limit {
        tags.truncate(query.limit);
        tags.last().map(|t| SortKey::of(t, column))
    } else {
        None
    };
    TagPage {
        ctx: repo.ctx.clone(),
        tags,
        total,
        next,
    }
}

/// Cuts one page of a marker walk out of a repository (see [`Store::walk_tags`]).
///
/// Costs `O(log n + page)`, plus `O(c log c)` for the `c` changes since the
/// walk began (at most [`WALK_CHANGE_WINDOW`]) in the `updated_at` order.
fn walk_page(repo: &Repo, query: &WalkQuery, epoch: u64) -> Result<WalkPage, WalkError> {
    let column = query.order.column;
    let desc = query.order.direction == OrderType::Desc;
    let (since, after) = match &query.after {
        None => (repo.seq, None),
        Some(p) if p.epoch != epoch => return Err(WalkError::Stale),
        Some(p) if p.since > repo.seq || p.after.column() != column => {
            return Err(WalkError::NotIssued);
        }
        Some(p) => (p.since, Some(&p.after)),
    };
    let needle = query
        .filter
        .as_deref()
        .filter(|f| !f.is_empty())
        .map(str::to_ascii_lowercase);
    let matches = |t: &SwrTag| {
        needle
            .as_deref()
            .is_none_or(|n| contains_ignore_ascii_case(&t.name, n))
    };
    // Tags whose `updated` changed since the walk began are listed where
    // they stood then (if they exist now). A tag created since keeps the
    // place it was created at.
    let mut moved: HashMap<&str, i64> = HashMap::new();
    if column == OrderColumn::UpdatedAt && since < repo.seq {
        if since < repo.dropped {
            return Err(WalkError::Expired);
        }
        let from = repo.changes.partition_point(|c| c.seq <= since);
        // The first `before` of each name after the walk began is where it
        // stood then or, for a tag created since, where it was created (a
        // creation records `None`, and the next change of the tag records
        // the place it moves from).
        for change in repo.changes.range(from..) {
            if let Some(updated) = change.before {
                moved.entry(&*change.name).or_insert(updated);
            }
        }
    }
    let key_after = |key: &SortKey| match after {
        None => true,
        Some(a) => {
            let ord = cmp_keys(key, a);
            if desc { ord.is_lt() } else { ord.is_gt() }
        }
    };
    // The moved tags, at their old places, in the walk's order.
    let mut extra: Vec<(SortKey, Arc<SwrTag>)> = moved
        .iter()
        .filter_map(|(name, updated)| {
            let tag = repo.get(name)?;
            let key = SortKey::Updated {
                updated: *updated,
                name: tag.name.clone(),
            };
            (matches(tag) && key_after(&key)).then(|| (key, tag.clone()))
        })
        .collect();
    extra.sort_by(|a, b| {
        let ord = cmp_keys(&a.0, &b.0);
        if desc { ord.reverse() } else { ord }
    });
    // The others, from the index.
    let sorted = repo.ordered(column);
    let n = sorted.len();
    let from = match after {
        None => 0,
        Some(key) if desc => n - sorted.partition_point(|t| key.cmp_tag(t).is_lt()),
        Some(key) => sorted.partition_point(|t| key.cmp_tag(t).is_le()),
    };
    let mut rest = (from..n)
        .map(|i| if desc { &sorted[n - 1 - i] } else { &sorted[i] })
        .filter(|t| matches(t) && !moved.contains_key(&*t.name))
        .map(|t| (SortKey::of(t, column), t.clone()))
        .peekable();
    let mut extra = extra.into_iter().peekable();
    let want = query.limit.saturating_add(1);
    let mut page: Vec<(SortKey, Arc<SwrTag>)> = Vec::with_capacity(want.min(1024));
    while page.len() < want {
        let take_extra = match (extra.peek(), rest.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(a), Some(b)) => {
                let ord = cmp_keys(&a.0, &b.0);
                if desc { ord.is_gt() } else { ord.is_lt() }
            }
        };
        let item = if take_extra {
            extra.next()
        } else {
            rest.next()
        };
        page.extend(item);
    }
    let next = if page.len() > query.limit {
        page.truncate(query.limit);
        page.last().map(|(key, _)| WalkPosition {
            epoch,
            since,
            after: key.clone(),
        })
    } else {
        None
    };
    Ok(WalkPage {
        ctx: repo.ctx.clone(),
        tags: page.into_iter().map(|(_, t)| t).collect(),
        next,
    })
}

/// Compares two keys of the same column in ascending order.
fn cmp_keys(a: &SortKey, b: &SortKey) -> Ordering {
    match (a, b) {
        (
            SortKey::Updated { updated, name },
            SortKey::Updated {
                updated: u2,
                name: n2,
            },
        ) => updated.cmp(u2).then_with(|| name.cmp(n2)),
        (SortKey::Name(a), SortKey::Name(b)) => a.cmp(b),
        (SortKey::Updated { .. }, SortKey::Name(_)) => Ordering::Less,
        (SortKey::Name(_), SortKey::Updated { .. }) => Ordering::Greater,
    }
}

fn contains_ignore_ascii_case(haystack: &str, lower_needle: &str) -> bool {
    let (h, n) = (haystack.as_bytes(), lower_needle.as_bytes());
    n.len() <= h.len()
        && h.windows(n.len())
            .any(|w| w.iter().zip(n).all(|(a, b)| a.to_ascii_lowercase() == *b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(name: &str, updated: i64) -> Arc<SwrTag> {
        Arc::new(SwrTag {
            id: 1,
            repo_id: 1,
            name: name.into(),
            schema: 2,
            size: Some(1),
            is_trusted: false,
            created: updated,
            updated,
            scanned: false,
            tag_type: 0,
            explicit: None,
            json: Default::default(),
        })
    }

    fn repo(tags: &[(&str, i64)]) -> Repo {
        let ctx = Arc::new(RepoContext {
            namespace: "ns".into(),
            repository: "repo".into(),
            domain_id: "d".into(),
            registry_host: "h".into(),
            internal_host: "i".into(),
        });
        Repo::new(ctx, 1, tags.iter().map(|(n, u)| tag(n, *u)).collect())
    }

    fn names(p: &TagPage) -> Vec<&str> {
        p.tags.iter().map(|t| &*t.name).collect()
    }

    fn q(column: OrderColumn, direction: OrderType, start: Start, limit: usize) -> PageQuery {
        PageQuery {
            order: Order { column, direction },
            filter: None,
            start,
            limit,
        }
    }

    #[test]
    fn default_order_is_newest_first_with_name_tie_break() {
        let r = repo(&[("a", 1), ("b", 3), ("c", 3), ("d", 2)]);
        let p = page(
            &r,
            &q(
                OrderColumn::UpdatedAt,
                OrderType::Desc,
                Start::Offset(0),
                10,
            ),
        );
        assert_eq!(names(&p), ["c", "b", "d", "a"]);
        assert_eq!(p.total, 4);
        assert!(p.next.is_none());
    }

    #[test]
    fn markers_resume_after_the_key_in_both_directions() {
        let r = repo(&[("a", 1), ("b", 2), ("c", 3), ("d", 4), ("e", 5)]);
        for direction in [OrderType::Asc, OrderType::Desc] {
            for column in [OrderColumn::Tag, OrderColumn::UpdatedAt] {
                let mut seen = vec![];
                let mut start = Start::Offset(0);
                loop {
                    let p = page(&r, &q(column, direction, start, 2));
                    seen.extend(names(&p).into_iter().map(str::to_owned));
                    match p.next {
                        Some(k) => start = Start::After(k),
                        None => break,
                    }
                }
                let mut want = vec!["a", "b", "c", "d", "e"];
                if direction == OrderType::Desc {
                    want.reverse();
                }
                assert_eq!(seen, want, "{column:?} {direction:?}");
            }
        }
    }

    #[test]
    fn a_marker_whose_tag_was_deleted_still_resumes_in_place() {
        let r = repo(&[("a", 1), ("c", 3), ("d", 4)]);
        let key = SortKey::Name("b".into());
        let p = page(
            &r,
            &q(
                OrderColumn::Tag,
                OrderType::Asc,
                Start::After(key.clone()),
                10,
            ),
        );
        assert_eq!(names(&p), ["c", "d"]);
        let p = page(
            &r,
            &q(OrderColumn::Tag, OrderType::Desc, Start::After(key), 10),
        );
        assert_eq!(names(&p), ["a"]);
    }

    #[test]
    fn inserts_and_removes_keep_both_indexes_sorted() {
        let mut r = repo(&[("b", 2), ("d", 4)]);
        assert!(r.insert(tag("c", 1)).is_none());
        let old = r.insert(tag("b", 9)).unwrap();
        assert_eq!(old.updated, 2);
        assert_eq!(r.remove("d").unwrap().updated, 4);
        assert!(r.remove("zz").is_none());
        let by_name = page(
            &r,
            &q(OrderColumn::Tag, OrderType::Asc, Start::Offset(0), 10),
        );
        assert_eq!(names(&by_name), ["b", "c"]);
        let by_time = page(
            &r,
            &q(OrderColumn::UpdatedAt, OrderType::Asc, Start::Offset(0), 10),
        );
        assert_eq!(names(&by_time), ["c", "b"]);
        assert_eq!(r.get("c").unwrap().updated, 1);
    }

    /// Walks `repo` in `order` by [`walk_page`], calling `between` after
    /// each page; returns the names in the order returned.
    fn walk_with(
        repo: &mut Repo,
        order: Order,
        limit: usize,
        mut between: impl FnMut(&mut Repo),
    ) -> Result<Vec<String>, WalkError> {
        let mut seen = Vec::new();
        let mut after = None;
        for _ in 0..10_000 {
            let page = walk_page(
                repo,
                &WalkQuery {
                    order,
                    filter: None,
                    after,
                    limit,
                },
                0,
            )?;
            seen.extend(page.tags.iter().map(|t| t.name.to_string()));
            match page.next {
                Some(next) => after = Some(next),
                None => return Ok(seen),
            }
            between(repo);
        }
        panic!("the walk does not end");
    }

    #[test]
    fn a_retagged_tag_keeps_its_place_as_of_the_walks_start() {
        for direction in [OrderType::Asc, OrderType::Desc] {
            let mut r = repo(&[("a", 1), ("b", 2), ("c", 3), ("d", 4), ("e", 5)]);
            let order = Order {
                column: OrderColumn::UpdatedAt,
                direction,
            };
            let mut round = 0;
            let seen = walk_with(&mut r, order, 1, |r| {
                // Move every tag to the newest and then to the oldest place.
                round += 1;
                for name in ["a", "b", "c", "d", "e"] {
                    r.insert(tag(name, if round % 2 == 0 { 100 + round } else { -round }));
                }
            })
            .unwrap();
            let mut want = ["a", "b", "c", "d", "e"];
            if direction == OrderType::Desc {
                want.reverse();
            }
            assert_eq!(seen, want, "{direction:?}");
        }
    }

    #[test]
    fn a_walk_older_than_the_change_window_is_refused_not_guessed() {
        let mut r = repo(&[("a", 1), ("b", 2), ("c", 3)]);
        let order = Order::default();
        let result = walk_with(&mut r, order, 1, |r| {
            for i in 0..=WALK_CHANGE_WINDOW as i64 {
                r.insert(tag("b", 10 + i));
            }
        });
        assert_eq!(result, Err(WalkError::Expired));
        let fresh = walk_with(&mut r, order, 1, |_| {}).unwrap();
        assert_eq!(fresh, ["b", "c", "a"]);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(128))]
        /// Whatever is written between pages, a walk returns no tag twice,
        /// every tag that exists for the whole walk once, and the tags that
        /// existed at its start in the order they had then.
        #[test]
        fn walks_return_each_lasting_tag_exactly_once_in_the_starting_order(
            initial in proptest::collection::vec((0u8..30, 0i64..6), 0..40),
            desc: bool,
            by_name: bool,
            limit in 1usize..6,
            ops in proptest::collection::vec((0u8..3, 0u8..40, 0i64..10), 0..150),
        ) {
            let name = |i: u8| format!("t{i:02}");
            let mut r = repo(&[]);
            for (i, updated) in &initial {
                r.insert(tag(&name(*i), *updated));
            }
            let order = Order {
                column: if by_name { OrderColumn::Tag } else { OrderColumn::UpdatedAt },
                direction: if desc { OrderType::Desc } else { OrderType::Asc },
            };
            let start: Vec<String> = r
                .ordered(order.column)
                .iter()
                .map(|t| t.name.to_string())
                .collect();
            let mut start = start;
            if desc {
                start.reverse();
            }
            let mut removed = std::collections::HashSet::new();
            let mut ops = ops.into_iter();
            let seen = walk_with(&mut r, order, limit, |r| {
                for (op, i, updated) in ops.by_ref().take(3) {
                    match op {
                        0 => { r.insert(tag(&name(i), updated)); }
                        1 => { if r.remove(&name(i)).is_some() { removed.insert(name(i)); } }
                        _ => { if r.get(&name(i)).is_some() { r.insert(tag(&name(i), 100 + updated)); } }
                    }
                }
            }).unwrap();
            let unique: std::collections::HashSet<&String> = seen.iter().collect();
            proptest::prop_assert_eq!(unique.len(), seen.len(), "a tag came twice: {:?}", seen);
            for n in &start {
                proptest::prop_assert!(unique.contains(n) || removed.contains(n), "{} was skipped: {:?}", n, seen);
            }
            let old: Vec<&String> = seen.iter().filter(|n| start.contains(n)).collect();
            let want: Vec<&String> = start.iter().filter(|n| unique.contains(n)).collect();
            proptest::prop_assert_eq!(old, want, "the starting order");
        }
    }

    #[test]
    fn offsets_past_the_end_give_an_empty_page_with_the_total() {
        let r = repo(&[("a", 1), ("b", 2)]);
        let p = page(
            &r,
            &q(OrderColumn::Tag, OrderType::Asc, Start::Offset(5), 10),
        );
        assert!(p.tags.is_empty());
        assert_eq!(p.total, 2);
    }

    #[test]
    fn filters_match_substrings_ignoring_ascii_case_and_count_matches() {
        let r = repo(&[("v1.0", 1), ("V1.1", 2), ("latest", 3), ("v2.0", 4)]);
        let mut query = q(OrderColumn::Tag, OrderType::Asc, Start::Offset(1), 1);
        query.filter = Some("v1".into());
        let p = page(&r, &query);
        assert_eq!(names(&p), ["v1.0"]);
        assert_eq!(p.total, 2);
        assert!(p.next.is_none());
    }
}
