#!/usr/bin/env bash
# The test command: installs dependencies, builds everything, runs every test.
# This is exactly what CI (.ci/run) runs.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
scripts/build.sh
build_dir="${CITADEL_BUILD_DIR:-build}"
echo "== running the test suite"
ctest --test-dir "$build_dir" --output-on-failure -j"$(nproc)" --timeout 900
if [[ "${CITADEL_FUZZ_SMOKE:-0}" == 1 ]]; then
  # libFuzzer smoke over every parser of untrusted bytes (docs/security.md):
  # separate clang ASan+UBSan build tree, FUZZ_SECONDS per target. Opt-in
  # until its CI cost is measured on a clean machine (CITADEL_FUZZ_SMOKE=1).
  echo "== fuzz smoke (scripts/fuzz-smoke.sh)"
  FUZZ_SECONDS="${FUZZ_SECONDS:-20}" scripts/fuzz-smoke.sh
fi
echo "== demo (smoke): the README's main job must work too"
CITADEL_SKIP_BUILD=1 scripts/demo.sh
