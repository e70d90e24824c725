// VerifyEvidence: dispatch by evidence kind to the platform verifiers, with
// collateral from VerifyOptions::collateral and the trust anchors from
// VerifyOptions::trust_anchors or the built-in vendor roots.

#include <openssl/x509.h>

#include "attest_util.h"
#include "builtin_roots.h"
#include "citadel/attest.h"
#include "citadel/attest/collateral.h"
#include "citadel/attest/intel_quote.h"
#include "citadel/attest/nvidia.h"
#include "citadel/attest/snp.h"
#include "intel_internal.h"
#include "sim_evidence.h"

namespace citadel {
namespace {

using attest_internal::Fail;

// Trust anchors for `vendor` ("intel", "amd", "nvidia").
std::vector<Bytes> Anchors(const VerifyOptions& options, std::string_view vendor) {
  if (!options.trust_anchors.empty()) return options.trust_anchors;
  std::vector<Bytes> out;
  for (const auto& c : attest_internal::BuiltinCerts()) {
    if (c.trust_anchor && c.vendor == vendor) out.emplace_back(AsBytes(c.pem).begin(), AsBytes(c.pem).end());
  }
  return out;
}

std::string CheckName(const Status& st) {
  const std::string& m = st.message();
  return m.substr(0, m.find(':'));
}

Result<VerifiedEvidence> VerifyIntel(const Evidence& evidence, const VerifyOptions& options) {
  Bytes bytes = intel::DecodeQuoteInput(evidence.bytes);
  auto quote = intel::ParseQuote(bytes);
  if (!quote.ok()) return Fail("intel.parse", quote.status().message());
  if (quote->is_tdx() != (evidence.kind == EvidenceKind::kTdx)) {
    return Fail("evidence.kind", std::string("the evidence is labelled ") +
                                     std::string(EvidenceKindName(evidence.kind)) + " but the quote is " +
                                     (quote->is_tdx() ? "a TDX quote" : "an SGX quote"));
  }
  intel::IntelCollateral collateral;
  if (options.collateral != nullptr) {
    // The FMSPC picks the TCB Info when the bundle holds several platforms'.
    std::string fmspc;
    if (quote->cert_type == intel::kCertTypePckChain) {
      auto certs = attest_internal::ParseCertificates(quote->cert_data);
      if (certs.ok()) {
        for (auto& c : *certs) {
          if (attest_internal::SubjectCommonName(c.get()) != "Intel SGX PCK Certificate") continue;
          auto f = intel::internal::PckFmspcHex(c.get());
          if (f.ok()) fmspc = *f;
        }
      }
    }
    CITADEL_ASSIGN_OR_RETURN(collateral, options.collateral->IntelFor(*quote, fmspc, options.now));
  }
  collateral.trusted_roots = Anchors(options, "intel");
  auto out = intel::VerifyIntelQuote(bytes, collateral, options);
  if (out.ok()) out->kind = evidence.kind;
  return out;
}

// One DER certificate as a PEM block (SnpCollateral::chain takes PEM lists).
Bytes DerToPem(ByteSpan der) {
  std::string b64 = Base64Encode(der);
  std::string pem = "-----BEGIN CERTIFICATE-----\n";
  for (size_t i = 0; i < b64.size(); i += 64) pem += b64.substr(i, 64) + "\n";
  pem += "-----END CERTIFICATE-----\n";
  return Bytes(pem.begin(), pem.end());
}

Result<VerifiedEvidence> VerifySnp(const Evidence& evidence, const VerifyOptions& options) {
  auto bytes = snp::DecodeSnpReportInput(evidence.bytes);
  if (!bytes.ok()) return Fail("snp.parse", bytes.status().message());
  snp::SnpCollateral collateral;
  collateral.trusted_arks = Anchors(options, "amd");
  std::vector<Bytes> veks;
  if (options.collateral != nullptr) {
    veks = options.collateral->SnpVeks();
    collateral.chain = options.collateral->SnpChains();
    collateral.crls = options.collateral->SnpCrls();
  }
  // The caller's VEKs win; without any, the certificate table the host
  // handed out with the report (extended report) supplies the VCEK/VLEK and
  // its ASK/ARK. Those are untrusted like any collateral: the chain must
  // still end in a trusted ARK.
  std::string vek_source = "collateral";
  if (veks.empty() && !evidence.endorsements.empty()) {
    auto table = snp::ParseSnpCertTable(evidence.endorsements);
    if (!table.ok()) return Fail("snp.cert_table", table.status().message());
    if (!table->vcek.empty()) veks.push_back(table->vcek);
    if (!table->vlek.empty()) veks.push_back(table->vlek);
    for (const Bytes* c : {&table->ask, &table->ark}) {
      if (c->empty()) continue;
      Bytes pem = DerToPem(*c);
      collateral.chain.insert(collateral.chain.end(), pem.begin(), pem.end());
    }
    if (veks.empty()) {
      return Fail("snp.vek_missing",
                  "no collateral for SEV-SNP: the evidence's certificate table holds no VCEK/VLEK and none was "
                  "given (pass --collateral or --vek with the VCEK/VLEK)");
    }
    vek_source = "evidence certificate table";
  }
  if (options.trust_anchors.empty()) {
    // The public AMD ASK/ASVK certificates, after any supplied ones.
    for (const auto& c : attest_internal::BuiltinCerts()) {
      if (c.vendor != "amd-intermediate") continue;
      ByteSpan pem = AsBytes(c.pem);
      collateral.chain.insert(collateral.chain.end(), pem.begin(), pem.end());
      collateral.chain.push_back('\n');
    }
  }
  if (veks.empty()) {
    return Fail("snp.vek_missing",
                "no collateral for SEV-SNP: no VCEK/VLEK certificate was given and the evidence carries no "
                "certificate table (pass --collateral or --vek with the VCEK/VLEK)");
  }
  // Several VEKs (e.g. a bundle for several machines): the one that verifies
  // wins; otherwise report the failure that is not just "wrong VEK".
  std::optional<Status> first, specific;
  for (const Bytes& vek : veks) {
    collateral.vek = vek;
    auto r = snp::VerifySnpReport(*bytes, collateral, options);
    if (r.ok()) {
      r->claims["snp.vek_source"] = vek_source;
      return r;
    }
    if (!first) first = r.status();
    std::string check = CheckName(r.status());
    bool wrong_vek = check == "snp.report_signature" || check == "snp.chip_id" || check == "snp.reported_tcb" ||
                     check == "snp.vek_kind" || check == "snp.product";
    if (!wrong_vek && !specific) specific = r.status();
  }
  return veks.size() > 1 && specific ? *specific : *first;
}

Result<VerifiedEvidence> VerifyNvidia(const Evidence& evidence, const VerifyOptions& options) {
  Bytes embedded_chain;
  auto report = nvidia::DecodeGpuReportInput(evidence.bytes, &embedded_chain);
  if (!report.ok()) return Fail("nvidia.parse", report.status().message());
  std::vector<Bytes> chains;
  if (!embedded_chain.empty()) chains.push_back(embedded_chain);
  // The chain the platform handed out with the report (NVML's attestation
  // certificate chain): untrusted like the rest, it must end in a trusted root.
  if (!evidence.endorsements.empty()) chains.push_back(evidence.endorsements);
  if (options.collateral != nullptr) {
    for (auto& c : options.collateral->NvidiaChains()) chains.push_back(std::move(c));
  }
  const std::vector<Bytes> anchors = Anchors(options, "nvidia");
  if (chains.empty()) return nvidia::VerifyGpuReport(*report, {}, anchors, options);
  std::optional<Status> first;
  for (const Bytes& chain : chains) {
    auto r = nvidia::VerifyGpuReport(*report, chain, anchors, options);
    if (r.ok()) return r;
    if (!first) first = r.status();
  }
  return *first;
}

Result<VerifiedEvidence> VerifyOne(const Evidence& evidence, const VerifyOptions& options);

// Composite evidence: every attached GPU report must verify and must have
// been taken over the nonce derived from the CPU evidence's report_data.
Status VerifyDevices(const Evidence& evidence, const VerifyOptions& options, VerifiedEvidence* out) {
  if (evidence.devices.empty()) return Status::Ok();
  if (evidence.kind == EvidenceKind::kNvidiaGpu) {
    return Fail("evidence.devices", "GPU evidence cannot carry devices of its own");
  }
  const auto nonce = DeviceNonceForReportData(out->report_data);
  VerifyOptions device_options = options;
  device_options.expected_nonce.assign(nonce.begin(), nonce.end());
  for (size_t i = 0; i < evidence.devices.size(); ++i) {
    const Evidence& device = evidence.devices[i];
    const std::string which = "GPU " + std::to_string(i);
    if (device.kind != EvidenceKind::kNvidiaGpu) {
      return Fail("evidence.devices", which + " is " + std::string(EvidenceKindName(device.kind)) +
                                          " evidence; only NVIDIA GPU evidence can be attached");
    }
    if (!device.devices.empty()) return Fail("evidence.devices", which + " carries devices of its own");
    auto verified = VerifyOne(device, device_options);
    if (!verified.ok()) {
      const std::string& m = verified.status().message();
      const size_t colon = m.find(": ");
      if (colon == std::string::npos) return Fail("evidence.devices", which + ": " + m);
      return Status(verified.status().code(), m.substr(0, colon) + ": " + which + ": " + m.substr(colon + 2));
    }
    out->devices.push_back(std::move(verified).value());
  }
  out->claims["devices"] = std::to_string(out->devices.size());
  return Status::Ok();
}

Result<VerifiedEvidence> VerifyOne(const Evidence& evidence, const VerifyOptions& options) {
  switch (evidence.kind) {
    case EvidenceKind::kSim:
      return attest_internal::VerifySimEvidence(evidence.bytes, options);
    case EvidenceKind::kSgxDcap:
    case EvidenceKind::kTdx:
      return VerifyIntel(evidence, options);
    case EvidenceKind::kSevSnp:
      return VerifySnp(evidence, options);
    case EvidenceKind::kNvidiaGpu:
      return VerifyNvidia(evidence, options);
  }
  return Status::AttestationFailed("unknown evidence kind " +
                                   std::to_string(static_cast<int>(evidence.kind)));
}

}  // namespace

Result<VerifiedEvidence> VerifyEvidence(const Evidence& evidence, const VerifyOptions& options) {
  CITADEL_ASSIGN_OR_RETURN(VerifiedEvidence out, VerifyOne(evidence, options));
  CITADEL_RETURN_IF_ERROR(VerifyDevices(evidence, options, &out));
  return out;
}

}  // namespace citadel
