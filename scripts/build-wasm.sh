#!/usr/bin/env bash
# Builds both wasm bundles into dist/: `single` with stable Rust (no atomics) and `threads`
# with the pinned nightly (atomics, shared memory, rayon on web workers). Fails if the
# threaded module's memory is not shared. Prints each bundle's raw and gzip size.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

WASM_BINDGEN="$TOOLS_DIR/bin/wasm-bindgen"
WASM_OPT="node_modules/.bin/wasm-opt"
[ -x "$WASM_BINDGEN" ] || { echo "build-wasm: wasm-bindgen $WASM_BINDGEN_VERSION is missing; run npm run setup" >&2; exit 1; }

only="${1:-all}"

build_single() {
  echo "build-wasm: single-threaded bundle (stable)"
  RUSTFLAGS="-C target-feature=+simd128" \
    cargo build --quiet --lib --release -p partita --target wasm32-unknown-unknown --target-dir target/wasm-single
  rm -rf dist/single
  "$WASM_BINDGEN" --target web --out-dir dist/single --out-name partita \
    target/wasm-single/wasm32-unknown-unknown/release/partita.wasm
}

build_threads() {
  echo "build-wasm: threaded bundle ($NIGHTLY_TOOLCHAIN)"
  local flags="-C target-feature=+atomics,+bulk-memory,+mutable-globals,+simd128"
  flags+=" -C link-arg=--shared-memory -C link-arg=--import-memory -C link-arg=--max-memory=4294967296"
  flags+=" -C link-arg=--export=__wasm_init_tls -C link-arg=--export=__tls_size"
  flags+=" -C link-arg=--export=__tls_align -C link-arg=--export=__tls_base"
  RUSTFLAGS="$flags" cargo "+$NIGHTLY_TOOLCHAIN" build --quiet --lib --release -p partita \
    --features threads --target wasm32-unknown-unknown -Z build-std=panic_abort,std --target-dir target/wasm-threads
  rm -rf dist/threads
  "$WASM_BINDGEN" --target web --out-dir dist/threads --out-name partita \
    target/wasm-threads/wasm32-unknown-unknown/release/partita.wasm
  # Without the linker flags the build succeeds but wasm-bindgen emits single-threaded glue.
  if ! node scripts/check-shared-memory.mjs dist/threads/partita_bg.wasm; then
    echo "build-wasm: the threaded module does not import a shared memory" >&2
    exit 1
  fi
}

# Strips the name section only. LLVM has optimised the code already; `wasm-opt -O2` made
# the bundle 1.5% smaller gzipped, but V8 ran its W3c (merge) code 2.3 times slower.
optimise() {
  local dir="$1"; shift
  if [ -x "$WASM_OPT" ]; then
    "$WASM_OPT" --strip-debug "$@" "dist/$dir/partita_bg.wasm" -o "dist/$dir/partita_bg.wasm"
  else
    echo "build-wasm: wasm-opt not found (npm install first); bundle left with its names" >&2
  fi
  local raw gz
  raw=$(wc -c < "dist/$dir/partita_bg.wasm")
  gz=$(gzip -9 -c "dist/$dir/partita_bg.wasm" | wc -c)
  awk -v d="$dir" -v r="$raw" -v g="$gz" 'BEGIN { printf "build-wasm: %-8s %8.1f KiB raw  %8.1f KiB gzip\n", d, r / 1024, g / 1024 }'
}

case "$only" in
  single) build_single; optimise single --enable-simd ;;
  threads) build_threads; optimise threads --enable-threads --enable-bulk-memory --enable-simd ;;
  all)
    build_single; optimise single --enable-simd
    build_threads; optimise threads --enable-threads --enable-bulk-memory --enable-simd
    ;;
  *) echo "usage: build-wasm.sh [single|threads|all]" >&2; exit 2 ;;
esac
