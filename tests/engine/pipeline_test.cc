// Pipeline stage tests: hostile model bytes, unsupported ops, external data
// paths, input validation, hostile shapes at run time, concurrent Run.
#include <filesystem>
#include <fstream>
#include <unistd.h>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "../../src/engine/loader.h"
#include "citadel/engine.h"
#include "citadel/npy.h"
#include "test_util.h"

namespace citadel {
namespace {

using namespace engine::testing;  // NOLINT

Bytes ReadModel(const std::string& name) {
  return ReadFileBytes(std::string(CITADEL_SOURCE_DIR) + "/models/" + name).value();
}

// ---- load -------------------------------------------------------------------

TEST(Load, RandomBytesAreInvalidArgument) {
  std::mt19937 rng(42);
  for (int i = 0; i < 200; ++i) {
    Bytes b(1 + rng() % 512);
    for (auto& x : b) x = static_cast<uint8_t>(rng());
    auto m = Model::Load(b);
    ASSERT_FALSE(m.ok());
    EXPECT_EQ(m.status().code(), Code::kInvalidArgument) << m.status().ToString();
  }
  EXPECT_EQ(Model::Load(Bytes{}).status().code(), Code::kInvalidArgument);
}

TEST(Load, TruncatedModelIsInvalidArgument) {
  Bytes full = ReadModel("xray_cnn.onnx");
  for (size_t len : {size_t{1}, size_t{10}, full.size() / 3, full.size() / 2, full.size() - 1}) {
    auto m = Model::Load(ByteSpan(full.data(), len));
    ASSERT_FALSE(m.ok()) << len;
    EXPECT_EQ(m.status().code(), Code::kInvalidArgument) << len << ": " << m.status().ToString();
  }
}

TEST(Load, BitFlipsNeverCrash) {
  Bytes full = ReadModel("xray_cnn.onnx");
  std::mt19937 rng(7);
  for (int i = 0; i < 300; ++i) {
    Bytes b = full;
    for (int k = 0; k < 4; ++k) b[rng() % b.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
    auto m = Model::Load(b);
    if (m.ok()) {  // a flip inside weights is still a valid model
      auto x = Tensor::Zeros(DType::kFloat32, {1, 1, 64, 64});
      (void)(*m)->Run({{"image", *x}});
    }
  }
}

TEST(Load, ModelSizeLimit) {
  LoadOptions o;
  o.max_model_bytes = 1000;
  auto m = Model::Load(ReadModel("xray_cnn.onnx"), o);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), Code::kInvalidArgument);
  EXPECT_NE(m.status().message().find("limit"), std::string::npos);
}

TEST(Load, UnsupportedOpNamesOpDomainOpsetAndNode) {
  // Bernoulli: a real ai.onnx op the engine does not implement (random).
  auto m = MakeModel({{"x", onnx::TensorProto::FLOAT, {2, 2}}}, {{"y", onnx::TensorProto::FLOAT, {2, 2}}});
  AddNode(&m, "Bernoulli", {"x"}, {"y"}, "coin");
  auto r = Model::Load(Serialize(m));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnsupported);
  const std::string& msg = r.status().message();
  EXPECT_NE(msg.find("Bernoulli"), std::string::npos) << msg;
  EXPECT_NE(msg.find("coin"), std::string::npos) << msg;
  EXPECT_NE(msg.find("ai.onnx"), std::string::npos) << msg;
  EXPECT_NE(msg.find("opset 13"), std::string::npos) << msg;
}

TEST(Load, CustomDomainIsUnsupported) {
  auto m = MakeModel({{"x", onnx::TensorProto::FLOAT, {4}}}, {{"y", onnx::TensorProto::FLOAT, {4}}});
  auto* op = m.add_opset_import();
  op->set_domain("com.example");
  op->set_version(1);
  AddNode(&m, "Magic", {"x"}, {"y"}, "m1")->set_domain("com.example");
  auto r = Model::Load(Serialize(m));
  ASSERT_EQ(r.status().code(), Code::kUnsupported) << r.status().ToString();
  EXPECT_NE(r.status().message().find("com.example"), std::string::npos);
}

