//! The registry's content store: blobs (layers, configs, manifests) held once
//! by digest, whatever the number of repositories and tags that use them,
//! under one byte budget (`--max-blob-bytes`).
//!
//! - A blob is a `Bytes` keyed by its digest (`sha256:<hex>`); each repository
//!   keeps the set of digests it may read (its *links*). Linking a blob that is
//!   already held costs no memory: a cross-repository mount, or a second push
//!   of the same layer, only adds a link. A blob is dropped when the last
//!   repository unlinks it.
//! - Manifests are blobs too; a repository also notes the media type of each
//!   manifest it holds. Tags are not kept here: an SWR tag (the store's
//!   [`crate::store::SwrTag`]) names the manifest digest, so the registry and
//!   the SWR APIs read the same tags.
//! - Uploads in progress count against the budget as their bytes arrive, so
//!   a client cannot exhaust memory by never finishing an upload.
//!
//! One `std::sync::Mutex`, held for short synchronous sections only: bodies
//! are read before the lock is taken, and no guard lives across an `.await`.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

use bytes::Bytes;
use sha2::{Digest as _, Sha256};

use crate::store::seed::document::{BlobData, RegistrySection, RepoLinksDoc};

/// Default `--max-blob-bytes`: 2 GiB.
pub(crate) const DEFAULT_MAX_BLOB_BYTES: u64 = 2 << 30;

/// Most uploads in progress at once: a client that starts uploads and never
/// finishes them cannot grow the table without bound.
pub const MAX_UPLOADS: usize = 1024;

/// The registry's blob store. Cloned as part of [`crate::store::Store`].
#[derive(Debug)]
pub(crate) struct Blobs {
    /// The contents.
    inner: Mutex<Inner>,
    /// The byte budget for blobs plus uploads in progress.
    limit: AtomicU64,
    /// `http` or `https`: the scheme of the token realm in challenges.
    scheme: OnceLock<&'static str>,
    /// Key that signs registry bearer tokens (random per process).
    token_key: [u8; 32],
}

impl Default for Blobs {
    fn default() -> Self {
        // std's `RandomState` is seeded from the OS: four of them make the key.
        use std::hash::BuildHasher as _;
        let mut token_key = [0u8; 32];
        for (i, chunk) in token_key.chunks_mut(8).enumerate() {
            let word = std::collections::hash_map::RandomState::new().hash_one(i);
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        Self {
            inner: Mutex::default(),
            limit: AtomicU64::new(DEFAULT_MAX_BLOB_BYTES),
            scheme: OnceLock::new(),
            token_key,
        }
    }
}

/// What [`Blobs`] holds.
#[derive(Debug, Default)]
struct Inner {
    /// Every blob, by digest.
    blobs: HashMap<String, Bytes>,
    /// Bytes held: blobs plus uploads in progress.
    used: u64,
    /// Links by repository name (`namespace/repository`).
    repos: HashMap<String, Links>,
    /// Uploads in progress, by id.
    uploads: HashMap<String, Upload>,
    /// The next upload id.
    next_upload: u64,
    /// What changed since persistence last saved (`None`: nothing persists).
    changes: Option<BlobChanges>,
}

/// What changed in the blob store since the last save (see [`crate::store::persist`]).
#[derive(Debug, Default)]
pub(crate) struct BlobChanges {
    /// Everything (reset, import, or a new database).
    all: bool,
    /// Blobs stored.
    put: HashSet<String>,
    /// Blobs dropped.
    removed: HashSet<String>,
    /// Repositories whose links changed.
    repos: HashSet<String>,
}

impl BlobChanges {
    fn merge(&mut self, other: BlobChanges) {
        self.all |= other.all;
        self.put.extend(other.put);
        self.removed.extend(other.removed);
        self.repos.extend(other.repos);
    }
}

/// Rows to write for a set of changes.
#[derive(Debug, Default)]
pub(crate) struct BlobRows {
    /// Empty both tables first.
    pub(crate) clear: bool,
    /// Blobs to write: digest and bytes.
    pub(crate) put: Vec<(String, Bytes)>,
    /// Blobs to delete.
    pub(crate) delete: Vec<String>,
    /// Links to write (`Some(json)`) or delete (`None`), by repository.
    pub(crate) links: Vec<(String, Option<String>)>,
}

impl Inner {
    fn note_put(&mut self, digest: &str) {
        if let Some(c) = &mut self.changes {
            c.removed.remove(digest);
            c.put.insert(digest.to_owned());
        }
    }

