//! IAM accounts of a fixture: domains, projects, access keys and tokens,
//! merged across files and resolved into callers once every account's
//! projects are known.

use std::sync::Arc;

use super::build::Builder;
use super::document::{AccessKeyDoc, DomainDoc, TokenDoc};
use super::parse::Document;

/// A credential waiting for its account's projects to be known (accounts
/// merge across files), with where it was defined.
pub(super) struct PendingCredential {
    pub(super) domain: String,
    pub(super) scope: Option<Vec<String>>,
    pub(super) secret: PendingSecret,
    pub(super) file: String,
    pub(super) path: String,
}

pub(super) enum PendingSecret {
    /// `secret` is `None` when the document left it out (an export).
    AccessKey {
        access: String,
        secret: Option<String>,
    },
    /// The token's SHA-256.
    Token([u8; 32]),
}

/// The digest of a token entry: the SHA-256 of `token`, or `token_sha256`
/// (the schema requires exactly one, as 64 lowercase hex digits).
fn token_doc_digest(doc: &TokenDoc) -> [u8; 32] {
    match (&doc.token, &doc.token_sha256) {
        (Some(token), _) => crate::store::iam::Iam::token_digest(token),
        (None, Some(hex)) => {
            let mut out = [0; 32];
            // Checked by the schema's pattern; a bad value gives a digest no token has.
            let _ = hex::decode_to_slice(hex, &mut out);
            out
        }
        (None, None) => [0; 32],
    }
}

