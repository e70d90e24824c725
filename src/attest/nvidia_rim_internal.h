// Internals shared by the two NVIDIA RIM forms (nvidia_rim.cc: CoRIM,
// nvidia_swid.cc: SWID/XML-DSig). Not a public header.
#ifndef CITADEL_SRC_ATTEST_NVIDIA_RIM_INTERNAL_H_
#define CITADEL_SRC_ATTEST_NVIDIA_RIM_INTERNAL_H_

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include "citadel/bytes.h"
#include "citadel/crypto.h"
#include "citadel/status.h"

namespace citadel::nvidia::rim_internal {

// The RIM signer chain: `*x5chain` (DER, signer first), or when that is
// empty the certificates of `signer_chain` (policy nvidia.rim_chain, PEM or
// DER, at most 8; copied into *x5chain), walked to one of `trusted_roots` at
// `now` (attest_internal::WalkChainToRoot, nvidia.rim_* check names).
// `missing` is the nvidia.rim_chain_missing detail. On success *leaf is the
// signer certificate, owned by *keep.
Status CheckSignerChain(std::vector<Bytes>* x5chain, ByteSpan signer_chain, const std::vector<Bytes>& trusted_roots,
                        time_t now, std::string_view missing, X509** leaf, std::vector<X509Ptr>* keep);

// "P-256", "P-384", "P-521", another curve's OpenSSL name, or "" (not EC).
std::string CurveName(EVP_PKEY* key);

}  // namespace citadel::nvidia::rim_internal

#endif  // CITADEL_SRC_ATTEST_NVIDIA_RIM_INTERNAL_H_
