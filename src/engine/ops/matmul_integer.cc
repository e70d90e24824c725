// MatMulInteger (10) and QLinearMatMul (10): numpy-style batched matmul over
// 8-bit integers with int32 accumulation.
//
//   MatMulInteger: Y[int32] = (A - a_zero_point) x (B - b_zero_point)
//   QLinearMatMul: Y = saturate(round_half_even(acc * a_scale * b_scale / y_scale) + y_zero_point)
//                  with acc = (a - a_zero_point) x (b - b_zero_point)
//
// A's zero point and scale may be per row (1-D of M elements), B's per
// column (N elements), as the spec allows. The accumulation is exact (int64,
// stored as int32 like the spec's output type); only the final requantising
// multiply is floating point, done like the ONNX reference: the multiplier
// a_scale * b_scale / y_scale in float32, applied to the accumulator in
// float64.
#include <memory>

#include "common.h"
#include "ops.h"
#include "quant_util.h"

namespace citadel::engine::ops {
namespace {

struct IntMatMulResult {
  Tensor acc;  // int32, the output shape
  int64_t M = 1, K = 1, N = 1;
};

// Validates shapes (numpy matmul rules, 1-D operands promoted) and returns
// the int32 accumulators. `a_zp` has 1 or M values, `b_zp` 1 or N.
Result<IntMatMulResult> IntMatMul(const KernelContext& ctx, const Tensor& a, const Tensor& b,
                                  const Tensor* a_zp_t, const Tensor* b_zp_t, const char* op) {
  if (a.rank() == 0 || b.rank() == 0) {
    return Status::InvalidArgument(std::string(op) + " inputs must have rank >= 1, got " +
                                   ShapeToString(a.shape()) + " and " + ShapeToString(b.shape()));
  }
  IntMatMulResult r;
  const bool a_vec = a.rank() == 1, b_vec = b.rank() == 1;
  r.M = a_vec ? 1 : a.shape()[a.rank() - 2];
  r.K = a.shape()[a.rank() - 1];
  const int64_t kb = b_vec ? b.shape()[0] : b.shape()[b.rank() - 2];
  r.N = b_vec ? 1 : b.shape()[b.rank() - 1];
  if (kb != r.K) {
    return Status::InvalidArgument(std::string(op) + " inner dimensions differ: " +
                                   ShapeToString(a.shape()) + " x " + ShapeToString(b.shape()));
  }
  const Shape a_batch(a.shape().begin(), a.shape().end() - (a_vec ? 1 : 2));
  const Shape b_batch(b.shape().begin(), b.shape().end() - (b_vec ? 1 : 2));
  CITADEL_ASSIGN_OR_RETURN(Shape batch, BroadcastShapes(a_batch, b_batch));
  Shape out = batch;
  if (!a_vec) out.push_back(r.M);
  if (!b_vec) out.push_back(r.N);

  CITADEL_ASSIGN_OR_RETURN(std::vector<int32_t> a_zp,
                           ReadZeroPoints(a_zp_t, a.dtype(), r.M, "a_zero_point"));
  CITADEL_ASSIGN_OR_RETURN(std::vector<int32_t> b_zp,
                           ReadZeroPoints(b_zp_t, b.dtype(), r.N, "b_zero_point"));

  // Widen both operands once, zero points subtracted (per row of A, per
  // column of B), so the inner loop is plain int32 multiply-add.
  CITADEL_ASSIGN_OR_RETURN(Tensor aw, ctx.NewTensor(DType::kInt32, a.shape()));
  CITADEL_ASSIGN_OR_RETURN(Tensor bw, ctx.NewTensor(DType::kInt32, b.shape()));
  int32_t* ap = aw.data<int32_t>();
  int32_t* bp = bw.data<int32_t>();
  for (size_t i = 0; i < a.num_elements(); ++i) {
    const size_t m = (i / static_cast<size_t>(r.K)) % static_cast<size_t>(r.M);
    ap[i] = QuantAt(a, i) - a_zp[a_zp.size() == 1 ? 0 : m];
  }
  for (size_t i = 0; i < b.num_elements(); ++i) {
    const size_t n = i % static_cast<size_t>(r.N);
    bp[i] = QuantAt(b, i) - b_zp[b_zp.size() == 1 ? 0 : n];
  }

  CITADEL_ASSIGN_OR_RETURN(r.acc, ctx.NewTensor(DType::kInt32, out));
  int32_t* yp = r.acc.data<int32_t>();
  const size_t mk = static_cast<size_t>(r.M * r.K), kn = static_cast<size_t>(r.K * r.N),
               mn = static_cast<size_t>(r.M * r.N);
  ForEachBroadcast<2>(batch, {&a_batch, &b_batch}, [&](size_t o, const std::array<int64_t, 2>& off) {
    const int32_t* A = ap + static_cast<size_t>(off[0]) * mk;
    const int32_t* B = bp + static_cast<size_t>(off[1]) * kn;
    int32_t* Y = yp + o * mn;
    for (int64_t m = 0; m < r.M; ++m) {
      for (int64_t n = 0; n < r.N; ++n) {
        int64_t s = 0;
        for (int64_t k = 0; k < r.K; ++k) {
          s += static_cast<int64_t>(A[m * r.K + k]) * B[k * r.N + n];
        }
        // int32 is the spec's accumulator; wrap like it would.
        Y[m * r.N + n] = static_cast<int32_t>(static_cast<uint32_t>(s));
      }
    }
  });
  return r;
}

Status Check8Bit(const Tensor& t, const char* what) {
  if (t.dtype() != DType::kUInt8 && t.dtype() != DType::kInt8) {
    return Status::InvalidArgument(std::string(what) + " must be uint8 or int8, got " +
                                   std::string(DTypeName(t.dtype())));
  }
  return Status::Ok();
}

class MatMulIntegerKernel final : public Kernel {
 public:
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* a, RequireInput(ctx, 0, "A"));
    CITADEL_ASSIGN_OR_RETURN(const Tensor* b, RequireInput(ctx, 1, "B"));
    CITADEL_RETURN_IF_ERROR(Check8Bit(*a, "MatMulInteger A"));
    CITADEL_RETURN_IF_ERROR(Check8Bit(*b, "MatMulInteger B"));
    CITADEL_ASSIGN_OR_RETURN(IntMatMulResult r,
                             IntMatMul(ctx, *a, *b, ctx.input(2), ctx.input(3), "MatMulInteger"));
    ctx.SetOutput(0, std::move(r.acc));
    return Status::Ok();
  }
};

