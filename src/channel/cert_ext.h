// The evidence extension in Citadel server certificates (private to channel).
//
// OID 2.23.133.5.4.9 (TCG DICE tagged evidence), non-critical. Its extnValue
// holds the DER encoding of an OCTET STRING whose contents are the Citadel
// evidence envelope (EncodeEvidenceEnvelope).
#ifndef CITADEL_SRC_CHANNEL_CERT_EXT_H_
#define CITADEL_SRC_CHANNEL_CERT_EXT_H_

#include <openssl/x509.h>

#include "citadel/bytes.h"
#include "citadel/status.h"

namespace citadel::channel_internal {

inline constexpr char kEvidenceExtensionOid[] = "2.23.133.5.4.9";

Status AddEvidenceExtension(X509* cert, ByteSpan envelope);
// The envelope bytes. AttestationFailed if the extension is absent,
// repeated, or not a well-formed OCTET STRING.
Result<Bytes> GetEvidenceExtension(X509* cert);

}  // namespace citadel::channel_internal

#endif  // CITADEL_SRC_CHANNEL_CERT_EXT_H_
