#!/usr/bin/env bash
# Installs the nightly toolchain and cargo-fuzz, which the fuzz targets under
# fuzz/ need (libFuzzer's sanitizer coverage is nightly-only).
set -euo pipefail
rustup toolchain install nightly --profile minimal
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
