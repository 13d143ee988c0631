//! Resources (issue 18): organizations and repositories against a resources
//! model of their own (operations, model and property in this one file).
//!
//! - `organizations_and_repositories_agree_with_the_resources_model`: random
//!   sequences of organization, repository and tag operations; after every
//!   step `ShowRepository`, the v2 list and the v3 walk agree with the model.

use std::collections::BTreeMap;

use crate::common::Http;
use crate::support::{call, config, content_range, runtime};
use ims_swr_mock::Server;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use reqwest::Method;
use serde_json::{Value, json};

/// One repository as the resources model knows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct ResRepo {
    category: String,
    description: String,
    is_public: bool,
    /// Tag name → size.
    tags: BTreeMap<String, i64>,
}

/// The resources model: organization → repository name → repository.
#[derive(Debug, Clone, Default)]
struct ResModel {
    namespaces: BTreeMap<String, BTreeMap<String, ResRepo>>,
}

/// The names the resources operations draw from (a few, so they collide).
const RES_NAMESPACES: [&str; 3] = ["rns-a", "rns-b", "rns-c"];
const RES_REPOS: [&str; 3] = ["app", "db", "grp/web"];
const RES_TAGS: [&str; 3] = ["v1", "v2", "latest"];
const RES_CATEGORIES: [&str; 3] = ["linux", "database", "other"];

#[derive(Debug, Clone)]
enum ResOp {
    CreateNamespace(usize),
    DeleteNamespace(usize),
    CreateRepo {
        ns: usize,
        repo: usize,
        public: bool,
        category: usize,
    },
    UpdateRepo {
        ns: usize,
        repo: usize,
        public: bool,
        description: u8,
    },
    DeleteRepo {
        ns: usize,
        repo: usize,
    },
    PushTag {
        ns: usize,
        repo: usize,
        tag: usize,
        size: i64,
    },
    DeleteTag {
        ns: usize,
        repo: usize,
        tag: usize,
    },
    ListV2 {
        offset: usize,
        limit: usize,
    },
    WalkV3 {
        limit: usize,
    },
}

fn res_op_strategy() -> impl Strategy<Value = ResOp> {
    prop_oneof![
        6 => (0..3usize).prop_map(ResOp::CreateNamespace),
        3 => (0..3usize).prop_map(ResOp::DeleteNamespace),
        8 => (0..3usize, 0..3usize, any::<bool>(), 0..3usize)
            .prop_map(|(ns, repo, public, category)| ResOp::CreateRepo { ns, repo, public, category }),
        4 => (0..3usize, 0..3usize, any::<bool>(), any::<u8>())
            .prop_map(|(ns, repo, public, description)| ResOp::UpdateRepo { ns, repo, public, description }),
        4 => (0..3usize, 0..3usize).prop_map(|(ns, repo)| ResOp::DeleteRepo { ns, repo }),
        8 => (0..3usize, 0..3usize, 0..3usize, 1..1000i64)
            .prop_map(|(ns, repo, tag, size)| ResOp::PushTag { ns, repo, tag, size }),
        4 => (0..3usize, 0..3usize, 0..3usize).prop_map(|(ns, repo, tag)| ResOp::DeleteTag { ns, repo, tag }),
        4 => (0..6usize, 1..5usize).prop_map(|(offset, limit)| ResOp::ListV2 { offset, limit }),
        4 => (1..4usize).prop_map(|limit| ResOp::WalkV3 { limit }),
    ]
}

fn res_path(ns: &str, repo: &str) -> String {
    format!(
        "/v2/manage/namespaces/{ns}/repos/{}",
        repo.replace('/', "$")
    )
}

/// Checks a repository's fields in an answer against the model.
fn res_check(item: &Value, name: &str, want: &ResRepo) -> Result<(), TestCaseError> {
    prop_assert_eq!(item["name"].as_str(), Some(name), "{}", item);
    prop_assert_eq!(
        item["category"].as_str(),
        Some(want.category.as_str()),
        "{}",
        item
    );
    prop_assert_eq!(
        item["description"].as_str(),
        Some(want.description.as_str()),
        "{}",
        item
    );
    prop_assert_eq!(
        item["is_public"].as_bool(),
        Some(want.is_public),
        "{}",
        item
    );
    prop_assert_eq!(
        item["num_images"].as_u64(),
        Some(want.tags.len() as u64),
        "{}",
        item
    );
    prop_assert_eq!(
        item["size"].as_i64(),
        Some(want.tags.values().sum::<i64>()),
        "{}",
        item
    );
    Ok(())
}

