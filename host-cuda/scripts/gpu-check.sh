#!/usr/bin/env bash
# coselect-cuda's check on a machine with an NVIDIA GPU (H100/H200, driver 580 = CUDA 13, PyTorch
# installed, no internet needed), in one call, under five minutes:
#   1. builds the crate in release (or takes prebuilt binaries from $COSELECT_PREBUILT, see
#      host-cuda/scripts/prebuild.sh, for machines without the crates);
#   2. runs the parity tests against the CPU host on pools of 1k to 10M rows with 2, 10 and 100
#      classes (rows x classes up to 1e8);
#   3. times 1M x 10 and 100M x 10 with CUDA events next to the PyTorch reference on the same GPU,
#      checks that PyTorch selects the same indices, and prints one table (also written to
#      $OUT/table.md, or target/gpu-check/table.md).
# Usage: host-cuda/scripts/gpu-check.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-target/gpu-check}
mkdir -p "$out"
start=$(date +%s)
stamp() { printf '\n=== %s (%ss)\n' "$1" "$(($(date +%s) - start))"; }

stamp "device"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true

# NVRTC: the project's copy (scripts/fetch-nvrtc.sh), the CUDA toolkit, or the one PyTorch's wheels
# bring (nvidia-cuda-nvrtc); cudarc dlopens libnvrtc.so.13 (or .12) through LD_LIBRARY_PATH.
nvrtc_dirs=(.cache/nvrtc /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib)
while read -r d; do nvrtc_dirs+=("$d"); done < <(python3 - <<'PY' 2>/dev/null || true
import site, sys
for d in site.getsitepackages() + [site.getusersitepackages()]:
    print(d)
PY
)
nvrtc=""
for d in "${nvrtc_dirs[@]}"; do
  [ -d "$d" ] || continue
  nvrtc=$(find "$d" -maxdepth 5 \( -name 'libnvrtc.so.13' -o -name 'libnvrtc.so.12' \) -print -quit 2>/dev/null || true)
  [ -n "$nvrtc" ] && break
done
if [ -z "$nvrtc" ]; then
  echo "gpu-check.sh: no libnvrtc.so.13 or .12 found (install nvidia-cuda-nvrtc or the CUDA toolkit)" >&2
  exit 1
fi
export LD_LIBRARY_PATH="$(dirname "$nvrtc")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
echo "NVRTC: $nvrtc"

stamp "build (release)"
if [ -n "${COSELECT_PREBUILT:-}" ]; then
  parity=$COSELECT_PREBUILT/parity
  bench=$COSELECT_PREBUILT/gpu_bench
  echo "prebuilt binaries from $COSELECT_PREBUILT"
else
  export CARGO_PROFILE_RELEASE_DEBUG=0
  cargo build --release -p coselect-cuda --example gpu_bench
  parity=$(cargo test --release -p coselect-cuda --test parity --no-run --message-format=json \
    | python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "parity":
        print(m["executable"])' | tail -1)
  bench=${CARGO_TARGET_DIR:-target}/release/examples/gpu_bench
fi

stamp "parity with the CPU host: 1k to 10M rows, 2, 10 and 100 classes"
COSELECT_REQUIRE_GPU=1 COSELECT_PARITY_ROWS=1000,100000,1000000,10000000 \
  COSELECT_PARITY_MAX_CELLS=100000000 "$parity" --nocapture --test-threads=3

stamp "timing: coselect-cuda (CUDA events, 3 warm-up runs, median of 30)"
"$bench" --rows 1000000,100000000 --classes 10 --k 256 --iters 30 --out "$out"

stamp "timing: PyTorch reference, and the same indices"
python3 host-cuda/scripts/torch_reference.py --dir "$out" --rows 1000000,100000000 --iters 10

stamp "done"
