//! Fuzz target `v3_marker`: see `harness::v3_marker` (shared with `tests/fuzz_regressions.rs`).

#![no_main]

#[allow(dead_code)]
#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::v3_marker(data));
