// Copyright EMPI developers.
//
// fuzz_check.h: FUZZ_CHECK(cond), an invariant of a fuzz target. A failed
// check prints the condition and aborts, which libFuzzer reports as a crash
// and saves the input for.
#ifndef EMPI_TESTS_FUZZ_FUZZ_CHECK_H_
#define EMPI_TESTS_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond)                                                                 \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                      \
    }                                                                                    \
  } while (0)

#endif  // EMPI_TESTS_FUZZ_FUZZ_CHECK_H_