TEST(Load, StructuralErrors) {
  // Reads an undefined value.
  auto m = MakeModel({{"x", onnx::TensorProto::FLOAT, {4}}}, {{"y", onnx::TensorProto::FLOAT, {4}}});
  AddNode(&m, "Relu", {"nope"}, {"y"}, "r");
  auto r = Model::Load(Serialize(m));
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("nope"), std::string::npos);
  // A cycle.
  auto c = MakeModel({{"x", onnx::TensorProto::FLOAT, {4}}}, {{"y", onnx::TensorProto::FLOAT, {4}}});
  AddNode(&c, "Add", {"x", "z"}, {"y"});
  AddNode(&c, "Relu", {"y"}, {"z"});
  EXPECT_EQ(Model::Load(Serialize(c)).status().code(), Code::kInvalidArgument);
  // An initializer whose raw_data does not match its dims.
  auto w = MakeModel({{"x", onnx::TensorProto::FLOAT, {4}}}, {{"y", onnx::TensorProto::FLOAT, {4}}});
  auto* init = w.mutable_graph()->add_initializer();
  init->set_name("b");
  init->set_data_type(onnx::TensorProto::FLOAT);
  init->add_dims(1000000);
  init->set_raw_data(std::string(8, '\0'));
  AddNode(&w, "Add", {"x", "b"}, {"y"});
  auto rw = Model::Load(Serialize(w));
  EXPECT_EQ(rw.status().code(), Code::kInvalidArgument) << rw.status().ToString();
}

// ---- external data ----------------------------------------------------------

class ExternalData : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("citadel_ext_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_ / "weights");
    std::vector<float> b = {1, 2, 3, 4};
    std::ofstream(dir_ / "weights" / "b.bin", std::ios::binary)
        .write(reinterpret_cast<const char*>(b.data()), 16);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  Bytes ModelWithLocation(const std::string& location, const std::string& offset = "0",
                          const std::string& length = "16") {
    auto m = MakeModel({{"x", onnx::TensorProto::FLOAT, {4}}}, {{"y", onnx::TensorProto::FLOAT, {4}}});
    auto* init = m.mutable_graph()->add_initializer();
    init->set_name("b");
    init->set_data_type(onnx::TensorProto::FLOAT);
    init->add_dims(4);
    init->set_data_location(onnx::TensorProto::EXTERNAL);
    auto add = [&](const char* k, const std::string& v) {
      auto* e = init->add_external_data();
      e->set_key(k);
      e->set_value(v);
    };
    add("location", location);
    add("offset", offset);
    add("length", length);
    AddNode(&m, "Add", {"x", "b"}, {"y"}, "add");
    return Serialize(m);
  }

  std::filesystem::path dir_;
};

