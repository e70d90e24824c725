// NumPy .npy files (format versions 1.0, 2.0 and 3.0), the exchange format of
// the CLI and the Python client. The reader treats its input as hostile:
// header length, dict syntax, dtype and shape are all checked before any
// allocation, and the data length must match exactly.
#ifndef CITADEL_NPY_H_
#define CITADEL_NPY_H_

#include <string>

#include "citadel/bytes.h"
#include "citadel/tensor.h"

namespace citadel {

struct NpyLimits {
  size_t max_header_bytes = 64 * 1024;
  size_t max_data_bytes = size_t{1} << 32;
};

// Supports little-endian (and 1-byte) numeric dtypes and bool, C order.
// Fortran order, object arrays and big-endian data are rejected (Unsupported).
Result<Tensor> ReadNpy(ByteSpan bytes, const NpyLimits& limits = {});
Result<Tensor> ReadNpyFile(const std::string& path, const NpyLimits& limits = {});
// Strings are not representable in .npy here (Unsupported).
Result<Bytes> WriteNpy(const Tensor& tensor);
Status WriteNpyFile(const std::string& path, const Tensor& tensor);

}  // namespace citadel

#endif  // CITADEL_NPY_H_
