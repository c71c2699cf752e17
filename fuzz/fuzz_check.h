// FUZZ_CHECK: an invariant of a fuzz target. A violation prints what failed and traps, so libFuzzer
// records the input as a crash (and sanitizers are not needed to notice it).
#pragma once

#include <cstdio>

#define FUZZ_CHECK(cond)                                                                  \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      std::fprintf(stderr, "FUZZ_CHECK failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      __builtin_trap();                                                                   \
    }                                                                                     \
  } while (0)
