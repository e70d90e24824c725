// If, Loop and Scan (src/engine/ops/if.cc, loop.cc, scan.cc) and the
// subgraph machinery under them (graph.cc captures, subgraph.cc): outer
// scope references (also two levels up), loop-carried values, scan outputs,
// early exit, zero iterations, Scan axes and directions, Scan-8 batches
// with sequence_lens, and load-time errors for what is inside a subgraph.
// Expected values are computed here by plain loops.
#include <gtest/gtest.h>

#include "test_util.h"

namespace citadel::engine::testing {
namespace {

onnx::NodeProto* AddGraphNode(onnx::GraphProto* g, const std::string& op,
                              const std::vector<std::string>& ins,
                              const std::vector<std::string>& outs, const std::string& name = "") {
  auto* n = g->add_node();
  n->set_op_type(op);
  n->set_name(name);
  for (const auto& i : ins) n->add_input(i);
  for (const auto& o : outs) n->add_output(o);
  return n;
}

onnx::GraphProto* AddGraphAttr(onnx::NodeProto* n, const std::string& name) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::GRAPH);
  a->mutable_g()->set_name(name);
  return a->mutable_g();
}

void AddIntAttr(onnx::NodeProto* n, const std::string& name, int64_t v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}

void AddIntsAttr(onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}

void AddInitializer(onnx::GraphProto* g, const std::string& name, const std::vector<float>& v,
                    const std::vector<int64_t>& dims) {
  auto* t = g->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims) t->add_dims(d);
  for (float f : v) t->add_float_data(f);
}

Tensor Bool(bool b) { return Tensor::FromVector<uint8_t>(DType::kBool, {}, {b}).value(); }
Tensor I64(int64_t v) { return Tensor::FromVector<int64_t>(DType::kInt64, {}, {v}).value(); }

std::vector<float> Floats(const Tensor& t) {
  return std::vector<float>(t.data<float>(), t.data<float>() + t.num_elements());
}

// If whose branches read the outer input x and an outer initializer k.
onnx::ModelProto IfModel() {
  onnx::ModelProto m = MakeModel({{"cond", onnx::TensorProto::BOOL, {}}, {"x", onnx::TensorProto::FLOAT, {3}}},
                                 {{"y", onnx::TensorProto::FLOAT, {3}}}, 16);
  AddInitializer(m.mutable_graph(), "k", {10, 20, 30}, {3});
  auto* n = AddNode(&m, "If", {"cond"}, {"y"}, "if");
  auto* then_g = AddGraphAttr(n, "then_branch");
  AddGraphNode(then_g, "Add", {"x", "k"}, {"t"});
  SetValueInfo(then_g->add_output(), {"t", onnx::TensorProto::FLOAT, {3}});
  auto* else_g = AddGraphAttr(n, "else_branch");
  AddGraphNode(else_g, "Mul", {"x", "x"}, {"e"});
  SetValueInfo(else_g->add_output(), {"e", onnx::TensorProto::FLOAT, {3}});
  return m;
}

TEST(If, RunsTheChosenBranchWithOuterValues) {
  auto model = Model::Load(Serialize(IfModel()));
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  const Tensor x = FloatTensor({3}, {1, 2, 3});
  auto yes = (*model)->Run({{"cond", Bool(true)}, {"x", x}});
  ASSERT_TRUE(yes.ok()) << yes.status().ToString();
  EXPECT_EQ(Floats((*yes)[0].tensor), (std::vector<float>{11, 22, 33}));
  auto no = (*model)->Run({{"cond", Bool(false)}, {"x", x}});
  ASSERT_TRUE(no.ok()) << no.status().ToString();
  EXPECT_EQ(Floats((*no)[0].tensor), (std::vector<float>{1, 4, 9}));
}

