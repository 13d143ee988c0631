#!/usr/bin/env bash
# Runs every cargo-fuzz (libFuzzer) target for a bounded time.
#
#   scripts/fuzz.sh [SECONDS]      # default 30 s per target
#   FUZZ_TARGETS="swr_query v3_marker" scripts/fuzz.sh 60
#
# libFuzzer builds need nightly-only flags (-Zsanitizer); on a stable
# toolchain RUSTC_BOOTSTRAP=1 unlocks them. cargo-fuzz is installed if
# missing (`cargo install cargo-fuzz --locked`, about 1.5 min).
#
# New interesting inputs are added to fuzz/corpus/<target>/. A crash stops
# the run and is saved under fuzz/artifacts/<target>/; copy it to
# fuzz/regressions/<target>/ so `cargo test --test fuzz_regressions` replays
# it forever. Exit status: 0 when every target ran clean, 1 otherwise.
set -euo pipefail

seconds="${1:-30}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
    echo "usage: $0 [SECONDS]   (seconds per target, default 30)" >&2
    exit 2
fi
cd "$(dirname "$0")/.."

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz ..." >&2
    cargo install cargo-fuzz --locked
fi

export RUSTC_BOOTSTRAP=1
targets="${FUZZ_TARGETS:-$(cargo fuzz list)}"
cargo fuzz build

failed=()
for target in $targets; do
    echo "=== $target: ${seconds}s" >&2
    mkdir -p "fuzz/corpus/$target"
    # -rss_limit_mb: the server targets keep one server per process.
    if ! cargo fuzz run "$target" "fuzz/corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1; then
        failed+=("$target")
    fi
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "crashes in: ${failed[*]} (inputs under fuzz/artifacts/)" >&2
    exit 1
fi
echo "all targets ran ${seconds}s without a crash" >&2
