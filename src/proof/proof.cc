#include "citadel/attest/appraisal.h"
#include "citadel/proof.h"

#include "citadel/channel.h"
#include "citadel/crypto.h"

namespace citadel {
namespace {

using nlohmann::json;

Bytes SignedBytes(std::string_view kind, std::string_view payload) {
  std::string s = "citadel/";
  s.append(kind);
  s += "/v1";
  s.push_back('\0');
  s.append(payload);
  return Bytes(s.begin(), s.end());
}

Result<Bytes> B64Field(const json& j, const char* field) {
  if (!j.contains(field) || !j[field].is_string()) {
    return Status::InvalidArgument(std::string("statement field '") + field + "' is missing or not a string");
  }
  auto b = Base64Decode(j[field].get<std::string>());
  if (!b.ok()) return b.status().WithContext(field);
  return b;
}

void PutU32(Hasher& h, uint32_t v) {
  uint8_t b[4];
  for (int i = 0; i < 4; ++i) b[i] = static_cast<uint8_t>(v >> (8 * i));
  h.Update(b);
}

}  // namespace

Result<json> SignStatement(const StatementSigner& signer, std::string_view kind, const json& payload) {
  std::string text = payload.dump();
  CITADEL_ASSIGN_OR_RETURN(Bytes sig, SignDigestMessage(signer.key, "SHA256", SignedBytes(kind, text)));
  json j;
  j["version"] = 1;
  j["kind"] = std::string(kind);
  j["payload"] = Base64Encode(AsBytes(text));
  j["signature"] = Base64Encode(sig);
  j["public_key"] = Base64Encode(signer.spki_der);
  j["evidence"] = Base64Encode(signer.evidence_envelope);
  return j;
}

Result<VerifiedStatement> VerifyStatement(const json& st, std::string_view kind, const Policy* policy,
                                          const VerifyOptions& options) {
  if (!st.is_object()) return Status::InvalidArgument("statement is not a JSON object");
  if (!st.contains("version") || !st["version"].is_number_integer() || st["version"].get<int64_t>() != 1) {
    return Status::InvalidArgument("statement has an unsupported version");
  }
  if (!st.contains("kind") || !st["kind"].is_string() || st["kind"].get<std::string>() != kind) {
    return Status::InvalidArgument("statement is not a " + std::string(kind));
  }
  CITADEL_ASSIGN_OR_RETURN(Bytes payload, B64Field(st, "payload"));
  CITADEL_ASSIGN_OR_RETURN(Bytes signature, B64Field(st, "signature"));
  CITADEL_ASSIGN_OR_RETURN(Bytes spki, B64Field(st, "public_key"));
  CITADEL_ASSIGN_OR_RETURN(Bytes envelope, B64Field(st, "evidence"));

  // 1. The evidence is authentic and binds this public key.
  CITADEL_ASSIGN_OR_RETURN(Evidence evidence, DecodeEvidenceEnvelope(envelope));
  CITADEL_ASSIGN_OR_RETURN(VerifiedEvidence verified, VerifyEvidence(evidence, options));
  ReportData expected = ReportDataForCertificate(spki);
  if (!ConstantTimeEquals(expected, verified.report_data)) {
    return Status::AttestationFailed("the evidence does not bind the key that signed this " + std::string(kind));
  }
  if (policy) CITADEL_RETURN_IF_ERROR(ApplyPolicy(&verified, *policy, options));
  // 2. The key signed exactly this payload.
  CITADEL_ASSIGN_OR_RETURN(EvpPkeyPtr key, ParsePublicKeySpkiDer(spki));
  if (!VerifyDigestMessage(key.get(), "SHA256", SignedBytes(kind, AsStringView(payload)), signature).ok()) {
    return Status::AttestationFailed(std::string(kind) + " signature does not verify");
  }
  // 3. The payload names the evidence it was issued under.
  json p = json::parse(payload.begin(), payload.end(), nullptr, false);
  if (!p.is_object()) return Status::InvalidArgument(std::string(kind) + " payload is not a JSON object");
  if (!p.contains("evidence_sha256") || !p["evidence_sha256"].is_string() ||
      p["evidence_sha256"].get<std::string>() != HexEncode(Sha256(envelope))) {
    return Status::AttestationFailed(std::string(kind) + " payload does not name the evidence it came with");
  }
  VerifiedStatement out;
  out.payload = std::move(p);
  out.evidence = std::move(verified);
  out.spki_der = std::move(spki);
  return out;
}

std::string TensorDigestHex(const NamedTensor& t) {
  Hasher h(Hasher::Algo::kSha256);
  std::string head = "citadel/tensor/v1";
  head.push_back('\0');
  head += t.name;
  head.push_back('\0');
  head += DTypeName(t.tensor.dtype());
  head.push_back('\0');
  h.Update(AsBytes(head));
  PutU32(h, static_cast<uint32_t>(t.tensor.rank()));
  for (int64_t d : t.tensor.shape()) {
    uint8_t b[8];
    for (int i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(static_cast<uint64_t>(d) >> (8 * i));
    h.Update(b);
  }
  if (t.tensor.dtype() == DType::kString) {
    for (const auto& s : t.tensor.strings()) {
      PutU32(h, static_cast<uint32_t>(s.size()));
      h.Update(AsBytes(s));
    }
  } else {
    h.Update(t.tensor.bytes());
  }
  return HexEncode(h.Finish());
}

namespace {
Status CheckDigests(const json& payload, const char* field, const TensorList& given) {
  if (given.empty()) return Status::Ok();
  if (!payload.contains(field) || !payload[field].is_array()) {
    return Status::InvalidArgument(std::string("receipt has no '") + field + "' digests");
  }
  for (const auto& t : given) {
    bool found = false;
    for (const auto& d : payload[field]) {
      // Typed access only: the payload is whatever the signer chose (any
      // sim key, or any key when no policy is applied), so `value()`, which
      // throws on a field of another type, must not be used here.
      if (d.is_object() && d.contains("name") && d["name"].is_string() && d["name"].get<std::string>() == t.name) {
        found = true;
        std::string want = d.contains("sha256") && d["sha256"].is_string() ? d["sha256"].get<std::string>() : "";
        if (!ConstantTimeEquals(AsBytes(want), AsBytes(TensorDigestHex(t)))) {
          return Status::AttestationFailed(std::string(field).substr(0, std::string(field).size() - 1) + " '" +
                                           t.name + "' does not match the receipt");
        }
      }
    }
    if (!found) return Status::InvalidArgument("receipt does not mention " + std::string(field) + " '" + t.name + "'");
  }
  return Status::Ok();
}
}  // namespace

Result<VerifiedStatement> VerifyReceipt(const json& receipt, const ReceiptCheck& check, const VerifyOptions& options) {
  CITADEL_ASSIGN_OR_RETURN(VerifiedStatement v, VerifyStatement(receipt, "receipt", check.policy, options));
  CITADEL_RETURN_IF_ERROR(CheckDigests(v.payload, "inputs", check.inputs));
  CITADEL_RETURN_IF_ERROR(CheckDigests(v.payload, "outputs", check.outputs));
  return v;
}

std::string AuditEntryHash(const json& entry_without_hash) {
  return HexEncode(Sha256(AsBytes(entry_without_hash.dump())));
}

Result<AuditVerification> VerifyAuditLog(const std::vector<json>& entries, const json* checkpoint,
                                         const Policy* policy, const VerifyOptions& options) {
  AuditVerification out;
  std::string prev(64, '0');
  int64_t expected_seq = -1;
  for (size_t i = 0; i < entries.size(); ++i) {
    const json& e = entries[i];
    const std::string where = "audit entry " + std::to_string(i);
    if (!e.is_object() || !e.contains("hash") || !e["hash"].is_string() || !e.contains("prev") ||
        !e["prev"].is_string() || !e.contains("seq") || !e["seq"].is_number_integer()) {
      return Status::DataLoss(where + " is malformed");
    }
    int64_t seq = e["seq"].get<int64_t>();
    if (expected_seq >= 0 && seq != expected_seq) {
      return Status::DataLoss(where + " has sequence " + std::to_string(seq) + ", expected " +
                              std::to_string(expected_seq) + " (entries removed or reordered)");
    }
    expected_seq = seq + 1;
    if (i == 0 && (seq != 0 || e["prev"].get<std::string>() != prev)) {
      return Status::DataLoss("the log does not start at the genesis entry (seq 0): its beginning was removed");
    }
    if (i > 0 && e["prev"].get<std::string>() != prev) {
      return Status::DataLoss(where + " (seq " + std::to_string(seq) + ") does not chain to the previous entry");
    }
    json body = e;
    body.erase("hash");
    std::string h = AuditEntryHash(body);
    if (h != e["hash"].get<std::string>()) {
      return Status::DataLoss(where + " (seq " + std::to_string(seq) + ") was modified: its hash does not match");
    }
    prev = h;
  }
  out.entries = entries.size();
  out.head_hash = entries.empty() ? std::string() : prev;
  if (checkpoint) {
    CITADEL_ASSIGN_OR_RETURN(VerifiedStatement v, VerifyStatement(*checkpoint, "audit-checkpoint", policy, options));
    if (entries.empty()) return Status::DataLoss("checkpoint given for an empty log");
    const json& p = v.payload;  // signed, but by whoever made the evidence: typed access only
    const bool head_ok = p.contains("head_hash") && p["head_hash"].is_string() && p["head_hash"].get<std::string>() == prev;
    const bool seq_ok = p.contains("seq") && p["seq"].is_number_integer() && p["seq"].get<int64_t>() == expected_seq - 1;
    if (!head_ok || !seq_ok) {
      return Status::DataLoss("the signed checkpoint does not cover the last entry of this log (entries added, "
                              "removed or changed since it was signed)");
    }
    out.checkpoint_verified = true;
  }
  return out;
}

}  // namespace citadel
