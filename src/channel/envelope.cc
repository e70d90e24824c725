// Evidence envelope (include/citadel/channel.h, docs/protocol.md):
//   "CTDLEVID" | u16 version = 1 | u8 kind | u32-prefixed evidence bytes

#include "citadel/byte_reader.h"
#include "citadel/channel.h"

namespace citadel {
namespace {

constexpr std::string_view kMagic = "CTDLEVID";
constexpr uint16_t kVersion = 1;
// Larger than any real quote with its certification data; bounds what an
// attacker can make a client allocate.
constexpr size_t kMaxEvidenceBytes = 1 << 20;

bool IsKnownKind(uint8_t k) {
  return k >= static_cast<uint8_t>(EvidenceKind::kSim) &&
         k <= static_cast<uint8_t>(EvidenceKind::kNvidiaGpu);
}

}  // namespace

Bytes EncodeEvidenceEnvelope(const Evidence& evidence) {
  ByteWriter w;
  w.Append(AsBytes(kMagic));
  w.U16Le(kVersion);
  w.U8(static_cast<uint8_t>(evidence.kind));
  // Evidence comes from our own platform and is far below 4 GiB.
  w.U32LePrefixed(evidence.bytes);
  return w.Take();
}

Result<Evidence> DecodeEvidenceEnvelope(ByteSpan bytes) {
  auto bad = [](const std::string& why) {
    return Status::AttestationFailed("evidence envelope: " + why);
  };
  ByteReader r(bytes);
  ByteSpan magic;
  if (!r.ReadBytes(kMagic.size(), &magic)) return bad("truncated");
  if (AsStringView(magic) != kMagic) return bad("bad magic (not CTDLEVID)");
  uint16_t version = 0;
  if (!r.ReadU16Le(&version)) return bad("truncated");
  if (version != kVersion) {
    return bad("unsupported version " + std::to_string(version) + " (supported: 1)");
  }
  uint8_t kind = 0;
  if (!r.ReadU8(&kind)) return bad("truncated");
  if (!IsKnownKind(kind)) return bad("unknown evidence kind " + std::to_string(kind));
  ByteReader body;
  if (!r.ReadU32LePrefixed(&body)) return bad("truncated evidence");
  if (body.empty()) return bad("empty evidence");
  if (body.remaining() > kMaxEvidenceBytes) return bad("evidence too large");
  if (!r.empty()) return bad("trailing bytes");
  Evidence out;
  out.kind = static_cast<EvidenceKind>(kind);
  out.bytes.assign(body.rest().begin(), body.rest().end());
  return out;
}

}  // namespace citadel
