// OpenMP wait policy for the `citadel` process.
//
// Why: oneDNN (Debian's libdnnl) runs on libgomp, whose idle threads spin
// at the end of every parallel region (up to 300000 iterations, about a
// millisecond) before sleeping. While one thread runs the serial work
// between oneDNN calls (reference kernels, the executor) the others spin on
// the remaining cores; on a machine that is shared or oversubscribed the
// spinners take the CPU the working thread needs, and a 2-thread run was
// measured up to 100x slower than a 1-thread run (docs/performance.md).
// With OMP_WAIT_POLICY=PASSIVE idle threads sleep on a futex at once.
//
// libgomp reads OMP_WAIT_POLICY / GOMP_SPINCOUNT once, in its constructor,
// before main() runs, and has no API to change it later. So when the user
// has set neither, the process sets OMP_WAIT_POLICY=PASSIVE and re-executes
// itself (same binary, same argv) once; the variable is then set and the
// second start goes straight on. Users who want spinning (a dedicated
// machine) set OMP_WAIT_POLICY=ACTIVE or GOMP_SPINCOUNT themselves.
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

void EnsureOpenMpWaitPolicy(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr || std::getenv("GOMP_SPINCOUNT") != nullptr) return;
  // Escape hatch: CITADEL_NO_REEXEC=1 keeps the process as started (e.g.
  // under a debugger), with libgomp's default spinning.
  if (const char* v = std::getenv("CITADEL_NO_REEXEC"); v != nullptr && v[0] == '1') return;
  if (setenv("OMP_WAIT_POLICY", "PASSIVE", 1) != 0) return;
  // /proc/self/exe is this exact binary even if argv[0] is relative or was
  // replaced on disk; where it is unavailable, execv fails and we go on
  // with the default policy (slower, still correct).
  execv("/proc/self/exe", argv);
  unsetenv("OMP_WAIT_POLICY");
}

}  // namespace citadel
