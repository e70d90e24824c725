// citadel_load: a bounded load test of a real `citadel serve` process.
// N client threads (the real C++ SDK; each attests when it connects) upload
// nothing but infer repeatedly on one model for a fixed time, every k-th
// request a bad one (unknown model, wrong input name, wrong shape). Fails
// (exit 1) on any unexpected error (a good request refused, a bad one
// answered with the wrong code, outputs that differ from the reference) or
// when the server's RSS keeps growing. Prints throughput and latency.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "citadel/client.h"
#include "citadel/crypto.h"
#include "citadel/npy.h"

namespace fs = std::filesystem;
using namespace citadel;
using Clock = std::chrono::steady_clock;

namespace {

struct Args {
  std::string citadel = std::string(CITADEL_SOURCE_DIR) + "/build/src/cli/citadel";
  std::string model = std::string(CITADEL_SOURCE_DIR) + "/models/mlp_dynamic.onnx";
  std::string input = std::string(CITADEL_SOURCE_DIR) + "/models/mlp_sample.npy";
  int threads = 32;
  int seconds = 20;
  int bad_every = 10;
  int server_threads = 0;  // engine intra-op threads (config "threads"), 0 = all cores
};

long RssKb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return -1;
}

std::string ReadText(const fs::path& p) {
  std::ifstream in(p);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(i), v.end());
  return v[i];
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--citadel") a.citadel = v;
    else if (k == "--model") a.model = v;
    else if (k == "--input") a.input = v;
    else if (k == "--threads") a.threads = std::atoi(v.c_str());
    else if (k == "--seconds") a.seconds = std::atoi(v.c_str());
    else if (k == "--bad-every") a.bad_every = std::atoi(v.c_str());
    else if (k == "--server-threads") a.server_threads = std::atoi(v.c_str());
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  ::signal(SIGPIPE, SIG_IGN);
  char tmpl[] = "/tmp/citadel-load-XXXXXX";
  if (!::mkdtemp(tmpl)) return 2;
  const fs::path dir = tmpl;
  std::ofstream(dir / "config.json") << "{\"version\": 1, \"threads\": " << a.server_threads
                                     << ", \"limits\": {\"max_concurrent_requests\": " << 2 * a.threads
                                     << ", \"max_connections\": " << 2 * a.threads + 8 << "}}";
  pid_t pid = ::fork();
  if (pid == 0) {
    std::freopen((dir / "server.log").c_str(), "w", stderr);
    std::freopen("/dev/null", "w", stdout);
    std::string state = (dir / "state").string(), port = (dir / "port").string(),
                config = (dir / "config.json").string();
    ::execl(a.citadel.c_str(), a.citadel.c_str(), "serve", "--listen", "127.0.0.1:0", "--state-dir", state.c_str(),
            "--platform", "sim", "--port-file", port.c_str(), "--config", config.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  for (int i = 0; i < 600 && !fs::exists(dir / "port"); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (!fs::exists(dir / "port")) {
    std::fprintf(stderr, "server did not start:\n%s\n", ReadText(dir / "server.log").c_str());
    return 1;
  }
  const std::string url = "https://127.0.0.1:" + std::to_string(std::stoi(ReadText(dir / "port")));
  ClientOptions options;
  options.policy.allow_simulation = true;
  options.policy.accept_any_measurement = true;
  options.timeout = std::chrono::seconds(60);

  int rc = 0;
  auto fail = [&](const std::string& why) {
    std::fprintf(stderr, "FAIL: %s\n", why.c_str());
    rc = 1;
  };
  auto model = ReadFileBytes(a.model);
  auto input = ReadNpyFile(a.input);
  if (!model.ok() || !input.ok()) {
    std::fprintf(stderr, "cannot read the model or input\n");
    return 2;
  }
  std::string input_name;
  std::vector<Bytes> reference;
  {
    auto client = Client::Connect(url, options);
    if (!client.ok()) {
      std::fprintf(stderr, "connect: %s\n", client.status().ToString().c_str());
      return 1;
    }
    auto info = (*client)->UploadModel("load", *model);
    if (!info.ok()) {
      std::fprintf(stderr, "upload: %s\n", info.status().ToString().c_str());
      return 1;
    }
    input_name = info->inputs[0].name;
    auto out = (*client)->Infer("load", {{input_name, *input}});
    if (!out.ok()) {
      std::fprintf(stderr, "infer: %s\n", out.status().ToString().c_str());
      return 1;
    }
    for (const auto& t : *out) reference.emplace_back(t.tensor.bytes().begin(), t.tensor.bytes().end());
  }
  const long rss_start = RssKb(pid);

  // Bad requests the SDK can send, and the code each must get.
  auto wrong_shape = Tensor::Zeros(input->dtype(), {1, 3, 1, 1, 1});
  struct Bad {
    std::string model;
    TensorList inputs;
    Code want;
  };
  std::vector<Bad> bads = {
      {"no-such-model", {{input_name, *input}}, Code::kNotFound},
      {"load", {{"not_an_input", *input}}, Code::kInvalidArgument},
      {"load", {{input_name, *wrong_shape}}, Code::kInvalidArgument},
  };

  std::atomic<bool> stop{false};
  std::atomic<long> good{0}, bad{0}, unexpected{0};
  std::mutex mu;
  std::vector<double> latencies_ms;
  std::vector<std::string> errors;
  std::vector<std::pair<double, long>> rss_samples;
  const auto start = Clock::now();
  std::thread sampler([&] {
    while (!stop) {
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
      double t = std::chrono::duration<double>(Clock::now() - start).count();
      std::lock_guard lock(mu);
      rss_samples.emplace_back(t, RssKb(pid));
    }
  });
  std::vector<std::thread> workers;
  for (int w = 0; w < a.threads; ++w) {
    workers.emplace_back([&, w] {
      auto note = [&](const std::string& e) {
        ++unexpected;
        std::lock_guard lock(mu);
        if (errors.size() < 20) errors.push_back("thread " + std::to_string(w) + ": " + e);
      };
      auto client = Client::Connect(url, options);
      if (!client.ok()) return note("connect: " + client.status().ToString());
      std::vector<double> mine;
      for (long n = 0; !stop; ++n) {
        if (a.bad_every > 0 && n % a.bad_every == static_cast<long>(w % a.bad_every)) {
          const Bad& b = bads[static_cast<size_t>(n / a.bad_every) % bads.size()];
          auto r = (*client)->Infer(b.model, b.inputs);
          if (r.ok()) note("bad request to '" + b.model + "' succeeded");
          else if (r.status().code() != b.want) note("bad request got " + r.status().ToString());
          ++bad;
          continue;
        }
        auto t0 = Clock::now();
        auto r = (*client)->Infer("load", {{input_name, *input}});
        mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        if (!r.ok()) {
          note("infer: " + r.status().ToString());
          continue;
        }
        bool same = r->size() == reference.size();
        for (size_t i = 0; same && i < r->size(); ++i) {
          same = Bytes((*r)[i].tensor.bytes().begin(), (*r)[i].tensor.bytes().end()) == reference[i];
        }
        if (!same) note("outputs differ from the reference");
        ++good;
      }
      std::lock_guard lock(mu);
      latencies_ms.insert(latencies_ms.end(), mine.begin(), mine.end());
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(a.seconds));
  stop = true;
  for (auto& t : workers) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  sampler.join();
  const long rss_end = RssKb(pid);

  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) fail("server did not stop cleanly");

  // Memory: the RSS in the last quarter of the run must not exceed the RSS
  // after the first quarter (warm: connections, arenas) by more than 10%
  // + 16 MiB.
  long warm = 0, late_max = 0, max_rss = 0;
  for (const auto& [t, kb] : rss_samples) {
    max_rss = std::max(max_rss, kb);
    if (t <= a.seconds * 0.25) warm = std::max(warm, kb);
    if (t >= a.seconds * 0.75) late_max = std::max(late_max, kb);
  }
  if (late_max > warm + warm / 10 + 16 * 1024) {
    fail("server RSS grew from " + std::to_string(warm) + " KiB to " + std::to_string(late_max) + " KiB");
  }
  if (unexpected > 0) fail(std::to_string(unexpected.load()) + " unexpected errors");
  for (const auto& e : errors) std::fprintf(stderr, "  %s\n", e.c_str());

  std::vector<double> lat = latencies_ms;
  std::printf("clients %d, %d s, model %s\n", a.threads, a.seconds, fs::path(a.model).filename().c_str());
  std::printf("requests: %ld good, %ld bad (expected refusals), %ld unexpected errors\n", good.load(), bad.load(),
              unexpected.load());
  std::printf("throughput: %.1f requests/s (%.1f good inferences/s)\n", (good + bad) / elapsed, good / elapsed);
  std::printf("latency (good inferences): p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", Percentile(lat, 0.50),
              Percentile(lat, 0.99), lat.empty() ? 0.0 : *std::max_element(lat.begin(), lat.end()));
  std::printf("server RSS: %ld KiB after upload, %ld KiB warm (first quarter), %ld KiB last quarter max, "
              "%ld KiB max, %ld KiB at end\n",
              rss_start, warm, late_max, max_rss, rss_end);
  std::printf("%s\n", rc == 0 ? "load test passed" : "load test FAILED");
  fs::remove_all(dir);
  return rc;
}
