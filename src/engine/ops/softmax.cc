// Softmax and LogSoftmax.
//
// Before opset 13 the input is coerced to 2-D at `axis` (default 1) and the
// op runs over everything from `axis` on; from 13 it runs along the single
// dimension `axis` (default -1). Both reduce to the same loop over
// [outer, n, inner].
//
// Fast path (float32 Softmax over contiguous trailing elements, inner == 1,
// e.g. attention scores): a oneDNN softmax on [outer, n], cached per shape.
#include <cmath>

#include "../dnnl_util.h"
#include "../kernel.h"
#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

class SoftmaxKernel : public Kernel {
 public:
  SoftmaxKernel(int64_t axis, bool coerce_2d, bool log)
      : axis_(axis), coerce_2d_(coerce_2d), log_(log), fast_(!DnnlDisabled() && !log) {}

  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "input"));
    const int64_t rank = static_cast<int64_t>(x->rank());
    if (rank == 0) return Status::InvalidArgument("Softmax input must have rank >= 1");
    CITADEL_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(axis_, rank));
    int64_t outer = 1, n = 1, inner = 1;
    for (int64_t i = 0; i < rank; ++i) {
      const int64_t d = x->shape()[i];
      if (i < axis) outer *= d;
      else if (i == axis || coerce_2d_) n *= d;
      else inner *= d;
    }
    if (fast_ && inner == 1 && x->dtype() == DType::kFloat32 && outer > 0 && n > 0) {
      auto prim = cache_.Get({outer, n}, [&] {
        dnnl::memory::desc md({outer, n}, dnnl::memory::data_type::f32, dnnl::memory::format_tag::ab);
        auto d = dnnl::softmax_forward::desc(dnnl::prop_kind::forward_inference, md, 1);
        dnnl::primitive_attr attr;
        attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
        auto pd = dnnl::softmax_forward::primitive_desc(d, attr, CpuEngine());
        return std::make_shared<const Prim>(Prim{dnnl::softmax_forward(pd), pd.scratchpad_desc()});
      });
      if (prim) {
        CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitialized(0, x->dtype(), x->shape()));
        dnnl::memory::desc md({outer, n}, dnnl::memory::data_type::f32, dnnl::memory::format_tag::ab);
        dnnl::engine& eng = CpuEngine();
        ExecuteWithScratchpad(prim->prim, prim->scratch_md,
                              {{DNNL_ARG_SRC, dnnl::memory(md, eng, const_cast<float*>(x->data<float>()))},
                               {DNNL_ARG_DST, dnnl::memory(md, eng, y->data<float>())}});
        return Status::Ok();
      }
    }
    return DispatchFloat(x->dtype(), [&]<typename T>() -> Status {
      CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.Allocate(0, x->dtype(), x->shape()));
      const T* X = x->data<T>();
      T* Y = y->data<T>();
      for (int64_t o = 0; o < outer; ++o) {
        for (int64_t in = 0; in < inner; ++in) {
          const int64_t base = o * n * inner + in;
          // Subtracting the max keeps exp() finite for large logits.
          T mx = -INFINITY;
          for (int64_t k = 0; k < n; ++k) mx = std::max(mx, X[base + k * inner]);
          double sum = 0;
          for (int64_t k = 0; k < n; ++k) sum += std::exp(static_cast<double>(X[base + k * inner] - mx));
          if (log_) {
            const double lse = std::log(sum);
            for (int64_t k = 0; k < n; ++k) {
              Y[base + k * inner] = static_cast<T>(X[base + k * inner] - mx - lse);
            }
          } else {
            for (int64_t k = 0; k < n; ++k) {
              Y[base + k * inner] =
                  static_cast<T>(std::exp(static_cast<double>(X[base + k * inner] - mx)) / sum);
            }
          }
        }
      }
      return Status::Ok();
    });
  }

 private:
  struct Prim {
    dnnl::primitive prim;
    dnnl::memory::desc scratch_md;
  };
  int64_t axis_;
  bool coerce_2d_;
  bool log_;
  bool fast_;
  ShapeCache<Prim> cache_;
};

KernelFactory Softmax(bool log) {
  return [log](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    const bool coerce = init.opset < 13;
    CITADEL_ASSIGN_OR_RETURN(int64_t axis, init.node.attrs.GetInt("axis", coerce ? 1 : -1));
    return std::unique_ptr<Kernel>(std::make_unique<SoftmaxKernel>(axis, coerce, log));
  };
}

}  // namespace

void RegisterSoftmaxOps(OpRegistry& r) {
  r.Register("", "Softmax", 1, kMaxOnnxOpset, Softmax(false));
  r.Register("", "LogSoftmax", 1, kMaxOnnxOpset, Softmax(true));
}

}  // namespace citadel::engine::ops
