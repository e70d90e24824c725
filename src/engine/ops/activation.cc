// Elementwise ops beyond unary.cc: PRelu (slope broadcast to X), Not,
// IsInf, IsNaN, Celu, HardSwish, Shrink.
#include <algorithm>
#include <cmath>
#include <limits>

#include "../kernel.h"
#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

// PRelu: y = x < 0 ? slope * x : x, slope broadcast unidirectionally to X
// (opset 7+). Before opset 7 the slope was either X's shape, a single value,
// or one value per channel (dim 1), which is what older exporters write.
class PReluKernel : public Kernel {
 public:
  explicit PReluKernel(bool legacy) : legacy_(legacy) {}
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "X"));
    CITADEL_ASSIGN_OR_RETURN(const Tensor* s, RequireInput(ctx, 1, "slope"));
    CITADEL_RETURN_IF_ERROR(ExpectSameDType(*x, *s, "PRelu slope"));
    Shape slope_shape = s->shape();
    if (legacy_ && x->rank() >= 2 && s->rank() == 1 && s->shape()[0] == x->shape()[1] &&
        s->shape()[0] != x->shape().back()) {
      // Per-channel slope: view it as [C, 1, ..., 1].
      slope_shape.assign(x->rank() - 1, 1);
      slope_shape[0] = s->shape()[0];
    }
    CITADEL_ASSIGN_OR_RETURN(Shape out, BroadcastShapes(x->shape(), slope_shape));
    if (out != x->shape()) {
      return Status::InvalidArgument("PRelu slope does not broadcast to the shape of X");
    }
    return DispatchNumeric(x->dtype(), [&]<typename T>() -> Status {
      CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.Allocate(0, x->dtype(), x->shape()));
      const T* in = x->data<T>();
      const T* sl = s->data<T>();
      T* o = y->data<T>();
      std::array<const Shape*, 2> shapes = {&x->shape(), &slope_shape};
      ForEachBroadcast<2>(x->shape(), shapes, [&](size_t i, const std::array<int64_t, 2>& off) {
        const T v = in[off[0]];
        o[i] = v < T(0) ? static_cast<T>(sl[off[1]] * v) : v;
      });
      return Status::Ok();
    });
  }

 private:
  bool legacy_;
};

class NotKernel : public Kernel {
 public:
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "X"));
    CITADEL_RETURN_IF_ERROR(ExpectDType(*x, DType::kBool, "Not input"));
    CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.Allocate(0, DType::kBool, x->shape()));
    const uint8_t* in = x->data<uint8_t>();
    uint8_t* o = y->data<uint8_t>();
    for (size_t i = 0; i < x->num_elements(); ++i) o[i] = in[i] ? 0 : 1;
    return Status::Ok();
  }
};

// IsInf (with detect_negative/detect_positive) and IsNaN: float -> bool.
class FloatClassKernel : public Kernel {
 public:
  FloatClassKernel(bool nan, bool neg, bool pos) : nan_(nan), neg_(neg), pos_(pos) {}
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "X"));
    return DispatchFloat(x->dtype(), [&]<typename T>() -> Status {
      CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.Allocate(0, DType::kBool, x->shape()));
      const T* in = x->data<T>();
      uint8_t* o = y->data<uint8_t>();
      for (size_t i = 0; i < x->num_elements(); ++i) {
        const T v = in[i];
        bool r;
        if (nan_) {
          r = std::isnan(v);
        } else {
          r = std::isinf(v) && ((v > 0 && pos_) || (v < 0 && neg_));
        }
        o[i] = r ? 1 : 0;
      }
      return Status::Ok();
    });
  }

 private:
  bool nan_, neg_, pos_;
};

template <typename Fn>
class FloatMap : public Kernel {
 public:
  explicit FloatMap(Fn fn) : fn_(fn) {}
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "X"));
    return DispatchFloat(x->dtype(), [&]<typename T>() -> Status {
      CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.Allocate(0, x->dtype(), x->shape()));
      const T* in = x->data<T>();
      T* o = y->data<T>();
      for (size_t i = 0; i < x->num_elements(); ++i) o[i] = static_cast<T>(fn_(in[i]));
      return Status::Ok();
    });
  }

 private:
  Fn fn_;
};

