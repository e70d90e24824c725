#include "citadel/attest/appraisal.h"
#include "citadel/package.h"

#include <chrono>
#include <cstring>

#include "citadel/byte_reader.h"
#include "citadel/channel.h"
#include "citadel/crypto.h"

namespace citadel {
namespace {

using nlohmann::json;

constexpr char kMagic[] = "CTDLPKG1";
constexpr char kInfo[] = "citadel/model-package/v1";
constexpr size_t kMaxHeader = 64 * 1024;

Result<std::string> StringField(const json& j, const char* f) {
  if (!j.contains(f) || !j[f].is_string()) return Status::InvalidArgument(std::string("missing string field '") + f + "'");
  return j[f].get<std::string>();
}
Result<int64_t> IntField(const json& j, const char* f) {
  if (!j.contains(f) || !j[f].is_number_integer()) {
    return Status::InvalidArgument(std::string("missing integer field '") + f + "'");
  }
  return j[f].get<int64_t>();
}

}  // namespace

json BoxIdentityToJson(const BoxIdentity& box) {
  return json{{"version", 1},
              {"kind", "citadel-box-identity"},
              {"hpke_suite", HpkeSuiteName(kHpkeDefaultSuite)},
              {"public_key", Base64Encode(box.public_key)},
              {"evidence", Base64Encode(box.evidence_envelope)}};
}

Result<BoxIdentity> BoxIdentityFromJson(const json& j) {
  if (!j.is_object() || j.value("kind", "") != "citadel-box-identity" || j.value("version", 0) != 1) {
    return Status::InvalidArgument("not a Citadel box identity (version 1)");
  }
  CITADEL_ASSIGN_OR_RETURN(std::string suite, StringField(j, "hpke_suite"));
  if (suite != HpkeSuiteName(kHpkeDefaultSuite)) return Status::Unsupported("box identity uses HPKE suite " + suite);
  CITADEL_ASSIGN_OR_RETURN(std::string pk, StringField(j, "public_key"));
  CITADEL_ASSIGN_OR_RETURN(std::string ev, StringField(j, "evidence"));
  BoxIdentity box;
  CITADEL_ASSIGN_OR_RETURN(box.public_key, Base64Decode(pk));
  CITADEL_ASSIGN_OR_RETURN(box.evidence_envelope, Base64Decode(ev));
  CITADEL_RETURN_IF_ERROR(HpkeValidatePublicKey(kHpkeDefaultSuite, box.public_key));
  return box;
}

Result<HpkeKeyPair> DerivePackageKey(Platform& platform) {
  CITADEL_ASSIGN_OR_RETURN(SecretBytes ikm, platform.SealingKey("package-key/v1"));
  return HpkeDeriveKeyPair(kHpkeDefaultSuite, ikm.span());
}

Result<BoxIdentity> MakeBoxIdentity(Platform& platform, const HpkeKeyPair& key) {
  CITADEL_ASSIGN_OR_RETURN(Evidence evidence, platform.GetEvidence(ReportDataForPackageKey(key.public_key)));
  BoxIdentity box;
  box.public_key = key.public_key;
  box.evidence_envelope = EncodeEvidenceEnvelope(evidence);
  return box;
}

Result<VerifiedEvidence> VerifyBoxIdentity(const BoxIdentity& box, const Policy& policy, const VerifyOptions& options) {
  CITADEL_ASSIGN_OR_RETURN(Evidence evidence, DecodeEvidenceEnvelope(box.evidence_envelope));
  CITADEL_ASSIGN_OR_RETURN(VerifiedEvidence verified, VerifyEvidence(evidence, options));
  if (!ConstantTimeEquals(ReportDataForPackageKey(box.public_key), verified.report_data)) {
    return Status::AttestationFailed("the box's evidence does not bind its package key");
  }
  CITADEL_RETURN_IF_ERROR(ApplyPolicy(&verified, policy, options));
  return verified;
}

Result<Bytes> BuildPackage(const BoxIdentity& box, const Policy& policy, const OwnerKey& owner,
                           const std::string& name, int64_t version, ByteSpan onnx, const VerifyOptions& options) {
  CITADEL_RETURN_IF_ERROR(VerifyBoxIdentity(box, policy, options).status().WithContext("box identity refused"));
  if (version < 1) return Status::InvalidArgument("package version must be at least 1");
  int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::system_clock::now().time_since_epoch()).count();
  const std::string sha = HexEncode(Sha256(onnx));
  CITADEL_ASSIGN_OR_RETURN(Bytes sig, owner.Sign(UploadStatement(name, version, sha, now, false)));
  json header = {{"format", 1},
                 {"name", name},
                 {"version", version},
                 {"model_sha256", sha},
                 {"signer", owner.key_id()},
                 {"signed_at", now},
                 {"signature", Base64Encode(sig)},
                 {"box_key_sha256", HexEncode(Sha256(box.public_key))},
                 {"hpke_suite", HpkeSuiteName(kHpkeDefaultSuite)}};
  const std::string header_text = header.dump();
  CITADEL_ASSIGN_OR_RETURN(HpkeSealed sealed, HpkeSealBase(kHpkeDefaultSuite, box.public_key, AsBytes(kInfo),
                                                           AsBytes(header_text), onnx));
  ByteWriter w;
  w.Append(AsBytes(std::string_view(kMagic, 8)));
  if (!w.U32LePrefixed(AsBytes(header_text))) return Status::Internal("package header too large");
  if (!w.U32LePrefixed(sealed.enc)) return Status::Internal("bad HPKE enc");
  w.Append(sealed.ciphertext);
  return w.Take();
}

