// TopK along one axis: values and int64 indices, largest or smallest first;
// ties keep the lower index first (stable), as the ONNX reference does.
#include <algorithm>
#include <numeric>

#include "../kernel.h"
#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

class TopKKernel : public Kernel {
 public:
  TopKKernel(int64_t axis, bool largest, int64_t k_attr) : axis_(axis), largest_(largest), k_attr_(k_attr) {}
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "X"));
    int64_t k = k_attr_;
    if (k < 0) {
      CITADEL_ASSIGN_OR_RETURN(const Tensor* kt, RequireInput(ctx, 1, "K"));
      CITADEL_ASSIGN_OR_RETURN(std::vector<int64_t> kv, ReadInt64s(*kt, "TopK K"));
      if (kv.size() != 1) return Status::InvalidArgument("TopK K must have one element");
      k = kv[0];
    }
    const int64_t rank = static_cast<int64_t>(x->rank());
    CITADEL_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(axis_, rank));
    const int64_t dim = x->shape()[axis];
    if (k < 0 || k > dim) {
      return Status::InvalidArgument("TopK K=" + std::to_string(k) + " is out of range for axis size " +
                                     std::to_string(dim));
    }
    Shape out_shape = x->shape();
    out_shape[axis] = k;
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= x->shape()[d];
    for (int64_t d = axis + 1; d < rank; ++d) inner *= x->shape()[d];
    return DispatchNumeric(x->dtype(), [&]<typename T>() -> Status {
      CITADEL_ASSIGN_OR_RETURN(Tensor * vals, ctx.Allocate(0, x->dtype(), out_shape));
      CITADEL_ASSIGN_OR_RETURN(Tensor * inds, ctx.Allocate(1, DType::kInt64, out_shape));
      const T* in = x->data<T>();
      std::vector<int64_t> order(dim);
      for (int64_t o = 0; o < outer; ++o) {
        for (int64_t i = 0; i < inner; ++i) {
          const T* p = in + o * dim * inner + i;
          std::iota(order.begin(), order.end(), 0);
          auto cmp = [&](int64_t a, int64_t b) {
            return largest_ ? p[a * inner] > p[b * inner] : p[a * inner] < p[b * inner];
          };
          std::stable_sort(order.begin(), order.end(), cmp);
          for (int64_t j = 0; j < k; ++j) {
            const int64_t off = (o * k + j) * inner + i;
            vals->data<T>()[off] = p[order[j] * inner];
            inds->data<int64_t>()[off] = order[j];
          }
        }
      }
      return Status::Ok();
    });
  }

 private:
  int64_t axis_;
  bool largest_;
  int64_t k_attr_;  // opset 1 attribute, -1 when K is an input
};

}  // namespace

void RegisterTopKOps(OpRegistry& r) {
  r.Register("", "TopK", 1, kMaxOnnxOpset, [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    CITADEL_ASSIGN_OR_RETURN(int64_t axis, init.node.attrs.GetInt("axis", -1));
    CITADEL_ASSIGN_OR_RETURN(int64_t largest, init.node.attrs.GetInt("largest", 1));
    int64_t k_attr = -1;
    if (init.opset < 10) {
      CITADEL_ASSIGN_OR_RETURN(k_attr, init.node.attrs.GetInt("k", -1));
      if (k_attr < 0) return Status::InvalidArgument("TopK-1 needs a non-negative k attribute");
    }
    return std::unique_ptr<Kernel>(std::make_unique<TopKKernel>(axis, largest != 0, k_attr));
  });
}

}  // namespace citadel::engine::ops
