//! IMS image tags in the store: reads, atomic edits and the two searches
//! (`ListImageByTags` and the v1 `ListTags`).
//!
//! Every edit runs under one write lock on a copy of the image's tags, is
//! checked whole (the 10-tag quota), and only then replaces the tags and
//! adjusts the project's aggregate counts, so a batch applies completely or
//! not at all and `ListImagesTags` never rescans images.

use std::sync::Arc;

use super::{Image, Inner, Store};

/// Most tags an image may carry: 20, per the current "Image Tag Format" page
/// (<https://support.huaweicloud.com/intl/en-us/api-ims/ims_03_0902.html>),
/// the newest official page; the per-operation pages (`ims_03_0617/0618`) still
/// say 10. The decision and both sources are in CONFORMANCE.md.
pub(crate) const MAX_TAGS: usize = 20;

/// Longest tag key, in characters: 128 (`ims_03_0902`; the per-operation pages
/// say 36).
pub(crate) const MAX_KEY_CHARS: usize = 128;

/// Longest tag value, in characters: 255 (`ims_03_0902`; the per-operation
/// pages say 43).
pub(crate) const MAX_VALUE_CHARS: usize = 255;

/// One image's tags, as `(key, value)` in the order they were added.
pub(crate) type Tags = Vec<(Arc<str>, Arc<str>)>;

/// Why an IMS tag operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImsError {
    /// No image of that id (in that project, or visible to the caller).
    #[error("image {0} not found")]
    ImageNotFound(String),
    /// The image has no tag with that key.
    #[error("image {image} has no tag {key}")]
    TagNotFound {
        /// Image id.
        image: String,
        /// Tag key.
        key: String,
    },
    /// A key or value breaks the tag rules.
    #[error("{0}")]
    InvalidTag(String),
    /// The edit would leave more than 20 tags (`MAX_TAGS`).
    #[error("image {image} would have {count} tags; at most {MAX_TAGS} are allowed")]
    Quota {
        /// Image id.
        image: String,
        /// Tags the edit would leave.
        count: usize,
    },
}

/// Sets `key` to `value`, keeping the key's place if it exists.
pub(crate) fn upsert(tags: &mut Tags, key: &str, value: &str) {
    match tags.iter_mut().find(|(k, _)| &**k == key) {
        Some(tag) => tag.1 = value.into(),
        None => tags.push((key.into(), value.into())),
    }
}

/// Removes the tag with `key` whatever its value; `TagNotFound` if there is none.
pub(crate) fn remove_key(tags: &mut Tags, image: &str, key: &str) -> Result<(), ImsError> {
    let before = tags.len();
    tags.retain(|(k, _)| **k != *key);
    if tags.len() == before {
        return Err(ImsError::TagNotFound {
            image: image.to_owned(),
            key: key.to_owned(),
        });
    }
    Ok(())
}

/// One key condition of `ListImageByTags`: the key, with any of `values`
/// (any value at all when `values` is empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TagCondition {
    /// Tag key.
    pub key: String,
    /// Accepted values; empty accepts any.
    pub values: Vec<String>,
}

impl TagCondition {
    fn holds(&self, tags: &Tags) -> bool {
        tags.iter().any(|(k, v)| {
            **k == *self.key && (self.values.is_empty() || self.values.iter().any(|x| **x == **v))
        })
    }
}

/// A `ListImageByTags` query (already validated).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ByTags {
    /// Every condition must hold.
    pub tags: Option<Vec<TagCondition>>,
    /// At least one condition must hold.
    pub tags_any: Option<Vec<TagCondition>>,
    /// Excluded when every condition holds.
    pub not_tags: Option<Vec<TagCondition>>,
    /// Excluded when any condition holds.
    pub not_tags_any: Option<Vec<TagCondition>>,
    /// Only images without tags (the four lists are then ignored).
    pub without_any_tag: bool,
    /// Case-insensitive substring of the image name.
    pub name_contains: Option<String>,
    /// Exact image name (`resource_name` with an empty value).
    pub name_exact: Option<String>,
    /// Exact image id.
    pub id: Option<String>,
}

