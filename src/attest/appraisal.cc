// Appraisal: VerifyEvidence + EvaluatePolicy summarised as one attestation
// result (EAR-like JSON). See include/citadel/attest/appraisal.h.
#include "citadel/attest/appraisal.h"

#include <nlohmann/json.hpp>

#include <string>
#include <utility>
#include <vector>

#include "attest_util.h"
#include "citadel/attest/collateral.h"
#include "citadel/attest/nvidia_rim.h"

namespace citadel {
namespace {

using json = nlohmann::json;

uint16_t Le16(ByteSpan b, size_t off) { return static_cast<uint16_t>(b[off] | (b[off + 1] << 8)); }
uint32_t Le32(ByteSpan b, size_t off) {
  return b[off] | (uint32_t{b[off + 1]} << 8) | (uint32_t{b[off + 2]} << 16) | (uint32_t{b[off + 3]} << 24);
}

std::pair<std::string, std::string> SplitCheck(const std::string& failure) {
  size_t colon = failure.find(':');
  if (colon == std::string::npos) return {"verification", failure};
  std::string detail = failure.substr(colon + 1);
  if (!detail.empty() && detail[0] == ' ') detail.erase(0, 1);
  return {failure.substr(0, colon), detail};
}

bool IsExpiry(const std::string& failure) {
  std::string check = SplitCheck(failure).first;
  return check.size() > 9 && check.compare(check.size() - 9, 9, "_validity") == 0;
}

// Verifies the policy's RIM files and records their reference values on the
// GPU evidence (the evidence itself, or each GPU attached to CPU evidence,
// with "GPU <i>: " in the reason). Returns the first failure, or "".
std::string ApplyRims(const Policy& policy, const VerifyOptions& options, VerifiedEvidence* evidence) {
  if (!policy.nvidia || policy.nvidia->rims.empty()) return "";
  std::vector<std::pair<std::string, VerifiedEvidence*>> gpus;
  if (evidence->kind == EvidenceKind::kNvidiaGpu) gpus.emplace_back("", evidence);
  for (size_t i = 0; i < evidence->devices.size(); ++i) {
    gpus.emplace_back("GPU " + std::to_string(i) + ": ", &evidence->devices[i]);
  }
  for (auto& [which, gpu] : gpus) {
    Status rim = nvidia::ApplyPolicyRims(*policy.nvidia, options, gpu);
    if (rim.ok()) continue;
    std::string m = rim.message();
    const size_t colon = m.find(": ");
    if (!which.empty() && colon != std::string::npos) m = m.substr(0, colon + 2) + which + m.substr(colon + 2);
    return m;
  }
  return "";
}

}  // namespace

Status ApplyPolicy(VerifiedEvidence* evidence, const Policy& policy, const VerifyOptions& options) {
  if (std::string rim = ApplyRims(policy, options, evidence); !rim.empty()) return Status::AttestationFailed(rim);
  return CheckPolicy(*evidence, policy, options.now);
}


std::string_view VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kAccepted: return "accepted";
    case Verdict::kRejected: return "rejected";
    case Verdict::kExpired: return "expired";
    case Verdict::kInvalid: return "invalid";
  }
  return "invalid";
}

Result<Evidence> DetectEvidence(ByteSpan input) {
  size_t i = 0;
  while (i < input.size() && std::isspace(input[i])) ++i;
  if (i < input.size() && input[i] == '{') {
    auto j = json::parse(input.begin(), input.end(), nullptr, false);
    if (j.is_object() && j.contains("evidence")) return Evidence{EvidenceKind::kNvidiaGpu, Bytes(input.begin(), input.end())};
    return Status::InvalidArgument("JSON input is not recognised evidence (nvtrust {\"evidence\": ...} expected)");
  }
  Bytes bin = attest_internal::DecodeEvidenceText(input);
  ByteSpan b(bin);
  Evidence e;
  // Binary and hex text travel as given (every verifier reads hex); other
  // text (base64, a byte order mark) travels decoded, so that no verifier
  // has to know those encodings.
  if (attest_internal::DecodeBinaryOrHexText(input) == bin) {
    e.bytes.assign(input.begin(), input.end());
  } else {
    e.bytes = bin;
  }
  if (b.size() >= 8 && AsStringView(b.first(8)) == "CTDLSIM1") {
    e.kind = EvidenceKind::kSim;
    return e;
  }
  if (b.size() >= 48 + 37 && b[0] == 0x11 && b[1] == 0xE0 && b.size() > 38 && b[37] == 0x11 && b[38] == 0x60) {
    e.kind = EvidenceKind::kNvidiaGpu;
    return e;
  }
  if (b.size() >= 48) {
    uint16_t version = Le16(b, 0), key_type = Le16(b, 2);
    uint32_t tee = Le32(b, 4);
    if (key_type == 2 && (version == 3 || version == 4 || version == 5)) {
      if (version == 3 || tee == 0) {
        e.kind = EvidenceKind::kSgxDcap;
        return e;
      }
      if (tee == 0x81) {
        e.kind = EvidenceKind::kTdx;
        return e;
      }
    }
  }
  if (b.size() == 1184) {
    uint32_t version = Le32(b, 0);
    if (version == 2 || version == 3 || version == 5) {
      e.kind = EvidenceKind::kSevSnp;
      return e;
    }
  }
  return Status::InvalidArgument(
      "unrecognised evidence: not sim (CTDLSIM1), an Intel quote v3/v4/v5, a 1184-byte SEV-SNP report "
      "or an NVIDIA SPDM report (binary, hex or base64 text)");
}

