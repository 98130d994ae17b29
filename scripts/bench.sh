#!/usr/bin/env bash
# `npm run bench`: partita natively (release build), in Chromium with both wasm bundles,
# and the peers (Dask, pandas, Polars, DuckDB, NumPy, Python), then one markdown table in
# bench/results.md. Options pass through: --scale 0.1, --only W1,W3a, --repeat 3.
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
only_arg=()
[ -n "$only" ] && only_arg=(--only "$only")

echo "bench: building partita (release) and the wasm bundles" >&2
cargo build --quiet --release -p partita
bash scripts/build.sh >&2

echo "bench: partita native" >&2
./target/release/partita bench --scale "$scale" --repeat "$repeat" --scaling "${only_arg[@]}" > "$out/native.jsonl"
echo "bench: partita in Chromium (threads and single bundles)" >&2
node scripts/bench-browser.mjs --scale "$scale" --repeat "$repeat" --only "$only" --screenshot "$out/bench-page.png" > "$out/browser.jsonl"
echo "bench: peers" >&2
python3 bench/peers.py --scale "$scale" --repeat "$repeat" "${only_arg[@]}" > "$out/peers.jsonl" || echo "bench: the peers disagree on a checksum (see above)" >&2
python3 bench/table.py --native "$out/native.jsonl" --browser "$out/browser.jsonl" --peers "$out/peers.jsonl" -o bench/results.md
echo "bench: wrote bench/results.md" >&2