impl ByTags {
    fn matches(&self, image: &Image) -> bool {
        let tags = &image.tags;
        let tag_ok = if self.without_any_tag {
            tags.is_empty()
        } else {
            self.tags
                .as_ref()
                .is_none_or(|c| c.iter().all(|c| c.holds(tags)))
                && self
                    .tags_any
                    .as_ref()
                    .is_none_or(|c| c.iter().any(|c| c.holds(tags)))
                && self
                    .not_tags
                    .as_ref()
                    .is_none_or(|c| !c.iter().all(|c| c.holds(tags)))
                && self
                    .not_tags_any
                    .as_ref()
                    .is_none_or(|c| !c.iter().any(|c| c.holds(tags)))
        };
        tag_ok
            && self.id.as_deref().is_none_or(|id| *image.id == *id)
            && self.name_exact.as_deref().is_none_or(|n| *image.name == *n)
            && self
                .name_contains
                .as_deref()
                .is_none_or(|n| image.name.to_lowercase().contains(&n.to_lowercase()))
    }
}

/// A comparison on a time filter of `ListTags` (`gt:2018-10-28T10:00:00Z`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimeOp {
    /// After.
    Gt,
    /// At or after.
    Gte,
    /// Before.
    Lt,
    /// At or before.
    Lte,
    /// At.
    Eq,
    /// Not at.
    Neq,
}

impl TimeOp {
    fn holds(self, value: i64, bound: i64) -> bool {
        match self {
            TimeOp::Gt => value > bound,
            TimeOp::Gte => value >= bound,
            TimeOp::Lt => value < bound,
            TimeOp::Lte => value <= bound,
            TimeOp::Eq => value == bound,
            TimeOp::Neq => value != bound,
        }
    }
}

/// The image filters of the v1 `ListTags` (exact matches unless noted).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ImageFilter {
    /// `__imagetype`.
    pub image_type: Option<String>,
    /// `id`.
    pub id: Option<String>,
    /// `status`.
    pub status: Option<String>,
    /// `name`.
    pub name: Option<String>,
    /// `min_disk`.
    pub min_disk: Option<i64>,
    /// `__platform`.
    pub platform: Option<String>,
    /// `__os_type`.
    pub os_type: Option<String>,
    /// `member_status`.
    pub member_status: Option<String>,
    /// `virtual_env_type`.
    pub virtual_env_type: Option<String>,
    /// `enterprise_project_id`.
    pub enterprise_project_id: Option<String>,
    /// `architecture`.
    pub architecture: Option<String>,
    /// `created_at` comparison.
    pub created_at: Option<(TimeOp, i64)>,
    /// `updated_at` comparison.
    pub updated_at: Option<(TimeOp, i64)>,
}

impl ImageFilter {
    fn matches(&self, i: &Image) -> bool {
        fn eq(want: Option<&String>, have: &str) -> bool {
            want.is_none_or(|w| w == have)
        }
        eq(self.image_type.as_ref(), &i.image_type)
            && eq(self.id.as_ref(), &i.id)
            && eq(self.status.as_ref(), &i.status)
            && eq(self.name.as_ref(), &i.name)
            && self.min_disk.is_none_or(|d| d == i.min_disk)
            && eq(self.platform.as_ref(), &i.platform)
            && eq(self.os_type.as_ref(), &i.os_type)
            && self
                .member_status
                .as_deref()
                .is_none_or(|m| i.member_status.as_deref() == Some(m))
            && eq(self.virtual_env_type.as_ref(), &i.virtual_env_type)
            && eq(
                self.enterprise_project_id.as_ref(),
                &i.enterprise_project_id,
            )
            && eq(self.architecture.as_ref(), &i.architecture)
            && self
                .created_at
                .is_none_or(|(op, t)| op.holds(i.created_at, t))
            && self
                .updated_at
                .is_none_or(|(op, t)| op.holds(i.updated_at, t))
    }
}

impl Store {
    /// The project that owns an image.
    pub(crate) fn image_project(&self, image_id: &str) -> Option<Arc<str>> {
        self.read().image_projects.get(image_id).cloned()
    }

    /// One image of a project.
    ///
    /// # Errors
    /// [`ImsError`] when the project or the image does not exist.
    pub fn image(&self, project_id: &str, image_id: &str) -> Result<Image, ImsError> {
        let inner = self.read();
        image_in(&inner, project_id, image_id).cloned()
    }

