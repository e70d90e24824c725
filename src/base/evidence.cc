// Evidence kinds and the report_data convention (include/citadel/evidence.h,
// docs/protocol.md).

#include "citadel/evidence.h"

#include <algorithm>

#include "citadel/byte_reader.h"
#include "citadel/crypto.h"

namespace citadel {
namespace {

constexpr std::string_view kCertDomain = "citadel/tls-cert/v1";
constexpr std::string_view kNonceDomain = "citadel/nonce/v1";
constexpr std::string_view kSimMagic = "CTDLSIM1";

ReportData Compose(ByteSpan tls_spki_der, const Sha256Digest& purpose) {
  ReportData rd{};
  Sha256Digest key_hash = Sha256(tls_spki_der);
  std::copy(key_hash.begin(), key_hash.end(), rd.begin());
  std::copy(purpose.begin(), purpose.end(), rd.begin() + 32);
  return rd;
}

}  // namespace

std::string_view EvidenceKindName(EvidenceKind kind) {
  switch (kind) {
    case EvidenceKind::kSim: return "sim";
    case EvidenceKind::kSgxDcap: return "sgx";
    case EvidenceKind::kTdx: return "tdx";
    case EvidenceKind::kSevSnp: return "snp";
    case EvidenceKind::kNvidiaGpu: return "nvidia";
  }
  return "unknown";
}

std::optional<EvidenceKind> EvidenceKindFromName(std::string_view name) {
  for (EvidenceKind k : {EvidenceKind::kSim, EvidenceKind::kSgxDcap, EvidenceKind::kTdx,
                         EvidenceKind::kSevSnp, EvidenceKind::kNvidiaGpu}) {
    if (EvidenceKindName(k) == name) return k;
  }
  return std::nullopt;
}

ReportData ReportDataForCertificate(ByteSpan tls_spki_der) {
  return Compose(tls_spki_der, Sha256(AsBytes(kCertDomain)));
}

ReportData ReportDataForNonce(ByteSpan tls_spki_der, ByteSpan nonce) {
  Hasher h(Hasher::Algo::kSha256);
  h.Update(AsBytes(kNonceDomain));
  h.Update(nonce);
  Bytes d = h.Finish();
  Sha256Digest purpose{};
  std::copy(d.begin(), d.end(), purpose.begin());
  return Compose(tls_spki_der, purpose);
}

ReportData ReportDataForPackageKey(ByteSpan hpke_public_key) {
  static constexpr char kPackageDomain[] = "citadel/package-key/v1";
  return Compose(hpke_public_key, Sha256(AsBytes(std::string_view(kPackageDomain))));
}

std::array<uint8_t, 32> DeviceNonceForReportData(const ReportData& report_data) {
  static constexpr std::string_view kGpuNonceDomain = "citadel/gpu-nonce/v1";
  Bytes input(kGpuNonceDomain.begin(), kGpuNonceDomain.end());
  input.insert(input.end(), report_data.begin(), report_data.end());
  return Sha256(input);
}

// ---- Simulation evidence codec ----------------------------------------------

Result<Bytes> SimEvidenceSignedPart(const SimEvidenceBody& body) {
  ByteWriter w;
  w.Append(AsBytes(kSimMagic));
  w.U16Le(kSimEvidenceVersion);
  w.U32Le(body.flags);
  w.Append(body.measurement);
  w.Append(body.report_data);
  w.U64Le(body.timestamp);
  if (body.signer_spki_der.empty() || !w.U16LePrefixed(body.signer_spki_der)) {
    return Status::InvalidArgument("sim evidence: signer key missing or too large");
  }
  return w.Take();
}

Result<Bytes> FinishSimEvidence(ByteSpan signed_part, ByteSpan signature) {
  ByteWriter w;
  w.Append(signed_part);
  if (signature.empty() || !w.U16LePrefixed(signature)) {
    return Status::InvalidArgument("sim evidence: signature missing or too large");
  }
  return w.Take();
}

Result<ParsedSimEvidence> ParseSimEvidence(ByteSpan bytes) {
  auto bad = [](std::string_view what) {
    return Status::InvalidArgument("sim evidence: " + std::string(what));
  };
  ByteReader r(bytes);
  ByteSpan magic;
  if (!r.ReadBytes(kSimMagic.size(), &magic)) return bad("truncated magic");
  if (AsStringView(magic) != kSimMagic) return bad("bad magic (not CTDLSIM1)");
  uint16_t version = 0;
  if (!r.ReadU16Le(&version)) return bad("truncated version");
  if (version != kSimEvidenceVersion) {
    return bad("unsupported version " + std::to_string(version) + " (supported: 1)");
  }
  ParsedSimEvidence out;
  SimEvidenceBody& b = out.body;
  if (!r.ReadU32Le(&b.flags)) return bad("truncated flags");
  if ((b.flags & kSimFlagSimulation) == 0) return bad("SIMULATION flag is not set");
  if ((b.flags & ~kSimFlagSimulation) != 0) return bad("unknown flag bits set");
  if (!r.CopyBytes(b.measurement)) return bad("truncated measurement");
  if (!r.CopyBytes(b.report_data)) return bad("truncated report_data");
  if (!r.ReadU64Le(&b.timestamp)) return bad("truncated timestamp");
  ByteReader spki;
  if (!r.ReadU16LePrefixed(&spki)) return bad("truncated signer key");
  if (spki.empty()) return bad("empty signer key");
  b.signer_spki_der.assign(spki.rest().begin(), spki.rest().end());
  size_t signed_len = bytes.size() - r.remaining();
  ByteReader sig;
  if (!r.ReadU16LePrefixed(&sig)) return bad("truncated signature");
  if (sig.empty()) return bad("empty signature");
  if (!r.empty()) return bad("trailing bytes after signature");
  // The signed part is the prefix of the input that the reader has already
  // consumed; take it through a fresh reader rather than by pointer math.
  ByteReader whole(bytes);
  ByteSpan signed_part;
  if (!whole.ReadBytes(signed_len, &signed_part)) return Status::Internal("sim evidence: length");
  out.signed_part.assign(signed_part.begin(), signed_part.end());
  out.signature.assign(sig.rest().begin(), sig.rest().end());
  return out;
}

}  // namespace citadel
