// libFuzzer target: the .npy reader (client inputs, `citadel run`, CLI
// outputs). Whatever parses must write back and re-read to the same tensor.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "citadel/npy.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  citadel::NpyLimits limits;
  limits.max_header_bytes = 4096;
  limits.max_data_bytes = size_t{1} << 20;
  auto t = citadel::ReadNpy(citadel::ByteSpan(data, size), limits);
  if (!t.ok()) return 0;
  FUZZ_CHECK(t->byte_size() <= limits.max_data_bytes || t->dtype() == citadel::DType::kString);
  auto written = citadel::WriteNpy(*t);
  if (!written.ok()) return 0;  // e.g. dtypes .npy cannot carry
  auto again = citadel::ReadNpy(*written, limits);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->dtype() == t->dtype());
  FUZZ_CHECK(again->shape() == t->shape());
  if (t->dtype() == citadel::DType::kString) {
    FUZZ_CHECK(again->strings() == t->strings());
  } else {
    FUZZ_CHECK(again->byte_size() == t->byte_size());
    FUZZ_CHECK(t->byte_size() == 0 || std::memcmp(again->raw_data(), t->raw_data(), t->byte_size()) == 0);
  }
  return 0;
}
