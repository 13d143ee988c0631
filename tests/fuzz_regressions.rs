//! Replays every saved fuzz input through the same code as the cargo-fuzz
//! targets (`fuzz/harness.rs`), in plain `cargo test`: the seed corpora
//! (`fuzz/corpus/<target>/`) and the inputs that once failed
//! (`fuzz/regressions/<target>/`, one file per finding).
//!
//! libFuzzer itself needs a nightly-only flag and minutes of building, so CI
//! runs these replays instead; `scripts/fuzz.sh` runs the real fuzzers.

#[path = "../fuzz/harness.rs"]
mod harness;

use std::path::{Path, PathBuf};

/// Every file under `fuzz/{kind}/{target}/`, sorted.
fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(kind)
        .join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Runs `target`'s harness on each saved input, naming the file that fails.
fn replay(target: &str) -> usize {
    let (_, run) = harness::TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .expect("a known target");
    let mut count = 0;
    for kind in ["corpus", "regressions"] {
        for file in inputs(kind, target) {
            let data = std::fs::read(&file).expect("readable input");
            let outcome = std::panic::catch_unwind(|| run(&data));
            assert!(outcome.is_ok(), "{} fails", file.display());
            count += 1;
        }
    }
    count
}

#[test]
fn every_target_has_a_seed_corpus() {
    for (name, _) in harness::TARGETS {
        assert!(
            !inputs("corpus", name).is_empty(),
            "fuzz/corpus/{name}/ is empty"
        );
    }
}

#[test]
fn fixture_load_inputs_pass() {
    assert!(replay("fixture_load") > 0);
}

#[test]
fn authorization_inputs_pass() {
    assert!(replay("authorization") > 0);
}

#[test]
fn swr_query_inputs_pass() {
    assert!(replay("swr_query") > 0);
}

#[test]
fn v3_marker_inputs_pass() {
    assert!(replay("v3_marker") > 0);
}
