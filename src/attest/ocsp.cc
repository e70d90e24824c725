// Offline OCSP revocation checks. See ocsp.h.
#include "ocsp.h"

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include <memory>

#include "attest_util.h"

namespace citadel::attest_internal {
namespace {

struct OcspResponseFree {
  void operator()(OCSP_RESPONSE* r) const { OCSP_RESPONSE_free(r); }
};
struct OcspBasicFree {
  void operator()(OCSP_BASICRESP* b) const { OCSP_BASICRESP_free(b); }
};
struct OcspCertIdFree {
  void operator()(OCSP_CERTID* id) const { OCSP_CERTID_free(id); }
};
struct X509StackFree {
  void operator()(STACK_OF(X509) * s) const { sk_X509_free(s); }  // does not own the certificates
};
struct X509StoreFree {
  void operator()(X509_STORE* s) const { X509_STORE_free(s); }
};
using OcspResponsePtr = std::unique_ptr<OCSP_RESPONSE, OcspResponseFree>;
using OcspBasicPtr = std::unique_ptr<OCSP_BASICRESP, OcspBasicFree>;
using OcspCertIdPtr = std::unique_ptr<OCSP_CERTID, OcspCertIdFree>;

// An OCSPResponse is a few KiB; anything far larger is not one.
constexpr size_t kMaxResponseBytes = 64 * 1024;

OcspResponsePtr ParseResponse(ByteSpan der) {
  if (der.empty() || der.size() > kMaxResponseBytes) return nullptr;
  const unsigned char* p = der.data();
  OcspResponsePtr r(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der.size())));
  if (!r || p != der.data() + der.size()) {
    ERR_clear_error();
    return nullptr;
  }
  return r;
}

std::string Name(X509* cert) { return "\"" + SubjectCommonName(cert) + "\""; }

std::string TimeText(const ASN1_GENERALIZEDTIME* t) {
  if (t == nullptr) return "?";
  std::tm tm{};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return "?";
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Checks who signed `bs` and that the signature verifies: the issuer itself,
// or a responder certificate carried in the response that the issuer signed
// and gave the id-kp-OCSPSigning extended key usage (RFC 6960 4.2.2.2).
Status VerifyResponseSignature(OCSP_BASICRESP* bs, X509* issuer, time_t now, const std::string& check) {
  std::unique_ptr<STACK_OF(X509), X509StackFree> extra(sk_X509_new_null());
  if (!extra || sk_X509_push(extra.get(), issuer) <= 0) return Status::Internal("out of memory");
  X509* signer = nullptr;
  if (OCSP_resp_get0_signer(bs, &signer, extra.get()) != 1 || signer == nullptr) {
    ERR_clear_error();
    return Fail(check, "the OCSP response's responder is neither " + Name(issuer) +
                           " nor a certificate carried in the response");
  }
  if (!SamePublicKey(signer, issuer)) {
    if (X509_NAME_cmp(X509_get_issuer_name(signer), X509_get_subject_name(issuer)) != 0 ||
        X509_verify(signer, X509_get0_pubkey(issuer)) != 1) {
      ERR_clear_error();
      return Fail(check, "the OCSP responder " + Name(signer) + " is not delegated by " + Name(issuer));
    }
    if ((X509_get_extension_flags(signer) & EXFLAG_XKUSAGE) == 0 ||
        (X509_get_extended_key_usage(signer) & XKU_OCSP_SIGN) == 0) {
      return Fail(check, "the OCSP responder " + Name(signer) + " lacks the id-kp-OCSPSigning usage");
    }
    CITADEL_RETURN_IF_ERROR(CheckValidity(signer, now, check, "the OCSP responder certificate"));
  }
  // The signature itself, with exactly that signer: the stack holds only it,
  // OCSP_NOINTERN keeps OpenSSL from picking another certificate from the
  // response, and chain building (which would use the system clock and
  // trust store) is off: the signer was judged above.
  std::unique_ptr<STACK_OF(X509), X509StackFree> only(sk_X509_new_null());
  std::unique_ptr<X509_STORE, X509StoreFree> store(X509_STORE_new());
  if (!only || !store || sk_X509_push(only.get(), signer) <= 0) return Status::Internal("out of memory");
  if (OCSP_basic_verify(bs, only.get(), store.get(), OCSP_NOINTERN | OCSP_NOVERIFY | OCSP_NOCHECKS) != 1) {
    ERR_clear_error();
    return Fail(check, "the OCSP response signature does not verify with " + Name(signer) + "'s key");
  }
  return Status::Ok();
}

// True if `id` names `cert` as issued by `issuer`, computed with the hash
// algorithm the responder chose for the CertID (SHA-1, SHA-256, SHA-384...).
bool CertIdMatches(const OCSP_CERTID* id, X509* cert, X509* issuer) {
  ASN1_OBJECT* md_oid = nullptr;
  if (OCSP_id_get0_info(nullptr, &md_oid, nullptr, nullptr, const_cast<OCSP_CERTID*>(id)) != 1) return false;
  const EVP_MD* md = EVP_get_digestbyobj(md_oid);
  if (md == nullptr) return false;
  OcspCertIdPtr ours(OCSP_cert_to_id(md, cert, issuer));
  const bool same = ours && OCSP_id_cmp(ours.get(), id) == 0;
  ERR_clear_error();
  return same;
}

}  // namespace

