// BatchNormalization in inference mode:
//   Y = (X - mean) / sqrt(var + epsilon) * scale + B, per channel (dim 1).
// Training mode (opset 14+ attribute) updates statistics; not supported.
#include <cmath>

#include "../kernel.h"
#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

class BatchNormKernel : public Kernel {
 public:
  explicit BatchNormKernel(float eps) : eps_(eps) {}
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "X"));
    const Tensor* p[4];
    const char* names[4] = {"scale", "B", "input_mean", "input_var"};
    for (int i = 0; i < 4; ++i) {
      CITADEL_ASSIGN_OR_RETURN(p[i], RequireInput(ctx, i + 1, names[i]));
    }
    if (x->rank() < 2) return Status::InvalidArgument("BatchNormalization input must have rank >= 2");
    const int64_t C = x->shape()[1];
    for (int i = 0; i < 4; ++i) {
      CITADEL_RETURN_IF_ERROR(ExpectSameDType(*x, *p[i], "BatchNormalization inputs"));
      if (p[i]->rank() != 1 || p[i]->shape()[0] != C) {
        return Status::InvalidArgument(std::string("BatchNormalization ") + names[i] + " must be [" +
                                       std::to_string(C) + "], got " + ShapeToString(p[i]->shape()));
      }
    }
    return DispatchFloat(x->dtype(), [&]<typename T>() -> Status {
      CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.Allocate(0, x->dtype(), x->shape()));
      const int64_t N = x->shape()[0];
      const int64_t plane = C == 0 || N == 0 ? 0 : static_cast<int64_t>(x->num_elements()) / (N * C);
      for (int64_t c = 0; c < C; ++c) {
        const double a = p[0]->data<T>()[c] / std::sqrt(static_cast<double>(p[3]->data<T>()[c]) + eps_);
        const double b = p[1]->data<T>()[c] - a * p[2]->data<T>()[c];
        for (int64_t n = 0; n < N; ++n) {
          const T* in = x->data<T>() + (n * C + c) * plane;
          T* out = y->data<T>() + (n * C + c) * plane;
          for (int64_t i = 0; i < plane; ++i) out[i] = static_cast<T>(a * in[i] + b);
        }
      }
      return Status::Ok();
    });
  }

 private:
  float eps_;
};

}  // namespace

void RegisterBatchNormOps(OpRegistry& r) {
  r.Register("", "BatchNormalization", 7, kMaxOnnxOpset, [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    CITADEL_ASSIGN_OR_RETURN(float eps, init.node.attrs.GetFloat("epsilon", 1e-5f));
    CITADEL_ASSIGN_OR_RETURN(int64_t training, init.node.attrs.GetInt("training_mode", 0));
    CITADEL_ASSIGN_OR_RETURN(int64_t spatial, init.node.attrs.GetInt("spatial", 1));
    if (training != 0) return Status::Unsupported("BatchNormalization in training mode is not supported");
    if (spatial != 1) return Status::Unsupported("BatchNormalization with spatial=0 is not supported");
    size_t used_outputs = 0;
    for (int o : init.node.outputs) used_outputs += o != kNoValue;
    if (used_outputs > 1) {
      return Status::Unsupported("BatchNormalization running-statistics outputs are not supported");
    }
    return std::unique_ptr<Kernel>(std::make_unique<BatchNormKernel>(eps));
  });
}

}  // namespace citadel::engine::ops