TEST_F(ExternalData, LoadsInsideDirectory) {
  LoadOptions o;
  o.external_data_dir = dir_.string();
  auto m = Model::Load(ModelWithLocation("weights/b.bin"), o);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  auto out = (*m)->Run({{"x", FloatTensor({4}, {10, 20, 30, 40})}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(CompareTensors(FloatTensor({4}, {11, 22, 33, 44}), (*out)[0].tensor), "");
}

TEST_F(ExternalData, RefusedWithoutDirectory) {
  auto m = Model::Load(ModelWithLocation("weights/b.bin"));
  EXPECT_EQ(m.status().code(), Code::kInvalidArgument);
  EXPECT_NE(m.status().message().find("external data"), std::string::npos);
}

TEST_F(ExternalData, RejectsEscapes) {
  LoadOptions o;
  o.external_data_dir = (dir_ / "weights").string();
  for (const char* loc : {"../weights/b.bin", "a/../../b.bin", "/etc/passwd", ".."}) {
    auto m = Model::Load(ModelWithLocation(loc), o);
    ASSERT_FALSE(m.ok()) << loc;
    EXPECT_EQ(m.status().code(), Code::kInvalidArgument) << loc;
  }
  // A symlink that leads out of the directory.
  std::filesystem::create_symlink("/etc/hostname", dir_ / "weights" / "link.bin");
  EXPECT_EQ(Model::Load(ModelWithLocation("link.bin"), o).status().code(),
            Code::kInvalidArgument);
}

TEST_F(ExternalData, ChecksBounds) {
  LoadOptions o;
  o.external_data_dir = dir_.string();
  EXPECT_EQ(Model::Load(ModelWithLocation("weights/b.bin", "8", "16"), o).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(Model::Load(ModelWithLocation("weights/b.bin", "999999"), o).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(Model::Load(ModelWithLocation("weights/b.bin", "-1"), o).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(Model::Load(ModelWithLocation("weights/b.bin", "0", "12"), o).status().code(),
            Code::kInvalidArgument);  // 3 floats for a [4] tensor
}

// ---- run-time validation ----------------------------------------------------

class RunValidation : public ::testing::Test {
 protected:
  void SetUp() override {
    auto m = Model::Load(ReadModel("xray_cnn.onnx"));
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    model_ = *m;
  }
  Status RunWith(const TensorList& in) { return model_->Run(in).status(); }
  std::shared_ptr<const Model> model_;
};

TEST_F(RunValidation, RejectsWrongName) {
  Status st = RunWith({{"img", *Tensor::Zeros(DType::kFloat32, {1, 1, 64, 64})}});
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("unknown input 'img'"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("image"), std::string::npos) << st.message();
}

TEST_F(RunValidation, RejectsMissingAndDuplicate) {
  EXPECT_EQ(RunWith({}).code(), Code::kInvalidArgument);
  auto x = *Tensor::Zeros(DType::kFloat32, {1, 1, 64, 64});
  Status st = RunWith({{"image", x}, {"image", x}});
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("more than once"), std::string::npos);
}

TEST_F(RunValidation, RejectsWrongDTypeRankAndDims) {
  Status st = RunWith({{"image", *Tensor::Zeros(DType::kFloat64, {1, 1, 64, 64})}});
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("float32"), std::string::npos) << st.message();
  st = RunWith({{"image", *Tensor::Zeros(DType::kFloat32, {1, 64, 64})}});
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("rank 4"), std::string::npos) << st.message();
  st = RunWith({{"image", *Tensor::Zeros(DType::kFloat32, {1, 1, 32, 64})}});
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("dimension 2 must be 64"), std::string::npos) << st.message();
  EXPECT_EQ(RunWith({{"image", Tensor()}}).code(), Code::kInvalidArgument);
}

TEST_F(RunValidation, ConcurrentRunsAgree) {
  auto x = *ReadNpyFile(std::string(CITADEL_SOURCE_DIR) + "/models/xray_sample.npy");
  auto reference = model_->Run({{"image", x}});
  ASSERT_TRUE(reference.ok());
  std::vector<std::thread> threads;
  std::vector<std::string> diffs(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        auto out = model_->Run({{"image", x}});
        if (!out.ok()) {
          diffs[t] = out.status().ToString();
          return;
        }
        // Bit-identical: same kernels, same order, no shared mutable state.
        std::string d = CompareTensors((*reference)[0].tensor, (*out)[0].tensor, 0, 0);
        if (!d.empty()) diffs[t] = d;
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& d : diffs) EXPECT_EQ(d, "");
}

// ---- hostile shapes in kernels ------------------------------------------------

// Loads a one-node model (output "y", float32 of rank `out_rank`, all dims
// dynamic) and runs it; the Load must succeed so the test reaches the kernel.
Result<TensorList> RunOneNode(const std::string& op, const std::vector<IoSpec>& ins,
                              const TensorList& feeds, size_t out_rank) {
  auto m = MakeModel(ins, {{"y", onnx::TensorProto::FLOAT, std::vector<int64_t>(out_rank, -1)}});
  std::vector<std::string> names;
  for (const auto& i : ins) names.push_back(i.name);
  AddNode(&m, op, names, {"y"}, "n0");
  auto model = Model::Load(Serialize(m));
  EXPECT_TRUE(model.ok()) << model.status().ToString();
  if (!model.ok()) return Status::Internal("load failed");
  return (*model)->Run(feeds);
}

TEST(HostileRun, MismatchedAddShapes) {
  auto r = RunOneNode("Add", {{"a", onnx::TensorProto::FLOAT, {-1}}, {"b", onnx::TensorProto::FLOAT, {-1}}},
                      {{"a", FloatTensor({3}, {1, 2, 3})}, {"b", FloatTensor({2}, {1, 2})}}, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("cannot be broadcast"), std::string::npos);
  EXPECT_NE(r.status().message().find("n0"), std::string::npos);  // names the node
}

TEST(HostileRun, BadReshapeTargets) {
  std::vector<IoSpec> ins = {{"x", onnx::TensorProto::FLOAT, {-1}}, {"s", onnx::TensorProto::INT64, {-1}}};
  auto x = FloatTensor({6}, {1, 2, 3, 4, 5, 6});
  for (std::vector<int64_t> target : std::vector<std::vector<int64_t>>{
           {-2, 3}, {-1, -1}, {4, -1}, {7}, {0, 0, 0, 6}, {INT64_MAX, INT64_MAX}}) {
    auto s = Tensor::FromVector(DType::kInt64, {static_cast<int64_t>(target.size())}, target);
    auto r = RunOneNode("Reshape", ins, {{"x", x}, {"s", *s}}, target.size());
    ASSERT_FALSE(r.ok()) << ShapeToString(target);
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << r.status().ToString();
  }
}

TEST(HostileRun, HugeShapesAreRefused) {
  // Expand-like blow-up through broadcasting: [2^20,1] + [1,2^20] floats = 4 TiB.
  auto a = Tensor::Zeros(DType::kFloat32, {1 << 20, 1});
  auto b = Tensor::Zeros(DType::kFloat32, {1, 1 << 20});
  auto r = RunOneNode("Add", {{"a", onnx::TensorProto::FLOAT, {-1, -1}}, {"b", onnx::TensorProto::FLOAT, {-1, -1}}},
                      {{"a", *a}, {"b", *b}}, 2);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kResourceExhausted) << r.status().ToString();
}

