#include "citadel/attest/appraisal.h"
#include "citadel/key_release.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "citadel/channel.h"
#include "citadel/protocol.h"

namespace citadel {
namespace {

using nlohmann::json;

constexpr char kReleaseDomain[] = "citadel/key-release/v1";
constexpr char kSealingSalt[] = "citadel/released-sealing/v1";
constexpr size_t kRootKeySize = 32;
// Evidence envelopes are a few KiB (a TDX quote with its PCK chain ~5 KiB).
constexpr size_t kMaxEnvelope = 256 * 1024;

Result<Bytes> B64Field(const json& j, const char* field, size_t max_bytes) {
  if (!j.is_object() || !j.contains(field) || !j[field].is_string()) {
    return Status::InvalidArgument(std::string("key release: missing string field '") + field + "'");
  }
  const std::string& text = j[field].get_ref<const std::string&>();
  if (text.size() > (max_bytes / 3 + 1) * 4) {
    return Status::InvalidArgument(std::string("key release: field '") + field + "' is too large");
  }
  auto decoded = Base64Decode(text);
  if (!decoded.ok()) return Status::InvalidArgument(std::string("key release: field '") + field + "' is not base64");
  return decoded;
}

class ReleasedSealingPlatform : public Platform {
 public:
  ReleasedSealingPlatform(std::unique_ptr<Platform> inner, SecretBytes root)
      : inner_(std::move(inner)), root_(std::move(root)) {}
  std::string_view name() const override { return inner_->name(); }
  bool is_simulation() const override { return inner_->is_simulation(); }
  Bytes measurement() const override { return inner_->measurement(); }
  std::string Describe() const override { return inner_->Describe() + "; sealing keys from attested key release"; }
  Result<Evidence> GetEvidence(const ReportData& report_data) override { return inner_->GetEvidence(report_data); }
  Result<SecretBytes> SealingKey(std::string_view purpose) override {
    return HkdfSha256(root_.span(), AsBytes(std::string_view(kSealingSalt)), AsBytes(purpose), 32);
  }
  Bytes Endorsements() const override { return inner_->Endorsements(); }

 private:
  std::unique_ptr<Platform> inner_;
  SecretBytes root_;
};

// Creates `dir` with 0700, or checks that an existing one is not readable by
// others (it holds the root key every box's sealed models depend on).
Status EnsurePrivateDir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) == 0) {
    if (::chmod(dir.c_str(), 0700) != 0) return Status::Internal("cannot chmod " + dir + ": " + std::strerror(errno));
    return Status::Ok();
  }
  if (errno != EEXIST) return Status::Internal("cannot create " + dir + ": " + std::strerror(errno));
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return Status::InvalidArgument(dir + " is not a directory");
  if ((st.st_mode & 0077) != 0) {
    return Status::FailedPrecondition("key broker state directory " + dir +
                                      " is accessible to other users; chmod 700 it");
  }
  return Status::Ok();
}

}  // namespace

ReportData ReportDataForKeyRelease(ByteSpan hpke_public_key) {
  ReportData rd{};
  const Sha256Digest key_hash = Sha256(hpke_public_key);
  const Sha256Digest domain = Sha256(AsBytes(std::string_view(kReleaseDomain)));
  std::copy(key_hash.begin(), key_hash.end(), rd.begin());
  std::copy(domain.begin(), domain.end(), rd.begin() + 32);
  return rd;
}

std::string KeyReleaseStatement(ByteSpan hpke_public_key, ByteSpan evidence_envelope, ByteSpan enc,
                                ByteSpan ciphertext) {
  return std::string(kReleaseDomain) + "\npublic_key_sha256=" + HexEncode(Sha256(hpke_public_key)) +
         "\nevidence_sha256=" + HexEncode(Sha256(evidence_envelope)) + "\nenc=" + HexEncode(enc) +
         "\nciphertext_sha256=" + HexEncode(Sha256(ciphertext)) + "\n";
}

json KeyReleaseRequest::ToJson() const {
  return json{{"version", 1}, {"public_key", Base64Encode(key.public_key)}, {"evidence", Base64Encode(evidence_envelope)}};
}

Result<KeyReleaseRequest> BeginKeyRelease(Platform& platform) {
  KeyReleaseRequest request;
  CITADEL_ASSIGN_OR_RETURN(request.key, HpkeGenerateKeyPair(kHpkeDefaultSuite));
  CITADEL_ASSIGN_OR_RETURN(Evidence evidence, platform.GetEvidence(ReportDataForKeyRelease(request.key.public_key)));
  request.evidence_envelope = EncodeEvidenceEnvelope(evidence);
  return request;
}

