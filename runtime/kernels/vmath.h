/* vmath.h - exp, sigmoid and tanh for float32 without libm, written once over a set of vector
 * operations and instantiated for one float (kv1: the portable path, and actmath.h's scalar
 * Sigmoid/Tanh), AVX2 (kv8) and AVX-512 (kv16). Every instance performs the same IEEE operations
 * in the same order (no fused multiply-adds, no estimates), so all give the same bits and a
 * fused, vectorised or emitted-C activation equals the standalone kernel. The maximum errors
 * (docs/optimization.md, "Vector math") are checked by tests/unit/test_acts.c. Free of
 * runtime-internal headers: the compiler includes it through rnn.h. */
#ifndef KILN_RT_VMATH_H
#define KILN_RT_VMATH_H

#include <stdint.h>
#include <string.h>

/* Which instances this header compiles, as gemm_core.c and conv_dw.c choose their variants:
 * all of them in libkilnrt (GCC or Clang on x86-64, per-function target attributes), those the
 * compiler flags enable in emitted C. */
#if defined(__x86_64__) && !defined(KILN_EMITTED) && defined(__GNUC__)
#define KILN_V_DISPATCH 1
#define KILN_V_AVX2 1
#define KILN_V_AVX512 1
#define KILN_V_TARGET(isa) __attribute__((target(isa)))
#elif defined(KILN_EMITTED)
#if defined(__AVX2__)
#define KILN_V_AVX2 1
#endif
#if defined(__AVX512F__)
#define KILN_V_AVX512 1
#endif
#define KILN_V_TARGET(isa)
#endif
#if defined(KILN_V_AVX2) || defined(KILN_V_AVX512)
#include <immintrin.h>
#endif

/* ---- the operations of one instance O, on its vector type V ----
 *   O_set(c)             c in every lane
 *   O_add/sub/mul/div    IEEE, lane by lane
 *   O_lt(a, b, x, y)     a < b ? x : y (false for NaN), likewise O_gt, O_ge
 *   O_abs(x), O_neg(x)   the sign bit cleared, flipped
 *   O_copysign(m, s)     m (sign bit clear) with the sign bit of s
 *   O_pow2(t, s1, s2)    t = n + 1.5 * 2^23 holds an integer n in [-150, 128] in its low
 *                        mantissa bits: s1 = 2^(n - floor(n/2)), s2 = 2^floor(n/2), both normal
 *   O_load(p), O_store(p, v)
 *   O_loadn(p, n), O_storen(p, v, n)  lanes j < n only (n < the width; 0 in the others) */

static inline float kv1_set(float c)
{
    return c;
}
static inline float kv1_add(float a, float b)
{
    return a + b;
}
static inline float kv1_sub(float a, float b)
{
    return a - b;
}
static inline float kv1_mul(float a, float b)
{
    return a * b;
}
static inline float kv1_div(float a, float b)
{
    return a / b;
}
static inline float kv1_lt(float a, float b, float x, float y)
{
    return a < b ? x : y;
}
static inline float kv1_gt(float a, float b, float x, float y)
{
    return a > b ? x : y;
}
static inline float kv1_ge(float a, float b, float x, float y)
{
    return a >= b ? x : y;
}
static inline uint32_t kv1_bits(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}
static inline float kv1_float(uint32_t u)
{
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}
static inline float kv1_abs(float x)
{
    return kv1_float(kv1_bits(x) & 0x7fffffffu);
}
static inline float kv1_neg(float x)
{
    return kv1_float(kv1_bits(x) ^ 0x80000000u);
}
static inline float kv1_copysign(float m, float s)
{
    return kv1_float(kv1_bits(m) | (kv1_bits(s) & 0x80000000u));
}
static inline void kv1_pow2(float t, float *s1, float *s2)
{
    uint32_t m = kv1_bits(t) - 0x4b400000u + 256u, h = m >> 1; /* n + 256, floor(n/2) + 128 */
    *s2 = kv1_float((h - 1u) << 23);
    *s1 = kv1_float((m - h - 1u) << 23);
}
static inline float kv1_load(const float *p)
{
    return *p;
}
static inline void kv1_store(float *p, float v)
{
    *p = v;
}
static inline float kv1_loadn(const float *p, int64_t n)
{
    return n > 0 ? *p : 0.0f;
}
static inline void kv1_storen(float *p, float v, int64_t n)
{
    if (n > 0)
        *p = v;
}

