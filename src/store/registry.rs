//! The store seen from the registry: one set of SWR tags for both doors.
//!
//! A manifest pushed by tag becomes an SWR tag (digest, size, manifest, times;
//! the organization and repository are created when missing, as SWR does on
//! push); a tag the SWR API made (`CreateRepoTag`, fixtures) is pulled as its
//! `manifest` and `digest` say; a tag deleted through the API is gone for the
//! registry too. Blobs live beside the tags, in [`super::blobs`].

use std::sync::Arc;

use serde_json::json;

use super::blobs::Blobs;
use super::seed::FixtureError;
use super::swr::lookup;
use super::{LookupError, Store, SwrTag, model};

/// A tag as the registry serves it.
#[derive(Debug, Clone)]
pub(crate) struct PulledTag {
    /// `sha256:<hex>` of the manifest.
    pub(crate) digest: String,
    /// The manifest, as `ShowRepoTag`'s `manifest` gives it.
    pub(crate) manifest: String,
}

/// What a manifest push writes into the tag.
#[derive(Debug, Clone)]
pub(crate) struct PushedManifest<'a> {
    /// The tag name.
    pub(crate) tag: &'a str,
    /// `sha256:<hex>` of the manifest bytes.
    pub(crate) digest: &'a str,
    /// The manifest text.
    pub(crate) manifest: &'a str,
    /// Config plus layers, in bytes (for an index: the sum over its manifests).
    pub(crate) size: i64,
    /// The config digest's hex (the image id), or the manifest's for an index.
    pub(crate) image_id: &'a str,
    /// 0 for an image manifest, 1 for a manifest list or image index.
    pub(crate) tag_type: i64,
}

impl Store {
    /// The registry's blob store.
    pub(crate) fn blobs(&self) -> &Blobs {
        &self.blobs
    }

    /// Counts a registry write (blobs, links) as a change, so that with
    /// `--persist` its answer waits until it is on disk.
    pub(crate) fn note_registry_change(&self) {
        self.write_quiet().change_seq += 1;
    }

    /// The host of derived `path` values (`--registry-host`).
    pub(crate) fn registry_host_name(&self) -> String {
        self.read().registry_host.to_string()
    }

    /// An access key of `domain_id` and its SK (the first by AK), for
    /// callers that authenticated with a token.
    pub(crate) fn access_key_of(&self, domain_id: &str) -> Option<(Arc<str>, Arc<str>)> {
        let inner = self.read();
        inner
            .iam
            .access_keys
            .iter()
            .filter(|(_, k)| &*k.caller.domain_id == domain_id)
            .min_by(|a, b| a.0.cmp(b.0))
            .map(|(ak, k)| (ak.clone(), k.secret.clone()))
    }

    /// The account that owns `namespace`, or `None` when it does not exist.
    pub(crate) fn registry_owner(&self, namespace: &str) -> Option<Arc<str>> {
        self.namespace_domain(namespace)
    }

    /// Every tag name of a repository, in name order.
    pub(crate) fn tag_names(
        &self,
        namespace: &str,
        repository: &str,
    ) -> Result<Vec<Arc<str>>, LookupError> {
        let inner = self.read();
        let repo = lookup(&inner, namespace, repository)?;
        let mut names: Vec<Arc<str>> = repo.by_name.iter().map(|t| t.name.clone()).collect();
        names.sort_unstable();
        Ok(names)
    }

    /// A tag as the registry serves it.
    pub(crate) fn pulled_tag(
        &self,
        namespace: &str,
        repository: &str,
        name: &str,
    ) -> Result<Option<PulledTag>, LookupError> {
        let inner = self.read();
        let repo = lookup(&inner, namespace, repository)?;
        Ok(repo.get(name).map(|t| PulledTag {
            digest: repo.ctx.digest(t).into_owned(),
            manifest: repo.ctx.manifest(t).into_owned(),
        }))
    }

    /// A manifest of the repository by digest, from its tags (for tags the
    /// SWR API made, whose manifest the registry never received).
    pub(crate) fn manifest_by_digest(
        &self,
        namespace: &str,
        repository: &str,
        digest: &str,
    ) -> Option<String> {
        let inner = self.read();
        let repo = lookup(&inner, namespace, repository).ok()?;
        repo.by_name
            .iter()
            .find(|t| repo.ctx.digest(t) == digest)
            .map(|t| repo.ctx.manifest(t).into_owned())
    }

    /// Names of the tags of a repository that point at `digest`.
    pub(crate) fn tags_of_digest(
        &self,
        namespace: &str,
        repository: &str,
        digest: &str,
    ) -> Vec<Arc<str>> {
        let inner = self.read();
        let Ok(repo) = lookup(&inner, namespace, repository) else {
            return Vec::new();
        };
        repo.by_name
            .iter()
            .filter(|t| repo.ctx.digest(t) == digest)
            .map(|t| t.name.clone())
            .collect()
    }

    /// Writes the SWR tag of a manifest push, creating the organization
    /// (owned by `domain_id`) and the repository when missing. A re-push
    /// keeps the tag's id and `created`, and moves `updated`.
    pub(crate) fn push_manifest_tag(
        &self,
        namespace: &str,
        repository: &str,
        domain_id: Option<&str>,
        pushed: &PushedManifest<'_>,
    ) -> Result<Arc<SwrTag>, FixtureError> {
        let existing = self.tag(namespace, repository, pushed.tag).ok().flatten();
        let now = model::format_time(super::now());
        let created = existing
            .as_ref()
            .map_or_else(|| now.clone(), |t| model::format_time(t.created));
        let spec = json!({
            "tag": pushed.tag,
            "digest": pushed.digest,
            "manifest": pushed.manifest,
            "size": pushed.size,
            "image_id": pushed.image_id,
            "tag_type": pushed.tag_type,
            "schema": 2,
            "created": created,
            "updated": now,
        });
        // An existing namespace keeps its owner (the caller checked tenancy).
        let owner = match self.namespace_domain(namespace) {
            Some(_) => None,
            None => domain_id,
        };
        self.push_tag(namespace, repository, owner, spec)
            .map(|(tag, _)| tag)
    }
}
