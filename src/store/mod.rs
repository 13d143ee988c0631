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
//!
//! # Files
//! - this file: the handle ([`Store`]), its contents ([`Inner`]), the
//!   change log persistence reads, IMS projects and IAM reads;
//! - `repo.rs`: SWR namespaces and repositories, and a repository's two
//!   tag indexes;
//! - `page.rs`: orders, pages and v3 marker walks over those indexes;
//! - `swr.rs`: the store's SWR tag reads and writes;
//! - `ims.rs`, `iam.rs`, `model.rs`: IMS image tags, accounts, records;
//! - `seed/`: fixtures in and out; `persist.rs`: the state database;
//!   `generate.rs`: generated fixtures; `blobs.rs`, `registry.rs`: the
//!   registry's blobs and its view of the SWR tags.

pub(crate) mod blobs;
pub(crate) mod generate;
pub(crate) mod iam;
pub(crate) mod images;
pub(crate) mod ims;
pub(crate) mod model;
mod page;
pub(crate) mod persist;
pub(crate) mod registry;
mod repo;
pub(crate) mod resources;
pub(crate) mod seed;
mod swr;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use indexmap::IndexMap;

pub(crate) use iam::{AccessKey, Caller, IamProject};
pub(crate) use model::{Image, SwrTag};
pub use page::{Order, PageQuery, Start};
pub(crate) use page::{OrderColumn, OrderType, SortKey, WalkError, WalkPosition, WalkQuery};
pub(crate) use repo::{Namespace, Repo, RepoContext, WALK_CHANGE_WINDOW};
pub use swr::{LookupError, TagWriteError};

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
    /// The registry's blobs (see [`blobs`]).
    blobs: Arc<blobs::Blobs>,
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
    /// The next free SWR namespace (organization) id.
    pub(crate) next_namespace_id: i64,
    /// The repository list indexes, built on first use and kept up to date
    /// by every write after that (see [`resources::RepoIndexes`]).
    pub(crate) repo_index: std::sync::OnceLock<resources::RepoIndexes>,
    /// Host of derived `path` values, for repositories created at run time.
    pub(crate) registry_host: Arc<str>,
    /// Counts recorded changes (see [`Inner::mark_tag`]).
    pub(crate) change_seq: u64,
    /// What changed since persistence last saved; `None` when nothing
    /// persists (then nothing is recorded).
    pub(crate) changes: Option<Changes>,
    /// Registry contents read with these contents (a fixture's or an
    /// import's `registry` section), installed when they become a store's.
    pub(crate) blob_snapshot: Option<blobs::Snapshot>,
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
    /// SWR namespaces created, changed or removed.
    pub(crate) namespaces: HashSet<Arc<str>>,
    /// SWR repositories created, changed or removed: (namespace, repository).
    pub(crate) repos: HashSet<(Arc<str>, Arc<str>)>,
}

impl Changes {
    /// Whether nothing changed.
    pub(crate) fn is_empty(&self) -> bool {
        !self.all
            && self.tags.is_empty()
            && self.images.is_empty()
            && self.namespaces.is_empty()
            && self.repos.is_empty()
    }

    /// Folds `other` (older changes that failed to save) back in.
    pub(crate) fn merge(&mut self, other: Changes) {
        self.all |= other.all;
        self.tags.extend(other.tags);
        self.images.extend(other.images);
        self.namespaces.extend(other.namespaces);
        self.repos.extend(other.repos);
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

/// The current time in epoch seconds.
pub(crate) fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

impl Store {
    pub(crate) fn from_inner(mut inner: Inner) -> Self {
        let blobs = Arc::<blobs::Blobs>::default();
        if let Some(snapshot) = inner.blob_snapshot.take() {
            blobs.install(snapshot);
        }
        Self {
            inner: Arc::new(RwLock::new(inner)),
            generation: Arc::default(),
            durable: Arc::default(),
            epoch: Arc::default(),
            blobs,
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
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The number of the latest recorded change: a write is saved once the
    /// persister has saved up to the number read after it.
    pub(crate) fn change_seq(&self) -> u64 {
        self.read().change_seq
    }

    /// Starts recording changes for persistence; with `all`, everything
    /// counts as changed (the database does not hold this state yet).
    pub(crate) fn track_changes(&self, all: bool) {
        self.blobs.track_changes(all);
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
    pub(crate) fn durable(&self) -> Option<&Arc<crate::store::persist::Durable>> {
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

    /// The IMS `ListImagesTags` answer for a project: every key and its distinct
    /// values across the project's images. An unknown project has no tags.
    pub fn images_tags(&self, project_id: &str) -> Arc<[TagSummary]> {
        self.read()
            .projects
            .get(project_id)
            .map_or_else(|| Arc::from([]), |p| p.summary.clone())
    }

    /// The `ListImagesTags` body of a project, serialised once per change.
    pub(crate) fn images_tags_json(&self, project_id: &str) -> bytes::Bytes {
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
    pub(crate) fn discover_projects(
        &self,
        caller: &Caller,
        region: Option<&str>,
    ) -> Vec<IamProject> {
        self.read()
            .iam
            .projects
            .iter()
            .filter(|p| caller.may_use_project(&p.id) && region.is_none_or(|r| p.serves_region(r)))
            .cloned()
            .collect()
    }
}
