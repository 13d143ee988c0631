//! Orders, pages and v3 marker walks over a repository's tag indexes: a page
//! by offset is a slice, a page by marker a binary search plus a slice.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use super::model::SwrTag;
use super::repo::Repo;
use super::{RepoContext, WALK_CHANGE_WINDOW};

/// The column a tag list is sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OrderColumn {
    /// Last update time, ties broken by tag name (the API's default).
    #[default]
    UpdatedAt,
    /// Tag name, byte-wise.
    Tag,
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OrderType {
    /// Newest or greatest first (the API's default).
    #[default]
    Desc,
    /// Oldest or smallest first.
    Asc,
}

/// A sort column and direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Order {
    /// Sort column.
    pub column: OrderColumn,
    /// Sort direction.
    pub direction: OrderType,
}

/// The position of a tag in an order: what a v3 marker carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortKey {
    /// Position in the `updated_at` order.
    Updated {
        /// `updated`, epoch seconds.
        updated: i64,
        /// Tag name (the tie-breaker).
        name: Arc<str>,
    },
    /// Position in the `tag` order.
    Name(Arc<str>),
}

impl SortKey {
    fn of(tag: &SwrTag, column: OrderColumn) -> Self {
        match column {
            OrderColumn::UpdatedAt => SortKey::Updated {
                updated: tag.updated,
                name: tag.name.clone(),
            },
            OrderColumn::Tag => SortKey::Name(tag.name.clone()),
        }
    }

    /// Which column this key orders by.
    pub fn column(&self) -> OrderColumn {
        match self {
            SortKey::Updated { .. } => OrderColumn::UpdatedAt,
            SortKey::Name(_) => OrderColumn::Tag,
        }
    }

    /// Compares a tag's position to this key in ascending order.
    fn cmp_tag(&self, tag: &SwrTag) -> Ordering {
        match self {
            SortKey::Updated { updated, name } => {
                tag.updated.cmp(updated).then_with(|| (*tag.name).cmp(name))
            }
            SortKey::Name(name) => (*tag.name).cmp(name),
        }
    }
}

/// Where a page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// Skip this many (matching) tags: the v2 `offset`.
    Offset(usize),
    /// Start right after this key: the v3 `marker`.
    After(SortKey),
}

/// A request for one page of a repository's tags.
#[derive(Debug, Clone)]
pub struct PageQuery {
    /// Sort order.
    pub order: Order,
    /// Case-insensitive substring that tag names must contain.
    pub filter: Option<String>,
    /// Where the page starts.
    pub start: Start,
    /// Most tags to return.
    pub limit: usize,
}

/// One page of a repository's tags.
#[derive(Debug)]
pub struct TagPage {
    /// The repository the tags belong to.
    pub ctx: Arc<RepoContext>,
    /// The tags of this page, in order.
    pub tags: Vec<Arc<SwrTag>>,
    /// Number of tags matching the filter in the whole repository.
    pub total: usize,
    /// The key of the last tag returned, when more tags follow it.
    pub next: Option<SortKey>,
}

/// Where a v3 marker walk stands: what its marker carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WalkPosition {
    /// The store's epoch when the walk began (a reset or an import starts
    /// a new one).
    pub epoch: u64,
    /// The repository's change sequence number when the walk began: pages
    /// follow the order the repository had then.
    pub since: u64,
    /// The position of the last tag returned, in that order.
    pub after: SortKey,
}

/// A request for one page of a v3 marker walk.
#[derive(Debug, Clone)]
pub(crate) struct WalkQuery {
    /// Sort order.
    pub order: Order,
    /// Case-insensitive substring that tag names must contain.
    pub filter: Option<String>,
    /// Where the previous page ended; `None` starts a walk.
    pub after: Option<WalkPosition>,
    /// Most tags to return.
    pub limit: usize,
}

/// One page of a v3 marker walk.
#[derive(Debug)]
pub(crate) struct WalkPage {
    /// The repository the tags belong to.
    pub ctx: Arc<RepoContext>,
    /// The tags of this page, in order.
    pub tags: Vec<Arc<SwrTag>>,
    /// Where the next page starts, when more tags follow.
    pub next: Option<WalkPosition>,
}

