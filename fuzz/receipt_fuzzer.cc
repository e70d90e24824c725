// libFuzzer target: signed statements as a verifier reads them offline
// (`citadel receipt verify`, the SDK): receipts and audit checkpoints.
// First byte selects the mode:
//   even: the rest is a whole statement (JSON), verified as is;
//   odd:  the rest is a payload, signed with a fixed sim key (bit 1: with
//         the right evidence_sha256), so the checks behind the signature
//         (digest comparison) see attacker-chosen payloads.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "citadel/proof.h"
#include "citadel/protocol.h"
#include "fuzz_signer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  auto j = citadel::ParseJson(text);
  if (!j.ok()) return 0;
  nlohmann::json statement = (mode & 1) ? citadel_fuzz::SignFuzzPayload(*j, "receipt", mode & 2) : *j;

  citadel::ReceiptCheck check;
  (void)citadel::VerifyReceipt(statement, check);
  (void)citadel::VerifyStatement(statement, "audit-checkpoint", nullptr);
  citadel::Policy sim_policy;
  sim_policy.allow_simulation = true;
  sim_policy.accept_any_measurement = true;
  check.policy = &sim_policy;
  auto in = citadel::Tensor::FromVector<float>(citadel::DType::kFloat32, {2}, {1.0f, 2.0f});
  if (in.ok()) {
    check.inputs.push_back({"x", *in});
    check.outputs.push_back({"y", *in});
  }
  (void)citadel::VerifyReceipt(statement, check);
  return 0;
}