template <typename Fn>
Result<std::unique_ptr<Kernel>> MakeFloatMap(Fn fn) {
  return std::unique_ptr<Kernel>(std::make_unique<FloatMap<Fn>>(fn));
}

// Shrink is defined on every numeric type; integers are computed in double
// and converted back (lambd and bias are floats in the spec).
class ShrinkKernel : public Kernel {
 public:
  ShrinkKernel(float lambd, float bias) : lambd_(lambd), bias_(bias) {}
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "input"));
    return DispatchNumeric(x->dtype(), [&]<typename T>() -> Status {
      CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.Allocate(0, x->dtype(), x->shape()));
      const T* in = x->data<T>();
      T* o = y->data<T>();
      for (size_t i = 0; i < x->num_elements(); ++i) {
        if constexpr (std::is_floating_point_v<T>) {
          const T v = in[i];
          o[i] = v < -lambd_ ? static_cast<T>(v + bias_)
                             : (v > lambd_ ? static_cast<T>(v - bias_) : T(0));
        } else {
          const double v = static_cast<double>(in[i]);
          double r = v < -lambd_ ? v + bias_ : (v > lambd_ ? v - bias_ : 0.0);
          // Saturate instead of converting an out-of-range double (UB).
          r = std::clamp(r, static_cast<double>(std::numeric_limits<T>::lowest()),
                         static_cast<double>(std::numeric_limits<T>::max()));
          o[i] = static_cast<T>(r);
        }
      }
      return Status::Ok();
    });
  }

 private:
  float lambd_, bias_;
};

}  // namespace

void RegisterActivationOps(OpRegistry& r) {
  const int64_t M = kMaxOnnxOpset;
  r.Register("", "PRelu", 1, 6, [](const KernelInit&) -> Result<std::unique_ptr<Kernel>> {
    return std::unique_ptr<Kernel>(std::make_unique<PReluKernel>(true));
  });
  r.Register("", "PRelu", 7, M, [](const KernelInit&) -> Result<std::unique_ptr<Kernel>> {
    return std::unique_ptr<Kernel>(std::make_unique<PReluKernel>(false));
  });
  r.Register("", "Not", 1, M, SimpleFactory<NotKernel>());
  r.Register("", "IsNaN", 9, M, [](const KernelInit&) -> Result<std::unique_ptr<Kernel>> {
    return std::unique_ptr<Kernel>(std::make_unique<FloatClassKernel>(true, false, false));
  });
  r.Register("", "IsInf", 10, M, [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    CITADEL_ASSIGN_OR_RETURN(int64_t neg, init.node.attrs.GetInt("detect_negative", 1));
    CITADEL_ASSIGN_OR_RETURN(int64_t pos, init.node.attrs.GetInt("detect_positive", 1));
    return std::unique_ptr<Kernel>(std::make_unique<FloatClassKernel>(false, neg != 0, pos != 0));
  });
  r.Register("", "Celu", 12, M, [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    CITADEL_ASSIGN_OR_RETURN(float alpha, init.node.attrs.GetFloat("alpha", 1.0f));
    if (alpha == 0) return Status::InvalidArgument("Celu alpha must not be 0");
    return MakeFloatMap([alpha](auto x) {
      using T = decltype(x);
      const T a = static_cast<T>(alpha);
      return std::max(T(0), x) + std::min(T(0), a * (std::exp(x / a) - T(1)));
    });
  });
  r.Register("", "HardSwish", 14, M, [](const KernelInit&) -> Result<std::unique_ptr<Kernel>> {
    return MakeFloatMap([](auto x) {
      using T = decltype(x);
      return x * std::max(T(0), std::min(T(1), x / T(6) + T(0.5)));
    });
  });
  r.Register("", "Shrink", 9, M, [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    CITADEL_ASSIGN_OR_RETURN(float lambd, init.node.attrs.GetFloat("lambd", 0.5f));
    CITADEL_ASSIGN_OR_RETURN(float bias, init.node.attrs.GetFloat("bias", 0.0f));
    return std::unique_ptr<Kernel>(std::make_unique<ShrinkKernel>(lambd, bias));
  });
}

}  // namespace citadel::engine::ops
