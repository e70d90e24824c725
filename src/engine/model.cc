// Model::Load and Model::Run: the pipeline stages wired together.
//
//   ParseModelProto -> InlineExternalData -> BuildGraph -> CheckSupported
//   -> CheckModel (ONNX checker) -> shape inference -> FoldConstants
//   -> EliminateDeadNodes -> BuildPlan
//
// Run validates the caller's tensors against the declared inputs, then
// executes the plan in order, releasing each intermediate after its last
// reader.
#include <chrono>
#include <exception>
#include <map>
#include <new>
#include <set>
#include <sstream>

#include <onnx/onnx_pb.h>

#include "citadel/engine.h"
#include "buffer_pool.h"
#include "dnnl_util.h"
#include "graph.h"
#include "kernel.h"
#include "loader.h"
#include "optimizer.h"
#include "plan.h"
#include "spin_governor.h"

namespace citadel {
namespace {

using engine::Graph;
using engine::kNoValue;

// Folded constants larger than this stay computed at run time.
constexpr size_t kMaxFoldedBytes = size_t{64} << 20;
// Freed activation buffers a Model keeps for later Runs (more are wiped
// and returned to the heap).
constexpr size_t kMaxIdlePoolBytes = size_t{512} << 20;

class ModelImpl final : public Model {
 public:
  ModelImpl(Graph graph, engine::Plan plan, std::string description, int threads)
      : graph_(std::move(graph)), plan_(std::move(plan)), description_(std::move(description)),
        threads_(threads), pool_(engine::BufferPool::Create(kMaxIdlePoolBytes)) {}

  const std::vector<TensorInfo>& inputs() const override { return graph_.inputs; }
  const std::vector<TensorInfo>& outputs() const override { return graph_.outputs; }
  std::string Describe() const override { return description_; }

  Result<TensorList> Run(const TensorList& inputs, const RunOptions& options) const override {
    try {
      return RunImpl(inputs, options);
    } catch (const std::bad_alloc&) {
      return Status::ResourceExhausted("out of memory while running the model");
    } catch (const std::exception& e) {
      return Status::Internal(std::string("unexpected exception in Run: ") + e.what());
    }
  }

 private:
  Status ValidateInput(const NamedTensor& nt, const engine::Value& v, const TensorInfo* info,
                       std::map<std::string, int64_t>* dim_params) const;
  Result<TensorList> RunImpl(const TensorList& inputs, const RunOptions& options) const;

