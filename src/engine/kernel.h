// The kernel interface and the op registry.
//
// A kernel is created once per node at Load by its factory, which reads and
// validates the node's attributes (so a bad attribute fails Load, not Run).
// Kernel::Run is const and keeps no state between calls, which is what makes
// Model::Run safe from many threads.
#ifndef CITADEL_ENGINE_KERNEL_H_
#define CITADEL_ENGINE_KERNEL_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "citadel/status.h"
#include "citadel/tensor.h"
#include "graph.h"

namespace citadel::engine {

class BufferPool;

// What a kernel sees while running: its inputs (nullptr for an omitted
// optional input) and the outputs it must fill.
class KernelContext {
 public:
  KernelContext(std::span<const Tensor* const> inputs, std::vector<Tensor>* outputs,
                size_t max_tensor_bytes)
      : inputs_(inputs), outputs_(outputs), max_tensor_bytes_(max_tensor_bytes) {}

  size_t num_inputs() const { return inputs_.size(); }
  size_t num_outputs() const { return outputs_->size(); }
  // nullptr when the input is absent (omitted or beyond the node's inputs).
  const Tensor* input(size_t i) const { return i < inputs_.size() ? inputs_[i] : nullptr; }

  // Allocates output i (zero-filled). Fails with ResourceExhausted past the
  // per-tensor limit, so a hostile shape cannot exhaust memory.
  Result<Tensor*> Allocate(size_t i, DType dtype, const Shape& shape);
  // Same, contents unspecified: only for kernels that write every element
  // of the output on every path (saves the zero fill).
  Result<Tensor*> AllocateUninitialized(size_t i, DType dtype, const Shape& shape);
  // A scratch or intermediate tensor under the same limit (zero-filled
  // unless `zero` is false, with the same rule as AllocateUninitialized).
  Result<Tensor> NewTensor(DType dtype, const Shape& shape, bool zero = true) const;

  // Where Allocate/NewTensor take memory from: the Model's buffer pool
  // (buffer_pool.h) during Run, the heap when null (folding, tests).
  void SetPool(BufferPool* pool) { pool_ = pool; }
  BufferPool* pool() const { return pool_; }
  // Sets output i to an existing tensor (views such as Reshape, Identity).
  void SetOutput(size_t i, Tensor t) { (*outputs_)[i] = std::move(t); }
  // Output i as set so far (invalid before Allocate/SetOutput).
  const Tensor& output(size_t i) const { return (*outputs_)[i]; }

  size_t max_tensor_bytes() const { return max_tensor_bytes_; }

  // Channel-blocked activations (BuildPlan, plan.cc): the logical channel
  // count C of input i when the plan stores it blocked, else 0. A blocked
  // value of logical shape [N, C, H, W] is physically a float32 tensor
  // [N, ceil(C/B), H, W, B] (oneDNN nChw{B}c, B = ActivationBlock(); the
  // channels past C are zero padding).
  int64_t blocked_channels(size_t i) const { return i < in_blocked_.size() ? in_blocked_[i] : 0; }
  // True when output 0 must be written blocked.
  bool output_blocked() const { return out_blocked_; }
  void SetLayout(std::span<const int64_t> in_blocked, bool out_blocked) {
    in_blocked_ = in_blocked;
    out_blocked_ = out_blocked;
  }

  // In-place outputs. An input whose value dies at this step (no later step
  // and no other input of this node reads it, it is not a graph input,
  // constant or output: Step::donors) and whose storage nobody else holds
  // can become output `out`: the tensor moves into the output, so the kernel
  // writes over it instead of copying it first (a Conv's fused residual).
  // Returns false, changing nothing, when that is not allowed; after true,
  // input(in) is an empty tensor: read it through output(out).
  bool TakeInputAsOutput(size_t in, size_t out);
  void SetDonors(std::span<Tensor* const> donor_slots) { donor_slots_ = donor_slots; }
  Tensor* mutable_output(size_t i) { return &(*outputs_)[i]; }

 private:
  std::span<const Tensor* const> inputs_;
  std::vector<Tensor>* outputs_;
  size_t max_tensor_bytes_;
  std::span<const int64_t> in_blocked_;
  bool out_blocked_ = false;
  BufferPool* pool_ = nullptr;
  std::span<Tensor* const> donor_slots_;  // per input: its slot when donatable, else nullptr
};

class Kernel {
 public:
  virtual ~Kernel() = default;
  virtual Status Run(KernelContext& ctx) const = 0;

  // Blocked-layout capabilities, asked by BuildPlan after the kernel is
  // built (so they reflect e.g. whether the oneDNN fast path is on). Only
  // 4-D float32 values with static C, H, W that are neither graph inputs nor
  // outputs are ever blocked. A kernel answering true must accept both
  // layouts on that input/output (see KernelContext::blocked_channels).
  virtual bool CanReadBlocked(size_t /*input*/) const { return false; }
  virtual bool CanWriteBlocked() const { return false; }
  // True when output 0 is blocked exactly when the inputs it can read
  // blocked are (pooling, Concat): the plan never mixes layouts on them.
  virtual bool BlockedTied() const { return false; }
};

// Everything a factory may look at when building a kernel for one node.
struct KernelInit {
  const Node& node;
  int64_t opset;        // the model's opset for the node's domain
  const Graph& graph;   // for static types and constant inputs
  // Constant input i (initializer or folded value), or nullptr.
  const Tensor* ConstantInput(size_t i) const;
  const ValueType* InputType(size_t i) const;
  size_t num_inputs() const { return node.inputs.size(); }
  size_t num_outputs() const { return node.outputs.size(); }
};

using KernelFactory = std::function<Result<std::unique_ptr<Kernel>>(const KernelInit&)>;

// Kernels keyed by (domain, op_type) with the opset range they implement.
class OpRegistry {
 public:
  // Registers `factory` for opsets [since, until] of (domain, op_type).
  void Register(const std::string& domain, const std::string& op_type, int64_t since,
                int64_t until, KernelFactory factory);

  // Finds the factory for `op_type` at `opset`; Unsupported names the op,
  // domain and opset (the caller adds the node name).
  Result<const KernelFactory*> Find(const std::string& domain, const std::string& op_type,
                                    int64_t opset) const;

  // "Add", "Conv", ... sorted, for docs and tests.
  std::vector<std::string> OpTypes(const std::string& domain = "") const;

  // The registry with every built-in kernel.
  static const OpRegistry& Default();

 private:
  struct Entry {
    int64_t since;
    int64_t until;
    KernelFactory factory;
  };
  std::map<std::pair<std::string, std::string>, std::vector<Entry>> entries_;
};

// The newest ai.onnx opset any kernel here was checked against. Models
// declaring a newer opset fail at Load for ops whose semantics might differ.
constexpr int64_t kMaxOnnxOpset = 17;

// Convenience for kernels whose factory ignores attributes.
template <typename K>
KernelFactory SimpleFactory() {
  return [](const KernelInit&) -> Result<std::unique_ptr<Kernel>> {
    return std::unique_ptr<Kernel>(std::make_unique<K>());
  };
}

}  // namespace citadel::engine

#endif  // CITADEL_ENGINE_KERNEL_H_
