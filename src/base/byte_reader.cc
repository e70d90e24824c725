#include "citadel/byte_reader.h"

#include <cstring>
#include <limits>

namespace citadel {

bool ByteReader::ReadBytes(size_t n, ByteSpan* out) {
  if (n > data_.size()) return false;
  *out = data_.first(n);
  data_ = data_.subspan(n);
  return true;
}

bool ByteReader::Skip(size_t n) {
  ByteSpan ignored;
  return ReadBytes(n, &ignored);
}

bool ByteReader::CopyBytes(std::span<uint8_t> out) {
  ByteSpan src;
  if (!ReadBytes(out.size(), &src)) return false;
  if (!src.empty()) std::memcpy(out.data(), src.data(), src.size());
  return true;
}

bool ByteReader::ReadSub(size_t n, ByteReader* out) {
  ByteSpan span;
  if (!ReadBytes(n, &span)) return false;
  *out = ByteReader(span);
  return true;
}

bool ByteReader::ReadU8(uint8_t* out) {
  ByteSpan b;
  if (!ReadBytes(1, &b)) return false;
  *out = b[0];
  return true;
}

namespace {
template <typename T>
bool ReadLe(ByteReader* r, T* out) {
  ByteSpan b;
  if (!r->ReadBytes(sizeof(T), &b)) return false;
  T v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v |= static_cast<T>(b[i]) << (8 * i);
  *out = v;
  return true;
}
template <typename T>
bool ReadBe(ByteReader* r, T* out) {
  ByteSpan b;
  if (!r->ReadBytes(sizeof(T), &b)) return false;
  T v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v = static_cast<T>(v << 8 | b[i]);
  *out = v;
  return true;
}
}  // namespace

bool ByteReader::ReadU16Le(uint16_t* out) { return ReadLe(this, out); }
bool ByteReader::ReadU32Le(uint32_t* out) { return ReadLe(this, out); }
bool ByteReader::ReadU64Le(uint64_t* out) { return ReadLe(this, out); }
bool ByteReader::ReadU16Be(uint16_t* out) { return ReadBe(this, out); }
bool ByteReader::ReadU32Be(uint32_t* out) { return ReadBe(this, out); }

bool ByteReader::ReadU16LePrefixed(ByteReader* out) {
  ByteReader saved = *this;
  uint16_t n;
  if (!ReadU16Le(&n) || !ReadSub(n, out)) {
    *this = saved;
    return false;
  }
  return true;
}

bool ByteReader::ReadU32LePrefixed(ByteReader* out) {
  ByteReader saved = *this;
  uint32_t n;
  if (!ReadU32Le(&n) || !ReadSub(n, out)) {
    *this = saved;
    return false;
  }
  return true;
}

void ByteWriter::U16Le(uint16_t v) {
  for (int i = 0; i < 2; ++i) out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void ByteWriter::U32Le(uint32_t v) {
  for (int i = 0; i < 4; ++i) out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void ByteWriter::U64Le(uint64_t v) {
  for (int i = 0; i < 8; ++i) out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
bool ByteWriter::U16LePrefixed(ByteSpan b) {
  if (b.size() > std::numeric_limits<uint16_t>::max()) return false;
  U16Le(static_cast<uint16_t>(b.size()));
  Append(b);
  return true;
}
bool ByteWriter::U32LePrefixed(ByteSpan b) {
  if (b.size() > std::numeric_limits<uint32_t>::max()) return false;
  U32Le(static_cast<uint32_t>(b.size()));
  Append(b);
  return true;
}

}  // namespace citadel
