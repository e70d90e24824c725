#!/usr/bin/env bash
# Fuzz smoke: builds every libFuzzer target (clang, ASan+UBSan, separate build
# tree) and runs each for FUZZ_SECONDS (default 30). Fails on any crash, leak,
# sanitizer report, timeout or out-of-memory. The long run is documented in
# docs/security.md.
#   FUZZ_SECONDS=30           seconds per target
#   FUZZ_TARGETS="npy codec"  only these targets (names without _fuzzer)
#   CITADEL_FUZZ_BUILD_DIR    build tree (default build-fuzz)
#   FUZZ_SKIP_CONFIGURE=1     use the tree as configured (scripts/sanitize.sh
#                             builds tests and fuzzers in one ASan+UBSan tree)
#   FUZZ_JOBS                 fuzzers run at once (default: nproc)
#   FUZZ_OUT                  logs, new corpus entries and crash inputs
#                             (default $CITADEL_FUZZ_BUILD_DIR/smoke)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-30}"
build_dir="${CITADEL_FUZZ_BUILD_DIR:-build-fuzz}"
out="${FUZZ_OUT:-$build_dir/smoke}"

# clang and its libFuzzer/sanitizer runtimes (Debian 12: clang-14).
if ! command -v "${FUZZ_CXX:-clang++}" >/dev/null || ! dpkg-query -W -f='${Status}' libclang-rt-14-dev 2>/dev/null |
    grep -q "install ok installed"; then
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  echo "== installing clang libclang-rt-14-dev"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends clang libclang-rt-14-dev
fi

start=$(date +%s)
if [[ "${FUZZ_SKIP_CONFIGURE:-0}" != 1 ]]; then
  echo "== fuzz smoke: configuring and building ($build_dir, clang, ASan+UBSan)"
  CC="${FUZZ_CC:-clang}" CXX="${FUZZ_CXX:-clang++}" cmake -S . -B "$build_dir" -DCITADEL_FUZZ=ON \
    -DCITADEL_BUILD_TESTS=OFF -DCITADEL_PYTHON=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build_dir" -j"$(nproc)" --target citadel_fuzzers
echo "== fuzz smoke: build took $(( $(date +%s) - start )) s"

# Seed corpora: fuzz/corpus/<target> (committed), the bundled models and
# sample tensors, and the attestation vectors under shared/testdata when the
# checkout has them.
attest_data=""
for d in shared/testdata/attestation ../shared/testdata/attestation; do
  if [ -d "$d" ]; then attest_data="$d"; break; fi
done
rm -rf "$out"
mkdir -p "$out/seeds/models_onnx" "$out/seeds/models_npy"
cp models/*.onnx "$out/seeds/models_onnx/"
cp models/*.npy "$out/seeds/models_npy/"

seeds_for() {
  local t="$1" a="$attest_data"
  case "$t" in
    onnx_model) echo "$out/seeds/models_onnx fuzz/corpus/onnx_model" ;;
    npy) echo "fuzz/corpus/npy $out/seeds/models_npy" ;;
    snp_report) echo "fuzz/corpus/snp_report${a:+ $a/sev-snp}" ;;
    intel_quote) echo "fuzz/corpus/intel_quote${a:+ $a/sgx-dcap $a/tdx}" ;;
    collateral) [ -n "$a" ] && echo "$a/sgx-dcap $a/tdx" ;;
    nvidia_report) [ -n "$a" ] && echo "$a/nvidia-gpu" ;;
    nvidia_rim) echo "fuzz/corpus/nvidia_rim" ;;
    nvidia_swid) echo "fuzz/corpus/nvidia_swid" ;;
    cert_bundle) [ -n "$a" ] && echo "$a/roots" ;;
    evidence_bundle) echo "fuzz/corpus/config${a:+ $a}" ;;
    *) [ -d "fuzz/corpus/$t" ] && echo "fuzz/corpus/$t" ;;
  esac
  return 0
}
# libFuzzer exits when a corpus directory is missing: keep only those present.
existing_dirs() {
  local d
  for d in "$@"; do [ -d "$d" ] && echo "$d"; done
  return 0
}
dict_for() {
  case "$1" in
    config|infer_request|receipt|audit_log|evidence_bundle|collateral|key_release) echo "-dict=fuzz/json.dict" ;;
    nvidia_swid) echo "-dict=fuzz/swid.dict" ;;
  esac
}

all="npy sim_evidence config infer_request receipt audit_log onnx_model codec
     snp_report intel_quote cert_bundle collateral nvidia_report nvidia_rim nvidia_swid evidence_bundle key_release"
targets="${FUZZ_TARGETS:-$all}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
# One fuzzer per core at a time (FUZZ_JOBS); each writes its own log and
# exit status, the table is printed in target order once all have finished.
jobs="${FUZZ_JOBS:-$(nproc)}"
run_one() {
  local t="$1" bin="$build_dir/fuzz/${1}_fuzzer" rc
  mkdir -p "$out/corpus/$t" "$out/crashes/$t"
  # The first corpus directory receives new inputs; the seed dirs stay read-only.
  # shellcheck disable=SC2046
  set +e
  "$bin" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2560 -print_final_stats=1 \
    -artifact_prefix="$out/crashes/$t/" $(dict_for "$t") "$out/corpus/$t" $(existing_dirs $(seeds_for "$t")) \
    >"$out/$t.log" 2>&1
  rc=$?
  set -e
  echo "$rc" >"$out/$t.rc"
}
running=0
for t in $targets; do
  run_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then wait -n || true; running=$((running - 1)); fi
done
wait || true
failed=()
printf '%-16s %6s %10s %8s %s\n' target seconds execs corpus result
for t in $targets; do
  rc=$(cat "$out/$t.rc" 2>/dev/null || echo "?")
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$t.log" | tail -1)
  corpus=$(find "$out/corpus/$t" -type f | wc -l)
  if [ "$rc" = 0 ]; then result=ok; else result="FAILED (rc $rc, log $out/$t.log)"; failed+=("$t"); fi
  printf '%-16s %6s %10s %8s %s\n' "$t" "$seconds" "${execs:-?}" "$corpus" "$result"
done
echo "== fuzz smoke: total $(( $(date +%s) - start )) s"
if [ "${#failed[@]}" -ne 0 ]; then
  for t in "${failed[@]}"; do
    echo "---- $t: last lines of $out/$t.log"
    tail -40 "$out/$t.log"
    ls -l "$out/crashes/$t" || true
  done
  echo "fuzz smoke FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz smoke passed"
