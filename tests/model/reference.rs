//! The reference model: the fixture every model case starts from, and what
//! the README says the server must answer, kept as plain data (`ImsModel`,
//! `SwrModel`) with no HTTP in it. New state an operation needs goes here.

use std::collections::BTreeMap;

use ims_swr_mock::internals::format_time;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{Value, json};

use crate::ops::ByTagsQuery;
use crate::support::parse_time;

pub(crate) const PROJECT: &str = "p1";
pub(crate) const NS: &str = "ns";
/// `group/app`, sent with `$` for the slash as the SDKs do.
pub(crate) const REPO_URL: &str = "group$app";
/// Image ids; the last one does not exist.
pub(crate) const IMAGES: [&str; 5] = ["img-0", "img-1", "img-2", "img-3", "img-missing"];

/// The fixture's SWR tags: `(name, updated)`, with ties in `updated`.
pub(crate) const SWR_TAGS: [(&str, i64); 10] = [
    ("latest", 1_714_564_800),
    ("v1.0", 1_714_564_700),
    ("v1.1", 1_714_564_800),
    ("v2.0", 1_714_564_900),
    ("beta", 1_714_564_700),
    ("rc-1", 1_714_564_600),
    ("A", 1_714_564_900),
    ("_x", 1_714_564_800),
    ("v10", 1_714_564_500),
    ("9", 1_714_564_900),
];

pub(crate) fn model_fixture() -> String {
    let tags: Vec<Value> = SWR_TAGS
        .iter()
        .map(|(name, updated)| json!({"tag": name, "updated": format_time(*updated)}))
        .collect();
    json!({
        "ims": {"projects": [{"id": PROJECT, "images": [
            {"id": "img-0", "name": "web-server", "tags": [{"key": "k0", "value": "v0"}, {"key": "k1"}]},
            {"id": "img-1", "name": "db", "tags": [{"key": "k0", "value": "v1"}]},
            {"id": "img-2", "name": "cache"},
            {"id": "img-3", "name": "Web-Proxy", "tags": [{"key": "action", "value": "v2"}, {"key": "k1", "value": "v1"}]}
        ]}]},
        "swr": {"namespaces": [{"name": NS, "repositories": [{"name": "group/app", "tags": tags}]}]}
    })
    .to_string()
}

type Tags = Vec<(String, String)>;

#[derive(Debug, Clone)]
pub(crate) struct ModelImage {
    pub(crate) id: &'static str,
    pub(crate) name: &'static str,
    pub(crate) tags: Tags,
}

/// The IMS side of the model: images and the `ListImagesTags` aggregate,
/// kept as README says: keys and values in order of first appearance, a value
/// gone when no image has it, an edit counted as its difference, additions first.
#[derive(Debug, Clone)]
pub(crate) struct ImsModel {
    pub(crate) images: Vec<ModelImage>,
    pub(crate) counts: Vec<(String, Vec<(String, u32)>)>,
}

/// An expected failure: status and error code.
pub(crate) type Failure = (u16, &'static str);

impl ImsModel {
    pub(crate) fn new() -> Self {
        let t = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        let images = vec![
            ModelImage {
                id: "img-0",
                name: "web-server",
                tags: vec![t("k0", "v0"), t("k1", "")],
            },
            ModelImage {
                id: "img-1",
                name: "db",
                tags: vec![t("k0", "v1")],
            },
            ModelImage {
                id: "img-2",
                name: "cache",
                tags: vec![],
            },
            ModelImage {
                id: "img-3",
                name: "Web-Proxy",
                tags: vec![t("action", "v2"), t("k1", "v1")],
            },
        ];
        let mut model = Self {
            images: vec![],
            counts: vec![],
        };
        for image in images {
            model.count(&image.tags, true);
            model.images.push(image);
        }
        model
    }

    fn count(&mut self, tags: &Tags, add: bool) {
        for (key, value) in tags {
            let at = match self.counts.iter().position(|(k, _)| k == key) {
                Some(at) => at,
                None => {
                    self.counts.push((key.clone(), vec![]));
                    self.counts.len() - 1
                }
            };
            let values = &mut self.counts[at].1;
            let v = match values.iter().position(|(v, _)| v == value) {
                Some(v) => v,
                None => {
                    values.push((value.clone(), 0));
                    values.len() - 1
                }
            };
            if add {
                values[v].1 += 1;
            } else {
                values[v].1 -= 1;
                if values[v].1 == 0 {
                    values.remove(v);
                    if values.is_empty() {
                        self.counts.remove(at);
                    }
                }
            }
        }
    }

    pub(crate) fn summary(&self) -> Value {
        let tags: Vec<Value> = self
            .counts
            .iter()
            .map(|(k, vs)| json!({"key": k, "values": vs.iter().map(|(v, _)| v).collect::<Vec<_>>()}))
            .collect();
        json!({ "tags": tags })
    }

    /// Applies an edit of image `at` as the server does: on a copy, then the
    /// quota, then the aggregate by difference (additions first).
    pub(crate) fn edit(&mut self, at: usize, edit: impl FnOnce(&mut Tags)) -> Result<(), Failure> {
        let old = self.images[at].tags.clone();
        let mut new = old.clone();
        edit(&mut new);
        if new.len() > MAX_TAGS && new.len() > old.len() {
            return Err((400, "IMG.0116"));
        }
        let added: Tags = new.iter().filter(|t| !old.contains(t)).cloned().collect();
        let removed: Tags = old.iter().filter(|t| !new.contains(t)).cloned().collect();
        self.count(&added, true);
        self.count(&removed, false);
        self.images[at].tags = new;
        Ok(())
    }

    pub(crate) fn image(&self, id: &str) -> Result<usize, Failure> {
        self.images
            .iter()
            .position(|i| i.id == id)
            .ok_or((400, "IMG.0027"))
    }
}

pub(crate) fn upsert(tags: &mut Tags, key: &str, value: &str) {
    match tags.iter_mut().find(|(k, _)| k == key) {
        Some(t) => value.clone_into(&mut t.1),
        None => tags.push((key.to_owned(), value.to_owned())),
    }
}

/// Most tags per image, longest key and value (Image Tag Format, `ims_03_0902`).
pub(crate) const MAX_TAGS: usize = 20;
pub(crate) const MAX_KEY: usize = 128;
pub(crate) const MAX_VALUE: usize = 255;

pub(crate) fn valid_new_tag(key: &str, value: &str) -> bool {
    let key_char = |c: char| {
        c.is_ascii_alphanumeric() || ('\u{4E00}'..='\u{9FFF}').contains(&c) || " _.:+-@".contains(c)
    };
    let no_edge_space = |s: &str| !s.starts_with(' ') && !s.ends_with(' ');
    !key.is_empty()
        && key.chars().count() <= MAX_KEY
        && key.chars().all(key_char)
        && no_edge_space(key)
        && value.chars().count() <= MAX_VALUE
        && value.chars().all(|c| key_char(c) || c == '/')
        && no_edge_space(value)
}

pub(crate) fn tags_json(tags: &Tags) -> Value {
    Value::Array(
        tags.iter()
            .map(|(k, v)| json!({"key": k, "value": v}))
            .collect(),
    )
}

/// One SWR tag as the model knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SwrTag {
    pub(crate) id: i64,
    pub(crate) image_id: String,
    pub(crate) digest: String,
    pub(crate) size: i64,
    pub(crate) created: i64,
    pub(crate) updated: i64,
}

