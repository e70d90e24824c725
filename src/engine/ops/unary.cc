// Elementwise unary ops. Each is a small function object; FloatUnary and
// NumericUnary wrap it into a kernel for the element types it supports.
#include <cmath>
#include <type_traits>

#include "../kernel.h"
#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

template <typename Fn>
class FloatUnary : public Kernel {
 public:
  explicit FloatUnary(Fn fn) : fn_(fn) {}
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "X"));
    return DispatchFloat(x->dtype(), [&]<typename T>() -> Status {
      CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.Allocate(0, x->dtype(), x->shape()));
      const T* in = x->data<T>();
      T* out = y->data<T>();
      for (size_t i = 0; i < x->num_elements(); ++i) out[i] = static_cast<T>(fn_(in[i]));
      return Status::Ok();
    });
  }

 private:
  Fn fn_;
};

// For ops defined on integers too (Relu, Neg, Abs, Sign). `signed_only`
// rejects unsigned types where the op is meaningless (Neg).
template <typename Fn>
class NumericUnary : public Kernel {
 public:
  explicit NumericUnary(Fn fn) : fn_(fn) {}
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "X"));
    return DispatchNumeric(x->dtype(), [&]<typename T>() -> Status {
      CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.Allocate(0, x->dtype(), x->shape()));
      const T* in = x->data<T>();
      T* out = y->data<T>();
      for (size_t i = 0; i < x->num_elements(); ++i) out[i] = fn_(in[i]);
      return Status::Ok();
    });
  }

 private:
  Fn fn_;
};

template <template <typename> class K, typename Fn>
std::unique_ptr<Kernel> Make(Fn fn) {
  return std::make_unique<K<Fn>>(fn);
}

template <typename Fn>
KernelFactory Float(Fn fn) {
  return [fn](const KernelInit&) -> Result<std::unique_ptr<Kernel>> {
    return Make<FloatUnary>(fn);
  };
}

template <typename Fn>
KernelFactory Numeric(Fn fn) {
  return [fn](const KernelInit&) -> Result<std::unique_ptr<Kernel>> {
    return Make<NumericUnary>(fn);
  };
}

// Negation and abs in the unsigned domain for integers: -INT_MIN is
// undefined in C++, the two's-complement wrap is what every runtime returns.
template <typename T>
T SafeNeg(T x) {
  if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
    return static_cast<T>(-static_cast<std::make_unsigned_t<T>>(x));
  } else if constexpr (std::is_unsigned_v<T>) {
    return static_cast<T>(-x);
  } else {
    return -x;
  }
}

}  // namespace

