// Shape-only ops: Reshape, Flatten, Squeeze, Unsqueeze. Outputs share the
// input buffer; only the shape changes.
#include <algorithm>
#include <set>

#include "../kernel.h"
#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

Result<Tensor> WithShape(const Tensor& x, const Shape& shape) {
  if (x.dtype() == DType::kString) {
    // Strings live outside the byte buffer; copy them into the new shape.
    return Tensor::FromStrings(shape, x.strings());
  }
  return x.Reshaped(shape);
}

// Resolves an ONNX Reshape target against the input shape: 0 copies the
// input dim (unless allowzero), one -1 is inferred.
Result<Shape> ResolveReshape(const Shape& in, const std::vector<int64_t>& target, bool allowzero) {
  Shape out(target.size());
  int infer = -1;
  int64_t known = 1;
  bool has_zero = false;
  for (size_t i = 0; i < target.size(); ++i) {
    int64_t d = target[i];
    if (d == -1) {
      if (infer >= 0) return Status::InvalidArgument("Reshape: more than one -1 in the target shape");
      infer = static_cast<int>(i);
      continue;
    }
    if (d < -1) {
      return Status::InvalidArgument("Reshape: invalid dimension " + std::to_string(d));
    }
    if (d == 0 && !allowzero) {
      if (i >= in.size()) {
        return Status::InvalidArgument("Reshape: 0 at index " + std::to_string(i) +
                                       " has no matching input dimension in " + ShapeToString(in));
      }
      d = in[i];
    }
    if (d == 0) has_zero = true;
    out[i] = d;
    if (d != 0 && known > (int64_t{1} << 62) / d) {
      return Status::InvalidArgument("Reshape: target shape is too large");
    }
    known *= d;
  }
  int64_t total = 1;
  for (int64_t d : in) total *= d;
  if (infer >= 0) {
    if (has_zero || known == 0) {
      if (allowzero && has_zero) {
        return Status::InvalidArgument("Reshape: -1 together with a literal 0 (allowzero)");
      }
      if (total != 0) {
        return Status::InvalidArgument("Reshape: cannot infer -1 with a zero-sized target");
      }
      out[infer] = 0;
    } else {
      if (total % known != 0) {
        return Status::InvalidArgument("Reshape: cannot reshape " + ShapeToString(in) + " to " +
                                       ShapeToString(target));
      }
      out[infer] = total / known;
    }
  }
  int64_t out_total = 1;
  for (int64_t d : out) out_total *= d;
  if (out_total != total) {
    return Status::InvalidArgument("Reshape: cannot reshape " + ShapeToString(in) + " (" +
                                   std::to_string(total) + " elements) to " +
                                   ShapeToString(target));
  }
  return out;
}

class ReshapeKernel : public Kernel {
 public:
  explicit ReshapeKernel(bool allowzero) : allowzero_(allowzero) {}
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "data"));
    CITADEL_ASSIGN_OR_RETURN(const Tensor* s, RequireInput(ctx, 1, "shape"));
    CITADEL_ASSIGN_OR_RETURN(auto target, ReadInt64s(*s, "Reshape shape"));
    CITADEL_ASSIGN_OR_RETURN(Shape out, ResolveReshape(x->shape(), target, allowzero_));
    CITADEL_ASSIGN_OR_RETURN(Tensor y, WithShape(*x, out));
    ctx.SetOutput(0, std::move(y));
    return Status::Ok();
  }

 private:
  bool allowzero_;
};

class FlattenKernel : public Kernel {
 public:
  explicit FlattenKernel(int64_t axis) : axis_(axis) {}
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "input"));
    const int64_t rank = static_cast<int64_t>(x->rank());
    int64_t axis = axis_ < 0 ? axis_ + rank : axis_;
    if (axis < 0 || axis > rank) {
      return Status::InvalidArgument("Flatten axis " + std::to_string(axis_) +
                                     " is out of range for rank " + std::to_string(rank));
    }
    int64_t outer = 1, inner = 1;
    for (int64_t i = 0; i < rank; ++i) (i < axis ? outer : inner) *= x->shape()[i];
    CITADEL_ASSIGN_OR_RETURN(Tensor y, WithShape(*x, {outer, inner}));
    ctx.SetOutput(0, std::move(y));
    return Status::Ok();
  }

 private:
  int64_t axis_;
};

