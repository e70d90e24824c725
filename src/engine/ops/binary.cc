// Elementwise binary ops with numpy broadcasting: arithmetic, comparison,
// logical, and the variadic Max/Min/Sum/Mean built on them.
//
// Integer arithmetic wraps (computed in the unsigned type) instead of being
// undefined, and integer division by zero is an error rather than SIGFPE:
// inputs are hostile.
#include <cmath>
#include <cstring>
#include <type_traits>

#include "../dnnl_util.h"
#include "../kernel.h"
#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

enum class BinOp { kAdd, kSub, kMul, kDiv, kPow, kMod, kFMod, kMax, kMin,
                   kEqual, kLess, kGreater, kLessEq, kGreaterEq, kAnd, kOr, kXor };

bool IsComparison(BinOp op) {
  return op == BinOp::kEqual || op == BinOp::kLess || op == BinOp::kGreater ||
         op == BinOp::kLessEq || op == BinOp::kGreaterEq;
}
bool IsLogical(BinOp op) { return op == BinOp::kAnd || op == BinOp::kOr || op == BinOp::kXor; }

template <typename T>
T Wrap(BinOp op, T a, T b) {
  using U = std::make_unsigned_t<T>;
  switch (op) {
    case BinOp::kAdd: return static_cast<T>(static_cast<U>(a) + static_cast<U>(b));
    case BinOp::kSub: return static_cast<T>(static_cast<U>(a) - static_cast<U>(b));
    default: return static_cast<T>(static_cast<U>(a) * static_cast<U>(b));
  }
}

// Returns false on an integer division by zero.
template <typename T>
bool Arith(BinOp op, T a, T b, T* out) {
  if constexpr (std::is_floating_point_v<T>) {
    switch (op) {
      case BinOp::kAdd: *out = a + b; break;
      case BinOp::kSub: *out = a - b; break;
      case BinOp::kMul: *out = a * b; break;
      case BinOp::kDiv: *out = a / b; break;
      case BinOp::kMax: *out = std::isnan(a) || std::isnan(b) ? NAN : (a > b ? a : b); break;
      case BinOp::kMin: *out = std::isnan(a) || std::isnan(b) ? NAN : (a < b ? a : b); break;
      case BinOp::kFMod: *out = std::fmod(a, b); break;
      case BinOp::kMod: {
        // Python-style: the result takes the divisor's sign.
        T r = std::fmod(a, b);
        if (r != 0 && ((r < 0) != (b < 0))) r += b;
        *out = r;
        break;
      }
      default: return false;
    }
  } else {
    switch (op) {
      case BinOp::kAdd:
      case BinOp::kSub:
      case BinOp::kMul:
        if constexpr (sizeof(T) >= sizeof(int)) {
          *out = Wrap(op, a, b);
        } else {
          *out = static_cast<T>(op == BinOp::kAdd ? a + b : op == BinOp::kSub ? a - b : a * b);
        }
        break;
      case BinOp::kDiv:
      case BinOp::kMod:
      case BinOp::kFMod: {
        if (b == 0) return false;
        if constexpr (std::is_signed_v<T>) {
          if (b == -1) {  // avoids the INT_MIN / -1 trap
            *out = op == BinOp::kDiv ? Wrap(BinOp::kSub, T{0}, a) : T{0};
            break;
          }
        }
        if (op == BinOp::kDiv) {
          *out = static_cast<T>(a / b);
        } else {
          T r = static_cast<T>(a % b);
          if constexpr (std::is_signed_v<T>) {
            if (op == BinOp::kMod && r != 0 && ((r < 0) != (b < 0))) r = static_cast<T>(r + b);
          }
          *out = r;
        }
        break;
      }
      case BinOp::kMax: *out = a > b ? a : b; break;
      case BinOp::kMin: *out = a < b ? a : b; break;
      default: return false;
    }
  }
  return true;
}

template <typename T>
bool Compare(BinOp op, T a, T b) {
  switch (op) {
    case BinOp::kEqual: return a == b;
    case BinOp::kLess: return a < b;
    case BinOp::kGreater: return a > b;
    case BinOp::kLessEq: return a <= b;
    default: return a >= b;
  }
}

const char* OpName(BinOp op) {
  switch (op) {
    case BinOp::kDiv: return "Div";
    case BinOp::kMod: return "Mod";
    default: return "operator";
  }
}

