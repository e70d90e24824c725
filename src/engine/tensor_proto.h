// Conversion between onnx::TensorProto and citadel::Tensor.
//
// TensorProtos come from untrusted model files, so every size is checked
// against the declared dims before a byte is copied: a tensor that claims
// [1000000, 1000000] with four bytes of data is rejected, not allocated.
#ifndef CITADEL_ENGINE_TENSOR_PROTO_H_
#define CITADEL_ENGINE_TENSOR_PROTO_H_

#include <cstdint>
#include <string>

#include "citadel/status.h"
#include "citadel/tensor.h"

namespace onnx {
class TensorProto;
}

namespace citadel::engine {

// ONNX TensorProto.DataType <-> DType. Complex types and the float8 family
// have no DType and map to Unsupported.
Result<DType> DTypeFromOnnx(int32_t onnx_type);
int32_t DTypeToOnnx(DType dtype);

struct TensorProtoLimits {
  size_t max_bytes = size_t{1} << 34;
};

// Converts `proto` to a Tensor. External data must already have been inlined
// into raw_data (see loader.h); an EXTERNAL proto here is an error.
Result<Tensor> TensorFromProto(const onnx::TensorProto& proto,
                               const TensorProtoLimits& limits = {});

// Tensor -> TensorProto (raw_data form). Used by tests and tools.
Status TensorToProto(const Tensor& tensor, const std::string& name, onnx::TensorProto* proto);

}  // namespace citadel::engine

#endif  // CITADEL_ENGINE_TENSOR_PROTO_H_