/// The SWR side of the model: one repository.
#[derive(Debug, Clone, Default)]
pub(crate) struct SwrModel {
    pub(crate) tags: BTreeMap<String, SwrTag>,
    pub(crate) next_id: i64,
}

/// A sort order: by tag name or by `(updated, name)`, ascending or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Order {
    pub(crate) by_tag: bool,
    pub(crate) asc: bool,
}

impl Order {
    /// The names of `keys` (from [`sort_key`]) in this order.
    pub(crate) fn arrange(self, mut keys: Vec<(i64, String)>) -> Vec<String> {
        keys.sort();
        if !self.asc {
            keys.reverse();
        }
        keys.into_iter().map(|(_, n)| n).collect()
    }

    pub(crate) fn query(self) -> String {
        format!(
            "order_column={}&order_type={}",
            if self.by_tag { "tag" } else { "updated_at" },
            if self.asc { "asc" } else { "desc" }
        )
    }
}

/// The sort key of a tag in `order`, ascending: `(updated or 0, name)`.
pub(crate) fn sort_key(order: Order, name: &str, updated: i64) -> (i64, String) {
    (if order.by_tag { 0 } else { updated }, name.to_owned())
}

impl SwrModel {
    /// Tag names in `order`, keeping those containing `filter` (ASCII case ignored).
    pub(crate) fn ordered(&self, order: Order, filter: Option<&str>) -> Vec<String> {
        let names: Vec<(i64, String)> = self
            .tags
            .iter()
            .filter(|(n, _)| {
                filter.is_none_or(|f| n.to_ascii_lowercase().contains(&f.to_ascii_lowercase()))
            })
            .map(|(n, t)| sort_key(order, n, t.updated))
            .collect();
        order.arrange(names)
    }

    /// Checks one listed or shown tag's fields against the model.
    pub(crate) fn check_item(&self, item: &Value, name_field: &str) -> Result<(), TestCaseError> {
        let name = item[name_field].as_str().unwrap_or_default();
        let want = self
            .tags
            .get(name)
            .ok_or_else(|| TestCaseError::fail(format!("listed tag {name} is not in the model")))?;
        let have = SwrTag {
            id: item["id"].as_i64().unwrap_or(-1),
            image_id: item["image_id"].as_str().unwrap_or_default().to_owned(),
            digest: item["digest"].as_str().unwrap_or_default().to_owned(),
            size: item["size"].as_i64().unwrap_or(-1),
            created: parse_time(&item["created"]),
            updated: parse_time(&item["updated"]),
        };
        prop_assert_eq!(&have, want, "fields of tag {}: {}", name, item);
        Ok(())
    }
}

pub(crate) fn valid_swr_tag(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    first_ok
        && name.len() <= 128
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

fn holds(tags: &Tags, (key, values): &(String, Vec<String>)) -> bool {
    tags.iter()
        .any(|(k, v)| k == key && (values.is_empty() || values.contains(v)))
}
impl ByTagsQuery {
    pub(crate) fn matches(&self, image: &ModelImage) -> bool {
        let t = &image.tags;
        let tag_ok = if self.without_any_tag {
            t.is_empty()
        } else {
            self.tags
                .as_ref()
                .is_none_or(|c| c.iter().all(|c| holds(t, c)))
                && self
                    .tags_any
                    .as_ref()
                    .is_none_or(|c| c.iter().any(|c| holds(t, c)))
                && self
                    .not_tags
                    .as_ref()
                    .is_none_or(|c| !c.iter().all(|c| holds(t, c)))
                && self
                    .not_tags_any
                    .as_ref()
                    .is_none_or(|c| !c.iter().any(|c| holds(t, c)))
        };
        tag_ok
            && self
                .name
                .is_none_or(|n| image.name.to_lowercase().contains(&n.to_lowercase()))
    }
}
