// Trilu: keep the upper (j - i >= k) or lower (j - i <= k) triangle of the
// last two dimensions, zero the rest.
#include <cstring>

#include "../kernel.h"
#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

class TriluKernel : public Kernel {
 public:
  explicit TriluKernel(bool upper) : upper_(upper) {}
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "input"));
    int64_t k = 0;
    if (const Tensor* kt = ctx.input(1)) {
      CITADEL_ASSIGN_OR_RETURN(std::vector<int64_t> kv, ReadInt64s(*kt, "Trilu k"));
      if (kv.size() != 1) return Status::InvalidArgument("Trilu k must be a scalar");
      k = kv[0];
    }
    if (x->rank() < 2) return Status::InvalidArgument("Trilu input must have rank >= 2");
    CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.Allocate(0, x->dtype(), x->shape()));
    const int64_t n = x->shape()[x->rank() - 2], m = x->shape()[x->rank() - 1];
    const size_t w = DTypeSize(x->dtype());
    const size_t mats = n * m == 0 ? 0 : x->num_elements() / static_cast<size_t>(n * m);
    for (size_t b = 0; b < mats; ++b) {
      for (int64_t i = 0; i < n; ++i) {
        for (int64_t j = 0; j < m; ++j) {
          // j - i is small (dims are allocation-bounded); k may be any int64.
          const bool keep = upper_ ? j - i >= k : j - i <= k;
          if (!keep) continue;
          const size_t off = ((b * n + i) * m + j) * w;
          std::memcpy(y->raw_data() + off, x->raw_data() + off, w);
        }
      }
    }
    return Status::Ok();
  }

 private:
  bool upper_;
};

}  // namespace

void RegisterTriluOps(OpRegistry& r) {
  r.Register("", "Trilu", 14, kMaxOnnxOpset, [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    CITADEL_ASSIGN_OR_RETURN(int64_t upper, init.node.attrs.GetInt("upper", 1));
    return std::unique_ptr<Kernel>(std::make_unique<TriluKernel>(upper != 0));
  });
}

}  // namespace citadel::engine::ops
