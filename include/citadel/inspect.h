// Static description of an ONNX model without running it: what it expects,
// what it returns, which opsets and ops it uses, and whether this engine can
// run every one of them. Backs `citadel inspect`.
//
// Unlike Model::Load, which stops at the first problem, InspectModel reports
// *every* node whose op the engine lacks (including nodes inside If/Loop/Scan
// bodies), so a user sees the whole gap at once. When every op is registered
// it then runs the real Load (kernel factories validate attributes, types
// and constant inputs) and reports its outcome, so `supported()` means "Load
// succeeds", not just "the op names are known".
#ifndef CITADEL_INSPECT_H_
#define CITADEL_INSPECT_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "citadel/bytes.h"
#include "citadel/engine.h"
#include "citadel/status.h"

namespace citadel {

// A graph input or output as declared in the model. Types are strings because
// a model may declare types the engine has no DType for (sequences, maps,
// complex numbers) and inspect must still describe them.
struct ValueDescription {
  std::string name;
  std::string type;               // "float32", "int64", "sequence(float32)", "unknown"
  bool has_shape = false;         // false: rank unknown
  std::vector<std::string> dims;  // "3", a symbolic name like "batch", or "?"
};

// One row of the op histogram: an (domain, op_type) pair and how many nodes
// use it, counting nodes in subgraphs.
struct OpUsage {
  std::string domain;  // "ai.onnx" for the default domain
  std::string op_type;
  int64_t opset = 0;   // the model's opset for this domain (0 if not imported)
  size_t count = 0;
  bool supported = false;  // a kernel is registered for this op at this opset
};

// A node whose op has no kernel at the model's opset.
struct UnsupportedNode {
  std::string node;    // node name, "#<index>" when unnamed; "body/…" inside a subgraph
  std::string op_type;
  std::string domain;  // "ai.onnx" for the default domain
  int64_t opset = 0;
  std::string reason;  // the registry's message
};

struct ModelInspection {
  std::string producer_name, producer_version, graph_name;
  int64_t ir_version = 0;
  std::map<std::string, int64_t> opsets;  // "ai.onnx" -> 13, ...
  std::vector<ValueDescription> inputs;   // graph inputs that are not initializers
  std::vector<ValueDescription> outputs;
  size_t node_count = 0;                  // including subgraph nodes
  size_t initializer_count = 0;
  uint64_t parameter_count = 0;           // elements over all initializers
  std::vector<OpUsage> ops;               // sorted by domain, then op_type
  std::vector<UnsupportedNode> unsupported;
  // Only attempted when `unsupported` is empty; Ok when Model::Load succeeds.
  bool load_attempted = false;
  Status load_status;

  bool supported() const { return unsupported.empty() && load_attempted && load_status.ok(); }
};

// Describes `onnx_bytes`. Fails only when the bytes are not an ONNX model at
// all (parse error, size over options.max_model_bytes, no graph); everything
// the engine cannot run is reported inside the result instead.
Result<ModelInspection> InspectModel(ByteSpan onnx_bytes, const LoadOptions& options = {});

// Human-readable report (several lines) and a JSON object:
// {"producer", "ir_version", "opsets": {...}, "inputs": [{"name", "type",
//  "shape": [3, "batch", "?"] | null}], "outputs": [...], "node_count",
//  "initializer_count", "parameter_count", "ops": [{"domain", "op_type",
//  "opset", "count", "supported"}], "unsupported": [{"node", "op_type",
//  "domain", "opset", "reason"}], "load": {"attempted", "ok", "error"},
//  "supported"}.
std::string InspectionToText(const ModelInspection& m);
std::string InspectionToJson(const ModelInspection& m);

}  // namespace citadel

#endif  // CITADEL_INSPECT_H_
