// The oneDNN fast paths and the inference fusions against the reference
// kernels: random shapes and weights, each model loaded twice (reference:
// oneDNN off and no optimisation; fast: oneDNN on and fusions on).
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include "../../src/engine/dnnl_util.h"
#include "citadel/engine.h"
#include "test_util.h"

namespace citadel::engine {
namespace {

class Builder {
 public:
  Builder() {
    model_.set_ir_version(8);
    auto* op = model_.add_opset_import();
    op->set_domain("");
    op->set_version(13);
    g_ = model_.mutable_graph();
    g_->set_name("fast");
  }
  void Input(const std::string& name, const Shape& shape) { Info(g_->add_input(), name, shape); }
  void Output(const std::string& name, const Shape& shape) { Info(g_->add_output(), name, shape); }
  void Init(const std::string& name, const Shape& shape, float lo, float hi) {
    auto* t = g_->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    size_t n = 1;
    for (int64_t d : shape) {
      t->add_dims(d);
      n *= static_cast<size_t>(d);
    }
    std::uniform_real_distribution<float> u(lo, hi);
    for (size_t i = 0; i < n; ++i) t->add_float_data(u(rng_));
  }
  onnx::NodeProto* Node(const std::string& op, std::vector<std::string> in, std::vector<std::string> out) {
    auto* n = g_->add_node();
    n->set_op_type(op);
    n->set_name(op + std::to_string(g_->node_size()));
    for (auto& s : in) n->add_input(s);
    for (auto& s : out) n->add_output(s);
    return n;
  }
  static void Ints(onnx::NodeProto* n, const std::string& name, std::vector<int64_t> v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (int64_t x : v) a->add_ints(x);
  }
  static void Int(onnx::NodeProto* n, const std::string& name, int64_t v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
  }
  std::string Bytes() const { return model_.SerializeAsString(); }
  std::mt19937& rng() { return rng_; }