// Squeeze/Unsqueeze take axes as an attribute before opset 13 and as an
// optional input from 13 on.
class SqueezeKernel : public Kernel {
 public:
  SqueezeKernel(bool unsqueeze, bool axes_from_input, std::vector<int64_t> axes)
      : unsqueeze_(unsqueeze), axes_from_input_(axes_from_input), axes_(std::move(axes)) {}

  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "data"));
    std::vector<int64_t> axes = axes_;
    if (axes_from_input_ && ctx.input(1) != nullptr) {
      CITADEL_ASSIGN_OR_RETURN(axes, ReadInt64s(*ctx.input(1), "axes"));
    }
    const Shape& in = x->shape();
    Shape out;
    if (unsqueeze_) {
      if (axes.empty()) return Status::InvalidArgument("Unsqueeze needs axes");
      const int64_t out_rank = static_cast<int64_t>(in.size() + axes.size());
      std::set<int64_t> norm;
      for (int64_t a : axes) {
        CITADEL_ASSIGN_OR_RETURN(int64_t n, NormalizeAxis(a, out_rank, "Unsqueeze axis"));
        if (!norm.insert(n).second) return Status::InvalidArgument("Unsqueeze: repeated axis");
      }
      size_t j = 0;
      for (int64_t i = 0; i < out_rank; ++i) out.push_back(norm.count(i) ? 1 : in[j++]);
    } else {
      std::set<int64_t> norm;
      for (int64_t a : axes) {
        CITADEL_ASSIGN_OR_RETURN(int64_t n, NormalizeAxis(a, static_cast<int64_t>(in.size()), "Squeeze axis"));
        if (in[n] != 1) {
          return Status::InvalidArgument("Squeeze: dimension " + std::to_string(n) + " of " +
                                         ShapeToString(in) + " is not 1");
        }
        norm.insert(n);
      }
      for (size_t i = 0; i < in.size(); ++i) {
        bool drop = !axes.empty() ? norm.count(static_cast<int64_t>(i)) != 0 : in[i] == 1;
        if (!drop) out.push_back(in[i]);
      }
    }
    CITADEL_ASSIGN_OR_RETURN(Tensor y, WithShape(*x, out));
    ctx.SetOutput(0, std::move(y));
    return Status::Ok();
  }

 private:
  bool unsqueeze_;
  bool axes_from_input_;
  std::vector<int64_t> axes_;
};

KernelFactory Squeeze(bool unsqueeze) {
  return [unsqueeze](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    const bool from_input = init.opset >= 13;
    std::vector<int64_t> axes;
    if (!from_input) {
      CITADEL_ASSIGN_OR_RETURN(axes, init.node.attrs.GetInts("axes", {}));
    }
    return std::unique_ptr<Kernel>(std::make_unique<SqueezeKernel>(unsqueeze, from_input, axes));
  };
}

}  // namespace

void RegisterShapeOps(OpRegistry& r) {
  r.Register("", "Reshape", 5, kMaxOnnxOpset, [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    CITADEL_ASSIGN_OR_RETURN(int64_t allowzero, init.node.attrs.GetInt("allowzero", 0));
    return std::unique_ptr<Kernel>(std::make_unique<ReshapeKernel>(allowzero != 0));
  });
  r.Register("", "Flatten", 1, kMaxOnnxOpset, [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    CITADEL_ASSIGN_OR_RETURN(int64_t axis, init.node.attrs.GetInt("axis", 1));
    return std::unique_ptr<Kernel>(std::make_unique<FlattenKernel>(axis));
  });
  r.Register("", "Squeeze", 1, kMaxOnnxOpset, Squeeze(false));
  r.Register("", "Unsqueeze", 1, kMaxOnnxOpset, Squeeze(true));
}

}  // namespace citadel::engine::ops
