//! `Store::push_tag`: a tag added as `docker push` would, checked like a
//! fixture's tag, with its namespace and repository created when missing.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use super::derive::derive_tag;
use super::parse::parse;
use super::schema::parse_tag;
use super::{FixtureError, Problem};
use crate::store::model::SwrTag;
use crate::store::{DEFAULT_DOMAIN_ID, DEFAULT_INTERNAL_HOST, Namespace, Repo, RepoContext, Store};

impl Store {
    /// Adds (or replaces) a tag as `docker push` would, creating the namespace
    /// (owned by `domain_id`, default the default account) and the repository
    /// when missing. `spec` is the tag in fixture form (`{"tag": "v1", ...}`);
    /// omitted fields are derived, times default to now. Returns the tag and
    /// whether it is new.
    ///
    /// # Errors
    /// The problems of `spec` or of the names, as fixture problems.
    pub fn push_tag(
        &self,
        namespace: &str,
        repository: &str,
        domain_id: Option<&str>,
        spec: Value,
    ) -> Result<(Arc<SwrTag>, bool), FixtureError> {
        // Validate the tag exactly as a fixture would hold it.
        let wrapped = serde_json::json!({"swr": {"namespaces": [{
            "name": namespace,
            "repositories": [{"name": repository, "tags": [spec]}],
        }]}});
        let doc = parse("push", wrapped.to_string().as_bytes())?;
        let raw = &doc.file.swr.namespaces[0].repositories[0].tags[0];
        let tag_doc = &parse_tag(raw).map_err(|p| push_error(p, |below| format!("${below}")))?;
        let mut inner = self.write();
        // Tag ids are unique across repositories, as in fixtures: an explicit
        // id may only be the id of the tag this push replaces.
        if let Some(id) = tag_doc.id {
            let holder = inner.namespaces.iter().find_map(|(ns_name, ns)| {
                ns.repos.iter().find_map(|(repo_name, repo)| {
                    repo.by_name.iter().find(|t| t.id == id).and_then(|t| {
                        let same = **ns_name == *namespace
                            && **repo_name == *repository
                            && *t.name == *tag_doc.tag;
                        (!same).then(|| format!("{ns_name}/{repo_name}:{}", t.name))
                    })
                })
            });
            if let Some(holder) = holder {
                return Err(FixtureError::one(
                    "push",
                    "$.id",
                    format!("tag id {id} is already used by {holder}"),
                ));
            }
        }
        // Every check runs before anything changes: on error nothing does.
        let registry_host = inner.registry_host.clone();
        let next_repo_id = inner.next_repo_id;
        let next_tag_id = inner.next_tag_id;
        let current = inner.namespaces.get(namespace);
        if let Some(ns) = current
            && domain_id.is_some_and(|d| *ns.domain_id != *d)
        {
            return Err(FixtureError::one(
                "push",
                "$.domain_id",
                format!("namespace {namespace} belongs to domain {}", ns.domain_id),
            ));
        }
        let exhausted = |what: &str, path: &str| {
            FixtureError::one(
                "push",
                path,
                format!(
                    "no {what} id is left: ids go up to {}",
                    crate::store::MAX_ID
                ),
            )
        };
        let held = current.and_then(|ns| ns.repos.get(repository));
        let created_repo = held.is_none();
        let repo_id = match held {
            Some(repo) => repo.id,
            None => crate::store::allocate_id(next_repo_id)
                .ok_or_else(|| exhausted("repository", "$"))?,
        };
        let existing = held.and_then(|repo| repo.get(&tag_doc.tag).cloned());
        let id = match tag_doc.id.or(existing.as_ref().map(|e| e.id)) {
            Some(id) => id,
            None => {
                crate::store::allocate_id(next_tag_id).ok_or_else(|| exhausted("tag", "$.id"))?
            }
        };
        let tag = derive_tag(
            tag_doc,
            tag_doc.tag.as_str().into(),
            repo_id,
            id,
            crate::store::now(),
        )
        .map_err(|p| push_error(p, |field| format!("$.{field}")))?;
        let tag = Arc::new(tag);
        let next_namespace_id = inner.next_namespace_id.max(1);
        if !inner.namespaces.contains_key(namespace) {
            let id = crate::store::allocate_id(next_namespace_id)
                .ok_or_else(|| exhausted("namespace", "$"))?;
            inner.next_namespace_id = id + 1;
            inner.namespaces.insert(
                namespace.into(),
                Namespace {
                    domain_id: domain_id.unwrap_or(DEFAULT_DOMAIN_ID).into(),
                    id,
                    creator_name: crate::store::resources::DEFAULT_CREATOR.into(),
                    repos: HashMap::new(),
                },
            );
            inner.mark_namespace(namespace);
        }
        let Some(ns) = inner.namespaces.get_mut(namespace) else {
            return Err(FixtureError::one("push", "$", "the namespace vanished"));
        };
        let domain = ns.domain_id.clone();
        let repo_domain = domain.clone();
        let repo = ns.repos.entry(repository.into()).or_insert_with(|| {
            let ctx = Arc::new(RepoContext {
                namespace: namespace.into(),
                repository: repository.into(),
                domain_id: domain,
                registry_host,
                internal_host: DEFAULT_INTERNAL_HOST.into(),
            });
            let mut repo = Repo::new(ctx, repo_id, Vec::new());
            let at = crate::store::now();
            let meta = repo.meta_mut();
            meta.created = at;
            meta.updated = at;
            repo
        });
        repo.insert(tag.clone());
        if created_repo {
            let entry = crate::store::resources::RepoEntry::of(repo);
            inner.index_repo_added(&repo_domain, &entry);
            inner.mark_repo(namespace, repository);
        }
        inner.mark_tag(namespace, repository, &tag.name);
        // Ids are at most MAX_ID (the schema bounds explicit ones): no overflow.
        inner.next_repo_id = inner.next_repo_id.max(repo_id + 1);
        inner.next_tag_id = inner.next_tag_id.max(id + 1);
        Ok((tag, existing.is_none()))
    }
}

