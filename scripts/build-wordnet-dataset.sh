#!/usr/bin/env bash
# Rebuilds the bundled dataset data/wordnet-nouns/ from WordNet 3.0 (Debian's wordnet-base)
# with the bundled foundation model. Skips the embedding when the folder is already current.
# Extra arguments go to `coselect prepare` (e.g. --force).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f /usr/share/wordnet/data.noun ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends wordnet-base
fi
scripts/fetch-model.sh
CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}" cargo build --release -p coselect
"${CARGO_TARGET_DIR:-target}/release/coselect" prepare \
  --wordnet /usr/share/wordnet/data.noun \
  --prompts fm/prompts/wordnet-nouns.json \
  --sample 20000 --min-per-class 40 --seed 0 \
  --dtype f16 --temperature 0.05 \
  --name wordnet-nouns \
  --out data/wordnet-nouns "$@"
