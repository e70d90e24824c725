// Reduce* ops. Axes come from the attribute (all opsets here) or, for
// ReduceSum from opset 13, from an optional input. Accumulation is in double
// and the result is cast back to the input type.
#include <cmath>
#include <limits>
#include <array>
#include <set>

#include "../kernel.h"
#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

enum class Red { kSum, kMean, kMax, kMin, kProd, kL1, kL2, kSumSquare, kLogSum, kLogSumExp };

class ReduceKernel : public Kernel {
 public:
  ReduceKernel(Red op, std::vector<int64_t> axes, bool keepdims, bool axes_input, bool noop_empty)
      : op_(op), axes_(std::move(axes)), keepdims_(keepdims), axes_input_(axes_input),
        noop_empty_(noop_empty) {}

  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "data"));
    std::vector<int64_t> axes = axes_;
    if (axes_input_ && ctx.input(1) != nullptr) {
      CITADEL_ASSIGN_OR_RETURN(axes, ReadInt64s(*ctx.input(1), "axes"));
    }
    const int64_t rank = static_cast<int64_t>(x->rank());
    if (axes.empty() && noop_empty_) {
      ctx.SetOutput(0, *x);
      return Status::Ok();
    }
    std::set<int64_t> reduce;
    for (int64_t a : axes) {
      CITADEL_ASSIGN_OR_RETURN(int64_t n, NormalizeAxis(a, rank, "reduce axis"));
      reduce.insert(n);
    }
    if (axes.empty()) {
      for (int64_t i = 0; i < rank; ++i) reduce.insert(i);
    }
    Shape kept, out_shape;
    for (int64_t i = 0; i < rank; ++i) {
      const bool r = reduce.count(i) != 0;
      kept.push_back(r ? 1 : x->shape()[i]);
      if (!r || keepdims_) out_shape.push_back(r ? 1 : x->shape()[i]);
    }
    return DispatchNumeric(x->dtype(), [&]<typename T>() -> Status {
      CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.Allocate(0, x->dtype(), out_shape));
      const size_t n_out = y->num_elements();
      const double init = op_ == Red::kMax   ? -std::numeric_limits<double>::infinity()
                          : op_ == Red::kMin ? std::numeric_limits<double>::infinity()
                          : op_ == Red::kProd ? 1.0 : 0.0;
      std::vector<double> acc(n_out, init);
      double mx = -std::numeric_limits<double>::infinity();
      std::vector<double> maxes;
      if (op_ == Red::kLogSumExp) {
        // Shift by the per-output max for a stable log-sum-exp.
        maxes.assign(n_out, mx);
        const std::array<const Shape*, 1> shapes = {&kept};
        ForEachBroadcast<1>(x->shape(), shapes, [&](size_t i, const std::array<int64_t, 1>& o) {
          maxes[o[0]] = std::max(maxes[o[0]], static_cast<double>(x->data<T>()[i]));
        });
      }
      const T* X = x->data<T>();
      const std::array<const Shape*, 1> shapes = {&kept};
      ForEachBroadcast<1>(x->shape(), shapes, [&](size_t i, const std::array<int64_t, 1>& o) {
        const double v = static_cast<double>(X[i]);
        double& a = acc[o[0]];
        switch (op_) {
          case Red::kSum: case Red::kMean: case Red::kLogSum: a += v; break;
          case Red::kMax: a = std::max(a, v); break;
          case Red::kMin: a = std::min(a, v); break;
          case Red::kProd: a *= v; break;
          case Red::kL1: a += std::fabs(v); break;
          case Red::kL2: case Red::kSumSquare: a += v * v; break;
          case Red::kLogSumExp: a += std::exp(v - maxes[o[0]]); break;
        }
      });
      const double count = n_out == 0 ? 1.0 : static_cast<double>(x->num_elements()) / n_out;
      T* Y = y->data<T>();
      for (size_t i = 0; i < n_out; ++i) {
        double r = acc[i];
        if (op_ == Red::kMean) r /= count;
        if (op_ == Red::kL2) r = std::sqrt(r);
        if (op_ == Red::kLogSum) r = std::log(r);
        if (op_ == Red::kLogSumExp) r = std::log(r) + maxes[i];
        Y[i] = static_cast<T>(r);
      }
      return Status::Ok();
    });
  }

 private:
  Red op_;
  std::vector<int64_t> axes_;
  bool keepdims_;
  bool axes_input_;
  bool noop_empty_;
};

KernelFactory Reduce(Red op, int64_t axes_input_since) {
  return [op, axes_input_since](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    const auto& a = init.node.attrs;
    CITADEL_ASSIGN_OR_RETURN(int64_t keepdims, a.GetInt("keepdims", 1));
    CITADEL_ASSIGN_OR_RETURN(int64_t noop, a.GetInt("noop_with_empty_axes", 0));
    const bool axes_input = init.opset >= axes_input_since;
    std::vector<int64_t> axes;
    if (!axes_input) {
      CITADEL_ASSIGN_OR_RETURN(axes, a.GetInts("axes", {}));
    }
    return std::unique_ptr<Kernel>(
        std::make_unique<ReduceKernel>(op, axes, keepdims != 0, axes_input, noop != 0));
  };
}

}  // namespace

void RegisterReduceOps(OpRegistry& r) {
  const int64_t M = kMaxOnnxOpset;
  r.Register("", "ReduceSum", 1, M, Reduce(Red::kSum, 13));
  // The others take axes as an input only from opset 18 (not supported here).
  r.Register("", "ReduceMean", 1, M, Reduce(Red::kMean, 18));
  r.Register("", "ReduceMax", 1, M, Reduce(Red::kMax, 18));
  r.Register("", "ReduceMin", 1, M, Reduce(Red::kMin, 18));
  r.Register("", "ReduceProd", 1, M, Reduce(Red::kProd, 18));
  r.Register("", "ReduceL1", 1, M, Reduce(Red::kL1, 18));
  r.Register("", "ReduceL2", 1, M, Reduce(Red::kL2, 18));
  r.Register("", "ReduceSumSquare", 1, M, Reduce(Red::kSumSquare, 18));
  r.Register("", "ReduceLogSum", 1, M, Reduce(Red::kLogSum, 18));
  r.Register("", "ReduceLogSumExp", 1, M, Reduce(Red::kLogSumExp, 18));
}

}  // namespace citadel::engine::ops
