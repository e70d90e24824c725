// GatherElements and GatherND. Every index is bounds-checked (negative ones
// count from the end) before it is used; byte copies, so any fixed-size dtype.
#include <cstring>

#include "../kernel.h"
#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

// Index tensor (int32/int64, any shape) as int64 values.
Result<std::vector<int64_t>> IndexValues(const Tensor& t, const char* op) {
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

Status FixIndex(int64_t* i, int64_t dim, const char* op) {
  if (*i < -dim || *i >= dim) {
    return Status::InvalidArgument(std::string(op) + " index " + std::to_string(*i) +
                                   " is out of range for dimension " + std::to_string(dim));
  }
  if (*i < 0) *i += dim;
  return Status::Ok();
}

class GatherElementsKernel : public Kernel {
 public:
  explicit GatherElementsKernel(int64_t axis) : axis_(axis) {}
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "data"));
    CITADEL_ASSIGN_OR_RETURN(const Tensor* ind, RequireInput(ctx, 1, "indices"));
    const int64_t rank = static_cast<int64_t>(x->rank());
    if (rank == 0 || ind->rank() != x->rank()) {
      return Status::InvalidArgument("GatherElements data and indices must have the same rank >= 1");
    }
    CITADEL_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(axis_, rank));
    CITADEL_ASSIGN_OR_RETURN(std::vector<int64_t> idx, IndexValues(*ind, "GatherElements"));
    CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.Allocate(0, x->dtype(), ind->shape()));
    const std::vector<int64_t> xs = Strides(x->shape());
    const size_t w = DTypeSize(x->dtype());
    std::vector<int64_t> pos(rank, 0);
    for (size_t i = 0; i < idx.size(); ++i) {
      int64_t off = 0;
      for (int64_t d = 0; d < rank; ++d) {
        int64_t c = pos[d];
        if (d == axis) {
          c = idx[i];
          CITADEL_RETURN_IF_ERROR(FixIndex(&c, x->shape()[d], "GatherElements"));
        } else if (c >= x->shape()[d]) {
          return Status::InvalidArgument("GatherElements indices shape " + ShapeToString(ind->shape()) +
                                         " exceeds data shape " + ShapeToString(x->shape()));
        }
        off += c * xs[d];
      }
      std::memcpy(y->raw_data() + i * w, x->raw_data() + off * w, w);
      for (int64_t d = rank - 1; d >= 0; --d) {
        if (++pos[d] < ind->shape()[d]) break;
        pos[d] = 0;
      }
    }
    return Status::Ok();
  }

 private:
  int64_t axis_;
};

class GatherNDKernel : public Kernel {
 public:
  explicit GatherNDKernel(int64_t batch_dims) : b_(batch_dims) {}
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "data"));
    CITADEL_ASSIGN_OR_RETURN(const Tensor* ind, RequireInput(ctx, 1, "indices"));
    const int64_t r = static_cast<int64_t>(x->rank()), q = static_cast<int64_t>(ind->rank());
    if (r < 1 || q < 1 || b_ < 0 || b_ >= std::min(r, q)) {
      return Status::InvalidArgument("GatherND: bad ranks or batch_dims");
    }
    const int64_t k = ind->shape()[q - 1];
    if (k < 1 || k > r - b_) return Status::InvalidArgument("GatherND: indices last dimension out of range");
    for (int64_t d = 0; d < b_; ++d) {
      if (x->shape()[d] != ind->shape()[d]) return Status::InvalidArgument("GatherND: batch dimensions differ");
    }
    CITADEL_ASSIGN_OR_RETURN(std::vector<int64_t> idx, IndexValues(*ind, "GatherND"));
    Shape out_shape(ind->shape().begin(), ind->shape().end() - 1);
    out_shape.insert(out_shape.end(), x->shape().begin() + b_ + k, x->shape().end());
    CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.Allocate(0, x->dtype(), out_shape));
    const size_t w = DTypeSize(x->dtype());
    const std::vector<int64_t> xs = Strides(x->shape());
    int64_t slice = 1, batch = 1;
    for (int64_t d = b_ + k; d < r; ++d) slice *= x->shape()[d];
    for (int64_t d = 0; d < b_; ++d) batch *= x->shape()[d];
    const int64_t tuples = static_cast<int64_t>(idx.size()) / k;
    const int64_t per_batch = batch == 0 ? 0 : tuples / batch;
    const int64_t batch_stride = b_ > 0 ? xs[b_ - 1] : 0;
    for (int64_t t = 0; t < tuples; ++t) {
      int64_t off = (per_batch ? t / per_batch : 0) * batch_stride;
      for (int64_t j = 0; j < k; ++j) {
        int64_t c = idx[t * k + j];
        CITADEL_RETURN_IF_ERROR(FixIndex(&c, x->shape()[b_ + j], "GatherND"));
        off += c * xs[b_ + j];
      }
      std::memcpy(y->raw_data() + t * slice * w, x->raw_data() + off * w, slice * w);
    }
    return Status::Ok();
  }

 private:
  int64_t b_;
};

}  // namespace

void RegisterGatherNDOps(OpRegistry& r) {
  r.Register("", "GatherElements", 11, kMaxOnnxOpset, [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    CITADEL_ASSIGN_OR_RETURN(int64_t axis, init.node.attrs.GetInt("axis", 0));
    return std::unique_ptr<Kernel>(std::make_unique<GatherElementsKernel>(axis));
  });
  r.Register("", "GatherND", 11, kMaxOnnxOpset, [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    CITADEL_ASSIGN_OR_RETURN(int64_t b, init.node.attrs.GetInt("batch_dims", 0));
    return std::unique_ptr<Kernel>(std::make_unique<GatherNDKernel>(b));
  });
}

}  // namespace citadel::engine::ops