// Float32 Add/Sub/Mul/Div where one input has the output's shape and the
// other, left-padded with ones, is 1 everywhere except one run of dims
// [p, q] equal to the output's: a bias or position embedding (q last), a
// per-channel scale [N, C, 1, 1] (squeeze-excitation) or a scalar. Then
// the other's index is (i / inner) % mid, so the loops need no per-element
// index math, vectorise, and run in parallel for large outputs. Returns
// false when the shapes do not fit (the generic loop handles them).
bool FastFloatBinary(BinOp op, const Tensor& a, const Tensor& b, const Shape& out_shape, Tensor* out) {
  if (a.dtype() != DType::kFloat32 || (op != BinOp::kAdd && op != BinOp::kSub &&
                                       op != BinOp::kMul && op != BinOp::kDiv)) {
    return false;
  }
  const bool a_full = a.shape() == out_shape;
  if (!a_full && b.shape() != out_shape) return false;
  const Tensor& other = a_full ? b : a;
  const size_t rank = out_shape.size();
  if (other.rank() > rank) return false;
  Shape os(rank - other.rank(), 1);
  os.insert(os.end(), other.shape().begin(), other.shape().end());
  size_t p = 0, q = rank;  // first and one past the last dim != 1
  while (p < rank && os[p] == 1) ++p;
  while (q > p && os[q - 1] == 1) --q;
  int64_t mid = 1, inner = 1;
  for (size_t j = p; j < q; ++j) {
    if (os[j] != out_shape[j]) return false;
    mid *= out_shape[j];
  }
  for (size_t j = q; j < rank; ++j) inner *= out_shape[j];
  const int64_t total = static_cast<int64_t>(out->num_elements());
  if (total == 0) return true;
  // A scalar: rows of the last dim, all with the one value.
  if (mid == 1 && rank > 0) inner = out_shape.back();
  const int64_t rows = total / inner;  // (outer, mid) pairs
  const float* F = (a_full ? a : b).data<float>();
  const float* O = other.data<float>();
  float* Y = out->data<float>();
  // x op y with x from `a` and y from `b`, whichever side is full.
  auto apply = [&](auto f) {
#pragma omp parallel for if (total >= (1 << 16))
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t m = r % mid;
      const float* fr = F + r * inner;
      float* yr = Y + r * inner;
      if (inner == 1) {
        yr[0] = a_full ? f(fr[0], O[m]) : f(O[m], fr[0]);
      } else {
        const float v = O[m];
        if (a_full) {
          for (int64_t k = 0; k < inner; ++k) yr[k] = f(fr[k], v);
        } else {
          for (int64_t k = 0; k < inner; ++k) yr[k] = f(v, fr[k]);
        }
      }
    }
  };
  // inner == 1 (bias-like): rows are single elements; use a row loop over
  // `mid` instead so the inner loop is long and contiguous in both inputs.
  auto apply_rows = [&](auto f) {
    const int64_t outer = total / mid;
#pragma omp parallel for if (total >= (1 << 16))
    for (int64_t o = 0; o < outer; ++o) {
      const float* fr = F + o * mid;
      float* yr = Y + o * mid;
      if (a_full) {
        for (int64_t k = 0; k < mid; ++k) yr[k] = f(fr[k], O[k]);
      } else {
        for (int64_t k = 0; k < mid; ++k) yr[k] = f(O[k], fr[k]);
      }
    }
  };
  // Same shapes: one long row, split over the threads.
  auto apply_flat = [&](auto f) {
#pragma omp parallel for schedule(static) if (total >= (1 << 16))
    for (int64_t i = 0; i < total; ++i) Y[i] = a_full ? f(F[i], O[i]) : f(O[i], F[i]);
  };
  auto run = [&](auto f) { mid == total ? apply_flat(f) : inner == 1 ? apply_rows(f) : apply(f); };
  switch (op) {
    case BinOp::kAdd: run([](float x, float y) { return x + y; }); break;
    case BinOp::kSub: run([](float x, float y) { return x - y; }); break;
    case BinOp::kMul: run([](float x, float y) { return x * y; }); break;
    default: run([](float x, float y) { return x / y; }); break;
  }
  return true;
}

bool IsHalf(DType t) { return t == DType::kFloat16 || t == DType::kBFloat16; }

// float16/bfloat16 <-> float32 copies: the 16-bit float types compute in
// float32 and round back once (round to nearest even), as the issue asks.
Result<Tensor> HalfToFloat32(const KernelContext& ctx, const Tensor& t) {
  CITADEL_ASSIGN_OR_RETURN(Tensor f, ctx.NewTensor(DType::kFloat32, t.shape(), /*zero=*/false));
  const uint16_t* p = t.data<uint16_t>();
  float* q = f.data<float>();
  const bool half = t.dtype() == DType::kFloat16;
  for (size_t i = 0; i < t.num_elements(); ++i) q[i] = half ? HalfToFloat(p[i]) : BFloat16ToFloat(p[i]);
  return f;
}

