# Shared settings for the scripts (sourced, not run).
NIGHTLY_TOOLCHAIN="nightly-2026-05-20"
WASM_BINDGEN_VERSION="0.2.130"
TOOLS_DIR="$(pwd)/.tools"
export PATH="$TOOLS_DIR/bin:$PATH"