 private:
  static void Info(onnx::ValueInfoProto* vi, const std::string& name, const Shape& shape) {
    vi->set_name(name);
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    auto* sh = tt->mutable_shape();
    for (int64_t d : shape) {
      if (d < 0) sh->add_dim()->set_dim_param("batch");
      else sh->add_dim()->set_dim_value(d);
    }
  }
  onnx::ModelProto model_;
  onnx::GraphProto* g_;
  std::mt19937 rng_{42};
};

Tensor Random(const Shape& s, std::mt19937& rng) {
  Tensor t = Tensor::Zeros(DType::kFloat32, s).value();
  std::uniform_real_distribution<float> u(-1, 1);
  for (size_t i = 0; i < t.num_elements(); ++i) t.data<float>()[i] = u(rng);
  return t;
}

// Loads `b` both ways, runs `inputs`, expects equal outputs.
void ExpectFastMatchesReference(const Builder& b, const TensorList& inputs, int threads = 2) {
  const std::string bytes = b.Bytes();
  ByteSpan span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  SetDnnlDisabled(true);
  LoadOptions ref_opts;
  ref_opts.optimize = false;
  auto ref = Model::Load(span, ref_opts);
  SetDnnlDisabled(false);
  ASSERT_TRUE(ref.ok()) << ref.status().ToString();
  LoadOptions fast_opts;
  fast_opts.threads = threads;
  auto fast = Model::Load(span, fast_opts);
  ASSERT_TRUE(fast.ok()) << fast.status().ToString();
  auto r = (*ref)->Run(inputs);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto f = (*fast)->Run(inputs);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_EQ(r->size(), f->size());
  for (size_t i = 0; i < r->size(); ++i) {
    EXPECT_EQ(testing::CompareTensors((*r)[i].tensor, (*f)[i].tensor, 1e-4, 1e-4), "")
        << (*r)[i].name;
  }
}

struct ConvCase {
  int64_t n, c, h, w, m, k, stride, pad, dil, group;
};

TEST(FastConv, RandomShapesWithBatchNormReluAndResidual) {
  const ConvCase cases[] = {
      {1, 3, 17, 19, 8, 3, 1, 1, 1, 1},   {2, 16, 14, 14, 32, 1, 1, 0, 1, 1},
      {1, 8, 15, 15, 8, 3, 2, 1, 1, 8},   // depthwise, stride 2
      {1, 12, 11, 9, 12, 3, 1, 2, 2, 4},  // grouped, dilated
      {3, 5, 9, 9, 7, 5, 2, 2, 1, 1},     {1, 32, 7, 7, 64, 3, 1, 1, 1, 1},
  };
  for (const ConvCase& cc : cases) {
    SCOPED_TRACE(cc.c * 1000 + cc.m);
    Builder b;
    const int64_t oh = (cc.h + 2 * cc.pad - cc.dil * (cc.k - 1) - 1) / cc.stride + 1;
    const int64_t ow = (cc.w + 2 * cc.pad - cc.dil * (cc.k - 1) - 1) / cc.stride + 1;
    b.Input("x", {cc.n, cc.c, cc.h, cc.w});
    b.Input("r", {cc.n, cc.m, oh, ow});
    b.Init("W", {cc.m, cc.c / cc.group, cc.k, cc.k}, -0.5f, 0.5f);
    b.Init("B", {cc.m}, -0.5f, 0.5f);
    b.Init("s", {cc.m}, 0.5f, 1.5f);
    b.Init("bb", {cc.m}, -0.5f, 0.5f);
    b.Init("mean", {cc.m}, -0.5f, 0.5f);
    b.Init("var", {cc.m}, 0.5f, 2.0f);
    auto* conv = b.Node("Conv", {"x", "W", "B"}, {"c"});
    Builder::Ints(conv, "strides", {cc.stride, cc.stride});
    Builder::Ints(conv, "pads", {cc.pad, cc.pad, cc.pad, cc.pad});
    Builder::Ints(conv, "dilations", {cc.dil, cc.dil});
    Builder::Int(conv, "group", cc.group);
    b.Node("BatchNormalization", {"c", "s", "bb", "mean", "var"}, {"bn"});
    b.Node("Add", {"r", "bn"}, {"sum"});
    b.Node("Relu", {"sum"}, {"y"});
    b.Output("y", {cc.n, cc.m, oh, ow});
    ExpectFastMatchesReference(b, {{"x", Random({cc.n, cc.c, cc.h, cc.w}, b.rng())},
                                   {"r", Random({cc.n, cc.m, oh, ow}, b.rng())}});
  }
}

TEST(FastConv, ClipSwishSigmoidAndDynamicBatch) {
  Builder b;
  b.Input("x", {-1, 8, 10, 10});
  b.Init("W1", {16, 8, 3, 3}, -0.3f, 0.3f);
  b.Init("W2", {16, 1, 3, 3}, -0.3f, 0.3f);
  b.Init("W3", {8, 16, 1, 1}, -0.3f, 0.3f);
  b.Init("lo", {}, 0.f, 0.f);
  b.Init("hi", {}, 6.f, 6.f);
  auto* c1 = b.Node("Conv", {"x", "W1"}, {"a"});
  Builder::Ints(c1, "pads", {1, 1, 1, 1});
  b.Node("Clip", {"a", "lo", "hi"}, {"a6"});
  auto* c2 = b.Node("Conv", {"a6", "W2"}, {"d"});
  Builder::Int(c2, "group", 16);
  Builder::Ints(c2, "pads", {0, 1, 2, 1});  // asymmetric
  b.Node("Sigmoid", {"d"}, {"ds"});
  b.Node("Mul", {"d", "ds"}, {"silu"});
  b.Node("Conv", {"silu", "W3"}, {"e"});
  b.Node("Sigmoid", {"e"}, {"y"});
  b.Output("y", {-1, 8, 10, 10});
  for (int64_t n : {1, 3}) {
    ExpectFastMatchesReference(b, {{"x", Random({n, 8, 10, 10}, b.rng())}}, 1);
  }
}

TEST(FastGemm, GemmAndBatchedMatMul) {
  Builder b;
  b.Input("a", {5, 33});
  b.Input("x", {2, 3, 7, 33});
  b.Input("q", {2, 3, 7, 9});
  b.Input("k", {2, 3, 9, 7});
  b.Init("B", {17, 33}, -1, 1);
  b.Init("C", {17}, -1, 1);
  b.Init("M", {33, 9}, -1, 1);
  auto* g = b.Node("Gemm", {"a", "B", "C"}, {"g"});
  Builder::Int(g, "transB", 1);
  b.Node("MatMul", {"x", "M"}, {"xm"});
  b.Node("MatMul", {"q", "k"}, {"qk"});
  b.Output("g", {5, 17});
  b.Output("xm", {2, 3, 7, 9});
  b.Output("qk", {2, 3, 7, 7});
  ExpectFastMatchesReference(b, {{"a", Random({5, 33}, b.rng())},
                                 {"x", Random({2, 3, 7, 33}, b.rng())},
                                 {"q", Random({2, 3, 7, 9}, b.rng())},
                                 {"k", Random({2, 3, 9, 7}, b.rng())}});
}

TEST(FastConv, ConcurrentRunsAgree) {
  Builder b;
  b.Input("x", {2, 16, 12, 12});
  b.Init("W", {32, 16, 3, 3}, -0.3f, 0.3f);
  auto* c = b.Node("Conv", {"x", "W"}, {"c"});
  Builder::Ints(c, "pads", {1, 1, 1, 1});
  b.Node("Relu", {"c"}, {"y"});
  b.Output("y", {2, 32, 12, 12});
  const std::string bytes = b.Bytes();
  auto m = Model::Load(ByteSpan(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
  ASSERT_TRUE(m.ok());
  TensorList in = {{"x", Random({2, 16, 12, 12}, b.rng())}};
  auto want = (*m)->Run(in);
  ASSERT_TRUE(want.ok());
  std::vector<std::thread> threads;
  std::vector<int> bad(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        auto got = (*m)->Run(in);
        if (!got.ok() || testing::CompareTensors((*want)[0].tensor, (*got)[0].tensor, 0, 0) != "") ++bad[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(bad[t], 0);
}

}  // namespace
}  // namespace citadel::engine
