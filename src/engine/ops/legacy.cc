// The opset 1-6 forms of ops whose later versions changed only how inputs
// broadcast (or dropped attributes such as consumed_inputs and is_test).
// Each wraps the modern kernel of the same op: the factory reads the old
// attributes at Load, and Run adapts the inputs (legacy broadcasting) before
// handing them to the modern kernel.
//
// Legacy broadcasting (Add/Sub/Mul/Div/Pow before opset 7): with
// broadcast=1, B's shape must match a contiguous run of A's dims starting at
// `axis` (default: B's dims align with A's trailing dims), each B dim equal to
// A's or 1; B is then viewed as [1.., B dims, ..1] of A's rank. Without
// broadcast=1 the two shapes must be equal.
#include <memory>
#include <string>
#include <vector>

#include "../kernel.h"
#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

// Runs `inner` with `inputs` in place of ctx's inputs, moving its outputs
// into ctx.
Status RunWith(const Kernel& inner, KernelContext& ctx, const std::vector<const Tensor*>& inputs) {
  std::vector<Tensor> outs(ctx.num_outputs());
  KernelContext sub(inputs, &outs, ctx.max_tensor_bytes());
  CITADEL_RETURN_IF_ERROR(inner.Run(sub));
  for (size_t i = 0; i < outs.size(); ++i) ctx.SetOutput(i, std::move(outs[i]));
  return Status::Ok();
}

class LegacyBroadcastKernel : public Kernel {
 public:
  LegacyBroadcastKernel(std::unique_ptr<Kernel> inner, bool broadcast, bool has_axis, int64_t axis)
      : inner_(std::move(inner)), broadcast_(broadcast), has_axis_(has_axis), axis_(axis) {}

  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* a, RequireInput(ctx, 0, "A"));
    CITADEL_ASSIGN_OR_RETURN(const Tensor* b, RequireInput(ctx, 1, "B"));
    if (!broadcast_) {
      if (a->shape() != b->shape()) {
        return Status::InvalidArgument(
            "inputs must have the same shape unless broadcast=1 (legacy opset)");
      }
      return inner_->Run(ctx);
    }
    const int64_t ra = static_cast<int64_t>(a->rank());
    const int64_t rb = static_cast<int64_t>(b->rank());
    if (rb > ra) return Status::InvalidArgument("legacy broadcast: B has a higher rank than A");
    int64_t axis = ra - rb;
    if (has_axis_) {
      if (axis_ < -ra || axis_ >= (ra == 0 ? 1 : ra)) {
        return Status::InvalidArgument("legacy broadcast: axis out of range");
      }
      axis = axis_ < 0 ? axis_ + ra : axis_;
    }
    // A scalar-like B (one element) broadcasts anywhere.
    Shape view(static_cast<size_t>(ra), 1);
    if (b->num_elements() != 1 || rb > 0) {
      if (axis + rb > ra) return Status::InvalidArgument("legacy broadcast: B does not fit A at axis");
      for (int64_t i = 0; i < rb; ++i) {
        const int64_t bd = b->shape()[i], ad = a->shape()[axis + i];
        if (bd != ad && bd != 1) {
          if (b->num_elements() == 1) break;
          return Status::InvalidArgument("legacy broadcast: B dim " + std::to_string(i) + " (" +
                                         std::to_string(bd) + ") does not match A dim " +
                                         std::to_string(axis + i) + " (" + std::to_string(ad) + ")");
        }
        view[axis + i] = bd;
      }
    }
    if (b->num_elements() == 1) view.assign(static_cast<size_t>(ra), 1);
    CITADEL_ASSIGN_OR_RETURN(Tensor bv, b->Reshaped(view));
    return RunWith(*inner_, ctx, {a, &bv});
  }

 private:
  std::unique_ptr<Kernel> inner_;
  bool broadcast_, has_axis_;
  int64_t axis_;
};

// Variadic ops before opset 8 (Sum/Max/Min/Mean): inputs must share one shape.
class SameShapeKernel : public Kernel {
 public:
  explicit SameShapeKernel(std::unique_ptr<Kernel> inner) : inner_(std::move(inner)) {}
  Status Run(KernelContext& ctx) const override {
    const Tensor* first = nullptr;
    for (size_t i = 0; i < ctx.num_inputs(); ++i) {
      const Tensor* t = ctx.input(i);
      if (t == nullptr) continue;
      if (first == nullptr) first = t;
      else if (t->shape() != first->shape()) {
        return Status::InvalidArgument("inputs must all have the same shape (legacy opset)");
      }
    }
    return inner_->Run(ctx);
  }

 private:
  std::unique_ptr<Kernel> inner_;
};

Result<KernelFactory> ModernFactory(const OpRegistry& r, const std::string& op, int64_t opset) {
  CITADEL_ASSIGN_OR_RETURN(const KernelFactory* f, r.Find("", op, opset));
  return *f;  // copied: later registrations may move the registry's entries
}

}  // namespace

void RegisterLegacyOps(OpRegistry& r) {
  for (const char* op : {"Add", "Sub", "Mul", "Div", "Pow"}) {
    auto modern = ModernFactory(r, op, 7);
    if (!modern.ok()) continue;
    r.Register("", op, 1, 6, [f = *modern](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
      CITADEL_ASSIGN_OR_RETURN(int64_t broadcast, init.node.attrs.GetInt("broadcast", 0));
      CITADEL_ASSIGN_OR_RETURN(int64_t axis, init.node.attrs.GetInt("axis", 0));
      CITADEL_ASSIGN_OR_RETURN(std::unique_ptr<Kernel> inner, f(init));
      return std::unique_ptr<Kernel>(std::make_unique<LegacyBroadcastKernel>(
          std::move(inner), broadcast != 0, init.node.attrs.Has("axis"), axis));
    });
  }
  for (const char* op : {"Sum", "Max", "Min", "Mean"}) {
    auto modern = ModernFactory(r, op, 8);
    if (!modern.ok()) continue;
    r.Register("", op, 1, 7, [f = *modern](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
      CITADEL_ASSIGN_OR_RETURN(std::unique_ptr<Kernel> inner, f(init));
      return std::unique_ptr<Kernel>(std::make_unique<SameShapeKernel>(std::move(inner)));
    });
  }
  // Gemm 1-6: C broadcast (with broadcast=1) is what opset 7 always does; with
  // broadcast=0 C must already have the output's shape, a case of the same.
  if (auto modern = ModernFactory(r, "Gemm", 7); modern.ok()) {
    r.Register("", "Gemm", 1, 6, *modern);
  }
  // BatchNormalization 1-6: is_test=1 is inference (training otherwise,
  // unsupported like training_mode later); the modern factory also rejects
  // the running-statistics outputs. consumed_inputs is ignored.
  if (auto modern = ModernFactory(r, "BatchNormalization", 7); modern.ok()) {
    r.Register("", "BatchNormalization", 1, 6, [f = *modern](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
      CITADEL_ASSIGN_OR_RETURN(int64_t is_test, init.node.attrs.GetInt("is_test", 0));
      if (is_test == 0) {
        return Status::Unsupported("BatchNormalization in training mode (is_test=0) is not supported");
      }
      return f(init);
    });
  }
}

}  // namespace citadel::engine::ops
