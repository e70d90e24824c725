// NVIDIA reference measurements (RIMs) in both forms NVIDIA publishes: a
// signed CoRIM (Concise Reference Integrity Manifest, IETF
// draft-ietf-rats-corim, draft-06 form; networking devices) and a SWID tag
// (ISO/IEC 19770-2 XML) signed with XML-DSig (the H100 GPU driver and VBIOS
// RIMs). VerifyRim tells them apart. See docs/attestation.md, "NVIDIA RIMs".
//
// ---- CoRIM ----
//
// Accepted envelope (CBOR, definite lengths only):
//   [#6.500(] [#6.502(] #6.18([ protected: bstr .cbor header-map,
//                               unprotected: header-map,
//                               payload: bstr .cbor #6.501(corim-map),
//                               signature: bstr ]) [)] [)]
//   protected header: 1 alg (ES256 -7, ES384 -35, ES512 -36), 2 crit (only
//   labels this parser understands), 3 content type (application/rim+cbor or
//   application/corim-unsigned+cbor), 4 kid, 8 corim-meta (signer name,
//   signature validity), 33 x5chain (also allowed unprotected); the
//   signature is over Sig_structure ["Signature1", protected, h'', payload].
//   corim-map: 0 id, 1 tags, 2 dependent RIMs, 3 profile, 4 validity,
//   5 entities. Tags #6.506 (CoMID) are read; CoSWID/CoTL tags are counted and
//   skipped (they carry no reference values here).
//   CoMID: 0 language, 1 tag identity, 2 entities, 3 linked tags, 4 triples;
//   only reference triples (key 0) are read: [environment-map,
//   [+ measurement-map]], measurement-map {0: mkey (uint: the SPDM
//   measurement index), 1: {0: version (ignored), 2: digests [[alg, bstr]],
//   4: raw value, 11: name (ignored)}}.
// Everything else that could constrain a measurement (svn, flags, masks,
// non-integer mkeys, unknown keys in these maps) is rejected, naming it: a
// verifier that ignored such a key could accept what the RIM forbids.
// Several measurement-maps (or digests) for one index are alternatives.
//
// Failures: Code::kAttestationFailed, "<check>: <detail>" with the check
// names of docs/attestation.md (nvidia.rim_parse, nvidia.rim_unsigned,
// nvidia.rim_trust_anchor, nvidia.rim_chain_missing, nvidia.rim_chain_parse,
// nvidia.rim_untrusted_root, nvidia.rim_chain_incomplete,
// nvidia.rim_chain_signature, nvidia.rim_chain_validity,
// nvidia.rim_signature, nvidia.rim_validity).
#ifndef CITADEL_ATTEST_NVIDIA_RIM_H_
#define CITADEL_ATTEST_NVIDIA_RIM_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "citadel/attest.h"
#include "citadel/bytes.h"
#include "citadel/status.h"

