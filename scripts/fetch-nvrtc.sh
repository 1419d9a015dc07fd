#!/usr/bin/env bash
# Installs NVIDIA's NVRTC 13.0 (the PyPI wheel nvidia-cuda-nvrtc, which carries libnvrtc.so.13 and
# needs no GPU or driver) into .cache/nvrtc, so CI can compile coselect-cuda's kernels on a machine
# without CUDA. Prints the directory holding libnvrtc.so.13 on its last line. Does nothing when the
# library is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
target=.cache/nvrtc
find_lib() { find "$target" -name 'libnvrtc.so.13' -print -quit 2>/dev/null || true; }
lib=$(find_lib)
if [ -z "$lib" ]; then
  pip=$(command -v pip3 || command -v pip || true)
  if [ -z "$pip" ]; then
    echo "fetch-nvrtc.sh: pip is needed to install nvidia-cuda-nvrtc" >&2
    exit 1
  fi
  PIP_ROOT_USER_ACTION=ignore "$pip" install --quiet --no-deps --disable-pip-version-check --target "$target" \
    nvidia-cuda-nvrtc==13.0.88
  lib=$(find_lib)
  if [ -z "$lib" ]; then
    echo "fetch-nvrtc.sh: the wheel holds no libnvrtc.so.13 under $target" >&2
    exit 1
  fi
fi
cd "$(dirname "$lib")" && pwd
