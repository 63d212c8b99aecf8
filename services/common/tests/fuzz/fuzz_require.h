/* SPDX-License-Identifier: MIT */
/* fuzz_require.h: FUZZ_REQUIRE(cond), the invariant check of every fuzz target: a broken one
 * aborts, so libFuzzer keeps the input (and the replay test fails on it). */
#ifndef EDLIVE_FUZZ_REQUIRE_H
#define EDLIVE_FUZZ_REQUIRE_H

#include <stdio.h>
#include <stdlib.h>

#define FUZZ_REQUIRE(cond)                                                                    \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            fprintf(stderr, "%s:%d: fuzz invariant broken: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                          \
        }                                                                                     \
    } while (0)

#endif
