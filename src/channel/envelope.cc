// Evidence envelope (include/citadel/channel.h, docs/protocol.md):
//   "CTDLEVID" | u16 version | u8 kind | u32-prefixed evidence bytes
//   version 2 only: | u32-prefixed endorsements (non-empty)
// Evidence without endorsements is still written as version 1, so that
// clients that predate version 2 keep verifying every platform but SNP
// extended reports.

#include "citadel/byte_reader.h"
#include "citadel/channel.h"

namespace citadel {
namespace {

constexpr std::string_view kMagic = "CTDLEVID";
constexpr uint16_t kVersion = 1;
constexpr uint16_t kVersionWithEndorsements = 2;
// Larger than any real quote with its certification data; bounds what an
// attacker can make a client allocate.
constexpr size_t kMaxEvidenceBytes = 1 << 20;
// An SNP certificate table (three or four certificates) is a few KiB.
constexpr size_t kMaxEndorsementBytes = 256 * 1024;

bool IsKnownKind(uint8_t k) {
  return k >= static_cast<uint8_t>(EvidenceKind::kSim) &&
         k <= static_cast<uint8_t>(EvidenceKind::kNvidiaGpu);
}

}  // namespace

Bytes EncodeEvidenceEnvelope(const Evidence& evidence) {
  ByteWriter w;
  w.Append(AsBytes(kMagic));
  const bool with_endorsements = !evidence.endorsements.empty();
  w.U16Le(with_endorsements ? kVersionWithEndorsements : kVersion);
  w.U8(static_cast<uint8_t>(evidence.kind));
  // Evidence comes from our own platform and is far below 4 GiB.
  w.U32LePrefixed(evidence.bytes);
  if (with_endorsements) w.U32LePrefixed(evidence.endorsements);
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
  if (version != kVersion && version != kVersionWithEndorsements) {
    return bad("unsupported version " + std::to_string(version) + " (supported: 1, 2)");
  }
  uint8_t kind = 0;
  if (!r.ReadU8(&kind)) return bad("truncated");
  if (!IsKnownKind(kind)) return bad("unknown evidence kind " + std::to_string(kind));
  ByteReader body;
  if (!r.ReadU32LePrefixed(&body)) return bad("truncated evidence");
  if (body.empty()) return bad("empty evidence");
  if (body.remaining() > kMaxEvidenceBytes) return bad("evidence too large");
  ByteReader endorsements;
  if (version == kVersionWithEndorsements) {
    if (!r.ReadU32LePrefixed(&endorsements)) return bad("truncated endorsements");
    // Version 2 exists only to carry them: empty ones are a malformed envelope.
    if (endorsements.empty()) return bad("empty endorsements in a version 2 envelope");
    if (endorsements.remaining() > kMaxEndorsementBytes) return bad("endorsements too large");
  }
  if (!r.empty()) return bad("trailing bytes");
  Evidence out;
  out.kind = static_cast<EvidenceKind>(kind);
  out.bytes.assign(body.rest().begin(), body.rest().end());
  out.endorsements.assign(endorsements.rest().begin(), endorsements.rest().end());
  return out;
}

}  // namespace citadel
