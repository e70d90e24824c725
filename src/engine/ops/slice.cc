// Slice (opset 1-9: starts/ends/axes attributes; 10+: inputs with steps).
// Starts/ends are clamped like numpy, so INT64_MAX/INT64_MIN ("to the end")
// work and nothing ever indexes outside the input.
#include <algorithm>
#include <limits>

#include "../kernel.h"
#include "axis_map.h"
#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

Status DoSlice(KernelContext& ctx, const Tensor& x, const std::vector<int64_t>& starts,
               const std::vector<int64_t>& ends, std::vector<int64_t> axes,
               std::vector<int64_t> steps) {
  const int64_t rank = static_cast<int64_t>(x.rank());
  if (axes.empty()) {
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  }
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (starts.size() != ends.size() || axes.size() != starts.size() ||
      steps.size() != starts.size()) {
    return Status::InvalidArgument("Slice starts/ends/axes/steps must have the same length");
  }
  AxisMaps maps(rank);
  Shape out_shape = x.shape();
  std::vector<bool> seen(rank, false);
  std::vector<int64_t> begin(rank, 0), step(rank, 1);
  for (size_t i = 0; i < axes.size(); ++i) {
    CITADEL_ASSIGN_OR_RETURN(int64_t a, NormalizeAxis(axes[i], rank, "Slice axis"));
    if (seen[a]) return Status::InvalidArgument("Slice axes repeat axis " + std::to_string(a));
    seen[a] = true;
    const int64_t dim = x.shape()[a];
    const int64_t s = steps[i];
    if (s == 0) return Status::InvalidArgument("Slice step must not be 0");
    // Negative values count from the end; clamp first so adding dim
    // cannot overflow (INT64_MIN means "before the beginning").
    int64_t b = starts[i] < 0 ? std::max<int64_t>(starts[i], -dim - 1) + dim : starts[i];
    int64_t e = ends[i] < 0 ? std::max<int64_t>(ends[i], -dim - 1) + dim : ends[i];
    int64_t n;
    if (s > 0) {
      b = std::clamp<int64_t>(b, 0, dim);
      e = std::clamp<int64_t>(e, 0, dim);
      n = e > b ? (e - b + s - 1) / s : 0;
    } else {
      b = std::clamp<int64_t>(b, 0, dim - 1);
      e = std::clamp<int64_t>(e, -1, dim - 1);
      n = b > e ? (b - e + (-s) - 1) / (-s) : 0;
    }
    out_shape[a] = n;
    begin[a] = b;
    step[a] = s;
  }
  for (int64_t a = 0; a < rank; ++a) {
    maps[a].resize(out_shape[a]);
    for (int64_t o = 0; o < out_shape[a]; ++o) maps[a][o] = begin[a] + o * step[a];
  }
  CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.Allocate(0, x.dtype(), out_shape));
  return CopyThroughAxisMaps(x, maps, nullptr, y);
}

class SliceKernel : public Kernel {
 public:
  // Opset < 10: fixed attributes.
  SliceKernel(bool from_inputs, std::vector<int64_t> starts, std::vector<int64_t> ends,
              std::vector<int64_t> axes)
      : from_inputs_(from_inputs), starts_(std::move(starts)), ends_(std::move(ends)),
        axes_(std::move(axes)) {}
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "data"));
    if (!from_inputs_) return DoSlice(ctx, *x, starts_, ends_, axes_, {});
    CITADEL_ASSIGN_OR_RETURN(const Tensor* st, RequireInput(ctx, 1, "starts"));
    CITADEL_ASSIGN_OR_RETURN(const Tensor* en, RequireInput(ctx, 2, "ends"));
    CITADEL_ASSIGN_OR_RETURN(std::vector<int64_t> starts, ReadInt64s(*st, "Slice starts"));
    CITADEL_ASSIGN_OR_RETURN(std::vector<int64_t> ends, ReadInt64s(*en, "Slice ends"));
    std::vector<int64_t> axes, steps;
    if (const Tensor* t = ctx.input(3)) {
      CITADEL_ASSIGN_OR_RETURN(axes, ReadInt64s(*t, "Slice axes"));
    }
    if (const Tensor* t = ctx.input(4)) {
      CITADEL_ASSIGN_OR_RETURN(steps, ReadInt64s(*t, "Slice steps"));
    }
    return DoSlice(ctx, *x, starts, ends, axes, steps);
  }

 private:
  bool from_inputs_;
  std::vector<int64_t> starts_, ends_, axes_;
};

}  // namespace

void RegisterSliceOps(OpRegistry& r) {
  r.Register("", "Slice", 1, 9, [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    CITADEL_ASSIGN_OR_RETURN(auto starts, init.node.attrs.GetInts("starts", {}));
    CITADEL_ASSIGN_OR_RETURN(auto ends, init.node.attrs.GetInts("ends", {}));
    CITADEL_ASSIGN_OR_RETURN(auto axes, init.node.attrs.GetInts("axes", {}));
    return std::unique_ptr<Kernel>(std::make_unique<SliceKernel>(false, starts, ends, axes));
  });
  r.Register("", "Slice", 10, kMaxOnnxOpset, [](const KernelInit&) -> Result<std::unique_ptr<Kernel>> {
    return std::unique_ptr<Kernel>(std::make_unique<SliceKernel>(true, std::vector<int64_t>{},
                                                                 std::vector<int64_t>{},
                                                                 std::vector<int64_t>{}));
  });
}

}  // namespace citadel::engine::ops
