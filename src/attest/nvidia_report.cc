// NVIDIA H100 SPDM GET_MEASUREMENTS report: parser and verifier. See
// include/citadel/attest/nvidia.h. Layout: DMTF DSP0274 (SPDM 1.1)
// GET_MEASUREMENTS / MEASUREMENTS; the opaque-data TLVs and the FWID
// extension are NVIDIA's (summarised in docs/attestation.md).
#include "citadel/attest/nvidia.h"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "attest_util.h"
#include "citadel/attest/collateral.h"
#include "ocsp.h"
#include "citadel/byte_reader.h"
#include "citadel/crypto.h"

namespace citadel::nvidia {
namespace {

using attest_internal::Fail;
using attest_internal::Hex;

Status Malformed(const std::string& what) { return Status::InvalidArgument("nvidia report: " + what); }

bool ReadU24Le(ByteReader& r, uint32_t* out) {
  uint8_t b[3];
  if (!r.CopyBytes(b)) return false;
  *out = b[0] | (uint32_t{b[1]} << 8) | (uint32_t{b[2]} << 16);
  return true;
}

// ---- minimal DER walking for the FWID extension -------------------------------

bool ReadTlv(ByteReader& r, uint8_t* tag, ByteReader* content) {
  uint8_t len0 = 0;
  if (!r.ReadU8(tag) || !r.ReadU8(&len0)) return false;
  size_t len = len0;
  if (len0 == 0x81) {
    uint8_t l = 0;
    if (!r.ReadU8(&l) || l < 0x80) return false;
    len = l;
  } else if (len0 == 0x82) {
    uint16_t l = 0;
    if (!r.ReadU16Be(&l) || l < 0x100) return false;
    len = l;
  } else if (len0 >= 0x80) {
    return false;
  }
  return r.ReadSub(len, content);
}

// DER of OID 2.16.840.1.101.3.4.2.2 (SHA-384).
constexpr uint8_t kSha384Oid[] = {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02};

// Collects every SEQUENCE { OID sha384, OCTET STRING (48) } inside `r`.
bool CollectFwids(ByteReader r, int depth, std::set<Bytes>* out) {
  if (depth > 8) return false;
  while (!r.empty()) {
    uint8_t tag = 0;
    ByteReader content;
    if (!ReadTlv(r, &tag, &content)) return false;
    if (tag == 0x30) {
      ByteReader probe = content;
      uint8_t t1 = 0, t2 = 0;
      ByteReader oid, digest;
      if (ReadTlv(probe, &t1, &oid) && t1 == 0x06 && ReadTlv(probe, &t2, &digest) && t2 == 0x04 &&
          probe.empty() && oid.remaining() == sizeof(kSha384Oid) &&
          std::equal(oid.rest().begin(), oid.rest().end(), std::begin(kSha384Oid)) && digest.remaining() == 48) {
        out->insert(Bytes(digest.rest().begin(), digest.rest().end()));
        continue;
      }
    }
    if (tag & 0x20) {  // constructed: descend
      if (!CollectFwids(content, depth + 1, out)) return false;
    }
  }
  return true;
}

Result<Bytes> LeafFwid(X509* leaf) {
  auto ext = attest_internal::ExtensionValue(leaf, "2.23.133.5.4.1");
  if (!ext.ok()) return Fail("nvidia.fwid", ext.status().message());
  if (!ext->has_value()) return Fail("nvidia.fwid", "the leaf certificate has no FWID extension (2.23.133.5.4.1)");
  std::set<Bytes> fwids;
  if (!CollectFwids(ByteReader(**ext), 0, &fwids)) return Fail("nvidia.fwid", "the FWID extension is malformed");
  if (fwids.size() != 1) {
    return Fail("nvidia.fwid", "the FWID extension holds " + std::to_string(fwids.size()) +
                                   " SHA-384 FWIDs (expected one)");
  }
  return *fwids.begin();
}

std::string Printable(ByteSpan b) {
  std::string s;
  for (uint8_t c : b) {
    if (c == 0) break;
    s += (c >= 0x20 && c < 0x7F) ? static_cast<char>(c) : '?';
  }
  return s;
}

}  // namespace

Result<GpuReport> ParseGpuReport(ByteSpan bytes) {
  ByteReader r(bytes);
  GpuReport out;
  uint8_t version = 0, code = 0;
  // Request.
  if (!r.ReadU8(&version) || !r.ReadU8(&code) || !r.ReadU8(&out.request_param1) ||
      !r.ReadU8(&out.request_param2) || !r.CopyBytes(out.request_nonce) || !r.ReadU8(&out.slot_id)) {
    return Malformed("truncated GET_MEASUREMENTS request");
  }
  if (version != kSpdmVersion11) return Malformed("unsupported SPDM version in the request");
  if (code != kGetMeasurements) return Malformed("the request is not GET_MEASUREMENTS");
  if ((out.request_param1 & 0x01) == 0) return Malformed("the request did not ask for a signature");
  // Response.
  uint8_t nblocks = 0;
  uint32_t record_len = 0;
  if (!r.ReadU8(&version) || !r.ReadU8(&code) || !r.ReadU8(&out.response_param1) ||
      !r.ReadU8(&out.response_param2) || !r.ReadU8(&nblocks) || !ReadU24Le(r, &record_len)) {
    return Malformed("truncated MEASUREMENTS response header");
  }
  if (version != kSpdmVersion11) return Malformed("unsupported SPDM version in the response");
  if (code != kMeasurementsResponse) return Malformed("the response is not MEASUREMENTS");
  ByteReader record;
  if (!r.ReadSub(record_len, &record)) return Malformed("measurement record exceeds the report");
  out.measurement_record.assign(record.rest().begin(), record.rest().end());
  std::set<uint8_t> seen;
  while (!record.empty()) {
    MeasurementBlock b;
    uint16_t size = 0, value_size = 0;
    ByteReader body;
    if (!record.ReadU8(&b.index) || !record.ReadU8(&b.spec) || !record.ReadU16Le(&size) ||
        !record.ReadSub(size, &body)) {
      return Malformed("truncated measurement block");
    }
    if ((b.spec & 0x01) == 0) return Malformed("measurement block " + std::to_string(b.index) + " is not DMTF");
    ByteSpan value;
    if (!body.ReadU8(&b.value_type) || !body.ReadU16Le(&value_size) || !body.ReadBytes(value_size, &value) ||
        !body.empty()) {
      return Malformed("measurement block " + std::to_string(b.index) + " has an inconsistent size");
    }
    if (!seen.insert(b.index).second) return Malformed("duplicate measurement block " + std::to_string(b.index));
    b.value.assign(value.begin(), value.end());
    out.blocks.push_back(std::move(b));
  }
  if (out.blocks.size() != nblocks) return Malformed("NumberOfBlocks disagrees with the measurement record");
  uint16_t opaque_len = 0;
  ByteReader opaque;
  if (!r.CopyBytes(out.response_nonce) || !r.ReadU16Le(&opaque_len) || !r.ReadSub(opaque_len, &opaque)) {
    return Malformed("truncated nonce or opaque data");
  }
  while (!opaque.empty()) {
    OpaqueField f;
    uint16_t size = 0;
    ByteSpan v;
    if (!opaque.ReadU16Le(&f.type) || !opaque.ReadU16Le(&size) || !opaque.ReadBytes(size, &v)) {
      return Malformed("malformed opaque data");
    }
    f.value.assign(v.begin(), v.end());
    out.opaque.push_back(std::move(f));
  }
  size_t signed_len = bytes.size() - r.remaining();
  if (!r.CopyBytes(out.signature)) return Malformed("truncated signature");
  out.signed_part.assign(bytes.begin(), bytes.begin() + static_cast<ptrdiff_t>(signed_len));
  out.trailing_bytes = r.remaining();
  return out;
}

Result<Bytes> DecodeGpuReportInput(ByteSpan input, Bytes* chain_out) {
  size_t i = 0;
  while (i < input.size() && (input[i] == ' ' || input[i] == '\n' || input[i] == '\r' || input[i] == '\t')) ++i;
  if (i < input.size() && input[i] == '{') {
    auto j = nlohmann::json::parse(input.begin(), input.end(), nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("evidence") || !j["evidence"].is_string()) {
      return Malformed("JSON evidence needs an \"evidence\" string");
    }
    std::string ev = j["evidence"].get<std::string>();
    Bytes report = attest_internal::DecodeBinaryOrHexText(AsBytes(ev));
    if (report.size() == ev.size()) {  // not hex: base64
      auto b = Base64Decode(ev);
      if (!b.ok()) return Malformed("\"evidence\" is neither hex nor base64");
      report = std::move(b).value();
    }
    if (chain_out != nullptr && j.contains("certificate") && j["certificate"].is_string()) {
      std::string c = j["certificate"].get<std::string>();
      if (c.find("-----BEGIN") != std::string::npos) {
        chain_out->assign(c.begin(), c.end());
      } else {
        auto b = Base64Decode(c);
        if (!b.ok()) return Malformed("\"certificate\" is neither PEM nor base64");
        *chain_out = std::move(b).value();
      }
    }
    return report;
  }
  return attest_internal::DecodeEvidenceText(input);
}

Result<VerifiedEvidence> VerifyGpuReport(ByteSpan report_bytes, ByteSpan chain_bytes,
                                         const std::vector<Bytes>& trusted_roots,
                                         const VerifyOptions& options) {
  auto parsed = ParseGpuReport(report_bytes);
  if (!parsed.ok()) return Fail("nvidia.parse", parsed.status().message());
  const GpuReport& rep = *parsed;
  const time_t now = attest_internal::ToTimeT(options.now);

  // ---- 2. certificate chain ----
  if (trusted_roots.empty()) return Fail("nvidia.trust_anchor", "no trusted NVIDIA root is configured");
  if (chain_bytes.empty()) {
    return Fail("nvidia.chain_missing", "no device certificate chain (add it to the collateral or pass --chain)");
  }
  auto chain = attest_internal::ParseCertificates(chain_bytes);
  if (!chain.ok()) return Fail("nvidia.chain_parse", chain.status().message());
  if (chain->size() > 8) return Fail("nvidia.chain_parse", "the chain has more than 8 certificates");
  std::vector<X509*> certs;
  for (auto& c : *chain) certs.push_back(c.get());
  X509* leaf = certs.front();
  // A device chain has a leaf, intermediates and the root; the walk also
  // refuses a CA as the leaf.
  CITADEL_RETURN_IF_ERROR(attest_internal::WalkChainToRoot(
      certs, trusted_roots, now, {.check_prefix = "nvidia.", .noun = "certificate", .min_length = 3}));

  // ---- 2b. revocation: NVIDIA revokes device certificates through OCSP
  // only; responses fetched earlier travel in the collateral ----
  std::vector<Bytes> ocsp;
  if (options.collateral != nullptr) ocsp = options.collateral->NvidiaOcspResponses();
  CITADEL_ASSIGN_OR_RETURN(std::string ocsp_state, attest_internal::CheckChainOcsp(certs, ocsp, now, "nvidia"));

  // ---- 3. report signature ----
  EVP_PKEY* key = X509_get0_pubkey(leaf);
  char group[64] = {0};
  size_t glen = 0;
  if (key == nullptr || EVP_PKEY_is_a(key, "EC") != 1 ||
      EVP_PKEY_get_group_name(key, group, sizeof group, &glen) != 1 ||
      (std::string(group) != "secp384r1" && std::string(group) != "P-384")) {
    ERR_clear_error();
    return Fail("nvidia.leaf_key", "the leaf key is not EC P-384");
  }
  ByteSpan sig(rep.signature);
  if (!attest_internal::VerifyEcdsaRaw(key, "SHA384", rep.signed_part, sig.first(48), sig.subspan(48))) {
    return Fail("nvidia.report_signature", "the report signature does not verify with the leaf key");
  }

  // ---- 4. FWID binding ----
  CITADEL_ASSIGN_OR_RETURN(Bytes cert_fwid, LeafFwid(leaf));
  const OpaqueField* fwid = nullptr;
  for (const auto& f : rep.opaque) {
    if (f.type != kOpaqueFwid) continue;
    if (fwid != nullptr) return Fail("nvidia.fwid", "the opaque data carries more than one FWID");
    fwid = &f;
  }
  if (fwid == nullptr) return Fail("nvidia.fwid", "the opaque data carries no FWID");
  if (!ConstantTimeEquals(fwid->value, cert_fwid)) {
    return Fail("nvidia.fwid", "the report's FWID is not the leaf certificate's FWID");
  }

  // ---- 5. nonce ----
  if (!options.expected_nonce.empty() && !ConstantTimeEquals(options.expected_nonce, rep.request_nonce)) {
    return Fail("nvidia.nonce", "the report's nonce is not the nonce the verifier asked for");
  }

  VerifiedEvidence out;
  out.kind = EvidenceKind::kNvidiaGpu;
  Sha384Digest m = Sha384(rep.measurement_record);
  out.measurement.assign(m.begin(), m.end());
  std::copy(rep.request_nonce.begin(), rep.request_nonce.end(), out.report_data.begin());
  auto& c = out.claims;
  c["platform"] = "nvidia-gpu";
  c["measurement"] = Hex(out.measurement);
  c["report_data"] = Hex(out.report_data);
  c["nvidia.nonce"] = Hex(rep.request_nonce);
  c["nvidia.nonce_checked"] = options.expected_nonce.empty() ? "false" : "true";
  c["nvidia.fwid"] = Hex(cert_fwid);
  c["nvidia.block_count"] = std::to_string(rep.blocks.size());
  c["nvidia.leaf_subject"] = attest_internal::SubjectCommonName(leaf);
  c["nvidia.ocsp"] = ocsp_state;
  c["nvidia.trailing_bytes"] = std::to_string(rep.trailing_bytes);
  for (const auto& b : rep.blocks) c["nvidia.measurement." + std::to_string(b.index)] = Hex(b.value);
  for (const auto& f : rep.opaque) {
    if (f.type == kOpaqueDriverVersion) c["nvidia.driver_version"] = Printable(f.value);
    if (f.type == kOpaqueVbiosVersion) c["nvidia.vbios_version"] = Hex(f.value);
    c["nvidia.opaque." + std::to_string(f.type)] = Hex(f.value);
  }
  return out;
}

}  // namespace citadel::nvidia