    fn note_removed(&mut self, digest: &str) {
        if let Some(c) = &mut self.changes {
            c.put.remove(digest);
            c.removed.insert(digest.to_owned());
        }
    }

    fn note_repo(&mut self, repo: &str) {
        if let Some(c) = &mut self.changes {
            c.repos.insert(repo.to_owned());
        }
    }

    /// A repository's links as stored: `{"blobs": [...], "manifests": {digest: media type}}`.
    fn links_json(&self, repo: &str) -> Option<String> {
        let links = self.repos.get(repo)?;
        if links.blobs.is_empty() && links.manifests.is_empty() {
            return None;
        }
        serde_json::to_string(&links.doc()).ok()
    }
}

/// What one repository may read.
#[derive(Debug, Default)]
struct Links {
    /// Digests of the blobs (layers and configs) pushed or mounted here.
    blobs: HashSet<String>,
    /// Manifests held here: digest to media type.
    manifests: HashMap<String, String>,
}

impl Links {
    /// In document form, sorted.
    fn doc(&self) -> RepoLinksDoc {
        let mut blobs: Vec<String> = self.blobs.iter().cloned().collect();
        blobs.sort();
        RepoLinksDoc {
            blobs,
            manifests: self
                .manifests
                .iter()
                .map(|(d, m)| (d.clone(), m.clone()))
                .collect(),
        }
    }
}

/// Registry contents read from a document or the saved state, ready for
/// [`Blobs::install`]; a store's contents carry one until they replace the
/// store's (see [`crate::store::Store::replace`]).
#[derive(Debug, Default)]
pub(crate) struct Snapshot {
    /// Where it was read (for errors).
    pub(crate) source: String,
    /// Blobs by digest.
    blobs: HashMap<String, Bytes>,
    /// Links by repository.
    repos: HashMap<String, Links>,
    /// Their total size.
    bytes: u64,
}

impl Snapshot {
    /// An empty one read from `source`.
    pub(crate) fn new(source: &str) -> Self {
        Self {
            source: source.to_owned(),
            ..Self::default()
        }
    }

    fn add_blob(&mut self, digest: String, data: Bytes) {
        let len = data.len() as u64;
        if self.blobs.insert(digest, data).is_none() {
            self.bytes += len;
        }
    }

    fn add_links(&mut self, repo: String, doc: RepoLinksDoc) {
        let entry = self.repos.entry(repo).or_default();
        entry.blobs.extend(doc.blobs);
        entry.manifests.extend(doc.manifests);
    }