    /// Edits an image's tags atomically: `edit` works on a copy; the copy
    /// replaces the tags only if `edit` succeeds and the quota holds.
    /// Returns the new tags.
    pub(crate) fn edit_image_tags(
        &self,
        project_id: &str,
        image_id: &str,
        edit: impl FnOnce(&mut Tags) -> Result<(), ImsError>,
    ) -> Result<Tags, ImsError> {
        let mut inner = self.write();
        let (project, at) = inner
            .projects
            .get_mut(project_id)
            .and_then(|p| p.index.get(image_id).copied().map(|at| (p, at)))
            .ok_or_else(|| ImsError::ImageNotFound(image_id.to_owned()))?;
        let mut tags = project.images[at].tags.clone();
        edit(&mut tags)?;
        if tags.len() > MAX_TAGS && tags.len() > project.images[at].tags.len() {
            return Err(ImsError::Quota {
                image: image_id.to_owned(),
                count: tags.len(),
            });
        }
        if tags != project.images[at].tags {
            let old = std::mem::replace(&mut project.images[at].tags, tags.clone());
            project.images[at].updated_at = super::now();
            // Count only the difference, additions first: an untouched tag
            // never drops to zero (which would move it to the end), and a key
            // whose only value changes keeps its place.
            let added: Tags = tags.iter().filter(|t| !old.contains(t)).cloned().collect();
            let removed: Tags = old.iter().filter(|t| !tags.contains(t)).cloned().collect();
            project.count(&added, 1);
            project.count(&removed, -1);
            project.refresh_summary();
            inner.mark_image(project_id, image_id);
        }
        Ok(tags)
    }

    /// `ListImageByTags`: the matching images of a project in fixture order,
    /// the page `[offset, offset + limit)`, and the number of matches.
    pub(crate) fn images_by_tags(
        &self,
        project_id: &str,
        query: &ByTags,
        offset: usize,
        limit: usize,
    ) -> (Vec<Image>, usize) {
        let inner = self.read();
        let Some(project) = inner.projects.get(project_id) else {
            return (Vec::new(), 0);
        };
        let mut total = 0;
        let mut page = Vec::new();
        for image in project.images.iter().filter(|i| query.matches(i)) {
            if total >= offset && page.len() < limit {
                page.push(image.clone());
            }
            total += 1;
        }
        (page, total)
    }

    /// The project an unknown credential means (lenient and off modes): the
    /// first project the fixtures' accounts define, or `None` when they
    /// define no account (then there is no tenant to keep apart).
    pub(crate) fn default_project(&self) -> Option<Arc<str>> {
        self.read().iam.projects.first().map(|p| p.id.clone())
    }

    /// The v1 `ListTags`: the tags of the images (of `projects`, or of every
    /// project) that pass the query, images sorted then paged (after
    /// `marker`, or `page` from 1; `limit` images per page, all when `None`),
    /// each tag written `key=value` (a bare `key` for an empty value),
    /// duplicates dropped. `Err(marker)` when the marker is not among the
    /// images the query lists.
    pub(crate) fn list_tags_v1(
        &self,
        projects: Option<&[Arc<str>]>,
        query: &V1Page<'_>,
    ) -> Result<Vec<String>, String> {
        let (images, _) = self.list_images(projects, query, |_| true)?;
        let mut seen = indexmap::IndexSet::new();
        for image in &images {
            for (k, v) in &image.tags {
                seen.insert(if v.is_empty() {
                    k.to_string()
                } else {
                    format!("{k}={v}")
                });
            }
        }
        Ok(seen.into_iter().collect())
    }

    /// The images (of `projects`, or of every project) that pass the query
    /// and `keep`, sorted then paged as [`Store::list_tags_v1`] describes,
    /// and whether more follow the page. `Err(marker)` when the marker is
    /// not among the images the query lists.
    pub(crate) fn list_images(
        &self,
        projects: Option<&[Arc<str>]>,
        query: &V1Page<'_>,
        keep: impl Fn(&Image) -> bool,
    ) -> Result<(Vec<Image>, bool), String> {
        let inner = self.read();
        let mut images: Vec<&Image> = match projects {
            Some(ps) => ps
                .iter()
                .filter_map(|p| inner.projects.get(p))
                .flat_map(|p| p.images.iter())
                .collect(),
            None => inner
                .projects
                .values()
                .flat_map(|p| p.images.iter())
                .collect(),
        };
        images.retain(|i| query.matches(i) && keep(i));
        images.sort_by(|a, b| {
            let order = query.sort.compare(a, b);
            let order = if query.ascending {
                order
            } else {
                order.reverse()
            };
            order.then_with(|| a.id.cmp(&b.id))
        });
        let start = match query.marker {
            Some(marker) => {
                images
                    .iter()
                    .position(|i| *i.id == *marker)
                    .ok_or_else(|| marker.to_owned())?
                    + 1
            }
            None => query
                .limit
                .map_or(0, |l| l.saturating_mul(query.page.saturating_sub(1))),
        };
        let take = query.limit.unwrap_or(usize::MAX);
        let more = images.len() > start.saturating_add(take);
        let page = images.into_iter().skip(start).take(take).cloned().collect();
        Ok((page, more))
    }
}