Result<OpenedPackage> OpenPackage(ByteSpan package, const HpkeKeyPair& box_key) {
  ByteReader r(package);
  ByteSpan magic;
  if (!r.ReadBytes(8, &magic) || std::memcmp(magic.data(), kMagic, 8) != 0) {
    return Status::InvalidArgument("not a Citadel model package (bad magic)");
  }
  ByteReader header_reader, enc_reader;
  if (!r.ReadU32LePrefixed(&header_reader) || header_reader.remaining() > kMaxHeader ||
      !r.ReadU32LePrefixed(&enc_reader)) {
    return Status::InvalidArgument("model package is truncated");
  }
  ByteSpan header_bytes = header_reader.rest();
  json h = json::parse(header_bytes.begin(), header_bytes.end(), nullptr, false);
  if (!h.is_object() || h.value("format", 0) != 1) return Status::InvalidArgument("model package header is malformed");
  OpenedPackage out;
  auto& ph = out.header;
  CITADEL_ASSIGN_OR_RETURN(ph.name, StringField(h, "name"));
  CITADEL_ASSIGN_OR_RETURN(ph.version, IntField(h, "version"));
  CITADEL_ASSIGN_OR_RETURN(ph.model_sha256, StringField(h, "model_sha256"));
  CITADEL_ASSIGN_OR_RETURN(ph.signer, StringField(h, "signer"));
  CITADEL_ASSIGN_OR_RETURN(ph.signed_at, IntField(h, "signed_at"));
  CITADEL_ASSIGN_OR_RETURN(ph.signature, StringField(h, "signature"));
  CITADEL_ASSIGN_OR_RETURN(ph.box_key_sha256, StringField(h, "box_key_sha256"));
  if (h.value("hpke_suite", "") != HpkeSuiteName(kHpkeDefaultSuite)) {
    return Status::Unsupported("model package uses an unsupported HPKE suite");
  }
  if (!ConstantTimeEquals(AsBytes(ph.box_key_sha256), AsBytes(HexEncode(Sha256(box_key.public_key))))) {
    return Status::FailedPrecondition(
        "this package was made for another box, or for this box running other code (package key differs)");
  }
  auto opened = HpkeOpenBase(kHpkeDefaultSuite, box_key.private_key.span(), enc_reader.rest(), AsBytes(kInfo),
                             header_bytes, r.rest());
  if (!opened.ok()) return Status::DataLoss("model package does not decrypt: it was altered in transit");
  if (HexEncode(Sha256(opened->span())) != ph.model_sha256) {
    return Status::DataLoss("model package content does not match its recorded SHA-256");
  }
  out.onnx = std::move(opened).value();
  return out;
}

}  // namespace citadel