Result<Tensor> Float32ToHalf(const KernelContext& ctx, const Tensor& f, DType to) {
  CITADEL_ASSIGN_OR_RETURN(Tensor t, ctx.NewTensor(to, f.shape(), /*zero=*/false));
  const float* p = f.data<float>();
  uint16_t* q = t.data<uint16_t>();
  const bool half = to == DType::kFloat16;
  for (size_t i = 0; i < f.num_elements(); ++i) q[i] = half ? FloatToHalf(p[i]) : FloatToBFloat16(p[i]);
  return t;
}

Result<Tensor> ApplyBinaryImpl(const KernelContext& ctx, BinOp op, const Tensor& a, const Tensor& b);

// Computes op(a, b) into a new tensor.
Result<Tensor> ApplyBinary(const KernelContext& ctx, BinOp op, const Tensor& a, const Tensor& b) {
  if (IsHalf(a.dtype()) && (op == BinOp::kPow || a.dtype() == b.dtype())) {
    CITADEL_ASSIGN_OR_RETURN(Tensor fa, HalfToFloat32(ctx, a));
    Tensor fb = b;
    if (IsHalf(b.dtype())) {
      CITADEL_ASSIGN_OR_RETURN(fb, HalfToFloat32(ctx, b));
    }
    CITADEL_ASSIGN_OR_RETURN(Tensor r, ApplyBinaryImpl(ctx, op, fa, fb));
    if (r.dtype() != DType::kFloat32) return r;  // comparisons: bool
    return Float32ToHalf(ctx, r, a.dtype());
  }
  if (op == BinOp::kPow && IsHalf(b.dtype())) {
    CITADEL_ASSIGN_OR_RETURN(Tensor fb, HalfToFloat32(ctx, b));
    return ApplyBinaryImpl(ctx, op, a, fb);
  }
  return ApplyBinaryImpl(ctx, op, a, b);
}

