// OneHot: output[..., i, ...] (i inserted at `axis`) is values[1] where
// i == indices[...] (negative indices count from depth), values[0] elsewhere.
// Indices and depth may be any numeric type (floats are truncated).
#include <cmath>
#include <cstring>

#include "../kernel.h"
#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

// Reads every element of a numeric tensor as double.
Result<std::vector<double>> ReadAsDoubles(const Tensor& t, const char* what) {
  std::vector<double> v(t.num_elements());
  Status s = DispatchNumeric(t.dtype(), [&]<typename T>() -> Status {
    const T* d = t.data<T>();
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(d[i]);
    return Status::Ok();
  });
  if (!s.ok()) return Status::InvalidArgument(std::string(what) + ": " + s.ToString());
  return v;
}

class OneHotKernel : public Kernel {
 public:
  explicit OneHotKernel(int64_t axis) : axis_(axis) {}
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* ind, RequireInput(ctx, 0, "indices"));
    CITADEL_ASSIGN_OR_RETURN(const Tensor* dep, RequireInput(ctx, 1, "depth"));
    CITADEL_ASSIGN_OR_RETURN(const Tensor* val, RequireInput(ctx, 2, "values"));
    if (dep->num_elements() != 1) return Status::InvalidArgument("OneHot depth must have one element");
    if (val->num_elements() != 2 || val->rank() != 1) return Status::InvalidArgument("OneHot values must have shape [2]");
    if (val->dtype() == DType::kString) return Status::Unsupported("string tensors are not supported by this operator");
    CITADEL_ASSIGN_OR_RETURN(std::vector<double> dv, ReadAsDoubles(*dep, "OneHot depth"));
    if (!(dv[0] >= 1) || dv[0] > 9.0e15) return Status::InvalidArgument("OneHot depth must be positive");
    const int64_t depth = static_cast<int64_t>(dv[0]);
    const int64_t out_rank = static_cast<int64_t>(ind->rank()) + 1;
    CITADEL_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(axis_, out_rank, "OneHot axis"));
    Shape out = ind->shape();
    out.insert(out.begin() + axis, depth);
    CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.Allocate(0, val->dtype(), out));
    if (y->num_elements() == 0) return Status::Ok();
    CITADEL_ASSIGN_OR_RETURN(std::vector<double> idx, ReadAsDoubles(*ind, "OneHot indices"));
    const size_t es = DTypeSize(val->dtype());
    const uint8_t* off = val->raw_data();
    const uint8_t* on = val->raw_data() + es;
    // outer = dims before axis, inner = dims after it (in indices' terms).
    int64_t outer = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= ind->shape()[d];
    const int64_t inner = outer == 0 ? 0 : static_cast<int64_t>(idx.size()) / outer;
    uint8_t* dst = y->raw_data();
    for (size_t i = 0; i < y->num_elements(); ++i) std::memcpy(dst + i * es, off, es);
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t in = 0; in < inner; ++in) {
        double v = std::trunc(idx[o * inner + in]);
        if (v < 0) v += static_cast<double>(depth);
        if (!(v >= 0 && v < static_cast<double>(depth))) continue;  // also NaN
        const int64_t k = static_cast<int64_t>(v);
        std::memcpy(dst + ((o * depth + k) * inner + in) * es, on, es);
      }
    }
    return Status::Ok();
  }

 private:
  int64_t axis_;
};

// Hardmax: 1 at the first maximum along the axis, 0 elsewhere. Before
// opset 13 the input is coerced to 2-D at `axis` (default 1) and the max is
// over the flattened trailing dims; from 13 it is along `axis` (default -1).
class HardmaxKernel : public Kernel {
 public:
  HardmaxKernel(int64_t axis, bool coerce) : axis_(axis), coerce_(coerce) {}
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "input"));
    const int64_t rank = static_cast<int64_t>(x->rank());
    if (rank == 0) return Status::InvalidArgument("Hardmax input must have rank >= 1");
    CITADEL_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(axis_, rank, "Hardmax axis"));
    return DispatchFloat(x->dtype(), [&]<typename T>() -> Status {
      CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.Allocate(0, x->dtype(), x->shape()));
      if (x->num_elements() == 0) return Status::Ok();
      int64_t outer = 1, n = 1, inner = 1;
      for (int64_t d = 0; d < rank; ++d) {
        const int64_t s = x->shape()[d];
        if (d < axis) outer *= s;
        else if (d == axis || coerce_) n *= s;
        else inner *= s;
      }
      const T* in = x->data<T>();
      T* o = y->data<T>();
      for (int64_t a = 0; a < outer; ++a) {
        for (int64_t c = 0; c < inner; ++c) {
          const T* base = in + a * n * inner + c;
          int64_t best = 0;
          for (int64_t k = 1; k < n; ++k) {
            if (base[k * inner] > base[best * inner]) best = k;
          }
          o[(a * n + best) * inner + c] = T(1);
        }
      }
      return Status::Ok();
    });
  }

 private:
  int64_t axis_;
  bool coerce_;
};

}  // namespace

void RegisterOneHotOps(OpRegistry& r) {
  r.Register("", "OneHot", 9, kMaxOnnxOpset, [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    CITADEL_ASSIGN_OR_RETURN(int64_t axis, init.node.attrs.GetInt("axis", -1));
    return std::unique_ptr<Kernel>(std::make_unique<OneHotKernel>(axis));
  });
}

void RegisterHardmaxOps(OpRegistry& r) {
  r.Register("", "Hardmax", 1, 12, [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    CITADEL_ASSIGN_OR_RETURN(int64_t axis, init.node.attrs.GetInt("axis", 1));
    return std::unique_ptr<Kernel>(std::make_unique<HardmaxKernel>(axis, true));
  });
  r.Register("", "Hardmax", 13, kMaxOnnxOpset, [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    CITADEL_ASSIGN_OR_RETURN(int64_t axis, init.node.attrs.GetInt("axis", -1));
    return std::unique_ptr<Kernel>(std::make_unique<HardmaxKernel>(axis, false));
  });
}

}  // namespace citadel::engine::ops
