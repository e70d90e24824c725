// Loop (opsets 1-17): runs the body subgraph while the trip count and the
// condition allow, threading the loop-carried values through and stacking
// the per-iteration scan outputs along a new leading axis.
//
//   inputs:  M (optional int64 trip count), cond (optional bool), v_initial...
//   body:    (iteration_num, cond, carried...) -> (cond, carried..., scan...)
//   outputs: final carried..., stacked scan...
#include <cstdint>
#include <limits>

#include "../subgraph.h"
#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

class LoopKernel final : public Kernel {
 public:
  LoopKernel(Subgraph body, size_t num_carried, size_t num_scan)
      : body_(std::move(body)), num_carried_(num_carried), num_scan_(num_scan) {}

  Status Run(KernelContext& ctx) const override {
    int64_t trip_count = std::numeric_limits<int64_t>::max();
    if (const Tensor* m = ctx.input(0); m != nullptr) {
      if (m->dtype() != DType::kInt64 || m->num_elements() != 1) {
        return Status::InvalidArgument("M must be a single int64");
      }
      trip_count = m->data<int64_t>()[0];
    }
    bool cond = true;
    if (const Tensor* c = ctx.input(1); c != nullptr) {
      if (c->dtype() != DType::kBool || c->num_elements() != 1) {
        return Status::InvalidArgument("cond must be a single bool");
      }
      cond = c->data<uint8_t>()[0] != 0;
    }
    std::vector<Tensor> args(2 + num_carried_);
    for (size_t i = 0; i < num_carried_; ++i) {
      CITADEL_ASSIGN_OR_RETURN(const Tensor* v, RequireInput(ctx, 2 + i, "v_initial"));
      args[2 + i] = *v;
    }
    std::vector<std::vector<Tensor>> scans(num_scan_);
    for (int64_t it = 0; it < trip_count && cond; ++it) {
      CITADEL_ASSIGN_OR_RETURN(args[0], Tensor::FromVector<int64_t>(DType::kInt64, {}, {it}));
      CITADEL_ASSIGN_OR_RETURN(args[1], Tensor::FromVector<uint8_t>(DType::kBool, {}, {cond}));
      auto outs = RunSubgraph(body_, args, ctx);
      if (!outs.ok()) return outs.status().WithContext("iteration " + std::to_string(it));
      const Tensor& c = (*outs)[0];
      if (c.dtype() != DType::kBool || c.num_elements() != 1) {
        return Status::InvalidArgument("the body's cond output must be a single bool");
      }
      cond = c.data<uint8_t>()[0] != 0;
      for (size_t i = 0; i < num_carried_; ++i) args[2 + i] = std::move((*outs)[1 + i]);
      for (size_t k = 0; k < num_scan_; ++k) scans[k].push_back(std::move((*outs)[1 + num_carried_ + k]));
    }
    for (size_t i = 0; i < num_carried_; ++i) ctx.SetOutput(i, args[2 + i]);
    const Graph& g = *body_.graph;
    for (size_t k = 0; k < num_scan_; ++k) {
      const ValueType& t = g.values[g.output_ids[1 + num_carried_ + k]].type;
      CITADEL_ASSIGN_OR_RETURN(
          Tensor stacked, StackAlongAxis(scans[k], 0, false, t.dtype.value_or(DType::kFloat32),
                                         t.shape, ctx));
      ctx.SetOutput(num_carried_ + k, std::move(stacked));
    }
    return Status::Ok();
  }

 private:
  Subgraph body_;
  size_t num_carried_;
  size_t num_scan_;
};

Result<std::unique_ptr<Kernel>> MakeLoop(const KernelInit& init) {
  CITADEL_ASSIGN_OR_RETURN(Subgraph body, PrepareSubgraph(init, "body"));
  const size_t explicit_inputs = init.node.num_explicit_inputs();
  if (explicit_inputs < 2) return Status::InvalidArgument("Loop needs inputs M and cond");
  const size_t carried = explicit_inputs - 2;
  if (body.num_inputs() != carried + 2) {
    return Status::InvalidArgument("Loop body takes " + std::to_string(body.num_inputs()) +
                                   " inputs, expected 2 + " + std::to_string(carried) +
                                   " loop-carried");
  }
  if (body.num_outputs() < carried + 1) {
    return Status::InvalidArgument("Loop body has " + std::to_string(body.num_outputs()) +
                                   " outputs, expected at least 1 + " + std::to_string(carried));
  }
  const size_t scan = body.num_outputs() - 1 - carried;
  if (init.num_outputs() != carried + scan) {
    return Status::InvalidArgument("Loop has " + std::to_string(init.num_outputs()) +
                                   " outputs, its body produces " + std::to_string(carried) +
                                   " loop-carried and " + std::to_string(scan) + " scan outputs");
  }
  return std::unique_ptr<Kernel>(std::make_unique<LoopKernel>(std::move(body), carried, scan));
}

}  // namespace

void RegisterLoopOps(OpRegistry& r) { r.Register("", "Loop", 1, kMaxOnnxOpset, MakeLoop); }

}  // namespace citadel::engine::ops
