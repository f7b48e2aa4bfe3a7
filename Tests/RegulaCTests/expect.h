/* Shared by the C test programs: EXPECT / EXPECT_STATUS count passes and report failures. */
#ifndef REGULA_TEST_EXPECT_H
#define REGULA_TEST_EXPECT_H
#include <stdio.h>

#include "regula.h"

static int failures = 0, passed = 0;

#define EXPECT(cond, ...)                                                  \
    do {                                                                   \
        if (cond) { passed++; } else {                                     \
            failures++;                                                    \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);           \
            fprintf(stderr, __VA_ARGS__);                                  \
            fprintf(stderr, " (last error: %s)\n", rg_last_error());       \
        }                                                                  \
    } while (0)

#define EXPECT_STATUS(call, want) \
    do { rg_status s_ = (call); EXPECT(s_ == (want), "%s returned %d, expected %d", #call, s_, want); } while (0)

#endif
