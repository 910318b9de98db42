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
 * degree-6 polynomial (Taylor: truncation error below 2e-7 relative). Inputs are clamped so 2^n
 * stays a normal float: the result saturates near FLT_MAX and near 1e-38 instead of inf/denormals.
 */
static inline float kiln_fast_expf(float in)
{
    /* NaN takes the lower bound here (converting it to int32_t is undefined) and comes back at
     * the end */
    float x = in > -87.0f ? (in < 88.0f ? in : 88.0f) : -87.0f;
    float t = x * 1.44269504f;
    float n = (float)(int32_t)(t + (t >= 0.0f ? 0.5f : -0.5f));
    float r = x - n * 0.693145752f - n * 1.42860677e-6f;
    float p = 1.0f + r * (1.0f + r * (0.5f + r * (0.166666667f +
                                                  r * (0.0416666667f + r * (0.00833333333f +
                                                                            r * 0.00138888889f)))));
    int32_t bits = ((int32_t)n + 127) << 23;
    float s;
    memcpy(&s, &bits, sizeof s);
    return in == in ? p * s : in;
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

/* erf by Abramowitz & Stegun 7.1.26 (a rational term times exp(-x^2), 1.5e-7 absolute) with
 * the fast exp; GELU(x) = x/2 * (1 + erf(x / sqrt(2))), the exact (Erf) form approximated */
static inline float kiln_fast_erff(float x)
{
    float ax = x < 0.0f ? -x : x;
    float t = 1.0f / (1.0f + 0.3275911f * ax);
    float y =
        1.0f -
        t *
            (0.254829592f +
             t * (-0.284496736f + t * (1.421413741f + t * (-1.453152027f + t * 1.061405429f)))) *
            kiln_fast_expf(-ax * ax);
    return x < 0.0f ? -y : y;
}

static inline float kiln_fast_geluf(float x)
{
    return 0.5f * x * (1.0f + kiln_fast_erff(x * 0.7071067812f));
}

/* GELU's tanh form as x * sigmoid(2 * sqrt(2/pi) * (x + 0.044715 x^3)) with the fast exp */
static inline float kiln_fast_gelu_tanhf(float x)
{
    return x * kiln_fast_sigmoidf(1.5957691216f * (x + 0.044715f * x * x * x));
}

#endif
