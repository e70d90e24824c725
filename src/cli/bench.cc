// `citadel bench`: load a model locally and time Model::Run. Prints exactly
// one JSON object on stdout (logs go to stderr), in the same shape as
// bench/ort/ort_bench.js so bench/run.sh can compare them line by line.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdlib>
#include <cstdio>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "citadel/engine.h"
#include "citadel/npy.h"
#include "citadel/status.h"

namespace citadel {

// Declared in main.cc (kept in sync by hand: one struct, two files).
struct BenchArgs {
  std::string model;
  std::vector<std::string> inputs, dims, shapes;
  int threads = 0, warmup = 3, iters = 20;
  bool optimize = true;
  bool profile = false;
};

namespace {

double PeakRssMb() {
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;  // Linux: KiB
}

Result<std::pair<std::string, std::string>> SplitEq(const std::string& spec, const char* what) {
  size_t eq = spec.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) {
    return Status::InvalidArgument(std::string(what) + " must be NAME=VALUE, got '" + spec + "'");
  }
  return std::make_pair(spec.substr(0, eq), spec.substr(eq + 1));
}

Result<int64_t> ParseDim(const std::string& s) {
  try {
    size_t used = 0;
    long long v = std::stoll(s, &used);
    if (used != s.size() || v <= 0 || v > (int64_t{1} << 31)) throw 1;
    return static_cast<int64_t>(v);
  } catch (...) {
    return Status::InvalidArgument("bad dimension '" + s + "'");
  }
}

// Random values of the right type: floats in [-1, 1), integers in [0, 100)
// (small enough to be valid token ids or indices for typical models).
Result<Tensor> RandomTensor(DType dtype, const Shape& shape, std::mt19937& rng) {
  CITADEL_ASSIGN_OR_RETURN(Tensor t, Tensor::Zeros(dtype, shape));
  const size_t n = t.num_elements();
  std::uniform_real_distribution<float> f(-1.f, 1.f);
  std::uniform_int_distribution<int> i(0, 99);
  switch (dtype) {
    case DType::kFloat32: for (size_t k = 0; k < n; ++k) t.data<float>()[k] = f(rng); break;
    case DType::kFloat64: for (size_t k = 0; k < n; ++k) t.data<double>()[k] = f(rng); break;
    case DType::kInt64: for (size_t k = 0; k < n; ++k) t.data<int64_t>()[k] = i(rng); break;
    case DType::kInt32: for (size_t k = 0; k < n; ++k) t.data<int32_t>()[k] = i(rng); break;
    case DType::kBool: for (size_t k = 0; k < n; ++k) t.data<uint8_t>()[k] = i(rng) & 1; break;
    default: break;  // zeros
  }
  return t;
}

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t idx = static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(idx, v.size() - 1)];
}

