// libFuzzer target: audit log verification (an auditor checks an exported
// log offline). First byte selects the mode; the rest is JSON lines, and a
// line starting with "checkpoint " holds the checkpoint.
//   bit 0: re-chain the entries (fix prev/hash) so that the checks after
//          the chain (checkpoint coverage) are reached;
//   bit 1: the checkpoint line is a payload, signed with a fixed sim key
//          (with the right evidence_sha256), as an attacker with their own
//          sim key could.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "citadel/proof.h"
#include "citadel/protocol.h"
#include "fuzz_signer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  std::vector<nlohmann::json> entries;
  std::optional<nlohmann::json> checkpoint;
  constexpr std::string_view kCheckpoint = "checkpoint ";
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.empty()) continue;
    const bool is_checkpoint = line.substr(0, kCheckpoint.size()) == kCheckpoint;
    auto j = citadel::ParseJson(is_checkpoint ? line.substr(kCheckpoint.size()) : line);
    if (!j.ok()) return 0;
    if (is_checkpoint) checkpoint = std::move(j).value();
    else entries.push_back(std::move(j).value());
    if (entries.size() > 256) return 0;
  }
  if (mode & 1) {
    std::string prev(64, '0');
    for (auto& e : entries) {
      if (!e.is_object()) break;
      e.erase("hash");
      e["prev"] = prev;
      prev = citadel::AuditEntryHash(e);
      e["hash"] = prev;
    }
  }
  if ((mode & 2) && checkpoint) checkpoint = citadel_fuzz::SignFuzzPayload(*checkpoint, "audit-checkpoint", true);
  (void)citadel::VerifyAuditLog(entries, checkpoint ? &*checkpoint : nullptr, nullptr);
  citadel::Policy sim_policy;
  sim_policy.allow_simulation = true;
  sim_policy.accept_any_measurement = true;
  (void)citadel::VerifyAuditLog(entries, checkpoint ? &*checkpoint : nullptr, &sim_policy);
  return 0;
}
