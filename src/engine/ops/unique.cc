// Unique: the distinct elements (no axis, input flattened) or distinct
// slices along `axis`, sorted ascending (lexicographically for slices) or
// in order of first occurrence; plus int64 `indices` (first occurrence),
// `inverse_indices` and `counts`. NaNs compare as in a total order where
// NaN sorts last and equals NaN, so the result is deterministic.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <numeric>
#include <type_traits>

#include "../kernel.h"
#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

template <typename T>
int CompareElem(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    const bool na = std::isnan(a), nb = std::isnan(b);
    if (na || nb) return na == nb ? 0 : (na ? 1 : -1);
  }
  return a < b ? -1 : (b < a ? 1 : 0);
}

class UniqueKernel : public Kernel {
 public:
  UniqueKernel(std::optional<int64_t> axis, bool sorted) : axis_(axis), sorted_(sorted) {}
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "X"));
    Shape shape = x->shape();
    int64_t axis = 0;
    if (axis_) {
      CITADEL_ASSIGN_OR_RETURN(axis, NormalizeAxis(*axis_, static_cast<int64_t>(x->rank())));
    } else {
      shape = {static_cast<int64_t>(x->num_elements())};
    }
    const int64_t n = shape[axis];
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= shape[d];
    for (size_t d = axis + 1; d < shape.size(); ++d) inner *= shape[d];
    const DType dt = x->dtype() == DType::kBool ? DType::kUInt8 : x->dtype();
    return DispatchNumeric(dt, [&]<typename T>() -> Status {
      const T* p = x->data<T>();
      // Slice a vs slice b, element by element in row-major order.
      auto cmp = [&](int64_t a, int64_t b) {
        for (int64_t o = 0; o < outer; ++o) {
          for (int64_t i = 0; i < inner; ++i) {
            const int c = CompareElem(p[(o * n + a) * inner + i], p[(o * n + b) * inner + i]);
            if (c != 0) return c;
          }
        }
        return 0;
      };
      auto less = [&](int64_t a, int64_t b) { return cmp(a, b) < 0; };
      // Distinct slices in order of first occurrence.
      std::map<int64_t, int64_t, decltype(less)> seen(less);  // slice -> unique id
      std::vector<int64_t> firsts, inverse(n), counts;
      for (int64_t k = 0; k < n; ++k) {
        auto [it, inserted] = seen.emplace(k, static_cast<int64_t>(firsts.size()));
        if (inserted) {
          firsts.push_back(k);
          counts.push_back(0);
        }
        inverse[k] = it->second;
        ++counts[it->second];
      }
      const int64_t u = static_cast<int64_t>(firsts.size());
      std::vector<int64_t> order(u);  // output position -> unique id
      std::iota(order.begin(), order.end(), 0);
      if (sorted_) std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return less(firsts[a], firsts[b]); });
      std::vector<int64_t> pos(u);
      for (int64_t j = 0; j < u; ++j) pos[order[j]] = j;

      Shape y_shape = shape;
      y_shape[axis] = u;
      CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.Allocate(0, x->dtype(), y_shape));
      T* yp = y->data<T>();
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t j = 0; j < u; ++j)
          std::memcpy(yp + (o * u + j) * inner, p + (o * n + firsts[order[j]]) * inner, inner * sizeof(T));
      if (ctx.num_outputs() > 1) {
        CITADEL_ASSIGN_OR_RETURN(Tensor * ind, ctx.Allocate(1, DType::kInt64, {u}));
        for (int64_t j = 0; j < u; ++j) ind->data<int64_t>()[j] = firsts[order[j]];
      }
      if (ctx.num_outputs() > 2) {
        CITADEL_ASSIGN_OR_RETURN(Tensor * inv, ctx.Allocate(2, DType::kInt64, {n}));
        for (int64_t k = 0; k < n; ++k) inv->data<int64_t>()[k] = pos[inverse[k]];
      }
      if (ctx.num_outputs() > 3) {
        CITADEL_ASSIGN_OR_RETURN(Tensor * cnt, ctx.Allocate(3, DType::kInt64, {u}));
        for (int64_t j = 0; j < u; ++j) cnt->data<int64_t>()[j] = counts[order[j]];
      }
      return Status::Ok();
    });
  }

 private:
  std::optional<int64_t> axis_;
  bool sorted_;
};

}  // namespace

void RegisterUniqueOps(OpRegistry& r) {
  r.Register("", "Unique", 11, kMaxOnnxOpset, [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    std::optional<int64_t> axis;
    if (init.node.attrs.Has("axis")) {
      CITADEL_ASSIGN_OR_RETURN(int64_t a, init.node.attrs.GetInt("axis", 0));
      axis = a;
    }
    CITADEL_ASSIGN_OR_RETURN(int64_t sorted, init.node.attrs.GetInt("sorted", 1));
    if (const ValueType* t = init.InputType(0); t && t->dtype == DType::kString) {
      return Status::Unsupported("Unique on string tensors is not supported");
    }
    return std::unique_ptr<Kernel>(std::make_unique<UniqueKernel>(axis, sorted != 0));
  });
}

}  // namespace citadel::engine::ops
