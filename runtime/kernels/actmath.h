/* actmath.h - the scalar math of every activation (one function per row of kiln/acts.def), the
 * one definition behind the standalone kernels (unary.c), the fused epilogue (act.h) and
 * FusedElementwise, so that fusing an activation changes no bit. Numerically stable forms: no
 * overflow for large |x|, expm1 where exp(x) - 1 would cancel, NaN in gives NaN out unless the
 * ONNX definition compares (ThresholdedRelu). float Sigmoid and Tanh (and SiLU, ScaledTanh
 * through them) are vmath.h's, the forms every SIMD path computes (vact.h). kiln_act_<name>_f
 * computes in float, kiln_act_<name>_d in double (float64 tensors); every function takes (x, alpha,
 * beta). */
#ifndef KILN_RT_ACTMATH_H
#define KILN_RT_ACTMATH_H

#include <math.h>

#include "fastmath.h"
#include "vmath.h"

/* BODY(T, M, K): statements over x, alpha, beta of type T; M(fn) is libm's fn for T, K(name)
 * the activation `name` of this header for T. Instantiated for float and double. */
#define KILN_AM_MF(fn) fn##f
#define KILN_AM_MD(fn) fn
#define KILN_AM_KF(name) kiln_act_##name##_f
#define KILN_AM_KD(name) kiln_act_##name##_d
#define KILN_AM_DEFINE(name, BODY)                                                                 \
    static inline float kiln_act_##name##_f(float x, float alpha, float beta)                      \
    {                                                                                              \
        (void)alpha, (void)beta;                                                                   \
        BODY(float, KILN_AM_MF, KILN_AM_KF)                                                        \
    }                                                                                              \
    static inline double kiln_act_##name##_d(double x, double alpha, double beta)                  \
    {                                                                                              \
        (void)alpha, (void)beta;                                                                   \
        BODY(double, KILN_AM_MD, KILN_AM_KD)                                                       \
    }

/* x < 0 keeps -0 and NaN as they are (numpy's maximum(x, 0)) */
#define KILN_AM_RELU(T, M, K) return x < 0 ? (T)0 : x;
/* ONNX: min(max(x, lo), hi), so hi wins when lo > hi; NaN passes */
#define KILN_AM_CLIP(T, M, K)                                                                      \
    x = x < alpha ? alpha : x;                                                                     \
    return x > beta ? beta : x;
#define KILN_AM_LEAKY_RELU(T, M, K) return x < 0 ? alpha * x : x;
/* exp(-|x|) never overflows; below 0 as e / (1 + e), which keeps the tiny results that
 * 1 / (1 + exp(-x)) would flush to 0. float: the same formula with vmath.h's exp, whose SIMD
 * instances give these bits (its maximum error: docs/optimization.md, "Vector math") */
#define KILN_AM_SIGMOID(T, M, K)                                                                   \
    if (sizeof(T) == sizeof(float))                                                                \
        return (T)kv1_vsigmoid((float)x);                                                          \
    T e = M(exp)(-M(fabs)(x));                                                                     \
    return x >= 0 ? 1 / (1 + e) : e / (1 + e);
#define KILN_AM_TANH(T, M, K)                                                                      \
    if (sizeof(T) == sizeof(float))                                                                \
        return (T)kv1_vtanh((float)x);                                                             \
    return M(tanh)(x);
/* max(0, min(1, alpha * x + beta)) by comparisons, so NaN propagates (fmin would make it 1) */
#define KILN_AM_HARD_SIGMOID(T, M, K)                                                              \
    T y = alpha * x + beta;                                                                        \
    return y < 0 ? (T)0 : y > 1 ? (T)1 : y;
#define KILN_AM_HARD_SWISH(T, M, K)                                                                \
    T y = x / 6 + (T)0.5;                                                                          \
    return x * (y < 0 ? (T)0 : y > 1 ? (T)1 : y);
/* x times the rounded sigmoid, as the unfused Mul(x, Sigmoid(x)) computes it */
#define KILN_AM_SILU(T, M, K) return x * K(sigmoid)(x, 0, 0);
/* Gelu's Erf and tanh forms are computed in double for float too (more accurate where
 * 1 + erf cancels) */
