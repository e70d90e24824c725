// Intel DCAP quote (SGX v3, TDX v4/v5) parsing and signature/chain
// verification. See include/citadel/attest/intel_quote.h.
#include "citadel/attest/intel_quote.h"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "attest_util.h"
#include "intel_internal.h"
#include "citadel/byte_reader.h"
#include "citadel/crypto.h"

namespace citadel::intel {
namespace {

using attest_internal::Fail;
using attest_internal::Hex;

template <size_t N>
bool Copy(ByteReader& r, std::array<uint8_t, N>& out) {
  return r.CopyBytes(std::span<uint8_t>(out.data(), out.size()));
}

std::string Hex64(uint64_t v) {
  char buf[19];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

Status Malformed(std::string what) { return Status::InvalidArgument("quote: " + std::move(what)); }

bool ParseSgxBody(ByteSpan body, SgxReportBody* out) {
  ByteReader r(body);
  return Copy(r, out->cpu_svn) && r.ReadU32Le(&out->misc_select) && r.Skip(12) &&
         Copy(r, out->isv_ext_prod_id) && r.ReadU64Le(&out->attributes_flags) &&
         r.ReadU64Le(&out->attributes_xfrm) && Copy(r, out->mr_enclave) && r.Skip(32) &&
         Copy(r, out->mr_signer) && r.Skip(32) && Copy(r, out->config_id) &&
         r.ReadU16Le(&out->isv_prod_id) && r.ReadU16Le(&out->isv_svn) &&
         r.ReadU16Le(&out->config_svn) && r.Skip(42) && Copy(r, out->isv_family_id) &&
         Copy(r, out->report_data) && r.empty();
}

bool ParseTdBody(ByteSpan body, bool v15, TdReportBody* out) {
  ByteReader r(body);
  bool ok = Copy(r, out->tee_tcb_svn) && Copy(r, out->mr_seam) && Copy(r, out->mr_signer_seam) &&
            r.ReadU64Le(&out->seam_attributes) && r.ReadU64Le(&out->td_attributes) &&
            r.ReadU64Le(&out->xfam) && Copy(r, out->mr_td) && Copy(r, out->mr_config_id) &&
            Copy(r, out->mr_owner) && Copy(r, out->mr_owner_config);
  for (auto& rt : out->rtmr) ok = ok && Copy(r, rt);
  ok = ok && Copy(r, out->report_data);
  out->is_v15 = v15;
  if (v15) ok = ok && Copy(r, out->tee_tcb_svn2) && Copy(r, out->mr_servicetd);
  return ok && r.empty();
}

// QE report, its signature, auth data and certification data (the inner part
// shared by v3's signature data and v4/v5's type-6 certification data).
Status ParseQeSection(ByteReader& r, Quote* q) {
  ByteSpan qe;
  if (!r.ReadBytes(kSgxReportSize, &qe)) return Malformed("truncated QE report");
  q->qe_report_raw.assign(qe.begin(), qe.end());
  if (!ParseSgxBody(qe, &q->qe_report)) return Malformed("bad QE report");
  if (!Copy(r, q->qe_report_signature)) return Malformed("truncated QE report signature");
  ByteReader auth;
  if (!r.ReadU16LePrefixed(&auth)) return Malformed("truncated QE authentication data");
  q->qe_auth_data.assign(auth.rest().begin(), auth.rest().end());
  ByteReader cert;
  if (!r.ReadU16Le(&q->cert_type) || !r.ReadU32LePrefixed(&cert)) {
    return Malformed("truncated certification data");
  }
  q->cert_data.assign(cert.rest().begin(), cert.rest().end());
  if (!r.empty()) return Malformed("unexpected bytes after certification data");
  return Status::Ok();
}

}  // namespace

Bytes DecodeQuoteInput(ByteSpan input) { return attest_internal::DecodeEvidenceText(input); }

Result<Quote> ParseQuote(ByteSpan bytes) {
  ByteReader r(bytes);
  Quote q;
  QuoteHeader& h = q.header;
  if (!r.ReadU16Le(&h.version) || !r.ReadU16Le(&h.att_key_type) || !r.ReadU32Le(&h.tee_type) ||
      !r.ReadU16Le(&h.qe_svn) || !r.ReadU16Le(&h.pce_svn) || !Copy(r, h.qe_vendor_id) ||
      !Copy(r, h.user_data)) {
    return Malformed("truncated header");
  }
  if (h.version != 3 && h.version != 4 && h.version != 5) {
    return Malformed("unsupported quote version " + std::to_string(h.version));
  }
  if (h.att_key_type != kAttKeyEcdsaP256) {
    return Malformed("unsupported attestation key type " + std::to_string(h.att_key_type));
  }
  if (h.version >= 4 && h.tee_type != kTeeTypeSgx && h.tee_type != kTeeTypeTdx) {
    return Malformed("unknown TEE type " + std::to_string(h.tee_type));
  }
  size_t body_size = 0;
  if (h.version == 3) {
    q.body_type = BodyType::kSgx;
    body_size = kSgxReportSize;
  } else if (h.version == 4) {
    q.body_type = h.tee_type == kTeeTypeTdx ? BodyType::kTd10 : BodyType::kSgx;
    body_size = h.tee_type == kTeeTypeTdx ? kTdReport10Size : kSgxReportSize;
  } else {
    uint16_t type = 0;
    uint32_t size = 0;
    if (!r.ReadU16Le(&type) || !r.ReadU32Le(&size)) return Malformed("truncated v5 body descriptor");
    switch (type) {
      case 1: q.body_type = BodyType::kSgx; body_size = kSgxReportSize; break;
      case 2: q.body_type = BodyType::kTd10; body_size = kTdReport10Size; break;
      case 3: q.body_type = BodyType::kTd15; body_size = kTdReport15Size; break;
      default: return Malformed("unknown v5 body type " + std::to_string(type));
    }
    if (size != body_size) {
      return Malformed("v5 body type " + std::to_string(type) + " must have size " +
                       std::to_string(body_size) + ", not " + std::to_string(size));
    }
    const bool tdx_body = q.body_type != BodyType::kSgx;
    if (tdx_body != (h.tee_type == kTeeTypeTdx)) return Malformed("body type contradicts TEE type");
  }
  ByteSpan body;
  if (!r.ReadBytes(body_size, &body)) return Malformed("truncated report body");
  const bool ok_body = q.body_type == BodyType::kSgx
                           ? ParseSgxBody(body, &q.sgx)
                           : ParseTdBody(body, q.body_type == BodyType::kTd15, &q.td);
  if (!ok_body) return Malformed("bad report body");
  // Everything read so far is the signed region.
  const size_t signed_len = bytes.size() - r.remaining();
  q.signed_region.assign(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(signed_len));

  uint32_t sig_len = 0;
  if (!r.ReadU32Le(&sig_len)) return Malformed("truncated signature data length");
  if (sig_len > kMaxSignatureData) return Malformed("signature data too large");
  ByteReader sig;
  if (!r.ReadSub(sig_len, &sig)) return Malformed("truncated signature data");
  if (!Copy(sig, q.signature) || !Copy(sig, q.attestation_key)) {
    return Malformed("truncated quote signature / attestation key");
  }
  if (h.version == 3) {
    CITADEL_RETURN_IF_ERROR(ParseQeSection(sig, &q));
  } else {
    uint16_t outer_type = 0;
    ByteReader outer;
    if (!sig.ReadU16Le(&outer_type) || !sig.ReadU32LePrefixed(&outer)) {
      return Malformed("truncated certification data");
    }
    if (outer_type != kCertTypeQeReport) {
      return Malformed("v4/v5 certification data must be type 6 (QE report), got " +
                       std::to_string(outer_type));
    }
    if (!sig.empty()) return Malformed("unexpected bytes after certification data");
    CITADEL_RETURN_IF_ERROR(ParseQeSection(outer, &q));
  }
  q.trailing_bytes = r.remaining();
  q.trailing_all_zero = std::all_of(r.rest().begin(), r.rest().end(), [](uint8_t b) { return b == 0; });
  return q;
}

namespace {

constexpr std::string_view kRootCn = "Intel SGX Root CA";
constexpr std::string_view kPlatformCaCn = "Intel SGX PCK Platform CA";
constexpr std::string_view kProcessorCaCn = "Intel SGX PCK Processor CA";

struct PckChain {
  std::vector<X509Ptr> certs;  // owns leaf/intermediate (and root when embedded)
  std::vector<X509Ptr> trusted;
  X509* leaf = nullptr;
  X509* intermediate = nullptr;
  X509* root = nullptr;
};

X509* FindBySubject(std::vector<X509Ptr>& v, X509_NAME* name) {
  for (auto& c : v) {
    if (X509_NAME_cmp(X509_get_subject_name(c.get()), name) == 0) return c.get();
  }
  return nullptr;
}

Status VerifyPckChain(ByteSpan chain_bytes, const IntelCollateral& col, time_t now, PckChain* out) {
  if (col.trusted_roots.empty()) return Fail("intel.trust_anchor", "no trusted Intel root CA is configured");
  for (const Bytes& t : col.trusted_roots) {
    auto certs = attest_internal::ParseCertificates(t);
    if (!certs.ok()) return Fail("intel.trust_anchor", certs.status().message());
    for (auto& c : *certs) out->trusted.push_back(std::move(c));
  }
  auto certs = attest_internal::ParseCertificates(chain_bytes);
  if (!certs.ok()) return Fail("intel.pck_chain_parse", certs.status().message());
  out->certs = std::move(*certs);
  // The leaf is the one certificate that issues no other one in the chain
  // (real quotes list leaf first; Intel's synthetic samples list it last).
  out->leaf = nullptr;
  for (auto& c : out->certs) {
    bool issues_another = false;
    for (auto& o : out->certs) {
      if (o.get() != c.get() &&
          X509_NAME_cmp(X509_get_issuer_name(o.get()), X509_get_subject_name(c.get())) == 0) {
        issues_another = true;
      }
    }
    if (issues_another) continue;
    if (out->leaf != nullptr) {
      return Fail("intel.pck_chain_incomplete", "the PCK chain has more than one end-entity certificate");
    }
    out->leaf = c.get();
  }
  if (out->leaf == nullptr) return Fail("intel.pck_chain_incomplete", "the PCK chain has no end-entity certificate");
  out->intermediate = FindBySubject(out->certs, X509_get_issuer_name(out->leaf));
  if (out->intermediate == nullptr || out->intermediate == out->leaf) {
    return Fail("intel.pck_chain_incomplete", "the PCK certificate's issuing CA is missing");
  }
  const std::string inter_cn = attest_internal::SubjectCommonName(out->intermediate);
  if (inter_cn != kPlatformCaCn && inter_cn != kProcessorCaCn) {
    return Fail("intel.pck_chain_names", "the PCK certificate is issued by \"" + inter_cn +
                                             "\", not an Intel SGX PCK Platform/Processor CA");
  }
  X509_NAME* root_name = X509_get_issuer_name(out->intermediate);
  out->root = nullptr;
  for (auto& c : out->certs) {
    if (c.get() != out->intermediate && c.get() != out->leaf &&
        X509_NAME_cmp(X509_get_subject_name(c.get()), root_name) == 0) {
      out->root = c.get();
    }
  }
  if (out->root == nullptr) out->root = FindBySubject(out->trusted, root_name);
  if (out->root == nullptr) return Fail("intel.pck_chain_incomplete", "the root CA is missing");
  if (attest_internal::SubjectCommonName(out->root) != kRootCn ||
      X509_NAME_cmp(X509_get_subject_name(out->root), X509_get_issuer_name(out->root)) != 0) {
    return Fail("intel.pck_chain_names", "the chain does not end in a self-signed Intel SGX Root CA");
  }
  bool anchored = false;
  for (auto& t : out->trusted) anchored = anchored || attest_internal::SamePublicKey(out->root, t.get());
  if (!anchored) {
    return Fail("intel.untrusted_root", "the quote's root CA key is not a configured trusted Intel root");
  }
  if (X509_check_ca(out->intermediate) <= 0 || X509_check_ca(out->root) <= 0) {
    ERR_clear_error();
    return Fail("intel.pck_chain_names", "an issuing certificate is not a CA certificate");
  }
  CITADEL_RETURN_IF_ERROR(attest_internal::CheckSignedBy(out->root, out->root, "intel.root_signature", "root CA"));
  CITADEL_RETURN_IF_ERROR(attest_internal::CheckSignedBy(out->intermediate, out->root, "intel.pck_ca_signature", "PCK CA"));
  CITADEL_RETURN_IF_ERROR(attest_internal::CheckSignedBy(out->leaf, out->intermediate, "intel.pck_signature", "PCK certificate"));
  CITADEL_RETURN_IF_ERROR(attest_internal::CheckValidity(out->root, now, "intel.root_validity", "root CA certificate"));
  CITADEL_RETURN_IF_ERROR(attest_internal::CheckValidity(out->intermediate, now, "intel.pck_ca_validity", "PCK CA certificate"));
  CITADEL_RETURN_IF_ERROR(attest_internal::CheckValidity(out->leaf, now, "intel.pck_validity", "PCK certificate"));
  return Status::Ok();
}

}  // namespace

Result<VerifiedEvidence> VerifyIntelQuote(ByteSpan quote_bytes, const IntelCollateral& col,
                                          const VerifyOptions& options) {
  auto parsed = ParseQuote(quote_bytes);
  if (!parsed.ok()) return Fail("intel.parse", parsed.status().message());
  const Quote& q = *parsed;
  const time_t now = attest_internal::ToTimeT(options.now);

  // ---- PCK chain ----------------------------------------------------------
  ByteSpan chain_bytes;
  if (q.cert_type == kCertTypePckChain) {
    chain_bytes = q.cert_data;
  } else if (!col.pck_chain.empty()) {
    chain_bytes = col.pck_chain;
  } else {
    return Fail("intel.pck_chain_missing", "the quote carries certification data type " +
                                               std::to_string(q.cert_type) +
                                               " and no PCK certificate chain was supplied");
  }
  PckChain chain;
  CITADEL_RETURN_IF_ERROR(VerifyPckChain(chain_bytes, col, now, &chain));

  // ---- QE report signature with the PCK key ---------------------------------
  EVP_PKEY* pck_key = X509_get0_pubkey(chain.leaf);
  if (pck_key == nullptr || EVP_PKEY_get_base_id(pck_key) != EVP_PKEY_EC ||
      EVP_PKEY_get_bits(pck_key) != 256) {
    ERR_clear_error();
    return Fail("intel.pck_key", "the PCK key is not an ECDSA P-256 key");
  }
  ByteSpan qsig(q.qe_report_signature);
  if (!attest_internal::VerifyEcdsaRaw(pck_key, "SHA256", q.qe_report_raw, qsig.first(32),
                                       qsig.subspan(32))) {
    return Fail("intel.qe_report_signature", "the QE report signature does not verify with the PCK key");
  }

  // ---- QE report binds the attestation key ----------------------------------
  {
    Hasher h(Hasher::Algo::kSha256);
    h.Update(q.attestation_key);
    h.Update(q.qe_auth_data);
    Bytes want = h.Finish();
    want.resize(64, 0);
    if (!std::equal(want.begin(), want.end(), q.qe_report.report_data.begin())) {
      return Fail("intel.qe_report_data",
                  "QE report_data is not SHA-256(attestation key || QE authentication data)");
    }
  }

  // ---- Quote signature with the attestation key ------------------------------
  auto ak = attest_internal::EcPublicKeyFromXY(q.attestation_key, "prime256v1");
  if (!ak.ok()) return Fail("intel.attestation_key", ak.status().message());
  ByteSpan sig(q.signature);
  if (!attest_internal::VerifyEcdsaRaw(ak->get(), "SHA256", q.signed_region, sig.first(32),
                                       sig.subspan(32))) {
    return Fail("intel.quote_signature", "the quote signature does not verify with the attestation key");
  }

  // ---- Result -----------------------------------------------------------------
  VerifiedEvidence ev;
  ev.kind = q.is_tdx() ? EvidenceKind::kTdx : EvidenceKind::kSgxDcap;
  ev.simulation = false;
  ByteSpan m = q.measurement();
  ev.measurement.assign(m.begin(), m.end());
  ByteSpan rd = q.report_data();
  std::copy(rd.begin(), rd.end(), ev.report_data.begin());
  auto& c = ev.claims;
  c["platform"] = q.is_tdx() ? "tdx" : "sgx";
  c["measurement"] = Hex(m);
  c["report_data"] = Hex(rd);
  c["intel.quote_version"] = std::to_string(q.header.version);
  if (col.tcb_info.has_value()) {
    CITADEL_RETURN_IF_ERROR(internal::EvaluateCollateral(q, chain.leaf, chain.intermediate, chain.root,
                                                         chain.trusted, col, now, &c));
  } else {
    c["intel.tcb_status"] = "not_evaluated";
  }
  c["intel.qe_vendor_id"] = Hex(q.header.qe_vendor_id);
  c["intel.trailing_bytes"] = std::to_string(q.trailing_bytes);
  c["intel.pck_issuer"] =
      attest_internal::SubjectCommonName(chain.intermediate) == kPlatformCaCn ? "platform" : "processor";
  c["intel.qe.mr_signer"] = Hex(q.qe_report.mr_signer);
  c["intel.qe.isv_prod_id"] = std::to_string(q.qe_report.isv_prod_id);
  c["intel.qe.isv_svn"] = std::to_string(q.qe_report.isv_svn);
  if (!q.is_tdx()) {
    const SgxReportBody& b = q.sgx;
    c["sgx.mr_enclave"] = Hex(b.mr_enclave);
    c["sgx.mr_signer"] = Hex(b.mr_signer);
    c["sgx.isv_prod_id"] = std::to_string(b.isv_prod_id);
    c["sgx.isv_svn"] = std::to_string(b.isv_svn);
    c["sgx.attributes"] = Hex64(b.attributes_flags);
    c["sgx.xfrm"] = Hex64(b.attributes_xfrm);
    c["sgx.misc_select"] = std::to_string(b.misc_select);
    c["sgx.debug"] = b.debug() ? "true" : "false";
    c["sgx.config_svn"] = std::to_string(b.config_svn);
    c["sgx.cpu_svn"] = Hex(b.cpu_svn);
    c["sgx.config_id"] = Hex(b.config_id);
    c["sgx.isv_family_id"] = Hex(b.isv_family_id);
    c["sgx.isv_ext_prod_id"] = Hex(b.isv_ext_prod_id);
  } else {
    const TdReportBody& b = q.td;
    c["tdx.mr_td"] = Hex(b.mr_td);
    for (size_t i = 0; i < 4; ++i) c["tdx.rtmr" + std::to_string(i)] = Hex(b.rtmr[i]);
    c["tdx.mr_config_id"] = Hex(b.mr_config_id);
    c["tdx.mr_owner"] = Hex(b.mr_owner);
    c["tdx.mr_owner_config"] = Hex(b.mr_owner_config);
    c["tdx.mr_seam"] = Hex(b.mr_seam);
    c["tdx.mr_signer_seam"] = Hex(b.mr_signer_seam);
    c["tdx.td_attributes"] = Hex64(b.td_attributes);
    c["tdx.debug"] = b.debug() ? "true" : "false";
    c["tdx.xfam"] = Hex64(b.xfam);
    c["tdx.seam_attributes"] = Hex64(b.seam_attributes);
    c["tdx.tee_tcb_svn"] = Hex(b.tee_tcb_svn);
    if (b.is_v15) {
      c["tdx.tee_tcb_svn2"] = Hex(b.tee_tcb_svn2);
      c["tdx.mr_servicetd"] = Hex(b.mr_servicetd);
    }
  }
  return ev;
}

}  // namespace citadel::intel
