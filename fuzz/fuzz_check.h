// Shared helper for Citadel's libFuzzer targets: a property check that
// aborts (so libFuzzer records a crash and saves the input) when an
// invariant such as "decode(encode(x)) == x" does not hold.
#ifndef CITADEL_FUZZ_CHECK_H_
#define CITADEL_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond)                                                              \
  do {                                                                                \
    if (!(cond)) {                                                                    \
      std::fprintf(stderr, "FUZZ_CHECK failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                   \
    }                                                                                 \
  } while (0)

#endif  // CITADEL_FUZZ_CHECK_H_
