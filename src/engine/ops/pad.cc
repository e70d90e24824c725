// Pad (constant / reflect / edge) and Tile: index-map copies, so every
// fixed-size element type works. Negative pads crop.
#include <cstring>

#include "../kernel.h"
#include "axis_map.h"
#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

enum class PadMode { kConstant, kReflect, kEdge };

Result<PadMode> ParsePadMode(const std::string& m) {
  if (m == "constant") return PadMode::kConstant;
  if (m == "reflect") return PadMode::kReflect;
  if (m == "edge") return PadMode::kEdge;
  return Status::InvalidArgument("Pad mode '" + m + "' is not one of constant, reflect, edge");
}

class PadKernel : public Kernel {
 public:
  // Opset < 11 passes pads/value as attributes (has_attr_pads).
  PadKernel(PadMode mode, bool from_inputs, std::vector<int64_t> pads, float value)
      : mode_(mode), from_inputs_(from_inputs), pads_(std::move(pads)), value_(value) {}

  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "data"));
    std::vector<int64_t> pads = pads_;
    if (from_inputs_) {
      CITADEL_ASSIGN_OR_RETURN(const Tensor* p, RequireInput(ctx, 1, "pads"));
      CITADEL_ASSIGN_OR_RETURN(pads, ReadInt64s(*p, "Pad pads"));
    }
    const size_t rank = x->rank();
    if (pads.size() != 2 * rank) {
      return Status::InvalidArgument("Pad pads has " + std::to_string(pads.size()) +
                                     " values for rank " + std::to_string(rank));
    }
    // The fill element, in the data's type.
    CITADEL_ASSIGN_OR_RETURN(Tensor fill, ctx.NewTensor(x->dtype(), {}));
    if (from_inputs_) {
      if (const Tensor* v = ctx.input(2); v != nullptr && v->num_elements() > 0) {
        CITADEL_RETURN_IF_ERROR(ExpectSameDType(*x, *v, "Pad constant_value"));
        std::memcpy(fill.raw_data(), v->raw_data(), DTypeSize(x->dtype()));
      }
    } else if (value_ != 0) {
      CITADEL_RETURN_IF_ERROR(DispatchNumeric(x->dtype(), [&]<typename T>() -> Status {
        *fill.data<T>() = static_cast<T>(value_);
        return Status::Ok();
      }));
    }
    Shape out_shape(rank);
    AxisMaps maps(rank);
    for (size_t a = 0; a < rank; ++a) {
      const int64_t dim = x->shape()[a], pb = pads[a], pe = pads[a + rank];
      // Bounded: |pads| beyond 2^40 cannot describe an allocatable tensor.
      if (pb > (int64_t{1} << 40) || pe > (int64_t{1} << 40) || pb < -dim || pe < -dim ||
          dim + pb + pe < 0) {
        return Status::InvalidArgument("Pad pads " + std::to_string(pb) + "/" + std::to_string(pe) +
                                       " are invalid for dimension " + std::to_string(dim));
      }
      out_shape[a] = dim + pb + pe;
      if (out_shape[a] > 0 && dim == 0 && mode_ != PadMode::kConstant) {
        return Status::InvalidArgument("Pad: cannot reflect or edge-pad an empty dimension");
      }
    }
    CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.Allocate(0, x->dtype(), out_shape));
    for (size_t a = 0; a < rank; ++a) {
      const int64_t dim = x->shape()[a], pb = pads[a];
      maps[a].resize(out_shape[a]);
      for (int64_t o = 0; o < out_shape[a]; ++o) {
        int64_t c = o - pb;
        if (c < 0 || c >= dim) {
          switch (mode_) {
            case PadMode::kConstant: c = -1; break;
            case PadMode::kEdge: c = c < 0 ? 0 : dim - 1; break;
            case PadMode::kReflect:
              if (dim == 1) {
                c = 0;
              } else {
                const int64_t period = 2 * (dim - 1);
                c %= period;
                if (c < 0) c += period;
                if (c >= dim) c = period - c;
              }
              break;
          }
        }
        maps[a][o] = c;
      }
    }
    return CopyThroughAxisMaps(*x, maps, fill.raw_data(), y);
  }

 private:
  PadMode mode_;
  bool from_inputs_;
  std::vector<int64_t> pads_;
  float value_;
};

class TileKernel : public Kernel {
 public:
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "input"));
    CITADEL_ASSIGN_OR_RETURN(const Tensor* r, RequireInput(ctx, 1, "repeats"));
    CITADEL_ASSIGN_OR_RETURN(std::vector<int64_t> reps, ReadInt64s(*r, "Tile repeats"));
    const size_t rank = x->rank();
    if (reps.size() != rank) {
      return Status::InvalidArgument("Tile repeats has " + std::to_string(reps.size()) +
                                     " values for rank " + std::to_string(rank));
    }
    Shape out_shape(rank);
    for (size_t a = 0; a < rank; ++a) {
      if (reps[a] < 0) return Status::InvalidArgument("Tile repeats must be non-negative");
      if (x->shape()[a] != 0 && reps[a] > (int64_t{1} << 40) / x->shape()[a]) {
        return Status::ResourceExhausted("Tile output is too large");
      }
      out_shape[a] = x->shape()[a] * reps[a];
    }
    CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.Allocate(0, x->dtype(), out_shape));
    AxisMaps maps(rank);
    for (size_t a = 0; a < rank; ++a) {
      maps[a].resize(out_shape[a]);
      for (int64_t o = 0; o < out_shape[a]; ++o) maps[a][o] = o % x->shape()[a];
    }
    return CopyThroughAxisMaps(*x, maps, nullptr, y);
  }
};

}  // namespace

void RegisterPadOps(OpRegistry& r) {
  r.Register("", "Pad", 2, 10, [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    CITADEL_ASSIGN_OR_RETURN(std::string m, init.node.attrs.GetString("mode", "constant"));
    CITADEL_ASSIGN_OR_RETURN(PadMode mode, ParsePadMode(m));
    CITADEL_ASSIGN_OR_RETURN(auto pads, init.node.attrs.GetInts("pads", {}));
    CITADEL_ASSIGN_OR_RETURN(float value, init.node.attrs.GetFloat("value", 0.0f));
    return std::unique_ptr<Kernel>(std::make_unique<PadKernel>(mode, false, pads, value));
  });
  r.Register("", "Pad", 11, kMaxOnnxOpset, [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    CITADEL_ASSIGN_OR_RETURN(std::string m, init.node.attrs.GetString("mode", "constant"));
    CITADEL_ASSIGN_OR_RETURN(PadMode mode, ParsePadMode(m));
    return std::unique_ptr<Kernel>(std::make_unique<PadKernel>(mode, true, std::vector<int64_t>{}, 0.0f));
  });
  r.Register("", "Tile", 6, kMaxOnnxOpset, SimpleFactory<TileKernel>());
}

}  // namespace citadel::engine::ops