/// Why a page of a marker walk over an existing repository cannot be
/// served (a missing repository is a [`super::LookupError`] before the walk).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum WalkError {
    /// The walk began on an earlier build of the repository (before a reset or an import).
    #[error("the walk began before the repository was reset or reloaded")]
    Stale,
    /// More than [`WALK_CHANGE_WINDOW`] changes happened to the repository
    /// since the walk began.
    #[error("more than {WALK_CHANGE_WINDOW} tags of the repository changed since the walk began")]
    Expired,
    /// The position is not one this repository could have issued.
    #[error("the position was not issued for this repository and order")]
    NotIssued,
}

/// Cuts one page out of a repository's index. See the `store` module docs for costs.
pub(super) fn page(repo: &Repo, query: &PageQuery) -> TagPage {
    let column = query.order.column;
    let sorted = repo.ordered(column);
    let n = sorted.len();
    let desc = query.order.direction == OrderType::Desc;

    // The page's window in logical (possibly reversed) order: [from, n).
    let (from, skip) = match &query.start {
        Start::Offset(offset) => (0, *offset),
        Start::After(key) if desc => (n - sorted.partition_point(|t| key.cmp_tag(t).is_lt()), 0),
        Start::After(key) => (sorted.partition_point(|t| key.cmp_tag(t).is_le()), 0),
    };
    let at = |i: usize| if desc { &sorted[n - 1 - i] } else { &sorted[i] };

    let needle = query.filter.as_deref().filter(|f| !f.is_empty());
    let (mut tags, total): (Vec<Arc<SwrTag>>, usize) = match needle {
        None => {
            let first = from.saturating_add(skip).min(n);
            let last = first.saturating_add(query.limit.saturating_add(1)).min(n);
            ((first..last).map(|i| at(i).clone()).collect(), n)
        }
        Some(needle) => {
            let needle = needle.to_ascii_lowercase();
            let matches = |t: &SwrTag| contains_ignore_ascii_case(&t.name, &needle);
            let total = sorted.iter().filter(|t| matches(t)).count();
            let tags = (from..n)
                .map(at)
                .filter(|t| matches(t))
                .skip(skip)
                .take(query.limit.saturating_add(1))
                .cloned()
                .collect();
            (tags, total)
        }
    };
    let next = if tags.len() > query.limit {
        tags.truncate(query.limit);
        tags.last().map(|t| SortKey::of(t, column))
    } else {
        None
    };
    TagPage {
        ctx: repo.ctx.clone(),
        tags,
        total,
        next,
    }
}

