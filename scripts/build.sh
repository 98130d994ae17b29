#!/usr/bin/env bash
# Builds what the playground and the tests use: the native CLI and both wasm bundles.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --release --bin partita
bash scripts/build-wasm.sh all
node scripts/build-www.mjs