bool LooksLikeOcspResponse(ByteSpan der) { return ParseResponse(der) != nullptr; }

Result<std::string> CheckChainOcsp(const std::vector<X509*>& chain, const std::vector<Bytes>& responses,
                                   time_t now, std::string_view prefix) {
  const std::string p(prefix);
  const std::string check = p + ".ocsp", validity = p + ".ocsp_validity", revoked = p + ".revoked";
  if (chain.size() < 2 || responses.empty()) return std::string("absent");
  const size_t subjects = chain.size() - 1;  // every certificate but the anchor
  // Per certificate: covered by some response, and by a current "good" one.
  std::vector<bool> covered(subjects, false), good(subjects, false);
  std::vector<std::string> stale(subjects);

  for (size_t r = 0; r < responses.size(); ++r) {
    const std::string which = "OCSP response " + std::to_string(r);
    OcspResponsePtr resp = ParseResponse(responses[r]);
    if (!resp) return Fail(check, which + " is not a DER OCSPResponse");
    const int status = OCSP_response_status(resp.get());
    if (status != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
      return Fail(check, which + " has status " + OCSP_response_status_str(status) + ", not successful");
    }
    OcspBasicPtr bs(OCSP_response_get1_basic(resp.get()));
    if (!bs) {
      ERR_clear_error();
      return Fail(check, which + " is not a basic OCSP response");
    }
    std::vector<bool> verified_for(chain.size(), false);  // signature checked against chain[i] as issuer
    const int count = OCSP_resp_count(bs.get());
    for (int s = 0; s < count; ++s) {
      OCSP_SINGLERESP* single = OCSP_resp_get0(bs.get(), s);
      if (single == nullptr) continue;
      const OCSP_CERTID* id = OCSP_SINGLERESP_get0_id(single);
      for (size_t i = 0; i < subjects; ++i) {
        X509* cert = chain[i];
        X509* issuer = chain[i + 1];
        if (!CertIdMatches(id, cert, issuer)) continue;
        // Only a response that is about this chain is judged, and then
        // strictly: a forged or tampered one fails the evidence.
        if (!verified_for[i + 1]) {
          CITADEL_RETURN_IF_ERROR(VerifyResponseSignature(bs.get(), issuer, now, check));
          verified_for[i + 1] = true;
        }
        covered[i] = true;
        int reason = 0;
        ASN1_GENERALIZEDTIME *rev_time = nullptr, *this_update = nullptr, *next_update = nullptr;
        const int cert_status = OCSP_single_get0_status(single, &reason, &rev_time, &this_update, &next_update);
        const std::string what = "certificate " + std::to_string(i) + " (" + Name(cert) + ")";
        if (cert_status == V_OCSP_CERTSTATUS_REVOKED) {
          // Revocation is permanent: even an old response that says so counts.
          return Fail(revoked, what + " is revoked since " + TimeText(rev_time) + " (reason: " +
                                   (reason >= 0 ? OCSP_crl_reason_str(reason) : "unspecified") + ")");
        }
        if (cert_status != V_OCSP_CERTSTATUS_GOOD) {
          return Fail(revoked, "the OCSP responder does not know " + what);
        }
        if (this_update == nullptr || X509_cmp_time(this_update, &now) > 0) {
          stale[i] = "the OCSP response for " + what + " is not yet valid (thisUpdate " + TimeText(this_update) + ")";
          continue;
        }
        if (next_update != nullptr) {
          if (X509_cmp_time(next_update, &now) < 0) {
            stale[i] = "the OCSP response for " + what + " has expired (nextUpdate " + TimeText(next_update) + ")";
            continue;
          }
        } else {
          time_t limit = now - kOcspMaxAgeWithoutNextUpdate;
          if (X509_cmp_time(this_update, &limit) < 0) {
            stale[i] = "the OCSP response for " + what + " has no nextUpdate and is older than 7 days";
            continue;
          }
        }
        good[i] = true;
      }
    }
  }

  size_t covered_count = 0, good_count = 0;
  for (size_t i = 0; i < subjects; ++i) {
    if (covered[i] && !good[i]) return Fail(validity, stale[i]);
    covered_count += covered[i] ? 1 : 0;
    good_count += good[i] ? 1 : 0;
  }
  if (covered_count == 0) return std::string("absent");
  // A chain that stops below its root leaves its top certificate unjudged
  // (its CertID needs the issuer): never "checked".
  const bool ends_in_root = X509_NAME_cmp(X509_get_subject_name(chain.back()), X509_get_issuer_name(chain.back())) == 0;
  return std::string(good_count == subjects && ends_in_root ? "checked" : "partial");
}

}  // namespace citadel::attest_internal
