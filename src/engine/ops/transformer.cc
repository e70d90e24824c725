// Internal fused ops for transformer exports (domain kCitadelDomain, opset
// 1), created only by the optimiser (optimizer.cc FuseTransformerPatterns)
// from the decompositions exporters emit before opset 17:
//
//   LayerNorm(X, Scale, B; epsilon): over the last axis, Scale and B of
//     shape [last dim]. From ReduceMean, Sub, Pow 2, ReduceMean, Add eps,
//     Sqrt, Div, Mul, Add.
//   Gelu(X): 0.5 * x * (1 + erf(x / sqrt(2))). From Div, Erf, Add 1, Mul,
//     Mul 0.5.
//
// Fast paths are oneDNN layer_normalization and eltwise_gelu_erf
// primitives (vectorised, multi-threaded), cached per shape; the reference
// loops below run when oneDNN is off (CITADEL_NO_DNNL=1) or declines.
#include <cmath>

#include "../dnnl_util.h"
#include "../kernel.h"
#include "common.h"
#include "ops.h"
#include "post_ops.h"

namespace citadel::engine::ops {
namespace {

struct Prim {
  dnnl::primitive prim;
  dnnl::memory::desc scratch_md;
};

class LayerNormLastAxisKernel : public Kernel {
 public:
  explicit LayerNormLastAxisKernel(float epsilon) : epsilon_(epsilon), fast_(!DnnlDisabled()) {}

  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "X"));
    CITADEL_ASSIGN_OR_RETURN(const Tensor* scale, RequireInput(ctx, 1, "Scale"));
    CITADEL_ASSIGN_OR_RETURN(const Tensor* bias, RequireInput(ctx, 2, "B"));
    CITADEL_RETURN_IF_ERROR(ExpectDType(*x, DType::kFloat32, "LayerNorm X"));
    CITADEL_RETURN_IF_ERROR(ExpectDType(*scale, DType::kFloat32, "LayerNorm Scale"));
    CITADEL_RETURN_IF_ERROR(ExpectDType(*bias, DType::kFloat32, "LayerNorm B"));
    if (x->rank() == 0) return Status::InvalidArgument("LayerNorm input must have rank >= 1");
    const int64_t m = x->shape().back();
    if (scale->num_elements() != static_cast<size_t>(m) || bias->num_elements() != static_cast<size_t>(m)) {
      return Status::InvalidArgument("LayerNorm Scale and B must have " + std::to_string(m) +
                                     " elements, got " + ShapeToString(scale->shape()) + " and " +
                                     ShapeToString(bias->shape()));
    }
    CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitialized(0, DType::kFloat32, x->shape()));
    const int64_t rows = m == 0 ? 0 : static_cast<int64_t>(x->num_elements()) / m;
    if (rows == 0) return Status::Ok();
    if (fast_) {
      auto prim = cache_.Get({rows, m}, [&] {
        using tag = dnnl::memory::format_tag;
        dnnl::memory::desc md({rows, m}, dnnl::memory::data_type::f32, tag::ab);
        auto d = dnnl::layer_normalization_forward::desc(
            dnnl::prop_kind::forward_inference, md, epsilon_,
            dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift);
        dnnl::primitive_attr attr;
        attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
        auto pd = dnnl::layer_normalization_forward::primitive_desc(d, attr, CpuEngine());
        return std::make_shared<const Prim>(
            Prim{dnnl::layer_normalization_forward(pd), pd.scratchpad_desc()});
      });
      if (prim) {
        dnnl::engine& eng = CpuEngine();
        dnnl::memory::desc md({rows, m}, dnnl::memory::data_type::f32, dnnl::memory::format_tag::ab);
        dnnl::memory::desc vd({m}, dnnl::memory::data_type::f32, dnnl::memory::format_tag::a);
        ExecuteWithScratchpad(
            prim->prim, prim->scratch_md,
            {{DNNL_ARG_SRC, dnnl::memory(md, eng, const_cast<float*>(x->data<float>()))},
             {DNNL_ARG_DST, dnnl::memory(md, eng, y->data<float>())},
             {DNNL_ARG_SCALE, dnnl::memory(vd, eng, const_cast<float*>(scale->data<float>()))},
             {DNNL_ARG_SHIFT, dnnl::memory(vd, eng, const_cast<float*>(bias->data<float>()))}});
        return Status::Ok();
      }
    }
    // Reference: two passes per row, statistics in double.
    const float* X = x->data<float>();
    const float* S = scale->data<float>();
    const float* Bv = bias->data<float>();
    float* Y = y->data<float>();
    for (int64_t r = 0; r < rows; ++r) {
      const float* row = X + r * m;
      double mean = 0, var = 0;
      for (int64_t j = 0; j < m; ++j) mean += row[j];
      mean /= static_cast<double>(m);
      for (int64_t j = 0; j < m; ++j) var += (row[j] - mean) * (row[j] - mean);
      var /= static_cast<double>(m);
      const double inv = 1.0 / std::sqrt(var + static_cast<double>(epsilon_));
      for (int64_t j = 0; j < m; ++j) {
        Y[r * m + j] = static_cast<float>((row[j] - mean) * inv * S[j] + Bv[j]);
      }
    }
    return Status::Ok();
  }

 private:
  float epsilon_;
  bool fast_;
  ShapeCache<Prim> cache_;
};

