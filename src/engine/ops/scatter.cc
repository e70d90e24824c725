// ScatterElements (and the deprecated Scatter), ScatterND, with reduction
// none/add/mul. The output starts as a copy of data; every index is
// bounds-checked before the write.
#include <cstring>

#include "../kernel.h"
#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

enum class Reduction { kNone, kAdd, kMul };

Result<Reduction> ParseReduction(const std::string& s) {
  if (s == "none") return Reduction::kNone;
  if (s == "add") return Reduction::kAdd;
  if (s == "mul") return Reduction::kMul;
  return Status::Unsupported("scatter reduction '" + s + "' is not supported");
}

Result<std::vector<int64_t>> Indices(const Tensor& t, const char* op) {
  std::vector<int64_t> v(t.num_elements());
  if (t.dtype() == DType::kInt64) {
    if (!v.empty()) std::memcpy(v.data(), t.raw_data(), v.size() * 8);
  } else if (t.dtype() == DType::kInt32) {
    for (size_t i = 0; i < v.size(); ++i) v[i] = t.data<int32_t>()[i];
  } else {
    return Status::InvalidArgument(std::string(op) + " indices must be int32 or int64");
  }
  return v;
}

Status Fix(int64_t* i, int64_t dim, const char* op) {
  if (*i < -dim || *i >= dim) {
    return Status::InvalidArgument(std::string(op) + " index " + std::to_string(*i) +
                                   " is out of range for dimension " + std::to_string(dim));
  }
  if (*i < 0) *i += dim;
  return Status::Ok();
}

// Writes `n` elements from src into dst with the reduction.
Status Combine(DType dt, Reduction red, uint8_t* dst, const uint8_t* src, size_t n) {
  if (red == Reduction::kNone) {
    std::memcpy(dst, src, n * DTypeSize(dt));
    return Status::Ok();
  }
  return DispatchNumeric(dt == DType::kBool ? DType::kUInt8 : dt, [&]<typename T>() -> Status {
    T* d = reinterpret_cast<T*>(dst);
    const T* s = reinterpret_cast<const T*>(src);
    for (size_t i = 0; i < n; ++i) d[i] = red == Reduction::kAdd ? static_cast<T>(d[i] + s[i]) : static_cast<T>(d[i] * s[i]);
    return Status::Ok();
  });
}

class ScatterElementsKernel : public Kernel {
 public:
  ScatterElementsKernel(int64_t axis, Reduction red) : axis_(axis), red_(red) {}
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "data"));
    CITADEL_ASSIGN_OR_RETURN(const Tensor* ind, RequireInput(ctx, 1, "indices"));
    CITADEL_ASSIGN_OR_RETURN(const Tensor* upd, RequireInput(ctx, 2, "updates"));
    const int64_t rank = static_cast<int64_t>(x->rank());
    if (rank == 0 || ind->rank() != x->rank() || upd->shape() != ind->shape()) {
      return Status::InvalidArgument("ScatterElements: data, indices and updates must have the same rank, indices and updates the same shape");
    }
    CITADEL_RETURN_IF_ERROR(ExpectSameDType(*x, *upd, "ScatterElements data and updates"));
    CITADEL_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(axis_, rank));
    for (int64_t d = 0; d < rank; ++d) {
      if (ind->shape()[d] > x->shape()[d] && d != axis) {
        return Status::InvalidArgument("ScatterElements indices shape exceeds data shape");
      }
    }
    CITADEL_ASSIGN_OR_RETURN(std::vector<int64_t> idx, Indices(*ind, "ScatterElements"));
    CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.Allocate(0, x->dtype(), x->shape()));
    std::memcpy(y->raw_data(), x->raw_data(), x->byte_size());
    const std::vector<int64_t> xs = Strides(x->shape());
    const size_t w = DTypeSize(x->dtype());
    std::vector<int64_t> pos(rank, 0);
    for (size_t i = 0; i < idx.size(); ++i) {
      int64_t off = 0;
      for (int64_t d = 0; d < rank; ++d) {
        int64_t c = pos[d];
        if (d == axis) {
          c = idx[i];
          CITADEL_RETURN_IF_ERROR(Fix(&c, x->shape()[d], "ScatterElements"));
        }
        off += c * xs[d];
      }
      CITADEL_RETURN_IF_ERROR(Combine(x->dtype(), red_, y->raw_data() + off * w, upd->raw_data() + i * w, 1));
      for (int64_t d = rank - 1; d >= 0; --d) {
        if (++pos[d] < ind->shape()[d]) break;
        pos[d] = 0;
      }
    }
    return Status::Ok();
  }

 private:
  int64_t axis_;
  Reduction red_;
};

