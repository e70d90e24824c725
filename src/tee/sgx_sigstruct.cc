// SIGSTRUCT (Intel SDM Vol. 3D, "Enclave Signature Structure"), as written
// by gramine-sgx-sign to <app>.sig: the enclave identity a client pins.

#include "citadel/byte_reader.h"
#include "citadel/crypto.h"
#include "citadel/tee.h"

namespace citadel {

Result<SgxSigstructInfo> ParseSgxSigstruct(ByteSpan sig) {
  constexpr size_t kSize = 1808;
  static constexpr uint8_t kHeader[16] = {0x06, 0x00, 0x00, 0x00, 0xE1, 0x00, 0x00, 0x00,
                                          0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00};
  static constexpr uint8_t kHeader2[16] = {0x01, 0x01, 0x00, 0x00, 0x60, 0x00, 0x00, 0x00,
                                           0x60, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00};
  if (sig.size() != kSize) {
    return Status::InvalidArgument("SIGSTRUCT is " + std::to_string(sig.size()) + " bytes, expected 1808 (give "
                                   "the .sig file that gramine-sgx-sign wrote)");
  }
  ByteReader r(sig);
  ByteSpan header, header2, modulus, hash;
  SgxSigstructInfo out;
  // HEADER @0, VENDOR @16, DATE @20, HEADER2 @24, SWDEFINED @40, reserved
  // @44, MODULUS @128 (384), EXPONENT @512, SIGNATURE @516, MISCSELECT @900,
  // MISCMASK @904, CET @908, reserved @910, ISVFAMILYID @912, ATTRIBUTES @928
  // (flags, xfrm), ATTRIBUTEMASK @944, ENCLAVEHASH @960, reserved @992,
  // ISVEXTPRODID @1008, ISVPRODID @1024, ISVSVN @1026.
  if (!r.ReadBytes(16, &header) || !r.Skip(8) || !r.ReadBytes(16, &header2) || !r.Skip(128 - 40) ||
      !r.ReadBytes(384, &modulus) || !r.Skip(928 - 512) || !r.ReadU64Le(&out.attributes_flags) ||
      !r.Skip(960 - 936) || !r.ReadBytes(32, &hash) || !r.Skip(1024 - 992) || !r.ReadU16Le(&out.isv_prod_id) ||
      !r.ReadU16Le(&out.isv_svn)) {
    return Status::InvalidArgument("SIGSTRUCT: malformed");
  }
  if (!std::equal(header.begin(), header.end(), kHeader) || !std::equal(header2.begin(), header2.end(), kHeader2)) {
    return Status::InvalidArgument("SIGSTRUCT: bad header (not an SGX enclave signature file)");
  }
  std::copy(hash.begin(), hash.end(), out.mrenclave.begin());
  out.mrsigner = Sha256(modulus);
  return out;
}

}  // namespace citadel
