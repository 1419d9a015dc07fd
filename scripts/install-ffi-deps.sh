#!/usr/bin/env bash
# What the C ABI's checks need beyond the Rust toolchain: cmake (Debian) for
# the find_package example, valgrind for memcheck, and a Python venv at
# .cache/venv with the package's test dependencies, Ray's among them (PyPI).
# Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
command -v cmake >/dev/null || missing+=(cmake)
command -v valgrind >/dev/null || missing+=(valgrind)
command -v g++ >/dev/null || missing+=(g++)
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq "${missing[@]}"
fi
[ -x .cache/venv/bin/python ] || python3 -m venv .cache/venv
.cache/venv/bin/pip install -q --upgrade pip
.cache/venv/bin/pip install -q "numpy>=1.22" "pytest>=7" "ray[data]>=2.9"
