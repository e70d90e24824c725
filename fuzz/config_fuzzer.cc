// libFuzzer target: the two JSON configuration files a deployment reads,
// the client policy (Policy::FromJson) and the server configuration
// (ServerConfig::FromJson). A parsed policy is then evaluated against fixed
// simulation evidence: CheckPolicy must agree with EvaluatePolicy.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "citadel/attest.h"
#include "citadel/server.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto policy = citadel::Policy::FromJson(text);
  if (policy.ok()) {
    citadel::VerifiedEvidence ev;
    ev.kind = citadel::EvidenceKind::kSim;
    ev.simulation = true;
    ev.measurement.assign(48, 0xab);
    ev.claims["platform"] = "sim";
    const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1700000000));
    const bool accepted = citadel::CheckPolicy(ev, *policy, now).ok();
    const bool no_failures = citadel::EvaluatePolicy(ev, *policy, now).empty();
    FUZZ_CHECK(accepted == no_failures);
    if (accepted) FUZZ_CHECK(policy->allow_simulation);
  }
  auto config = citadel::ServerConfig::FromJson(text);
  if (config.ok()) {
    FUZZ_CHECK(config->max_upload_bytes > 0 && config->max_request_bytes > 0);
    FUZZ_CHECK(config->max_models > 0 && config->max_tensor_elements > 0);
    FUZZ_CHECK(config->request_timeout_seconds > 0);
    for (const auto& p : config->users) FUZZ_CHECK(p.credential.size() == 32);
    for (const auto& p : config->auditors) FUZZ_CHECK(p.credential.size() == 32);
  }
  return 0;
}
