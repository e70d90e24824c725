// The wire format shared by server and client: the Open Inference Protocol
// (KServe v2) JSON tensor encoding, Citadel's extensions, and error bodies.
// See docs/protocol.md. Decoders treat input as hostile: every field is
// type-checked, element counts must match shapes, and sizes are bounded.
#ifndef CITADEL_PROTOCOL_H_
#define CITADEL_PROTOCOL_H_

#include <nlohmann/json.hpp>

#include <string>

#include "citadel/status.h"
#include "citadel/tensor.h"

namespace citadel {

// Wire-format version for Citadel's own extension bodies.
inline constexpr int kProtocolVersion = 1;

struct TensorLimits {
  size_t max_tensors = 64;
  size_t max_elements_per_tensor = size_t{64} << 20;
  size_t max_total_elements = size_t{128} << 20;
};

// {"name":..., "shape":[...], "datatype":"FP32", "data":[...]} for each tensor.
nlohmann::json TensorToJson(const NamedTensor& t);
nlohmann::json TensorListToJson(const TensorList& tensors);
// Parses one tensor object; `where` names it in errors ("inputs[0]").
Result<NamedTensor> TensorFromJson(const nlohmann::json& j, const std::string& where,
                                   const TensorLimits& limits = {});
// Parses an array of tensor objects (request "inputs" / response "outputs").
Result<TensorList> TensorListFromJson(const nlohmann::json& j, const std::string& field,
                                      const TensorLimits& limits = {});

// Model names: 1..128 of [A-Za-z0-9._-], not starting with '.'. Checked by
// the server, and by the client before a name goes into a URL path.
Status ValidateModelName(const std::string& name);

// Parses JSON text without throwing; InvalidArgument with the parser's
// position on failure.
Result<nlohmann::json> ParseJson(std::string_view text);

// Error body: {"error": "<message>", "code": "<code name>"}.
std::string ErrorBody(const Status& status);
int HttpStatusFor(Code code);
// Rebuilds a Status from an error body (client side); falls back to the
// HTTP status when the body is not Citadel's.
Status StatusFromErrorBody(int http_status, std::string_view body);

}  // namespace citadel

#endif  // CITADEL_PROTOCOL_H_
