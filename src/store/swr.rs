//! The store's SWR tag operations: put, remove, re-tag and delete, the
//! repository lookups, and the reads the list APIs page through.

use std::sync::Arc;

use super::page::{PageQuery, TagPage, WalkError, WalkPage, WalkQuery, page, walk_page};
use super::{Inner, MAX_ID, Repo, RepoContext, Store, SwrTag, allocate_id, model, now};

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
    /// Every tag id up to 2^53 - 1 (`MAX_ID`) is taken.
    #[error("no tag id is left below {MAX_ID}")]
    IdsExhausted,
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
    /// Adds a tag to a repository, replacing any tag of the same name, and
    /// returns the replaced one. The tag shows up at once in both list APIs,
    /// in its place in every order.
    ///
    /// # Errors
    /// A [`TagWriteError`] when the repository does not exist or the tag cannot be stored.
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
    ///
    /// # Errors
    /// A [`TagWriteError`] when the repository or the tag does not exist.
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
    pub(crate) fn retag(
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
    pub(crate) fn delete_tag(
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
        // The repository changed now, even if its newest tag is older.
        repo.meta_mut().updated = repo.meta().updated.max(now());
        inner.mark_tag(namespace, repository, name);
        Ok(old)
    }

    /// Runs `read` on a repository under the read lock; a [`LookupError`]
    /// when the namespace or the repository does not exist.
    fn read_repo<T, E: From<LookupError>>(
        &self,
        namespace: &str,
        repository: &str,
        read: impl FnOnce(&Repo) -> Result<T, E>,
    ) -> Result<T, E> {
        let inner = self.read();
        read(lookup(&inner, namespace, repository)?)
    }

    /// The naming context of a repository (for serialising its tags).
    pub(crate) fn list_context(
        &self,
        namespace: &str,
        repository: &str,
    ) -> Result<Arc<RepoContext>, LookupError> {
        self.read_repo(namespace, repository, |repo| Ok(repo.ctx.clone()))
    }

    /// One tag of a repository.
    ///
    /// # Errors
    /// A [`LookupError`] when the namespace, the repository or the tag does not exist.
    pub fn tag(
        &self,
        namespace: &str,
        repository: &str,
        name: &str,
    ) -> Result<Option<Arc<SwrTag>>, LookupError> {
        self.read_repo(namespace, repository, |repo| Ok(repo.get(name).cloned()))
    }

    /// One page of an SWR repository's tags.
    ///
    /// # Errors
    /// A [`LookupError`] when the namespace or the repository does not exist.
    pub fn list_tags(
        &self,
        namespace: &str,
        repository: &str,
        query: &PageQuery,
    ) -> Result<TagPage, LookupError> {
        self.read_repo(namespace, repository, |repo| Ok(page(repo, query)))
    }

    /// One page of a v3 marker walk. Pages follow the order the repository
    /// had when the walk began: a tag whose `updated` changes during the walk
    /// (a re-tag with `override`) keeps its place as of the start, so every
    /// tag that exists for the whole walk is returned exactly once. A tag
    /// added during the walk is returned (once) when it lands ahead of the
    /// walk; a tag deleted before the walk reaches it is not returned.
    pub(crate) fn walk_tags(
        &self,
        namespace: &str,
        repository: &str,
        query: &WalkQuery,
    ) -> Result<Result<WalkPage, WalkError>, LookupError> {
        self.read_repo(namespace, repository, |repo| {
            // Read under the lock: `replace` moves the epoch under the write lock.
            let epoch = self.epoch.load(std::sync::atomic::Ordering::SeqCst);
            Ok(walk_page(repo, query, epoch))
        })
    }

    /// The account (domain) that owns a namespace, if it exists.
    pub(crate) fn namespace_domain(&self, namespace: &str) -> Option<Arc<str>> {
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

pub(super) fn lookup<'a>(
    inner: &'a Inner,
    namespace: &str,
    repository: &str,
) -> Result<&'a Repo, LookupError> {
    let found = inner
        .namespaces
        .get(namespace)
        .map(|ns| ns.repos.get(repository));
    found_or_error(found, namespace, repository)
}

pub(super) fn lookup_mut<'a>(
    inner: &'a mut Inner,
    namespace: &str,
    repository: &str,
) -> Result<&'a mut Repo, LookupError> {
    let found = inner
        .namespaces
        .get_mut(namespace)
        .map(|ns| ns.repos.get_mut(repository));
    found_or_error(found, namespace, repository)
}

/// What [`lookup`] and [`lookup_mut`] found: the namespace (`Some`) with the
/// repository (`Some`) or without it, or neither; an error names the first
/// that is missing.
fn found_or_error<R>(
    found: Option<Option<R>>,
    namespace: &str,
    repository: &str,
) -> Result<R, LookupError> {
    match found {
        None => Err(LookupError::NamespaceNotFound(namespace.to_owned())),
        Some(None) => Err(LookupError::RepositoryNotFound(repository.to_owned())),
        Some(Some(repo)) => Ok(repo),
    }
}
