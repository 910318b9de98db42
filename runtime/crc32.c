/* crc32.c - kiln_crc32, the bundle's checksum (CRC-32 of zlib: reflected polynomial 0xEDB88320,
 * initial and final xor ~0). Loading a bundle is mostly this checksum, so it must run at
 * memory speed: on x86-64 with PCLMULQDQ (chosen at run time; KILN_SIMD=portable forces the
 * table) 64-byte blocks are folded by carry-less multiplication (Gopal et al., "Fast CRC
 * Computation for Generic Polynomials Using PCLMULQDQ Instruction", Intel 2009); elsewhere,
 * and for the tails, a slice-by-16 table (crc32_table.h). */
#include <stdlib.h>
#include <string.h>

#include "kiln/bundle.h"
#include "crc32.h"
#include "crc32_table.h"

/* Each byte of a 16-byte block is looked up in the table for its distance from the block's
 * end; the words are read little-endian, as the bundle is. */
uint32_t kiln_crc32_portable(uint32_t crc, const void *p, size_t n)
{
    const uint32_t(*t)[256] = kiln_crc32_table;
    const uint8_t *b = p;
    crc = ~crc;
    for (; n >= 16; n -= 16, b += 16) {
        uint32_t w[4];
        memcpy(w, b, sizeof w);
        w[0] ^= crc;
        crc = t[15][w[0] & 255] ^ t[14][(w[0] >> 8) & 255] ^ t[13][(w[0] >> 16) & 255] ^
              t[12][w[0] >> 24] ^ t[11][w[1] & 255] ^ t[10][(w[1] >> 8) & 255] ^
              t[9][(w[1] >> 16) & 255] ^ t[8][w[1] >> 24] ^ t[7][w[2] & 255] ^
              t[6][(w[2] >> 8) & 255] ^ t[5][(w[2] >> 16) & 255] ^ t[4][w[2] >> 24] ^
              t[3][w[3] & 255] ^ t[2][(w[3] >> 8) & 255] ^ t[1][(w[3] >> 16) & 255] ^
              t[0][w[3] >> 24];
    }
    for (; n; n--, b++)
        crc = (crc >> 8) ^ t[0][(crc ^ *b) & 255];
    return ~crc;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/* Folding constants of the paper for this polynomial, bit-reflected: x^(k) mod P for the fold
 * distances (4x128 bits: K1, K2; 128 bits: K3, K4; 64 and 32 bits: K5), then P' and mu of the
 * Barrett reduction. */
#define K1 0x154442bd4ull
#define K2 0x1c6e41596ull
#define K3 0x1751997d0ull
#define K4 0x0ccaa009eull
#define K5 0x163cd6124ull
#define P_PRIME 0x1db710641ull
#define MU 0x1f7011641ull

#define CLMUL_TARGET __attribute__((target("pclmul,sse2")))

/* x.lo * k.lo ^ x.hi * k.hi ^ next: one 128-bit lane carried forward over the distance k
 * encodes, onto the data found there. */
CLMUL_TARGET static inline __m128i fold(__m128i x, __m128i k, __m128i next)
{
    __m128i lo = _mm_clmulepi64_si128(x, k, 0x00), hi = _mm_clmulepi64_si128(x, k, 0x11);
    return _mm_xor_si128(_mm_xor_si128(lo, hi), next);
}

/* Register (not inverted) over n bytes, n >= 64 and a multiple of 16. */
CLMUL_TARGET static uint32_t clmul_blocks(uint32_t reg, const uint8_t *b, size_t n)
{
    __m128i x0 = _mm_loadu_si128((const __m128i *)b);
    __m128i x1 = _mm_loadu_si128((const __m128i *)(b + 16));
    __m128i x2 = _mm_loadu_si128((const __m128i *)(b + 32));
    __m128i x3 = _mm_loadu_si128((const __m128i *)(b + 48));
    x0 = _mm_xor_si128(x0, _mm_cvtsi32_si128((int)reg));
    b += 64;
    n -= 64;
    __m128i k = _mm_set_epi64x((long long)K2, (long long)K1);
    for (; n >= 64; n -= 64, b += 64) {
        x0 = fold(x0, k, _mm_loadu_si128((const __m128i *)b));
        x1 = fold(x1, k, _mm_loadu_si128((const __m128i *)(b + 16)));
        x2 = fold(x2, k, _mm_loadu_si128((const __m128i *)(b + 32)));
        x3 = fold(x3, k, _mm_loadu_si128((const __m128i *)(b + 48)));
    }
    k = _mm_set_epi64x((long long)K4, (long long)K3);
    x0 = fold(x0, k, x1);
    x0 = fold(x0, k, x2);
    x0 = fold(x0, k, x3);
    for (; n >= 16; n -= 16, b += 16)
        x0 = fold(x0, k, _mm_loadu_si128((const __m128i *)b));
    /* 128 -> 64 bits (appending 32 zero bits): the low half times K4 onto the high half */
    __m128i mask32 = _mm_set_epi32(0, 0, 0, -1);
    x0 = _mm_xor_si128(_mm_clmulepi64_si128(x0, k, 0x10), _mm_srli_si128(x0, 8));
    /* 64 -> 32 bits: the low 32 bits times K5 onto the rest */
    __m128i k5 = _mm_set_epi64x(0, (long long)K5);
    x0 = _mm_xor_si128(_mm_clmulepi64_si128(_mm_and_si128(x0, mask32), k5, 0x00),
                       _mm_srli_si128(x0, 4));
    /* Barrett reduction to the 32-bit remainder */
    __m128i pm = _mm_set_epi64x((long long)MU, (long long)P_PRIME);
    __m128i t = _mm_clmulepi64_si128(_mm_and_si128(x0, mask32), pm, 0x10);
    t = _mm_clmulepi64_si128(_mm_and_si128(t, mask32), pm, 0x00);
    x0 = _mm_xor_si128(x0, t);
    return (uint32_t)_mm_cvtsi128_si32(_mm_srli_si128(x0, 4));
}

int kiln_crc32_clmul_supported(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse2");
}

uint32_t kiln_crc32_clmul(uint32_t crc, const void *p, size_t n)
{
    if (n < 64 || !kiln_crc32_clmul_supported())
        return kiln_crc32_portable(crc, p, n);
    size_t bulk = n & ~(size_t)15;
    uint32_t reg = clmul_blocks(~crc, p, bulk);
    return kiln_crc32_portable(~reg, (const uint8_t *)p + bulk, n - bulk);
}

/* -1 until the first call decides; threads racing on it compute the same value (relaxed). */
static int use_clmul = -1;

uint32_t kiln_crc32(uint32_t crc, const void *p, size_t n)
{
    int use = __atomic_load_n(&use_clmul, __ATOMIC_RELAXED);
    if (use < 0) {
        const char *simd = getenv("KILN_SIMD");
        use = kiln_crc32_clmul_supported() && !(simd && strcmp(simd, "portable") == 0);
        __atomic_store_n(&use_clmul, use, __ATOMIC_RELAXED);
    }
    return use ? kiln_crc32_clmul(crc, p, n) : kiln_crc32_portable(crc, p, n);
}

#else

int kiln_crc32_clmul_supported(void)
{
    return 0;
}

uint32_t kiln_crc32_clmul(uint32_t crc, const void *p, size_t n)
{
    return kiln_crc32_portable(crc, p, n);
}

uint32_t kiln_crc32(uint32_t crc, const void *p, size_t n)
{
    return kiln_crc32_portable(crc, p, n);
}

#endif
