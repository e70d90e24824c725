// LayerNormalization (opset 17) and InstanceNormalization. Statistics are
// accumulated in double; float32/float64 data.
#include <cmath>

#include "../kernel.h"
#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

// `t` broadcast (unidirectionally, numpy rules) to `target`, flattened.
template <typename T>
Result<std::vector<double>> BroadcastTo(const Tensor& t, const Shape& target, const char* what) {
  CITADEL_ASSIGN_OR_RETURN(Shape b, BroadcastShapes(t.shape(), target));
  if (b != target) {
    return Status::InvalidArgument(std::string(what) + " " + ShapeToString(t.shape()) +
                                   " does not broadcast to " + ShapeToString(target));
  }
  size_t n = 1;
  for (int64_t d : target) n *= static_cast<size_t>(d);
  std::vector<double> out(n);
  const T* p = t.data<T>();
  const std::array<const Shape*, 1> shapes = {&t.shape()};
  ForEachBroadcast<1>(target, shapes,
                      [&](size_t i, const std::array<int64_t, 1>& o) { out[i] = p[o[0]]; });
  return out;
}

class LayerNormKernel : public Kernel {
 public:
  LayerNormKernel(int64_t axis, float epsilon) : axis_(axis), epsilon_(epsilon) {}
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "X"));
    CITADEL_ASSIGN_OR_RETURN(const Tensor* scale, RequireInput(ctx, 1, "Scale"));
    const Tensor* bias = ctx.input(2);
    const int64_t rank = static_cast<int64_t>(x->rank());
    CITADEL_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(axis_, rank));
    CITADEL_RETURN_IF_ERROR(ExpectSameDType(*x, *scale, "LayerNormalization X and Scale"));
    if (bias) CITADEL_RETURN_IF_ERROR(ExpectSameDType(*x, *bias, "LayerNormalization X and B"));
    const Shape norm_shape(x->shape().begin() + axis, x->shape().end());
    Shape stat_shape = x->shape();
    for (int64_t d = axis; d < rank; ++d) stat_shape[d] = 1;
    return DispatchFloat(x->dtype(), [&]<typename T>() -> Status {
      CITADEL_ASSIGN_OR_RETURN(std::vector<double> s, BroadcastTo<T>(*scale, norm_shape, "Scale"));
      std::vector<double> b;
      if (bias) {
        CITADEL_ASSIGN_OR_RETURN(b, BroadcastTo<T>(*bias, norm_shape, "B"));
      }
      CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.Allocate(0, x->dtype(), x->shape()));
      T* mean_out = nullptr;
      T* inv_out = nullptr;
      if (ctx.num_outputs() > 1) {
        CITADEL_ASSIGN_OR_RETURN(Tensor * m, ctx.Allocate(1, x->dtype(), stat_shape));
        mean_out = m->data<T>();
      }
      if (ctx.num_outputs() > 2) {
        CITADEL_ASSIGN_OR_RETURN(Tensor * v, ctx.Allocate(2, x->dtype(), stat_shape));
        inv_out = v->data<T>();
      }
      const size_t m = s.size();
      const size_t rows = m == 0 ? 0 : x->num_elements() / m;
      const T* in = x->data<T>();
      T* out = y->data<T>();
      for (size_t r = 0; r < rows; ++r) {
        const T* row = in + r * m;
        double mean = 0, var = 0;
        for (size_t j = 0; j < m; ++j) mean += row[j];
        mean /= static_cast<double>(m);
        for (size_t j = 0; j < m; ++j) var += (row[j] - mean) * (row[j] - mean);
        var /= static_cast<double>(m);
        const double inv = 1.0 / std::sqrt(var + static_cast<double>(epsilon_));
        for (size_t j = 0; j < m; ++j) {
          out[r * m + j] = static_cast<T>((row[j] - mean) * inv * s[j] + (b.empty() ? 0.0 : b[j]));
        }
        if (mean_out) mean_out[r] = static_cast<T>(mean);
        if (inv_out) inv_out[r] = static_cast<T>(inv);
      }
      return Status::Ok();
    });
  }

 private:
  int64_t axis_;
  float epsilon_;
};

class InstanceNormKernel : public Kernel {
 public:
  explicit InstanceNormKernel(float epsilon) : epsilon_(epsilon) {}
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "input"));
    CITADEL_ASSIGN_OR_RETURN(const Tensor* scale, RequireInput(ctx, 1, "scale"));
    CITADEL_ASSIGN_OR_RETURN(const Tensor* bias, RequireInput(ctx, 2, "B"));
    if (x->rank() < 2) return Status::InvalidArgument("InstanceNormalization input must have rank >= 2");
    const int64_t n = x->shape()[0], c = x->shape()[1];
    if (scale->num_elements() != static_cast<size_t>(c) || bias->num_elements() != static_cast<size_t>(c)) {
      return Status::InvalidArgument("InstanceNormalization scale and B must have C elements");
    }
    CITADEL_RETURN_IF_ERROR(ExpectSameDType(*x, *scale, "InstanceNormalization input and scale"));
    CITADEL_RETURN_IF_ERROR(ExpectSameDType(*x, *bias, "InstanceNormalization input and B"));
    return DispatchFloat(x->dtype(), [&]<typename T>() -> Status {
      CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.Allocate(0, x->dtype(), x->shape()));
      const size_t m = n * c == 0 ? 0 : x->num_elements() / static_cast<size_t>(n * c);
      const T* in = x->data<T>();
      T* out = y->data<T>();
      for (int64_t i = 0; i < n * c; ++i) {
        const T* row = in + i * m;
        double mean = 0, var = 0;
        for (size_t j = 0; j < m; ++j) mean += row[j];
        mean /= static_cast<double>(m);
        for (size_t j = 0; j < m; ++j) var += (row[j] - mean) * (row[j] - mean);
        var /= static_cast<double>(m);
        const double inv = 1.0 / std::sqrt(var + static_cast<double>(epsilon_));
        const double sc = scale->data<T>()[i % c], bi = bias->data<T>()[i % c];
        for (size_t j = 0; j < m; ++j) out[i * m + j] = static_cast<T>((row[j] - mean) * inv * sc + bi);
      }
      return Status::Ok();
    });
  }

 private:
  float epsilon_;
};

}  // namespace

void RegisterNormalizationOps(OpRegistry& r) {
  r.Register("", "LayerNormalization", 17, kMaxOnnxOpset,
             [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
               CITADEL_ASSIGN_OR_RETURN(int64_t axis, init.node.attrs.GetInt("axis", -1));
               CITADEL_ASSIGN_OR_RETURN(float eps, init.node.attrs.GetFloat("epsilon", 1e-5f));
               return std::unique_ptr<Kernel>(std::make_unique<LayerNormKernel>(axis, eps));
             });
  r.Register("", "InstanceNormalization", 6, kMaxOnnxOpset,
             [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
               CITADEL_ASSIGN_OR_RETURN(float eps, init.node.attrs.GetFloat("epsilon", 1e-5f));
               return std::unique_ptr<Kernel>(std::make_unique<InstanceNormKernel>(eps));
             });
}

}  // namespace citadel::engine::ops
