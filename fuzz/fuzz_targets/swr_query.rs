//! Fuzz target `swr_query`: see `harness::swr_query` (shared with `tests/fuzz_regressions.rs`).

#![no_main]

#[allow(dead_code)]
#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::swr_query(data));