class QLinearMatMulKernel final : public Kernel {
 public:
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* a, RequireInput(ctx, 0, "a"));
    CITADEL_ASSIGN_OR_RETURN(const Tensor* a_scale, RequireInput(ctx, 1, "a_scale"));
    CITADEL_ASSIGN_OR_RETURN(const Tensor* b, RequireInput(ctx, 3, "b"));
    CITADEL_ASSIGN_OR_RETURN(const Tensor* b_scale, RequireInput(ctx, 4, "b_scale"));
    CITADEL_ASSIGN_OR_RETURN(const Tensor* y_scale, RequireInput(ctx, 6, "y_scale"));
    CITADEL_ASSIGN_OR_RETURN(const Tensor* y_zp_t, RequireInput(ctx, 7, "y_zero_point"));
    CITADEL_RETURN_IF_ERROR(Check8Bit(*a, "QLinearMatMul a"));
    CITADEL_RETURN_IF_ERROR(Check8Bit(*b, "QLinearMatMul b"));
    CITADEL_ASSIGN_OR_RETURN(IntMatMulResult r,
                             IntMatMul(ctx, *a, *b, ctx.input(2), ctx.input(5), "QLinearMatMul"));
    CITADEL_ASSIGN_OR_RETURN(std::vector<float> as, ReadScales(*a_scale, r.M, "a_scale"));
    CITADEL_ASSIGN_OR_RETURN(std::vector<float> bs, ReadScales(*b_scale, r.N, "b_scale"));
    CITADEL_ASSIGN_OR_RETURN(std::vector<float> ys, ReadScales(*y_scale, r.M, "y_scale"));
    const DType out_type = y_zp_t->dtype();
    return DispatchQuant8(out_type, "y_zero_point", [&]<typename Q>() -> Status {
      CITADEL_ASSIGN_OR_RETURN(std::vector<int32_t> yz,
                               ReadZeroPoints(y_zp_t, out_type, r.M, "y_zero_point"));
      CITADEL_ASSIGN_OR_RETURN(Tensor* y, ctx.Allocate(0, out_type, r.acc.shape()));
      const int32_t* acc = r.acc.data<int32_t>();
      Q* out = y->data<Q>();
      for (size_t i = 0; i < r.acc.num_elements(); ++i) {
        const size_t n = i % static_cast<size_t>(r.N);
        const size_t m = (i / static_cast<size_t>(r.N)) % static_cast<size_t>(r.M);
        const float mult = as[as.size() == 1 ? 0 : m] * bs[bs.size() == 1 ? 0 : n] /
                           ys[ys.size() == 1 ? 0 : m];
        const double v = static_cast<double>(acc[i]) * static_cast<double>(mult);
        out[i] = SaturateTo<Q>(RoundHalfEven(v) + yz[yz.size() == 1 ? 0 : m]);
      }
      return Status::Ok();
    });
  }
};

}  // namespace

void RegisterMatMulIntegerOps(OpRegistry& r) {
  r.Register("", "MatMulInteger", 10, kMaxOnnxOpset, SimpleFactory<MatMulIntegerKernel>());
  r.Register("", "QLinearMatMul", 10, kMaxOnnxOpset, SimpleFactory<QLinearMatMulKernel>());
}

}  // namespace citadel::engine::ops
