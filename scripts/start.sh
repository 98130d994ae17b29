#!/usr/bin/env bash
# The main command: set up, build, and serve the playground with COOP/COEP headers.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
exec node scripts/serve.mjs "$@"
