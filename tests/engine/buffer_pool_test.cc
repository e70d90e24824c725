// The Run buffer pool (src/engine/buffer_pool.h): reuse, the size rule, the
// idle cap, and that tensors handed to callers are never recycled under
// them.
#include <cstdint>
#include <random>
#include <string>

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include "../../src/engine/buffer_pool.h"
#include "citadel/engine.h"
#include "test_util.h"

namespace citadel::engine {
namespace {

TEST(BufferPool, ReusesReleasedBlocksOfAFittingSize) {
  auto pool = BufferPool::Create(size_t{1} << 20);
  uint8_t* a = nullptr;
  auto block = pool->Get(10000, &a);
  ASSERT_NE(block, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a) % 64, 0u);
  block.reset();
  EXPECT_GE(pool->idle_bytes(), 10000u);
  // Same size and a slightly smaller one reuse it; a much smaller one must
  // not pin it.
  uint8_t* b = nullptr;
  auto again = pool->Get(9000, &b);
  EXPECT_EQ(a, b);
  EXPECT_EQ(pool->idle_bytes(), 0u);
  again.reset();
  uint8_t* c = nullptr;
  auto small = pool->Get(100, &c);
  EXPECT_NE(c, a);
  EXPECT_GT(pool->idle_bytes(), 0u);  // the big block is still idle
}

TEST(BufferPool, IdleBytesStayUnderTheCapAndBlocksOutliveThePoolHandle) {
  const size_t cap = 3 * 4096;
  auto pool = BufferPool::Create(cap);
  std::vector<std::shared_ptr<void>> held;
  for (int i = 0; i < 8; ++i) {
    uint8_t* p = nullptr;
    held.push_back(pool->Get(4096, &p));
    p[0] = static_cast<uint8_t>(i);  // writable
  }
  std::weak_ptr<BufferPool> weak = pool;
  pool.reset();  // the blocks keep the pool alive
  EXPECT_FALSE(weak.expired());
  held.resize(1);
  EXPECT_LE(weak.lock()->idle_bytes(), cap);
  held.clear();
  EXPECT_TRUE(weak.expired());
}

// Outputs come from the pool: a caller holding them across later Runs
// must see its values unchanged.
TEST(BufferPool, OutputsHeldByTheCallerSurviveLaterRuns) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto* g = m.mutable_graph();
  g->set_name("pool");
  for (const char* name : {"a", "b"}) {
    auto* vi = g->add_input();
    vi->set_name(name);
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    tt->mutable_shape()->add_dim()->set_dim_value(1000);
  }
  auto* out = g->add_output();
  out->set_name("y");
  auto* ot = out->mutable_type()->mutable_tensor_type();
  ot->set_elem_type(onnx::TensorProto::FLOAT);
  ot->mutable_shape()->add_dim()->set_dim_value(1000);
  auto* n1 = g->add_node();
  n1->set_op_type("Add");
  n1->add_input("a");
  n1->add_input("b");
  n1->add_output("s");
  auto* n2 = g->add_node();
  n2->set_op_type("Mul");
  n2->add_input("s");
  n2->add_input("a");
  n2->add_output("y");
  const std::string bytes = m.SerializeAsString();
  auto loaded = Model::Load(ByteSpan(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  std::shared_ptr<const Model> model = std::move(loaded).value();
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1, 1);
  auto random = [&] {
    Tensor t = Tensor::Zeros(DType::kFloat32, {1000}).value();
    for (size_t i = 0; i < 1000; ++i) t.data<float>()[i] = u(rng);
    return t;
  };
  std::vector<TensorList> results;
  std::vector<Tensor> expected;
  for (int run = 0; run < 5; ++run) {
    Tensor a = random(), b = random();
    Tensor want = Tensor::Zeros(DType::kFloat32, {1000}).value();
    for (size_t i = 0; i < 1000; ++i) {
      want.data<float>()[i] = (a.data<float>()[i] + b.data<float>()[i]) * a.data<float>()[i];
    }
    auto r = model->Run({{"a", a}, {"b", b}});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    results.push_back(std::move(r).value());
    expected.push_back(want);
  }
  for (size_t run = 0; run < results.size(); ++run) {
    EXPECT_EQ(testing::CompareTensors(expected[run], results[run][0].tensor, 0, 0), "") << run;
  }
  // The model can go while outputs are still held.
  model.reset();
  EXPECT_EQ(testing::CompareTensors(expected[0], results[0][0].tensor, 0, 0), "");
}

}  // namespace
}  // namespace citadel::engine
