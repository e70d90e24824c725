// MaxUnpool: scatters X into a zero tensor at the flat indices I (as
// MaxPool's Indices output gives them: over the whole output tensor,
// row-major). The output shape is output_shape when given, else the
// inverse of the pooling geometry: (in - 1) * stride + kernel - pads.
//
// With output_shape, the indices address that shape, which is the point of
// the input (recovering the shape MaxPool saw). ONNX 1.12's
// test_maxunpool_export_with_output_shape expects them re-based from the
// default shape instead; ONNX Runtime and Citadel both follow the spec.
#include "../kernel.h"
#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

class MaxUnpoolKernel : public Kernel {
 public:
  MaxUnpoolKernel(std::vector<int64_t> kernel, std::vector<int64_t> strides, std::vector<int64_t> pads)
      : kernel_(std::move(kernel)), strides_(std::move(strides)), pads_(std::move(pads)) {}

  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "X"));
    CITADEL_ASSIGN_OR_RETURN(const Tensor* ind, RequireInput(ctx, 1, "I"));
    CITADEL_RETURN_IF_ERROR(ExpectDType(*ind, DType::kInt64, "MaxUnpool I"));
    const size_t spatial = kernel_.size();
    if (x->rank() != spatial + 2 || ind->shape() != x->shape()) {
      return Status::InvalidArgument("MaxUnpool X " + ShapeToString(x->shape()) + " and I " +
                                     ShapeToString(ind->shape()) + " must match, with " +
                                     std::to_string(spatial) + " spatial dims");
    }
    Shape out_shape = {x->shape()[0], x->shape()[1]};
    for (size_t i = 0; i < spatial; ++i) {
      out_shape.push_back((x->shape()[i + 2] - 1) * strides_[i] + kernel_[i] - pads_[i] - pads_[i + spatial]);
    }
    if (const Tensor* os = ctx.input(2)) {
      CITADEL_ASSIGN_OR_RETURN(std::vector<int64_t> v, ReadInt64s(*os, "MaxUnpool output_shape"));
      if (v.size() != out_shape.size() || v[0] != out_shape[0] || v[1] != out_shape[1]) {
        return Status::InvalidArgument("MaxUnpool output_shape " + ShapeToString(v) + " does not fit input " +
                                       ShapeToString(x->shape()));
      }
      for (size_t i = 2; i < v.size(); ++i) {
        if (v[i] < out_shape[i]) {
          return Status::InvalidArgument("MaxUnpool output_shape " + ShapeToString(v) +
                                         " is smaller than the unpooled shape " + ShapeToString(out_shape));
        }
      }
      out_shape = v;
    }
    for (int64_t dim : out_shape) {
      if (dim <= 0) return Status::InvalidArgument("MaxUnpool output shape " + ShapeToString(out_shape) + " is empty");
    }
    CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.Allocate(0, x->dtype(), out_shape));
    const int64_t total = static_cast<int64_t>(y->num_elements());
    const int64_t* I = ind->data<int64_t>();
    return DispatchNumeric(x->dtype(), [&]<typename T>() -> Status {
      for (size_t i = 0; i < x->num_elements(); ++i) {
        if (I[i] < 0 || I[i] >= total) {
          return Status::InvalidArgument("MaxUnpool index " + std::to_string(I[i]) + " is outside the output (" +
                                         std::to_string(total) + " elements)");
        }
        y->data<T>()[I[i]] = x->data<T>()[i];
      }
      return Status::Ok();
    });
  }

 private:
  std::vector<int64_t> kernel_, strides_, pads_;
};

}  // namespace

void RegisterMaxUnpoolOps(OpRegistry& r) {
  r.Register("", "MaxUnpool", 9, kMaxOnnxOpset, [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    const Attributes& a = init.node.attrs;
    if (!a.Has("kernel_shape")) return Status::InvalidArgument("MaxUnpool needs kernel_shape");
    CITADEL_ASSIGN_OR_RETURN(std::vector<int64_t> kernel, a.GetInts("kernel_shape", {}));
    const size_t n = kernel.size();
    if (n == 0 || n > 3) return Status::Unsupported("MaxUnpool over " + std::to_string(n) + " spatial dims is not supported");
    CITADEL_ASSIGN_OR_RETURN(std::vector<int64_t> strides, a.GetInts("strides", std::vector<int64_t>(n, 1)));
    CITADEL_ASSIGN_OR_RETURN(std::vector<int64_t> pads, a.GetInts("pads", std::vector<int64_t>(2 * n, 0)));
    if (strides.size() != n || pads.size() != 2 * n) {
      return Status::InvalidArgument("MaxUnpool strides/pads do not match kernel_shape");
    }
    for (size_t i = 0; i < n; ++i) {
      if (kernel[i] <= 0 || kernel[i] > (1 << 20) || strides[i] <= 0 || strides[i] > (1 << 20) || pads[i] < 0 ||
          pads[i + n] < 0 || pads[i] > (1 << 20) || pads[i + n] > (1 << 20)) {
        return Status::InvalidArgument("MaxUnpool kernel_shape/strides/pads out of range");
      }
    }
    return std::unique_ptr<Kernel>(std::make_unique<MaxUnpoolKernel>(kernel, strides, pads));
  });
}

}  // namespace citadel::engine::ops
