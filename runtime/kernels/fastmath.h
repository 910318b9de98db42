/* fastmath.h - the -O3 approximations of exp, sigmoid, tanh and GELU used by fused epilogues
 * (act.h), FusedElementwise and Gelu with kiln_fast=1: no libm calls, branch-free enough to
 * vectorise. Their measured maximum errors are in docs/optimization.md ("Fusion passes") and
 * checked by tests/unit/test_passes.c (test_fastmath_bounds). */
#ifndef KILN_RT_FASTMATH_H
#define KILN_RT_FASTMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* exp(x) = 2^n * exp(r), n = round(x / ln2), |r| <= ln2/2 by a two-part ln2; exp(r) by a
 * degree-5 polynomial (Taylor, error below 3e-6 relative). Inputs are clamped so 2^n stays a
 * normal float: the result saturates near FLT_MAX and near 1e-38 instead of inf/denormals. */
static inline float kiln_fast_expf(float x)
{
    x = x < -87.0f ? -87.0f : x > 88.0f ? 88.0f : x;
    float t = x * 1.44269504f;
    float n = (float)(int32_t)(t + (t >= 0.0f ? 0.5f : -0.5f));
    float r = x - n * 0.693145752f - n * 1.42860677e-6f;
    float p = 1.0f + r * (1.0f + r * (0.5f + r * (0.166666667f + r * (0.0416666667f +
                                                                     r * 0.00833333333f))));
    int32_t bits = ((int32_t)n + 127) << 23;
    float s;
    memcpy(&s, &bits, sizeof s);
    return p * s;
}

static inline float kiln_fast_sigmoidf(float x)
{
    return 1.0f / (1.0f + kiln_fast_expf(-x));
}

/* tanh(x) = 1 - 2 / (1 + exp(2x)); absolute error, not relative, near 0 */
static inline float kiln_fast_tanhf(float x)
{
    return 1.0f - 2.0f / (1.0f + kiln_fast_expf(2.0f * x));
}

/* GELU's tanh form written as x * sigmoid(2 * sqrt(2/pi) * (x + 0.044715 x^3)) */
static inline float kiln_fast_geluf(float x)
{
    return x * kiln_fast_sigmoidf(1.5957691216f * (x + 0.044715f * x * x * x));
}

/* GELU's tanh form with libm's tanh: what exporters write for approximate='tanh' */
static inline float kiln_gelu_tanhf(float x)
{
    return 0.5f * x * (1.0f + tanhf(0.7978845608f * (x + 0.044715f * x * x * x)));
}

#endif
