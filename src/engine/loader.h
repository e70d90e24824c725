// Stage 1: bytes -> onnx::ModelProto, with limits and external data.
//
// Everything here treats the model as hostile: the protobuf parser runs
// under a total-bytes limit, external data may only come from files inside
// the directory the caller named, and the ONNX checker's exceptions are
// turned into Status.
#ifndef CITADEL_ENGINE_LOADER_H_
#define CITADEL_ENGINE_LOADER_H_

#include <memory>
#include <string>

#include "citadel/bytes.h"
#include "citadel/status.h"

namespace onnx {
class ModelProto;
}

namespace citadel::engine {

// Parses a serialized ModelProto. Garbage, truncated input and input larger
// than max_bytes are InvalidArgument.
Result<std::unique_ptr<onnx::ModelProto>> ParseModelProto(ByteSpan bytes, size_t max_bytes);

// Same, reading the file at `path` through a small buffer instead of holding
// all its bytes next to the parsed proto (which would double the peak
// memory of loading a large model). A missing file is NotFound, a file that
// is not regular InvalidArgument, one over max_bytes ResourceExhausted (as
// ReadFileBytes reports them).
Result<std::unique_ptr<onnx::ModelProto>> ParseModelProtoFile(const std::string& path,
                                                              size_t max_bytes);

// Validates an external-data `location` and joins it to `dir`: no absolute
// paths, no ".." components, no NUL, and the result (after resolving
// symlinks) must stay inside `dir`.
Result<std::string> ResolveExternalDataPath(const std::string& dir, const std::string& location);

// Replaces every external tensor (initializers and Constant attributes) by
// its bytes, read from `dir` with offset/length bounds checks. With an empty
// `dir`, a model that uses external data is refused (InvalidArgument).
Status InlineExternalData(onnx::ModelProto* model, const std::string& dir);

// Runs onnx::checker::check_model; its exceptions become InvalidArgument.
Status CheckModel(const onnx::ModelProto& model);

// ONNX shape inference in place (adds value_info). Best effort: failures
// are ignored because the kernels check shapes again at run time.
void InferShapesInPlace(onnx::ModelProto* model);

}  // namespace citadel::engine

#endif  // CITADEL_ENGINE_LOADER_H_
