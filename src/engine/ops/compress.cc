// Compress: the slices of the input along `axis` whose condition is true
// (the input flattened when there is no axis). The condition may be shorter
// than the axis (missing entries count as false), never longer with a true
// past the end.
#include <cstring>

#include "../kernel.h"
#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

class CompressKernel : public Kernel {
 public:
  explicit CompressKernel(std::optional<int64_t> axis) : axis_(axis) {}
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "input"));
    CITADEL_ASSIGN_OR_RETURN(const Tensor* c, RequireInput(ctx, 1, "condition"));
    CITADEL_RETURN_IF_ERROR(ExpectDType(*c, DType::kBool, "Compress condition"));
    if (c->rank() != 1) return Status::InvalidArgument("Compress condition must be 1-D");
    Shape in_shape = x->shape();
    int64_t axis = 0;
    if (axis_) {
      CITADEL_ASSIGN_OR_RETURN(axis, NormalizeAxis(*axis_, static_cast<int64_t>(x->rank())));
    } else {
      in_shape = {static_cast<int64_t>(x->num_elements())};
    }
    const int64_t dim = in_shape[axis];
    const uint8_t* cond = c->raw_data();
    std::vector<int64_t> keep;
    for (int64_t i = 0; i < c->shape()[0]; ++i) {
      if (cond[i] == 0) continue;
      if (i >= dim) {
        return Status::InvalidArgument("Compress condition has a true entry at " + std::to_string(i) +
                                       " past the axis size " + std::to_string(dim));
      }
      keep.push_back(i);
    }
    Shape out_shape = in_shape;
    out_shape[axis] = static_cast<int64_t>(keep.size());
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= in_shape[d];
    for (size_t d = axis + 1; d < in_shape.size(); ++d) inner *= in_shape[d];
    const int64_t k = static_cast<int64_t>(keep.size());
    if (x->dtype() == DType::kString) {
      const auto& src = x->strings();
      std::vector<std::string> dst;
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t j = 0; j < k; ++j)
          for (int64_t i = 0; i < inner; ++i) dst.push_back(src[(o * dim + keep[j]) * inner + i]);
      return SetStringOutput(ctx, 0, out_shape, std::move(dst));
    }
    CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.Allocate(0, x->dtype(), out_shape));
    const size_t row = static_cast<size_t>(inner) * DTypeSize(x->dtype());
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t j = 0; j < k; ++j) {
        std::memcpy(y->raw_data() + (o * k + j) * row, x->raw_data() + (o * dim + keep[j]) * row, row);
      }
    }
    return Status::Ok();
  }

 private:
  std::optional<int64_t> axis_;
};

}  // namespace

void RegisterCompressOps(OpRegistry& r) {
  r.Register("", "Compress", 9, kMaxOnnxOpset, [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    std::optional<int64_t> axis;
    if (init.node.attrs.Has("axis")) {
      CITADEL_ASSIGN_OR_RETURN(int64_t a, init.node.attrs.GetInt("axis", 0));
      if (a < 0 && init.opset < 11) return Status::InvalidArgument("Compress-9 axis must be non-negative");
      axis = a;
    }
    return std::unique_ptr<Kernel>(std::make_unique<CompressKernel>(axis));
  });
}

}  // namespace citadel::engine::ops