/// Cuts one page of a marker walk out of a repository (see [`crate::Store::walk_tags`]).
///
/// Costs `O(log n + page)`, plus `O(c log c)` for the `c` changes since the
/// walk began (at most [`WALK_CHANGE_WINDOW`]) in the `updated_at` order.
pub(super) fn walk_page(repo: &Repo, query: &WalkQuery, epoch: u64) -> Result<WalkPage, WalkError> {
    let column = query.order.column;
    let desc = query.order.direction == OrderType::Desc;
    let (since, after) = match &query.after {
        None => (repo.seq, None),
        Some(p) if p.epoch != epoch => return Err(WalkError::Stale),
        Some(p) if p.since > repo.seq || p.after.column() != column => {
            return Err(WalkError::NotIssued);
        }
        Some(p) => (p.since, Some(&p.after)),
    };
    let needle = query
        .filter
        .as_deref()
        .filter(|f| !f.is_empty())
        .map(str::to_ascii_lowercase);
    let matches = |t: &SwrTag| {
        needle
            .as_deref()
            .is_none_or(|n| contains_ignore_ascii_case(&t.name, n))
    };
    // Tags whose `updated` changed since the walk began are listed where
    // they stood then (if they exist now). A tag created since keeps the
    // place it was created at.
    let mut moved: HashMap<&str, i64> = HashMap::new();
    if column == OrderColumn::UpdatedAt && since < repo.seq {
        if since < repo.dropped {
            return Err(WalkError::Expired);
        }
        let from = repo.changes.partition_point(|c| c.seq <= since);
        // The first `before` of each name after the walk began is where it
        // stood then or, for a tag created since, where it was created (a
        // creation records `None`, and the next change of the tag records
        // the place it moves from).
        for change in repo.changes.range(from..) {
            if let Some(updated) = change.before {
                moved.entry(&*change.name).or_insert(updated);
            }
        }
    }
    let key_after = |key: &SortKey| match after {
        None => true,
        Some(a) => {
            let ord = cmp_keys(key, a);
            if desc { ord.is_lt() } else { ord.is_gt() }
        }
    };
    // The moved tags, at their old places, in the walk's order.
    let mut extra: Vec<(SortKey, Arc<SwrTag>)> = moved
        .iter()
        .filter_map(|(name, updated)| {
            let tag = repo.get(name)?;
            let key = SortKey::Updated {
                updated: *updated,
                name: tag.name.clone(),
            };
            (matches(tag) && key_after(&key)).then(|| (key, tag.clone()))
        })
        .collect();
    extra.sort_by(|a, b| {
        let ord = cmp_keys(&a.0, &b.0);
        if desc { ord.reverse() } else { ord }
    });
    // The others, from the index.
    let sorted = repo.ordered(column);
    let n = sorted.len();
    let from = match after {
        None => 0,
        Some(key) if desc => n - sorted.partition_point(|t| key.cmp_tag(t).is_lt()),
        Some(key) => sorted.partition_point(|t| key.cmp_tag(t).is_le()),
    };
    let mut rest = (from..n)
        .map(|i| if desc { &sorted[n - 1 - i] } else { &sorted[i] })
        .filter(|t| matches(t) && !moved.contains_key(&*t.name))
        .map(|t| (SortKey::of(t, column), t.clone()))
        .peekable();
    let mut extra = extra.into_iter().peekable();
    let want = query.limit.saturating_add(1);
    let mut page: Vec<(SortKey, Arc<SwrTag>)> = Vec::with_capacity(want.min(1024));
    while page.len() < want {
        let take_extra = match (extra.peek(), rest.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(a), Some(b)) => {
                let ord = cmp_keys(&a.0, &b.0);
                if desc { ord.is_gt() } else { ord.is_lt() }
            }
        };
        let item = if take_extra {
            extra.next()
        } else {
            rest.next()
        };
        page.extend(item);
    }
    let next = if page.len() > query.limit {
        page.truncate(query.limit);
        page.last().map(|(key, _)| WalkPosition {
            epoch,
            since,
            after: key.clone(),
        })
    } else {
        None
    };
    Ok(WalkPage {
        ctx: repo.ctx.clone(),
        tags: page.into_iter().map(|(_, t)| t).collect(),
        next,
    })
}

/// Compares two keys of the same column in ascending order.
fn cmp_keys(a: &SortKey, b: &SortKey) -> Ordering {
    match (a, b) {
        (
            SortKey::Updated { updated, name },
            SortKey::Updated {
                updated: u2,
                name: n2,
            },
        ) => updated.cmp(u2).then_with(|| name.cmp(n2)),
        (SortKey::Name(a), SortKey::Name(b)) => a.cmp(b),
        (SortKey::Updated { .. }, SortKey::Name(_)) => Ordering::Less,
        (SortKey::Name(_), SortKey::Updated { .. }) => Ordering::Greater,
    }
}

