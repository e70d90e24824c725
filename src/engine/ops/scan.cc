// Scan: runs the body once per position along the scan axis of its scan
// inputs, threading state variables through and stacking the per-position
// scan outputs.
//
// Opset 8: input 0 is optional sequence_lens; every other input has a
// leading batch axis and the scan axis is axis 1; `directions` reverses
// scan inputs. Opsets 9-17: no batch axis; scan_input_axes /
// scan_input_directions / scan_output_axes / scan_output_directions.
#include <cstdint>

#include "../subgraph.h"
#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

class ScanKernel final : public Kernel {
 public:
  ScanKernel(Subgraph body, bool batched, size_t num_states, size_t num_scan_in, size_t num_scan_out,
             std::vector<int64_t> in_axes, std::vector<int64_t> in_dirs, std::vector<int64_t> out_axes,
             std::vector<int64_t> out_dirs)
      : body_(std::move(body)), batched_(batched), n_(num_states), m_(num_scan_in),
        k_(num_scan_out), in_axes_(std::move(in_axes)), in_dirs_(std::move(in_dirs)),
        out_axes_(std::move(out_axes)), out_dirs_(std::move(out_dirs)) {}

  Status Run(KernelContext& ctx) const override {
    return batched_ ? RunBatched(ctx) : RunUnbatched(ctx);
  }

 private:
  // One scan over `len` positions; `states` are updated in place and
  // per_pos[k] receives scan output k of each position, in iteration order.
  Status Core(const KernelContext& ctx, std::vector<Tensor>* states,
              const std::vector<Tensor>& scan_in, const std::vector<int64_t>& axes, int64_t len,
              std::vector<std::vector<Tensor>>* per_pos) const {
    per_pos->assign(k_, {});
    std::vector<Tensor> args(n_ + m_);
    for (int64_t t = 0; t < len; ++t) {
      for (size_t i = 0; i < n_; ++i) args[i] = (*states)[i];
      for (size_t j = 0; j < m_; ++j) {
        const int64_t pos = in_dirs_[j] != 0 ? len - 1 - t : t;
        CITADEL_ASSIGN_OR_RETURN(args[n_ + j], SliceAlongAxis(scan_in[j], axes[j], pos, ctx));
      }
      auto outs = RunSubgraph(body_, args, ctx);
      if (!outs.ok()) return outs.status().WithContext("scan position " + std::to_string(t));
      for (size_t i = 0; i < n_; ++i) (*states)[i] = std::move((*outs)[i]);
      for (size_t k = 0; k < k_; ++k) (*per_pos)[k].push_back(std::move((*outs)[n_ + k]));
    }
    return Status::Ok();
  }

  const ValueType& OutType(size_t k) const {
    const Graph& g = *body_.graph;
    return g.values[g.output_ids[n_ + k]].type;
  }

