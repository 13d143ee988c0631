//! Store-level benchmarks: the costs the HTTP layer sits on.
//!
//! Run: `cargo bench --bench store` (a few minutes at most; the 1M-tag store is
//! generated and loaded once, and that load is timed and printed, not sampled).
//! `cargo bench --bench store -- page` runs only the page benchmarks.
//!
//! What is measured, and the targets of BENCHMARKS.md it feeds:
//! - `page/v3_marker/{100,100k,1M}`: a 100-tag page in the default order
//!   (`updated_at desc`) starting after a marker in the middle of the
//!   repository. Target: 1M ≤ 2× 100.
//! - `page/v2_offset/{100,100k,1M}`: a 100-tag page at an offset in the middle
//!   of the repository (offset 0 for the 100-tag one). Target: 1M ≤ 2× 100.
//! - `ims_aggregate/{100,100k}`: `images_tags` plus the JSON encoding of its
//!   answer, for a project of 100 and 100,000 images with the same distinct
//!   tags (3 keys × 10 values). Target: 100k ≤ 2× 100.
//! - `repos/v2_offset/{100,100k}`, `repos/v3_marker/{100,100k}`: a page of
//!   100 repositories (`ListReposDetails` by offset, `ListRepoDetails` after
//!   an id marker) from an account holding 100 or 100,000 repositories, in
//!   the middle of the list. Target: 100k ≤ 2× 100. The views are cached
//!   between writes, so after the first iteration this is the cost of a page
//!   of cached views (the first read after a write rebuilds that view).
//! - `load/swr_100k_tags`, `load/ims_100k_images`: `seed::load` of a fixture
//!   already in memory (parse, schema validation, index build).
//! - `load/swr_1M_tags` (printed once): target ≤ 3 s; the process's peak RSS
//!   (`VmHWM`) is printed next to it for information only, since it includes
//!   the other stores of this process; `benches/load.sh` measures the server's.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use ims_swr_mock::Store;
use ims_swr_mock::internals::{FixtureSource, SeedSettings, load};
use ims_swr_mock::internals::{GenerateSpec, write_fixture};
use ims_swr_mock::internals::{Order, PageQuery, Start};
use ims_swr_mock::internals::{RepoListQuery, RepoWalkQuery, ResourceSpec, write_fixture_with};

/// The account the generated organizations belong to (the default one).
const DOMAIN: &str = "0503dda878000fed0f75c0096d70a960";

const NS: &str = "bench";
const REPO: &str = "app";
const PROJECT: &str = "benchproject";
const PAGE: usize = 100;

fn spec(tags: usize, images: Option<usize>) -> GenerateSpec {
    GenerateSpec {
        namespace: NS.into(),
        repository: REPO.into(),
        tags,
        project: images.map(|_| PROJECT.into()),
        images: images.unwrap_or(0),
        tags_per_image: 3,
    }
}

fn fixture(spec: &GenerateSpec) -> FixtureSource {
    let mut buf = Vec::new();
    write_fixture(spec, &mut buf).expect("generate fixture");
    FixtureSource::Json {
        name: format!("generated-{}-tags-{}-images", spec.tags, spec.images),
        text: String::from_utf8(buf).expect("fixture is UTF-8"),
    }
}

fn settings() -> SeedSettings {
    SeedSettings {
        registry_host: "swr.cn-north-1.myhuaweicloud.com".into(),
    }
}

fn load_one(source: &FixtureSource) -> Store {
    load(std::slice::from_ref(source), &settings()).expect("generated fixture loads")
}

fn query(start: Start) -> PageQuery {
    PageQuery {
        order: Order::default(),
        filter: None,
        start,
        limit: PAGE,
    }
}

/// The v3 marker of the tag in the middle of the repository (in the default
/// order), taken from the store itself so the bench does not depend on how
/// times are derived.
fn middle_marker(store: &Store, n: usize) -> Start {
    let mid = if n > PAGE { n / 2 } else { 0 };
    // With a limit of 1, `next` is the key of the one tag returned (more follow).
    let one = PageQuery {
        limit: 1,
        ..query(Start::Offset(mid))
    };
    let key = store
        .list_tags(NS, REPO, &one)
        .expect("repository exists")
        .next
        .expect("tags follow the probe");
    Start::After(key)
}

fn vm_hwm_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn label(n: usize) -> &'static str {
    match n {
        100 => "100",
        100_000 => "100k",
        1_000_000 => "1M",
        _ => "other",
    }
}