fn contains_ignore_ascii_case(haystack: &str, lower_needle: &str) -> bool {
    let (h, n) = (haystack.as_bytes(), lower_needle.as_bytes());
    n.len() <= h.len()
        && h.windows(n.len())
            .any(|w| w.iter().zip(n).all(|(a, b)| a.to_ascii_lowercase() == *b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(name: &str, updated: i64) -> Arc<SwrTag> {
        Arc::new(SwrTag {
            id: 1,
            repo_id: 1,
            name: name.into(),
            schema: 2,
            size: Some(1),
            is_trusted: false,
            created: updated,
            updated,
            scanned: false,
            tag_type: 0,
            explicit: None,
            json: Default::default(),
        })
    }

    fn repo(tags: &[(&str, i64)]) -> Repo {
        let ctx = Arc::new(RepoContext {
            namespace: "ns".into(),
            repository: "repo".into(),
            domain_id: "d".into(),
            registry_host: "h".into(),
            internal_host: "i".into(),
        });
        Repo::new(ctx, 1, tags.iter().map(|(n, u)| tag(n, *u)).collect())
    }

    fn names(p: &TagPage) -> Vec<&str> {
        p.tags.iter().map(|t| &*t.name).collect()
    }

    fn q(column: OrderColumn, direction: OrderType, start: Start, limit: usize) -> PageQuery {
        PageQuery {
            order: Order { column, direction },
            filter: None,
            start,
            limit,
        }
    }

    #[test]
    fn default_order_is_newest_first_with_name_tie_break() {
        let r = repo(&[("a", 1), ("b", 3), ("c", 3), ("d", 2)]);
        let p = page(
            &r,
            &q(
                OrderColumn::UpdatedAt,
                OrderType::Desc,
                Start::Offset(0),
                10,
            ),
        );
        assert_eq!(names(&p), ["c", "b", "d", "a"]);
        assert_eq!(p.total, 4);
        assert!(p.next.is_none());
    }

    #[test]
    fn markers_resume_after_the_key_in_both_directions() {
        let r = repo(&[("a", 1), ("b", 2), ("c", 3), ("d", 4), ("e", 5)]);
        for direction in [OrderType::Asc, OrderType::Desc] {
            for column in [OrderColumn::Tag, OrderColumn::UpdatedAt] {
                let mut seen = vec![];
                let mut start = Start::Offset(0);
                loop {
                    let p = page(&r, &q(column, direction, start, 2));
                    seen.extend(names(&p).into_iter().map(str::to_owned));
                    match p.next {
                        Some(k) => start = Start::After(k),
                        None => break,
                    }
                }
                let mut want = vec!["a", "b", "c", "d", "e"];
                if direction == OrderType::Desc {
                    want.reverse();
                }
                assert_eq!(seen, want, "{column:?} {direction:?}");
            }
        }
    }

    #[test]
    fn a_marker_whose_tag_was_deleted_still_resumes_in_place() {
        let r = repo(&[("a", 1), ("c", 3), ("d", 4)]);
        let key = SortKey::Name("b".into());
        let p = page(
            &r,
            &q(
                OrderColumn::Tag,
                OrderType::Asc,
                Start::After(key.clone()),
                10,
            ),
        );
        assert_eq!(names(&p), ["c", "d"]);
        let p = page(
            &r,
            &q(OrderColumn::Tag, OrderType::Desc, Start::After(key), 10),
        );
        assert_eq!(names(&p), ["a"]);
    }

    #[test]
    fn inserts_and_removes_keep_both_indexes_sorted() {
        let mut r = repo(&[("b", 2), ("d", 4)]);
        assert!(r.insert(tag("c", 1)).is_none());
        let old = r.insert(tag("b", 9)).unwrap();
        assert_eq!(old.updated, 2);
        assert_eq!(r.remove("d").unwrap().updated, 4);
        assert!(r.remove("zz").is_none());
        let by_name = page(
            &r,
            &q(OrderColumn::Tag, OrderType::Asc, Start::Offset(0), 10),
        );
        assert_eq!(names(&by_name), ["b", "c"]);
        let by_time = page(
            &r,
            &q(OrderColumn::UpdatedAt, OrderType::Asc, Start::Offset(0), 10),
        );
        assert_eq!(names(&by_time), ["c", "b"]);
        assert_eq!(r.get("c").unwrap().updated, 1);
    }

    /// Walks `repo` in `order` by [`walk_page`], calling `between` after
    /// each page; returns the names in the order returned.
    fn walk_with(
        repo: &mut Repo,
        order: Order,
        limit: usize,
        mut between: impl FnMut(&mut Repo),
    ) -> Result<Vec<String>, WalkError> {
        let mut seen = Vec::new();
        let mut after = None;
        for _ in 0..10_000 {
            let page = walk_page(
                repo,
                &WalkQuery {
                    order,
                    filter: None,
                    after,
                    limit,
                },
                0,
            )?;
            seen.extend(page.tags.iter().map(|t| t.name.to_string()));
            match page.next {
                Some(next) => after = Some(next),
                None => return Ok(seen),
            }
            between(repo);
        }
        panic!("the walk does not end");
    }

    #[test]
    fn a_retagged_tag_keeps_its_place_as_of_the_walks_start() {
        for direction in [OrderType::Asc, OrderType::Desc] {
            let mut r = repo(&[("a", 1), ("b", 2), ("c", 3), ("d", 4), ("e", 5)]);
            let order = Order {
                column: OrderColumn::UpdatedAt,
                direction,
            };
            let mut round = 0;
            let seen = walk_with(&mut r, order, 1, |r| {
                // Move every tag to the newest and then to the oldest place.
                round += 1;
                for name in ["a", "b", "c", "d", "e"] {
                    r.insert(tag(name, if round % 2 == 0 { 100 + round } else { -round }));
                }
            })
            .unwrap();
            let mut want = ["a", "b", "c", "d", "e"];
            if direction == OrderType::Desc {
                want.reverse();
            }
            assert_eq!(seen, want, "{direction:?}");
        }
    }

    #[test]
    fn a_walk_older_than_the_change_window_is_refused_not_guessed() {
        let mut r = repo(&[("a", 1), ("b", 2), ("c", 3)]);
        let order = Order::default();
        let result = walk_with(&mut r, order, 1, |r| {
            for i in 0..=WALK_CHANGE_WINDOW as i64 {
                r.insert(tag("b", 10 + i));
            }
        });
        assert_eq!(result, Err(WalkError::Expired));
        let fresh = walk_with(&mut r, order, 1, |_| {}).unwrap();
        assert_eq!(fresh, ["b", "c", "a"]);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(128))]
        /// Whatever is written between pages, a walk returns no tag twice,
        /// every tag that exists for the whole walk once, and the tags that
        /// existed at its start in the order they had then.
        #[test]
        fn walks_return_each_lasting_tag_exactly_once_in_the_starting_order(
            initial in proptest::collection::vec((0u8..30, 0i64..6), 0..40),
            desc: bool,
            by_name: bool,
            limit in 1usize..6,
            ops in proptest::collection::vec((0u8..3, 0u8..40, 0i64..10), 0..150),
        ) {
            let name = |i: u8| format!("t{i:02}");
            let mut r = repo(&[]);
            for (i, updated) in &initial {
                r.insert(tag(&name(*i), *updated));
            }
            let order = Order {
                column: if by_name { OrderColumn::Tag } else { OrderColumn::UpdatedAt },
                direction: if desc { OrderType::Desc } else { OrderType::Asc },
            };
            let start: Vec<String> = r
                .ordered(order.column)
                .iter()
                .map(|t| t.name.to_string())
                .collect();
            let mut start = start;
            if desc {
                start.reverse();
            }
            let mut removed = std::collections::HashSet::new();
            let mut ops = ops.into_iter();
            let seen = walk_with(&mut r, order, limit, |r| {
                for (op, i, updated) in ops.by_ref().take(3) {
                    match op {
                        0 => { r.insert(tag(&name(i), updated)); }
                        1 => { if r.remove(&name(i)).is_some() { removed.insert(name(i)); } }
                        _ => { if r.get(&name(i)).is_some() { r.insert(tag(&name(i), 100 + updated)); } }
                    }
                }
            }).unwrap();
            let unique: std::collections::HashSet<&String> = seen.iter().collect();
            proptest::prop_assert_eq!(unique.len(), seen.len(), "a tag came twice: {:?}", seen);
            for n in &start {
                proptest::prop_assert!(unique.contains(n) || removed.contains(n), "{} was skipped: {:?}", n, seen);
            }
            let old: Vec<&String> = seen.iter().filter(|n| start.contains(n)).collect();
            let want: Vec<&String> = start.iter().filter(|n| unique.contains(n)).collect();
            proptest::prop_assert_eq!(old, want, "the starting order");
        }
    }

    #[test]
    fn offsets_past_the_end_give_an_empty_page_with_the_total() {
        let r = repo(&[("a", 1), ("b", 2)]);
        let p = page(
            &r,
            &q(OrderColumn::Tag, OrderType::Asc, Start::Offset(5), 10),
        );
        assert!(p.tags.is_empty());
        assert_eq!(p.total, 2);
    }

    #[test]
    fn filters_match_substrings_ignoring_ascii_case_and_count_matches() {
        let r = repo(&[("v1.0", 1), ("V1.1", 2), ("latest", 3), ("v2.0", 4)]);
        let mut query = q(OrderColumn::Tag, OrderType::Asc, Start::Offset(1), 1);
        query.filter = Some("v1".into());
        let p = page(&r, &query);
        assert_eq!(names(&p), ["v1.0"]);
        assert_eq!(p.total, 2);
        assert!(p.next.is_none());
    }
}
