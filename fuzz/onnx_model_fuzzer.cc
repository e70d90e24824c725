// libFuzzer target: ONNX model loading as an upload reaches it: protobuf
// parsing, graph building, shape inference, optimisation and plan creation
// (Model::Load), with a small size limit as a server would set.
#include <cstddef>
#include <cstdint>

#include "citadel/engine.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  citadel::LoadOptions options;
  options.max_model_bytes = size_t{1} << 20;
  options.threads = 1;
  auto model = citadel::Model::Load(citadel::ByteSpan(data, size), options);
  if (model.ok()) {
    (void)(*model)->Describe();
    (void)(*model)->inputs();
  }
  options.optimize = false;
  (void)citadel::Model::Load(citadel::ByteSpan(data, size), options);
  return 0;
}
