/* nn.h - helpers shared by the neural-network kernels (conv, pool, norm, softmax) and by the
 * compiler side that sizes their scratch: the dtype lists they are instantiated for, the
 * normalisation of 1-3 spatial dims to three, and the Conv and ConvTranspose scratch layouts.
 * Kept free of runtime-internal headers so compiler/ops can include it. */
#ifndef KILN_RT_NN_H
#define KILN_RT_NN_H

#include <stdint.h>

#include "kiln/kiln.h"
#include "kiln/params.h"
#include "gemm_core.h"

/* Float dtypes for NN kernel templates: X(sfx, DTYPE, storage type, compute type, load, store).
 * float16 is stored as bits and computed in float. */
#define KILN_NN_ID(x) (x)
#define KILN_NN_FLOATS(X)                                                                      \
    X(f32, F32, float, float, KILN_NN_ID, KILN_NN_ID)                                          \
    X(f64, F64, double, double, KILN_NN_ID, KILN_NN_ID)                                        \
    X(f16, F16, uint16_t, float, kiln_f16_to_f32, kiln_f32_to_f16)
/* Integer dtypes MaxPool serves (same shape of list). */
#define KILN_NN_INTS(X)                                                                        \
    X(i8, I8, int8_t, int8_t, KILN_NN_ID, KILN_NN_ID)                                          \
    X(u8, U8, uint8_t, uint8_t, KILN_NN_ID, KILN_NN_ID)

/* Window geometry of Conv and the pools with 1-3 spatial dims, padded at the front with unit
 * dims (kernel 1, stride 1, no padding) so every kernel loops over exactly three. */
struct kiln_nn_geom {
    int64_t in[3], out[3], k[3], s[3], d[3], pb[3], pe[3];
    int64_t in_size, out_size, k_size;
};

static inline void kiln_nn_geom(struct kiln_nn_geom *g, int nsp, const struct kiln_p_window *w,
                                const struct kiln_tensor *x, const struct kiln_tensor *y)
{
    int off = 3 - nsp;
    g->in_size = g->out_size = g->k_size = 1;
    for (int i = 0; i < 3; i++) {
        int j = i - off;
        int in_range = j >= 0;
        g->in[i] = in_range ? x->dims[2 + j] : 1;
        g->out[i] = in_range ? y->dims[2 + j] : 1;
        g->k[i] = in_range ? w->kernel[j] : 1;
        g->s[i] = in_range ? w->stride[j] : 1;
        g->d[i] = in_range ? w->dilation[j] : 1;
        g->pb[i] = in_range ? w->pad_begin[j] : 0;
        g->pe[i] = in_range ? w->pad_end[j] : 0;
        g->in_size *= g->in[i];
        g->out_size *= g->out[i];
        g->k_size *= g->k[i];
    }
}

/* Output positions o in [*lo, *hi) for which o*s + off lies inside [0, n). */
static inline void kiln_nn_valid_range(int64_t off, int64_t s, int64_t n, int64_t out,
                                       int64_t *lo, int64_t *hi)
{
    int64_t l = off >= 0 ? 0 : (-off + s - 1) / s;
    int64_t h = n - 1 - off < 0 ? 0 : (n - 1 - off) / s + 1;
    *lo = l < out ? l : out;
    *hi = h < out ? h : out;
    if (*hi < *lo)
        *hi = *lo;
}

/* A Conv that is a plain matrix product over the input (1x1 kernel, stride 1, no padding)
 * needs no im2col buffer. */
static inline int kiln_conv_pointwise(const struct kiln_p_conv *p)
{
    for (int i = 0; i < p->nsp; i++)
        if (p->win.kernel[i] != 1 || p->win.stride[i] != 1 || p->win.pad_begin[i] ||
            p->win.pad_end[i])
            return 0;
    return 1;
}

/* Conv scratch: the im2col matrix of one group ([C/group * kernel size] x output size), then
 * the GEMM's packing buffers. */
static inline uint64_t kiln_conv_col_bytes(const struct kiln_p_conv *p, uint64_t cg,
                                           uint64_t k_size, uint64_t out_size, uint64_t esize)
{
    return kiln_conv_pointwise(p) ? 0 : kiln_gemm_round_up(cg * k_size * out_size * esize, 64);
}

/* Float32 Convs with one input channel per group (depthwise, any channel multiplier mg) run the
 * direct kernel (conv_dw.c) instead of im2col + GEMM, except when one input channel feeds many
 * outputs (a first layer on a one-channel image), where the GEMM reuses each input load across
 * its register tile: measured even at 4 and 8 outputs per channel, slower for 8 on narrow rows,
 * 2.5x faster for 2. */
#define KILN_CONV_DIRECT_MAX_MG 4
static inline int kiln_conv_direct(const struct kiln_p_conv *p, uint64_t cg, uint64_t mg,
                                   uint64_t esize)
{
    (void)p;
    return esize == 4 && cg == 1 && mg <= KILN_CONV_DIRECT_MAX_MG;
}

/* The scratch a Conv node needs (the compiler sizes it, the loader checks it): none on the
 * direct path, else the im2col matrix and the GEMM's buffers. mg, cg: output and input channels
 * per group. */
static inline uint64_t kiln_conv_scratch_bytes(const struct kiln_p_conv *p, uint64_t cg,
                                               uint64_t mg, uint64_t k_size, uint64_t out_size,
                                               uint64_t esize)
{
    if (kiln_conv_direct(p, cg, mg, esize))
        return 0;
    return kiln_conv_col_bytes(p, cg, k_size, out_size, esize) +
           kiln_gemm_scratch_bytes(mg, out_size, cg * k_size, esize);
}

/* ConvTranspose scratch: the column matrix of one group ([M/group * kernel size] x input
 * size, the GEMM W^T x X), then the GEMM's packing buffers. */
static inline uint64_t kiln_conv_transpose_col_bytes(uint64_t mg, uint64_t k_size,
                                                     uint64_t in_size, uint64_t esize)
{
    return kiln_gemm_round_up(mg * k_size * in_size * esize, 64);
}

static inline uint64_t kiln_conv_transpose_scratch(uint64_t cg, uint64_t mg, uint64_t k_size,
                                                   uint64_t in_size, uint64_t esize)
{
    return kiln_conv_transpose_col_bytes(mg, k_size, in_size, esize) +
           kiln_gemm_scratch_bytes(mg * k_size, in_size, cg, esize);
}

#endif
