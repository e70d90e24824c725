// ByteReader: a bounds-checked cursor over untrusted bytes (after BoringSSL's
// CBS). Every parser of attacker-controlled binary data (quotes, reports,
// evidence, packages) reads through this type and never does pointer
// arithmetic on the raw buffer. Each read either succeeds and advances, or
// fails and leaves the cursor unchanged.
#ifndef CITADEL_BYTE_READER_H_
#define CITADEL_BYTE_READER_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "citadel/bytes.h"

namespace citadel {

class ByteReader {
 public:
  ByteReader() = default;
  explicit ByteReader(ByteSpan data) : data_(data) {}

  size_t remaining() const { return data_.size(); }
  bool empty() const { return data_.empty(); }
  ByteSpan rest() const { return data_; }

  // Fixed-width integers. *_le = little endian (Intel/AMD structures),
  // *_be = big endian (network/ASN.1-style lengths).
  bool ReadU8(uint8_t* out);
  bool ReadU16Le(uint16_t* out);
  bool ReadU32Le(uint32_t* out);
  bool ReadU64Le(uint64_t* out);
  bool ReadU16Be(uint16_t* out);
  bool ReadU32Be(uint32_t* out);

  // Sets *out to a view of the next n bytes (valid while the underlying
  // buffer lives) and advances.
  bool ReadBytes(size_t n, ByteSpan* out);
  // Copies exactly out.size() bytes.
  bool CopyBytes(std::span<uint8_t> out);
  // Splits off the next n bytes as a sub-reader.
  bool ReadSub(size_t n, ByteReader* out);
  // Length-prefixed blocks.
  bool ReadU16LePrefixed(ByteReader* out);
  bool ReadU32LePrefixed(ByteReader* out);
  bool Skip(size_t n);

 private:
  ByteSpan data_;
};

// ByteWriter: the matching builder for the formats Citadel produces.
class ByteWriter {
 public:
  void U8(uint8_t v) { out_.push_back(v); }
  void U16Le(uint16_t v);
  void U32Le(uint32_t v);
  void U64Le(uint64_t v);
  void Append(ByteSpan b) { out_.insert(out_.end(), b.begin(), b.end()); }
  // Fails (returns false) if the block does not fit the prefix width.
  bool U16LePrefixed(ByteSpan b);
  bool U32LePrefixed(ByteSpan b);
  const Bytes& bytes() const { return out_; }
  Bytes Take() { return std::move(out_); }

 private:
  Bytes out_;
};

}  // namespace citadel

#endif  // CITADEL_BYTE_READER_H_
