// Citadel's own graph IR, built from an ONNX ModelProto.
//
// The rest of the engine (optimiser, planner, kernels) sees only this IR, not
// protobuf: values are small integers, attributes are plain C++ values and
// initializers are already Tensors. This keeps protobuf parsing (hostile
// input) in one place and lets passes rewrite the graph freely.
#ifndef CITADEL_ENGINE_GRAPH_H_
#define CITADEL_ENGINE_GRAPH_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "citadel/engine.h"
#include "citadel/status.h"
#include "citadel/tensor.h"

namespace onnx {
class ModelProto;
}

namespace citadel::engine {

struct Graph;

// One node attribute, already decoded from AttributeProto.
struct Attribute {
  enum class Kind { kFloat, kInt, kString, kTensor, kFloats, kInts, kStrings, kGraph, kOther };
  Kind kind = Kind::kOther;
  float f = 0;
  int64_t i = 0;
  std::string s;
  Tensor t;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
  // kGraph: the body of If/Loop/Scan, already converted (its outer-scope
  // references are listed in Graph::capture_ids). Shared so that moving or
  // copying nodes keeps the subgraph at one address.
  std::shared_ptr<Graph> g;
};

// Typed, read-only accessors used by kernel factories. Each Get* fails with
// InvalidArgument when the attribute exists with the wrong kind, so a model
// that says kernel_shape="3" is rejected rather than misread.
class Attributes {
 public:
  bool Has(const std::string& name) const { return map_.count(name) != 0; }
  const Attribute* Find(const std::string& name) const;
  Result<int64_t> GetInt(const std::string& name, int64_t def) const;
  Result<float> GetFloat(const std::string& name, float def) const;
  Result<std::string> GetString(const std::string& name, const std::string& def) const;
  Result<std::vector<int64_t>> GetInts(const std::string& name,
                                       const std::vector<int64_t>& def) const;
  Result<std::vector<float>> GetFloats(const std::string& name) const;
  Result<Tensor> GetTensor(const std::string& name) const;
  // A graph-valued attribute; InvalidArgument when missing or not a graph.
  Result<std::shared_ptr<Graph>> GetGraph(const std::string& name) const;
  void Set(const std::string& name, Attribute a) { map_[name] = std::move(a); }
  const std::map<std::string, Attribute>& all() const { return map_; }

 private:
  std::map<std::string, Attribute> map_;
};

// Element type and (possibly partial) shape of a value. shape is unset when
// the rank is unknown; a dim of -1 is unknown.
struct ValueType {
  std::optional<DType> dtype;
  std::optional<Shape> shape;
};

struct Value {
  std::string name;
  ValueType type;
  // Set for initializers and folded constants. When `overridable` the value
  // is also a graph input and the caller may replace it at Run, so it is not
  // a constant for optimisation.
  Tensor constant;
  bool overridable = false;
  bool is_constant() const { return constant.valid() && !overridable; }
};

constexpr int kNoValue = -1;  // an omitted optional input or output

struct Node {
  std::string name;     // may be empty in ONNX; diagnostics then use "#<index>"
  std::string op_type;
  std::string domain;   // "" for the default ai.onnx domain
  // The node's inputs, then (for nodes with subgraphs) one input per outer
  // value a subgraph reads ("implicit inputs"), so liveness, ordering and
  // dead-node elimination see those reads like any other.
  std::vector<int> inputs;
  size_t num_implicit_inputs = 0;  // trailing entries of `inputs` that are implicit
  std::vector<int> outputs;
  Attributes attrs;
  size_t num_explicit_inputs() const { return inputs.size() - num_implicit_inputs; }
  std::string DisplayName(size_t index) const;
};

struct Graph {
  std::vector<Value> values;
  std::unordered_map<std::string, int> value_ids;
  std::vector<Node> nodes;  // topologically sorted
  std::vector<int> input_ids;   // graph inputs the caller must (or may) feed
  std::vector<int> output_ids;
  std::vector<TensorInfo> inputs;
  std::vector<TensorInfo> outputs;
  std::map<std::string, int64_t> opsets;  // domain ("" = ai.onnx) -> version

  // Metadata for Describe().
  std::string producer_name;
  std::string producer_version;
  int64_t ir_version = 0;
  std::string graph_name;

  // Subgraphs only: values read from an enclosing graph, by name (each is a
  // value here with no producer, bound at run time by the kernel that runs
  // the subgraph from its node's implicit input of the same name).
  std::vector<int> capture_ids;

  int64_t OpsetFor(const std::string& domain) const;
  // Ids of values that some node or graph output reads.
  int AddValue(const std::string& name);
};

// Builds the IR from a parsed (and external-data-inlined) model. Rejects
// structural errors: missing graph, a node reading an undefined value, two
// producers of one value, cycles, unsupported tensor element types on
// graph inputs/outputs. Graph-valued attributes (If/Loop/Scan bodies) become
// subgraphs; a name a subgraph reads but does not define is resolved in the
// enclosing graphs, innermost first (ONNX lexical scoping).
Result<Graph> BuildGraph(const onnx::ModelProto& model);

// Same, and frees each large initializer's bytes in `model` as soon as the IR
// holds its copy, so that the weights never exist twice in full (the peak
// of Load is the parsed proto plus one tensor, not twice the weights). A
// released initializer keeps its name, type and dims but its raw_data is
// replaced by a 1-byte stub: the ONNX checker (which wants exactly one value
// field and does not compare raw_data with dims) and shape inference (which
// reads only small shape-like constants) still run on `model`, but `model`
// no longer describes the weights and must not be converted again.
Result<Graph> BuildGraphReleasingWeights(onnx::ModelProto* model);

// Records types from ONNX value_info (after shape inference) into the IR.
void ApplyValueInfo(const onnx::ModelProto& model, Graph* graph);

}  // namespace citadel::engine

#endif  // CITADEL_ENGINE_GRAPH_H_
