/* vact.h - the vector form of every activation of kiln/acts.def, for each SIMD instance of
 * vmath.h (kv8 AVX2, kv16 AVX-512): O_<lname>(x, alpha, beta) gives in every lane the bits of
 * actmath.h's kiln_act_<lname>_f (the exact ones by the same comparisons and operations in the
 * same order, Sigmoid and Tanh by vmath.h, which actmath.h's float forms are too); rows with no
 * vector body here go through the scalar function lane by lane. The one place fused epilogues
 * (epilogue.h, the GEMM's write-back, conv_dw.c), the standalone unary kernels,
 * FusedElementwise and the recurrent gates get vector activations from. */
#ifndef KILN_RT_VACT_H
#define KILN_RT_VACT_H

#include "act.h"
#include "gemm_core.h"
#include "vmath.h"

/* The bodies of one instance O (vector type V, VW lanes, target ATTR). */
#define KILN_VACT_DEFINE(O, ATTR, V, VW)                                                           \
    static inline ATTR V O##_relu(V x, float al, float be)                                         \
    {                                                                                              \
        (void)al, (void)be;                                                                        \
        V z = O##_set(0.0f);                                                                       \
        return O##_lt(x, z, z, x);                                                                 \
    }                                                                                              \
    static inline ATTR V O##_clip(V x, float al, float be)                                         \
    {                                                                                              \
        V lo = O##_set(al), hi = O##_set(be);                                                      \
        x = O##_lt(x, lo, lo, x);                                                                  \
        return O##_gt(x, hi, hi, x);                                                               \
    }                                                                                              \
    static inline ATTR V O##_leaky_relu(V x, float al, float be)                                   \
    {                                                                                              \
        (void)be;                                                                                  \
        return O##_lt(x, O##_set(0.0f), O##_mul(O##_set(al), x), x);                               \
    }                                                                                              \
    static inline ATTR V O##_sigmoid(V x, float al, float be)                                      \
    {                                                                                              \
        (void)al, (void)be;                                                                        \
        return O##_vsigmoid(x);                                                                    \
    }                                                                                              \
    static inline ATTR V O##_tanh(V x, float al, float be)                                         \
    {                                                                                              \
        (void)al, (void)be;                                                                        \
        return O##_vtanh(x);                                                                       \
    }                                                                                              \
    /* y < 0 ? 0 : y > 1 ? 1 : y */                                                                \
    static inline ATTR V O##_unit_clamp(V y)                                                       \
    {                                                                                              \
        V z = O##_set(0.0f), one = O##_set(1.0f);                                                  \
        return O##_lt(y, z, z, O##_gt(y, one, one, y));                                            \
    }                                                                                              \
    static inline ATTR V O##_hard_sigmoid(V x, float al, float be)                                 \
    {                                                                                              \
        return O##_unit_clamp(O##_add(O##_mul(O##_set(al), x), O##_set(be)));                      \
    }                                                                                              \
    static inline ATTR V O##_hard_swish(V x, float al, float be)                                   \
    {                                                                                              \
        (void)al, (void)be;                                                                        \
        V y = O##_add(O##_div(x, O##_set(6.0f)), O##_set(0.5f));                                   \
        return O##_mul(x, O##_unit_clamp(y));                                                      \
    }                                                                                              \
    static inline ATTR V O##_silu(V x, float al, float be)                                         \
    {                                                                                              \
        (void)al, (void)be;                                                                        \
        return O##_mul(x, O##_vsigmoid(x));                                                        \
    }                                                                                              \
    static inline ATTR V O##_affine(V x, float al, float be)                                       \
    {                                                                                              \
        return O##_add(O##_mul(O##_set(al), x), O##_set(be));                                      \
    }                                                                                              \
    static inline ATTR V O##_thresholded_relu(V x, float al, float be)                             \
    {                                                                                              \
        (void)be;                                                                                  \
        return O##_gt(x, O##_set(al), x, O##_set(0.0f));                                           \
    }                                                                                              \
    static inline ATTR V O##_scaled_tanh(V x, float al, float be)                                  \
    {                                                                                              \
        return O##_mul(O##_set(al), O##_vtanh(O##_mul(O##_set(be), x)));                           \
    }                                                                                              \
    static inline ATTR V O##_softsign(V x, float al, float be)                                     \
    {                                                                                              \
        (void)al, (void)be;                                                                        \
        return O##_div(x, O##_add(O##_set(1.0f), O##_abs(x)));                                     \
    }                                                                                              \
    KILN_VACT_LANES(O, ATTR, V, VW, gelu)                                                          \
    KILN_VACT_LANES(O, ATTR, V, VW, gelu_tanh)                                                     \
    KILN_VACT_LANES(O, ATTR, V, VW, elu)                                                           \
    KILN_VACT_LANES(O, ATTR, V, VW, selu)                                                          \
    KILN_VACT_LANES(O, ATTR, V, VW, celu)                                                          \
    KILN_VACT_LANES(O, ATTR, V, VW, softplus)                                                      \
    KILN_VACT_LANES(O, ATTR, V, VW, mish)                                                          \
    KILN_VACT_LANES(O, ATTR, V, VW, fast_sigmoid)                                                  \
    KILN_VACT_LANES(O, ATTR, V, VW, fast_tanh)                                                     \
    KILN_VACT_LANES(O, ATTR, V, VW, fast_silu)                                                     \
    KILN_VACT_LANES(O, ATTR, V, VW, fast_gelu)

