//! The operations of the model property and their generators.
//!
//! **A new operation goes here first**: a variant of `Op` and a weighted arm in
//! `op_strategy`; then its prediction in `reference.rs` and its request and
//! check in `check.rs` (`Case::step`). See the crate doc in `main.rs`.

use proptest::prelude::*;

use crate::reference::{MAX_KEY, MAX_TAGS, MAX_VALUE, Order, SWR_TAGS};

/// One `ListImageByTags` condition list: `(key, values)`.
pub(crate) type Conditions = Vec<(String, Vec<String>)>;

#[derive(Debug, Clone)]
pub(crate) struct ByTagsQuery {
    pub(crate) count: bool,
    pub(crate) tags: Option<Conditions>,
    pub(crate) tags_any: Option<Conditions>,
    pub(crate) not_tags: Option<Conditions>,
    pub(crate) not_tags_any: Option<Conditions>,
    pub(crate) without_any_tag: bool,
    pub(crate) name: Option<&'static str>,
    pub(crate) limit: usize,
    pub(crate) offset: usize,
}

#[derive(Debug, Clone)]
pub(crate) enum Op {
    AddImageTag {
        image: usize,
        key: String,
        value: String,
    },
    BatchTags {
        image: usize,
        action: &'static str,
        tags: Vec<(String, Option<String>)>,
    },
    DeleteImageTag {
        image: usize,
        key: String,
    },
    ListImageTags {
        image: usize,
    },
    ListImagesTags,
    ListImageByTags(ByTagsQuery),
    CreateRepoTag {
        source: String,
        destination: String,
        overwrite: bool,
    },
    DeleteRepoTag {
        tag: String,
    },
    ShowRepoTag {
        tag: String,
    },
    ListV2 {
        limit: usize,
        offset: usize,
        order: Order,
        filter: Option<&'static str>,
    },
    WalkV3 {
        limit: usize,
        order: Order,
        filter: Option<&'static str>,
    },
}

fn valid_keys() -> Vec<String> {
    let mut keys: Vec<String> = (0..=MAX_TAGS).map(|i| format!("k{i}")).collect();
    keys.extend(["action".into(), "中文 @x".into(), "中".repeat(MAX_KEY)]);
    keys
}

fn key_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        12 => prop::sample::select(valid_keys()),
        1 => prop::sample::select(vec![String::new(), "  ".into(), "k".repeat(MAX_KEY + 1), "ä".into(), " lead".into()]),
    ]
}

fn value_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        12 => prop::sample::select(vec![String::new(), "v0".into(), "v1".into(), "v2".into(), "v/3".into(), "中".repeat(MAX_VALUE)]),
        1 => prop::sample::select(vec!["x".repeat(MAX_VALUE + 1), "a|b".into()]),
    ]
}

fn image_strategy() -> impl Strategy<Value = usize> {
    prop_oneof![12 => 0..4usize, 1 => Just(4usize)]
}

fn conditions_strategy() -> impl Strategy<Value = Option<Conditions>> {
    let values = prop::sample::subsequence(vec!["", "v0", "v1", "v2", "v3"], 0..=2)
        .prop_map(|v| v.into_iter().map(str::to_owned).collect::<Vec<_>>());
    let keys = prop::sample::subsequence(
        vec!["k0", "k1", "k2", "k3", "action", "ключ", "nokey"],
        1..=3,
    );
    prop::option::weighted(
        0.3,
        (keys, prop::collection::vec(values, 3)).prop_map(|(keys, values)| {
            keys.into_iter()
                .zip(values)
                .map(|(k, v)| (k.to_owned(), v))
                .collect()
        }),
    )
}

fn by_tags_strategy() -> impl Strategy<Value = ByTagsQuery> {
    (
        prop::bool::weighted(0.2),
        conditions_strategy(),
        conditions_strategy(),
        conditions_strategy(),
        conditions_strategy(),
        prop::bool::weighted(0.1),
        prop::option::weighted(0.2, prop::sample::select(vec!["web", "WEB-p", "d"])),
        1..6usize,
        0..4usize,
    )
        .prop_map(
            |(
                count,
                tags,
                tags_any,
                not_tags,
                not_tags_any,
                without_any_tag,
                name,
                limit,
                offset,
            )| {
                ByTagsQuery {
                    count,
                    tags,
                    tags_any,
                    not_tags,
                    not_tags_any,
                    without_any_tag,
                    name,
                    limit,
                    offset,
                }
            },
        )
}

fn swr_names() -> Vec<String> {
    let mut names: Vec<String> = SWR_TAGS.iter().map(|(n, _)| (*n).to_owned()).collect();
    names.extend((0..6).map(|i| format!("n{i}")));
    names
}

/// A tag name: mostly valid ones (existing or not), sometimes invalid ones.
fn swr_name_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        16 => prop::sample::select(swr_names()),
        1 => prop::sample::select(vec!["-bad".to_owned(), ".x".into(), "t".repeat(129)]),
    ]
}

fn filter_strategy() -> impl Strategy<Value = Option<&'static str>> {
    prop::option::weighted(0.25, prop::sample::select(vec!["v1", "V", "a", "zz", "."]))
}

pub(crate) fn op_strategy() -> impl Strategy<Value = Op> {
    let batch_tag = (
        key_strategy(),
        prop::option::weighted(0.8, value_strategy()),
    );
    prop_oneof![
        14 => (image_strategy(), key_strategy(), value_strategy())
            .prop_map(|(image, key, value)| Op::AddImageTag { image, key, value }),
        10 => (
            image_strategy(),
            prop_oneof![10 => Just("create"), 6 => Just("delete"), 1 => Just("Create")],
            prop::collection::vec(batch_tag, 0..6),
        )
            .prop_map(|(image, action, tags)| Op::BatchTags { image, action, tags }),
        8 => (image_strategy(), prop::sample::select(valid_keys()))
            .prop_map(|(image, key)| Op::DeleteImageTag { image, key }),
        5 => image_strategy().prop_map(|image| Op::ListImageTags { image }),
        5 => Just(Op::ListImagesTags),
        5 => by_tags_strategy().prop_map(Op::ListImageByTags),
        12 => (swr_name_strategy(), swr_name_strategy(), any::<bool>())
            .prop_map(|(source, destination, overwrite)| Op::CreateRepoTag { source, destination, overwrite }),
        7 => swr_name_strategy().prop_map(|tag| Op::DeleteRepoTag { tag }),
        5 => swr_name_strategy().prop_map(|tag| Op::ShowRepoTag { tag }),
        6 => (1..13usize, 0..15usize, order_strategy(), filter_strategy())
            .prop_map(|(limit, offset, order, filter)| Op::ListV2 { limit, offset, order, filter }),
        6 => (1..13usize, order_strategy(), filter_strategy())
            .prop_map(|(limit, order, filter)| Op::WalkV3 { limit, order, filter }),
    ]
}

pub(crate) fn order_strategy() -> impl Strategy<Value = Order> {
    (any::<bool>(), any::<bool>()).prop_map(|(by_tag, asc)| Order { by_tag, asc })
}