Result<Tensor> ApplyBinaryImpl(const KernelContext& ctx, BinOp op, const Tensor& a, const Tensor& b) {
  CITADEL_ASSIGN_OR_RETURN(Shape out_shape, BroadcastShapes(a.shape(), b.shape()));
  const std::array<const Shape*, 2> shapes = {&a.shape(), &b.shape()};

  if (op == BinOp::kPow) {
    // Pow alone allows the exponent a different type; the result has the
    // base's type. Computing in double covers every combination.
    Tensor out;
    Status st = DispatchNumeric(a.dtype(), [&]<typename TA>() -> Status {
      return DispatchNumeric(b.dtype(), [&]<typename TB>() -> Status {
        CITADEL_ASSIGN_OR_RETURN(out, ctx.NewTensor(a.dtype(), out_shape));
        const TA* pa = a.data<TA>();
        const TB* pb = b.data<TB>();
        TA* po = out.data<TA>();
        ForEachBroadcast<2>(out_shape, shapes, [&](size_t i, const std::array<int64_t, 2>& o) {
          double r = std::pow(static_cast<double>(pa[o[0]]), static_cast<double>(pb[o[1]]));
          if constexpr (std::is_integral_v<TA>) {
            // Out-of-range float->int conversion is undefined; saturate-free
            // wrap via int64 keeps it defined for hostile inputs.
            if (!std::isfinite(r) || std::fabs(r) > 9.2e18) r = 0;
            po[i] = static_cast<TA>(static_cast<int64_t>(r));
          } else {
            po[i] = static_cast<TA>(r);
          }
        });
        return Status::Ok();
      });
    });
    if (!st.ok()) return st;
    return out;
  }

  CITADEL_RETURN_IF_ERROR(ExpectSameDType(a, b, "binary operator inputs"));

  if (IsLogical(op)) {
    CITADEL_RETURN_IF_ERROR(ExpectDType(a, DType::kBool, "logical operator input"));
    CITADEL_ASSIGN_OR_RETURN(Tensor out, ctx.NewTensor(DType::kBool, out_shape));
    const uint8_t* pa = a.raw_data();
    const uint8_t* pb = b.raw_data();
    uint8_t* po = out.raw_data();
    ForEachBroadcast<2>(out_shape, shapes, [&](size_t i, const std::array<int64_t, 2>& o) {
      bool x = pa[o[0]] != 0, y = pb[o[1]] != 0;
      po[i] = op == BinOp::kAnd ? (x && y) : op == BinOp::kOr ? (x || y) : (x != y);
    });
    return out;
  }

  if (IsComparison(op)) {
    Tensor out;
    DType dt = a.dtype() == DType::kBool ? DType::kUInt8 : a.dtype();  // Equal on bool
    Status st = DispatchNumeric(dt, [&]<typename T>() -> Status {
      CITADEL_ASSIGN_OR_RETURN(out, ctx.NewTensor(DType::kBool, out_shape));
      const T* pa = a.data<T>();
      const T* pb = b.data<T>();
      uint8_t* po = out.raw_data();
      ForEachBroadcast<2>(out_shape, shapes, [&](size_t i, const std::array<int64_t, 2>& o) {
        po[i] = Compare(op, pa[o[0]], pb[o[1]]);
      });
      return Status::Ok();
    });
    if (!st.ok()) return st;
    return out;
  }

  Tensor out;
  if (!DnnlDisabled() && a.dtype() == DType::kFloat32) {
    CITADEL_ASSIGN_OR_RETURN(out, ctx.NewTensor(a.dtype(), out_shape, /*zero=*/false));
    if (FastFloatBinary(op, a, b, out_shape, &out)) return out;
    if (out.byte_size() > 0) std::memset(out.raw_data(), 0, out.byte_size());
  }
  Status st = DispatchNumeric(a.dtype(), [&]<typename T>() -> Status {
    if (!out.valid()) {
      CITADEL_ASSIGN_OR_RETURN(out, ctx.NewTensor(a.dtype(), out_shape));
    }
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* po = out.data<T>();
    bool ok = true;
    if (a.shape() == b.shape()) {
      // Common case (residual adds, biases already expanded): no index math.
      for (size_t i = 0; i < out.num_elements(); ++i) ok &= Arith(op, pa[i], pb[i], &po[i]);
    } else {
      ForEachBroadcast<2>(out_shape, shapes, [&](size_t i, const std::array<int64_t, 2>& o) {
        ok &= Arith(op, pa[o[0]], pb[o[1]], &po[i]);
      });
    }
    if (!ok) return Status::InvalidArgument(std::string(OpName(op)) + ": integer division by zero");
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return out;
}

class BinaryKernel : public Kernel {
 public:
  // blocked_input: for Mul/Add of an activation [N, C, H, W] by a
  // per-channel [N or 1, C, 1, 1] (squeeze-excitation), the index of the
  // activation, which may then be channel-blocked (output likewise); -1
  // when the static shapes do not have that form.
  BinaryKernel(BinOp op, int blocked_input) : op_(op), blocked_input_(blocked_input) {}

  bool CanReadBlocked(size_t input) const override {
    return blocked_input_ >= 0 && input == static_cast<size_t>(blocked_input_);
  }
  bool CanWriteBlocked() const override { return blocked_input_ >= 0; }
  bool BlockedTied() const override { return true; }

  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* a, RequireInput(ctx, 0, "A"));
    CITADEL_ASSIGN_OR_RETURN(const Tensor* b, RequireInput(ctx, 1, "B"));
    if (blocked_input_ >= 0 && ctx.blocked_channels(blocked_input_) > 0) {
      return RunBlocked(ctx, blocked_input_ == 0 ? *a : *b, blocked_input_ == 0 ? *b : *a,
                        ctx.blocked_channels(blocked_input_));
    }
    CITADEL_ASSIGN_OR_RETURN(Tensor out, ApplyBinary(ctx, op_, *a, *b));
    ctx.SetOutput(0, std::move(out));
    return Status::Ok();
  }

 private:
  // x blocked [N, CB, H, W, B] op s [N or 1, C, 1, 1] -> blocked. Padding
  // lanes (channels >= C) stay zero.
  Status RunBlocked(KernelContext& ctx, const Tensor& x, const Tensor& s, int64_t channels) const {
    const Shape xs = BlockedLogicalShape(x.shape(), channels);
    if (xs.empty() || x.dtype() != DType::kFloat32 || s.dtype() != DType::kFloat32) {
      return Status::Internal("binary op got a malformed blocked input");
    }
    const int64_t N = xs[0], C = xs[1], plane = xs[2] * xs[3];
    const int64_t CB = x.shape()[1], B = x.shape()[4];
    const Shape& ss = s.shape();
    if (ss.size() != 4 || (ss[0] != N && ss[0] != 1) || ss[1] != C || ss[2] != 1 || ss[3] != 1) {
      // Dynamic dims resolved otherwise than the static shapes promised:
      // the generic op on a plain copy, blocked again.
      CITADEL_ASSIGN_OR_RETURN(Tensor plain, BlockedToPlain(x, channels, ctx.max_tensor_bytes()));
      const bool x_first = blocked_input_ == 0;
      CITADEL_ASSIGN_OR_RETURN(Tensor out, ApplyBinary(ctx, op_, x_first ? plain : s, x_first ? s : plain));
      CITADEL_ASSIGN_OR_RETURN(Tensor yb, PlainToBlocked(out, ctx.max_tensor_bytes()));
      ctx.SetOutput(0, std::move(yb));
      return Status::Ok();
    }
    CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitialized(0, DType::kFloat32, x.shape()));
    const float* X = x.data<float>();
    const float* S = s.data<float>();
    float* Y = y->data<float>();
    const bool mul = op_ == BinOp::kMul;
    const int64_t s_batch = ss[0] == 1 ? 0 : C;
    if (B == 16) {
      mul ? ScaleBlocked<16, true>(X, S, Y, N, C, CB, plane, s_batch)
          : ScaleBlocked<16, false>(X, S, Y, N, C, CB, plane, s_batch);
    } else if (B == 8) {
      mul ? ScaleBlocked<8, true>(X, S, Y, N, C, CB, plane, s_batch)
          : ScaleBlocked<8, false>(X, S, Y, N, C, CB, plane, s_batch);
    } else {
      return Status::Internal("binary op got an unexpected channel block");
    }
    return Status::Ok();
  }

  // Constant block width and operation, the lanes in Float4 registers
  // (common.h): with a run-time width the lane loop stayed scalar, ~2x
  // ORT's time for EfficientNet-B0's squeeze-excitation Muls.
  template <int B, bool kMul>
  static void ScaleBlocked(const float* X, const float* S, float* Y, int64_t N, int64_t C, int64_t CB,
                           int64_t plane, int64_t s_batch) {
    static_assert(B == 8 || B == 16);
    auto op = [](Float4 x, Float4 v) -> Float4 {
      if constexpr (kMul) {
        return x * v;
      } else {
        return x + v;
      }
    };
#pragma omp parallel for collapse(2) if (N * CB * plane * B >= (1 << 16))
    for (int64_t n = 0; n < N; ++n) {
      for (int64_t cb = 0; cb < CB; ++cb) {
        float v[16] = {};
        for (int l = 0; l < B; ++l) {
          const int64_t c = cb * B + l;
          v[l] = c < C ? S[n * s_batch + c] : 0.f;
        }
        const Float4 v0 = LoadFloat4(v), v1 = LoadFloat4(v + 4), v2 = LoadFloat4(v + 8),
                     v3 = LoadFloat4(v + 12);
        const float* xp = X + (n * CB + cb) * plane * B;
        float* yp = Y + (n * CB + cb) * plane * B;
        for (int64_t i = 0; i < plane; ++i) {
          const float* x = xp + i * B;
          float* y = yp + i * B;
          StoreFloat4(y, op(LoadFloat4(x), v0));
          StoreFloat4(y + 4, op(LoadFloat4(x + 4), v1));
          if constexpr (B == 16) {
            StoreFloat4(y + 8, op(LoadFloat4(x + 8), v2));
            StoreFloat4(y + 12, op(LoadFloat4(x + 12), v3));
          }
        }
      }
    }
  }

  BinOp op_;
  int blocked_input_;
};

