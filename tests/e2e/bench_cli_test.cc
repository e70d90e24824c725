// `citadel bench` through the real binary: one JSON object on stdout, the
// OpenMP spin count the process re-executed itself with (libgomp reads it
// only at load, see src/cli/openmp_env.cc), the spin governor's state, and
// --profile's per-op table.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

namespace citadel {
namespace {

const std::string kCli = CITADEL_CLI_PATH;
const std::string kModel = std::string(CITADEL_SOURCE_DIR) + "/models/xray_cnn.onnx";

// Runs `command` and returns its stdout parsed as JSON (null when the exit
// code is not 0 or the output is not exactly one JSON value).
nlohmann::json RunJson(const std::string& command) {
  FILE* pipe = ::popen((command + " 2>/dev/null").c_str(), "r");
  if (!pipe) return nullptr;
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  const int status = ::pclose(pipe);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return nullptr;
  return nlohmann::json::parse(out, nullptr, /*allow_exceptions=*/false);
}

const std::string kBench = " bench " + kModel + " --threads 2 --warmup 0 --iters 2 --json";

TEST(BenchCli, SetsABoundedSpinWhenTheUserDidNot) {
  auto j = RunJson("env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT -u CITADEL_NO_REEXEC " + kCli + kBench);
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["omp_wait_policy"], "");
  EXPECT_EQ(j["gomp_spincount"], "30000");
  EXPECT_TRUE(j["spin_throttled"].is_boolean());
  EXPECT_GT(j["median_ms"].get<double>(), 0.0);
  // A Run does work, so it takes process CPU time.
  EXPECT_GT(j["median_cpu_ms"].get<double>(), 0.0);
}

TEST(BenchCli, KeepsTheUsersWaitPolicyAndTheEscapeHatch) {
  auto active = RunJson("env OMP_WAIT_POLICY=ACTIVE " + kCli + kBench);
  ASSERT_TRUE(active.is_object());
  EXPECT_EQ(active["omp_wait_policy"], "ACTIVE");
  // GOMP_SPINCOUNT set: the user tuned libgomp, no re-exec, nothing added.
  auto spin = RunJson("env -u OMP_WAIT_POLICY GOMP_SPINCOUNT=1000 " + kCli + kBench);
  ASSERT_TRUE(spin.is_object());
  EXPECT_EQ(spin["omp_wait_policy"], "");
  EXPECT_EQ(spin["gomp_spincount"], "1000");
  auto hatch = RunJson("env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT CITADEL_NO_REEXEC=1 " + kCli + kBench);
  ASSERT_TRUE(hatch.is_object());
  EXPECT_EQ(hatch["omp_wait_policy"], "");
  EXPECT_EQ(hatch["gomp_spincount"], "");
}

// CITADEL_SPIN_GOVERNOR pins the governor (src/engine/spin_governor.h); a
// user-chosen OMP_WAIT_POLICY switches it off.
TEST(BenchCli, SpinGovernorCanBePinned) {
  auto throttled = RunJson("env -u OMP_WAIT_POLICY CITADEL_SPIN_GOVERNOR=throttle " + kCli + kBench);
  ASSERT_TRUE(throttled.is_object());
  EXPECT_EQ(throttled["spin_throttled"], true);
  auto off = RunJson("env -u OMP_WAIT_POLICY CITADEL_SPIN_GOVERNOR=off " + kCli + kBench);
  ASSERT_TRUE(off.is_object());
  EXPECT_EQ(off["spin_throttled"], false);
  auto passive = RunJson("env OMP_WAIT_POLICY=PASSIVE CITADEL_SPIN_GOVERNOR=throttle " + kCli + kBench);
  ASSERT_TRUE(passive.is_object());
  EXPECT_EQ(passive["spin_throttled"], false);
}

TEST(BenchCli, ProfileReportsEveryNodeByOpType) {
  auto j = RunJson(kCli + kBench + " --profile");
  ASSERT_TRUE(j.is_object());
  const auto& p = j["profile"];
  ASSERT_TRUE(p.is_object());
  EXPECT_EQ(p["runs"], 2);
  // Per op type: at least one node each, non-negative times, and the
  // percentages sum to 100.
  double pct = 0;
  bool has_conv = false;
  for (const auto& op : p["by_op"]) {
    EXPECT_GE(op["ms"].get<double>(), 0.0);
    EXPECT_GE(op["nodes"].get<int>(), 1);
    pct += op["pct"].get<double>();
    has_conv |= op["op"] == "Conv";
  }
  EXPECT_TRUE(has_conv);
  EXPECT_NEAR(pct, 100.0, 1e-6);
  ASSERT_FALSE(p["top_nodes"].empty());
  // Sorted slowest first.
  double prev = p["top_nodes"][0]["ms"].get<double>();
  for (const auto& n : p["top_nodes"]) {
    EXPECT_LE(n["ms"].get<double>(), prev);
    prev = n["ms"].get<double>();
  }
  // Every node once, in execution order: as many as by_op counts, and
  // their times add up to nodes_ms.
  int nodes = 0;
  for (const auto& op : p["by_op"]) nodes += op["nodes"].get<int>();
  ASSERT_EQ(p["nodes"].size(), static_cast<size_t>(nodes));
  double sum = 0;
  std::set<std::string> names;
  for (const auto& n : p["nodes"]) {
    sum += n["ms"].get<double>();
    EXPECT_TRUE(names.insert(n["name"].get<std::string>()).second) << n["name"];
  }
  EXPECT_NEAR(sum, p["nodes_ms"].get<double>(), 1e-6 * (1 + sum));
}

}  // namespace
}  // namespace citadel
