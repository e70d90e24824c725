// ReverseSequence: for each batch entry b, reverses the first
// sequence_lens[b] steps along time_axis; the rest is copied. batch_axis
// and time_axis are 0 and 1 in either order.
#include <cstring>

#include "../kernel.h"
#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

class ReverseSequenceKernel : public Kernel {
 public:
  ReverseSequenceKernel(int64_t batch_axis, int64_t time_axis) : batch_axis_(batch_axis), time_axis_(time_axis) {}
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "input"));
    CITADEL_ASSIGN_OR_RETURN(const Tensor* l, RequireInput(ctx, 1, "sequence_lens"));
    if (x->rank() < 2) return Status::InvalidArgument("ReverseSequence input must have rank >= 2");
    CITADEL_ASSIGN_OR_RETURN(std::vector<int64_t> lens, ReadInt64s(*l, "sequence_lens"));
    const int64_t batch = x->shape()[batch_axis_], steps = x->shape()[time_axis_];
    if (static_cast<int64_t>(lens.size()) != batch) {
      return Status::InvalidArgument("ReverseSequence sequence_lens has " + std::to_string(lens.size()) +
                                     " entries for batch size " + std::to_string(batch));
    }
    for (int64_t v : lens) {
      if (v < 0 || v > steps) {
        return Status::InvalidArgument("ReverseSequence sequence length " + std::to_string(v) +
                                       " is outside [0, " + std::to_string(steps) + "]");
      }
    }
    const bool string = x->dtype() == DType::kString;
    const size_t w = string ? 1 : DTypeSize(x->dtype());
    int64_t inner = 1;
    for (size_t d = 2; d < x->rank(); ++d) inner *= x->shape()[d];
    Tensor* y = nullptr;
    std::vector<std::string> strs;
    if (string) {
      strs.resize(x->num_elements());
    } else {
      CITADEL_ASSIGN_OR_RETURN(y, ctx.AllocateUninitialized(0, x->dtype(), x->shape()));
    }
    // Element block (b, t) starts at (b * steps + t) * inner (batch first)
    // or (t * batch + b) * inner (time first).
    auto block = [&](int64_t b, int64_t t) {
      return (batch_axis_ == 0 ? b * steps + t : t * batch + b) * inner;
    };
    for (int64_t b = 0; b < batch; ++b) {
      for (int64_t t = 0; t < steps; ++t) {
        const int64_t src = t < lens[b] ? lens[b] - 1 - t : t;
        const int64_t to = block(b, t), from = block(b, src);
        if (string) {
          for (int64_t i = 0; i < inner; ++i) strs[to + i] = x->strings()[from + i];
        } else {
          std::memcpy(y->raw_data() + to * w, x->raw_data() + from * w, inner * w);
        }
      }
    }
    if (string) return SetStringOutput(ctx, 0, x->shape(), std::move(strs));
    return Status::Ok();
  }

 private:
  int64_t batch_axis_, time_axis_;
};

}  // namespace

void RegisterReverseSequenceOps(OpRegistry& r) {
  r.Register("", "ReverseSequence", 10, kMaxOnnxOpset, [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    CITADEL_ASSIGN_OR_RETURN(int64_t batch_axis, init.node.attrs.GetInt("batch_axis", 1));
    CITADEL_ASSIGN_OR_RETURN(int64_t time_axis, init.node.attrs.GetInt("time_axis", 0));
    if (!((batch_axis == 0 && time_axis == 1) || (batch_axis == 1 && time_axis == 0))) {
      return Status::InvalidArgument("ReverseSequence batch_axis/time_axis must be 0 and 1 in some order");
    }
    return std::unique_ptr<Kernel>(std::make_unique<ReverseSequenceKernel>(batch_axis, time_axis));
  });
}

}  // namespace citadel::engine::ops
