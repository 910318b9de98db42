/* conv_transpose.c - ConvTranspose with 1-3 spatial dims and groups: per image and group, one
 * GEMM (W_g^T [M/group * k, C/group] x X_g [C/group, input size]) into a column buffer, then
 * col2im scatter-adds every column onto the output, which starts as the bias. The fused
 * activation runs over each group's channels once they are complete. */
#include "kernels.h"
#include "act.h"
#include "nn.h"

#define CT_DEFINE(sfx, DT, T)                                                                  \
    /* y[m, o] += col[(m*k_size + kpos), i] for o = i*s + kpos*d - pad_begin inside y */       \
    static void col2im_##sfx(const T *col, int64_t mg, const struct kiln_nn_geom *g, T *y)     \
    {                                                                                          \
        for (int64_t m = 0; m < mg; m++, y += g->out_size)                                     \
            for (int64_t k0 = 0; k0 < g->k[0]; k0++)                                           \
                for (int64_t k1 = 0; k1 < g->k[1]; k1++)                                       \
                    for (int64_t k2 = 0; k2 < g->k[2]; k2++, col += g->in_size) {              \
                        int64_t off0 = k0 * g->d[0] - g->pb[0];                                \
                        int64_t off1 = k1 * g->d[1] - g->pb[1];                                \
                        int64_t off2 = k2 * g->d[2] - g->pb[2], lo2, hi2;                      \
                        kiln_nn_valid_range(off2, g->s[2], g->out[2], g->in[2], &lo2, &hi2);   \
                        for (int64_t i0 = 0; i0 < g->in[0]; i0++) {                            \
                            int64_t o0 = i0 * g->s[0] + off0;                                  \
                            if (o0 < 0 || o0 >= g->out[0])                                     \
                                continue;                                                      \
                            for (int64_t i1 = 0; i1 < g->in[1]; i1++) {                        \
                                int64_t o1 = i1 * g->s[1] + off1;                              \
                                if (o1 < 0 || o1 >= g->out[1])                                 \
                                    continue;                                                  \
                                const T *src = col + (i0 * g->in[1] + i1) * g->in[2];          \
                                T *dst = y + (o0 * g->out[1] + o1) * g->out[2] + off2;         \
                                for (int64_t i2 = lo2; i2 < hi2; i2++)                         \
                                    dst[i2 * g->s[2]] += src[i2];                              \
                            }                                                                  \
                        }                                                                      \
                    }                                                                          \
    }                                                                                          \
    static void kiln_k_conv_transpose_##sfx(const struct kiln_kernel_args *a)                  \
    {                                                                                          \
        const struct kiln_p_conv *p = a->params;                                               \
        const struct kiln_tensor *x = &a->in[0], *w = &a->in[1];                               \
        struct kiln_tensor *y = &a->out[0];                                                    \
        struct kiln_nn_geom g;                                                                 \
        kiln_nn_geom(&g, p->nsp, &p->win, x, y);                                               \
        int64_t nb = x->dims[0], C = x->dims[1], mg = w->dims[1], M = mg * p->group;           \
        int64_t cg = C / p->group, rows = mg * g.k_size;                                       \
        T *col = a->scratch;                                                                   \
        void *gemm_scratch = (char *)a->scratch + kiln_conv_transpose_col_bytes(               \
                                                      (uint64_t)mg, (uint64_t)g.k_size,        \
                                                      (uint64_t)g.in_size, sizeof(T));         \
        const T *X = x->data, *W = w->data;                                                    \
        const T *B = a->n_in > 2 ? a->in[2].data : NULL;                                       \
        T *Y = y->data;                                                                        \
        for (int64_t n = 0; n < nb; n++)                                                       \
            for (int64_t gi = 0; gi < p->group; gi++) {                                        \
                T *yg = Y + (n * M + gi * mg) * g.out_size;                                    \
                for (int64_t m = 0; m < mg; m++)                                               \
                    for (int64_t j = 0; j < g.out_size; j++)                                   \
                        yg[m * g.out_size + j] = B ? B[gi * mg + m] : (T)0;                    \
                kiln_gemm_##sfx(rows, g.in_size, cg, 1, W + gi * cg * rows, 1, rows,           \
                                X + (n * C + gi * cg) * g.in_size, g.in_size, 1, col,          \
                                g.in_size, 0, gemm_scratch);                                   \
                col2im_##sfx(col, mg, &g, yg);                                                 \
                if (p->act.kind != KILN_ACT_NONE)                                              \
                    for (int64_t j = 0; j < mg * g.out_size; j++)                              \
                        yg[j] = (T)kiln_act_apply(&p->act, (float)yg[j]);                      \
            }                                                                                  \
    }

KILN_FOR_NATIVE_FLOATS(CT_DEFINE)

KILN_KERNELS(conv_transpose, KILN_K(kiln_k_conv_transpose_f32, F32),
             KILN_K(kiln_k_conv_transpose_f64, F64));
