// libFuzzer target: the hex and base64 decoders (tokens, keys, evidence and
// receipts all pass through them). Decode must invert encode both ways.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "citadel/bytes.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  citadel::ByteSpan in(data, size);
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto hex = citadel::HexDecode(text);
  if (hex.ok()) {
    auto back = citadel::HexDecode(citadel::HexEncode(*hex));
    FUZZ_CHECK(back.ok() && *back == *hex);
  }
  auto b64 = citadel::Base64Decode(text);
  if (b64.ok()) {
    auto back = citadel::Base64Decode(citadel::Base64Encode(*b64));
    FUZZ_CHECK(back.ok() && *back == *b64);
  }
  auto h = citadel::HexDecode(citadel::HexEncode(in));
  FUZZ_CHECK(h.ok() && *h == citadel::Bytes(in.begin(), in.end()));
  auto b = citadel::Base64Decode(citadel::Base64Encode(in));
  FUZZ_CHECK(b.ok() && *b == citadel::Bytes(in.begin(), in.end()));
  return 0;
}
