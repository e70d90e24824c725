// HannWindow, HammingWindow, BlackmanWindow (opset 17): a 1-D window of
// `size` samples, periodic (denominator N) or symmetric (N - 1), computed
// in double and written as output_datatype (float32 by default).
#include <cmath>
#include <numbers>

#include "../kernel.h"
#include "../tensor_proto.h"
#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

enum class Window { kHann, kHamming, kBlackman };

class WindowKernel : public Kernel {
 public:
  WindowKernel(Window w, bool periodic, DType dtype) : w_(w), periodic_(periodic), dtype_(dtype) {}
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* st, RequireInput(ctx, 0, "size"));
    CITADEL_ASSIGN_OR_RETURN(std::vector<int64_t> sv, ReadInt64s(*st, "window size"));
    if (sv.size() != 1 || sv[0] < 0) return Status::InvalidArgument("window size must be a non-negative scalar");
    const int64_t n = sv[0];
    CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.Allocate(0, dtype_, {n}));
    const double denom = periodic_ ? static_cast<double>(n) : static_cast<double>(n - 1);
    return DispatchNumeric(dtype_, [&]<typename T>() -> Status {
      for (int64_t i = 0; i < n; ++i) {
        // A 1-sample symmetric window divides by zero: numpy and the ONNX
        // reference give NaN there; 1 is the meaningful value.
        const double t = denom == 0 ? 0 : 2 * std::numbers::pi * static_cast<double>(i) / denom;
        double v;
        switch (w_) {
          case Window::kHann: v = 0.5 - 0.5 * std::cos(t); break;
          // ONNX's Hamming coefficients: alpha = 25/46, beta = 1 - alpha.
          case Window::kHamming: v = 25.0 / 46.0 - 21.0 / 46.0 * std::cos(t); break;
          default: v = 0.42 - 0.5 * std::cos(t) + 0.08 * std::cos(2 * t); break;
        }
        y->data<T>()[i] = static_cast<T>(v);
      }
      return Status::Ok();
    });
  }

 private:
  Window w_;
  bool periodic_;
  DType dtype_;
};

KernelFactory WindowFactory(Window w) {
  return [w](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    CITADEL_ASSIGN_OR_RETURN(int64_t periodic, init.node.attrs.GetInt("periodic", 1));
    CITADEL_ASSIGN_OR_RETURN(int64_t odt, init.node.attrs.GetInt("output_datatype", 1));
    CITADEL_ASSIGN_OR_RETURN(DType dt, DTypeFromOnnx(static_cast<int32_t>(odt)));
    if (dt == DType::kString || dt == DType::kBool || dt == DType::kFloat16 || dt == DType::kBFloat16) {
      return Status::Unsupported("window output_datatype " + std::string(DTypeName(dt)) + " is not supported");
    }
    return std::unique_ptr<Kernel>(std::make_unique<WindowKernel>(w, periodic != 0, dt));
  };
}

}  // namespace

void RegisterWindowOps(OpRegistry& r) {
  r.Register("", "HannWindow", 17, kMaxOnnxOpset, WindowFactory(Window::kHann));
  r.Register("", "HammingWindow", 17, kMaxOnnxOpset, WindowFactory(Window::kHamming));
  r.Register("", "BlackmanWindow", 17, kMaxOnnxOpset, WindowFactory(Window::kBlackman));
}

}  // namespace citadel::engine::ops
