// Offline certificate revocation by OCSP responses (RFC 6960) carried as
// collateral. Not a public header.
//
// NVIDIA publishes revocation of its GPU device and RIM signing certificates
// only through OCSP (ocsp.ndis.nvidia.com), never as CRLs. A verifier on a
// firewalled box cannot ask the responder, so it is given responses fetched
// earlier (collateral item "nvidia.ocsp", a DER OCSPResponse each) and judges
// them at the verification instant, the way the SGX and SNP verifiers judge
// CRLs: the response must be signed by the certificate's issuer (or by a
// responder the issuer delegated with the id-kp-OCSPSigning usage), be current
// at `now`, and say "good".
#ifndef CITADEL_SRC_ATTEST_OCSP_H_
#define CITADEL_SRC_ATTEST_OCSP_H_

#include <openssl/x509.h>

#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include "citadel/bytes.h"
#include "citadel/status.h"

namespace citadel::attest_internal {

// A response without nextUpdate ("newer information is always available")
// is accepted for this long after its thisUpdate.
inline constexpr time_t kOcspMaxAgeWithoutNextUpdate = 7 * 24 * 3600;

// `chain` is an already verified chain: leaf first, each certificate issued
// by the next, the last one the trust anchor (never checked: a root is not
// revoked by its own OCSP). If the last one is not self-issued (a chain
// presented without its root), it cannot be judged and the state is at most
// "partial". `responses` are DER OCSPResponses in any order;
// responses about other certificates are ignored.
//
// Returns the revocation state for the claims:
//   "absent"  no response covers any certificate of the chain;
//   "partial" some, but not all, non-anchor certificates are covered (good);
//   "checked" every non-anchor certificate is covered and good.
// Fails (AttestationFailed) with
//   "<prefix>.ocsp: ..."          a response that does not parse, is not
//                                 "successful", or whose signature / signer
//                                 does not verify;
//   "<prefix>.ocsp_validity: ..." a covering response not current at `now`;
//   "<prefix>.revoked: ..."       a certificate reported revoked (or unknown).
Result<std::string> CheckChainOcsp(const std::vector<X509*>& chain, const std::vector<Bytes>& responses,
                                   time_t now, std::string_view prefix);

// True if `der` is exactly one DER OCSPResponse (collateral auto-detection).
bool LooksLikeOcspResponse(ByteSpan der);

}  // namespace citadel::attest_internal

#endif  // CITADEL_SRC_ATTEST_OCSP_H_
