#include "spin_governor.h"

#include "citadel/engine.h"

#include <fcntl.h>
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

bool ReadCpuSample(CpuSample* s) {
  // The aggregate line is the first one; 512 bytes hold it with room.
  const int fd = ::open("/proc/stat", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[512];
  const ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return false;
  static const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  if (ticks <= 0) return false;
  s->wall_s = Seconds(CLOCK_MONOTONIC);
  s->own_cpu_s = Seconds(CLOCK_PROCESS_CPUTIME_ID);
  return ParseProcStatCpuLine(std::string(buf, static_cast<size_t>(n)), ticks, &s->idle_cpu_s,
                              &s->total_cpu_s);
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
    if (have_last_) {
      static const int cpus = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
      const double others = OtherProcessesCpus(last_, s);
      throttled_.store(ShouldThrottle(throttled_.load(), others, cpus, threads));
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

void ObserveRun(int threads, double wall_s, double thread_cpu_s) {
  TheGovernor().AfterRun(threads, wall_s, thread_cpu_s);
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
