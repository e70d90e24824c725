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
#include "../../src/engine/ops/conv.h"
#include "../../src/engine/ops/conv_winograd.h"
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
  void Input(const std::string& name, const Shape& shape, const std::string& param = "batch") {
    Info(g_->add_input(), name, shape, param);
  }
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
  static void Info(onnx::ValueInfoProto* vi, const std::string& name, const Shape& shape,
                   const std::string& param = "batch") {
    vi->set_name(name);
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    auto* sh = tt->mutable_shape();
    for (int64_t d : shape) {
      if (d < 0) sh->add_dim()->set_dim_param(param);
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

// A path's A/B switch: `b` loaded with the path allowed and with
// set_disabled(true) gives the same outputs on `in`; the disabled model
// never takes the path (counter unchanged) and the allowed one takes it
// `runs_on_avx512` times where oneDNN has AVX-512.
template <typename Disable, typename Counter>
void ExpectSwitchAgrees(const Builder& b, const TensorList& in, Disable set_disabled, Counter counter,
                        uint64_t runs_on_avx512) {
  const std::string bytes = b.Bytes();
  ByteSpan span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  auto on = Model::Load(span);
  ASSERT_TRUE(on.ok());
  set_disabled(true);
  auto off = Model::Load(span);
  set_disabled(false);
  ASSERT_TRUE(off.ok());
  const uint64_t before = counter();
  auto r_off = (*off)->Run(in);
  ASSERT_TRUE(r_off.ok());
  EXPECT_EQ(counter(), before);
  auto r_on = (*on)->Run(in);
  ASSERT_TRUE(r_on.ok());
  if (dnnl::get_effective_cpu_isa() >= dnnl::cpu_isa::avx512_core) {
    EXPECT_EQ(counter() - before, runs_on_avx512);
  }
  ASSERT_EQ(r_off->size(), r_on->size());
  for (size_t i = 0; i < r_off->size(); ++i) {
    EXPECT_EQ(testing::CompareTensors((*r_off)[i].tensor, (*r_on)[i].tensor, 1e-4, 1e-4), "") << i;
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
      // Negative implied end pad (last row/column never read): ResNet's
      // 1x1 stride-2 downsample, SqueezeNet's unpadded 3x3 stride 2.
      {2, 16, 14, 14, 32, 1, 2, 0, 1, 1}, {1, 3, 16, 16, 16, 3, 2, 0, 1, 1},
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

// 3x3 stride-1 convolutions that the Winograd rule admits (conv_winograd.h):
// odd and non-square maps, channel counts that are not whole blocks, pads 0
// and 1, batch > 1 (the batch-1 primitive runs once per image), outputs
// large enough for F(4x4) and small enough for F(2x2), BatchNorm folded,
// fused residual Add and ReLU. The first Conv reads the plain graph input,
// the second reads the first's blocked output.
TEST(FastConv, WinogradMatchesReference) {
  struct Case {
    int64_t n, c, h, w, m, pad;
  };
  const Case cases[] = {
      {3, 24, 13, 11, 40, 1}, {2, 16, 9, 17, 33, 1}, {1, 48, 34, 37, 32, 1},
      {2, 32, 12, 12, 36, 0}, {1, 64, 8, 8, 64, 1},
  };
  const bool avx512 = dnnl::get_effective_cpu_isa() >= dnnl::cpu_isa::avx512_core;
  for (const Case& cc : cases) {
    SCOPED_TRACE(cc.c * 1000 + cc.m);
    Builder b;
    const int64_t oh = cc.h + 2 * cc.pad - 2, ow = cc.w + 2 * cc.pad - 2;
    const int64_t oh2 = oh + 2 * cc.pad - 2, ow2 = ow + 2 * cc.pad - 2;
    b.Input("x", {cc.n, cc.c, cc.h, cc.w});
    b.Input("r", {cc.n, cc.m, oh2, ow2});
    b.Init("W", {cc.m, cc.c, 3, 3}, -0.5f, 0.5f);
    b.Init("B", {cc.m}, -0.5f, 0.5f);
    b.Init("W2", {cc.m, cc.m, 3, 3}, -0.2f, 0.2f);
    b.Init("s", {cc.m}, 0.5f, 1.5f);
    b.Init("bb", {cc.m}, -0.5f, 0.5f);
    b.Init("mean", {cc.m}, -0.5f, 0.5f);
    b.Init("var", {cc.m}, 0.5f, 2.0f);
    auto* c1 = b.Node("Conv", {"x", "W", "B"}, {"c"});
    Builder::Ints(c1, "pads", {cc.pad, cc.pad, cc.pad, cc.pad});
    b.Node("Relu", {"c"}, {"a"});
    auto* c2 = b.Node("Conv", {"a", "W2"}, {"c2"});
    Builder::Ints(c2, "pads", {cc.pad, cc.pad, cc.pad, cc.pad});
    b.Node("BatchNormalization", {"c2", "s", "bb", "mean", "var"}, {"bn"});
    b.Node("Add", {"bn", "r"}, {"sum"});
    b.Node("Relu", {"sum"}, {"y"});
    b.Output("y", {cc.n, cc.m, oh2, ow2});
    const uint64_t before = ops::WinogradExecutions();
    ExpectFastMatchesReference(b, {{"x", Random({cc.n, cc.c, cc.h, cc.w}, b.rng())},
                                   {"r", Random({cc.n, cc.m, oh2, ow2}, b.rng())}});
    // oneDNN has its Winograd kernels only with AVX-512; elsewhere the
    // direct convolution runs (and must match just the same).
    if (avx512 && cc.pad == 1) {
      EXPECT_EQ(ops::WinogradExecutions() - before, static_cast<uint64_t>(2 * cc.n));
    }
  }
}

// Dynamic batch: the Winograd primitive prepared at Load for batch 1 serves
// batch 3 image by image, and CITADEL_NO_WINOGRAD's switch gives the direct
// convolution the same result.
TEST(FastConv, WinogradDynamicBatchAndSwitch) {
  Builder b;
  b.Input("x", {-1, 32, 15, 15});
  b.Init("W", {48, 32, 3, 3}, -0.3f, 0.3f);
  b.Init("B", {48}, -0.3f, 0.3f);
  auto* c = b.Node("Conv", {"x", "W", "B"}, {"c"});
  Builder::Ints(c, "pads", {1, 1, 1, 1});
  b.Node("Relu", {"c"}, {"y"});
  b.Output("y", {-1, 48, 15, 15});
  for (int64_t n : {1, 3}) {
    ExpectFastMatchesReference(b, {{"x", Random({n, 32, 15, 15}, b.rng())}}, 1);
  }
  // Batch 2: the per-image primitive runs twice.
  ExpectSwitchAgrees(b, {{"x", Random({2, 32, 15, 15}, b.rng())}}, ops::SetWinogradDisabled,
                     ops::WinogradExecutions, 2);
}

// Direct kxk convolutions on NHWC (oneDNN's brgemm kernel, reordered from
// and to the plan's layout; conv.cc UseNhwcDirect): a ResNet-like
// downsampling block. A 1x1 Conv writes a blocked value; a 3x3 stride-2
// Conv (BatchNorm folded, ReLU) reads it; a second 3x3 stride-2 Conv adds a
// residual that is blocked (from another Conv) and ends in a plain graph
// output; a 5x5 stride-1 Conv (not Winograd's) also writes a graph output,
// and a 3x3 stride-2 Conv reads the plain graph input.
// Odd maps, channels that are not whole blocks, batch 1 and 3; then the
// same outputs with the switch off (blocked kernel), and the NHWC kernel
// taken on AVX-512 hosts only when allowed.
TEST(FastConv, NhwcDirectMatchesReferenceAndBlockedKernel) {
  struct Case {
    int64_t c, h, w, m;
  };
  const Case cases[] = {{24, 15, 13, 40}, {32, 28, 28, 32}, {48, 9, 10, 20}};
  const bool avx512 = dnnl::get_effective_cpu_isa() >= dnnl::cpu_isa::avx512_core;
  for (const Case& cc : cases) {
    SCOPED_TRACE(cc.c * 1000 + cc.m);
    Builder b;
    const int64_t h1 = (cc.h + 2 - 3) / 2 + 1, w1 = (cc.w + 2 - 3) / 2 + 1;
    const int64_t h2 = (h1 + 2 - 3) / 2 + 1, w2 = (w1 + 2 - 3) / 2 + 1;
    b.Input("x", {-1, cc.c, cc.h, cc.w});
    b.Init("W0", {cc.c, cc.c, 1, 1}, -0.4f, 0.4f);
    b.Init("W1", {cc.m, cc.c, 3, 3}, -0.2f, 0.2f);
    b.Init("s", {cc.m}, 0.5f, 1.5f);
    b.Init("bb", {cc.m}, -0.5f, 0.5f);
    b.Init("mean", {cc.m}, -0.5f, 0.5f);
    b.Init("var", {cc.m}, 0.5f, 2.0f);
    b.Init("W2", {cc.m, cc.m, 3, 3}, -0.2f, 0.2f);
    b.Init("B2", {cc.m}, -0.5f, 0.5f);
    b.Init("Wd", {cc.m, cc.c, 1, 1}, -0.4f, 0.4f);
    b.Init("W5", {cc.m, cc.c, 5, 5}, -0.1f, 0.1f);
    b.Node("Conv", {"x", "W0"}, {"a0"});
    b.Node("Relu", {"a0"}, {"a"});
    auto* c1 = b.Node("Conv", {"a", "W1"}, {"c1"});
    Builder::Ints(c1, "pads", {1, 1, 1, 1});
    Builder::Ints(c1, "strides", {2, 2});
    b.Node("BatchNormalization", {"c1", "s", "bb", "mean", "var"}, {"bn"});
    b.Node("Relu", {"bn"}, {"r1"});
    auto* c2 = b.Node("Conv", {"r1", "W2", "B2"}, {"c2"});
    Builder::Ints(c2, "pads", {1, 1, 1, 1});
    Builder::Ints(c2, "strides", {2, 2});
    auto* d = b.Node("Conv", {"a", "Wd"}, {"down"});
    Builder::Ints(d, "strides", {4, 4});
    b.Node("Add", {"c2", "down"}, {"sum"});
    b.Node("Relu", {"sum"}, {"y"});
    auto* c5 = b.Node("Conv", {"a", "W5"}, {"y5"});
    Builder::Ints(c5, "pads", {2, 2, 2, 2});
    auto* cx = b.Node("Conv", {"x", "W1"}, {"yx"});
    Builder::Ints(cx, "pads", {1, 1, 1, 1});
    Builder::Ints(cx, "strides", {2, 2});
    b.Output("y", {-1, cc.m, h2, w2});
    b.Output("y5", {-1, cc.m, cc.h, cc.w});
    b.Output("yx", {-1, cc.m, h1, w1});
    for (int64_t n : {1, 3}) {
      SCOPED_TRACE(n);
      const uint64_t before = ops::NhwcDirectExecutions();
      ExpectFastMatchesReference(b, {{"x", Random({n, cc.c, cc.h, cc.w}, b.rng())}}, 1);
      // Four kxk Convs per Run (the reference model runs none of them).
      if (avx512) {
        EXPECT_GE(ops::NhwcDirectExecutions() - before, 4u);
      }
    }
    // One execution per Conv and Run (the whole batch at once).
    ExpectSwitchAgrees(b, {{"x", Random({2, cc.c, cc.h, cc.w}, b.rng())}}, ops::SetNhwcDirectDisabled,
                       ops::NhwcDirectExecutions, 4);
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

// Loads `b` with the fast paths and returns Describe() (which reports how
// many values the plan keeps channel-blocked).
std::string FastDescription(const Builder& b) {
  const std::string bytes = b.Bytes();
  auto m = Model::Load(ByteSpan(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return m.ok() ? (*m)->Describe() : "";
}

// A SqueezeNet-like chain kept in the blocked layout: Conv -> Concat of two
// Convs -> MaxPool (ceil_mode) -> Conv with a channel count that is not a
// whole block -> AveragePool (pads, exclude pad) -> Conv -> global pools.
TEST(BlockedLayout, ConvConcatPoolChainMatchesReference) {
  Builder b;
  b.Input("x", {-1, 16, 15, 13});
  b.Init("W1", {16, 16, 1, 1}, -0.4f, 0.4f);
  b.Init("Wa", {32, 16, 1, 1}, -0.4f, 0.4f);
  b.Init("Wb", {32, 16, 3, 3}, -0.2f, 0.2f);
  b.Init("W2", {24, 64, 3, 3}, -0.1f, 0.1f);
  b.Init("W3", {32, 24, 1, 1}, -0.3f, 0.3f);
  b.Node("Conv", {"x", "W1"}, {"s"});
  b.Node("Relu", {"s"}, {"sr"});
  b.Node("Conv", {"sr", "Wa"}, {"ea"});
  auto* cb = b.Node("Conv", {"sr", "Wb"}, {"eb"});
  Builder::Ints(cb, "pads", {1, 1, 1, 1});
  Builder::Int(b.Node("Concat", {"ea", "eb"}, {"cat"}), "axis", 1);
  auto* mp = b.Node("MaxPool", {"cat"}, {"mp"});
  Builder::Ints(mp, "kernel_shape", {3, 3});
  Builder::Ints(mp, "strides", {2, 2});
  Builder::Int(mp, "ceil_mode", 1);
  auto* c2 = b.Node("Conv", {"mp", "W2"}, {"c2"});
  Builder::Ints(c2, "pads", {1, 1, 1, 1});
  auto* ap = b.Node("AveragePool", {"c2"}, {"ap"});
  Builder::Ints(ap, "kernel_shape", {3, 3});
  Builder::Ints(ap, "pads", {1, 1, 1, 1});
  b.Node("Conv", {"ap", "W3"}, {"c3"});
  b.Node("GlobalAveragePool", {"c3"}, {"gap"});
  b.Node("GlobalMaxPool", {"c3"}, {"gmp"});
  b.Output("gap", {-1, 32, 1, 1});
  b.Output("gmp", {-1, 32, 1, 1});
  EXPECT_NE(FastDescription(b).find("in blocked layout"), std::string::npos) << FastDescription(b);
  for (int64_t n : {1, 3}) {
    ExpectFastMatchesReference(b, {{"x", Random({n, 16, 15, 13}, b.rng())}});
  }
}

// Residual Add fused into a Conv whose added input is blocked and has a
// partial last block (24 channels); AveragePool with count_include_pad and
// ceil_mode (the window overhang is not counted, so this one falls back to
// the reference on a plain copy and back); a blocked-capable value that is
// also read by an op without blocked support stays plain.
TEST(BlockedLayout, ResidualPartialBlockAndFallbacksMatchReference) {
  Builder b;
  b.Input("x", {2, 16, 11, 11});
  b.Init("Wa", {24, 16, 3, 3}, -0.2f, 0.2f);
  b.Init("Wb", {24, 24, 3, 3}, -0.2f, 0.2f);
  b.Init("Wc", {16, 24, 1, 1}, -0.3f, 0.3f);
  b.Init("Wd", {16, 16, 1, 1}, -0.3f, 0.3f);
  auto* ca = b.Node("Conv", {"x", "Wa"}, {"a"});
  Builder::Ints(ca, "pads", {1, 1, 1, 1});
  auto* cb = b.Node("Conv", {"a", "Wb"}, {"bc"});
  Builder::Ints(cb, "pads", {1, 1, 1, 1});
  b.Node("Add", {"bc", "a"}, {"res"});
  b.Node("Relu", {"res"}, {"r"});
  auto* ap = b.Node("AveragePool", {"r"}, {"ap"});
  Builder::Ints(ap, "kernel_shape", {2, 2});
  Builder::Ints(ap, "strides", {2, 2});
  Builder::Int(ap, "ceil_mode", 1);
  Builder::Int(ap, "count_include_pad", 1);
  b.Node("Conv", {"ap", "Wc"}, {"c"});
  b.Node("Sigmoid", {"c"}, {"sig"});  // `c` is read by Sigmoid too: stays plain
  b.Node("Conv", {"c", "Wd"}, {"d"});
  b.Node("Add", {"d", "sig"}, {"y"});
  b.Output("y", {2, 16, 6, 6});
  ExpectFastMatchesReference(b, {{"x", Random({2, 16, 11, 11}, b.rng())}}, 1);
}

// A fused residual whose value dies at the Conv is written over in place
// (no copy into a fresh output); one that a later node still reads, that is
// a graph output or that is the Conv's own input as well must survive
// unchanged. Each variant is checked against the reference, and the
// in-place executions are counted. The residual conv's output feeds another
// Conv, so it is blocked like its residual (as in ResNet's blocks).
TEST(FastConv, InPlaceResidualOnlyWhenTheResidualDies) {
  struct Variant {
    const char* name;
    bool read_later, graph_output, same_as_input;
    uint64_t in_place;  // expected in-place executions per Run
  };
  const Variant variants[] = {
      {"dies at the conv", false, false, false, 1},
      // The first residual conv must copy; the second, its last reader, may not.
      {"read by a later residual conv", true, false, false, 1},
      {"graph output", false, true, false, 0},
      {"also the conv input", false, false, true, 0},
  };
  for (const Variant& v : variants) {
    SCOPED_TRACE(v.name);
    Builder b;
    b.Input("x", {2, 16, 10, 10});
    b.Init("Wa", {32, 16, 1, 1}, -0.3f, 0.3f);
    b.Init("Wb", {32, v.same_as_input ? 32 : 16, 3, 3}, -0.2f, 0.2f);
    b.Init("Bb", {32}, -0.5f, 0.5f);
    b.Init("Wc", {32, 32, 1, 1}, -0.3f, 0.3f);
    b.Node("Conv", {"x", "Wa"}, {"a"});
    auto* cb = b.Node("Conv", {v.same_as_input ? "a" : "x", "Wb", "Bb"}, {"c"});
    Builder::Ints(cb, "pads", {1, 1, 1, 1});
    b.Node("Add", {"c", "a"}, {"s"});
    b.Node("Relu", {"s"}, {"y"});
    b.Node("Conv", {"y", "Wc"}, {"d"});
    if (v.read_later) {
      b.Node("Add", {"d", "a"}, {"o"});
      b.Node("Relu", {"o"}, {"p"});
      b.Node("Conv", {"p", "Wc"}, {"out"});
    } else {
      b.Node("Relu", {"d"}, {"out"});
    }
    b.Output("out", {2, 32, 10, 10});
    if (v.graph_output) b.Output("a", {2, 32, 10, 10});
    const uint64_t before = ops::InPlaceResidualConvs();
    ExpectFastMatchesReference(b, {{"x", Random({2, 16, 10, 10}, b.rng())}});
    EXPECT_EQ(ops::InPlaceResidualConvs() - before, v.in_place);
  }
}

// The float broadcast fast paths (bias, per-channel scale, scalar, the
// broadcast side on either input) against the generic broadcast loop;
// shapes outside those patterns take the generic loop in both models.
// EfficientNet's squeeze-excitation: the activation stays blocked through
// GlobalAveragePool's reader and the per-channel Mul (scale on either side),
// with a partial last block and dynamic batch.
TEST(BlockedLayout, SqueezeExcitationMulMatchesReference) {
  Builder b;
  b.Input("x", {-1, 16, 9, 10});
  b.Init("W1", {24, 16, 3, 3}, -0.2f, 0.2f);
  b.Init("Wd", {24, 1, 3, 3}, -0.3f, 0.3f);
  b.Init("Ws", {8, 24, 1, 1}, -0.3f, 0.3f);
  b.Init("We", {24, 8, 1, 1}, -0.3f, 0.3f);
  b.Init("Wp", {16, 24, 1, 1}, -0.3f, 0.3f);
  b.Init("Wq", {24, 24, 1, 1}, -0.3f, 0.3f);
  auto* c1 = b.Node("Conv", {"x", "W1"}, {"a"});
  Builder::Ints(c1, "pads", {1, 1, 1, 1});
  auto* dw = b.Node("Conv", {"a", "Wd"}, {"d"});
  Builder::Int(dw, "group", 24);
  Builder::Ints(dw, "pads", {1, 1, 1, 1});
  b.Node("GlobalAveragePool", {"d"}, {"g"});
  b.Node("Conv", {"g", "Ws"}, {"sq"});
  b.Node("Relu", {"sq"}, {"sqr"});
  b.Node("Conv", {"sqr", "We"}, {"ex"});
  b.Node("Sigmoid", {"ex"}, {"se"});
  b.Node("Mul", {"d", "se"}, {"m"});
  b.Node("Conv", {"m", "Wq"}, {"q"});
  b.Node("Mul", {"se", "q"}, {"m2"});
  b.Node("Conv", {"m2", "Wp"}, {"y"});
  b.Output("y", {-1, 16, 9, 10});
  EXPECT_NE(FastDescription(b).find("in blocked layout"), std::string::npos);
  for (int64_t n : {1, 2}) {
    ExpectFastMatchesReference(b, {{"x", Random({n, 16, 9, 10}, b.rng())}});
  }
}

// Squeeze-excitation 1x1 Convs on the pooled 1x1 map run as dot products
// (conv.cc PointwiseVector): EfficientNet's pattern with SiLU and Sigmoid
// fused, 40 -> 20 -> 40 channels so the squeezed value is blocked (20 >= a
// block's 16 on AVX-512, 8 on AVX2) and the pooled input plain, with and
// without bias, batch 1 and 3; a padded 1x1 Conv on a 1x1 map (output
// 3x3) keeps oneDNN. Each Run takes the path twice.
TEST(FastConv, SqueezeExcitationDotProductsMatchReference) {
  Builder b;
  b.Input("x", {-1, 40, 7, 9});
  b.Init("W1", {40, 40, 3, 3}, -0.1f, 0.1f);
  b.Init("Ws", {20, 40, 1, 1}, -0.3f, 0.3f);
  b.Init("Bs", {20}, -0.3f, 0.3f);
  b.Init("We", {40, 20, 1, 1}, -0.3f, 0.3f);
  b.Init("Wp", {24, 40, 1, 1}, -0.3f, 0.3f);
  auto* c1 = b.Node("Conv", {"x", "W1"}, {"a"});
  Builder::Ints(c1, "pads", {1, 1, 1, 1});
  b.Node("GlobalAveragePool", {"a"}, {"g"});
  b.Node("Conv", {"g", "Ws", "Bs"}, {"sq"});
  b.Node("Sigmoid", {"sq"}, {"sqs"});
  b.Node("Mul", {"sq", "sqs"}, {"sqr"});  // SiLU
  b.Node("Conv", {"sqr", "We"}, {"ex"});
  b.Node("Sigmoid", {"ex"}, {"se"});
  b.Node("Mul", {"a", "se"}, {"m"});
  b.Node("Conv", {"m", "Wp"}, {"y"});
  auto* padded = b.Node("Conv", {"g", "Wp"}, {"yp"});
  Builder::Ints(padded, "pads", {1, 1, 1, 1});
  b.Output("y", {-1, 24, 7, 9});
  b.Output("yp", {-1, 24, 3, 3});
  for (int64_t n : {1, 3}) {
    SCOPED_TRACE(n);
    const uint64_t before = ops::PointwiseVectorConvs();
    ExpectFastMatchesReference(b, {{"x", Random({n, 40, 7, 9}, b.rng())}});
    EXPECT_EQ(ops::PointwiseVectorConvs() - before, 2u);
  }
}

// MobileNetV2's / EfficientNet's expand + depthwise pair: a 1x1 Conv
// (+ BatchNorm, ReLU6 or SiLU) read only by a depthwise 3x3 Conv (stride 1
// or 2, + activation) on a map of at least 56x56 becomes one ai.citadel
// ConvDw (oneDNN append_dw). Partial last channel block (40 channels), odd
// sizes with stride 2, dynamic batch, 1 and 2 threads; then the unfused
// fallbacks: the pair's output is a graph output (plain) and an input with
// fewer channels than a block (plain input).
TEST(FastConvDw, ExpandDepthwisePairMatchesReference) {
  struct Case {
    int64_t c, m, h, w, stride;
    bool swish, dw_is_output;
  };
  for (const Case& k : {Case{16, 48, 56, 56, 1, false, false}, Case{24, 40, 57, 59, 2, true, false},
                        Case{16, 32, 56, 58, 2, false, true}, Case{8, 48, 56, 56, 1, true, false}}) {
    SCOPED_TRACE(std::to_string(k.c) + "->" + std::to_string(k.m) + " stride " + std::to_string(k.stride));
    Builder b;
    const int64_t oh = (k.h - 1) / k.stride + 1, ow = (k.w - 1) / k.stride + 1;
    b.Input("x", {-1, k.c, k.h, k.w});
    b.Init("W0", {k.c, k.c, 1, 1}, -0.4f, 0.4f);
    b.Init("W1", {k.m, k.c, 1, 1}, -0.4f, 0.4f);
    b.Init("B1", {k.m}, -0.2f, 0.2f);
    b.Init("g", {k.m}, 0.5f, 1.5f);
    b.Init("be", {k.m}, -0.5f, 0.5f);
    b.Init("mu", {k.m}, -0.2f, 0.2f);
    b.Init("var", {k.m}, 0.5f, 1.5f);
    b.Init("Wd", {k.m, 1, 3, 3}, -0.4f, 0.4f);
    b.Init("Bd", {k.m}, -0.2f, 0.2f);
    b.Init("W3", {16, k.m, 1, 1}, -0.3f, 0.3f);
    b.Init("lo", {}, 0.f, 0.f);
    b.Init("hi", {}, 6.f, 6.f);
    b.Node("Conv", {"x", "W0"}, {"x0"});  // graph inputs are plain; its output can be blocked
    b.Node("Conv", {"x0", "W1", "B1"}, {"e"});
    b.Node("BatchNormalization", {"e", "g", "be", "mu", "var"}, {"en"});
    if (k.swish) {
      b.Node("Sigmoid", {"en"}, {"es"});
      b.Node("Mul", {"en", "es"}, {"ea"});
    } else {
      b.Node("Clip", {"en", "lo", "hi"}, {"ea"});
    }
    auto* dw = b.Node("Conv", {"ea", "Wd", "Bd"}, {"d"});
    Builder::Int(dw, "group", k.m);
    Builder::Ints(dw, "kernel_shape", {3, 3});
    Builder::Ints(dw, "pads", {1, 1, 1, 1});
    Builder::Ints(dw, "strides", {k.stride, k.stride});
    if (k.swish) {
      b.Node("Sigmoid", {"d"}, {"ds"});
      b.Node("Mul", {"ds", "d"}, {"da"});
    } else {
      b.Node("Clip", {"d", "lo", "hi"}, {"da"});
    }
    if (k.dw_is_output) {
      b.Output("da", {-1, k.m, oh, ow});
    } else {
      b.Node("Conv", {"da", "W3"}, {"y"});
      b.Output("y", {-1, 16, oh, ow});
    }
    EXPECT_NE(FastDescription(b).find("ConvDw x1"), std::string::npos) << FastDescription(b);
    for (int64_t n : {1, 2}) {
      for (int threads : {1, 2}) {
        ExpectFastMatchesReference(b, {{"x", Random({n, k.c, k.h, k.w}, b.rng())}}, threads);
      }
    }
  }
}

TEST(FastBinary, BroadcastPatternsMatchReference) {
  struct Case {
    const char* op;
    Shape a, b, y;
  };
  const Case cases[] = {
      {"Add", {2, 3, 5, 7}, {7}, {2, 3, 5, 7}},              // bias
      {"Add", {1, 9, 33}, {3, 9, 33}, {3, 9, 33}},           // position embedding, on the left
      {"Mul", {2, 6, 4, 4}, {2, 6, 1, 1}, {2, 6, 4, 4}},     // squeeze-excitation scale
      {"Sub", {1, 6, 1, 1}, {3, 6, 4, 5}, {3, 6, 4, 5}},     // per-channel, on the left
      {"Div", {3, 6, 4, 5}, {6, 1, 1}, {3, 6, 4, 5}},        // middle run
      {"Div", {}, {4, 70, 300}, {4, 70, 300}},               // scalar over a large (parallel) output
      {"Mul", {2, 1, 5, 1}, {2, 3, 5, 4}, {2, 3, 5, 4}},     // two runs: generic loop
      {"Sub", {64, 40, 30}, {64, 40, 30}, {64, 40, 30}},     // same shape
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.op) + ShapeToString(c.a) + ShapeToString(c.b));
    Builder b;
    b.Input("a", c.a);
    b.Input("b", c.b);
    b.Node(c.op, {"a", "b"}, {"y"});
    b.Output("y", c.y);
    Tensor ta = Random(c.a, b.rng()), tb = Random(c.b, b.rng());
    if (std::string(c.op) == "Div") {  // keep divisors away from zero
      for (size_t i = 0; i < tb.num_elements(); ++i) tb.data<float>()[i] += 3.f;
    }
    ExpectFastMatchesReference(b, {{"a", ta}, {"b", tb}});
  }
}

// A BERT-like block as torch exports it at opset 14: LayerNorm and GELU
// decomposed into elementwise ops, attention with a batched MatMul over
// heads and a Softmax. The optimiser must fuse LayerNorm and GELU, and
// the fused model must match the unfused reference model.
TEST(FastTransformer, FusedLayerNormGeluAttentionMatchReference) {
  Builder b;
  const int64_t S = 7, D = 24, F = 40, H = 3;
  b.Input("x", {-1, S, D});
  b.Input("q", {-1, H, S, D / H});
  b.Input("k", {-1, H, D / H, S});
  b.Init("two", {}, 2.f, 2.f);
  b.Init("eps", {}, 1e-5f, 1e-5f);
  b.Init("gamma", {D}, 0.5f, 1.5f);
  b.Init("beta", {D}, -0.5f, 0.5f);
  b.Init("W1", {D, F}, -0.3f, 0.3f);
  b.Init("b1", {F}, -0.3f, 0.3f);
  b.Init("sqrt2", {}, 1.4142135f, 1.4142135f);
  b.Init("one", {}, 1.f, 1.f);
  b.Init("half", {}, 0.5f, 0.5f);
  b.Init("scale", {}, 0.25f, 0.25f);
  Builder::Ints(b.Node("ReduceMean", {"x"}, {"mean"}), "axes", {-1});
  b.Node("Sub", {"x", "mean"}, {"d"});
  b.Node("Pow", {"d", "two"}, {"d2"});
  Builder::Ints(b.Node("ReduceMean", {"d2"}, {"var"}), "axes", {-1});
  b.Node("Add", {"var", "eps"}, {"ve"});
  b.Node("Sqrt", {"ve"}, {"sd"});
  b.Node("Div", {"d", "sd"}, {"n"});
  b.Node("Mul", {"n", "gamma"}, {"ng"});
  b.Node("Add", {"ng", "beta"}, {"ln"});
  b.Node("MatMul", {"ln", "W1"}, {"h"});
  b.Node("Add", {"b1", "h"}, {"hb"});
  b.Node("Div", {"hb", "sqrt2"}, {"hs"});
  b.Node("Erf", {"hs"}, {"he"});
  b.Node("Add", {"he", "one"}, {"h1"});
  b.Node("Mul", {"hb", "h1"}, {"hm"});
  b.Node("Mul", {"hm", "half"}, {"gelu"});
  b.Node("MatMul", {"q", "k"}, {"qk"});
  b.Node("Mul", {"qk", "scale"}, {"qks"});
  Builder::Int(b.Node("Softmax", {"qks"}, {"att"}), "axis", -1);
  b.Output("gelu", {-1, S, F});
  b.Output("att", {-1, H, S, S});
  const std::string desc = FastDescription(b);
  EXPECT_NE(desc.find("LayerNorm x1"), std::string::npos) << desc;
  // MatMul + bias + GELU, and the scores MatMul + scale.
  EXPECT_NE(desc.find("FusedMatMul x2"), std::string::npos) << desc;
  EXPECT_EQ(desc.find("Erf"), std::string::npos) << desc;
  EXPECT_EQ(desc.find("Gelu"), std::string::npos) << desc;
  for (int64_t n : {1, 3}) {
    ExpectFastMatchesReference(b, {{"x", Random({n, S, D}, b.rng())},
                                   {"q", Random({n, H, S, D / H}, b.rng())},
                                   {"k", Random({n, H, D / H, S}, b.rng())}});
  }
}

// MatMul epilogues as transformer exports write them: scale (Div), bias
// Add on either side, residual Add, bias + decomposed GELU. The residual's
// batch has its own symbolic dim, so at run time it may equal the product's
// shape (fused prefill), broadcast to it, or broadcast the product (the
// kernel's fallback), and each must match the unfused reference.
TEST(FastTransformer, FusedMatMulEpiloguesMatchReference) {
  Builder b;
  const int64_t S = 5, D = 24, N = 40;
  b.Input("x", {-1, S, D});
  b.Input("r", {-1, S, N}, "rbatch");
  b.Init("W1", {D, N}, -0.3f, 0.3f);
  b.Init("b1", {N}, -0.3f, 0.3f);
  b.Init("W2", {D, N}, -0.3f, 0.3f);
  b.Init("b2", {N}, -0.3f, 0.3f);
  b.Init("three", {}, 3.f, 3.f);
  b.Init("sqrt2", {}, 1.4142135f, 1.4142135f);
  b.Init("one", {}, 1.f, 1.f);
  b.Init("half", {}, 0.5f, 0.5f);
  b.Node("MatMul", {"x", "W1"}, {"p"});
  b.Node("Div", {"p", "three"}, {"ps"});
  b.Node("Add", {"ps", "b1"}, {"pb"});
  b.Node("Add", {"r", "pb"}, {"y1"});
  b.Node("MatMul", {"x", "W2"}, {"h"});
  b.Node("Add", {"b2", "h"}, {"hb"});
  b.Node("Div", {"hb", "sqrt2"}, {"hs"});
  b.Node("Erf", {"hs"}, {"he"});
  b.Node("Add", {"he", "one"}, {"h1"});
  b.Node("Mul", {"hb", "h1"}, {"hm"});
  b.Node("Mul", {"hm", "half"}, {"y2"});
  b.Output("y1", {-1, S, N});
  b.Output("y2", {-1, S, N});
  const std::string desc = FastDescription(b);
  EXPECT_NE(desc.find("FusedMatMul x2"), std::string::npos) << desc;
  EXPECT_EQ(desc.find("Add x"), std::string::npos) << desc;
  EXPECT_EQ(desc.find("(MatMul x"), std::string::npos) << desc;
  EXPECT_EQ(desc.find(", MatMul x"), std::string::npos) << desc;
  for (auto [n, rn] : {std::pair<int64_t, int64_t>{1, 1}, {3, 3}, {3, 1}, {1, 3}}) {
    ExpectFastMatchesReference(b, {{"x", Random({n, S, D}, b.rng())},
                                   {"r", Random({rn, S, N}, b.rng())}});
    ExpectFastMatchesReference(b, {{"x", Random({n, S, D}, b.rng())},
                                   {"r", Random({rn, S, N}, b.rng())}}, 1);
  }
}

// Row-wise Transpose (contiguous rows, strided rows, large enough to run
// in parallel) against the element-at-a-time reference.
TEST(FastTranspose, PermutationsMatchReference) {
  const std::vector<std::vector<int64_t>> perms = {{0, 2, 1, 3}, {0, 2, 3, 1}, {3, 1, 0, 2}, {1, 0}};
  for (const auto& perm : perms) {
    SCOPED_TRACE(ShapeToString(perm));
    const Shape in = perm.size() == 2 ? Shape{300, 170} : Shape{2, 33, 12, 17};
    Shape out(in.size());
    for (size_t i = 0; i < in.size(); ++i) out[i] = in[perm[i]];
    Builder b;
    b.Input("x", in);
    Builder::Ints(b.Node("Transpose", {"x"}, {"y"}), "perm", perm);
    b.Output("y", out);
    ExpectFastMatchesReference(b, {{"x", Random(in, b.rng())}});
  }
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
