// Spin only while the machine has idle cores.
//
// Why: oneDNN runs on libgomp. Between two oneDNN calls of one Run, the
// other threads of the team wait. If they sleep (OMP_WAIT_POLICY=PASSIVE),
// every primitive has to wake them first; on this project's 2-vCPU VMs a
// futex wake costs tens of microseconds, so a 2-thread batch-1 CNN ran no
// faster than 1 thread while ONNX Runtime (whose workers spin) ran 1.6-1.9x
// faster. If they spin and another process wants the core, a thread that
// waits at a barrier for a preempted team-mate burns the CPU that
// team-mate needs: on a loaded box 2-thread runs were up to 10x slower.
//
// So `citadel` starts libgomp with a bounded spin (GOMP_SPINCOUNT, see
// src/cli/openmp_env.cc), and the governor watches how much CPU *other*
// processes use (/proc/stat's busy time on the CPUs this process may run
// on, minus this process's own CPU time, sampled at most every 0.25 s
// during Runs). While they take more than the
// cores a Run's team leaves free, Runs use one thread: nobody spins and
// nobody waits at a barrier for a preempted team-mate. When they leave, Runs
// use their threads again. (libgomp's spin count cannot be changed after
// start; oneDNN sizes a primitive's work split for the thread count it was
// created with, so the kernels key their primitives by thread count, and
// packed weights are shared between the two.)
//
// Off when the user chose a policy (OMP_WAIT_POLICY set) and with
// CITADEL_SPIN_GOVERNOR=off; CITADEL_SPIN_GOVERNOR=throttle always runs
// on one thread (A/B measurement).
#ifndef CITADEL_ENGINE_SPIN_GOVERNOR_H_
#define CITADEL_ENGINE_SPIN_GOVERNOR_H_

#include <cstdint>
#include <string>
#include <vector>

namespace citadel::engine {

// CPU accounting at one instant: /proc/stat's lines for the CPUs this
// process may run on, plus this process's CPU time.
struct CpuSample {
  double wall_s = 0;        // CLOCK_MONOTONIC
  double idle_cpu_s = 0;    // idle + iowait, summed over those CPUs
  double total_cpu_s = 0;   // every /proc/stat column, summed over those CPUs
  double own_cpu_s = 0;     // CLOCK_PROCESS_CPUTIME_ID
  int cpus = 0;             // how many CPUs were summed
};

// Parses the "cpu  user nice system idle iowait irq softirq steal ..." line
// of /proc/stat (ticks of `ticks_per_s`) into idle and total CPU seconds.
// False when the text has no such line.
bool ParseProcStatCpuLine(const std::string& text, double ticks_per_s, double* idle_cpu_s,
                          double* total_cpu_s);

// Sums the per-CPU lines ("cpuN ...") of /proc/stat text for the CPUs N
// with allowed[N] true (an empty `allowed`: every CPU) into idle and total
// CPU seconds. Returns how many CPUs were summed (0: none found). Why per
// CPU: in a container pinned to some of a host's cores (cpuset), the other
// cores' load is not in our way.
int SumProcStatCpus(const std::string& text, double ticks_per_s, const std::vector<bool>& allowed,
                    double* idle_cpu_s, double* total_cpu_s);

// CPUs' worth of work that other processes did between two samples
// (busy CPU time not spent by this process, per second of wall time).
double OtherProcessesCpus(const CpuSample& before, const CpuSample& after);

// The decision, with hysteresis: throttle when other processes use more
// than the cores a `threads`-thread team leaves free (plus a margin for
// background noise), release only when they are clearly below it again.
bool ShouldThrottle(bool throttled_now, double other_cpus, int cpus, int threads);

// A Run with `threads` >= 2 whose calling thread got less than 60% of its
// wall time as CPU time (at least 1 ms of wall): with spinning team-mates
// the calling thread only stops running when it is preempted, so another
// process took its core. Reacts within one Run, where /proc/stat needs a
// quarter of a second (a 2-thread MobileNetV2 Run measured 45 ms instead of
// 3.4 once, in a bench run too short for the first sample).
bool RunShowsContention(int threads, double wall_s, double thread_cpu_s);

// The calling thread's clocks when a Run starts (for ObserveRun).
struct RunStart {
  double wall_s = 0;        // CLOCK_MONOTONIC
  double thread_cpu_s = 0;  // CLOCK_THREAD_CPUTIME_ID
};
RunStart StartRun();

// Called by Model::Run after a Run that began at `start`: throttles at once
// on RunShowsContention; the next /proc/stat sample decides when to release.
void ObserveRun(int threads, const RunStart& start);

// Called by Model::Run with the Run's intra-op threads (resolved, >= 1);
// returns the threads to use: `threads`, or 1 while throttled. Cheap: a
// clock read unless a sample is due.
int GovernThreads(int threads);

// Whether Runs are throttled to one thread now (for `citadel bench`).
bool SpinThrottled();

// Tests: "auto", "off" or "throttle", as CITADEL_SPIN_GOVERNOR would set.
void SetSpinGovernorModeForTesting(const std::string& mode);

}  // namespace citadel::engine

#endif  // CITADEL_ENGINE_SPIN_GOVERNOR_H_
