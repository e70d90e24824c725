// Gather along one axis. Indices are bounds-checked (negative ones count
// from the end); an out-of-range index is InvalidArgument, never a read
// outside the buffer.
#include <cstring>

#include "../kernel.h"
#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

class GatherKernel : public Kernel {
 public:
  explicit GatherKernel(int64_t axis) : axis_(axis) {}
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "data"));
    CITADEL_ASSIGN_OR_RETURN(const Tensor* ind, RequireInput(ctx, 1, "indices"));
    const int64_t rank = static_cast<int64_t>(x->rank());
    if (rank == 0) return Status::InvalidArgument("Gather data must have rank >= 1");
    CITADEL_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(axis_, rank));
    std::vector<int64_t> idx(ind->num_elements());
    if (ind->dtype() == DType::kInt64) {
      std::memcpy(idx.data(), ind->raw_data(), idx.size() * 8);
    } else if (ind->dtype() == DType::kInt32) {
      for (size_t i = 0; i < idx.size(); ++i) idx[i] = ind->data<int32_t>()[i];
    } else {
      return Status::InvalidArgument("Gather indices must be int32 or int64");
    }
    const int64_t dim = x->shape()[axis];
    for (int64_t& i : idx) {
      if (i < -dim || i >= dim) {
        return Status::InvalidArgument("Gather index " + std::to_string(i) +
                                       " is out of range for dimension " + std::to_string(dim));
      }
      if (i < 0) i += dim;
    }
    Shape out_shape(x->shape().begin(), x->shape().begin() + axis);
    out_shape.insert(out_shape.end(), ind->shape().begin(), ind->shape().end());
    out_shape.insert(out_shape.end(), x->shape().begin() + axis + 1, x->shape().end());
    CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.Allocate(0, x->dtype(), out_shape));
    int64_t outer = 1, inner = static_cast<int64_t>(DTypeSize(x->dtype()));
    for (int64_t d = 0; d < axis; ++d) outer *= x->shape()[d];
    for (int64_t d = axis + 1; d < rank; ++d) inner *= x->shape()[d];
    uint8_t* dst = y->raw_data();
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t i : idx) {
        std::memcpy(dst, x->raw_data() + (o * dim + i) * inner, inner);
        dst += inner;
      }
    }
    return Status::Ok();
  }

 private:
  int64_t axis_;
};

}  // namespace

void RegisterGatherOps(OpRegistry& r) {
  r.Register("", "Gather", 1, kMaxOnnxOpset, [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    CITADEL_ASSIGN_OR_RETURN(int64_t axis, init.node.attrs.GetInt("axis", 0));
    return std::unique_ptr<Kernel>(std::make_unique<GatherKernel>(axis));
  });
}

}  // namespace citadel::engine::ops
