#include "axis_map.h"

#include <cstring>

#include "common.h"

namespace citadel::engine::ops {

Shape PadShapeLeft(const Shape& s, size_t rank) {
  Shape out(rank > s.size() ? rank - s.size() : 0, 1);
  out.insert(out.end(), s.begin(), s.end());
  return out;
}

Status CopyThroughAxisMaps(const Tensor& in, const AxisMaps& maps, const uint8_t* fill,
                           Tensor* out) {
  const size_t rank = out->rank();
  if (in.rank() != rank || maps.size() != rank || in.dtype() != out->dtype()) {
    return Status::Internal("CopyThroughAxisMaps: rank or dtype mismatch");
  }
  for (size_t a = 0; a < rank; ++a) {
    if (static_cast<int64_t>(maps[a].size()) != out->shape()[a]) {
      return Status::Internal("CopyThroughAxisMaps: map size mismatch");
    }
    for (int64_t v : maps[a]) {
      if (v < -1 || v >= in.shape()[a]) {
        return Status::InvalidArgument("index " + std::to_string(v) + " out of range for axis " +
                                       std::to_string(a) + " of " + ShapeToString(in.shape()));
      }
      if (v == -1 && fill == nullptr) return Status::Internal("CopyThroughAxisMaps: no fill");
    }
  }
  if (out->num_elements() == 0) return Status::Ok();
  const size_t w = DTypeSize(in.dtype());
  const uint8_t* src = in.raw_data();
  uint8_t* dst = out->raw_data();
  if (rank == 0) {
    std::memcpy(dst, src, w);
    return Status::Ok();
  }
  const std::vector<int64_t> strides = Strides(in.shape());
  // Walk the output in row-major order; `base` is the input offset of the
  // outer axes (all but the last), -1 when one of them maps to fill.
  std::vector<int64_t> idx(rank, 0);
  const std::vector<int64_t>& last = maps[rank - 1];
  const int64_t inner = out->shape()[rank - 1];
  const size_t outer = out->num_elements() / static_cast<size_t>(inner);
  for (size_t o = 0; o < outer; ++o) {
    int64_t base = 0;
    bool filled = false;
    for (size_t a = 0; a + 1 < rank; ++a) {
      const int64_t m = maps[a][idx[a]];
      if (m < 0) {
        filled = true;
        break;
      }
      base += m * strides[a];
    }
    for (int64_t j = 0; j < inner; ++j, dst += w) {
      const int64_t m = last[j];
      if (filled || m < 0) {
        std::memcpy(dst, fill, w);
      } else {
        std::memcpy(dst, src + (base + m) * static_cast<int64_t>(w), w);
      }
    }
    for (size_t a = rank - 1; a-- > 0;) {
      if (++idx[a] < out->shape()[a]) break;
      idx[a] = 0;
    }
  }
  return Status::Ok();
}

}  // namespace citadel::engine::ops