TEST(HostileRun, IntegerDivisionByZero) {
  auto a = Tensor::FromVector(DType::kInt32, {2}, std::vector<int32_t>{INT32_MIN, 5});
  auto b = Tensor::FromVector(DType::kInt32, {2}, std::vector<int32_t>{-1, 0});
  auto r = RunOneNode("Div", {{"a", onnx::TensorProto::INT32, {2}}, {"b", onnx::TensorProto::INT32, {2}}},
                      {{"a", *a}, {"b", *b}}, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
}

TEST(HostileRun, ConvChannelMismatch) {
  auto x = Tensor::Zeros(DType::kFloat32, {1, 3, 8, 8});
  auto w = Tensor::Zeros(DType::kFloat32, {4, 2, 3, 3});
  auto r = RunOneNode("Conv", {{"x", onnx::TensorProto::FLOAT, {-1, -1, -1, -1}}, {"w", onnx::TensorProto::FLOAT, {-1, -1, -1, -1}}},
                      {{"x", *x}, {"w", *w}}, 4);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
}

// ---- optimiser ----------------------------------------------------------------

TEST(Optimize, FoldsConstantsAndDropsDeadNodes) {
  auto m = MakeModel({{"x", onnx::TensorProto::FLOAT, {2}}}, {{"y", onnx::TensorProto::FLOAT, {2}}});
  auto* c1 = m.mutable_graph()->add_initializer();
  c1->set_name("c1");
  c1->set_data_type(onnx::TensorProto::FLOAT);
  c1->add_dims(2);
  c1->add_float_data(1);
  c1->add_float_data(2);
  AddNode(&m, "Mul", {"c1", "c1"}, {"c2"}, "square");  // constant: folded
  AddNode(&m, "Add", {"x", "c2"}, {"y"}, "add");
  AddNode(&m, "Relu", {"x"}, {"unused"}, "dead");      // reaches no output
  auto model = Model::Load(Serialize(m));
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  const std::string d = (*model)->Describe();
  EXPECT_NE(d.find("1 nodes"), std::string::npos) << d;
  auto out = (*model)->Run({{"x", FloatTensor({2}, {10, 20})}});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(CompareTensors(FloatTensor({2}, {11, 24}), (*out)[0].tensor), "");

  // Without optimisation the same graph gives the same answer.
  LoadOptions o;
  o.optimize = false;
  auto plain = Model::Load(Serialize(m), o);
  ASSERT_TRUE(plain.ok());
  EXPECT_NE((*plain)->Describe().find("3 nodes"), std::string::npos) << (*plain)->Describe();
  auto out2 = (*plain)->Run({{"x", FloatTensor({2}, {10, 20})}});
  ASSERT_TRUE(out2.ok());
  EXPECT_EQ(CompareTensors((*out)[0].tensor, (*out2)[0].tensor, 0, 0), "");
}

TEST(Optimize, OutputOfConstantIsACopy) {
  // y = Identity(initializer): writing into the returned tensor must not
  // change what the next Run returns.
  auto m = MakeModel({}, {{"y", onnx::TensorProto::FLOAT, {2}}});
  auto* c = m.mutable_graph()->add_initializer();
  c->set_name("c");
  c->set_data_type(onnx::TensorProto::FLOAT);
  c->add_dims(2);
  c->add_float_data(1);
  c->add_float_data(2);
  AddNode(&m, "Identity", {"c"}, {"y"});
  auto model = Model::Load(Serialize(m));
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  auto out = (*model)->Run({});
  ASSERT_TRUE(out.ok());
  (*out)[0].tensor.data<float>()[0] = 99;
  auto again = (*model)->Run({});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)[0].tensor.data<float>()[0], 1.0f);
}

}  // namespace
}  // namespace citadel
