// Expand (broadcast to a shape) and Where (elementwise select with
// three-way broadcasting). Byte-level copies: every fixed-size element type.
#include <cstring>

#include "../kernel.h"
#include "axis_map.h"
#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

class ExpandKernel : public Kernel {
 public:
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "input"));
    CITADEL_ASSIGN_OR_RETURN(const Tensor* s, RequireInput(ctx, 1, "shape"));
    CITADEL_ASSIGN_OR_RETURN(std::vector<int64_t> shape, ReadInt64s(*s, "Expand shape"));
    for (int64_t d : shape) {
      if (d < 0) return Status::InvalidArgument("Expand shape has a negative dimension");
    }
    CITADEL_ASSIGN_OR_RETURN(Shape out_shape, BroadcastShapes(x->shape(), shape));
    CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.Allocate(0, x->dtype(), out_shape));
    const Shape in_shape = PadShapeLeft(x->shape(), out_shape.size());
    CITADEL_ASSIGN_OR_RETURN(Tensor in, x->Reshaped(in_shape));
    AxisMaps maps(out_shape.size());
    for (size_t a = 0; a < out_shape.size(); ++a) {
      maps[a].resize(out_shape[a]);
      for (int64_t o = 0; o < out_shape[a]; ++o) maps[a][o] = in_shape[a] == 1 ? 0 : o;
    }
    return CopyThroughAxisMaps(in, maps, nullptr, y);
  }
};

template <size_t W>
void SelectCopy(const uint8_t* c, const uint8_t* x, const uint8_t* y, uint8_t* out,
                const Shape& out_shape, const std::array<const Shape*, 3>& shapes) {
  ForEachBroadcast<3>(out_shape, shapes, [&](size_t i, const std::array<int64_t, 3>& o) {
    std::memcpy(out + i * W, c[o[0]] ? x + o[1] * W : y + o[2] * W, W);
  });
}

class WhereKernel : public Kernel {
 public:
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* c, RequireInput(ctx, 0, "condition"));
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 1, "X"));
    CITADEL_ASSIGN_OR_RETURN(const Tensor* y, RequireInput(ctx, 2, "Y"));
    CITADEL_RETURN_IF_ERROR(ExpectDType(*c, DType::kBool, "Where condition"));
    CITADEL_RETURN_IF_ERROR(ExpectSameDType(*x, *y, "Where X and Y"));
    CITADEL_ASSIGN_OR_RETURN(Shape xy, BroadcastShapes(x->shape(), y->shape()));
    CITADEL_ASSIGN_OR_RETURN(Shape out_shape, BroadcastShapes(c->shape(), xy));
    CITADEL_ASSIGN_OR_RETURN(Tensor * out, ctx.Allocate(0, x->dtype(), out_shape));
    const std::array<const Shape*, 3> shapes = {&c->shape(), &x->shape(), &y->shape()};
    const uint8_t *pc = c->raw_data(), *px = x->raw_data(), *py = y->raw_data();
    uint8_t* po = out->raw_data();
    switch (DTypeSize(x->dtype())) {
      case 1: SelectCopy<1>(pc, px, py, po, out_shape, shapes); break;
      case 2: SelectCopy<2>(pc, px, py, po, out_shape, shapes); break;
      case 4: SelectCopy<4>(pc, px, py, po, out_shape, shapes); break;
      case 8: SelectCopy<8>(pc, px, py, po, out_shape, shapes); break;
      default: return Status::Unsupported("Where: unsupported element type");
    }
    return Status::Ok();
  }
};

}  // namespace

void RegisterExpandOps(OpRegistry& r) {
  r.Register("", "Expand", 8, kMaxOnnxOpset, SimpleFactory<ExpandKernel>());
  r.Register("", "Where", 9, kMaxOnnxOpset, SimpleFactory<WhereKernel>());
}

}  // namespace citadel::engine::ops
