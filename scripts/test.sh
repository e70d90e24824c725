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
echo "== demo (smoke): the README's main job must work too"
CITADEL_SKIP_BUILD=1 scripts/demo.sh
# Sanitizer stage (docs/security.md): the whole C++ suite again under
# ASan+UBSan, then the libFuzzer smoke over every parser of untrusted bytes,
# from one clang build tree. CITADEL_SANITIZE=0 skips it (local iterations).
if [[ "${CITADEL_SANITIZE:-1}" != 0 ]]; then
  scripts/sanitize.sh
fi