#define KILN_AM_GELU(T, M, K)                                                                      \
    double d = x;                                                                                  \
    return (T)(d / 2 * (1 + erf(d * 0.7071067811865476)));
#define KILN_AM_GELU_TANH(T, M, K)                                                                 \
    double d = x;                                                                                  \
    return (T)(d / 2 * (1 + tanh(0.7978845608028654 * (d + 0.044715 * d * d * d))));
#define KILN_AM_AFFINE(T, M, K) return alpha * x + beta;
/* x > alpha is false for NaN: ONNX's where(x > alpha, x, 0) gives 0 */
#define KILN_AM_THRESHOLDED_RELU(T, M, K) return x > alpha ? x : (T)0;
#define KILN_AM_SCALED_TANH(T, M, K) return alpha * K(tanh)(beta * x, 0, 0);
#define KILN_AM_ELU(T, M, K) return x < 0 ? alpha * M(expm1)(x) : x;
#define KILN_AM_SELU(T, M, K) return x <= 0 ? beta * (alpha * M(expm1)(x)) : beta * x;
/* max(0, x) + min(0, alpha * (exp(x / alpha) - 1)) for alpha > 0, NaN propagating */
#define KILN_AM_CELU(T, M, K) return x > 0 ? x : alpha * M(expm1)(x / alpha);
#define KILN_AM_SOFTSIGN(T, M, K) return x / (1 + M(fabs)(x));
/* log(1 + exp(x)) = x + log1p(exp(-x)) above 0: exp never overflows */
#define KILN_AM_SOFTPLUS(T, M, K) return x > 0 ? x + M(log1p)(M(exp)(-x)) : M(log1p)(M(exp)(x));
/* tanh(softplus(x)) is 1 to the type's precision long before softplus overflows */
#define KILN_AM_MISH(T, M, K) return x * M(tanh)(K(softplus)(x, 0, 0));
/* the -O3 approximations compute in float for either type */
#define KILN_AM_FAST_SIGMOID(T, M, K) return (T)kiln_fast_sigmoidf((float)x);
#define KILN_AM_FAST_TANH(T, M, K) return (T)kiln_fast_tanhf((float)x);
#define KILN_AM_FAST_SILU(T, M, K) return (T)((float)x * kiln_fast_sigmoidf((float)x));
#define KILN_AM_FAST_GELU(T, M, K) return (T)kiln_fast_geluf((float)x);

KILN_AM_DEFINE(relu, KILN_AM_RELU)
KILN_AM_DEFINE(clip, KILN_AM_CLIP)
KILN_AM_DEFINE(leaky_relu, KILN_AM_LEAKY_RELU)
KILN_AM_DEFINE(sigmoid, KILN_AM_SIGMOID)
KILN_AM_DEFINE(tanh, KILN_AM_TANH)
KILN_AM_DEFINE(hard_sigmoid, KILN_AM_HARD_SIGMOID)
KILN_AM_DEFINE(hard_swish, KILN_AM_HARD_SWISH)
KILN_AM_DEFINE(silu, KILN_AM_SILU)
KILN_AM_DEFINE(gelu, KILN_AM_GELU)
KILN_AM_DEFINE(gelu_tanh, KILN_AM_GELU_TANH)
KILN_AM_DEFINE(affine, KILN_AM_AFFINE)
KILN_AM_DEFINE(thresholded_relu, KILN_AM_THRESHOLDED_RELU)
KILN_AM_DEFINE(scaled_tanh, KILN_AM_SCALED_TANH)
KILN_AM_DEFINE(elu, KILN_AM_ELU)
KILN_AM_DEFINE(selu, KILN_AM_SELU)
KILN_AM_DEFINE(celu, KILN_AM_CELU)
KILN_AM_DEFINE(softsign, KILN_AM_SOFTSIGN)
KILN_AM_DEFINE(softplus, KILN_AM_SOFTPLUS)
KILN_AM_DEFINE(mish, KILN_AM_MISH)
KILN_AM_DEFINE(fast_sigmoid, KILN_AM_FAST_SIGMOID)
KILN_AM_DEFINE(fast_tanh, KILN_AM_FAST_TANH)
KILN_AM_DEFINE(fast_silu, KILN_AM_FAST_SILU)
KILN_AM_DEFINE(fast_gelu, KILN_AM_FAST_GELU)

#endif