  Status RunUnbatched(KernelContext& ctx) const {
    std::vector<Tensor> states(n_), scan_in(m_);
    for (size_t i = 0; i < n_; ++i) {
      CITADEL_ASSIGN_OR_RETURN(const Tensor* t, RequireInput(ctx, i, "initial state"));
      states[i] = *t;
    }
    std::vector<int64_t> axes(m_);
    int64_t len = -1;
    for (size_t j = 0; j < m_; ++j) {
      CITADEL_ASSIGN_OR_RETURN(const Tensor* t, RequireInput(ctx, n_ + j, "scan input"));
      scan_in[j] = *t;
      CITADEL_ASSIGN_OR_RETURN(axes[j], NormalizeAxis(in_axes_[j], t->rank(), "scan_input_axes"));
      const int64_t l = t->shape()[axes[j]];
      if (len >= 0 && l != len) {
        return Status::InvalidArgument("scan inputs have different lengths (" +
                                       std::to_string(len) + " and " + std::to_string(l) + ")");
      }
      len = l;
    }
    if (len < 0) return Status::InvalidArgument("Scan needs at least one scan input");
    std::vector<std::vector<Tensor>> per_pos;
    CITADEL_RETURN_IF_ERROR(Core(ctx, &states, scan_in, axes, len, &per_pos));
    for (size_t i = 0; i < n_; ++i) ctx.SetOutput(i, states[i]);
    for (size_t k = 0; k < k_; ++k) {
      const ValueType& t = OutType(k);
      const int64_t rank = per_pos[k].empty() ? (t.shape ? static_cast<int64_t>(t.shape->size()) : 0)
                                              : static_cast<int64_t>(per_pos[k][0].rank());
      CITADEL_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(out_axes_[k], rank + 1, "scan_output_axes"));
      CITADEL_ASSIGN_OR_RETURN(
          Tensor out, StackAlongAxis(per_pos[k], axis, out_dirs_[k] != 0,
                                     t.dtype.value_or(DType::kFloat32), t.shape, ctx));
      ctx.SetOutput(n_ + k, std::move(out));
    }
    return Status::Ok();
  }

  // Opset 8: every input has a leading batch axis; each batch entry is an
  // independent scan along (its) axis 0 over sequence_lens[b] positions.
  // Scan outputs past a shorter sequence are zero.
  Status RunBatched(KernelContext& ctx) const {
    std::vector<const Tensor*> ins(n_ + m_);
    int64_t batch = -1, max_len = -1;
    for (size_t i = 0; i < n_ + m_; ++i) {
      CITADEL_ASSIGN_OR_RETURN(ins[i], RequireInput(ctx, 1 + i, "Scan input"));
      const int64_t min_rank = i < n_ ? 1 : 2;
      if (static_cast<int64_t>(ins[i]->rank()) < min_rank) {
        return Status::InvalidArgument("Scan-8 inputs need a batch axis (and scan inputs a sequence axis)");
      }
      if (batch >= 0 && ins[i]->shape()[0] != batch) {
        return Status::InvalidArgument("Scan inputs disagree on the batch size");
      }
      batch = ins[i]->shape()[0];
      if (i >= n_) {
        if (max_len >= 0 && ins[i]->shape()[1] != max_len) {
          return Status::InvalidArgument("scan inputs have different sequence lengths");
        }
        max_len = ins[i]->shape()[1];
      }
    }
    if (max_len < 0) return Status::InvalidArgument("Scan needs at least one scan input");
    std::vector<int64_t> lens(static_cast<size_t>(batch), max_len);
    if (const Tensor* sl = ctx.input(0); sl != nullptr) {
      CITADEL_ASSIGN_OR_RETURN(lens, ReadInt64s(*sl, "sequence_lens"));
      if (static_cast<int64_t>(lens.size()) != batch) {
        return Status::InvalidArgument("sequence_lens has " + std::to_string(lens.size()) +
                                       " entries for batch " + std::to_string(batch));
      }
      for (int64_t l : lens) {
        if (l < 0 || l > max_len) return Status::InvalidArgument("sequence_lens entry out of range");
      }
    }
    std::vector<std::vector<Tensor>> state_b(n_), out_b(k_);
    const std::vector<int64_t> axes(m_, 0);
    for (int64_t b = 0; b < batch; ++b) {
      std::vector<Tensor> states(n_), scan_in(m_);
      for (size_t i = 0; i < n_; ++i) {
        CITADEL_ASSIGN_OR_RETURN(states[i], SliceAlongAxis(*ins[i], 0, b, ctx));
      }
      for (size_t j = 0; j < m_; ++j) {
        CITADEL_ASSIGN_OR_RETURN(Tensor whole, SliceAlongAxis(*ins[n_ + j], 0, b, ctx));
        if (lens[b] < max_len) {
          // Only the first lens[b] positions take part (also when reversed).
          std::vector<Tensor> parts;
          for (int64_t t = 0; t < lens[b]; ++t) {
            CITADEL_ASSIGN_OR_RETURN(Tensor p, SliceAlongAxis(whole, 0, t, ctx));
            parts.push_back(std::move(p));
          }
          Shape s = whole.shape();
          s.erase(s.begin());
          CITADEL_ASSIGN_OR_RETURN(whole, StackAlongAxis(parts, 0, false, whole.dtype(), s, ctx));
        }
        scan_in[j] = std::move(whole);
      }
      std::vector<std::vector<Tensor>> per_pos;
      CITADEL_RETURN_IF_ERROR(Core(ctx, &states, scan_in, axes, lens[b], &per_pos));
      for (size_t i = 0; i < n_; ++i) state_b[i].push_back(states[i]);
      for (size_t k = 0; k < k_; ++k) {
        auto& parts = per_pos[k];
        if (parts.empty()) {
          return Status::Unsupported("Scan-8 with a zero sequence length and scan outputs");
        }
        while (static_cast<int64_t>(parts.size()) < max_len) {
          CITADEL_ASSIGN_OR_RETURN(Tensor z, ctx.NewTensor(parts[0].dtype(), parts[0].shape()));
          parts.push_back(std::move(z));
        }
        CITADEL_ASSIGN_OR_RETURN(Tensor o, StackAlongAxis(parts, 0, false, parts[0].dtype(),
                                                          parts[0].shape(), ctx));
        out_b[k].push_back(std::move(o));
      }
    }
    for (size_t i = 0; i < n_; ++i) {
      const Graph& g = *body_.graph;
      const ValueType& t = g.values[g.output_ids[i]].type;
      CITADEL_ASSIGN_OR_RETURN(Tensor s, StackAlongAxis(state_b[i], 0, false,
                                                        t.dtype.value_or(DType::kFloat32), t.shape, ctx));
      ctx.SetOutput(i, std::move(s));
    }
    for (size_t k = 0; k < k_; ++k) {
      const ValueType& t = OutType(k);
      std::optional<Shape> s;
      if (t.shape) {
        s = *t.shape;
        s->insert(s->begin(), max_len);
      }
      CITADEL_ASSIGN_OR_RETURN(Tensor o, StackAlongAxis(out_b[k], 0, false,
                                                        t.dtype.value_or(DType::kFloat32), s, ctx));
      ctx.SetOutput(n_ + k, std::move(o));
    }
    return Status::Ok();
  }

  Subgraph body_;
  bool batched_;
  size_t n_, m_, k_;
  std::vector<int64_t> in_axes_, in_dirs_, out_axes_, out_dirs_;
};