TEST(If, BranchOutputOfAConstantIsACopy) {
  onnx::ModelProto m = MakeModel({{"cond", onnx::TensorProto::BOOL, {}}},
                                 {{"y", onnx::TensorProto::FLOAT, {2}}}, 13);
  auto* n = AddNode(&m, "If", {"cond"}, {"y"}, "if");
  auto* then_g = AddGraphAttr(n, "then_branch");
  AddInitializer(then_g, "a", {1, 2}, {2});
  SetValueInfo(then_g->add_output(), {"a", onnx::TensorProto::FLOAT, {2}});
  auto* else_g = AddGraphAttr(n, "else_branch");
  AddInitializer(else_g, "b", {3, 4}, {2});
  SetValueInfo(else_g->add_output(), {"b", onnx::TensorProto::FLOAT, {2}});
  auto model = Model::Load(Serialize(m));
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  auto out = (*model)->Run({{"cond", Bool(true)}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  (*out)[0].tensor.data<float>()[0] = 99;  // must not change the model
  auto again = (*model)->Run({{"cond", Bool(true)}});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(Floats((*again)[0].tensor), (std::vector<float>{1, 2}));
}

TEST(If, UnsupportedOpInABranchFailsAtLoadWithItsName) {
  onnx::ModelProto m = IfModel();
  auto* else_g = m.mutable_graph()->mutable_node(0)->mutable_attribute(1)->mutable_g();
  else_g->mutable_node(0)->set_op_type("NoSuchOp");
  else_g->mutable_node(0)->set_name("inner");
  auto model = Model::Load(Serialize(m));
  ASSERT_FALSE(model.ok());
  const std::string msg = model.status().ToString();
  EXPECT_NE(msg.find("NoSuchOp"), std::string::npos) << msg;
  EXPECT_NE(msg.find("ai.onnx"), std::string::npos) << msg;
  EXPECT_NE(msg.find("opset 16"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'inner'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'if'"), std::string::npos) << msg;
}

TEST(If, UndefinedNameInABranchIsRejected) {
  onnx::ModelProto m = IfModel();
  auto* then_g = m.mutable_graph()->mutable_node(0)->mutable_attribute(0)->mutable_g();
  then_g->mutable_node(0)->set_input(1, "nowhere");
  auto model = Model::Load(Serialize(m));
  ASSERT_FALSE(model.ok());
  EXPECT_NE(model.status().ToString().find("nowhere"), std::string::npos);
}

// Loop: carried s += x * i for i < M while the body's cond (i < stop)
// holds; scan output is s after each iteration. An If inside the body reads
// the outer x (two scopes up) to pick what it adds.
onnx::ModelProto LoopModel() {
  onnx::ModelProto m = MakeModel({{"M", onnx::TensorProto::INT64, {}},
                                  {"stop", onnx::TensorProto::INT64, {}},
                                  {"x", onnx::TensorProto::FLOAT, {2}},
                                  {"s0", onnx::TensorProto::FLOAT, {2}}},
                                 {{"s", onnx::TensorProto::FLOAT, {2}},
                                  {"trace", onnx::TensorProto::FLOAT, {-1, 2}}}, 13);
  AddNode(&m, "Constant", {}, {"true"})->add_attribute()->CopyFrom([] {
    onnx::AttributeProto a;
    a.set_name("value");
    a.set_type(onnx::AttributeProto::TENSOR);
    a.mutable_t()->set_data_type(onnx::TensorProto::BOOL);
    a.mutable_t()->add_int32_data(1);
    return a;
  }());
  auto* n = AddNode(&m, "Loop", {"M", "true", "s0"}, {"s", "trace"}, "loop");
  auto* body = AddGraphAttr(n, "body");
  SetValueInfo(body->add_input(), {"i", onnx::TensorProto::INT64, {}});
  SetValueInfo(body->add_input(), {"c", onnx::TensorProto::BOOL, {}});
  SetValueInfo(body->add_input(), {"acc", onnx::TensorProto::FLOAT, {2}});
  AddGraphNode(body, "Cast", {"i"}, {"fi"})->add_attribute()->CopyFrom([] {
    onnx::AttributeProto a;
    a.set_name("to");
    a.set_type(onnx::AttributeProto::INT);
    a.set_i(onnx::TensorProto::FLOAT);
    return a;
  }());
  AddGraphNode(body, "Greater", {"fi", "fi"}, {"never"});  // false: picks else
  auto* inner = AddGraphNode(body, "If", {"never"}, {"term"}, "inner_if");
  auto* t = AddGraphAttr(inner, "then_branch");
  AddGraphNode(t, "Identity", {"acc"}, {"tt"});
  SetValueInfo(t->add_output(), {"tt", onnx::TensorProto::FLOAT, {2}});
  auto* e = AddGraphAttr(inner, "else_branch");
  AddGraphNode(e, "Mul", {"x", "fi"}, {"ee"});  // x: two scopes up; fi: one up
  SetValueInfo(e->add_output(), {"ee", onnx::TensorProto::FLOAT, {2}});
  AddGraphNode(body, "Add", {"acc", "term"}, {"acc_out"});
  AddGraphNode(body, "Identity", {"acc_out"}, {"scan_out"});
  AddGraphNode(body, "Add", {"i", "one"}, {"next"});
  AddGraphNode(body, "Less", {"next", "stop"}, {"c_out"});
  auto* one = body->add_initializer();
  one->set_name("one");
  one->set_data_type(onnx::TensorProto::INT64);
  one->add_int64_data(1);
  SetValueInfo(body->add_output(), {"c_out", onnx::TensorProto::BOOL, {}});
  SetValueInfo(body->add_output(), {"acc_out", onnx::TensorProto::FLOAT, {2}});
  SetValueInfo(body->add_output(), {"scan_out", onnx::TensorProto::FLOAT, {2}});
  return m;
}

void ExpectLoop(const Model& model, int64_t M, int64_t stop) {
  const std::vector<float> x = {1, -2}, s0 = {0.5f, 0.25f};
  auto out = model.Run({{"M", I64(M)}, {"stop", I64(stop)}, {"x", FloatTensor({2}, x)},
                        {"s0", FloatTensor({2}, s0)}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  std::vector<float> s = s0, trace;
  int64_t iters = 0;
  for (int64_t i = 0; i < M; ++i) {
    for (int k = 0; k < 2; ++k) s[k] += x[k] * static_cast<float>(i);
    trace.insert(trace.end(), s.begin(), s.end());
    ++iters;
    if (!(i + 1 < stop)) break;
  }
  EXPECT_EQ(Floats((*out)[0].tensor), s) << "M=" << M << " stop=" << stop;
  EXPECT_EQ((*out)[1].tensor.shape(), (Shape{iters, 2}));
  EXPECT_EQ(Floats((*out)[1].tensor), trace);
}

TEST(Loop, CarriedValuesScanOutputsAndEarlyExit) {
  auto model = Model::Load(Serialize(LoopModel()));
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  ExpectLoop(**model, 5, 100);  // runs M times
  ExpectLoop(**model, 5, 3);    // the body's cond stops it after 3
  ExpectLoop(**model, 0, 100);  // no iteration: initial values, empty scan output
}

// Scan (opset 9+): running sum over a scan input along axis 1, read in
// reverse; the scan output is stacked along axis 1 and prepended.
TEST(Scan, AxesAndDirections) {
  onnx::ModelProto m = MakeModel({{"init", onnx::TensorProto::FLOAT, {2}},
                                  {"xs", onnx::TensorProto::FLOAT, {2, 3}}},
                                 {{"final", onnx::TensorProto::FLOAT, {2}},
                                  {"ys", onnx::TensorProto::FLOAT, {2, 3}}}, 11);
  auto* n = AddNode(&m, "Scan", {"init", "xs"}, {"final", "ys"}, "scan");
  AddIntAttr(n, "num_scan_inputs", 1);
  AddIntsAttr(n, "scan_input_axes", {1});
  AddIntsAttr(n, "scan_input_directions", {1});
  AddIntsAttr(n, "scan_output_axes", {-1});
  AddIntsAttr(n, "scan_output_directions", {1});
  auto* body = AddGraphAttr(n, "body");
  SetValueInfo(body->add_input(), {"sum", onnx::TensorProto::FLOAT, {2}});
  SetValueInfo(body->add_input(), {"x", onnx::TensorProto::FLOAT, {2}});
  AddGraphNode(body, "Add", {"sum", "x"}, {"sum_out"});
  AddGraphNode(body, "Identity", {"sum_out"}, {"y"});
  SetValueInfo(body->add_output(), {"sum_out", onnx::TensorProto::FLOAT, {2}});
  SetValueInfo(body->add_output(), {"y", onnx::TensorProto::FLOAT, {2}});
  auto model = Model::Load(Serialize(m));
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  const std::vector<float> xs = {1, 2, 3, 10, 20, 30};
  auto out = (*model)->Run({{"init", FloatTensor({2}, {100, 200})}, {"xs", FloatTensor({2, 3}, xs)}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  // Positions visited 2, 1, 0; iteration t's output lands at column 2 - t.
  std::vector<float> ys(6);
  float sum[2] = {100, 200};
  for (int t = 0; t < 3; ++t) {
    const int pos = 2 - t;
    for (int r = 0; r < 2; ++r) {
      sum[r] += xs[r * 3 + pos];
      ys[r * 3 + (2 - t)] = sum[r];
    }
  }
  EXPECT_EQ(Floats((*out)[0].tensor), (std::vector<float>{sum[0], sum[1]}));
  EXPECT_EQ((*out)[1].tensor.shape(), (Shape{2, 3}));
  EXPECT_EQ(Floats((*out)[1].tensor), ys);
}

// Scan-8: batch axis first, per-batch sequence_lens; scan outputs past a
// shorter sequence are zero.
TEST(Scan, Opset8BatchesWithSequenceLens) {
  onnx::ModelProto m = MakeModel({{"lens", onnx::TensorProto::INT64, {2}},
                                  {"init", onnx::TensorProto::FLOAT, {2, 1}},
                                  {"xs", onnx::TensorProto::FLOAT, {2, 3, 1}}},
                                 {{"final", onnx::TensorProto::FLOAT, {2, 1}},
                                  {"ys", onnx::TensorProto::FLOAT, {2, 3, 1}}}, 8);
  auto* n = AddNode(&m, "Scan", {"lens", "init", "xs"}, {"final", "ys"}, "scan8");
  AddIntAttr(n, "num_scan_inputs", 1);
  auto* body = AddGraphAttr(n, "body");
  SetValueInfo(body->add_input(), {"sum", onnx::TensorProto::FLOAT, {1}});
  SetValueInfo(body->add_input(), {"x", onnx::TensorProto::FLOAT, {1}});
  AddGraphNode(body, "Add", {"sum", "x"}, {"sum_out"});
  AddGraphNode(body, "Identity", {"sum_out"}, {"y"});
  SetValueInfo(body->add_output(), {"sum_out", onnx::TensorProto::FLOAT, {1}});
  SetValueInfo(body->add_output(), {"y", onnx::TensorProto::FLOAT, {1}});
  auto model = Model::Load(Serialize(m));
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  auto out = (*model)->Run({{"lens", Tensor::FromVector<int64_t>(DType::kInt64, {2}, {3, 2}).value()},
                            {"init", FloatTensor({2, 1}, {0, 100})},
                            {"xs", FloatTensor({2, 3, 1}, {1, 2, 3, 10, 20, 30})}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(Floats((*out)[0].tensor), (std::vector<float>{6, 130}));
  EXPECT_EQ(Floats((*out)[1].tensor), (std::vector<float>{1, 3, 6, 110, 130, 0}));
}

TEST(Scan, BodyArityMismatchFailsAtLoad) {
  onnx::ModelProto m = MakeModel({{"init", onnx::TensorProto::FLOAT, {2}},
                                  {"xs", onnx::TensorProto::FLOAT, {2, 3}}},
                                 {{"final", onnx::TensorProto::FLOAT, {2}}}, 11);
  auto* n = AddNode(&m, "Scan", {"init", "xs"}, {"final"}, "bad_scan");
  AddIntAttr(n, "num_scan_inputs", 1);
  auto* body = AddGraphAttr(n, "body");
  SetValueInfo(body->add_input(), {"sum", onnx::TensorProto::FLOAT, {2}});
  AddGraphNode(body, "Identity", {"sum"}, {"sum_out"});
  SetValueInfo(body->add_output(), {"sum_out", onnx::TensorProto::FLOAT, {2}});
  LoadOptions opts;
  auto model = Model::Load(Serialize(m), opts);
  ASSERT_FALSE(model.ok());
  EXPECT_NE(model.status().ToString().find("bad_scan"), std::string::npos)
      << model.status().ToString();
}

}  // namespace
}  // namespace citadel::engine::testing
