/* conv_dw.h - the direct float32 convolution for depthwise Convs (one input channel per group,
 * any channel multiplier): no im2col, no GEMM, no scratch (narrow planes use 16 KiB of stack,
 * see DW_FLAT_BUF). conv.c calls it for the geometries
 * kiln_conv_direct() (nn.h) selects, which is also what sizes the node's scratch at compile time
 * and checks it at load time. Runtime-internal. */
#ifndef KILN_RT_CONV_DW_H
#define KILN_RT_CONV_DW_H

#include "nn.h"

/* One Conv over the geometry g: x [nb, C, in...], w [M, C/group, k...], y [nb, M, out...];
 * bias (M values) and res (y's layout) may be NULL. Output channel m reads the C/group input
 * channels of its group. */
struct kiln_conv_dw {
    const struct kiln_nn_geom *g;
    int64_t nb, C, M, group;
    const float *x, *w, *bias, *res;
    float *y;
    const struct kiln_act *act;
};

/* y = act((sum over taps of w * x) + bias + res), each output row through the epilogue while it
 * is in registers. The taps are summed in one order (input channel, then kernel dims outer to
 * inner) on every variant; the SIMD ones fuse each multiply-add. */
void kiln_conv_dw_f32(const struct kiln_conv_dw *c);

#ifndef KILN_EMITTED
/* Test hook: kiln_conv_dw_f32 on the given GEMM SIMD variant (gemm_core.h: the run-time choice
 * and KILN_SIMD apply to both); one the CPU lacks falls back like the GEMM. */
void kiln_conv_dw_f32_isa(enum kiln_gemm_isa isa, const struct kiln_conv_dw *c);
#endif

#endif
