// The spin governor (src/engine/spin_governor.h): parsing /proc/stat, the
// other processes' CPU share, the throttle decision with its hysteresis,
// and that a throttled Run really runs on one thread and computes the same
// outputs as an unthrottled one (primitives are keyed by thread count).
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include "../../src/engine/dnnl_util.h"
#include "../../src/engine/spin_governor.h"
#include "citadel/engine.h"
#include "test_util.h"

namespace citadel::engine {
namespace {

TEST(SpinGovernor, ParsesTheAggregateCpuLine) {
  // Real layout: aggregate line first, per-CPU lines after, 10 columns.
  const std::string stat =
      "cpu  5382673 1201919 1329802 933808 10718 0 6286 0 0 0\n"
      "cpu0 2691336 600959 664901 466904 5359 0 3143 0 0 0\n";
  double idle = 0, total = 0;
  ASSERT_TRUE(ParseProcStatCpuLine(stat, 100, &idle, &total));
  EXPECT_DOUBLE_EQ(idle, (933808.0 + 10718.0) / 100);
  // guest columns are already inside user and nice: not added again.
  EXPECT_DOUBLE_EQ(total, (5382673.0 + 1201919 + 1329802 + 933808 + 10718 + 0 + 6286 + 0) / 100);
  // Old kernels have only user nice system idle.
  ASSERT_TRUE(ParseProcStatCpuLine("cpu  10 20 30 40\n", 100, &idle, &total));
  EXPECT_DOUBLE_EQ(idle, 0.4);
  EXPECT_DOUBLE_EQ(total, 1.0);
}

TEST(SpinGovernor, RefusesWhatIsNotTheAggregateLine) {
  double idle = 0, total = 0;
  EXPECT_FALSE(ParseProcStatCpuLine("", 100, &idle, &total));
  EXPECT_FALSE(ParseProcStatCpuLine("cpu0 1 2 3 4 5\n", 100, &idle, &total));
  EXPECT_FALSE(ParseProcStatCpuLine("intr 1 2 3 4 5\n", 100, &idle, &total));
  EXPECT_FALSE(ParseProcStatCpuLine("cpu  1 2 3\n", 100, &idle, &total));  // too few
  EXPECT_FALSE(ParseProcStatCpuLine("cpu  x y z w\n", 100, &idle, &total));
  EXPECT_FALSE(ParseProcStatCpuLine("cpu  1 2 3 4\n", 0, &idle, &total));
}

TEST(SpinGovernor, SumsOnlyTheCpusWeMayRunOn) {
  const std::string stat =
      "cpu  100 0 0 400 0 0 0 0 0 0\n"
      "cpu0 10 0 0 90 0 0 0 0 0 0\n"
      "cpu1 20 0 0 80 0 0 0 0 0 0\n"
      "cpu2 30 0 0 70 0 0 0 0 0 0\n"
      "cpu12 40 0 0 60 5 0 0 0 0 0\n"
      "cpu3 garbage\n"
      "intr 12345 1 2 3\n"
      "ctxt 999\n";
  double idle = 0, total = 0;
  // Every CPU: the four well-formed per-CPU lines, not the aggregate.
  EXPECT_EQ(SumProcStatCpus(stat, 100, {}, &idle, &total), 4);
  EXPECT_DOUBLE_EQ(idle, (90.0 + 80 + 70 + 60 + 5) / 100);
  EXPECT_DOUBLE_EQ(total, (100.0 + 100 + 100 + 105) / 100);
  // A cpuset of {1, 12}: the host's other cores are not ours to judge.
  std::vector<bool> allowed(16, false);
  allowed[1] = allowed[12] = true;
  EXPECT_EQ(SumProcStatCpus(stat, 100, allowed, &idle, &total), 2);
  EXPECT_DOUBLE_EQ(idle, (80.0 + 60 + 5) / 100);
  EXPECT_DOUBLE_EQ(total, (100.0 + 105) / 100);
  // An allowed CPU /proc/stat does not list (offline) counts for nothing.
  std::vector<bool> only3(4, false);
  only3[3] = true;
  EXPECT_EQ(SumProcStatCpus(stat, 100, only3, &idle, &total), 0);
  EXPECT_EQ(SumProcStatCpus("", 100, {}, &idle, &total), 0);
}

TEST(SpinGovernor, OtherProcessesAreBusyTimeMinusOurs) {
  CpuSample a{10.0, 100.0, 200.0, 5.0, 2};
  // 0.5 s of wall on 2 CPUs: 0.2 s idle, so 0.8 s busy; we used 0.5 s.
  CpuSample b{10.5, 100.2, 201.0, 5.5, 2};
  EXPECT_NEAR(OtherProcessesCpus(a, b), (0.8 - 0.5) / 0.5, 1e-9);
  // Tick rounding can make our own time exceed the busy time: never < 0.
  CpuSample c{10.5, 100.6, 201.0, 5.6, 2};
  EXPECT_EQ(OtherProcessesCpus(a, c), 0.0);
  // No wall time elapsed: nothing to say.
  EXPECT_EQ(OtherProcessesCpus(a, a), 0.0);
}

TEST(SpinGovernor, ThrottlesOnlyWhenOthersWantOurCoresWithHysteresis) {
  // 2 CPUs, 2 threads: no core to spare.
  EXPECT_FALSE(ShouldThrottle(false, 0.05, 2, 2));  // an idle box's noise
  EXPECT_TRUE(ShouldThrottle(false, 0.7, 2, 2));    // one busy process
  EXPECT_TRUE(ShouldThrottle(true, 0.3, 2, 2));     // not clearly gone: stay
  EXPECT_FALSE(ShouldThrottle(true, 0.05, 2, 2));   // gone: release
  // 16 CPUs, 2 threads: others may use 14 before we are in the way.
  EXPECT_FALSE(ShouldThrottle(false, 10.0, 16, 2));
  EXPECT_TRUE(ShouldThrottle(false, 15.0, 16, 2));
}

TEST(SpinGovernor, ARunPreemptedMostOfItsTimeShowsContention) {
  EXPECT_TRUE(RunShowsContention(2, 0.045, 0.004));   // 45 ms wall, 4 ms CPU
  EXPECT_FALSE(RunShowsContention(2, 0.0035, 0.0034));  // spinning team: CPU ~ wall
  EXPECT_FALSE(RunShowsContention(1, 0.045, 0.004));   // one thread: nothing to throttle
  EXPECT_FALSE(RunShowsContention(2, 0.0005, 0.0));    // too short to judge
}

// A Conv + Relu model with threads = 2.
std::string TwoLayerModel() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto* g = m.mutable_graph();
  g->set_name("governed");
  auto info = [](onnx::ValueInfoProto* vi, const std::string& name, const Shape& shape) {
    vi->set_name(name);
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    for (int64_t d : shape) tt->mutable_shape()->add_dim()->set_dim_value(d);
  };
  info(g->add_input(), "x", {1, 16, 20, 20});
  info(g->add_output(), "y", {1, 32, 20, 20});
  auto* w = g->add_initializer();
  w->set_name("W");
  w->set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : {32, 16, 3, 3}) w->add_dims(d);
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-0.3f, 0.3f);
  for (int i = 0; i < 32 * 16 * 9; ++i) w->add_float_data(u(rng));
  auto* conv = g->add_node();
  conv->set_op_type("Conv");
  conv->add_input("x");
  conv->add_input("W");
  conv->add_output("c");
  auto* pads = conv->add_attribute();
  pads->set_name("pads");
  pads->set_type(onnx::AttributeProto::INTS);
  for (int i = 0; i < 4; ++i) pads->add_ints(1);
  auto* relu = g->add_node();
  relu->set_op_type("Relu");
  relu->add_input("c");
  relu->add_output("y");
  return m.SerializeAsString();
}

