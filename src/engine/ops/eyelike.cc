// EyeLike: a 2-D tensor shaped like the input with ones on the k-th
// diagonal (k > 0 above the main one) and zeros elsewhere; the element type
// is the 'dtype' attribute, else the input's.
#include "../kernel.h"
#include "../tensor_proto.h"
#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

class EyeLikeKernel : public Kernel {
 public:
  EyeLikeKernel(std::optional<DType> dtype, int64_t k) : dtype_(dtype), k_(k) {}
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "input"));
    if (x->rank() != 2) return Status::InvalidArgument("EyeLike input must be 2-D, got " + ShapeToString(x->shape()));
    const DType dt = dtype_ ? *dtype_ : x->dtype();
    CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.Allocate(0, dt, x->shape()));
    const int64_t rows = x->shape()[0], cols = x->shape()[1];
    if (dt == DType::kBool) {
      for (int64_t i = 0; i < rows; ++i) {
        const int64_t j = i + k_;
        if (j >= 0 && j < cols) y->raw_data()[i * cols + j] = 1;
      }
      return Status::Ok();
    }
    return DispatchNumeric(dt, [&]<typename T>() -> Status {
      for (int64_t i = 0; i < rows; ++i) {
        // |k| is checked against int32 range at load, so i + k cannot overflow.
        const int64_t j = i + k_;
        if (j >= 0 && j < cols) y->data<T>()[i * cols + j] = T{1};
      }
      return Status::Ok();
    });
  }

 private:
  std::optional<DType> dtype_;
  int64_t k_;
};

}  // namespace

void RegisterEyeLikeOps(OpRegistry& r) {
  r.Register("", "EyeLike", 9, kMaxOnnxOpset, [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    CITADEL_ASSIGN_OR_RETURN(int64_t k, init.node.attrs.GetInt("k", 0));
    if (k < INT32_MIN || k > INT32_MAX) return Status::InvalidArgument("EyeLike k is out of range");
    std::optional<DType> dt;
    if (init.node.attrs.Has("dtype")) {
      CITADEL_ASSIGN_OR_RETURN(int64_t d, init.node.attrs.GetInt("dtype", 0));
      CITADEL_ASSIGN_OR_RETURN(DType t, DTypeFromOnnx(static_cast<int32_t>(d)));
      if (t == DType::kString || t == DType::kFloat16 || t == DType::kBFloat16) {
        return Status::Unsupported("EyeLike to " + std::string(DTypeName(t)) + " is not supported");
      }
      dt = t;
    }
    return std::unique_ptr<Kernel>(std::make_unique<EyeLikeKernel>(dt, k));
  });
}

}  // namespace citadel::engine::ops
