// The inference engine: ONNX model in, outputs out.
//
// Pipeline (each stage testable alone, see src/engine/):
//   load (protobuf, limits, external data) -> validate -> typed graph with
//   shape inference -> optimise (constant folding, fusions) -> plan (kernel
//   choice, memory) -> run.
//
// A Model is immutable after Load and safe to Run from many threads at once.
// Unsupported operators fail at Load with op name, domain, opset and node
// name; Run never crashes on well-typed input and rejects ill-typed input
// (wrong dtype, rank, or a dimension that contradicts the model) with a
// precise InvalidArgument.
#ifndef CITADEL_ENGINE_H_
#define CITADEL_ENGINE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "citadel/bytes.h"
#include "citadel/status.h"
#include "citadel/tensor.h"

namespace citadel {

// Declared type of a graph input or output. Dims < 0 are dynamic; their
// symbolic names (e.g. "batch") are kept in dim_params when the model has them.
struct TensorInfo {
  std::string name;
  DType dtype = DType::kFloat32;
  std::vector<int64_t> shape;
  std::vector<std::string> dim_params;  // same length as shape; "" when unnamed
};

struct LoadOptions {
  size_t max_model_bytes = size_t{2} << 30;     // protobuf total-bytes limit
  std::string external_data_dir;                // "" = external data refused
  int threads = 0;                              // 0 = hardware concurrency
  bool optimize = true;                         // run graph optimisations
};

// Wall time of one executed node (see RunOptions::profile).
struct NodeTiming {
  std::string name;     // node name, or "#<index>" when the model left it empty
  std::string op_type;  // after fusion: a Conv with fused ReLU/Add is a "Conv"
  double ms = 0;
};

struct RunOptions {
  size_t max_output_bytes = size_t{4} << 30;
  // When non-null, Run appends one entry per executed node, in execution
  // order (including the nodes of a Run that fails). For profiling
  // (`citadel bench --profile`); costs two clock reads per node.
  std::vector<NodeTiming>* profile = nullptr;
};

class Model {
 public:
  virtual ~Model() = default;

  // Parses and prepares an ONNX ModelProto. Never throws.
  static Result<std::shared_ptr<const Model>> Load(ByteSpan onnx_bytes,
                                                   const LoadOptions& options = {});
  static Result<std::shared_ptr<const Model>> LoadFile(const std::string& path,
                                                       const LoadOptions& options = {});

  virtual const std::vector<TensorInfo>& inputs() const = 0;
  virtual const std::vector<TensorInfo>& outputs() const = 0;
  // ONNX metadata for display: producer name, opset versions, node count.
  virtual std::string Describe() const = 0;

  // Runs the graph. `inputs` must name every graph input exactly once
  // (initializers that are also inputs may be overridden or omitted).
  // Returns the graph outputs in declaration order.
  virtual Result<TensorList> Run(const TensorList& inputs, const RunOptions& options = {}) const = 0;
};

// True while Runs see other processes using the cores this process's
// threads need, and OpenMP's idle threads therefore sleep at once instead
// of spinning (src/engine/spin_governor.h). For reports such as
// `citadel bench`.
bool EngineSpinThrottled();

}  // namespace citadel

#endif  // CITADEL_ENGINE_H_
