// If (opsets 1-17): runs the then_branch or else_branch subgraph.
#include "../subgraph.h"
#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

class IfKernel final : public Kernel {
 public:
  IfKernel(Subgraph then_branch, Subgraph else_branch)
      : then_(std::move(then_branch)), else_(std::move(else_branch)) {}

  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* cond, RequireInput(ctx, 0, "cond"));
    if (cond->dtype() != DType::kBool || cond->num_elements() != 1) {
      return Status::InvalidArgument("cond must be a single bool, got " +
                                     std::string(DTypeName(cond->dtype())) +
                                     ShapeToString(cond->shape()));
    }
    const Subgraph& branch = cond->data<uint8_t>()[0] != 0 ? then_ : else_;
    CITADEL_ASSIGN_OR_RETURN(std::vector<Tensor> outs, RunSubgraph(branch, {}, ctx));
    for (size_t i = 0; i < ctx.num_outputs(); ++i) ctx.SetOutput(i, std::move(outs[i]));
    return Status::Ok();
  }

 private:
  Subgraph then_;
  Subgraph else_;
};

Result<std::unique_ptr<Kernel>> MakeIf(const KernelInit& init) {
  CITADEL_ASSIGN_OR_RETURN(Subgraph then_branch, PrepareSubgraph(init, "then_branch"));
  CITADEL_ASSIGN_OR_RETURN(Subgraph else_branch, PrepareSubgraph(init, "else_branch"));
  const size_t n = init.num_outputs();
  if (then_branch.num_outputs() != n || else_branch.num_outputs() != n) {
    return Status::InvalidArgument("If has " + std::to_string(n) + " outputs but its branches " +
                                   std::to_string(then_branch.num_outputs()) + " and " +
                                   std::to_string(else_branch.num_outputs()));
  }
  if (then_branch.num_inputs() != 0 || else_branch.num_inputs() != 0) {
    return Status::InvalidArgument("If branches must take no inputs");
  }
  return std::unique_ptr<Kernel>(
      std::make_unique<IfKernel>(std::move(then_branch), std::move(else_branch)));
}

}  // namespace

void RegisterIfOps(OpRegistry& r) { r.Register("", "If", 1, kMaxOnnxOpset, MakeIf); }

}  // namespace citadel::engine::ops
