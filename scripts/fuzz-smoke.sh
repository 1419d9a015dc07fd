#!/usr/bin/env bash
# Runs every fuzz target under fuzz/ for a short time, from the committed
# corpus. Usage: scripts/fuzz-smoke.sh [seconds per target] [target...]
# (default 20 s each, all targets). New inputs go to a scratch directory, so
# the committed corpus only changes by hand (`cargo fuzz cmin`). A crash
# fails the script and leaves its input under fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs="${1:-20}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then targets=(npy decode selector c_abi); fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
cargo +nightly fuzz build -O
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
for t in "${targets[@]}"; do
    mkdir -p "$scratch/$t" "corpus/$t"
    echo "fuzz $t for ${secs} s"
    status=0
    cargo +nightly fuzz run -O "$t" "$scratch/$t" "corpus/$t" -- \
        -max_total_time="$secs" -rss_limit_mb=2048 -max_len=4096 \
        -print_final_stats=1 >"$scratch/$t.log" 2>&1 || status=$?
    grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)' "$scratch/$t.log" || true
    if [ "$status" != 0 ]; then
        tail -n 60 "$scratch/$t.log" >&2
        echo "fuzz $t failed (exit $status); the input is under fuzz/artifacts/$t/" >&2
        exit "$status"
    fi
done