impl ResModel {
    /// Every repository in the v2 list's default order (organization, then name).
    fn listed(&self) -> Vec<(String, String)> {
        self.namespaces
            .iter()
            .flat_map(|(ns, repos)| repos.keys().map(move |r| (ns.clone(), r.clone())))
            .collect()
    }
}

async fn run_res_ops(ops: &[ResOp]) -> Result<(), TestCaseError> {
    let server = Server::builder().start().await.expect("server starts");
    let http = Http::new(server.uri());
    let mut model = ResModel::default();
    // The default fixture's own organization and repository stay out of the
    // way: the lists are filtered to the model's names below.
    let ours = |ns: &str| ns.starts_with("rns-");
    for op in ops {
        match op {
            ResOp::CreateNamespace(n) => {
                let ns = RES_NAMESPACES[*n];
                let reply = call(
                    &http,
                    Method::POST,
                    "/v2/manage/namespaces",
                    Some(&json!({"namespace": ns})),
                )
                .await?;
                if model.namespaces.contains_key(ns) {
                    prop_assert_eq!(reply.status, 409, "{}", reply.body);
                } else if model.namespaces.len() + 1 >= 5 {
                    // Tenant 1 already holds `namespace`: the quota of 5 counts it.
                    prop_assert_eq!(reply.status, 400, "{}", reply.body);
                } else {
                    prop_assert_eq!(reply.status, 201, "{}", reply.body);
                    model.namespaces.insert(ns.to_owned(), BTreeMap::new());
                }
            }
            ResOp::DeleteNamespace(n) => {
                let ns = RES_NAMESPACES[*n];
                let reply = call(
                    &http,
                    Method::DELETE,
                    &format!("/v2/manage/namespaces/{ns}"),
                    None,
                )
                .await?;
                match model.namespaces.get(ns) {
                    None => prop_assert_eq!(reply.status, 404, "{}", reply.body),
                    Some(repos) if !repos.is_empty() => {
                        prop_assert_eq!(reply.status, 406, "{}", reply.body);
                    }
                    Some(_) => {
                        prop_assert_eq!(reply.status, 204, "{}", reply.body);
                        model.namespaces.remove(ns);
                    }
                }
            }
            ResOp::CreateRepo {
                ns,
                repo,
                public,
                category,
            } => {
                let (ns, repo) = (RES_NAMESPACES[*ns], RES_REPOS[*repo]);
                let body = json!({"repository": repo, "is_public": public, "category": RES_CATEGORIES[*category]});
                let reply = call(
                    &http,
                    Method::POST,
                    &format!("/v2/manage/namespaces/{ns}/repos"),
                    Some(&body),
                )
                .await?;
                match model.namespaces.get_mut(ns) {
                    None => prop_assert_eq!(reply.status, 404, "{}", reply.body),
                    Some(repos) if repos.contains_key(repo) => {
                        prop_assert_eq!(reply.status, 409, "{}", reply.body);
                    }
                    Some(repos) => {
                        prop_assert_eq!(reply.status, 201, "{}", reply.body);
                        repos.insert(
                            repo.to_owned(),
                            ResRepo {
                                category: RES_CATEGORIES[*category].to_owned(),
                                is_public: *public,
                                ..ResRepo::default()
                            },
                        );
                    }
                }
            }
            ResOp::UpdateRepo {
                ns,
                repo,
                public,
                description,
            } => {
                let (ns, repo) = (RES_NAMESPACES[*ns], RES_REPOS[*repo]);
                let description = format!("d{description}");
                let body = json!({"is_public": public, "description": description});
                let reply = call(&http, Method::PATCH, &res_path(ns, repo), Some(&body)).await?;
                match model.namespaces.get_mut(ns).and_then(|r| r.get_mut(repo)) {
                    None => prop_assert_eq!(reply.status, 404, "{}", reply.body),
                    Some(r) => {
                        prop_assert_eq!(reply.status, 201, "{}", reply.body);
                        r.is_public = *public;
                        r.description = description;
                    }
                }
            }
            ResOp::DeleteRepo { ns, repo } => {
                let (ns, repo) = (RES_NAMESPACES[*ns], RES_REPOS[*repo]);
                let reply = call(&http, Method::DELETE, &res_path(ns, repo), None).await?;
                match model.namespaces.get_mut(ns).and_then(|r| r.remove(repo)) {
                    None => prop_assert_eq!(reply.status, 404, "{}", reply.body),
                    Some(_) => {
                        prop_assert_eq!(reply.status, 204, "{}", reply.body);
                        // Its tags went with it.
                        let tags = call(
                            &http,
                            Method::GET,
                            &format!("{}/tags", res_path(ns, repo)),
                            None,
                        )
                        .await?;
                        prop_assert_eq!(tags.status, 404, "{}", tags.body);
                    }
                }
            }
            ResOp::PushTag {
                ns,
                repo,
                tag,
                size,
            } => {
                let (ns, repo, tag) = (RES_NAMESPACES[*ns], RES_REPOS[*repo], RES_TAGS[*tag]);
                // Only into repositories the model holds: a push would create them.
                if let Some(r) = model.namespaces.get_mut(ns).and_then(|r| r.get_mut(repo)) {
                    server
                        .push_tag(ns, repo, json!({"tag": tag, "size": size}))
                        .map_err(|e| TestCaseError::fail(e.to_string()))?;
                    r.tags.insert(tag.to_owned(), *size);
                }
            }
            ResOp::DeleteTag { ns, repo, tag } => {
                let (ns, repo, tag) = (RES_NAMESPACES[*ns], RES_REPOS[*repo], RES_TAGS[*tag]);
                let reply = call(
                    &http,
                    Method::DELETE,
                    &format!("{}/tags/{tag}", res_path(ns, repo)),
                    None,
                )
                .await?;
                match model.namespaces.get_mut(ns).and_then(|r| r.get_mut(repo)) {
                    None => prop_assert_eq!(reply.status, 404, "{}", reply.body),
                    Some(r) => {
                        let want = if r.tags.remove(tag).is_some() {
                            204
                        } else {
                            404
                        };
                        prop_assert_eq!(reply.status, want, "{}", reply.body);
                    }
                }
            }
            ResOp::ListV2 { offset, limit } => {
                let reply = call(
                    &http,
                    Method::GET,
                    &format!("/v2/manage/repos?namespace=rns-&offset={offset}&limit={limit}"),
                    None,
                )
                .await?;
                prop_assert_eq!(reply.status, 200, "{}", reply.body);
                let want = model.listed();
                let page: Vec<(String, String)> =
                    want.iter().skip(*offset).take(*limit).cloned().collect();
                let items = reply.body.as_array().cloned().unwrap_or_default();
                let have: Vec<(String, String)> = items
                    .iter()
                    .map(|i| {
                        (
                            i["namespace"].as_str().unwrap_or_default().to_owned(),
                            i["name"].as_str().unwrap_or_default().to_owned(),
                        )
                    })
                    .collect();
                prop_assert_eq!(&have, &page);
                let range = content_range(&reply);
                prop_assert_eq!(range, format!("{offset}-{}/{}", page.len(), want.len()));
                for (item, (ns, name)) in items.iter().zip(&page) {
                    res_check(item, name, &model.namespaces[ns][name])?;
                }
            }
            ResOp::WalkV3 { limit } => {
                let mut seen = Vec::new();
                let mut marker: Option<i64> = None;
                for _ in 0..100 {
                    let path = match marker {
                        None => format!("/v3/manage/repos?limit={limit}"),
                        Some(m) => format!("/v3/manage/repos?limit={limit}&marker={m}"),
                    };
                    let reply = call(&http, Method::GET, &path, None).await?;
                    prop_assert_eq!(reply.status, 200, "{}", reply.body);
                    for item in reply.body["repos"].as_array().cloned().unwrap_or_default() {
                        let ns = item["namespace_name"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned();
                        if ours(&ns) {
                            let name = item["name"].as_str().unwrap_or_default().to_owned();
                            res_check(&item, &name, &model.namespaces[&ns][&name])?;
                            seen.push((ns, name));
                        }
                    }
                    match reply.body["nextMarker"].as_i64() {
                        Some(m) => marker = Some(m),
                        None => break,
                    }
                }
                let mut sorted = seen.clone();
                sorted.sort();
                sorted.dedup();
                prop_assert_eq!(
                    sorted.len(),
                    seen.len(),
                    "a repository came twice: {:?}",
                    seen
                );
                prop_assert_eq!(sorted, model.listed());
            }
        }
        // After every step: each repository the model holds shows its fields.
        for (ns, repos) in &model.namespaces {
            for (name, want) in repos {
                let reply = call(&http, Method::GET, &res_path(ns, name), None).await?;
                prop_assert_eq!(reply.status, 200, "{}", reply.body);
                res_check(&reply.body, name, want)?;
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config("resources", 40))]

    /// 40 cases of 1 to 40 organization, repository and tag operations,
    /// each checked against the resources model (lists, walks and
    /// `ShowRepository` after every step).
    #[test]
    fn organizations_and_repositories_agree_with_the_resources_model(ops in prop::collection::vec(res_op_strategy(), 1..=40)) {
        runtime().block_on(run_res_ops(&ops))?;
    }
}
