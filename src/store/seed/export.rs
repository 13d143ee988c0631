//! Export: the store as a fixture document (`GET /_mock/state`), every
//! derived value explicit, sorted so that export, import and export again
//! give the same bytes.

use serde_json::Value;

use super::document::{
    FixtureFile, IamSection, ImageDoc, ImageTagDoc, ImsSection, NamespaceDoc, ProjectDoc,
    RepositoryDoc, SwrSection, TagDoc, TagItem,
};
use crate::store::model::{self, Image, SwrTag};
use crate::store::{DEFAULT_INTERNAL_HOST, Repo, RepoContext, Store};

impl Store {
    /// The whole store as fixture JSON: every id, time and digest explicit,
    /// everything sorted, so export, import and export again give the same
    /// bytes. Derived manifests and paths stay derived. Secrets (SKs, tokens)
    /// are included: this is the state the fixtures described.
    pub fn export(&self) -> Value {
        serde_json::to_value(self.export_doc()).unwrap_or(Value::Null)
    }

    /// [`Store::export`] as typed records (serialised without a tree).
    pub(crate) fn export_doc(&self) -> FixtureFile {
        let inner = self.read();
        let mut projects: Vec<ProjectDoc> = inner
            .projects
            .iter()
            .map(|(id, project)| ProjectDoc {
                id: id.to_string(),
                images: project.images.iter().map(export_image).collect(),
            })
            .collect();
        projects.sort_by(|a, b| a.id.cmp(&b.id));
        let mut namespaces: Vec<NamespaceDoc> = inner
            .namespaces
            .iter()
            .map(|(name, ns)| {
                let mut repositories: Vec<RepositoryDoc> = ns
                    .repos
                    .iter()
                    .map(|(repo_name, repo)| export_repo(repo_name, repo))
                    .collect();
                repositories.sort_by(|a, b| a.name.cmp(&b.name));
                NamespaceDoc {
                    name: name.to_string(),
                    domain_id: Some(ns.domain_id.to_string()),
                    id: Some(ns.id),
                    creator_name: Some(ns.creator_name.to_string()),
                    repositories,
                }
            })
            .collect();
        namespaces.sort_by(|a, b| a.name.cmp(&b.name));
        FixtureFile {
            _schema: Some("schema.json".into()),
            _description: Some("State exported by ims-swr-mock (GET /_mock/state).".into()),
            iam: IamSection {
                domains: inner.iam.export.clone(),
            },
            ims: ImsSection { projects },
            swr: SwrSection {
                internal_registry_host: None,
                namespaces,
            },
            faults: Vec::new(),
            registry: self.blobs().export_section(),
        }
    }
}

fn export_repo(name: &str, repo: &Repo) -> RepositoryDoc {
    let default_host = *repo.ctx.internal_host == *DEFAULT_INTERNAL_HOST;
    let tags = repo
        .by_name
        .iter()
        .map(|t| export_tag(&repo.ctx, default_host, t))
        .collect();
    RepositoryDoc {
        tags,
        ..repo_doc(name, repo)
    }
}

/// A tag in fixture form, every derived value explicit except the manifest
/// and the paths (kept derived unless the fixture gave them).
pub(super) fn export_tag(ctx: &RepoContext, default_host: bool, t: &SwrTag) -> TagDoc {
    let e = t.explicit();
    TagDoc {
        tag: t.name.to_string(),
        id: Some(t.id),
        image_id: Some(ctx.image_id(t).into_owned()),
        manifest: e.manifest.as_deref().map(str::to_owned),
        digest: Some(ctx.digest(t).into_owned()),
        schema: Some(t.schema),
        path: e.path.as_deref().map(str::to_owned),
        internal_path: match (&e.internal_path, default_host) {
            (Some(p), _) => Some(p.to_string()),
            (None, true) => None,
            (None, false) => Some(ctx.internal_path(t)),
        },
        size: Some(ctx.size(t)),
        is_trusted: Some(t.is_trusted),
        created: Some(model::format_time(t.created)),
        updated: Some(model::format_time(t.updated)),
        deleted: e.deleted.as_deref().map(|d| Some(d.to_owned())),
        scanned: Some(t.scanned),
        tag_type: Some(t.tag_type),
    }
}

/// An image in fixture form, every field explicit.
/// A repository's own fields in fixture form (no tags), every one explicit.
pub(super) fn repo_doc<T: TagItem>(name: &str, repo: &Repo) -> RepositoryDoc<T> {
    RepositoryDoc {
        name: name.to_owned(),
        id: Some(repo.id),
        category: Some(repo.meta().category.to_string()),
        description: Some(repo.meta().description.to_string()),
        is_public: Some(repo.meta().is_public),
        created: Some(model::format_time(repo.meta().created)),
        updated: Some(model::format_time(repo.meta().updated)),
        num_download: Some(repo.meta().num_download),
        tags: Vec::new(),
    }
}

/// A repository's fields from its fixture record; absent ones are derived
/// (see [`RepositoryDoc`]). Errors name the field.
pub(super) fn repo_meta<T: TagItem>(
    doc: &RepositoryDoc<T>,
    repo: &Repo,
) -> Result<crate::store::resources::RepoMeta, (&'static str, String)> {
    use crate::store::resources::{DEFAULT_CATEGORY, RepoMeta};
    let defaults = RepoMeta::default();
    let oldest = repo.by_name.iter().map(|t| t.created).min();
    let created = match &doc.created {
        Some(t) => model::parse_time(t).map_err(|e| ("created", e))?,
        None => oldest.unwrap_or(defaults.created),
    };
    let updated = match &doc.updated {
        Some(t) => model::parse_time(t).map_err(|e| ("updated", e))?,
        None => created,
    };
    Ok(RepoMeta {
        category: doc.category.as_deref().unwrap_or(DEFAULT_CATEGORY).into(),
        description: doc.description.as_deref().unwrap_or("").into(),
        is_public: doc.is_public.unwrap_or(false),
        created,
        updated,
        num_download: doc.num_download.unwrap_or(0),
    })
}

pub(super) fn export_image(image: &Image) -> ImageDoc {
    ImageDoc {
        imagetype: Some(image.image_type.to_string()),
        platform: Some(image.platform.to_string()),
        os_type: Some(image.os_type.to_string()),
        min_disk: Some(image.min_disk),
        member_status: image.member_status.as_deref().map(str::to_owned),
        virtual_env_type: Some(image.virtual_env_type.to_string()),
        enterprise_project_id: Some(image.enterprise_project_id.to_string()),
        architecture: Some(image.architecture.to_string()),
        created_at: Some(model::format_time(image.created_at)),
        updated_at: Some(model::format_time(image.updated_at)),
        id: Some(image.id.to_string()),
        name: Some(image.name.to_string()),
        status: Some(image.status.to_string()),
        description: (!image.description.is_empty()).then(|| image.description.to_string()),
        tags: image
            .tags
            .iter()
            .map(|(k, v)| ImageTagDoc {
                key: k.to_string(),
                value: v.to_string(),
            })
            .collect(),
    }
}