// Max, Min, Sum, Mean: any number of inputs, all broadcast together.
class VariadicKernel : public Kernel {
 public:
  VariadicKernel(BinOp op, bool mean) : op_(op), mean_(mean) {}
  Status Run(KernelContext& ctx) const override {
    if (ctx.num_inputs() == 0 || ctx.input(0) == nullptr) {
      return Status::InvalidArgument("needs at least one input");
    }
    Tensor acc = *ctx.input(0);
    for (size_t i = 1; i < ctx.num_inputs(); ++i) {
      CITADEL_ASSIGN_OR_RETURN(const Tensor* t, RequireInput(ctx, i, "data"));
      CITADEL_ASSIGN_OR_RETURN(acc, ApplyBinary(ctx, op_, acc, *t));
    }
    if (mean_) {
      Tensor out;
      CITADEL_RETURN_IF_ERROR(DispatchFloat(acc.dtype(), [&]<typename T>() -> Status {
        CITADEL_ASSIGN_OR_RETURN(out, ctx.NewTensor(acc.dtype(), acc.shape()));
        const T n = static_cast<T>(ctx.num_inputs());
        for (size_t i = 0; i < acc.num_elements(); ++i) out.data<T>()[i] = acc.data<T>()[i] / n;
        return Status::Ok();
      }));
      acc = out;
    } else if (ctx.num_inputs() == 1) {
      acc = acc.Clone();  // never hand a caller's buffer through as ours
    }
    ctx.SetOutput(0, std::move(acc));
    return Status::Ok();
  }

