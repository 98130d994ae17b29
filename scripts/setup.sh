#!/usr/bin/env bash
# Installs what the build and the tests need, idempotently; fast when everything is there.
# Needs only rustup, Node/npm and Python; fetches the rest from crates.io, npm, PyPI and
# Debian's packages. Stamps under .cache/ remember what was done for which inputs.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
mkdir -p .cache/stamps
say() { printf 'setup: %s\n' "$*"; }
hash_of() { cat "$@" 2>/dev/null | sha256sum | cut -c1-16; }
stamp_ok() { [ -f ".cache/stamps/$1" ] && [ "$(cat ".cache/stamps/$1")" = "$2" ]; }
stamp_set() { printf '%s' "$2" > ".cache/stamps/$1"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Rust: the stable wasm target and the pinned nightly for the threaded bundle.
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi
if ! rustup toolchain list | grep -q "^$NIGHTLY_TOOLCHAIN"; then
  rustup toolchain install "$NIGHTLY_TOOLCHAIN" --profile minimal --component rust-src --target wasm32-unknown-unknown
fi
if ! rustup "+$NIGHTLY_TOOLCHAIN" target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  rustup target add --toolchain "$NIGHTLY_TOOLCHAIN" wasm32-unknown-unknown
fi
if ! rustup "+$NIGHTLY_TOOLCHAIN" component list --installed 2>/dev/null | grep -q '^rust-src'; then
  rustup component add --toolchain "$NIGHTLY_TOOLCHAIN" rust-src
fi
say "rust stable + wasm32, $NIGHTLY_TOOLCHAIN ok"

# wasm-bindgen CLI, exactly the crate's version. Built once per machine into a shared
# cache (a clean clone reuses it), then linked into .tools/.
want="wasm-bindgen $WASM_BINDGEN_VERSION"
if [ "$("$TOOLS_DIR/bin/wasm-bindgen" --version 2>/dev/null)" != "$want" ]; then
  cache="${XDG_CACHE_HOME:-$HOME/.cache}/partita/wasm-bindgen-$WASM_BINDGEN_VERSION"
  if [ "$("$cache/bin/wasm-bindgen" --version 2>/dev/null)" != "$want" ]; then
    say "building wasm-bindgen-cli $WASM_BINDGEN_VERSION (a few minutes, once per machine)"
    # Not --locked: a locked dependency version of the CLI is missing from the registry.
    cargo install --quiet wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --root "$cache"
  fi
  mkdir -p "$TOOLS_DIR/bin"
  ln -sf "$cache/bin/wasm-bindgen" "$TOOLS_DIR/bin/wasm-bindgen"
fi
say "wasm-bindgen $WASM_BINDGEN_VERSION ok"

# npm packages.
lock_hash=$(hash_of package-lock.json package.json)
if [ ! -d node_modules ] || ! stamp_ok npm "$lock_hash"; then
  npm ci --no-audit --no-fund --loglevel=error
  stamp_set npm "$lock_hash"
fi
say "npm packages ok"

# Chromium for the browser tests, from Debian's packages.
if [ ! -x /usr/bin/chromium ]; then
  say "installing Debian's chromium (once per machine)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi
say "chromium ok ($(/usr/bin/chromium --version 2>/dev/null | head -1))"

# Python packages for the oracle tests, in a venv of the project's own.
req_hash=$(hash_of tests/oracle/requirements.txt)
if [ ! -x .venv/bin/python ] || ! stamp_ok venv "$req_hash"; then
  say "installing the oracle's Python packages into .venv"
  python3 -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r tests/oracle/requirements.txt
  stamp_set venv "$req_hash"
fi
say "python oracle packages ok"
