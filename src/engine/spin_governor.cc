#include "spin_governor.h"

#include "citadel/engine.h"

#include <fcntl.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <sstream>

namespace citadel::engine {

namespace {

// How often Runs look at the machine. /proc/stat counts in 10 ms ticks, so
// shorter windows would mostly measure rounding.
constexpr double kSampleInterval = 0.25;
// Other processes' CPUs, beyond the cores our team leaves free, that count
// as "someone wants our cores" (throttle) and "they left" (release).
// Background noise of an idle box is a few hundredths of a CPU; one busy
// process gets at least half a CPU even while our threads spin.
constexpr double kThrottleAbove = 0.35;
constexpr double kReleaseBelow = 0.2;

double Seconds(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// The CPUs this process may run on (its affinity when it first samples).
const std::vector<bool>& AllowedCpus() {
  static const std::vector<bool> allowed = [] {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) return std::vector<bool>();
    std::vector<bool> v(CPU_SETSIZE);
    for (int i = 0; i < CPU_SETSIZE; ++i) v[i] = CPU_ISSET(i, &set);
    return v;
  }();
  return allowed;
}

bool ReadCpuSample(CpuSample* s) {
  const int fd = ::open("/proc/stat", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  // The per-CPU lines come first; the file is a few KiB (more with many
  // CPUs and interrupts), read whole up to a cap.
  std::string text;
  char buf[16384];
  ssize_t n;
  while (text.size() < (size_t{1} << 20) && (n = ::read(fd, buf, sizeof buf)) > 0) {
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  static const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  if (ticks <= 0) return false;
  s->wall_s = Seconds(CLOCK_MONOTONIC);
  s->own_cpu_s = Seconds(CLOCK_PROCESS_CPUTIME_ID);
  s->cpus = SumProcStatCpus(text, ticks, AllowedCpus(), &s->idle_cpu_s, &s->total_cpu_s);
  return s->cpus > 0;
}

enum class Mode { kAuto, kOff, kAlwaysThrottled };

Mode ParseMode(const char* v) {
  if (v == nullptr) return Mode::kAuto;
  if (std::strcmp(v, "off") == 0 || std::strcmp(v, "0") == 0) return Mode::kOff;
  if (std::strcmp(v, "throttle") == 0) return Mode::kAlwaysThrottled;
  return Mode::kAuto;
}

Mode ModeFromEnvironment() {
  // The user chose a wait policy: honour it as it is.
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) return Mode::kOff;
  return ParseMode(std::getenv("CITADEL_SPIN_GOVERNOR"));
}

class Governor {
 public:
  Governor() { SetMode(ModeFromEnvironment()); }

  void SetMode(Mode mode) {
    mode_.store(mode);
    throttled_.store(mode == Mode::kAlwaysThrottled);
  }

  int ThreadsForRun(int threads) {
    const Mode mode = mode_.load(std::memory_order_relaxed);
    if (mode == Mode::kOff || threads < 2) return threads;
    if (mode == Mode::kAuto) Sample(threads);
    return throttled_.load(std::memory_order_relaxed) ? 1 : threads;
  }

  bool throttled() const { return throttled_.load(); }

  void AfterRun(int threads, double wall_s, double thread_cpu_s) {
    if (mode_.load(std::memory_order_relaxed) != Mode::kAuto) return;
    if (!throttled_.load(std::memory_order_relaxed) &&
        RunShowsContention(threads, wall_s, thread_cpu_s)) {
      throttled_.store(true);
    }
  }

 private:
  void Sample(int threads) {
    const double now = Seconds(CLOCK_MONOTONIC);
    if (now < next_sample_.load(std::memory_order_relaxed)) return;
    std::unique_lock<std::mutex> lock(mu_, std::try_to_lock);
    if (!lock.owns_lock()) return;  // another Run is sampling
    next_sample_.store(now + kSampleInterval, std::memory_order_relaxed);
    CpuSample s;
    if (!ReadCpuSample(&s)) {
      // No /proc/stat (a sandbox): nothing says the cores are free.
      throttled_.store(true);
      return;
    }
    if (have_last_ && s.cpus == last_.cpus) {
      const double others = OtherProcessesCpus(last_, s);
      throttled_.store(ShouldThrottle(throttled_.load(), others, s.cpus, threads));
    }
    last_ = s;
    have_last_ = true;
  }

  std::atomic<Mode> mode_{Mode::kAuto};
  std::mutex mu_;  // sampling
  std::atomic<double> next_sample_{0};
  std::atomic<bool> throttled_{false};
  bool have_last_ = false;  // guarded by mu_
  CpuSample last_;          // guarded by mu_
};

Governor& TheGovernor() {
  static Governor* g = new Governor();  // never destroyed: Runs may outlive statics
  return *g;
}

}  // namespace

bool ParseProcStatCpuLine(const std::string& text, double ticks_per_s, double* idle_cpu_s,
                          double* total_cpu_s) {
  if (text.compare(0, 4, "cpu ") != 0 || ticks_per_s <= 0) return false;
  const size_t eol = text.find('\n');
  std::istringstream in(text.substr(4, eol == std::string::npos ? eol : eol - 4));
  // user nice system idle iowait irq softirq steal guest guest_nice; guest
  // time is already inside user/nice, so only the first eight add up.
  double v[8] = {};
  int got = 0;
  while (got < 8 && (in >> v[got])) ++got;
  if (got < 4) return false;
  double total = 0;
  for (int i = 0; i < got; ++i) total += v[i];
  *idle_cpu_s = (v[3] + (got > 4 ? v[4] : 0)) / ticks_per_s;
  *total_cpu_s = total / ticks_per_s;
  return true;
}

int SumProcStatCpus(const std::string& text, double ticks_per_s, const std::vector<bool>& allowed,
                    double* idle_cpu_s, double* total_cpu_s) {
  double idle = 0, total = 0;
  int count = 0;
  size_t at = 0;
  while (at < text.size()) {
    size_t eol = text.find('\n', at);
    if (eol == std::string::npos) eol = text.size();
    const std::string line = text.substr(at, eol - at);
    at = eol + 1;
    // "cpu" followed by the CPU's number; the aggregate "cpu " is skipped.
    if (line.compare(0, 3, "cpu") != 0 || line.size() < 4 || line[3] < '0' || line[3] > '9') continue;
    size_t digits = 3;
    uint64_t cpu = 0;
    while (digits < line.size() && line[digits] >= '0' && line[digits] <= '9' && cpu < (1u << 20)) {
      cpu = cpu * 10 + static_cast<uint64_t>(line[digits] - '0');
      ++digits;
    }
    if (!allowed.empty() && (cpu >= allowed.size() || !allowed[cpu])) continue;
    double line_idle = 0, line_total = 0;
    if (!ParseProcStatCpuLine("cpu " + line.substr(digits), ticks_per_s, &line_idle, &line_total)) {
      continue;
    }
    idle += line_idle;
    total += line_total;
    ++count;
  }
  *idle_cpu_s = idle;
  *total_cpu_s = total;
  return count;
}

double OtherProcessesCpus(const CpuSample& before, const CpuSample& after) {
  const double wall = after.wall_s - before.wall_s;
  if (wall <= 0) return 0;
  const double busy = (after.total_cpu_s - before.total_cpu_s) -
                      (after.idle_cpu_s - before.idle_cpu_s);
  const double own = after.own_cpu_s - before.own_cpu_s;
  const double others = (busy - own) / wall;
  return others > 0 ? others : 0;
}

bool ShouldThrottle(bool throttled_now, double other_cpus, int cpus, int threads) {
  const double free_cores = cpus > threads ? cpus - threads : 0;
  if (throttled_now) return other_cpus >= free_cores + kReleaseBelow;
  return other_cpus > free_cores + kThrottleAbove;
}

bool RunShowsContention(int threads, double wall_s, double thread_cpu_s) {
  return threads >= 2 && wall_s >= 1e-3 && thread_cpu_s < 0.6 * wall_s;
}

RunStart StartRun() { return {Seconds(CLOCK_MONOTONIC), Seconds(CLOCK_THREAD_CPUTIME_ID)}; }

void ObserveRun(int threads, const RunStart& start) {
  if (threads < 2) return;  // nothing to throttle; skip the clock reads
  TheGovernor().AfterRun(threads, Seconds(CLOCK_MONOTONIC) - start.wall_s,
                         Seconds(CLOCK_THREAD_CPUTIME_ID) - start.thread_cpu_s);
}

int GovernThreads(int threads) { return TheGovernor().ThreadsForRun(threads); }

bool SpinThrottled() { return TheGovernor().throttled(); }

void SetSpinGovernorModeForTesting(const std::string& mode) {
  TheGovernor().SetMode(ParseMode(mode.c_str()));
}

}  // namespace citadel::engine

namespace citadel {
bool EngineSpinThrottled() { return engine::SpinThrottled(); }
}  // namespace citadel