#ifdef KILN_V_AVX2
#define KV_A2 KILN_V_TARGET("avx2")
static inline KV_A2 __m256 kv8_set(float c)
{
    return _mm256_set1_ps(c);
}
static inline KV_A2 __m256 kv8_add(__m256 a, __m256 b)
{
    return _mm256_add_ps(a, b);
}
static inline KV_A2 __m256 kv8_sub(__m256 a, __m256 b)
{
    return _mm256_sub_ps(a, b);
}
static inline KV_A2 __m256 kv8_mul(__m256 a, __m256 b)
{
    return _mm256_mul_ps(a, b);
}
static inline KV_A2 __m256 kv8_div(__m256 a, __m256 b)
{
    return _mm256_div_ps(a, b);
}
static inline KV_A2 __m256 kv8_lt(__m256 a, __m256 b, __m256 x, __m256 y)
{
    return _mm256_blendv_ps(y, x, _mm256_cmp_ps(a, b, _CMP_LT_OQ));
}
static inline KV_A2 __m256 kv8_gt(__m256 a, __m256 b, __m256 x, __m256 y)
{
    return _mm256_blendv_ps(y, x, _mm256_cmp_ps(a, b, _CMP_GT_OQ));
}
static inline KV_A2 __m256 kv8_ge(__m256 a, __m256 b, __m256 x, __m256 y)
{
    return _mm256_blendv_ps(y, x, _mm256_cmp_ps(a, b, _CMP_GE_OQ));
}
static inline KV_A2 __m256 kv8_abs(__m256 x)
{
    return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
}
static inline KV_A2 __m256 kv8_neg(__m256 x)
{
    return _mm256_xor_ps(_mm256_set1_ps(-0.0f), x);
}
static inline KV_A2 __m256 kv8_copysign(__m256 m, __m256 s)
{
    return _mm256_or_ps(m, _mm256_and_ps(_mm256_set1_ps(-0.0f), s));
}
static inline KV_A2 void kv8_pow2(__m256 t, __m256 *s1, __m256 *s2)
{
    __m256i m = _mm256_add_epi32(_mm256_castps_si256(t), _mm256_set1_epi32(256 - 0x4b400000));
    __m256i h = _mm256_srli_epi32(m, 1), one = _mm256_set1_epi32(1);
    *s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_sub_epi32(h, one), 23));
    *s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_sub_epi32(_mm256_sub_epi32(m, h), one), 23));
}
static inline KV_A2 __m256 kv8_load(const float *p)
{
    return _mm256_loadu_ps(p);
}
static inline KV_A2 void kv8_store(float *p, __m256 v)
{
    _mm256_storeu_ps(p, v);
}
static inline KV_A2 __m256i kv8_first(int64_t n)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
static inline KV_A2 __m256 kv8_loadn(const float *p, int64_t n)
{
    return _mm256_maskload_ps(p, kv8_first(n));
}
static inline KV_A2 void kv8_storen(float *p, __m256 v, int64_t n)
{
    _mm256_maskstore_ps(p, kv8_first(n), v);
}
#endif

#ifdef KILN_V_AVX512
#define KV_A512 KILN_V_TARGET("avx512f")
static inline KV_A512 __m512 kv16_set(float c)
{
    return _mm512_set1_ps(c);
}
static inline KV_A512 __m512 kv16_add(__m512 a, __m512 b)
{
    return _mm512_add_ps(a, b);
}
static inline KV_A512 __m512 kv16_sub(__m512 a, __m512 b)
{
    return _mm512_sub_ps(a, b);
}
static inline KV_A512 __m512 kv16_mul(__m512 a, __m512 b)
{
    return _mm512_mul_ps(a, b);
}
static inline KV_A512 __m512 kv16_div(__m512 a, __m512 b)
{
    return _mm512_div_ps(a, b);
}
static inline KV_A512 __m512 kv16_lt(__m512 a, __m512 b, __m512 x, __m512 y)
{
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, b, _CMP_LT_OQ), y, x);
}
static inline KV_A512 __m512 kv16_gt(__m512 a, __m512 b, __m512 x, __m512 y)
{
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, b, _CMP_GT_OQ), y, x);
}
static inline KV_A512 __m512 kv16_ge(__m512 a, __m512 b, __m512 x, __m512 y)
{
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, b, _CMP_GE_OQ), y, x);
}
/* sign-bit logic in the integer domain: AVX-512F has no float and/or/xor */
static inline KV_A512 __m512 kv16_abs(__m512 x)
{
    return _mm512_castsi512_ps(
        _mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32(0x7fffffff)));
}
static inline KV_A512 __m512 kv16_neg(__m512 x)
{
    return _mm512_castsi512_ps(
        _mm512_xor_si512(_mm512_castps_si512(x), _mm512_set1_epi32((int)0x80000000u)));
}
static inline KV_A512 __m512 kv16_copysign(__m512 m, __m512 s)
{
    __m512i sign = _mm512_and_si512(_mm512_castps_si512(s), _mm512_set1_epi32((int)0x80000000u));
    return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(m), sign));
}
static inline KV_A512 void kv16_pow2(__m512 t, __m512 *s1, __m512 *s2)
{
    __m512i m = _mm512_add_epi32(_mm512_castps_si512(t), _mm512_set1_epi32(256 - 0x4b400000));
    __m512i h = _mm512_srli_epi32(m, 1), one = _mm512_set1_epi32(1);
    *s2 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_sub_epi32(h, one), 23));
    *s1 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_sub_epi32(_mm512_sub_epi32(m, h), one), 23));
}
static inline KV_A512 __m512 kv16_load(const float *p)
{
    return _mm512_loadu_ps(p);
}
static inline KV_A512 void kv16_store(float *p, __m512 v)
{
    _mm512_storeu_ps(p, v);
}
static inline KV_A512 __m512 kv16_loadn(const float *p, int64_t n)
{
    return _mm512_maskz_loadu_ps((__mmask16)((1u << n) - 1u), p);
}
static inline KV_A512 void kv16_storen(float *p, __m512 v, int64_t n)
{
    _mm512_mask_storeu_ps(p, (__mmask16)((1u << n) - 1u), v);
}
#endif

