//! SWR namespaces and repositories: a repository's tags in two sorted
//! vectors (by name, and by `(updated, name)`), with the recent changes to
//! the second kept for v3 marker walks.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use super::model::{self, SwrTag};
use super::page::OrderColumn;

/// One SWR namespace (organization).
#[derive(Debug)]
pub(crate) struct Namespace {
    /// Account (domain) that owns the namespace.
    pub(crate) domain_id: Arc<str>,
    /// Organization id (`id` of `ShowNamespace`, `ns_id` of `ShowRepository`).
    pub(crate) id: i64,
    /// `creator_name`: the user that created the organization.
    pub(crate) creator_name: Arc<str>,
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
        self.pull_path(tag.explicit().path.as_deref(), &self.registry_host, tag)
    }

    /// `internal_path` of a tag: the stored one, or `{internal_host}/{namespace}/{repository}:{tag}`.
    pub fn internal_path(&self, tag: &SwrTag) -> String {
        self.pull_path(
            tag.explicit().internal_path.as_deref(),
            &self.internal_host,
            tag,
        )
    }

    /// A pull path: the stored one, or `{host}/{namespace}/{repository}:{tag}`.
    fn pull_path(&self, stored: Option<&str>, host: &str, tag: &SwrTag) -> String {
        match stored {
            Some(p) => p.to_owned(),
            None => format!("{host}/{}/{}:{}", self.namespace, self.repository, tag.name),
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
    /// What the repository APIs show besides its tags (category, times, …);
    /// private so that every change goes through [`Repo::meta_mut`].
    meta: super::resources::RepoMeta,
    /// The repository's view, cached until a change to what it shows (see
    /// [`super::resources::ViewSlot`]).
    pub(crate) view: Arc<super::resources::ViewSlot>,
    /// Sum of the tags' sizes, computed on first use and then kept in step
    /// by every tag write ([`Repo::insert`], [`Repo::unlink`]).
    pub(super) size_total: std::sync::OnceLock<i64>,
    /// Tags sorted by name (the `tag` order, and lookups by name).
    pub(super) by_name: Vec<Arc<SwrTag>>,
    /// Tags sorted by `(updated, name)` (the `updated_at` order).
    pub(super) by_updated: Vec<Arc<SwrTag>>,
    /// Recent changes to the `updated_at` order, oldest first, so that a
    /// marker walk sees the order of its start (see [`crate::Store::walk_tags`]).
    pub(super) changes: std::collections::VecDeque<Change>,
    /// Sequence number of the last change (0: none since the repository was built).
    pub(super) seq: u64,
    /// Sequence number of the newest change dropped from `changes` (walks
    /// that began before it can no longer be served exactly).
    pub(super) dropped: u64,
}

/// One change to a repository's `updated_at` order.
#[derive(Debug)]
pub(super) struct Change {
    /// Its sequence number ([`Repo::seq`] after it).
    pub(super) seq: u64,
    /// The tag's name.
    pub(super) name: Arc<str>,
    /// The tag's `updated` before the change; `None` when it did not exist.
    pub(super) before: Option<i64>,
}

/// Changes kept per repository for marker walks: a walk during which more
/// changes than this happened to its repository gets a 400 asking to start
/// again, rather than a page that might repeat or skip a tag.
pub(crate) const WALK_CHANGE_WINDOW: usize = 10_000;

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
            meta: super::resources::RepoMeta::default(),
            view: Arc::default(),
            size_total: std::sync::OnceLock::new(),
            by_name,
            by_updated,
            changes: std::collections::VecDeque::new(),
            seq: 0,
            dropped: 0,
        }
    }

    /// Records that `name` moved in the `updated_at` order (from `before`).
    pub(super) fn record(&mut self, name: &Arc<str>, before: Option<i64>) {
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

    /// What the repository APIs show besides its tags.
    pub(crate) fn meta(&self) -> &super::resources::RepoMeta {
        &self.meta
    }

    /// The same, to change: drops the cached view.
    pub(crate) fn meta_mut(&mut self) -> &mut super::resources::RepoMeta {
        self.view.clear();
        &mut self.meta
    }

    pub(super) fn ordered(&self, column: OrderColumn) -> &[Arc<SwrTag>] {
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
    pub(super) fn insert(&mut self, tag: Arc<SwrTag>) -> Option<Arc<SwrTag>> {
        let old = self.unlink(&tag.name);
        let before = old.as_ref().map(|o| o.updated);
        if before != Some(tag.updated) {
            self.record(&tag.name, before);
        }
        if let Some(total) = self.size_total.get_mut() {
            *total += self.ctx.size(&tag);
        }
        self.view.clear();
        let at = self.by_name.partition_point(|t| t.name < tag.name);
        self.by_name.insert(at, tag.clone());
        let at = self
            .by_updated
            .partition_point(|t| cmp_updated(t, &tag).is_lt());
        self.by_updated.insert(at, tag);
        old
    }

    /// Removes the tag called `name`, if any.
    pub(super) fn remove(&mut self, name: &str) -> Option<Arc<SwrTag>> {
        let old = self.unlink(name)?;
        self.record(&old.name, Some(old.updated));
        Some(old)
    }

    /// Takes the tag called `name` out of both indexes, without recording it.
    pub(super) fn unlink(&mut self, name: &str) -> Option<Arc<SwrTag>> {
        let at = self
            .by_name
            .binary_search_by(|t| (*t.name).cmp(name))
            .ok()?;
        let old = self.by_name.remove(at);
        self.view.clear();
        if let Some(total) = self.size_total.get_mut() {
            *total -= self.ctx.size(&old);
        }
        if let Ok(at) = self.by_updated.binary_search_by(|t| cmp_updated(t, &old)) {
            self.by_updated.remove(at);
        }
        Some(old)
    }

    /// The tag called `name`, if any.
    pub(super) fn get(&self, name: &str) -> Option<&Arc<SwrTag>> {
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
