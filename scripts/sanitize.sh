#!/usr/bin/env bash
# Sanitizer stage of the test command (docs/security.md): one clang build tree
# with AddressSanitizer + UndefinedBehaviorSanitizer (-fno-sanitize-recover,
# so any report fails) holding the whole C++ test suite *and* the libFuzzer
# targets, then
#   1. every C++ test under ASan+UBSan (the Python tests are left out: an ASan
#      runtime cannot be loaded into the system python3),
#   2. the fuzz smoke (scripts/fuzz-smoke.sh) with the same tree's fuzzers.
# Sharing the tree builds the instrumented libraries once for both.
#   CITADEL_SAN_BUILD_DIR  build tree (default build-san)
#   FUZZ_SECONDS           seconds per fuzz target (default 30)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${CITADEL_SAN_BUILD_DIR:-build-san}"
start=$(date +%s)
echo "== sanitizers: configuring and building $build_dir (clang, ASan+UBSan, tests + fuzzers)"
# -O1 with line tables only: about half the compile time of -O2 -g, still
# fast enough to run the suite, and sanitizer reports keep file:line.
CC=clang CXX=clang++ cmake -S . -B "$build_dir" -DCITADEL_SANITIZE=ON -DCITADEL_FUZZ=ON -DCITADEL_PYTHON=OFF \
  -DCMAKE_BUILD_TYPE=None -DCMAKE_C_FLAGS="-O1 -gline-tables-only" -DCMAKE_CXX_FLAGS="-O1 -gline-tables-only" >/dev/null
cmake --build "$build_dir" -j"$(nproc)"
echo "== sanitizers: build took $(( $(date +%s) - start )) s"

t0=$(date +%s)
echo "== sanitizers: the C++ test suite under ASan+UBSan"
# detect_leaks: LeakSanitizer is part of the check. The test processes start
# the ASan citadel binary too (e2e, crash tests), which inherits these.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
# The real-architecture checks (ResNet-50, BERT-base... against PyTorch;
# install-deps.sh --test installs python3-torch) are left to the normal build:
# they exercise the same kernels as the conformance suite, which does run
# here, on models 10-100x larger, which ASan would make take many minutes.
ctest --test-dir "$build_dir" --output-on-failure -j"$(nproc)" --timeout 1800 -E '^Architectures\.'
echo "== sanitizers: tests took $(( $(date +%s) - t0 )) s"

CITADEL_FUZZ_BUILD_DIR="$build_dir" FUZZ_SKIP_CONFIGURE=1 FUZZ_SECONDS="${FUZZ_SECONDS:-30}" scripts/fuzz-smoke.sh
echo "== sanitizers: stage took $(( $(date +%s) - start )) s"