Result<std::unique_ptr<Kernel>> MakeScan(const KernelInit& init) {
  const bool batched = init.opset < 9;
  CITADEL_ASSIGN_OR_RETURN(Subgraph body, PrepareSubgraph(init, "body"));
  CITADEL_ASSIGN_OR_RETURN(int64_t m, init.node.attrs.GetInt("num_scan_inputs", -1));
  const size_t explicit_inputs = init.node.num_explicit_inputs() - (batched ? 1 : 0);
  if (batched && init.node.num_explicit_inputs() < 1) {
    return Status::InvalidArgument("Scan-8 takes sequence_lens as its first input");
  }
  if (m < 1 || static_cast<size_t>(m) > explicit_inputs) {
    return Status::InvalidArgument("num_scan_inputs must be in [1, " +
                                   std::to_string(explicit_inputs) + "]");
  }
  const size_t n = explicit_inputs - static_cast<size_t>(m);
  if (body.num_inputs() != explicit_inputs) {
    return Status::InvalidArgument("Scan body takes " + std::to_string(body.num_inputs()) +
                                   " inputs, the node gives " + std::to_string(explicit_inputs));
  }
  if (body.num_outputs() < n || init.num_outputs() != body.num_outputs()) {
    return Status::InvalidArgument("Scan has " + std::to_string(init.num_outputs()) +
                                   " outputs, its body " + std::to_string(body.num_outputs()) +
                                   " with " + std::to_string(n) + " states");
  }
  const size_t k = body.num_outputs() - n;
  auto list = [&](const char* name, size_t count, int64_t def) -> Result<std::vector<int64_t>> {
    CITADEL_ASSIGN_OR_RETURN(std::vector<int64_t> v,
                             init.node.attrs.GetInts(name, std::vector<int64_t>(count, def)));
    if (v.size() != count) {
      return Status::InvalidArgument(std::string(name) + " has " + std::to_string(v.size()) +
                                     " entries, expected " + std::to_string(count));
    }
    return v;
  };
  std::vector<int64_t> in_axes(m, 0), in_dirs, out_axes(k, 0), out_dirs(k, 0);
  if (batched) {
    CITADEL_ASSIGN_OR_RETURN(in_dirs, list("directions", m, 0));
  } else {
    CITADEL_ASSIGN_OR_RETURN(in_axes, list("scan_input_axes", m, 0));
    CITADEL_ASSIGN_OR_RETURN(in_dirs, list("scan_input_directions", m, 0));
    CITADEL_ASSIGN_OR_RETURN(out_axes, list("scan_output_axes", k, 0));
    CITADEL_ASSIGN_OR_RETURN(out_dirs, list("scan_output_directions", k, 0));
  }
  return std::unique_ptr<Kernel>(std::make_unique<ScanKernel>(
      std::move(body), batched, n, static_cast<size_t>(m), k, std::move(in_axes), std::move(in_dirs),
      std::move(out_axes), std::move(out_dirs)));
}

}  // namespace

void RegisterScanOps(OpRegistry& r) { r.Register("", "Scan", 8, kMaxOnnxOpset, MakeScan); }

}  // namespace citadel::engine::ops