/// The sort key of the v1 `ListTags` (`sort_key`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ImageSort {
    /// `created_at` (the default).
    CreatedAt,
    /// `updated_at`.
    UpdatedAt,
    /// `name`.
    Name,
    /// `id`.
    Id,
    /// `status`.
    Status,
    /// `min_disk`.
    MinDisk,
}

impl ImageSort {
    fn compare(self, a: &Image, b: &Image) -> std::cmp::Ordering {
        match self {
            ImageSort::CreatedAt => a.created_at.cmp(&b.created_at),
            ImageSort::UpdatedAt => a.updated_at.cmp(&b.updated_at),
            ImageSort::Name => a.name.cmp(&b.name),
            ImageSort::Id => a.id.cmp(&b.id),
            ImageSort::Status => a.status.cmp(&b.status),
            ImageSort::MinDisk => a.min_disk.cmp(&b.min_disk),
        }
    }
}

/// One v1 `ListTags` query (already validated).
#[derive(Debug, Clone, Copy)]
pub(crate) struct V1Page<'a> {
    /// The image attribute filters.
    pub filter: &'a ImageFilter,
    /// `tag=key.value`: only images carrying this exact tag.
    pub tag: Option<(&'a str, &'a str)>,
    /// `__isregistered`: every emulated image is registered, so `false`
    /// lists none.
    pub registered: bool,
    /// `sort_key`.
    pub sort: ImageSort,
    /// `sort_dir=asc`.
    pub ascending: bool,
    /// Start after this image id.
    pub marker: Option<&'a str>,
    /// Page number from 1 (ignored with a marker).
    pub page: usize,
    /// Images per page; all when `None`.
    pub limit: Option<usize>,
}

impl V1Page<'_> {
    fn matches(&self, image: &Image) -> bool {
        self.registered
            && self.filter.matches(image)
            && self
                .tag
                .is_none_or(|(k, v)| image.tags.iter().any(|(tk, tv)| **tk == *k && **tv == *v))
    }
}

