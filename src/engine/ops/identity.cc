// Identity and inference-mode Dropout: the output shares the input's buffer
// (tensors are immutable once produced, so sharing is safe).
#include "../kernel.h"
#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

class IdentityKernel : public Kernel {
 public:
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "input"));
    ctx.SetOutput(0, *x);
    return Status::Ok();
  }
};

// Dropout at inference is the identity; the optional mask output is all true.
// Training mode (opset 12+, input 2) is honoured only with ratio 0, where it
// is also the identity; real random dropout has no place in inference.
class DropoutKernel : public Kernel {
 public:
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "data"));
    const Tensor* training = ctx.input(2);
    if (training != nullptr && training->num_elements() == 1 && training->raw_data()[0] != 0) {
      const Tensor* ratio = ctx.input(1);
      bool zero_ratio = ratio != nullptr && ratio->num_elements() == 1 &&
                        ((ratio->dtype() == DType::kFloat32 && ratio->data<float>()[0] == 0) ||
                         (ratio->dtype() == DType::kFloat64 && ratio->data<double>()[0] == 0));
      if (!zero_ratio) {
        return Status::Unsupported("Dropout in training mode is not supported");
      }
    }
    ctx.SetOutput(0, *x);
    if (ctx.num_outputs() > 1) {
      CITADEL_ASSIGN_OR_RETURN(Tensor * mask, ctx.Allocate(1, DType::kBool, x->shape()));
      std::fill_n(mask->raw_data(), mask->num_elements(), uint8_t{1});
    }
    return Status::Ok();
  }
};

}  // namespace

void RegisterIdentityOps(OpRegistry& r) {
  r.Register("", "Identity", 1, kMaxOnnxOpset, SimpleFactory<IdentityKernel>());
  // Opsets before 7 had an is_test attribute and different outputs.
  r.Register("", "Dropout", 7, kMaxOnnxOpset, SimpleFactory<DropoutKernel>());
}

}  // namespace citadel::engine::ops
