// Byte helpers shared by every module: hex/base64, constant-time comparison,
// and a buffer that wipes itself.
#ifndef CITADEL_BYTES_H_
#define CITADEL_BYTES_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "citadel/status.h"

namespace citadel {

using Bytes = std::vector<uint8_t>;
using ByteSpan = std::span<const uint8_t>;

inline ByteSpan AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::string_view AsStringView(ByteSpan b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

std::string HexEncode(ByteSpan data);
// Accepts upper or lower case; rejects odd length and non-hex characters.
Result<Bytes> HexDecode(std::string_view hex);

std::string Base64Encode(ByteSpan data);
// Strict: rejects characters outside the alphabet and bad padding.
Result<Bytes> Base64Decode(std::string_view text);

// Compares in time that depends only on the lengths, never on the contents.
// Use for MACs, tokens, digests that gate access.
bool ConstantTimeEquals(ByteSpan a, ByteSpan b);

// Overwrites memory in a way the compiler may not elide (OPENSSL_cleanse).
void SecureZero(void* data, size_t size);

// A byte buffer for keys and request payloads: zeroized on destruction and
// on every reallocation through its methods. Move-only, so copies of secrets
// do not multiply silently.
class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(size_t size) : data_(size, 0) {}
  explicit SecretBytes(ByteSpan bytes) : data_(bytes.begin(), bytes.end()) {}
  ~SecretBytes() { Wipe(); }
  SecretBytes(SecretBytes&& other) noexcept : data_(std::move(other.data_)) { other.data_.clear(); }
  SecretBytes& operator=(SecretBytes&& other) noexcept {
    if (this != &other) {
      Wipe();
      data_ = std::move(other.data_);
      other.data_.clear();
    }
    return *this;
  }
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;

  uint8_t* data() { return data_.data(); }
  const uint8_t* data() const { return data_.data(); }
  size_t size() const { return data_.size(); }
  bool empty() const { return data_.empty(); }
  ByteSpan span() const { return {data_.data(), data_.size()}; }
  void Wipe() {
    if (!data_.empty()) SecureZero(data_.data(), data_.size());
    data_.clear();
  }

 private:
  std::vector<uint8_t> data_;
};

// Reads a whole file. Fails with NotFound / InvalidArgument (too large) / Internal.
Result<Bytes> ReadFileBytes(const std::string& path, size_t max_bytes = size_t{1} << 32);
// Writes atomically: temp file in the same directory, fsync, rename, fsync dir.
Status WriteFileAtomic(const std::string& path, ByteSpan data, int mode = 0600);

}  // namespace citadel

#endif  // CITADEL_BYTES_H_
