#!/usr/bin/env bash
# Callbacks delivered per second to a local receiver: SQLite, one worker, concurrency 64.
# N (default 5000) callbacks of distinct orders are due at once; prints one line with the rate.
# Usage: bench/callbacks.sh [N] [--release]
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-5000}"
profile=()
if [[ "${2:-}" == "--release" ]]; then profile=(--release); fi
CALLBACK_BENCH_N="$n" cargo test -q -p platform "${profile[@]}" --test callbacks_bench -- \
    --ignored --nocapture 2>&1 | grep -E '^callbacks:|panicked|error'