    /// Adds a document's `registry` section (read at `path`): every blob
    /// must hash to its digest, and every digest a repository links must be
    /// a blob of the section. Problems come back as (JSONPath, message).
    pub(crate) fn add_section(
        &mut self,
        section: RegistrySection,
        path: &str,
    ) -> Result<(), Vec<(String, String)>> {
        let mut problems = Vec::new();
        for (repo, links) in &section.repositories {
            let named = links.blobs.iter().chain(links.manifests.keys());
            for digest in named.filter(|d| !section.blobs.contains_key(*d)) {
                problems.push((
                    format!("{path}.repositories[{repo:?}]"),
                    format!("links {digest}, which is not in {path}.blobs"),
                ));
            }
        }
        for (digest, BlobData(data)) in section.blobs {
            if sha256_digest(&data) == digest {
                self.add_blob(digest, data);
            } else {
                problems.push((
                    format!("{path}.blobs[{digest:?}]"),
                    format!("the bytes do not match digest {digest}"),
                ));
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        for (repo, links) in section.repositories {
            self.add_links(repo, links);
        }
        Ok(())
    }
}

/// An upload in progress.
#[derive(Debug)]
struct Upload {
    /// The repository it was started in.
    repo: String,
    /// The pieces received so far, as they arrived (joined once, at the end).
    chunks: Vec<Bytes>,
    /// Their total length.
    len: u64,
}

/// Why a blob operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum BlobError {
    /// The budget would be exceeded.
    #[error(
        "the registry's blob storage is full: {used} of {limit} bytes are held and {wanted} more were sent; raise --max-blob-bytes (IMS_SWR_MOCK_MAX_BLOB_BYTES) or delete images"
    )]
    Full {
        /// Bytes held.
        used: u64,
        /// The budget.
        limit: u64,
        /// Bytes asked for.
        wanted: u64,
    },
    /// No upload of that id (in that repository).
    #[error("upload {0} is unknown")]
    UploadUnknown(String),
    /// The bytes do not hash to the digest given.
    #[error("the content does not match digest {0}")]
    DigestMismatch(String),
    /// Too many uploads are in progress.
    #[error(
        "{0} uploads are in progress, the most the registry keeps; finish or cancel some (DELETE the upload)"
    )]
    TooManyUploads(usize),
    /// A chunk does not start where the upload ends.
    #[error("the chunk starts at {start}, but {have} bytes were received")]
    RangeInvalid {
        /// Where the chunk says it starts.
        start: u64,
        /// Bytes received so far.
        have: u64,
    },
}

/// `sha256:<hex>` of `bytes`.
pub(crate) fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

impl Blobs {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets the byte budget (`--max-blob-bytes`).
    pub(crate) fn set_limit(&self, bytes: u64) {
        self.limit.store(bytes, Ordering::Relaxed);
    }

    /// The byte budget.
    pub(crate) fn limit(&self) -> u64 {
        self.limit.load(Ordering::Relaxed)
    }

    /// Bytes held (blobs plus uploads in progress).
    pub(crate) fn used(&self) -> u64 {
        self.lock().used
    }

    /// Number of distinct blobs held.
    #[cfg(test)]
    pub(crate) fn count(&self) -> usize {
        self.lock().blobs.len()
    }

    /// Notes the scheme the server answers on (for the token realm).
    pub(crate) fn set_scheme(&self, scheme: &'static str) {
        let _ = self.scheme.set(scheme);
    }

