// `citadel inspect` through the real binary: the bundled demo model (every op
// supported, exit 0) and a hand-encoded model with symbolic dims and ops from
// a domain the engine does not implement (exit 1, every such node listed with
// op, domain, opset and node name).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>

#include <nlohmann/json.hpp>

namespace citadel {
namespace {

namespace fs = std::filesystem;

const std::string kCli = CITADEL_CLI_PATH;
const std::string kModels = std::string(CITADEL_SOURCE_DIR) + "/models/";

struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout only unless asked: the report must parse on its own
};

CommandResult RunCommand(const std::string& command, bool with_stderr = false) {
  CommandResult r;
  FILE* pipe = ::popen((command + (with_stderr ? " 2>&1" : " 2>/dev/null")).c_str(), "r");
  if (!pipe) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) r.out.append(buf, n);
  int status = ::pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// A minimal protobuf writer, enough to hand-encode a ModelProto (the e2e
// tests do not link libonnx; encoding by field number keeps the model's
// exact content visible in the test).
struct Pb {
  std::string b;
  void Varint(uint64_t v) {
    while (v >= 0x80) {
      b += static_cast<char>((v & 0x7f) | 0x80);
      v >>= 7;
    }
    b += static_cast<char>(v);
  }
  Pb& Int(int field, uint64_t v) {
    Varint(static_cast<uint64_t>(field) << 3);
    Varint(v);
    return *this;
  }
  Pb& Bytes(int field, const std::string& s) {
    Varint((static_cast<uint64_t>(field) << 3) | 2);
    Varint(s.size());
    b += s;
    return *this;
  }
  Pb& Msg(int field, const Pb& m) { return Bytes(field, m.b); }
};

// ValueInfoProto with a tensor type; dims: a number, a symbolic name, or "".
Pb TensorValue(const std::string& name, int elem_type, const std::vector<std::string>& dims) {
  Pb shape;
  for (const auto& d : dims) {
    Pb dim;
    if (!d.empty() && std::isdigit(static_cast<unsigned char>(d[0]))) dim.Int(1, std::stoull(d));
    else if (!d.empty()) dim.Bytes(2, d);
    shape.Msg(1, dim);
  }
  Pb tensor;
  tensor.Int(1, static_cast<uint64_t>(elem_type)).Msg(2, shape);
  Pb type;
  type.Msg(1, tensor);
  Pb vi;
  vi.Bytes(1, name).Msg(2, type);
  return vi;
}

Pb NodeProto(const std::string& op, const std::string& domain, const std::string& name,
             const std::string& in, const std::string& out) {
  Pb n;
  n.Bytes(1, in).Bytes(2, out);
  if (!name.empty()) n.Bytes(3, name);
  n.Bytes(4, op);
  if (!domain.empty()) n.Bytes(7, domain);
  return n;
}

constexpr int kFloat = 1, kInt64 = 7;

// x:float[batch,3] -> Relu -> com.example.Fancy 'fancy_1' -> com.example.Fancy
// (unnamed) -> y:float[batch,?]; ids:int64[batch,seq] -> Identity -> ids_out.
std::string UnsupportedModel() {
  Pb graph;
  graph.Msg(1, NodeProto("Relu", "", "relu", "x", "r"))
      .Msg(1, NodeProto("Fancy", "com.example", "fancy_1", "r", "f"))
      .Msg(1, NodeProto("Fancy", "com.example", "", "f", "y"))
      .Msg(1, NodeProto("Identity", "", "ident", "ids", "ids_out"))
      .Bytes(2, "handmade")
      .Msg(11, TensorValue("x", kFloat, {"batch", "3"}))
      .Msg(11, TensorValue("ids", kInt64, {"batch", "seq"}))
      .Msg(12, TensorValue("y", kFloat, {"batch", ""}))
      .Msg(12, TensorValue("ids_out", kInt64, {"batch", "seq"}));
  Pb onnx_opset, example_opset;
  onnx_opset.Bytes(1, "").Int(2, 13);
  example_opset.Bytes(1, "com.example").Int(2, 1);
  Pb model;
  model.Int(1, 8).Msg(8, onnx_opset).Msg(8, example_opset).Msg(7, graph);
  return model.b;
}

class InspectCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("citadel-inspect-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path Write(const std::string& name, const std::string& bytes) {
    std::ofstream(dir_ / name, std::ios::binary) << bytes;
    return dir_ / name;
  }
  fs::path dir_;
};

