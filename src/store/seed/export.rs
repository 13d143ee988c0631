//! Export: the store as a fixture document (`GET /_mock/state`), every
//! derived value explicit, sorted so that export, import and export again
//! give the same bytes.

use serde_json::Value;

use super::document::{
    FixtureFile, IamSection, ImageDoc, ImageTagDoc, ImsSection, NamespaceDoc, ProjectDoc,
    RepositoryDoc, SwrSection, TagDoc,
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
        name: name.to_owned(),
        id: Some(repo.id),
        tags,
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
