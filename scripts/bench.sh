#!/usr/bin/env bash
# `npm run bench`: partita natively (release build), in Chromium with both wasm bundles,
# and the peers (Dask, pandas, Polars, DuckDB, NumPy, Python), one workload at a time in
# all of them (scripts/bench-all.mjs), then one markdown table in bench/results.md.
# Options pass through: --scale 0.1, --only W1,W3a, --repeat 3.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

scale=1 only="" repeat=3
while [ $# -gt 0 ]; do
  case "$1" in
    --scale) scale="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    --repeat) repeat="$2"; shift 2 ;;
    *) echo "bench: unknown option $1 (use --scale, --only, --repeat)" >&2; exit 2 ;;
  esac
done
out=bench/out
mkdir -p "$out"

echo "bench: building partita (release) and the wasm bundles" >&2
cargo build --quiet --release -p partita
bash scripts/build.sh >&2

echo "bench: each workload natively, in Chromium (threads and single bundles) and in the peers" >&2
node scripts/bench-all.mjs --out "$out" --scale "$scale" --repeat "$repeat" --only "$only"
python3 bench/table.py --native "$out/native.jsonl" --browser "$out/browser.jsonl" --peers "$out/peers.jsonl" -o bench/results.md
echo "bench: wrote bench/results.md" >&2
