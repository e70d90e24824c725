// Verification time per evidence kind, collateral already loaded (issue 4:
// <= 5 ms per quote). Each benchmark loads one real vector and its
// collateral once, checks that it verifies at the vector's instant, then
// times AppraiseEvidence (VerifyEvidence + policy evaluation: what the
// attested channel and `citadel verify` run) with the built-in vendor roots.
// Certificates and CRLs are held as bytes in the bundle, so their X.509
// parsing is part of each timed verification, as it is in the client.
//
// Vectors: ../shared/testdata/attestation (or $CITADEL_ATTEST_TESTDATA);
// a benchmark whose vector is absent is skipped with an error message.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "citadel/attest.h"
#include "citadel/attest/appraisal.h"
#include "citadel/attest/collateral.h"

namespace citadel {
namespace {

std::string VectorDir() {
  if (const char* env = std::getenv("CITADEL_ATTEST_TESTDATA"); env != nullptr && *env != 0) return env;
  return std::string(CITADEL_SOURCE_DIR) + "/../shared/testdata/attestation";
}

struct Case {
  const char* evidence;
  std::vector<const char*> collateral;
  const char* at;  // RFC 3339; nullptr = now
  const char* policy_json;
};

void Run(benchmark::State& state, const Case& c) {
  const std::string dir = VectorDir();
  auto bytes = ReadFileBytes(dir + "/" + c.evidence);
  if (!bytes.ok()) {
    state.SkipWithError(("vector not found: " + dir + "/" + c.evidence).c_str());
    return;
  }
  auto evidence = DetectEvidence(*bytes);
  if (!evidence.ok()) {
    state.SkipWithError(evidence.status().message().c_str());
    return;
  }
  CollateralBundle bundle;
  for (const char* f : c.collateral) {
    Status st = bundle.ImportFile(dir + "/" + f);
    if (!st.ok()) {
      state.SkipWithError(st.message().c_str());
      return;
    }
  }
  VerifyOptions options;
  options.collateral = &bundle;
  if (c.at != nullptr) options.now = *ParseRfc3339(c.at);
  auto policy = Policy::FromJson(c.policy_json);
  if (!policy.ok()) {
    state.SkipWithError(policy.status().message().c_str());
    return;
  }
  // Time only a verification that succeeds (a fast refusal proves nothing).
  Appraisal first = AppraiseEvidence(*evidence, options, &*policy);
  if (!first.accepted()) {
    std::string why = "not accepted: " + (first.failed_checks.empty() ? "" : first.failed_checks[0]);
    state.SkipWithError(why.c_str());
    return;
  }
  for (auto _ : state) {
    Appraisal a = AppraiseEvidence(*evidence, options, &*policy);
    benchmark::DoNotOptimize(a.verdict);
  }
}

// The policies accept exactly what VECTORS.md says each vector is.
void BM_VerifySgxDcapQuoteV3(benchmark::State& state) {
  Run(state, {"sgx-dcap/phala-dcap-qvl/sgx_quote",
              {"sgx-dcap/phala-dcap-qvl/sgx_quote_collateral.json"},
              "2025-07-01T00:00:00Z",
              R"({"version": 1, "accept_any_measurement": true,
                  "tcb_statuses": ["ConfigurationAndSWHardeningNeeded"]})"});
}
void BM_VerifyTdxQuoteV4(benchmark::State& state) {
  Run(state, {"tdx/phala-dcap-qvl/tdx_quote",
              {"tdx/phala-dcap-qvl/tdx_quote_collateral.json"},
              "2025-07-01T00:00:00Z",
              R"({"version": 1, "accept_any_measurement": true})"});
}
void BM_VerifySevSnpReport(benchmark::State& state) {
  Run(state, {"sev-snp/virtee-sev/report_milan.hex",
              {"sev-snp/virtee-sev/vcek_milan.der"},
              "2025-01-01T00:00:00Z",
              R"({"version": 1, "accept_any_measurement": true})"});
}
void BM_VerifyNvidiaH100Report(benchmark::State& state) {
  Run(state, {"nvidia-gpu/trustee/hopperAttestationReport.txt",
              {"nvidia-gpu/trustee/hopper_cert_chain_case1.txt"},
              nullptr,
              R"({"version": 1, "accept_any_measurement": true, "nvidia": {"require_nonce": false}})"});
}

BENCHMARK(BM_VerifySgxDcapQuoteV3)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_VerifyTdxQuoteV4)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_VerifySevSnpReport)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_VerifyNvidiaH100Report)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace citadel

BENCHMARK_MAIN();
