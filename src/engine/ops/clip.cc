// Clip: min/max as attributes before opset 11, optional inputs from 11 on.
#include <limits>

#include "../kernel.h"
#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

class ClipKernel : public Kernel {
 public:
  ClipKernel(bool from_inputs, float min, float max)
      : from_inputs_(from_inputs), min_(min), max_(max) {}

  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "input"));
    return DispatchNumeric(x->dtype(), [&]<typename T>() -> Status {
      T lo = std::numeric_limits<T>::lowest();
      T hi = std::numeric_limits<T>::max();
      if (from_inputs_) {
        for (size_t k = 1; k <= 2; ++k) {
          const Tensor* b = ctx.input(k);
          if (b == nullptr) continue;
          CITADEL_RETURN_IF_ERROR(ExpectSameDType(*x, *b, "Clip bounds"));
          if (b->num_elements() != 1) {
            return Status::InvalidArgument("Clip min/max must be scalars, got " +
                                           ShapeToString(b->shape()));
          }
          (k == 1 ? lo : hi) = b->data<T>()[0];
        }
      } else {
        lo = static_cast<T>(min_);
        hi = static_cast<T>(max_);
      }
      CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.Allocate(0, x->dtype(), x->shape()));
      const T* in = x->data<T>();
      T* out = y->data<T>();
      // min is applied first, then max, so min > max yields max (as ONNX does).
      for (size_t i = 0; i < x->num_elements(); ++i) {
        T v = in[i] < lo ? lo : in[i];
        out[i] = v > hi ? hi : v;
      }
      return Status::Ok();
    });
  }

 private:
  bool from_inputs_;
  float min_, max_;
};

}  // namespace

void RegisterClipOps(OpRegistry& r) {
  r.Register("", "Clip", 6, 10, [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    CITADEL_ASSIGN_OR_RETURN(float lo, init.node.attrs.GetFloat("min", std::numeric_limits<float>::lowest()));
    CITADEL_ASSIGN_OR_RETURN(float hi, init.node.attrs.GetFloat("max", std::numeric_limits<float>::max()));
    return std::unique_ptr<Kernel>(std::make_unique<ClipKernel>(false, lo, hi));
  });
  r.Register("", "Clip", 11, kMaxOnnxOpset, [](const KernelInit&) -> Result<std::unique_ptr<Kernel>> {
    return std::unique_ptr<Kernel>(std::make_unique<ClipKernel>(true, 0, 0));
  });
}

}  // namespace citadel::engine::ops
