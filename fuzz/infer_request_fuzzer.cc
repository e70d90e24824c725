// libFuzzer target: the KServe v2 infer request body as the server reads it
// (ParseJson, then TensorListFromJson on "inputs" with small limits), and
// the JSON tensor encoder: a parsed tensor list must encode and re-parse to
// the same tensors (same digests).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "citadel/proof.h"
#include "citadel/protocol.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto body = citadel::ParseJson(text);
  if (!body.ok()) return 0;
  citadel::TensorLimits limits;
  limits.max_tensors = 16;
  limits.max_elements_per_tensor = 1 << 16;
  limits.max_total_elements = 1 << 17;
  const nlohmann::json* inputs = &*body;
  if (body->is_object() && body->contains("inputs")) inputs = &(*body)["inputs"];
  auto list = citadel::TensorListFromJson(*inputs, "inputs", limits);
  if (!list.ok()) {
    // The single-tensor entry point must not crash on anything either.
    (void)citadel::TensorFromJson(*inputs, "inputs[0]", limits);
    return 0;
  }
  FUZZ_CHECK(list->size() <= limits.max_tensors);
  nlohmann::json encoded = citadel::TensorListToJson(*list);
  auto again = citadel::TensorListFromJson(citadel::ParseJson(encoded.dump()).value(), "outputs", limits);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->size() == list->size());
  for (size_t i = 0; i < list->size(); ++i) {
    FUZZ_CHECK(citadel::TensorDigestHex((*list)[i]) == citadel::TensorDigestHex((*again)[i]));
  }
  return 0;
}