fn pages(c: &mut Criterion) {
    let sizes = [100usize, 100_000, 1_000_000];
    let stores: Vec<(usize, Store)> = sizes
        .iter()
        .map(|&n| {
            let source = fixture(&spec(n, None));
            let t = Instant::now();
            let store = load_one(&source);
            let took = t.elapsed();
            if n == 1_000_000 {
                println!(
                    "load/swr_1M_tags (once): {:.3} s; fixture {} MB; process VmHWM after it: {} MB (target ≤ 3 s)",
                    took.as_secs_f64(),
                    match &source {
                        FixtureSource::Json { text, .. } => text.len() / 1_000_000,
                        _ => 0,
                    },
                    vm_hwm_kib().map_or(0, |k| k / 1024),
                );
            }
            assert_eq!(store.tag_count(NS, REPO), Some(n));
            (n, store)
        })
        .collect();

    let mut g = c.benchmark_group("page");
    g.sample_size(50)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for (n, store) in &stores {
        let start = middle_marker(store, *n);
        let q = query(start);
        let got = store.list_tags(NS, REPO, &q).unwrap();
        assert_eq!(got.tags.len(), if *n > PAGE { PAGE } else { PAGE - 1 });
        g.bench_with_input(BenchmarkId::new("v3_marker", label(*n)), &q, |b, q| {
            b.iter(|| black_box(store.list_tags(NS, REPO, black_box(q)).unwrap()));
        });
    }
    for (n, store) in &stores {
        let offset = if *n > PAGE { n / 2 } else { 0 };
        let q = query(Start::Offset(offset));
        assert_eq!(store.list_tags(NS, REPO, &q).unwrap().tags.len(), PAGE);
        g.bench_with_input(BenchmarkId::new("v2_offset", label(*n)), &q, |b, q| {
            b.iter(|| black_box(store.list_tags(NS, REPO, black_box(q)).unwrap()));
        });
    }
    g.finish();
}

fn ims_aggregate(c: &mut Criterion) {
    let mut g = c.benchmark_group("ims_aggregate");
    g.sample_size(50)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    let mut bodies = Vec::new();
    for images in [100usize, 100_000] {
        let store = load_one(&fixture(&spec(1, Some(images))));
        let body = serde_json::to_vec(&*store.images_tags(PROJECT)).unwrap();
        bodies.push(body);
        g.bench_function(BenchmarkId::from_parameter(label(images)), |b| {
            b.iter(|| {
                let summary = store.images_tags(black_box(PROJECT));
                black_box(serde_json::to_vec(&*summary).unwrap())
            });
        });
    }
    // Same distinct tags, so the same answer whatever the number of images.
    assert_eq!(bodies[0], bodies[1]);
    g.finish();
}

fn loads(c: &mut Criterion) {
    let mut g = c.benchmark_group("load");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(5));
    let swr = fixture(&spec(100_000, None));
    g.bench_function("swr_100k_tags", |b| {
        b.iter(|| black_box(load_one(black_box(&swr))));
    });
    let ims = fixture(&spec(1, Some(100_000)));
    g.bench_function("ims_100k_images", |b| {
        b.iter(|| black_box(load_one(black_box(&ims))));
    });
    g.finish();
}

/// A store whose account holds `n` repositories (100 per organization),
/// one tag each.
fn repos_store(n: usize) -> Store {
    let extra = ResourceSpec {
        namespaces: n / 100,
        repos_per_namespace: 100,
        tags_per_repo: 1,
    };
    let mut buf = Vec::new();
    write_fixture_with(&spec(1, None), &extra, &mut buf).expect("generate fixture");
    load_one(&FixtureSource::Json {
        name: format!("generated-{n}-repositories"),
        text: String::from_utf8(buf).expect("fixture is UTF-8"),
    })
}

fn repos(c: &mut Criterion) {
    let mut g = c.benchmark_group("repos");
    g.sample_size(50)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for n in [100usize, 100_000] {
        let store = repos_store(n);
        let offset = if n > PAGE { n / 2 } else { 0 };
        let q = RepoListQuery {
            offset,
            limit: PAGE,
            ..RepoListQuery::default()
        };
        let page = store.list_repos(Some(DOMAIN), &q);
        // The generated organizations plus the spec's own one.
        assert_eq!(page.total, n + 1);
        assert_eq!(page.repos.len(), PAGE);
        g.bench_with_input(BenchmarkId::new("v2_offset", label(n)), &q, |b, q| {
            b.iter(|| black_box(store.list_repos(Some(DOMAIN), black_box(q))));
        });
        // The id of the repository in the middle, as a v3 marker.
        let probe = RepoWalkQuery {
            limit: offset.max(1),
            ..RepoWalkQuery::default()
        };
        let after = if n > PAGE {
            store.walk_repos(Some(DOMAIN), &probe).next
        } else {
            None
        };
        let w = RepoWalkQuery {
            after,
            limit: PAGE,
            ..RepoWalkQuery::default()
        };
        assert_eq!(store.walk_repos(Some(DOMAIN), &w).repos.len(), PAGE);
        g.bench_with_input(BenchmarkId::new("v3_marker", label(n)), &w, |b, w| {
            b.iter(|| black_box(store.walk_repos(Some(DOMAIN), black_box(w))));
        });
    }
    g.finish();
}

/// The benchmark groups (in a private module: `criterion_group!` makes a `pub fn`).
mod groups {
    use super::{criterion_group, ims_aggregate, loads, pages, repos};
    criterion_group!(benches, pages, repos, ims_aggregate, loads);
}
criterion_main!(groups::benches);