impl Builder<'_> {
    pub(super) fn load_iam(&mut self, doc: &Document) {
        for (d, domain) in doc.file.iam.domains.iter().enumerate() {
            let path = format!("$.iam.domains[{d}]");
            let merged = self
                .domain_docs
                .entry(domain.id.clone())
                .or_insert_with(|| DomainDoc {
                    id: domain.id.clone(),
                    _name: domain._name.clone(),
                    projects: Vec::new(),
                    access_keys: Vec::new(),
                    tokens: Vec::new(),
                });
            merged.projects.extend(domain.projects.iter().cloned());
            // Kept for export, without secrets: SKs stay only in the key
            // table, tokens only as digests.
            merged
                .access_keys
                .extend(domain.access_keys.iter().map(|k| AccessKeyDoc {
                    secret: None,
                    ..k.clone()
                }));
            merged.tokens.extend(domain.tokens.iter().map(|t| TokenDoc {
                token: None,
                token_sha256: Some(hex::encode(token_doc_digest(t))),
                projects: t.projects.clone(),
            }));
            for (p, project) in domain.projects.iter().enumerate() {
                let ppath = format!("{path}.projects[{p}]");
                if let Some((owner, at)) = self.project_owners.get(&project.id) {
                    let message = format!(
                        "project {} is already defined (owned by {owner}) by {at}",
                        project.id
                    );
                    self.problem(&doc.name, format!("{ppath}.id"), message);
                    continue;
                }
                let at = format!("{} at {ppath}", doc.name);
                self.project_owners
                    .insert(project.id.clone(), (domain.id.clone(), at));
                let regions: Option<Vec<Arc<str>>> = project
                    .regions
                    .as_ref()
                    .map(|rs| rs.iter().map(|r| Arc::from(r.as_str())).collect());
                let name = project
                    .name
                    .clone()
                    .or_else(|| project.regions.as_ref().and_then(|rs| rs.first().cloned()))
                    .unwrap_or_else(|| project.id.clone());
                self.inner.iam.projects.push(crate::store::IamProject {
                    id: project.id.as_str().into(),
                    name: name.into(),
                    domain_id: domain.id.as_str().into(),
                    regions,
                });
            }
            let pending = |scope: &Option<Vec<String>>, secret, at: String| PendingCredential {
                domain: domain.id.clone(),
                scope: scope.clone(),
                secret,
                file: doc.name.clone(),
                path: format!("{path}.{at}"),
            };
            let keys = domain.access_keys.iter().enumerate().map(|(k, key)| {
                let secret = PendingSecret::AccessKey {
                    access: key.access.clone(),
                    secret: key.secret.clone(),
                };
                pending(&key.projects, secret, format!("access_keys[{k}]"))
            });
            let tokens = domain.tokens.iter().enumerate().map(|(t, token)| {
                let secret = PendingSecret::Token(token_doc_digest(token));
                pending(&token.projects, secret, format!("tokens[{t}]"))
            });
            let pending: Vec<_> = keys.chain(tokens).collect();
            self.credentials.extend(pending);
        }
    }

    /// Turns credentials into callers now that every account's projects are known.
    pub(super) fn resolve_credentials(&mut self) {
        for cred in std::mem::take(&mut self.credentials) {
            let owned: Vec<Arc<str>> = self
                .inner
                .iam
                .projects
                .iter()
                .filter(|p| *p.domain_id == *cred.domain)
                .map(|p| p.id.clone())
                .collect();
            let projects: Vec<Arc<str>> = match &cred.scope {
                None => owned,
                Some(scope) => {
                    for (i, id) in scope.iter().enumerate() {
                        if !owned.iter().any(|p| **p == **id) {
                            let message =
                                format!("project {id} is not a project of domain {}", cred.domain);
                            self.problem(
                                &cred.file,
                                format!("{}.projects[{i}]", cred.path),
                                message,
                            );
                        }
                    }
                    scope.iter().map(|id| Arc::from(id.as_str())).collect()
                }
            };
            let caller = crate::store::Caller {
                domain_id: cred.domain.as_str().into(),
                projects: projects.into(),
            };
            let (key, what) = match &cred.secret {
                PendingSecret::AccessKey { access, .. } => {
                    (access.as_bytes().to_vec(), format!("access key {access}"))
                }
                PendingSecret::Token(digest) => (digest.to_vec(), "this token".to_owned()),
            };
            let here = format!("{} at {}", cred.file, cred.path);
            if let Some(first) = self.seen_credentials.get(&key) {
                let message = format!("{what} is already defined by {first}");
                self.problem(&cred.file, cred.path.clone(), message);
                continue;
            }
            self.seen_credentials.insert(key, here);
            match cred.secret {
                PendingSecret::AccessKey { access, secret } => {
                    let secret: Arc<str> = match secret {
                        Some(s) => s.into(),
                        None => match self.known_secrets.get(access.as_str()) {
                            Some(s) => s.clone(),
                            None if self.drop_unknown_secrets => {
                                tracing::warn!(
                                    ak = %access,
                                    "access key {access} in {} has no secret key, and no fixture gives one: it is left out (secret keys are never written to exports or the persisted state)",
                                    cred.file
                                );
                                continue;
                            }
                            None => {
                                let message = format!(
                                    "access key {access} has no `secret`, and the server knows none for it (exports leave secret keys out: give it here or in a fixture)"
                                );
                                self.problem(&cred.file, format!("{}.secret", cred.path), message);
                                continue;
                            }
                        },
                    };
                    let key = crate::store::AccessKey { caller, secret };
                    self.inner.iam.access_keys.insert(access.into(), key);
                }
                PendingSecret::Token(digest) => {
                    self.inner.iam.tokens.insert(digest, caller);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::store::seed::tests::load_json;

    #[test]
    fn credentials_resolve_to_their_accounts_projects() {
        let store = load_json(
            r#"{"iam":{"domains":[
                {"id":"d1","projects":[{"id":"p1"},{"id":"p2","regions":["r2"]}],
                 "access_keys":[{"access":"AK1","secret":"SK1"},{"access":"AK2","secret":"SK2","projects":["p2"]}],
                 "tokens":[{"token":"T1"}]}]}}"#,
        )
        .unwrap();
        let ak1 = store.access_key("AK1").unwrap();
        assert_eq!(&*ak1.secret, "SK1");
        assert!(ak1.caller.may_use_project("p1") && ak1.caller.may_use_project("p2"));
        let ak2 = store.access_key("AK2").unwrap().caller;
        assert!(!ak2.may_use_project("p1"));
        assert_eq!(store.token("T1").unwrap().domain_id.as_ref(), "d1");
        assert!(store.token("T2").is_none());
        let found: Vec<_> = store
            .discover_projects(&ak1.caller, Some("r2"))
            .into_iter()
            .map(|p| p.id)
            .collect();
        assert_eq!(found, [Arc::from("p1"), Arc::from("p2")]);
        assert_eq!(
            store.discover_projects(&ak1.caller, Some("r9")).len(),
            1,
            "p2 only serves r2"
        );
    }

    #[test]
    fn credential_mistakes_are_reported_with_their_paths() {
        let err = load_json(
            r#"{"iam":{"domains":[
                {"id":"d1","projects":[{"id":"p1"}],"access_keys":[{"access":"AK","secret":"S","projects":["p9"]}]},
                {"id":"d2","projects":[{"id":"p1"}],"access_keys":[{"access":"AK","secret":"S"}],"tokens":[{"token":"T"},{"token":"T"}]}]}}"#,
        )
        .unwrap_err();
        let paths: Vec<&str> = err.problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "$.iam.domains[1].projects[0].id",
                "$.iam.domains[0].access_keys[0].projects[0]",
                "$.iam.domains[1].access_keys[0]",
                "$.iam.domains[1].tokens[1]",
            ]
        );
        assert!(
            !err.to_string().contains("\"T\""),
            "tokens are never echoed: {err}"
        );
    }
}