namespace citadel::nvidia {

// Bounds on untrusted CoRIM input (checked before any allocation).
inline constexpr size_t kMaxRimBytes = 4 << 20;
inline constexpr int kMaxRimDepth = 24;
// Bound on a SWID RIM (NVIDIA's are about 20 KiB).
inline constexpr size_t kMaxSwidBytes = 1 << 20;

struct Rim {
  std::string format = "corim";  // "corim" or "swid"
  std::string id;       // corim-id (text, or hex of a UUID); SWID tagId
  std::string profile;  // corim profile (URI text or dotted OID), "" if none
  std::string vendor, model;  // first reference environment's class, if given;
                              // SWID: Meta FirmwareManufacturer / product
  std::string version;        // SWID Meta colloquialVersion ("" for CoRIM)
  // Signature envelope.
  int64_t alg = 0;
  std::vector<Bytes> x5chain;  // DER, leaf first
  Bytes to_be_signed;          // Sig_structure bytes
  Bytes signature;             // raw r||s
  std::string signer_name;     // corim-meta signer name, "" if none
  // Validity windows (seconds since the epoch), from the corim-map's
  // validity (4) and the corim-meta signature validity.
  std::optional<int64_t> not_before, not_after;
  // Reference values: SPDM measurement index -> accepted values (SHA-384
  // digests, or other digests / raw values as given; compared by exact bytes).
  std::map<uint32_t, std::vector<Bytes>> references;
  size_t skipped_tags = 0;  // CoSWID / CoTL tags skipped
  size_t inactive = 0;      // SWID resources with active="False" (not references)
};

// Parses the structure (no signature or chain checks). Also accepts hex or
// base64 text of the CBOR and NVIDIA RIM-service JSON {"rim": "<base64>"}.
// Fails with nvidia.rim_parse (nvidia.rim_unsigned for a bare #6.501 CoRIM).
Result<Rim> ParseCorim(ByteSpan input);

// ParseCorim, then: the x5chain (leaf first; or `signer_chain`) chains to one of
// `trusted_roots` (compared by public key, or the top issued by one),
// every certificate valid at `now`, CA flags on issuers; the COSE
// signature verifies with the leaf key (alg matching the curve); `now` is
// inside the RIM's validity windows.
// `signer_chain` (PEM/DER certificates, signer first) is used only when the
// RIM carries no x5chain.
Result<Rim> VerifyCorim(ByteSpan input, const std::vector<Bytes>& trusted_roots,
                        std::chrono::system_clock::time_point now, ByteSpan signer_chain = {});

// ---- SWID (XML-DSig) ----
//
// A SWID RIM as NVIDIA's RIM service serves it:
//   <SoftwareIdentity xmlns="http://standards.iso.org/iso/19770/-2/2015/schema.xsd" tagId=...>
//     <Entity .../> <Link .../>         (any number, ignored)
//     <Meta colloquialVersion=... product=... ns1:FirmwareManufacturer=.../>
//     <Payload>
//       <Resource type="Measurement" index="N" active="True|False"
//                 alternatives="K" size="48" name="..."
//                 h:Hash0="hex" ... h:Hash{K-1}="hex"/>   h = ...xmlenc#sha384
//     </Payload>
//     <ds:Signature> enveloped XML-DSig </ds:Signature>
//   </SoftwareIdentity>
// Only what the signature covers is read: exactly one ds:Signature in the
// document, a child of the root, holding SignedInfo (C14N 1.0/1.1 or
// exclusive C14N, ECDSA-SHA384, one Reference with URI="" whose transforms
// are enveloped-signature then at most one C14N, SHA-384 digest),
// SignatureValue and KeyInfo/X509Data/X509Certificate (signer first);
// nothing else inside it. Every reference value is read from the root's
// one Payload, which URI="" covers. Unknown elements of SoftwareIdentity and
// Payload, and unknown attributes or children of Resource, are refused,
// naming them (an ignored constraint could accept what the RIM forbids).
// Resources with active="False" are not reference values (NVIDIA's driver
// and VBIOS RIMs each list all indices and mark the other's inactive). The
// XML (at most kMaxSwidBytes) is parsed without DTDs (a DOCTYPE is refused),
// entity substitution or network access.
//
// Failures: nvidia.rim_parse (XML or SWID structure), nvidia.rim_signature
// (a signature form outside the above, or one that does not verify),
// nvidia.rim_chain_missing and the chain checks of VerifyCorim.

// Parses the structure (no signature or chain checks).
Result<Rim> ParseSwidRim(ByteSpan xml);

// ParseSwidRim, then: the KeyInfo certificates (or `signer_chain` when the
// RIM has none) chain to one of `trusted_roots` at `now` (the shared chain
// walk of VerifyCorim), the signer key is EC P-384, and xmlsec (with no keys
// manager, hence no trusted certificates of its own, and only the transforms
// above enabled) verifies the signature with that key.
Result<Rim> VerifySwidRim(ByteSpan xml, const std::vector<Bytes>& trusted_roots,
                          std::chrono::system_clock::time_point now, ByteSpan signer_chain = {});

// Either form: XML (after optional whitespace, or inside a RIM-service JSON
// {"rim": "<base64>"}) goes to VerifySwidRim, anything else to VerifyCorim.
Result<Rim> VerifyRim(ByteSpan input, const std::vector<Bytes>& trusted_roots,
                      std::chrono::system_clock::time_point now, ByteSpan signer_chain = {});

// Initialises libxml2 and xmlsec with its OpenSSL backend once (thread-safe;
// VerifySwidRim calls it). For programs that also call xmlsec themselves.
Status InitXmlSec();

// For verified GPU evidence and a policy naming RIMs: VerifyRim on each of
// policy.rims with options.trust_anchors (or, when empty, the built-in NVIDIA
// CoRIM signing root) at options.now, then records in evidence->claims:
// nvidia.rim = "verified", nvidia.rim.count, nvidia.rim.<n>.{file,id,signer,
// profile,class,not_after,references,format,version},
// nvidia.rim.reference.<index> (comma-separated hex). The same index in two RIMs is nvidia.rim_conflict. The first failure is
// returned with the RIM's path in its detail.
Status ApplyPolicyRims(const NvidiaPolicy& policy, const VerifyOptions& options, VerifiedEvidence* evidence);

// Compares GPU report measurements (claims "nvidia.measurement.<index>" ->
// hex, as VerifyGpuReport gives them) with reference values (claims
// "nvidia.rim.reference.<index>" -> comma-separated hex alternatives, as
// AppraiseEvidence records them). Returns every failure as
// "<check>: <detail>":
//   policy.nvidia.rim_missing      an active (non-zero) report measurement
//                                  that no RIM lists;
//   policy.nvidia.rim_measurement  a listed index whose value matches none of
//                                  the alternatives, or that the report lacks.
std::vector<std::string> CompareWithRimReferences(const std::map<std::string, std::string>& claims);

}  // namespace citadel::nvidia

#endif  // CITADEL_ATTEST_NVIDIA_RIM_H_
