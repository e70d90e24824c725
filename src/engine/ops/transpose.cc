// Transpose: a strided gather, dispatched on element size.
#include <cstring>
#include <numeric>

#include "../kernel.h"
#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

class TransposeKernel : public Kernel {
 public:
  explicit TransposeKernel(std::vector<int64_t> perm) : perm_(std::move(perm)) {}
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "data"));
    const size_t rank = x->rank();
    std::vector<int64_t> perm = perm_;
    if (perm.empty()) {
      perm.resize(rank);
      std::iota(perm.rbegin(), perm.rend(), 0);
    }
    if (perm.size() != rank) {
      return Status::InvalidArgument("Transpose perm " + ShapeToString(perm) +
                                     " does not match rank " + std::to_string(rank));
    }
    std::vector<bool> used(rank, false);
    for (int64_t p : perm) {
      if (p < 0 || p >= static_cast<int64_t>(rank) || used[p]) {
        return Status::InvalidArgument("Transpose perm " + ShapeToString(perm) + " is not a permutation");
      }
      used[p] = true;
    }
    Shape out_shape(rank);
    for (size_t i = 0; i < rank; ++i) out_shape[i] = x->shape()[perm[i]];
    CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.Allocate(0, x->dtype(), out_shape));
    // in_strides permuted: walking the output row-major reads the input here.
    const auto in_strides = Strides(x->shape());
    Shape permuted_strides(rank);
    for (size_t i = 0; i < rank; ++i) permuted_strides[i] = in_strides[perm[i]];
    const size_t w = DTypeSize(x->dtype());
    const uint8_t* src = x->raw_data();
    uint8_t* dst = y->raw_data();
    std::vector<int64_t> idx(rank, 0);
    int64_t off = 0;
    for (size_t i = 0; i < y->num_elements(); ++i) {
      std::memcpy(dst + i * w, src + off * w, w);
      for (size_t d = rank; d-- > 0;) {
        ++idx[d];
        off += permuted_strides[d];
        if (idx[d] < out_shape[d]) break;
        off -= permuted_strides[d] * out_shape[d];
        idx[d] = 0;
      }
    }
    return Status::Ok();
  }

 private:
  std::vector<int64_t> perm_;
};

}  // namespace

void RegisterTransposeOps(OpRegistry& r) {
  r.Register("", "Transpose", 1, kMaxOnnxOpset, [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    CITADEL_ASSIGN_OR_RETURN(auto perm, init.node.attrs.GetInts("perm", {}));
    return std::unique_ptr<Kernel>(std::make_unique<TransposeKernel>(perm));
  });
}

}  // namespace citadel::engine::ops