class GeluKernel : public Kernel {
 public:
  GeluKernel() : fast_(!DnnlDisabled()) {}

  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "X"));
    CITADEL_RETURN_IF_ERROR(ExpectDType(*x, DType::kFloat32, "Gelu X"));
    CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitialized(0, DType::kFloat32, x->shape()));
    const int64_t n = static_cast<int64_t>(x->num_elements());
    if (n == 0) return Status::Ok();
    if (fast_) {
      auto prim = cache_.Get({n}, [&] {
        dnnl::memory::desc md({n}, dnnl::memory::data_type::f32, dnnl::memory::format_tag::a);
        auto d = dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_inference,
                                             dnnl::algorithm::eltwise_gelu_erf, md);
        dnnl::primitive_attr attr;
        attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
        auto pd = dnnl::eltwise_forward::primitive_desc(d, attr, CpuEngine());
        return std::make_shared<const Prim>(Prim{dnnl::eltwise_forward(pd), pd.scratchpad_desc()});
      });
      if (prim) {
        dnnl::engine& eng = CpuEngine();
        dnnl::memory::desc md({n}, dnnl::memory::data_type::f32, dnnl::memory::format_tag::a);
        ExecuteWithScratchpad(prim->prim, prim->scratch_md,
                              {{DNNL_ARG_SRC, dnnl::memory(md, eng, const_cast<float*>(x->data<float>()))},
                               {DNNL_ARG_DST, dnnl::memory(md, eng, y->data<float>())}});
        return Status::Ok();
      }
    }
    const float* X = x->data<float>();
    float* Y = y->data<float>();
    for (int64_t i = 0; i < n; ++i) {
      Y[i] = 0.5f * X[i] * (1.f + std::erf(X[i] / std::sqrt(2.f)));
    }
    return Status::Ok();
  }

 private:
  bool fast_;
  ShapeCache<Prim> cache_;
};

}  // namespace

void RegisterTransformerOps(OpRegistry& r) {
  r.Register(kCitadelDomain, "LayerNorm", 1, 1, [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    CITADEL_ASSIGN_OR_RETURN(float eps, init.node.attrs.GetFloat("epsilon", 1e-5f));
    if (!(eps >= 0)) return Status::InvalidArgument("LayerNorm epsilon must be >= 0");
    return std::unique_ptr<Kernel>(std::make_unique<LayerNormLastAxisKernel>(eps));
  });
  r.Register(kCitadelDomain, "Gelu", 1, 1, SimpleFactory<GeluKernel>());
}

}  // namespace citadel::engine::ops