    /// `http` or `https`.
    pub(crate) fn scheme(&self) -> &'static str {
        self.scheme.get().copied().unwrap_or("http")
    }

    /// The key that signs bearer tokens.
    pub(crate) fn token_key(&self) -> &[u8; 32] {
        &self.token_key
    }

    /// Drops everything (reset, import).
    pub(crate) fn clear(&self) {
        let mut inner = self.lock();
        let tracking = inner.changes.is_some();
        *inner = Inner::default();
        if tracking {
            inner.changes = Some(BlobChanges {
                all: true,
                ..BlobChanges::default()
            });
        }
    }

    /// Starts recording changes for persistence; with `all`, everything
    /// counts as changed.
    pub(crate) fn track_changes(&self, all: bool) {
        self.lock().changes = Some(BlobChanges {
            all,
            ..BlobChanges::default()
        });
    }

    /// Takes what changed so far (`None`: nothing).
    pub(crate) fn take_changes(&self) -> Option<BlobChanges> {
        let mut inner = self.lock();
        let c = inner.changes.as_mut()?;
        if !c.all && c.put.is_empty() && c.removed.is_empty() && c.repos.is_empty() {
            return None;
        }
        Some(std::mem::take(c))
    }

    /// Puts back changes that could not be saved.
    pub(crate) fn restore_changes(&self, failed: BlobChanges) {
        if let Some(c) = &mut self.lock().changes {
            c.merge(failed);
        }
    }

    /// The rows that save `changes` (cheap: blob bytes are shared, not copied).
    pub(crate) fn rows(&self, changes: &BlobChanges) -> BlobRows {
        let inner = self.lock();
        if changes.all {
            let mut repos: Vec<&String> = inner.repos.keys().collect();
            repos.sort();
            return BlobRows {
                clear: true,
                put: inner
                    .blobs
                    .iter()
                    .map(|(d, b)| (d.clone(), b.clone()))
                    .collect(),
                delete: Vec::new(),
                links: repos
                    .into_iter()
                    .filter_map(|r| Some((r.clone(), Some(inner.links_json(r)?))))
                    .collect(),
            };
        }
        BlobRows {
            clear: false,
            put: changes
                .put
                .iter()
                .filter_map(|d| Some((d.clone(), inner.blobs.get(d)?.clone())))
                .collect(),
            delete: changes
                .removed
                .iter()
                .filter(|d| !inner.blobs.contains_key(*d))
                .cloned()
                .collect(),
            links: changes
                .repos
                .iter()
                .map(|r| (r.clone(), inner.links_json(r)))
                .collect(),
        }
    }

    /// Loads saved blobs and links (at start, before any request).
    pub(crate) fn load(
        &self,
        blobs: Vec<(String, Bytes)>,
        links: Vec<(String, String)>,
    ) -> Result<(), String> {
        let mut snapshot = Snapshot::default();
        for (digest, data) in blobs {
            snapshot.add_blob(digest, data);
        }
        for (repo, json) in links {
            let doc: RepoLinksDoc = serde_json::from_str(&json)
                .map_err(|e| format!("the links of {repo} are not valid: {e}"))?;
            snapshot.add_links(repo, doc);
        }
        self.install(snapshot);
        Ok(())
    }

    /// Adds verified contents (a fixture's or an import's `registry`
    /// section, or the saved state) to what is held, without a budget check
    /// (see [`Blobs::fits`]).
    pub(crate) fn install(&self, snapshot: Snapshot) {
        let mut inner = self.lock();
        for (digest, data) in snapshot.blobs {
            if !inner.blobs.contains_key(&digest) {
                inner.used += data.len() as u64;
                inner.note_put(&digest);
                inner.blobs.insert(digest, data);
            }
        }
        for (repo, links) in snapshot.repos {
            inner.note_repo(&repo);
            let entry = inner.repos.entry(repo).or_default();
            entry.blobs.extend(links.blobs);
            entry.manifests.extend(links.manifests);
        }
    }

    /// Whether `snapshot` alone fits the budget; the error names the flag.
    pub(crate) fn fits(&self, snapshot: &Snapshot) -> Result<(), BlobError> {
        Self::room(&Inner::default(), self.limit(), snapshot.bytes)
    }

    /// The `registry` section of an export (`None` when nothing is held).
    /// Bytes are shared, not copied: they are base64-encoded as the
    /// document is written.
    pub(crate) fn export_section(&self) -> Option<RegistrySection> {
        let inner = self.lock();
        if inner.blobs.is_empty() && inner.repos.is_empty() {
            return None;
        }
        Some(RegistrySection {
            blobs: inner
                .blobs
                .iter()
                .map(|(d, b)| (d.clone(), BlobData(b.clone())))
                .collect(),
            repositories: inner
                .repos
                .iter()
                .filter(|(_, l)| !l.blobs.is_empty() || !l.manifests.is_empty())
                .map(|(r, l)| (r.clone(), l.doc()))
                .collect(),
        })
    }

    /// Holds `data` as blob `digest` unless it is held already.
    fn hold(inner: &mut Inner, limit: u64, digest: &str, data: Bytes) -> Result<(), BlobError> {
        if !inner.blobs.contains_key(digest) {
            Self::room(inner, limit, data.len() as u64)?;
            inner.used += data.len() as u64;
            inner.blobs.insert(digest.to_owned(), data);
            inner.note_put(digest);
        }
        Ok(())
    }

    fn room(inner: &Inner, limit: u64, wanted: u64) -> Result<(), BlobError> {
        if inner.used.saturating_add(wanted) > limit {
            return Err(BlobError::Full {
                used: inner.used,
                limit,
                wanted,
            });
        }
        Ok(())
    }

    /// The blob `digest` if `repo` may read it (a blob or a manifest linked there).
    pub(crate) fn get(&self, repo: &str, digest: &str) -> Option<Bytes> {
        let inner = self.lock();
        let links = inner.repos.get(repo)?;
        if !links.blobs.contains(digest) && !links.manifests.contains_key(digest) {
            return None;
        }
        inner.blobs.get(digest).cloned()
    }

    /// The blob `digest` whoever holds it (for manifests of tags made by
    /// `CreateRepoTag` in another repository's image).
    pub(crate) fn get_any(&self, digest: &str) -> Option<Bytes> {
        self.lock().blobs.get(digest).cloned()
    }

    /// Whether any repository holds the blob `digest`.
    pub(crate) fn held(&self, digest: &str) -> bool {
        self.lock().blobs.contains_key(digest)
    }

    /// Whether `repo` has the blob `digest`.
    pub(crate) fn has(&self, repo: &str, digest: &str) -> bool {
        let inner = self.lock();
        inner.repos.get(repo).is_some_and(|l| {
            (l.blobs.contains(digest) || l.manifests.contains_key(digest))
                && inner.blobs.contains_key(digest)
        })
    }

    /// Stores `data` as blob `digest` (verified) and links it to `repo`.
    /// A blob already held is linked, not stored again.
    pub(crate) fn put(&self, repo: &str, digest: &str, data: Bytes) -> Result<(), BlobError> {
        if sha256_digest(&data) != digest {
            return Err(BlobError::DigestMismatch(digest.to_owned()));
        }
        let mut inner = self.lock();
        Self::hold(&mut inner, self.limit(), digest, data)?;
        if inner
            .repos
            .entry(repo.to_owned())
            .or_default()
            .blobs
            .insert(digest.to_owned())
        {
            inner.note_repo(repo);
        }
        Ok(())
    }

    /// Cross-repository mount: links `digest` to `repo` if `from` has it.
    pub(crate) fn mount(&self, repo: &str, from: &str, digest: &str) -> bool {
        self.link_if(repo, digest, |inner| {
            inner
                .repos
                .get(from)
                .is_some_and(|l| l.blobs.contains(digest))
        })
    }

    /// Mount without `from`: links `digest` to `repo` if any repository holds it.
    pub(crate) fn mount_any(&self, repo: &str, digest: &str) -> bool {
        self.link_if(repo, digest, |_| true)
    }

    /// Links the held blob `digest` to `repo` if `allowed`; whether it did.
    fn link_if(&self, repo: &str, digest: &str, allowed: impl FnOnce(&Inner) -> bool) -> bool {
        let mut inner = self.lock();
        let ok = inner.blobs.contains_key(digest) && allowed(&inner);
        if ok {
            inner
                .repos
                .entry(repo.to_owned())
                .or_default()
                .blobs
                .insert(digest.to_owned());
            inner.note_repo(repo);
        }
        ok
    }

    /// Stores a manifest (already verified against `digest`) and links it to
    /// `repo` with its media type.
    pub(crate) fn put_manifest(
        &self,
        repo: &str,
        digest: &str,
        media_type: &str,
        data: Bytes,
    ) -> Result<(), BlobError> {
        let mut inner = self.lock();
        Self::hold(&mut inner, self.limit(), digest, data)?;
        inner
            .repos
            .entry(repo.to_owned())
            .or_default()
            .manifests
            .insert(digest.to_owned(), media_type.to_owned());
        inner.note_repo(repo);
        Ok(())
    }

    /// A manifest of `repo` by digest: its bytes and media type.
    pub(crate) fn manifest(&self, repo: &str, digest: &str) -> Option<(Bytes, String)> {
        let inner = self.lock();
        let media = inner.repos.get(repo)?.manifests.get(digest)?.clone();
        Some((inner.blobs.get(digest)?.clone(), media))
    }

    /// Every manifest of `repo`: digest, media type and bytes (for referrers).
    pub(crate) fn manifests(&self, repo: &str) -> Vec<(String, String, Bytes)> {
        let inner = self.lock();
        let Some(links) = inner.repos.get(repo) else {
            return Vec::new();
        };
        links
            .manifests
            .iter()
            .filter_map(|(d, m)| Some((d.clone(), m.clone(), inner.blobs.get(d)?.clone())))
            .collect()
    }

    /// Unlinks a blob from `repo`; `false` if it was not linked there.
    pub(crate) fn unlink_blob(&self, repo: &str, digest: &str) -> bool {
        let mut inner = self.lock();
        let removed = inner
            .repos
            .get_mut(repo)
            .is_some_and(|l| l.blobs.remove(digest));
        if removed {
            inner.note_repo(repo);
            Self::collect(&mut inner, digest);
        }
        removed
    }

    /// Unlinks a manifest from `repo`; `false` if it was not there.
    pub(crate) fn unlink_manifest(&self, repo: &str, digest: &str) -> bool {
        let mut inner = self.lock();
        let removed = inner
            .repos
            .get_mut(repo)
            .is_some_and(|l| l.manifests.remove(digest).is_some());
        if removed {
            inner.note_repo(repo);
            Self::collect(&mut inner, digest);
        }
        removed
    }

    /// Drops `digest` if no repository links it any more.
    fn collect(inner: &mut Inner, digest: &str) {
        let used = inner
            .repos
            .values()
            .any(|l| l.blobs.contains(digest) || l.manifests.contains_key(digest));
        if !used && let Some(data) = inner.blobs.remove(digest) {
            inner.used -= data.len() as u64;
            inner.note_removed(digest);
        }
    }

    /// Starts an upload in `repo`; returns its id.
    pub(crate) fn start_upload(&self, repo: &str) -> Result<String, BlobError> {
        let mut inner = self.lock();
        if inner.uploads.len() >= MAX_UPLOADS {
            return Err(BlobError::TooManyUploads(MAX_UPLOADS));
        }
        inner.next_upload += 1;
        let id = format!(
            "{:016x}-{:08x}",
            inner.next_upload,
            u32::from_le_bytes(self.token_key[..4].try_into().unwrap_or_default())
        );
        inner.uploads.insert(
            id.clone(),
            Upload {
                repo: repo.to_owned(),
                chunks: Vec::new(),
                len: 0,
            },
        );
        Ok(id)
    }

    /// Bytes received so far by upload `id` of `repo`.
    pub(crate) fn upload_len(&self, repo: &str, id: &str) -> Result<u64, BlobError> {
        let inner = self.lock();
        match inner.uploads.get(id) {
            Some(u) if u.repo == repo => Ok(u.len),
            _ => Err(BlobError::UploadUnknown(id.to_owned())),
        }
    }

    /// Appends a chunk to upload `id`; `start` is where the client says it
    /// begins (from `Content-Range`), checked when given. Returns the new length.
    pub(crate) fn append(
        &self,
        repo: &str,
        id: &str,
        start: Option<u64>,
        chunks: Vec<Bytes>,
    ) -> Result<u64, BlobError> {
        let size: u64 = chunks.iter().map(|c| c.len() as u64).sum();
        let limit = self.limit();
        let mut inner = self.lock();
        let have = match inner.uploads.get(id) {
            Some(u) if u.repo == repo => u.len,
            _ => return Err(BlobError::UploadUnknown(id.to_owned())),
        };
        if let Some(start) = start
            && start != have
        {
            return Err(BlobError::RangeInvalid { start, have });
        }
        Self::room(&inner, limit, size)?;
        inner.used += size;
        let upload = inner
            .uploads
            .get_mut(id)
            .ok_or_else(|| BlobError::UploadUnknown(id.to_owned()))?;
        upload.chunks.extend(chunks);
        upload.len += size;
        Ok(upload.len)
    }

    /// Finishes upload `id`: the bytes must hash to `digest`. The upload is
    /// gone afterwards, whether or not the digest matched.
    pub(crate) fn finish(&self, repo: &str, id: &str, digest: &str) -> Result<u64, BlobError> {
        let upload = {
            let mut inner = self.lock();
            match inner.uploads.get(id) {
                Some(u) if u.repo == repo => {}
                _ => return Err(BlobError::UploadUnknown(id.to_owned())),
            }
            let upload = inner
                .uploads
                .remove(id)
                .ok_or_else(|| BlobError::UploadUnknown(id.to_owned()))?;
            inner.used -= upload.len;
            upload
        };
        // Joining and hashing run outside the lock.
        let data = join(upload.chunks);
        let len = data.len() as u64;
        self.put(repo, digest, data)?;
        Ok(len)
    }

    /// Cancels upload `id`.
    pub(crate) fn cancel(&self, repo: &str, id: &str) -> Result<(), BlobError> {
        let mut inner = self.lock();
        match inner.uploads.get(id) {
            Some(u) if u.repo == repo => {}
            _ => return Err(BlobError::UploadUnknown(id.to_owned())),
        }
        if let Some(upload) = inner.uploads.remove(id) {
            inner.used -= upload.len;
        }
        Ok(())
    }
}