// Aggregates the node timings of `runs` profiled Runs: per node the median
// over the runs (robust to the descheduling spikes of a shared machine),
// per op type the sum of its nodes' medians (sorted by time), and the
// slowest nodes. Also prints both as a table on stderr.
nlohmann::json ProfileJson(const std::vector<NodeTiming>& timings, int runs) {
  struct Agg {
    double ms = 0;
    size_t count = 0;
    std::string op;
  };
  std::map<std::string, std::vector<double>> samples;
  std::map<std::string, std::string> op_of;
  for (const NodeTiming& t : timings) {
    samples[t.name].push_back(t.ms);
    op_of[t.name] = t.op_type;
  }
  std::map<std::string, Agg> by_op, by_node;
  double total = 0;
  for (const auto& [name, v] : samples) {
    const double med = Percentile(v, 0.5) * static_cast<double>(runs);  // scaled back below
    by_op[op_of[name]].ms += med;
    by_op[op_of[name]].count += static_cast<size_t>(runs);
    by_node[name] = Agg{med, 1, op_of[name]};
    total += med;
  }
  auto sorted = [](const std::map<std::string, Agg>& m) {
    std::vector<std::pair<std::string, Agg>> v(m.begin(), m.end());
    std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.second.ms > b.second.ms; });
    return v;
  };
  const double per_run = 1.0 / static_cast<double>(runs);
  nlohmann::json j;
  j["runs"] = runs;
  j["nodes_ms"] = total * per_run;  // sum of node medians: about Run time minus the executor's own
  nlohmann::json ops = nlohmann::json::array();
  std::fprintf(stderr, "profile (%d runs; median ms per node)\n%-24s %10s %6s %6s\n", runs, "op", "ms", "%",
               "nodes");
  for (const auto& [op, a] : sorted(by_op)) {
    const double ms = a.ms * per_run, pct = total > 0 ? 100.0 * a.ms / total : 0;
    const size_t nodes = a.count / static_cast<size_t>(runs);
    ops.push_back({{"op", op}, {"ms", ms}, {"pct", pct}, {"nodes", nodes}});
    std::fprintf(stderr, "%-24s %10.3f %6.1f %6zu\n", op.c_str(), ms, pct, nodes);
  }
  j["by_op"] = ops;
  constexpr size_t kTop = 15;
  nlohmann::json top = nlohmann::json::array();
  std::fprintf(stderr, "slowest nodes\n");
  for (const auto& [name, a] : sorted(by_node)) {
    if (top.size() == kTop) break;
    const double ms = a.ms * per_run;
    top.push_back({{"name", name}, {"op", a.op}, {"ms", ms}});
    std::fprintf(stderr, "  %-40s %-16s %10.3f\n", name.c_str(), a.op.c_str(), ms);
  }
  j["top_nodes"] = top;
  // Every node in execution order (first-seen order of the timed runs), for a
  // layer-by-layer comparison with ORT's "nodes in order" list.
  nlohmann::json in_order = nlohmann::json::array();
  std::map<std::string, bool> listed;
  for (const NodeTiming& t : timings) {
    if (listed[t.name]) continue;
    listed[t.name] = true;
    in_order.push_back({{"name", t.name}, {"op", t.op_type}, {"ms", by_node[t.name].ms * per_run}});
  }
  j["nodes"] = in_order;
  return j;
}

}  // namespace