Appraisal AppraiseEvidence(const Evidence& evidence, const VerifyOptions& options, const Policy* policy) {
  Appraisal a;
  a.kind = evidence.kind;
  a.verified_at = options.now;
  auto verified = VerifyEvidence(evidence, options);
  if (!verified.ok()) {
    std::string m = verified.status().message();
    if (m.find(':') == std::string::npos) m = "verification: " + m;
    a.failed_checks.push_back(m);
    a.verdict = IsExpiry(m) ? Verdict::kExpired : Verdict::kInvalid;
    return a;
  }
  a.evidence = *verified;
  // RIM files named by the policy are verified here, at this appraisal's
  // instant and with its trust anchors; the comparison is a policy check.
  if (policy != nullptr) {
    if (auto rim = ApplyRims(*policy, options, &*a.evidence); !rim.empty()) {
      a.failed_checks.push_back(rim);
      a.verdict = IsExpiry(rim) ? Verdict::kExpired : Verdict::kInvalid;
      return a;
    }
  }
  Policy defaults;
  defaults.accept_any_measurement = true;
  const Policy& p = policy != nullptr ? *policy : defaults;
  a.policy_applied = policy != nullptr;
  a.failed_checks = EvaluatePolicy(*a.evidence, p, options.now);
  a.verdict = a.failed_checks.empty() ? Verdict::kAccepted : Verdict::kRejected;
  return a;
}

std::string Appraisal::ToJson() const {
  json j;
  j["profile"] = "citadel-attestation-result/1";
  j["verified_at"] = FormatRfc3339(verified_at);
  j["kind"] = std::string(EvidenceKindName(kind));
  j["verdict"] = std::string(VerdictName(verdict));
  // EAR (IETF RATS "EAT Attestation Results") trustworthiness tier.
  std::string tier = "contraindicated";
  if (verdict == Verdict::kAccepted) {
    tier = "affirming";
    if (evidence) {
      auto it = evidence->claims.find("intel.tcb_status");
      if (it != evidence->claims.end() && it->second != "UpToDate") tier = "warning";
    }
  }
  j["ear.status"] = tier;
  j["policy"] = policy_applied ? "applied" : "none (authenticity and strict platform defaults only; "
                                             "measurement not checked)";
  json failed = json::array();
  for (const auto& f : failed_checks) {
    auto [check, detail] = SplitCheck(f);
    failed.push_back({{"check", check}, {"detail", detail}});
  }
  j["failed_checks"] = std::move(failed);
  if (evidence) {
    const auto& c = evidence->claims;
    auto get = [&c](const char* k) -> json {
      auto it = c.find(k);
      return it == c.end() ? json(nullptr) : json(it->second);
    };
    j["simulation"] = evidence->simulation;
    j["platform"] = get("platform");
    j["measurement"] = HexEncode(evidence->measurement);
    j["report_data"] = HexEncode(evidence->report_data);
    j["tcb_status"] = get("intel.tcb_status");
    j["qe_tcb_status"] = get("intel.qe_tcb_status");
    json adv = json::array();
    auto it = c.find("intel.advisory_ids");
    if (it != c.end()) {
      size_t start = 0;
      const std::string& s = it->second;
      while (start < s.size()) {
        size_t comma = s.find(',', start);
        adv.push_back(s.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
    }
    j["advisory_ids"] = std::move(adv);
    j["claims"] = c;
    // Composite evidence: each attached GPU, verified with the nonce derived
    // from this evidence's report_data.
    json devices = json::array();
    for (const auto& d : evidence->devices) {
      devices.push_back({{"kind", std::string(EvidenceKindName(d.kind))},
                         {"measurement", HexEncode(d.measurement)},
                         {"claims", d.claims}});
    }
    j["devices"] = std::move(devices);
  }
  return j.dump(2) + "\n";
}

std::string Appraisal::ToText() const {
  std::string s = "verdict: ";
  std::string v(VerdictName(verdict));
  for (char& ch : v) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  s += v;
  if (evidence && evidence->simulation) s += " (SIMULATION: no hardware protection)";
  s += "\nkind: " + std::string(EvidenceKindName(kind)) + "\n";
  s += "verified at: " + FormatRfc3339(verified_at) + "\n";
  if (!policy_applied) s += "policy: none (authenticity and strict platform defaults only; measurement not checked)\n";
  for (const auto& f : failed_checks) s += "failed: " + f + "\n";
  if (evidence) {
    s += "measurement: " + HexEncode(evidence->measurement) + "\n";
    s += "claims:\n";
    for (const auto& [k, val] : evidence->claims) s += "  " + k + ": " + val + "\n";
    for (size_t i = 0; i < evidence->devices.size(); ++i) {
      const auto& d = evidence->devices[i];
      s += "device " + std::to_string(i) + " (" + std::string(EvidenceKindName(d.kind)) +
           "): measurement " + HexEncode(d.measurement) + "\n";
      for (const auto& [k, val] : d.claims) s += "  " + k + ": " + val + "\n";
    }
  }
  return s;
}

}  // namespace citadel