fn image_in<'a>(inner: &'a Inner, project_id: &str, image_id: &str) -> Result<&'a Image, ImsError> {
    inner
        .projects
        .get(project_id)
        .and_then(|p| p.index.get(image_id).map(|&at| &p.images[at]))
        .ok_or_else(|| ImsError::ImageNotFound(image_id.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::seed::{FixtureSource, SeedSettings, load};

    fn store() -> Store {
        let json = r#"{"ims":{"projects":[{"id":"p","images":[
            {"id":"a","name":"Web-Server","tags":[{"key":"env","value":"prod"},{"key":"team","value":"x"}]},
            {"id":"b","name":"db","tags":[{"key":"env","value":"dev"}]},
            {"id":"c","name":"bare"}]}]}}"#;
        let src = FixtureSource::Json {
            name: "t".into(),
            text: json.into(),
        };
        load(
            &[src],
            &SeedSettings {
                registry_host: "h".into(),
            },
        )
        .unwrap()
    }

    fn cond(key: &str, values: &[&str]) -> TagCondition {
        TagCondition {
            key: key.into(),
            values: values.iter().map(|v| (*v).into()).collect(),
        }
    }

    fn ids(store: &Store, q: &ByTags) -> (Vec<String>, usize) {
        let (page, total) = store.images_by_tags("p", q, 0, 100);
        (page.iter().map(|i| i.id.to_string()).collect(), total)
    }

    #[test]
    fn tag_queries_combine_as_documented() {
        let s = store();
        let q = |f: fn(&mut ByTags)| {
            let mut q = ByTags::default();
            f(&mut q);
            ids(&s, &q).0
        };
        assert_eq!(q(|q| q.tags = Some(vec![cond("env", &[])])), ["a", "b"]);
        assert_eq!(
            q(|q| q.tags = Some(vec![cond("env", &["prod"]), cond("team", &[])])),
            ["a"]
        );
        assert_eq!(
            q(|q| q.tags_any = Some(vec![cond("team", &[]), cond("env", &["dev"])])),
            ["a", "b"]
        );
        assert_eq!(
            q(|q| q.not_tags = Some(vec![cond("env", &["prod"]), cond("team", &[])])),
            ["b", "c"]
        );
        assert_eq!(
            q(|q| q.not_tags_any = Some(vec![cond("team", &[]), cond("env", &["dev"])])),
            ["c"]
        );
        assert_eq!(q(|q| q.without_any_tag = true), ["c"]);
        assert_eq!(q(|q| q.name_contains = Some("server".into())), ["a"]);
        assert_eq!(q(|q| q.id = Some("b".into())), ["b"]);
    }

    #[test]
    fn edits_are_atomic_and_keep_the_aggregate_exact() {
        let s = store();
        let too_many = s.edit_image_tags("p", "a", |t| {
            for i in 0..MAX_TAGS - 1 {
                upsert(t, &format!("k{i}"), "v");
            }
            Ok(())
        });
        assert!(matches!(too_many, Err(ImsError::Quota { count, .. }) if count == MAX_TAGS + 1));
        assert_eq!(s.image("p", "a").unwrap().tags.len(), 2, "nothing applied");
        s.edit_image_tags("p", "b", |t| {
            t.retain(|(k, _)| &**k != "env");
            Ok(())
        })
        .unwrap();
        let summary = s.images_tags("p");
        assert_eq!(summary.len(), 2);
        assert_eq!(
            summary[0].values,
            [Arc::from("prod")],
            "dev is gone with its last image"
        );
        // Sets one tag on an image, then gives the project's summary.
        let upsert_on = |image: &str, key: &str, value: &str| {
            s.edit_image_tags("p", image, |t| {
                upsert(t, key, value);
                Ok(())
            })
            .unwrap();
            s.images_tags("p")
        };
        let summary = upsert_on("c", "env", "dev");
        assert_eq!(
            summary[0].values,
            [Arc::from("prod"), Arc::from("dev")],
            "re-added at the end"
        );
        // Writing to an image leaves the order of its untouched tags alone.
        let summary = upsert_on("a", "new", "1");
        let keys: Vec<&str> = summary.iter().map(|t| &*t.key).collect();
        assert_eq!(keys, ["env", "team", "new"]);
        // A key whose only value changes keeps its place.
        let summary = upsert_on("a", "team", "y");
        assert_eq!(&*summary[1].key, "team");
        assert_eq!(summary[1].values, [Arc::from("y")]);
        assert!(matches!(
            s.edit_image_tags("p", "zz", |_| Ok(())),
            Err(ImsError::ImageNotFound(_))
        ));
    }

    #[test]
    fn v1_list_tags_pages_over_images_and_formats_key_value() {
        let s = store();
        let none = ImageFilter::default();
        let q = |filter, page, limit| V1Page {
            filter,
            tag: None,
            registered: true,
            sort: ImageSort::CreatedAt,
            ascending: false,
            marker: None,
            page,
            limit,
        };
        let all = s.list_tags_v1(None, &q(&none, 1, None)).unwrap();
        assert_eq!(all.len(), 3);
        assert!(all.contains(&"env=prod".to_owned()) && all.contains(&"team=x".to_owned()));
        let f = ImageFilter {
            name: Some("db".into()),
            ..Default::default()
        };
        assert_eq!(s.list_tags_v1(None, &q(&f, 1, None)).unwrap(), ["env=dev"]);
        // Newest first: c (untagged), b, a; one image per page.
        assert!(
            s.list_tags_v1(None, &q(&none, 1, Some(1)))
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            s.list_tags_v1(None, &q(&none, 2, Some(1))).unwrap(),
            ["env=dev"]
        );
        assert_eq!(
            s.list_tags_v1(None, &q(&none, 3, Some(1))).unwrap(),
            ["env=prod", "team=x"]
        );
        assert!(
            s.list_tags_v1(None, &q(&none, 4, Some(1)))
                .unwrap()
                .is_empty()
        );
        let after_b = V1Page {
            marker: Some("b"),
            ..q(&none, 1, Some(1))
        };
        assert_eq!(
            s.list_tags_v1(None, &after_b).unwrap(),
            ["env=prod", "team=x"]
        );
        let by_tag = V1Page {
            tag: Some(("env", "dev")),
            ..q(&none, 1, None)
        };
        assert_eq!(s.list_tags_v1(None, &by_tag).unwrap(), ["env=dev"]);
        let other: [Arc<str>; 1] = [Arc::from("q")];
        assert!(
            s.list_tags_v1(Some(&other), &q(&none, 1, None))
                .unwrap()
                .is_empty()
        );
    }
}
