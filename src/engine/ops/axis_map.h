// Data movement through per-axis index maps: output element (o_0..o_{r-1})
// reads input element (map_0[o_0], ..., map_{r-1}[o_{r-1}]), or the fill value
// when any map entry is -1. Slice, Pad, Tile and Expand are all this shape of
// copy; expressing them this way keeps the bounds checks in one place.
#ifndef CITADEL_ENGINE_OPS_AXIS_MAP_H_
#define CITADEL_ENGINE_OPS_AXIS_MAP_H_

#include <cstdint>
#include <vector>

#include "citadel/status.h"
#include "citadel/tensor.h"

namespace citadel::engine::ops {

using AxisMaps = std::vector<std::vector<int64_t>>;

// `in` and `out` have the same rank and element type; maps[a].size() ==
// out->shape()[a]; every entry is -1 or a valid index into in->shape()[a]
// (checked: InvalidArgument otherwise). `fill` points at one element (may be
// nullptr when no map holds -1).
Status CopyThroughAxisMaps(const Tensor& in, const AxisMaps& maps, const uint8_t* fill,
                           Tensor* out);

// `in`'s shape left-padded with 1s to `rank`.
Shape PadShapeLeft(const Shape& s, size_t rank);

}  // namespace citadel::engine::ops

#endif  // CITADEL_ENGINE_OPS_AXIS_MAP_H_