TEST_F(InspectCliTest, SupportedModelExitsZeroAndDescribesIo) {
  auto r = RunCommand(kCli + " inspect --json " + kModels + "xray_cnn.onnx");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_TRUE(j["supported"].get<bool>());
  EXPECT_TRUE(j["load"]["ok"].get<bool>());
  EXPECT_TRUE(j["unsupported"].empty());
  ASSERT_FALSE(j["inputs"].empty());
  ASSERT_FALSE(j["outputs"].empty());
  EXPECT_EQ(j["inputs"][0]["type"], "float32");
  EXPECT_GT(j["opsets"]["ai.onnx"].get<int>(), 0);
  size_t histogram_total = 0;
  for (const auto& op : j["ops"]) {
    EXPECT_TRUE(op["supported"].get<bool>()) << op.dump();
    histogram_total += op["count"].get<size_t>();
  }
  EXPECT_EQ(histogram_total, j["node_count"].get<size_t>());
  EXPECT_GT(j["parameter_count"].get<uint64_t>(), 0u);

  auto text = RunCommand(kCli + " inspect " + kModels + "xray_cnn.onnx");
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_NE(text.out.find("supported: yes"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find(j["inputs"][0]["name"].get<std::string>()), std::string::npos);
}

TEST_F(InspectCliTest, UnsupportedOpsAreAllListedWithOpDomainOpsetAndNode) {
  fs::path model = Write("unsupported.onnx", UnsupportedModel());
  auto r = RunCommand(kCli + " inspect --json " + model.string());
  ASSERT_EQ(r.exit_code, 1) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_FALSE(j["supported"].get<bool>());
  EXPECT_FALSE(j["load"]["attempted"].get<bool>());
  EXPECT_EQ(j["opsets"]["ai.onnx"], 13);
  EXPECT_EQ(j["opsets"]["com.example"], 1);

  // Inputs and outputs keep their symbolic dims; unknown dims are "?".
  ASSERT_EQ(j["inputs"].size(), 2u);
  EXPECT_EQ(j["inputs"][0]["name"], "x");
  EXPECT_EQ(j["inputs"][0]["type"], "float32");
  EXPECT_EQ(j["inputs"][0]["shape"], nlohmann::json::parse(R"(["batch", 3])"));
  EXPECT_EQ(j["inputs"][1]["type"], "int64");
  EXPECT_EQ(j["inputs"][1]["shape"], nlohmann::json::parse(R"(["batch", "seq"])"));
  ASSERT_EQ(j["outputs"].size(), 2u);
  EXPECT_EQ(j["outputs"][0]["shape"], nlohmann::json::parse(R"(["batch", "?"])"));
  EXPECT_EQ(j["outputs"][1]["type"], "int64");

  // Histogram: Fancy x2 unsupported, Relu and Identity supported.
  std::map<std::string, std::pair<size_t, bool>> ops;
  for (const auto& op : j["ops"]) {
    ops[op["domain"].get<std::string>() + ":" + op["op_type"].get<std::string>()] = {
        op["count"].get<size_t>(), op["supported"].get<bool>()};
  }
  EXPECT_EQ(ops["com.example:Fancy"], std::make_pair(size_t{2}, false));
  EXPECT_EQ(ops["ai.onnx:Relu"], std::make_pair(size_t{1}, true));
  EXPECT_EQ(ops["ai.onnx:Identity"], std::make_pair(size_t{1}, true));
  EXPECT_EQ(j["node_count"], 4);

  ASSERT_EQ(j["unsupported"].size(), 2u);
  EXPECT_EQ(j["unsupported"][0]["node"], "fancy_1");
  EXPECT_EQ(j["unsupported"][0]["op_type"], "Fancy");
  EXPECT_EQ(j["unsupported"][0]["domain"], "com.example");
  EXPECT_EQ(j["unsupported"][0]["opset"], 1);
  EXPECT_EQ(j["unsupported"][1]["node"], "#2");  // unnamed: its index in the graph

  auto text = RunCommand(kCli + " inspect " + model.string());
  EXPECT_EQ(text.exit_code, 1);
  EXPECT_NE(text.out.find("node 'fancy_1': Fancy (domain com.example, opset 1)"), std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("x: float32 [batch,3]"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("supported: no"), std::string::npos) << text.out;
}

TEST_F(InspectCliTest, NotAnOnnxFileFailsWithMessage) {
  fs::path junk = Write("junk.onnx", std::string("\xff\xff\xff\xff not protobuf", 18));
  auto r = RunCommand(kCli + " inspect " + junk.string(), /*with_stderr=*/true);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("not a valid ONNX"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace citadel
