// Evidence envelope (include/citadel/channel.h, docs/protocol.md):
//   "CTDLEVID" | u16 version | u8 kind | u32-prefixed evidence bytes
//   version 2 only: | u32-prefixed endorsements (non-empty)
//   version 3 only: | u32-prefixed endorsements (may be empty) | u8 device
//                   count (1..8) | that many u32-prefixed device envelopes
//                   (version 1 or 2, kind nvidia, no devices of their own)
// Each version is written only when it is needed (endorsements: 2, attached
// devices: 3), so that clients that predate a version keep verifying every
// server that does not need it.

#include "citadel/byte_reader.h"
#include "citadel/channel.h"

#include <algorithm>
#include <vector>

namespace citadel {
namespace {

constexpr std::string_view kMagic = "CTDLEVID";
constexpr uint16_t kVersion = 1;
constexpr uint16_t kVersionWithEndorsements = 2;
constexpr uint16_t kVersionWithDevices = 3;
// More GPUs than any server holds (8 per HGX board).
constexpr size_t kMaxDevices = 8;
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
  const bool with_devices = !evidence.devices.empty();
  w.U16Le(with_devices ? kVersionWithDevices : with_endorsements ? kVersionWithEndorsements : kVersion);
  w.U8(static_cast<uint8_t>(evidence.kind));
  // Evidence comes from our own platform and is far below 4 GiB.
  w.U32LePrefixed(evidence.bytes);
  if (with_endorsements || with_devices) w.U32LePrefixed(evidence.endorsements);
  if (with_devices) {
    // The platform attaches at most one report per GPU; the decoder refuses
    // more than kMaxDevices, so never write what cannot be read back.
    const size_t n = std::min(evidence.devices.size(), kMaxDevices);
    w.U8(static_cast<uint8_t>(n));
    for (size_t i = 0; i < n; ++i) {
      Evidence device = evidence.devices[i];
      device.devices.clear();  // devices of devices are not part of the format
      w.U32LePrefixed(EncodeEvidenceEnvelope(device));
    }
  }
  return w.Take();
}

namespace {

Result<Evidence> DecodeEnvelope(ByteSpan bytes, bool is_device) {
  auto bad = [](const std::string& why) { return Status::AttestationFailed("evidence envelope: " + why); };
  ByteReader r(bytes);
  ByteSpan magic;
  if (!r.ReadBytes(kMagic.size(), &magic)) return bad("truncated");
  if (AsStringView(magic) != kMagic) return bad("bad magic (not CTDLEVID)");
  uint16_t version = 0;
  if (!r.ReadU16Le(&version)) return bad("truncated");
  if (version != kVersion && version != kVersionWithEndorsements && version != kVersionWithDevices) {
    return bad("unsupported version " + std::to_string(version) + " (supported: 1, 2, 3)");
  }
  if (is_device && version == kVersionWithDevices) return bad("a device envelope cannot hold devices");
  uint8_t kind = 0;
  if (!r.ReadU8(&kind)) return bad("truncated");
  if (!IsKnownKind(kind)) return bad("unknown evidence kind " + std::to_string(kind));
  if (is_device && kind != static_cast<uint8_t>(EvidenceKind::kNvidiaGpu)) {
    return bad("device evidence must be NVIDIA GPU evidence, not kind " + std::to_string(kind));
  }
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
  std::vector<Evidence> devices;
  if (version == kVersionWithDevices) {
    if (!r.ReadU32LePrefixed(&endorsements)) return bad("truncated endorsements");
    if (endorsements.remaining() > kMaxEndorsementBytes) return bad("endorsements too large");
    uint8_t count = 0;
    if (!r.ReadU8(&count)) return bad("truncated device count");
    // Version 3 exists only to carry devices.
    if (count == 0) return bad("no devices in a version 3 envelope");
    if (count > kMaxDevices) return bad("more than " + std::to_string(kMaxDevices) + " devices");
    for (uint8_t i = 0; i < count; ++i) {
      ByteReader device;
      if (!r.ReadU32LePrefixed(&device)) return bad("truncated device " + std::to_string(i));
      auto decoded = DecodeEnvelope(device.rest(), /*is_device=*/true);
      if (!decoded.ok()) return decoded.status().WithContext("device " + std::to_string(i));
      devices.push_back(std::move(decoded).value());
    }
  }
  if (!r.empty()) return bad("trailing bytes");
  Evidence out;
  out.kind = static_cast<EvidenceKind>(kind);
  out.bytes.assign(body.rest().begin(), body.rest().end());
  out.endorsements.assign(endorsements.rest().begin(), endorsements.rest().end());
  out.devices = std::move(devices);
  return out;
}

}  // namespace

Result<Evidence> DecodeEvidenceEnvelope(ByteSpan bytes) { return DecodeEnvelope(bytes, /*is_device=*/false); }

}  // namespace citadel