Result<SecretBytes> FinishKeyRelease(const KeyReleaseRequest& request, const json& answer, ByteSpan broker_spki_der) {
  if (!answer.is_object()) return Status::InvalidArgument("key release: the broker's answer is not a JSON object");
  if (answer.contains("error")) {
    const std::string message = answer["error"].is_string() ? answer["error"].get<std::string>() : "?";
    const std::string code = answer.contains("code") && answer["code"].is_string() ? answer["code"].get<std::string>() : "";
    return StatusFromErrorBody(code == "policy_rejected" ? 403 : 400, answer.dump())
        .WithContext("the key broker refused to release the key");
  }
  CITADEL_ASSIGN_OR_RETURN(Bytes enc, B64Field(answer, "enc", 1024));
  CITADEL_ASSIGN_OR_RETURN(Bytes ciphertext, B64Field(answer, "ciphertext", 1024));
  CITADEL_ASSIGN_OR_RETURN(Bytes signature, B64Field(answer, "signature", 1024));
  auto broker_key = ParsePublicKeySpkiDer(broker_spki_der);
  if (!broker_key.ok()) return Status::InvalidArgument("key release: the pinned broker key is not a public key");
  const std::string statement = KeyReleaseStatement(request.key.public_key, request.evidence_envelope, enc, ciphertext);
  if (!VerifyDigestMessage(broker_key->get(), "SHA256", AsBytes(statement), signature).ok()) {
    return Status::AttestationFailed(
        "key release: the answer is not signed by the pinned broker key (another broker, or altered in transit)");
  }
  auto root = HpkeOpenBase(kHpkeDefaultSuite, request.key.private_key.span(), enc,
                           AsBytes(std::string_view(kReleaseDomain)), request.evidence_envelope, ciphertext);
  if (!root.ok()) return Status::DataLoss("key release: the released key does not open with this request's key");
  if (root->size() != kRootKeySize) return Status::DataLoss("key release: the released key has the wrong size");
  return root;
}

std::unique_ptr<Platform> WithReleasedSealingRoot(std::unique_ptr<Platform> inner, SecretBytes root) {
  return std::make_unique<ReleasedSealingPlatform>(std::move(inner), std::move(root));
}

Result<std::unique_ptr<KeyBroker>> KeyBroker::Open(const std::string& state_dir) {
  CITADEL_RETURN_IF_ERROR(EnsurePrivateDir(state_dir));
  std::unique_ptr<KeyBroker> broker(new KeyBroker());
  const std::string key_path = state_dir + "/broker-signing-key.p8";
  const std::string root_path = state_dir + "/released-root.key";
  auto key_der = ReadFileBytes(key_path, 64 * 1024);
  if (!key_der.ok() && key_der.status().code() != Code::kNotFound) return key_der.status();
  if (key_der.ok()) {
    SecretBytes der(*key_der);
    SecureZero(key_der->data(), key_der->size());
    CITADEL_ASSIGN_OR_RETURN(broker->signing_key_, ParsePrivateKeyPkcs8Der(der.span()));
  } else {
    CITADEL_ASSIGN_OR_RETURN(broker->signing_key_, GenerateEcKey(Curve::kP256));
    CITADEL_ASSIGN_OR_RETURN(SecretBytes der, PrivateKeyPkcs8Der(broker->signing_key_.get()));
    CITADEL_RETURN_IF_ERROR(WriteFileAtomic(key_path, der.span(), 0600));
  }
  CITADEL_ASSIGN_OR_RETURN(broker->public_spki_, PublicKeySpkiDer(broker->signing_key_.get()));
  auto root = ReadFileBytes(root_path, 1024);
  if (!root.ok() && root.status().code() != Code::kNotFound) return root.status();
  if (root.ok()) {
    if (root->size() != kRootKeySize) return Status::DataLoss(root_path + " is not a 32-byte key");
    broker->root_ = SecretBytes(*root);
    SecureZero(root->data(), root->size());
  } else {
    broker->root_ = SecretBytes(kRootKeySize);
    CITADEL_RETURN_IF_ERROR(RandomBytes({broker->root_.data(), broker->root_.size()}));
    CITADEL_RETURN_IF_ERROR(WriteFileAtomic(root_path, broker->root_.span(), 0600));
  }
  return broker;
}

Result<json> KeyBroker::Release(const json& request, const Policy& policy, const VerifyOptions& options) const {
  if (!request.is_object()) return Status::InvalidArgument("key release: the request is not a JSON object");
  if (!request.contains("version") || !request["version"].is_number_integer() || request["version"].get<int64_t>() != 1) {
    return Status::InvalidArgument("key release: unsupported request version (expected 1)");
  }
  CITADEL_ASSIGN_OR_RETURN(Bytes public_key, B64Field(request, "public_key", 1024));
  CITADEL_ASSIGN_OR_RETURN(Bytes envelope, B64Field(request, "evidence", kMaxEnvelope));
  if (!HpkeValidatePublicKey(kHpkeDefaultSuite, public_key).ok()) {
    return Status::InvalidArgument("key release: 'public_key' is not a P-256 HPKE public key");
  }
  CITADEL_ASSIGN_OR_RETURN(Evidence evidence, DecodeEvidenceEnvelope(envelope));
  CITADEL_ASSIGN_OR_RETURN(VerifiedEvidence verified, VerifyEvidence(evidence, options));
  if (!ConstantTimeEquals(ReportDataForKeyRelease(public_key), verified.report_data)) {
    return Status::AttestationFailed("key release: the evidence does not bind the request's public key "
                                     "(evidence copied from another request?)");
  }
  CITADEL_RETURN_IF_ERROR(ApplyPolicy(&verified, policy, options));
  CITADEL_ASSIGN_OR_RETURN(HpkeSealed sealed, HpkeSealBase(kHpkeDefaultSuite, public_key,
                                                           AsBytes(std::string_view(kReleaseDomain)), envelope,
                                                           root_.span()));
  const std::string statement = KeyReleaseStatement(public_key, envelope, sealed.enc, sealed.ciphertext);
  CITADEL_ASSIGN_OR_RETURN(Bytes signature, SignDigestMessage(signing_key_.get(), "SHA256", AsBytes(statement)));
  return json{{"version", 1},
              {"enc", Base64Encode(sealed.enc)},
              {"ciphertext", Base64Encode(sealed.ciphertext)},
              {"signature", Base64Encode(signature)},
              {"measurement", HexEncode(verified.measurement)},
              {"kind", std::string(EvidenceKindName(verified.kind))}};
}

}  // namespace citadel
