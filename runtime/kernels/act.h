/* act.h - the fused activation epilogue shared by Conv, Gemm and MatMul, and the gate
 * activations of LSTM/GRU/RNN. The optimisation passes fold a following Relu/Clip/... into the
 * producer's struct kiln_act; the kernels then apply it while the output is still in cache.
 * Computed in float for every dtype (the activations' own kernels define the reference; this
 * matches them to float precision). */
#ifndef KILN_RT_ACT_H
#define KILN_RT_ACT_H

#include <math.h>

#include "fastmath.h"
#include "kiln/params.h"

static inline float kiln_act_apply(const struct kiln_act *a, float x)
{
    switch (a->kind) {
    case KILN_ACT_RELU: return x > 0.0f ? x : 0.0f;
    case KILN_ACT_CLIP: return x < a->alpha ? a->alpha : x > a->beta ? a->beta : x;
    case KILN_ACT_LEAKY_RELU: return x >= 0.0f ? x : a->alpha * x;
    case KILN_ACT_SIGMOID: return 1.0f / (1.0f + expf(-x));
    case KILN_ACT_TANH: return tanhf(x);
    case KILN_ACT_HARD_SIGMOID: {
        float y = a->alpha * x + a->beta;
        return y < 0.0f ? 0.0f : y > 1.0f ? 1.0f : y;
    }
    case KILN_ACT_HARD_SWISH: {
        /* ONNX HardSwish: x * max(0, min(1, x/6 + 1/2)) */
        float y = x / 6.0f + 0.5f;
        return x * (y < 0.0f ? 0.0f : y > 1.0f ? 1.0f : y);
    }
    case KILN_ACT_SILU: return x / (1.0f + expf(-x));
    case KILN_ACT_GELU: return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
    case KILN_ACT_AFFINE: return a->alpha * x + a->beta;
    case KILN_ACT_THRESHOLDED_RELU: return x > a->alpha ? x : 0.0f;
    case KILN_ACT_SCALED_TANH: return a->alpha * tanhf(a->beta * x);
    case KILN_ACT_ELU: return x >= 0.0f ? x : a->alpha * (expf(x) - 1.0f);
    case KILN_ACT_SOFTSIGN: return x / (1.0f + fabsf(x));
    /* log1p(exp(x)) overflows for large x, where softplus(x) == x in float */
    case KILN_ACT_SOFTPLUS: return x > 20.0f ? x : log1pf(expf(x));
    case KILN_ACT_GELU_TANH: return kiln_gelu_tanhf(x);
    case KILN_ACT_FAST_SIGMOID: return kiln_fast_sigmoidf(x);
    case KILN_ACT_FAST_TANH: return kiln_fast_tanhf(x);
    case KILN_ACT_FAST_SILU: return x * kiln_fast_sigmoidf(x);
    case KILN_ACT_FAST_GELU: return kiln_fast_geluf(x);
    default: return x;
    }
}

#endif
