// OpenMP wait policy for the `citadel` process.
//
// Why: oneDNN (Debian's libdnnl) runs on libgomp. Between two oneDNN calls
// the idle threads of a team either spin or sleep on a futex:
// - libgomp's default spins up to 300000 iterations (a few milliseconds).
//   On a shared or oversubscribed machine the spinners take the CPU the
//   working thread needs: a 2-thread run was measured up to 100x slower
//   than a 1-thread run (docs/performance.md).
// - PASSIVE sleeps at once, and then every primitive pays a futex wake: on
//   a quiet 2-vCPU VM a 2-thread batch-1 CNN ran no faster than 1 thread,
//   while ONNX Runtime (whose workers spin) ran 1.6-1.9x faster.
// So the default is a bounded spin, GOMP_SPINCOUNT=kSpinCount (~0.3 ms at
// libgomp's "100000 spins per ms", longer than the gaps between two oneDNN
// calls, short after a Run ends), and the engine's spin governor
// (src/engine/spin_governor.h) throttles it while other processes want the
// cores.
//
// libgomp reads OMP_WAIT_POLICY / GOMP_SPINCOUNT once, in its constructor,
// before main() runs, and has no API to change them later. So when the user
// has set neither, the process sets GOMP_SPINCOUNT and re-executes itself
// (same binary, same argv) once; the variable is then set and the second
// start goes straight on. Users who want another policy set
// OMP_WAIT_POLICY (PASSIVE: never spin; ACTIVE: always spin, no governor)
// or GOMP_SPINCOUNT themselves.
#include <malloc.h>
#include <unistd.h>

#include <cstdlib>

namespace citadel {

// The engine allocates and frees every intermediate activation on each Run
// (megabytes each). glibc serves such sizes with mmap and unmaps them on
// free (or trims the heap top), so every Run page-faulted its activations
// in again: about 10% of an EfficientNet-B0 run under perf. Keeping them
// in the heap (mmap threshold at glibc's maximum, trimming only past
// 256 MiB free) makes later Runs reuse warm pages. Peak RSS is unchanged;
// memory freed after a peak is returned less eagerly.
void TuneAllocatorForInference() {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
}

namespace {
constexpr const char* kSpinCount = "30000";
}  // namespace

void EnsureOpenMpWaitPolicy(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr || std::getenv("GOMP_SPINCOUNT") != nullptr) return;
  // Escape hatch: CITADEL_NO_REEXEC=1 keeps the process as started (e.g.
  // under a debugger), with libgomp's default spinning.
  if (const char* v = std::getenv("CITADEL_NO_REEXEC"); v != nullptr && v[0] == '1') return;
  if (setenv("GOMP_SPINCOUNT", kSpinCount, 1) != 0) return;
  // /proc/self/exe is this exact binary even if argv[0] is relative or was
  // replaced on disk; where it is unavailable, execv fails and we go on
  // with libgomp's default spinning (still governed by the engine).
  execv("/proc/self/exe", argv);
  unsetenv("GOMP_SPINCOUNT");
}

}  // namespace citadel