TEST(SpinGovernor, ThrottledRunsUseOneThreadAndAgree) {
  const std::string bytes = TwoLayerModel();
  LoadOptions opts;
  opts.threads = 2;
  auto model = Model::Load(ByteSpan(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), opts);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  Tensor x = Tensor::Zeros(DType::kFloat32, {1, 16, 20, 20}).value();
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(-1, 1);
  for (size_t i = 0; i < x.num_elements(); ++i) x.data<float>()[i] = u(rng);

  SetSpinGovernorModeForTesting("off");
  auto free_run = (*model)->Run({{"x", x}});
  ASSERT_TRUE(free_run.ok()) << free_run.status().ToString();
  EXPECT_FALSE(SpinThrottled());
  EXPECT_EQ(ThreadsKey(), 2);  // Run set the calling thread's team size

  SetSpinGovernorModeForTesting("throttle");
  auto throttled = (*model)->Run({{"x", x}});
  ASSERT_TRUE(throttled.ok()) << throttled.status().ToString();
  EXPECT_TRUE(SpinThrottled());
  EXPECT_TRUE(EngineSpinThrottled());
  EXPECT_EQ(ThreadsKey(), 1);
  EXPECT_EQ(testing::CompareTensors((*free_run)[0].tensor, (*throttled)[0].tensor, 1e-6, 1e-6), "");

  // And back: the 2-thread primitives are still cached and still right.
  SetSpinGovernorModeForTesting("off");
  auto again = (*model)->Run({{"x", x}});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(ThreadsKey(), 2);
  EXPECT_EQ(testing::CompareTensors((*free_run)[0].tensor, (*again)[0].tensor, 0, 0), "");
  SetSpinGovernorModeForTesting("auto");
}

}  // namespace
}  // namespace citadel::engine