/* ---- the math, once over the operations ----
 * expm1 of u in [-104, 88] by Cody-Waite reduction, u = n*ln2 + r with |r| <= ln2/2 (ln2 in
 * two parts, the first exact in 9 bits), and a degree-7 Taylor polynomial of expm1(r)
 * (truncation below 2e-8 relative); n comes from rounding by the 1.5 * 2^23 constant, 2^n as
 * s1 * s2 so that results down to the denormals keep their bits. Returns expm1(r);
 * e^u = (s1 + s1 * expm1(r)) * s2.
 * O_exp(u): e^u for u <= 88, 0 below about -104, NaN kept.
 * O_vsigmoid(x): 1 / (1 + e) for x >= 0, e / (1 + e) below, e = e^-|x| (never overflows).
 * O_vtanh(x): tanh|x| = m / (m + 2), m = expm1(2|x|) (accurate for small |x|), 2|x| clamped to
 * 20 (tanh(10) rounds to 1), the sign copied back (keeps -0 and NaN). */
#define KILN_V_MATH(O, ATTR, V)                                                                    \
    static inline ATTR V O##_expm1_parts(V u, V *s1, V *s2)                                        \
    {                                                                                              \
        V shift = O##_set(12582912.0f);                                                            \
        V t = O##_add(O##_mul(u, O##_set(1.44269504f)), shift);                                    \
        V n = O##_sub(t, shift);                                                                   \
        O##_pow2(t, s1, s2);                                                                       \
        V r = O##_sub(O##_sub(u, O##_mul(n, O##_set(0.693359375f))),                               \
                      O##_mul(n, O##_set(-2.12194440e-4f)));                                       \
        V q = O##_set(1.98412698e-4f);                                                             \
        q = O##_add(O##_mul(q, r), O##_set(1.38888889e-3f));                                       \
        q = O##_add(O##_mul(q, r), O##_set(8.33333333e-3f));                                       \
        q = O##_add(O##_mul(q, r), O##_set(4.16666667e-2f));                                       \
        q = O##_add(O##_mul(q, r), O##_set(1.66666667e-1f));                                       \
        q = O##_add(O##_mul(q, r), O##_set(0.5f));                                                 \
        return O##_add(r, O##_mul(O##_mul(r, r), q));                                              \
    }                                                                                              \
    static inline ATTR V O##_exp(V u)                                                              \
    {                                                                                              \
        V lo = O##_set(-104.0f), s1, s2;                                                           \
        u = O##_lt(u, lo, lo, u);                                                                  \
        V p = O##_expm1_parts(u, &s1, &s2);                                                        \
        return O##_mul(O##_add(s1, O##_mul(s1, p)), s2);                                           \
    }                                                                                              \
    static inline ATTR V O##_vsigmoid(V x)                                                         \
    {                                                                                              \
        V one = O##_set(1.0f), e = O##_exp(O##_neg(O##_abs(x)));                                   \
        return O##_div(O##_ge(x, O##_set(0.0f), one, e), O##_add(one, e));                         \
    }                                                                                              \
    static inline ATTR V O##_vtanh(V x)                                                            \
    {                                                                                              \
        V u = O##_mul(O##_set(2.0f), O##_abs(x)), hi = O##_set(20.0f), s1, s2;                     \
        u = O##_gt(u, hi, hi, u);                                                                  \
        V p = O##_expm1_parts(u, &s1, &s2);                                                        \
        V s = O##_mul(s1, s2);                                                                     \
        V m = O##_add(O##_mul(s, p), O##_sub(s, O##_set(1.0f)));                                   \
        return O##_copysign(O##_div(m, O##_add(m, O##_set(2.0f))), x);                             \
    }

KILN_V_MATH(kv1, , float)
#ifdef KILN_V_AVX2
KILN_V_MATH(kv8, KV_A2, __m256)
#endif
#ifdef KILN_V_AVX512
KILN_V_MATH(kv16, KV_A512, __m512)
#endif

#endif
