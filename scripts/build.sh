#!/usr/bin/env bash
# Configures and builds Citadel into ./build (or $CITADEL_BUILD_DIR).
# Extra arguments go to the build step (e.g. --target citadel).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${CITADEL_BUILD_DIR:-build}"
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE="${CITADEL_BUILD_TYPE:-RelWithDebInfo}" ${CITADEL_CMAKE_ARGS:-} >/dev/null
cmake --build "$build_dir" -j"$(nproc)" "$@"