/* A row without a vector body: actmath.h's function on each lane. */
#define KILN_VACT_LANES(O, ATTR, V, VW, lname)                                                     \
    static inline ATTR V O##_##lname(V x, float al, float be)                                      \
    {                                                                                              \
        float t_[VW];                                                                              \
        O##_store(t_, x);                                                                          \
        for (int j_ = 0; j_ < (VW); j_++)                                                          \
            t_[j_] = kiln_act_##lname##_f(t_[j_], al, be);                                         \
        return O##_load(t_);                                                                       \
    }

/* One case of O_act_map: y[0..n) = lname(x[0..n)) by whole vectors, the rest under a lane
 * mask (x may be y). */
#define KILN_VACT_LOOP(O, VW, lname)                                                           \
    {                                                                                          \
        float al_ = a->alpha, be_ = a->beta;                                                   \
        int64_t i_ = 0;                                                                        \
        for (; i_ + (VW) <= n; i_ += (VW))                                                     \
            O##_store(y + i_, O##_##lname(O##_load(x + i_), al_, be_));                        \
        if (i_ < n)                                                                            \
            O##_storen(y + i_, O##_##lname(O##_loadn(x + i_, n - i_), al_, be_), n - i_);      \
        return;                                                                                \
    }

#ifdef KILN_V_AVX2
KILN_VACT_DEFINE(kv8, KV_A2, __m256, 8)
/* act(x) for any kind of acts.def (the identity for NONE) */
static inline KV_A2 __m256 kv8_act(int kind, __m256 x, float al, float be)
{
    switch (kind) {
#define KILN_ACT(E, lname, ...)                                                                    \
    case KILN_ACT_##E:                                                                             \
        return kv8_##lname(x, al, be);
#include "kiln/acts.def"
#undef KILN_ACT
    default: return x;
    }
}
/* y[0..n) = act(x[0..n)) (x may be y); one loop per kind */
static inline KV_A2 void kv8_act_map(const struct kiln_act *a, const float *x, float *y, int64_t n)
{
    switch (a->kind) {
#define KILN_ACT(E, lname, ...)                                                                    \
    case KILN_ACT_##E: KILN_VACT_LOOP(kv8, 8, lname)
#include "kiln/acts.def"
#undef KILN_ACT
    default:
        if (x != y)
            memmove(y, x, (size_t)n * sizeof *y);
    }
}
#endif

#ifdef KILN_V_AVX512
KILN_VACT_DEFINE(kv16, KV_A512, __m512, 16)
static inline KV_A512 __m512 kv16_act(int kind, __m512 x, float al, float be)
{
    switch (kind) {
#define KILN_ACT(E, lname, ...)                                                                    \
    case KILN_ACT_##E:                                                                             \
        return kv16_##lname(x, al, be);
#include "kiln/acts.def"
#undef KILN_ACT
    default: return x;
    }
}
/* y[0..n) = act(x[0..n)) (x may be y); one loop per kind */
static inline KV_A512 void kv16_act_map(const struct kiln_act *a, const float *x, float *y, int64_t n)
{
    switch (a->kind) {
#define KILN_ACT(E, lname, ...)                                                                    \
    case KILN_ACT_##E: KILN_VACT_LOOP(kv16, 16, lname)
#include "kiln/acts.def"
#undef KILN_ACT
    default:
        if (x != y)
            memmove(y, x, (size_t)n * sizeof *y);
    }
}
#endif

static inline void kv1_act_map(const struct kiln_act *a, const float *x, float *y, int64_t n)
{
    switch (a->kind) {
#define KILN_ACT(E, lname, ...)                                                                    \
    case KILN_ACT_##E:                                                                             \
        for (int64_t i = 0; i < n; i++)                                                            \
            y[i] = kiln_act_##lname##_f(x[i], a->alpha, a->beta);                                  \
        return;
#include "kiln/acts.def"
#undef KILN_ACT
    default:
        if (x != y)
            memmove(y, x, (size_t)n * sizeof *y);
    }
}

/* y[0..n) = act(x[0..n)) (x may be y) on the SIMD variant in use: the GEMM's run-time choice
 * (KILN_SIMD) in libkilnrt, the best one the compiler flags enable in emitted C. Every variant
 * gives the same bits. */
static inline void kiln_vact_map(const struct kiln_act *a, const float *x, float *y, int64_t n)
{
#if defined(KILN_V_DISPATCH)
    switch (kiln_gemm_isa_active()) {
    case KILN_GEMM_ISA_AVX512: kv16_act_map(a, x, y, n); return;
    case KILN_GEMM_ISA_AVX2: kv8_act_map(a, x, y, n); return;
    default: break;
    }
#elif defined(KILN_V_AVX512)
    kv16_act_map(a, x, y, n);
    return;
#elif defined(KILN_V_AVX2)
    kv8_act_map(a, x, y, n);
    return;
#endif
    kv1_act_map(a, x, y, n);
}

#endif
