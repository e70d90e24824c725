// Box-bound model packages: how a model owner ships a model to an offline
// box (USB key, any medium) so that only that box's TEE, running the
// expected code, can open it.
//
// The box has an HPKE key pair derived from its platform sealing key
// (SealingKey("package-key/v1")), so it is bound to the hardware and the
// measurement and is stable across restarts. Its *box identity* is that
// public key plus evidence whose report_data = ReportDataForPackageKey(pk).
// The owner verifies the identity against a policy, then seals the model to
// the key (RFC 9180 base mode, suite kHpkeDefaultSuite) together with the
// owner's signed upload statement.
//
// Package file: "CTDLPKG1" | u32 LE header length | header JSON |
//   HPKE ciphertext of the ONNX bytes, info = "citadel/model-package/v1",
//   aad = the header bytes (so no header field can be changed).
#ifndef CITADEL_PACKAGE_H_
#define CITADEL_PACKAGE_H_

#include <nlohmann/json.hpp>

#include <string>

#include "citadel/attest.h"
#include "citadel/bytes.h"
#include "citadel/hpke.h"
#include "citadel/owner_key.h"
#include "citadel/status.h"
#include "citadel/tee.h"

namespace citadel {

struct BoxIdentity {
  Bytes public_key;          // HPKE public key (65-byte P-256 point)
  Bytes evidence_envelope;   // EncodeEvidenceEnvelope(evidence over the key)
};

// {"version": 1, "kind": "citadel-box-identity", "hpke_suite": "...",
//  "public_key": b64, "evidence": b64}
nlohmann::json BoxIdentityToJson(const BoxIdentity& box);
Result<BoxIdentity> BoxIdentityFromJson(const nlohmann::json& j);

// The box's key pair and identity (server side, inside the TEE).
Result<HpkeKeyPair> DerivePackageKey(Platform& platform);
Result<BoxIdentity> MakeBoxIdentity(Platform& platform, const HpkeKeyPair& key);

// Evidence authentic, bound to the key, accepted by the policy.
Result<VerifiedEvidence> VerifyBoxIdentity(const BoxIdentity& box, const Policy& policy,
                                           const VerifyOptions& options = {});

struct PackageHeader {
  std::string name;
  int64_t version = 0;
  std::string model_sha256;    // hex
  std::string signer;          // owner key id (hex SHA-256 of SPKI)
  int64_t signed_at = 0;
  std::string signature;       // base64 owner signature over UploadStatement(...)
  std::string box_key_sha256;  // hex SHA-256 of the box public key
};

// Verifies the box identity against `policy` with `options` (collateral,
// trust anchors and the instant, as for `citadel verify`: hardware boxes
// need their collateral), signs the upload statement with `owner`, and seals
// the model to the box.
Result<Bytes> BuildPackage(const BoxIdentity& box, const Policy& policy, const OwnerKey& owner,
                           const std::string& name, int64_t version, ByteSpan onnx,
                           const VerifyOptions& options = {});

struct OpenedPackage {
  PackageHeader header;
  SecretBytes onnx;
};

// Opens a package with the box's key. Fails with FailedPrecondition when it
// was made for another box (or other code), DataLoss when it was altered.
// The owner signature is NOT checked here: the server checks it against its
// configured owners, exactly like a direct upload.
Result<OpenedPackage> OpenPackage(ByteSpan package, const HpkeKeyPair& box_key);

}  // namespace citadel

#endif  // CITADEL_PACKAGE_H_