  Graph graph_;
  engine::Plan plan_;
  std::string description_;
  int threads_ = 0;  // LoadOptions::threads: intra-op threads of each Run
  // Intermediates and outputs of Runs (buffer_pool.h); shared by
  // concurrent Runs, kept alive by outputs callers still hold.
  std::shared_ptr<engine::BufferPool> pool_;
};

Status ModelImpl::ValidateInput(const NamedTensor& nt, const engine::Value& v,
                                const TensorInfo* info,
                                std::map<std::string, int64_t>* dim_params) const {
  const std::string ctx = "input '" + nt.name + "'";
  const Tensor& t = nt.tensor;
  if (!t.valid()) return Status::InvalidArgument(ctx + " has no tensor");
  if (v.type.dtype && t.dtype() != *v.type.dtype) {
    return Status::InvalidArgument(ctx + " must be " + std::string(DTypeName(*v.type.dtype)) +
                                   ", got " + std::string(DTypeName(t.dtype())));
  }
  if (!v.type.shape) return Status::Ok();
  const Shape& want = *v.type.shape;
  if (t.rank() != want.size()) {
    return Status::InvalidArgument(ctx + " must have rank " + std::to_string(want.size()) +
                                   " (shape " + ShapeToString(want) + "), got " +
                                   ShapeToString(t.shape()));
  }
  for (size_t i = 0; i < want.size(); ++i) {
    if (want[i] >= 0 && t.shape()[i] != want[i]) {
      return Status::InvalidArgument(ctx + " dimension " + std::to_string(i) + " must be " +
                                     std::to_string(want[i]) + ", got " +
                                     ShapeToString(t.shape()) + " for " + ShapeToString(want));
    }
    // A symbolic dim ("batch") must take the same value everywhere it appears.
    if (info != nullptr && want[i] < 0 && i < info->dim_params.size() &&
        !info->dim_params[i].empty()) {
      auto [it, inserted] = dim_params->emplace(info->dim_params[i], t.shape()[i]);
      if (!inserted && it->second != t.shape()[i]) {
        return Status::InvalidArgument(ctx + " dimension " + std::to_string(i) + " ('" +
                                       info->dim_params[i] + "') is " +
                                       std::to_string(t.shape()[i]) +
                                       ", but another input set it to " +
                                       std::to_string(it->second));
      }
    }
  }
  return Status::Ok();
}

Result<TensorList> ModelImpl::RunImpl(const TensorList& inputs, const RunOptions& options) const {
  std::vector<Tensor> slots(graph_.values.size());
  for (size_t v = 0; v < graph_.values.size(); ++v) {
    if (graph_.values[v].constant.valid()) slots[v] = graph_.values[v].constant;
  }

  // Bind and validate the caller's tensors.
  std::set<std::string> seen;
  std::map<std::string, int64_t> dim_params;
  for (const NamedTensor& nt : inputs) {
    if (!seen.insert(nt.name).second) {
      return Status::InvalidArgument("input '" + nt.name + "' is given more than once");
    }
    auto it = graph_.value_ids.find(nt.name);
    const TensorInfo* info = nullptr;
    for (size_t i = 0; i < graph_.input_ids.size(); ++i) {
      if (graph_.inputs[i].name == nt.name) info = &graph_.inputs[i];
    }
    if (it == graph_.value_ids.end() || (info == nullptr && !graph_.values[it->second].overridable)) {
      std::string expected;
      for (const auto& in : graph_.inputs) expected += (expected.empty() ? "" : ", ") + in.name;
      return Status::InvalidArgument("unknown input '" + nt.name + "' (model inputs: " +
                                     expected + ")");
    }
    CITADEL_RETURN_IF_ERROR(ValidateInput(nt, graph_.values[it->second], info, &dim_params));
    slots[it->second] = nt.tensor;
  }
  for (const auto& in : graph_.inputs) {
    if (!seen.count(in.name)) {
      return Status::InvalidArgument("missing input '" + in.name + "'");
    }
  }

  // Execute.
  // Fewer threads while other processes want the cores (spin_governor.h).
  const int threads = engine::GovernThreads(engine::ResolveThreads(threads_));
  engine::SetRunThreads(threads);
  const engine::RunStart start = engine::StartRun();
  CITADEL_RETURN_IF_ERROR(engine::ExecutePlan(graph_, plan_, &slots, options.max_output_bytes,
                                              pool_.get(), options.profile));
  engine::ObserveRun(threads, start);

  // Collect outputs. An output that shares a buffer with a model constant
  // (e.g. Identity of a weight) is copied, so a caller writing into it
  // cannot change the model for everyone else.
  TensorList result;
  size_t total = 0;
  for (size_t i = 0; i < graph_.output_ids.size(); ++i) {
    Tensor t = slots[graph_.output_ids[i]];
    if (!t.valid()) return Status::Internal("graph output '" + graph_.outputs[i].name + "' was not computed");
    total += t.byte_size();
    if (total > options.max_output_bytes) {
      return Status::ResourceExhausted("outputs exceed max_output_bytes (" +
                                       std::to_string(options.max_output_bytes) + ")");
    }
    bool aliases_constant = false;
    if (t.dtype() != DType::kString && t.byte_size() > 0) {
      const uint8_t* p = t.raw_data();
      for (const auto& v : graph_.values) {
        if (!v.constant.valid() || v.constant.dtype() == DType::kString) continue;
        const uint8_t* c = v.constant.raw_data();
        if (p >= c && p < c + v.constant.byte_size()) aliases_constant = true;
      }
    } else if (t.dtype() == DType::kString) {
      aliases_constant = true;  // cheap to copy, not worth tracking
    }
    result.push_back(NamedTensor{graph_.outputs[i].name, aliases_constant ? t.Clone() : t});
  }
  return result;
}

std::string Describe(const Graph& g, const engine::OptimizeStats& stats) {
  std::ostringstream os;
  os << (g.graph_name.empty() ? "model" : g.graph_name);
  if (!g.producer_name.empty()) os << " (producer " << g.producer_name << " " << g.producer_version << ")";
  os << ", IR v" << g.ir_version << ", opsets";
  for (const auto& [domain, version] : g.opsets) {
    os << " " << (domain.empty() ? "ai.onnx" : domain) << ":" << version;
  }
  std::map<std::string, int> counts;
  for (const auto& n : g.nodes) ++counts[n.op_type];
  os << "; " << g.nodes.size() << " nodes";
  if (!counts.empty()) {
    os << " (";
    bool first = true;
    for (const auto& [op, c] : counts) {
      os << (first ? "" : ", ") << op << " x" << c;
      first = false;
    }
    os << ")";
  }
  if (stats.folded || stats.removed) {
    os << " after folding " << stats.folded << " and removing " << stats.removed;
  }
  auto list = [&](const char* what, const std::vector<TensorInfo>& infos) {
    os << "; " << what;
    for (const auto& i : infos) {
      os << " " << i.name << ":" << DTypeName(i.dtype) << "[";
      for (size_t d = 0; d < i.shape.size(); ++d) {
        if (d) os << ",";
        if (i.shape[d] >= 0) os << i.shape[d];
        else os << (d < i.dim_params.size() && !i.dim_params[d].empty() ? i.dim_params[d] : "?");
      }
      os << "]";
    }
  };
  list("inputs", g.inputs);
  list("outputs", g.outputs);
  return os.str();
}

Result<std::shared_ptr<const Model>> LoadImpl(std::unique_ptr<onnx::ModelProto> proto,
                                              const LoadOptions& options) {
  const engine::OpRegistry& registry = engine::OpRegistry::Default();
  CITADEL_RETURN_IF_ERROR(engine::InlineExternalData(proto.get(), options.external_data_dir));
  // The IR takes the weights over one by one (the proto keeps stubs), so
  // they never exist twice in full.
  CITADEL_ASSIGN_OR_RETURN(Graph graph, engine::BuildGraphReleasingWeights(proto.get()));
  CITADEL_RETURN_IF_ERROR(engine::CheckSupported(graph, registry));
  CITADEL_RETURN_IF_ERROR(engine::CheckModel(*proto));
  engine::InferShapesInPlace(proto.get());
  engine::ApplyValueInfo(*proto, &graph);
  proto.reset();  // the IR owns everything it needs

  // oneDNN sizes its work split for the current thread count when a
  // primitive is created (at Load), so Load uses the count Run will use.
  engine::SetRunThreads(options.threads);
  engine::OptimizeStats stats;
  if (options.optimize) {
    CITADEL_RETURN_IF_ERROR(engine::FoldConstants(&graph, registry, kMaxFoldedBytes, &stats));
    CITADEL_RETURN_IF_ERROR(engine::OptimizeSubgraphs(&graph, registry, kMaxFoldedBytes, &stats));
    engine::EliminateDeadNodes(&graph, &stats);
    engine::FuseForInference(&graph, &stats);
    engine::EliminateDeadNodes(&graph, &stats);
  }
  CITADEL_ASSIGN_OR_RETURN(engine::Plan plan, engine::BuildPlan(graph, registry));
  std::string description = Describe(graph, stats);
  size_t blocked = 0;
  for (const engine::Step& step : plan.steps) blocked += step.out_blocked ? 1 : 0;
  if (blocked > 0) description += "; " + std::to_string(blocked) + " values in blocked layout";
  return std::shared_ptr<const Model>(
      std::make_shared<ModelImpl>(std::move(graph), std::move(plan), std::move(description),
                                  options.threads));
}

}  // namespace

Result<std::shared_ptr<const Model>> Model::Load(ByteSpan onnx_bytes, const LoadOptions& options) {
  try {
    CITADEL_ASSIGN_OR_RETURN(auto proto,
                             engine::ParseModelProto(onnx_bytes, options.max_model_bytes));
    return LoadImpl(std::move(proto), options);
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted("out of memory while loading the model");
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string("model could not be loaded: ") + e.what());
  }
}

Result<std::shared_ptr<const Model>> Model::LoadFile(const std::string& path,
                                                     const LoadOptions& options) {
  // Parsed straight from the file: holding the file's bytes next to the
  // parsed proto would double the peak memory of loading a large model.
  try {
    CITADEL_ASSIGN_OR_RETURN(auto proto,
                             engine::ParseModelProtoFile(path, options.max_model_bytes));
    return LoadImpl(std::move(proto), options);
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted("out of memory while loading the model");
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string("model could not be loaded: ") + e.what());
  }
}

}  // namespace citadel
