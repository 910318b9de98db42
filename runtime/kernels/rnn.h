/* rnn.h - the scratch layout of the recurrent kernels (LSTM, GRU, RNN), shared by the compiler
 * (which sizes n->scratch_size with it) and runtime/kernels/rnn.c (which carves the buffers).
 * Like gemm_core.h it is included by the compiler: keep it free of runtime-internal headers. */
#ifndef KILN_RT_RNN_H
#define KILN_RT_RNN_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "gemm_core.h"

/* Byte offsets into the kernel's scratch, each 64-aligned; gemm first because the GEMM packs
 * need the arena's 64-byte alignment.
 *
 *   gemm | xw [seq*batch, G*H] | hr [batch, G*H] | h [batch, H] | c [batch, H] | tmp [batch, H]
 *   | rt [H, G*H]
 *
 * xw: the input projection X.W^T of every timestep of one direction; hr: H.R^T of one step;
 * h, c: the running state; tmp: GRU's r (.) H before it meets R_h, LSTM's h(Ct); rt: R of one
 * direction transposed, so that every step's GEMM packs its B by contiguous rows. */
struct kiln_rnn_scratch {
    uint64_t gemm, xw, hr, h, c, tmp, rt, total;
};

static inline struct kiln_rnn_scratch kiln_rnn_scratch_layout(uint64_t seq, uint64_t batch,
                                                              uint64_t input, uint64_t hidden,
                                                              uint64_t gates, uint64_t esize)
{
    struct kiln_rnn_scratch s;
    uint64_t g1 = kiln_gemm_scratch_bytes(seq * batch, gates * hidden, input, esize);
    uint64_t g2 = kiln_gemm_scratch_bytes(batch, gates * hidden, hidden, esize);
    s.gemm = 0;
    s.xw = kiln_gemm_round_up(g1 > g2 ? g1 : g2, 64);
    s.hr = s.xw + kiln_gemm_round_up(seq * batch * gates * hidden * esize, 64);
    s.h = s.hr + kiln_gemm_round_up(batch * gates * hidden * esize, 64);
    s.c = s.h + kiln_gemm_round_up(batch * hidden * esize, 64);
    s.tmp = s.c + kiln_gemm_round_up(batch * hidden * esize, 64);
    s.rt = s.tmp + kiln_gemm_round_up(batch * hidden * esize, 64);
    s.total = s.rt + kiln_gemm_round_up(hidden * gates * hidden * esize, 64);
    return s;
}

/* ---- the default gate activations, written for the vectoriser ----
 * Sigmoid and Tanh without libm calls or branches, so a loop over a gate vectorises (the gate
 * pass of rnn.c). Both rest on expm1 of u by Cody-Waite reduction, u = n*ln2 + r with
 * |r| <= ln2/2, and a degree-7 Taylor polynomial of expm1(r) (truncation below 2e-8 relative);
 * 2^n is built in the exponent bits from the rounding constant's low bits, with no float to int
 * conversion (so NaN stays NaN without undefined behaviour). Maximum errors against double
 * precision are checked by tests/unit/test_rnn.c (test_gate_math). u must lie in [-87, 87]. */
static inline float kiln_rnn_expm1_parts(float u, float *scale)
{
    const float shift = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
    float t = u * 1.44269504f + shift;
    float n = t - shift;
    uint32_t tb, sb;
    memcpy(&tb, &t, sizeof tb);
    sb = (tb - 0x4b400000u + 127u) << 23; /* the low bits of t hold n */
    memcpy(scale, &sb, sizeof sb);
    float r = (u - n * 0.693359375f) - n * -2.12194440e-4f;
    float q = 1.98412698e-4f;
    q = q * r + 1.38888889e-3f;
    q = q * r + 8.33333333e-3f;
    q = q * r + 4.16666667e-2f;
    q = q * r + 1.66666667e-1f;
    q = q * r + 0.5f;
    return r + r * r * q; /* expm1(r); expm1(u) = scale * (1 + this) - 1 */
}

/* 1 / (1 + e^-x) from e = exp(-|x|), which cannot overflow; e / (1 + e) below 0 */
static inline float kiln_rnn_sigmoidf(float x)
{
    float u = -fabsf(x), s;
    u = u < -87.0f ? -87.0f : u;
    float p = kiln_rnn_expm1_parts(u, &s);
    float e = s + s * p;
    return (x >= 0.0f ? 1.0f : e) / (1.0f + e); /* one division, selected operand: no branch */
}

/* tanh|x| = m / (m + 2) with m = expm1(2|x|), which keeps small |x| accurate; tanh(10) is 1 in
 * float, so 2|x| is clamped to 20; the sign copied back keeps -0 and NaN's sign. */
static inline float kiln_rnn_tanhf(float x)
{
    float u = 2.0f * fabsf(x), s;
    u = u > 20.0f ? 20.0f : u;
    float p = kiln_rnn_expm1_parts(u, &s);
    float m = s * p + (s - 1.0f);
    return copysignf(m / (m + 2.0f), x);
}

#endif
