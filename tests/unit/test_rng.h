/* test_rng.h - the seeded generator behind the tests that draw random shapes and values (a
 * 64-bit LCG; high bits out). A test defines TEST_RNG_SEED before including it, so each file
 * keeps its own reproducible sequence. */
#ifndef KILN_TEST_RNG_H
#define KILN_TEST_RNG_H

#include <stdint.h>

static uint64_t rng = TEST_RNG_SEED;

static inline uint32_t next_u32(void)
{
    rng = rng * 6364136223846793005u + 1442695040888963407u;
    return (uint32_t)(rng >> 33);
}

static inline float next_unit(void) /* [-1, 1) */
{
    return (float)next_u32() / 2147483648.0f - 1.0f;
}

#endif
