/* im2col.h - im2col over the geometry of runtime/kernels/nn.h as a template with a padding
 * value: the integer convolutions pad with the input's zero point (which the GEMM then
 * subtracts to 0), the float Conv could instantiate it with 0. Runtime-internal. */
#ifndef KILN_RT_IM2COL_H
#define KILN_RT_IM2COL_H

#include <string.h>

#include "nn.h"

/* static void name(x, cg, g, pad, col): for cg channels of x ([cg, in...]),
 * col[(c*k_size + kpos) * out_size + opos] = x at that tap, or pad outside the input. */
#define KILN_IM2COL_DEFINE(name, T)                                                            \
    static void name##_fill(T *r, int64_t n, T pad)                                            \
    {                                                                                          \
        for (int64_t i = 0; i < n; i++)                                                        \
            r[i] = pad;                                                                        \
    }                                                                                          \
    static void name(const T *x, int64_t cg, const struct kiln_nn_geom *g, T pad, T *col)      \
    {                                                                                          \
        int64_t o12 = g->out[1] * g->out[2];                                                   \
        for (int64_t c = 0; c < cg; c++)                                                       \
            for (int64_t k0 = 0; k0 < g->k[0]; k0++)                                           \
                for (int64_t k1 = 0; k1 < g->k[1]; k1++)                                       \
                    for (int64_t k2 = 0; k2 < g->k[2]; k2++, col += g->out_size) {             \
                        int64_t off0 = k0 * g->d[0] - g->pb[0];                                \
                        int64_t off1 = k1 * g->d[1] - g->pb[1];                                \
                        int64_t off2 = k2 * g->d[2] - g->pb[2];                                \
                        int64_t lo2, hi2;                                                      \
                        kiln_nn_valid_range(off2, g->s[2], g->in[2], g->out[2], &lo2, &hi2);   \
                        for (int64_t o0 = 0; o0 < g->out[0]; o0++) {                           \
                            int64_t i0 = o0 * g->s[0] + off0;                                  \
                            T *r0 = col + o0 * o12;                                            \
                            if (i0 < 0 || i0 >= g->in[0]) {                                    \
                                name##_fill(r0, o12, pad);                                     \
                                continue;                                                      \
                            }                                                                  \
                            for (int64_t o1 = 0; o1 < g->out[1]; o1++) {                       \
                                int64_t i1 = o1 * g->s[1] + off1;                              \
                                T *r = r0 + o1 * g->out[2];                                    \
                                if (i1 < 0 || i1 >= g->in[1]) {                                \
                                    name##_fill(r, g->out[2], pad);                            \
                                    continue;                                                  \
                                }                                                              \
                                const T *src = x + ((c * g->in[0] + i0) * g->in[1] + i1) *     \
                                                       g->in[2] + off2;                        \
                                name##_fill(r, lo2, pad);                                      \
                                if (g->s[2] == 1)                                              \
                                    memcpy(r + lo2, src + lo2, (size_t)(hi2 - lo2) * sizeof(T)); \
                                else                                                           \
                                    for (int64_t o2 = lo2; o2 < hi2; o2++)                     \
                                        r[o2] = src[o2 * g->s[2]];                             \
                                name##_fill(r + hi2, g->out[2] - hi2, pad);                    \
                            }                                                                  \
                        }                                                                      \
                    }                                                                          \
    }

#endif