/// The problems a check of the pushed tag found, each `(where, message)`
/// with `path` turning the place into the JSONPath reported.
fn push_error(problems: Vec<(String, String)>, path: impl Fn(&str) -> String) -> FixtureError {
    FixtureError {
        problems: problems
            .into_iter()
            .map(|(at, message)| Problem {
                file: "push".into(),
                path: path(&at),
                message,
            })
            .collect(),
    }
}

impl Store {
    /// Adds an image to a project at run time (the admin API), creating the
    /// project when missing. `spec` is the image in fixture form
    /// (`{"name": …, "tags": [{"key","value"}], …}`); it is validated as a
    /// fixture's would be, omitted fields are derived (the id from the
    /// project and its image count, the times now). An id another image
    /// holds is refused.
    pub(crate) fn add_image(
        &self,
        project_id: &str,
        mut spec: Value,
    ) -> Result<crate::store::Image, FixtureError> {
        let count = self
            .read()
            .projects
            .get(project_id)
            .map_or(0, |p| p.images.len());
        if let Some(fields) = spec.as_object_mut() {
            let at = crate::store::model::format_time(crate::store::now());
            fields.entry("id").or_insert_with(|| {
                Value::from(super::derive::derived_uuid(&format!(
                    "admin:{project_id}:{count}"
                )))
            });
            fields
                .entry("name")
                .or_insert_with(|| Value::from(format!("image-{count}")));
            fields
                .entry("created_at")
                .or_insert_with(|| Value::from(at));
        }
        let wrapped =
            serde_json::json!({"ims": {"projects": [{"id": project_id, "images": [spec]}]}});
        let doc = parse("image", wrapped.to_string().as_bytes())?;
        let settings = super::SeedSettings {
            registry_host: crate::store::DEFAULT_REGISTRY_HOST.into(),
        };
        let (mut built, _) = super::build_docs(vec![doc], &settings, &super::Secrets::default())?;
        let image = built
            .projects
            .get_mut(project_id)
            .and_then(|p| p.images.pop())
            .ok_or_else(|| FixtureError::one("image", "$", "no image was built"))?;
        let mut inner = self.write();
        if let Some(holder) = inner.image_projects.get(&image.id) {
            return Err(FixtureError::one(
                "image",
                "$.id",
                format!("image id {} is already used in project {holder}", image.id),
            ));
        }
        let project = inner.projects.entry(project_id.into()).or_default();
        project.push_image(image.clone());
        project.refresh_summary();
        inner
            .image_projects
            .insert(image.id.clone(), project_id.into());
        inner.mark_image(project_id, &image.id);
        Ok(image)
    }
}