int RunBench(const BenchArgs& a) {
  using Clock = std::chrono::steady_clock;
  auto fail = [](const Status& st) {
    std::cerr << "error: " << st.ToString() << "\n";
    return 1;
  };
  if (a.iters <= 0 || a.warmup < 0) return fail(Status::InvalidArgument("--iters must be > 0"));
  LoadOptions lo;
  lo.threads = a.threads;
  lo.optimize = a.optimize;
  const auto t0 = Clock::now();
  auto model = Model::LoadFile(a.model, lo);
  if (!model.ok()) return fail(model.status());
  const double load_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();

  std::map<std::string, int64_t> dims;
  for (const auto& d : a.dims) {
    auto kv = SplitEq(d, "--dim");
    if (!kv.ok()) return fail(kv.status());
    auto v = ParseDim(kv->second);
    if (!v.ok()) return fail(v.status());
    dims[kv->first] = *v;
  }
  std::map<std::string, Shape> shapes;
  for (const auto& s : a.shapes) {
    auto kv = SplitEq(s, "--shape");
    if (!kv.ok()) return fail(kv.status());
    Shape shape;
    std::string rest = kv->second;
    size_t pos = 0;
    while (true) {
      size_t x = rest.find('x', pos);
      auto v = ParseDim(rest.substr(pos, x == std::string::npos ? std::string::npos : x - pos));
      if (!v.ok()) return fail(v.status());
      shape.push_back(*v);
      if (x == std::string::npos) break;
      pos = x + 1;
    }
    shapes[kv->first] = shape;
  }

  TensorList inputs;
  std::map<std::string, bool> given;
  for (const auto& spec : a.inputs) {
    auto kv = SplitEq(spec, "--input");
    if (!kv.ok()) return fail(kv.status());
    auto t = ReadNpyFile(kv->second);
    if (!t.ok()) return fail(t.status());
    inputs.push_back({kv->first, std::move(t).value()});
    given[kv->first] = true;
  }
  std::mt19937 rng(1234);
  nlohmann::json in_json = nlohmann::json::object();
  for (const TensorInfo& info : (*model)->inputs()) {
    if (given.count(info.name)) continue;
    Shape shape = info.shape;
    if (auto it = shapes.find(info.name); it != shapes.end()) {
      if (it->second.size() != shape.size()) {
        return fail(Status::InvalidArgument("--shape for '" + info.name + "' has the wrong rank"));
      }
      shape = it->second;
    }
    for (size_t i = 0; i < shape.size(); ++i) {
      if (shape[i] >= 0) continue;
      const std::string& p = i < info.dim_params.size() ? info.dim_params[i] : std::string();
      auto it = p.empty() ? dims.end() : dims.find(p);
      shape[i] = it != dims.end() ? it->second : 1;
    }
    auto t = RandomTensor(info.dtype, shape, rng);
    if (!t.ok()) return fail(t.status());
    in_json[info.name] = shape;
    inputs.push_back({info.name, std::move(t).value()});
  }

  RunOptions ro;
  for (int i = 0; i < a.warmup; ++i) {
    auto r = (*model)->Run(inputs, ro);
    if (!r.ok()) return fail(r.status());
  }
  std::vector<double> ms, cpu_ms;
  ms.reserve(a.iters);
  cpu_ms.reserve(a.iters);
  auto process_cpu_ms = [] {
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) / 1e6;
  };
  for (int i = 0; i < a.iters; ++i) {
    const double c0 = process_cpu_ms();
    const auto s = Clock::now();
    auto r = (*model)->Run(inputs, ro);
    const auto e = Clock::now();
    const double c1 = process_cpu_ms();
    if (!r.ok()) return fail(r.status());
    ms.push_back(std::chrono::duration<double, std::milli>(e - s).count());
    cpu_ms.push_back(c1 - c0);
  }
  double sum = 0;
  for (double v : ms) sum += v;
  nlohmann::json j;
  j["runtime"] = "citadel";
  j["model"] = a.model;
  j["threads"] = a.threads;
  j["warmup"] = a.warmup;
  j["iters"] = a.iters;
  j["inputs"] = in_json;
  j["load_ms"] = load_ms;
  j["median_ms"] = Percentile(ms, 0.5);
  j["p90_ms"] = Percentile(ms, 0.9);
  j["min_ms"] = Percentile(ms, 0.0);
  j["mean_ms"] = sum / static_cast<double>(ms.size());
  // CPU time of the whole process per Run (all threads): on a shared,
  // oversubscribed machine wall time mostly measures preemption, while a
  // 1-thread run's CPU time stays close to its unloaded wall time.
  j["median_cpu_ms"] = Percentile(cpu_ms, 0.5);
  j["peak_rss_mb"] = PeakRssMb();
  // What libgomp was started with (the binary sets a bounded
  // GOMP_SPINCOUNT when neither is set; see src/cli/openmp_env.cc), and
  // whether the engine throttled its spinning because other processes
  // wanted the cores (src/engine/spin_governor.h).
  const char* wait_policy = std::getenv("OMP_WAIT_POLICY");
  j["omp_wait_policy"] = wait_policy != nullptr ? wait_policy : "";
  const char* spin_count = std::getenv("GOMP_SPINCOUNT");
  j["gomp_spincount"] = spin_count != nullptr ? spin_count : "";
  j["spin_throttled"] = EngineSpinThrottled();
  if (a.profile) {
    // Separate runs, so the clock reads per node do not touch the timings
    // above. Times are per Run, averaged over the profiled runs.
    std::vector<NodeTiming> timings;
    ro.profile = &timings;
    for (int i = 0; i < a.iters; ++i) {
      auto r = (*model)->Run(inputs, ro);
      if (!r.ok()) return fail(r.status());
    }
    j["profile"] = ProfileJson(timings, a.iters);
  }
  std::cout << j.dump() << std::endl;
  return 0;
}

}  // namespace citadel
