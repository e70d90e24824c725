// Internal interface between the Intel quote verifier and its collateral
// (TCB Info / QE Identity / CRL) evaluation. Not a public header.
#ifndef CITADEL_SRC_ATTEST_INTEL_INTERNAL_H_
#define CITADEL_SRC_ATTEST_INTEL_INTERNAL_H_

#include <openssl/x509.h>

#include <ctime>
#include <map>
#include <string>
#include <vector>

#include "citadel/attest/intel_quote.h"
#include "citadel/crypto.h"

namespace citadel::intel::internal {

// The FMSPC (lower-case hex) from a PCK certificate's SGX extension; used to
// pick the TCB Info for a quote from a collateral bundle.
Result<std::string> PckFmspcHex(X509* pck_leaf);

// Steps 6-11 of VerifyIntelQuote (see intel_quote.h). The PCK chain has
// already been verified; `trusted` are the configured root certificates.
Status EvaluateCollateral(const Quote& quote, X509* pck_leaf, X509* pck_ca, X509* root,
                          const std::vector<X509Ptr>& trusted, const IntelCollateral& collateral,
                          time_t now, std::map<std::string, std::string>* claims);

}  // namespace citadel::intel::internal

#endif  // CITADEL_SRC_ATTEST_INTEL_INTERNAL_H_