/// The pieces as one buffer of exactly their length: one piece is kept as it
/// is (no copy); several are copied once.
pub(crate) fn join(mut chunks: Vec<Bytes>) -> Bytes {
    if chunks.len() == 1 {
        return chunks.pop().unwrap_or_default();
    }
    let total = chunks.iter().map(Bytes::len).sum();
    let mut out = bytes::BytesMut::with_capacity(total);
    for c in chunks {
        out.extend_from_slice(&c);
    }
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blob_is_held_once_whatever_the_number_of_repositories() {
        let blobs = Blobs::default();
        let data = Bytes::from(vec![7u8; 1000]);
        let digest = sha256_digest(&data);
        for repo in ["a/x", "a/y", "b/z"] {
            blobs.put(repo, &digest, data.clone()).unwrap();
        }
        assert!(blobs.mount("c/w", "a/x", &digest));
        assert_eq!(blobs.used(), 1000);
        assert_eq!(blobs.count(), 1);
        for repo in ["a/x", "a/y", "b/z"] {
            assert!(blobs.unlink_blob(repo, &digest));
        }
        assert_eq!(blobs.used(), 1000, "c/w still links it");
        assert!(blobs.unlink_blob("c/w", &digest));
        assert_eq!((blobs.used(), blobs.count()), (0, 0));
    }

    #[test]
    fn the_budget_counts_uploads_and_refuses_with_the_flag_named() {
        let blobs = Blobs::default();
        blobs.set_limit(10);
        let id = blobs.start_upload("a/x").unwrap();
        blobs
            .append("a/x", &id, None, vec![Bytes::from_static(b"12345678")])
            .unwrap();
        let err = blobs
            .append("a/x", &id, Some(8), vec![Bytes::from_static(b"abc")])
            .unwrap_err();
        assert!(err.to_string().contains("--max-blob-bytes"), "{err}");
        blobs.cancel("a/x", &id).unwrap();
        assert_eq!(blobs.used(), 0);
    }

    #[test]
    fn a_wrong_digest_is_refused_and_the_upload_is_released() {
        let blobs = Blobs::default();
        let id = blobs.start_upload("a/x").unwrap();
        blobs
            .append("a/x", &id, None, vec![Bytes::from_static(b"hello")])
            .unwrap();
        let wrong = sha256_digest(b"other");
        assert_eq!(
            blobs.finish("a/x", &id, &wrong),
            Err(BlobError::DigestMismatch(wrong))
        );
        assert_eq!(blobs.used(), 0);
    }
}
