//! Accounts (domains), their projects and credentials: what strict
//! authentication checks against and what IAM project discovery answers.
//!
//! Tokens are kept by their SHA-256, so looking one up compares digests, never
//! the secret itself, and takes the same time whatever the token's bytes.

use std::collections::HashMap;
use std::sync::Arc;

use sha2::{Digest, Sha256};

/// Who is calling: an account and the projects its credential may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The account (domain) the credential belongs to.
    pub domain_id: Arc<str>,
    /// Project ids the credential may use.
    pub projects: Arc<[Arc<str>]>,
}

impl Caller {
    /// Whether the credential may use `project_id`.
    pub(crate) fn may_use_project(&self, project_id: &str) -> bool {
        self.projects.iter().any(|p| &**p == project_id)
    }
}

/// An access key: the caller it stands for and its secret key.
#[derive(Debug, Clone)]
pub struct AccessKey {
    /// The caller.
    pub caller: Caller,
    /// The secret key (SK). Never logged or echoed.
    pub secret: Arc<str>,
}

/// One IAM project, as `GET /v3/projects` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IamProject {
    /// Project id.
    pub id: Arc<str>,
    /// Project name (by Huawei convention, the region id, such as `cn-north-4`).
    pub name: Arc<str>,
    /// Owning account.
    pub domain_id: Arc<str>,
    /// Region names the project answers discovery for; `None` means any.
    pub regions: Option<Vec<Arc<str>>>,
}

impl IamProject {
    /// Whether discovery for `region` finds this project.
    pub(crate) fn serves_region(&self, region: &str) -> bool {
        self.regions
            .as_ref()
            .is_none_or(|rs| rs.iter().any(|r| &**r == region))
    }
}

/// Every account's projects and credentials.
#[derive(Debug, Default)]
pub(crate) struct Iam {
    /// Access keys by AK.
    pub(crate) access_keys: HashMap<Arc<str>, AccessKey>,
    /// Callers by the SHA-256 of their token.
    pub(crate) tokens: HashMap<[u8; 32], Caller>,
    /// Projects in fixture order.
    pub(crate) projects: Vec<IamProject>,
    /// The accounts as the fixtures defined them, for state export.
    pub(crate) export: Vec<crate::store::seed::DomainDoc>,
}

impl Iam {
    /// The digest a token is kept under.
    pub(crate) fn token_digest(token: &str) -> [u8; 32] {
        Sha256::digest(token.as_bytes()).into()
    }
}