void RegisterUnaryOps(OpRegistry& r) {
  const int64_t M = kMaxOnnxOpset;
  r.Register("", "Relu", 6, M, Numeric([](auto x) { return x > 0 ? x : decltype(x){0}; }));
  r.Register("", "Neg", 6, M, Numeric([](auto x) { return SafeNeg(x); }));
  r.Register("", "Abs", 6, M, Numeric([](auto x) { return x < 0 ? SafeNeg(x) : x; }));
  r.Register("", "Sign", 9, M, Numeric([](auto x) {
               using T = decltype(x);
               return static_cast<T>(x > 0 ? 1 : (x < 0 ? -1 : 0));
             }));
  r.Register("", "Sigmoid", 6, M, Float([](auto x) {
               // Two branches keep exp() from overflowing for large |x|.
               using T = decltype(x);
               if (x >= 0) return T(1) / (T(1) + std::exp(-x));
               T e = std::exp(x);
               return e / (T(1) + e);
             }));
  r.Register("", "Tanh", 6, M, Float([](auto x) { return std::tanh(x); }));
  r.Register("", "Exp", 6, M, Float([](auto x) { return std::exp(x); }));
  r.Register("", "Log", 6, M, Float([](auto x) { return std::log(x); }));
  r.Register("", "Sqrt", 6, M, Float([](auto x) { return std::sqrt(x); }));
  r.Register("", "Erf", 9, M, Float([](auto x) { return std::erf(x); }));
  r.Register("", "Reciprocal", 6, M, Float([](auto x) { return decltype(x)(1) / x; }));
  r.Register("", "Floor", 6, M, Float([](auto x) { return std::floor(x); }));
  r.Register("", "Ceil", 6, M, Float([](auto x) { return std::ceil(x); }));
  r.Register("", "Round", 11, M, Float([](auto x) { return std::nearbyint(x); }));  // half to even
  r.Register("", "Sin", 7, M, Float([](auto x) { return std::sin(x); }));
  r.Register("", "Cos", 7, M, Float([](auto x) { return std::cos(x); }));
  r.Register("", "Tan", 7, M, Float([](auto x) { return std::tan(x); }));
  r.Register("", "Asin", 7, M, Float([](auto x) { return std::asin(x); }));
  r.Register("", "Acos", 7, M, Float([](auto x) { return std::acos(x); }));
  r.Register("", "Atan", 7, M, Float([](auto x) { return std::atan(x); }));
  r.Register("", "Sinh", 9, M, Float([](auto x) { return std::sinh(x); }));
  r.Register("", "Cosh", 9, M, Float([](auto x) { return std::cosh(x); }));
  r.Register("", "Asinh", 9, M, Float([](auto x) { return std::asinh(x); }));
  r.Register("", "Acosh", 9, M, Float([](auto x) { return std::acosh(x); }));
  r.Register("", "Atanh", 9, M, Float([](auto x) { return std::atanh(x); }));
  r.Register("", "Softplus", 1, M, Float([](auto x) { return std::log1p(std::exp(x)); }));
  r.Register("", "Softsign", 1, M, Float([](auto x) { return x / (decltype(x)(1) + std::fabs(x)); }));

  // Ops with attributes read them once, at Load.
  r.Register("", "LeakyRelu", 6, M, [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    CITADEL_ASSIGN_OR_RETURN(float alpha, init.node.attrs.GetFloat("alpha", 0.01f));
    return Make<FloatUnary>([alpha](auto x) { return x >= 0 ? x : x * alpha; });
  });
  r.Register("", "Elu", 6, M, [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    CITADEL_ASSIGN_OR_RETURN(float alpha, init.node.attrs.GetFloat("alpha", 1.0f));
    return Make<FloatUnary>([alpha](auto x) { return x >= 0 ? x : alpha * (std::exp(x) - 1); });
  });
  r.Register("", "Selu", 6, M, [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    CITADEL_ASSIGN_OR_RETURN(float alpha, init.node.attrs.GetFloat("alpha", 1.67326319217681884765625f));
    CITADEL_ASSIGN_OR_RETURN(float gamma, init.node.attrs.GetFloat("gamma", 1.05070102214813232421875f));
    return Make<FloatUnary>([alpha, gamma](auto x) {
      return x > 0 ? gamma * x : gamma * (alpha * std::exp(x) - alpha);
    });
  });
  r.Register("", "HardSigmoid", 6, M, [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    CITADEL_ASSIGN_OR_RETURN(float alpha, init.node.attrs.GetFloat("alpha", 0.2f));
    CITADEL_ASSIGN_OR_RETURN(float beta, init.node.attrs.GetFloat("beta", 0.5f));
    return Make<FloatUnary>([alpha, beta](auto x) {
      using T = decltype(x);
      return std::max(T(0), std::min(T(1), static_cast<T>(alpha * x + beta)));
    });
  });
  r.Register("", "ThresholdedRelu", 10, M, [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    CITADEL_ASSIGN_OR_RETURN(float alpha, init.node.attrs.GetFloat("alpha", 1.0f));
    return Make<FloatUnary>([alpha](auto x) { return x > alpha ? x : decltype(x)(0); });
  });
}

}  // namespace citadel::engine::ops
