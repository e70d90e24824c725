#include "kernel.h"

#include <algorithm>
#include <cstring>

#include "buffer_pool.h"

#include "ops/ops.h"

namespace citadel::engine {

Result<Tensor*> KernelContext::Allocate(size_t i, DType dtype, const Shape& shape) {
  if (i >= outputs_->size()) {
    return Status::Internal("kernel wrote output " + std::to_string(i) + " of " +
                            std::to_string(outputs_->size()));
  }
  CITADEL_ASSIGN_OR_RETURN(Tensor t, NewTensor(dtype, shape));
  (*outputs_)[i] = std::move(t);
  return &(*outputs_)[i];
}

Result<Tensor*> KernelContext::AllocateUninitialized(size_t i, DType dtype, const Shape& shape) {
  if (i >= outputs_->size()) {
    return Status::Internal("kernel wrote output " + std::to_string(i) + " of " +
                            std::to_string(outputs_->size()));
  }
  CITADEL_ASSIGN_OR_RETURN(Tensor t, NewTensor(dtype, shape, /*zero=*/false));
  (*outputs_)[i] = std::move(t);
  return &(*outputs_)[i];
}

Result<Tensor> KernelContext::NewTensor(DType dtype, const Shape& shape, bool zero) const {
  if (dtype == DType::kString) {
    return Status::Unsupported("string tensors are not supported by this operator");
  }
  for (int64_t d : shape) {
    if (d < 0) return Status::InvalidArgument("negative output dimension " + ShapeToString(shape));
  }
  auto count = ShapeElementCount(shape);
  if (!count.ok()) return Status::ResourceExhausted("output shape " + ShapeToString(shape) +
                                                    " is too large");
  size_t elem = std::max<size_t>(DTypeSize(dtype), 1);
  if (*count > max_tensor_bytes_ / elem) {
    return Status::ResourceExhausted("output " + ShapeToString(shape) + " of " +
                                     std::string(DTypeName(dtype)) +
                                     " exceeds the per-tensor limit of " +
                                     std::to_string(max_tensor_bytes_) + " bytes");
  }
  if (pool_ == nullptr || dtype == DType::kString) {
    return Tensor::Zeros(dtype, shape, max_tensor_bytes_);
  }
  const size_t bytes = *count * elem;
  uint8_t* data = nullptr;
  std::shared_ptr<void> block = pool_->Get(bytes, &data);
  if (!block) return Status::ResourceExhausted("out of memory allocating " + ShapeToString(shape));
  if (zero && bytes > 0) std::memset(data, 0, bytes);
  return Tensor::Wrap(dtype, shape, std::move(block), data, bytes > 0 ? bytes : elem);
}

bool KernelContext::TakeInputAsOutput(size_t in, size_t out) {
  if (in >= donor_slots_.size() || out >= outputs_->size()) return false;
  Tensor* slot = donor_slots_[in];
  if (slot == nullptr || !slot->valid() || !slot->sole_owner()) return false;
  (*outputs_)[out] = std::move(*slot);
  *slot = Tensor();
  return true;
}

const Tensor* KernelInit::ConstantInput(size_t i) const {
  if (i >= node.inputs.size() || node.inputs[i] == kNoValue) return nullptr;
  const Value& v = graph.values[node.inputs[i]];
  return v.is_constant() ? &v.constant : nullptr;
}

const ValueType* KernelInit::InputType(size_t i) const {
  if (i >= node.inputs.size() || node.inputs[i] == kNoValue) return nullptr;
  return &graph.values[node.inputs[i]].type;
}

void OpRegistry::Register(const std::string& domain, const std::string& op_type, int64_t since,
                          int64_t until, KernelFactory factory) {
  entries_[{domain, op_type}].push_back(Entry{since, until, std::move(factory)});
}

Result<const KernelFactory*> OpRegistry::Find(const std::string& domain,
                                              const std::string& op_type, int64_t opset) const {
  const std::string dom = domain.empty() ? "ai.onnx" : domain;
  auto it = entries_.find({domain, op_type});
  if (it == entries_.end()) {
    return Status::Unsupported("operator " + op_type + " (domain " + dom + ", opset " +
                               std::to_string(opset) + ") is not supported");
  }
  for (const Entry& e : it->second) {
    if (opset >= e.since && opset <= e.until) return &e.factory;
  }
  std::string ranges;
  for (const Entry& e : it->second) {
    if (!ranges.empty()) ranges += ", ";
    ranges += std::to_string(e.since) + "-" + std::to_string(e.until);
  }
  return Status::Unsupported("operator " + op_type + " (domain " + dom + ") is not supported at opset " +
                             std::to_string(opset) + " (supported opsets: " + ranges + ")");
}

std::vector<std::string> OpRegistry::OpTypes(const std::string& domain) const {
  std::vector<std::string> out;
  for (const auto& [key, _] : entries_) {
    if (key.first == domain) out.push_back(key.second);
  }
  return out;
}

const OpRegistry& OpRegistry::Default() {
  static const OpRegistry* registry = [] {
    auto* r = new OpRegistry;
    ops::RegisterAll(*r);
    return r;
  }();
  return *registry;
}

}  // namespace citadel::engine
