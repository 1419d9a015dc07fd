#!/usr/bin/env bash
# Builds gpu-check.sh's two binaries (the parity tests and gpu_bench) in release into
# .cache/gpu-prebuilt/, for a GPU machine that cannot fetch crates: carry that folder there and run
#   COSELECT_PREBUILT=.cache/gpu-prebuilt host-cuda/scripts/gpu-check.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_PROFILE_RELEASE_DEBUG=0 CARGO_PROFILE_RELEASE_STRIP=symbols
cargo build --release -p coselect-cuda --example gpu_bench
parity=$(cargo test --release -p coselect-cuda --test parity --no-run --message-format=json \
  | python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "parity":
        print(m["executable"])' | tail -1)
mkdir -p .cache/gpu-prebuilt
cp "$parity" .cache/gpu-prebuilt/parity
cp "${CARGO_TARGET_DIR:-target}/release/examples/gpu_bench" .cache/gpu-prebuilt/gpu_bench
ls -l .cache/gpu-prebuilt
