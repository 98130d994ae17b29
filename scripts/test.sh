#!/usr/bin/env bash
# The whole test suite: set-up, formatting and lints, Rust tests, the wasm bundles, the
# package in Node, the browser tests in Chromium and the oracle tests against NumPy,
# pandas and Dask. Stops at the first failing step; ends with a total of every runner's
# counts.
set -uo pipefail
cd "$(dirname "$0")/.."
logs=.cache/test-logs
# A clean clone gains nothing from incremental caches, and they cost disk.
if [ "${CI:-}" = "true" ]; then export CARGO_INCREMENTAL=0; fi
mkdir -p "$logs"
rm -f "$logs"/*.log
start_all=$(date +%s)
printf 'disk: %s free at the start\n' "$(df -h --output=avail . | tail -1 | tr -d ' ')"
timings=()

step() {
  local name="$1"; shift
  local t0=$(date +%s)
  printf '\n=== %s\n' "$name"
  "$@" 2>&1 | tee "$logs/$name.log"
  local status=${PIPESTATUS[0]}
  timings+=("$(printf '%-14s %4ss' "$name" "$(( $(date +%s) - t0 ))")")
  if [ "$status" -ne 0 ]; then
    printf '\nFAILED: step "%s" exited with %s (log: %s/%s.log)\n' "$name" "$status" "$logs" "$name"
    summary
    exit "$status"
  fi
}

summary() {
  local passed=0 failed=0 n
  # cargo test: "test result: ok. 12 passed; 0 failed; ..."
  for n in $(grep -ho 'test result: [A-Za-z]*\. [0-9]* passed' "$logs"/*.log 2>/dev/null | grep -o '[0-9]* passed' | cut -d' ' -f1); do passed=$((passed + n)); done
  for n in $(grep -ho 'test result: [A-Za-z]*\. [0-9]* passed; [0-9]* failed' "$logs"/*.log 2>/dev/null | grep -o '[0-9]* failed' | cut -d' ' -f1); do failed=$((failed + n)); done
  # node --test: "# pass 12" / "# fail 0"
  for n in $(grep -ho '^# pass [0-9]*' "$logs"/*.log 2>/dev/null | cut -d' ' -f3); do passed=$((passed + n)); done
  for n in $(grep -ho '^# fail [0-9]*' "$logs"/*.log 2>/dev/null | cut -d' ' -f3); do failed=$((failed + n)); done
  # pytest: "=== 40 passed, 1 failed in 3.2s ===" (or, with -q, "40 passed in 3.2s")
  for n in $(grep -hE '^(=+ )?([0-9]+ (passed|failed|skipped)(, )?)+ in [0-9.]+s' "$logs/oracle.log" 2>/dev/null | grep -oE '[0-9]+ passed' | cut -d' ' -f1); do passed=$((passed + n)); done
  for n in $(grep -hE '^(=+ )?([0-9]+ (passed|failed|skipped)(, )?)+ in [0-9.]+s' "$logs/oracle.log" 2>/dev/null | grep -oE '[0-9]+ failed' | cut -d' ' -f1); do failed=$((failed + n)); done
  printf '\n--- timings\n'
  printf '%s\n' "${timings[@]}"
  printf 'total          %4ss\n\n' "$(( $(date +%s) - start_all ))"
  printf 'disk           %s free, %s in this clone\n' "$(df -h --output=avail . | tail -1 | tr -d ' ')" "$(du -sh . 2>/dev/null | cut -f1)"
  printf 'tests: %s passed, %s failed\n' "$passed" "$failed"
}

pytest_step() {
  if ! ls tests/oracle/test_*.py >/dev/null 2>&1; then
    echo "no oracle tests yet"
    return 0
  fi
  .venv/bin/python -m pytest -q tests/oracle
}

step setup bash scripts/setup.sh
step fmt cargo fmt --all -- --check
step clippy cargo clippy --quiet --workspace --lib --bins -- -D warnings
step clippy-wasm cargo clippy --quiet -p partita --lib --target wasm32-unknown-unknown -- -D warnings
step cargo-test cargo test --workspace
# In a clean clone nothing reads the debug build again; the release and wasm builds
# need the disk.
if [ "${CI:-}" = "true" ]; then rm -rf target/debug; fi
step build bash scripts/build.sh
step node node --test tests/node/
step browser node --test --test-concurrency=1 tests/browser/
step oracle pytest_step
summary