 private:
  BinOp op_;
  bool mean_;
};

KernelFactory Binary(BinOp op) {
  return [op](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    int blocked_input = -1;
    if ((op == BinOp::kMul || op == BinOp::kAdd) && !DnnlDisabled() && init.num_inputs() == 2) {
      const ValueType* t[2] = {init.InputType(0), init.InputType(1)};
      auto f32_4d = [](const ValueType* v) {
        return v != nullptr && v->dtype && *v->dtype == DType::kFloat32 && v->shape &&
               v->shape->size() == 4;
      };
      if (f32_4d(t[0]) && f32_4d(t[1])) {
        for (int i = 0; i < 2; ++i) {
          const Shape& x = *t[i]->shape;
          const Shape& s = *t[1 - i]->shape;
          if (x[1] > 0 && x[2] > 1 && x[3] > 1 && s[1] == x[1] && s[2] == 1 && s[3] == 1 &&
              (s[0] == 1 || (s[0] == x[0] && s[0] != 0))) {
            blocked_input = i;
          }
        }
      }
    }
    return std::unique_ptr<Kernel>(std::make_unique<BinaryKernel>(op, blocked_input));
  };
}

KernelFactory Variadic(BinOp op, bool mean = false) {
  return [op, mean](const KernelInit&) -> Result<std::unique_ptr<Kernel>> {
    return std::unique_ptr<Kernel>(std::make_unique<VariadicKernel>(op, mean));
  };
}

}  // namespace

void RegisterBinaryOps(OpRegistry& r) {
  // Opset 7 introduced numpy broadcasting; earlier versions used an explicit
  // `broadcast` attribute with different semantics and are not supported.
  r.Register("", "Add", 7, kMaxOnnxOpset, Binary(BinOp::kAdd));
  r.Register("", "Sub", 7, kMaxOnnxOpset, Binary(BinOp::kSub));
  r.Register("", "Mul", 7, kMaxOnnxOpset, Binary(BinOp::kMul));
  r.Register("", "Div", 7, kMaxOnnxOpset, Binary(BinOp::kDiv));
  r.Register("", "Pow", 7, kMaxOnnxOpset, Binary(BinOp::kPow));
  r.Register("", "Equal", 7, kMaxOnnxOpset, Binary(BinOp::kEqual));
  r.Register("", "Less", 7, kMaxOnnxOpset, Binary(BinOp::kLess));
  r.Register("", "Greater", 7, kMaxOnnxOpset, Binary(BinOp::kGreater));
  r.Register("", "LessOrEqual", 12, kMaxOnnxOpset, Binary(BinOp::kLessEq));
  r.Register("", "GreaterOrEqual", 12, kMaxOnnxOpset, Binary(BinOp::kGreaterEq));
  r.Register("", "And", 7, kMaxOnnxOpset, Binary(BinOp::kAnd));
  r.Register("", "Or", 7, kMaxOnnxOpset, Binary(BinOp::kOr));
  r.Register("", "Xor", 7, kMaxOnnxOpset, Binary(BinOp::kXor));
  r.Register("", "Max", 8, kMaxOnnxOpset, Variadic(BinOp::kMax));
  r.Register("", "Min", 8, kMaxOnnxOpset, Variadic(BinOp::kMin));
  r.Register("", "Sum", 8, kMaxOnnxOpset, Variadic(BinOp::kAdd));
  r.Register("", "Mean", 8, kMaxOnnxOpset, Variadic(BinOp::kAdd, /*mean=*/true));
  r.Register("", "Mod", 10, kMaxOnnxOpset, [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    CITADEL_ASSIGN_OR_RETURN(int64_t fmod, init.node.attrs.GetInt("fmod", 0));
    return std::unique_ptr<Kernel>(std::make_unique<BinaryKernel>(fmod ? BinOp::kFMod : BinOp::kMod, -1));
  });
}

}  // namespace citadel::engine::ops
