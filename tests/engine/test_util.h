// Helpers for engine tests: reading ONNX TensorProto files, comparing
// tensors like the ONNX backend test runner, building tiny models.
#ifndef CITADEL_TESTS_ENGINE_TEST_UTIL_H_
#define CITADEL_TESTS_ENGINE_TEST_UTIL_H_

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

#include "../../src/engine/tensor_proto.h"
#include "citadel/bytes.h"
#include "citadel/conformance.h"
#include "citadel/engine.h"
#include "citadel/tensor.h"

namespace citadel::engine::testing {

inline Result<Tensor> ReadTensorPb(const std::string& path) {
  CITADEL_ASSIGN_OR_RETURN(Bytes bytes, ReadFileBytes(path));
  onnx::TensorProto proto;
  if (!proto.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return Status::InvalidArgument("cannot parse " + path);
  }
  return TensorFromProto(proto);
}

inline double ElementAsDouble(const Tensor& t, size_t i) {
  switch (t.dtype()) {
    case DType::kFloat32: return t.data<float>()[i];
    case DType::kFloat64: return t.data<double>()[i];
    case DType::kFloat16: return HalfToFloat(t.data<uint16_t>()[i]);
    case DType::kBFloat16: return BFloat16ToFloat(t.data<uint16_t>()[i]);
    case DType::kInt8: return t.data<int8_t>()[i];
    case DType::kInt16: return t.data<int16_t>()[i];
    case DType::kInt32: return t.data<int32_t>()[i];
    case DType::kInt64: return static_cast<double>(t.data<int64_t>()[i]);
    case DType::kUInt8: return t.data<uint8_t>()[i];
    case DType::kUInt16: return t.data<uint16_t>()[i];
    case DType::kUInt32: return t.data<uint32_t>()[i];
    case DType::kUInt64: return static_cast<double>(t.data<uint64_t>()[i]);
    case DType::kBool: return t.data<uint8_t>()[i];
    case DType::kString: return 0;
  }
  return 0;
}

// "" when `actual` matches `expected` (floats: |a-e| <= atol + rtol*|e|,
// NaN matches NaN, infinities exactly; integers and bools exactly), else a
// description. The conformance runner's comparison, so tests and
// `citadel conformance` agree.
inline std::string CompareTensors(const Tensor& expected, const Tensor& actual, double rtol = 1e-3,
                                  double atol = 1e-7) {
  return conformance::CompareTensors(expected, actual, rtol, atol);
}

// Builds a one-node model: inputs/outputs are float32 with the given shapes
// unless stated otherwise.
struct IoSpec {
  std::string name;
  int elem_type = onnx::TensorProto::FLOAT;
  std::vector<int64_t> shape;  // -1 = dynamic ("<name>_d<i>")
};

inline void SetValueInfo(onnx::ValueInfoProto* vi, const IoSpec& s) {
  vi->set_name(s.name);
  auto* tt = vi->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(s.elem_type);
  auto* shape = tt->mutable_shape();
  for (size_t i = 0; i < s.shape.size(); ++i) {
    auto* dim = shape->add_dim();
    // Distinct symbols per dim, so the engine does not tie them together.
    if (s.shape[i] >= 0) dim->set_dim_value(s.shape[i]);
    else dim->set_dim_param(s.name + "_d" + std::to_string(i));
  }
}

inline onnx::ModelProto MakeModel(const std::vector<IoSpec>& inputs,
                                  const std::vector<IoSpec>& outputs, int64_t opset = 13) {
  onnx::ModelProto m;
  m.set_ir_version(7);
  m.set_producer_name("citadel-test");
  auto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(opset);
  auto* g = m.mutable_graph();
  g->set_name("test");
  for (const auto& s : inputs) SetValueInfo(g->add_input(), s);
  for (const auto& s : outputs) SetValueInfo(g->add_output(), s);
  return m;
}

inline onnx::NodeProto* AddNode(onnx::ModelProto* m, const std::string& op_type,
                                const std::vector<std::string>& inputs,
                                const std::vector<std::string>& outputs,
                                const std::string& name = "") {
  auto* n = m->mutable_graph()->add_node();
  n->set_op_type(op_type);
  n->set_name(name);
  for (const auto& i : inputs) n->add_input(i);
  for (const auto& o : outputs) n->add_output(o);
  return n;
}

inline Bytes Serialize(const onnx::ModelProto& m) {
  std::string s;
  m.SerializeToString(&s);
  return Bytes(s.begin(), s.end());
}

inline Tensor FloatTensor(const Shape& shape, const std::vector<float>& v) {
  return Tensor::FromVector(DType::kFloat32, shape, v).value();
}

}  // namespace citadel::engine::testing

#endif  // CITADEL_TESTS_ENGINE_TEST_UTIL_H_