class ScatterNDKernel : public Kernel {
 public:
  explicit ScatterNDKernel(Reduction red) : red_(red) {}
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "data"));
    CITADEL_ASSIGN_OR_RETURN(const Tensor* ind, RequireInput(ctx, 1, "indices"));
    CITADEL_ASSIGN_OR_RETURN(const Tensor* upd, RequireInput(ctx, 2, "updates"));
    CITADEL_RETURN_IF_ERROR(ExpectSameDType(*x, *upd, "ScatterND data and updates"));
    const int64_t r = static_cast<int64_t>(x->rank()), q = static_cast<int64_t>(ind->rank());
    if (r < 1 || q < 1) return Status::InvalidArgument("ScatterND: data and indices need rank >= 1");
    const int64_t k = ind->shape()[q - 1];
    if (k < 1 || k > r) return Status::InvalidArgument("ScatterND: indices last dimension out of range");
    Shape want(ind->shape().begin(), ind->shape().end() - 1);
    want.insert(want.end(), x->shape().begin() + k, x->shape().end());
    if (upd->shape() != want) {
      return Status::InvalidArgument("ScatterND updates must have shape " + ShapeToString(want) +
                                     ", got " + ShapeToString(upd->shape()));
    }
    CITADEL_ASSIGN_OR_RETURN(std::vector<int64_t> idx, Indices(*ind, "ScatterND"));
    CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.Allocate(0, x->dtype(), x->shape()));
    std::memcpy(y->raw_data(), x->raw_data(), x->byte_size());
    const std::vector<int64_t> xs = Strides(x->shape());
    const size_t w = DTypeSize(x->dtype());
    int64_t slice = 1;
    for (int64_t d = k; d < r; ++d) slice *= x->shape()[d];
    const int64_t tuples = static_cast<int64_t>(idx.size()) / k;
    for (int64_t t = 0; t < tuples; ++t) {
      int64_t off = 0;
      for (int64_t j = 0; j < k; ++j) {
        int64_t c = idx[t * k + j];
        CITADEL_RETURN_IF_ERROR(Fix(&c, x->shape()[j], "ScatterND"));
        off += c * xs[j];
      }
      CITADEL_RETURN_IF_ERROR(Combine(x->dtype(), red_, y->raw_data() + off * w,
                                      upd->raw_data() + t * slice * w, slice));
    }
    return Status::Ok();
  }

 private:
  Reduction red_;
};

KernelFactory ScatterElementsFactory(bool reduction_attr) {
  return [reduction_attr](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    CITADEL_ASSIGN_OR_RETURN(int64_t axis, init.node.attrs.GetInt("axis", 0));
    Reduction red = Reduction::kNone;
    if (reduction_attr) {
      CITADEL_ASSIGN_OR_RETURN(std::string s, init.node.attrs.GetString("reduction", "none"));
      CITADEL_ASSIGN_OR_RETURN(red, ParseReduction(s));
    }
    return std::unique_ptr<Kernel>(std::make_unique<ScatterElementsKernel>(axis, red));
  };
}

}  // namespace

void RegisterScatterOps(OpRegistry& r) {
  r.Register("", "Scatter", 9, 10, ScatterElementsFactory(false));
  r.Register("", "ScatterElements", 11, 15, ScatterElementsFactory(false));
  r.Register("", "ScatterElements", 16, kMaxOnnxOpset, ScatterElementsFactory(true));
  r.Register("", "ScatterND", 11, kMaxOnnxOpset, [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    Reduction red = Reduction::kNone;
    if (init.opset >= 16) {
      CITADEL_ASSIGN_OR_RETURN(std::string s, init.node.attrs.GetString("reduction", "none"));
      CITADEL_ASSIGN_OR_RETURN(red, ParseReduction(s));
    }
    return std::unique_ptr<Kernel>(std::make_unique<ScatterNDKernel>(red));
  });
}

}  // namespace citadel::engine::ops
