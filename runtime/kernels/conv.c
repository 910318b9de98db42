/* conv.c - Conv with 1-3 spatial dims, groups, strides, dilations and padding: per image and
 * group, im2col into scratch, then one GEMM (weights [M/group, C/group*k] x columns
 * [C/group*k, out]) straight into the output; pointwise convs feed the input to the GEMM as is.
 * The _packed variants read weights the compiler packed per group into the GEMM's panels
 * ([group, panels, C/group*k, KILN_GEMM_PANEL_A], gemm_core.h).
 * Bias, the fused residual input (kiln_residual: input 3) and the fused activation are applied
 * in the GEMM as it stores each tile (epilogue.h, gemm_core.h). Float32 depthwise convs
 * (kiln_conv_direct) go to the direct kernel of conv_dw.c instead; their weights stay unpacked.
 */
#include "kernels.h"
#include "conv_dw.h"
#include "gemm_core.h"
#include "im2col.h"
#include "nn.h"

static inline int has_bias(const struct kiln_kernel_args *a)
{
    return a->n_in > 2 && a->in[2].data != NULL;
}

/* The float32 direct path (the node has no scratch for im2col: see kiln_conv_scratch_bytes). */
static void conv_direct_f32(const struct kiln_kernel_args *a, const struct kiln_nn_geom *g)
{
    const struct kiln_p_conv *p = a->params;
    struct kiln_conv_dw c = {g,
                             a->in[0].dims[0],
                             a->in[0].dims[1],
                             a->in[1].dims[0],
                             p->group,
                             a->in[0].data,
                             a->in[1].data,
                             has_bias(a) ? a->in[2].data : NULL,
                             a->n_in > 3 ? a->in[3].data : NULL,
                             a->out[0].data,
                             &p->act};
    kiln_conv_dw_f32(&c);
}

#define CONV_DEFINE(sfx, DT, T)                                                                \
    /* col[(c*k_size + kpos) * out_size + opos] = x at that tap, 0 in the padding */           \
    KILN_IM2COL_DEFINE(im2col_##sfx, T)                                                        \
    static void conv_##sfx(const struct kiln_kernel_args *a, int packed)                       \
    {                                                                                          \
        const struct kiln_p_conv *p = a->params;                                               \
        const struct kiln_tensor *x = &a->in[0], *w = &a->in[1], *bias = &a->in[2];            \
        struct kiln_tensor *y = &a->out[0];                                                    \
        struct kiln_nn_geom g;                                                                 \
        kiln_nn_geom(&g, p->nsp, &p->win, x, y);                                               \
        int64_t nb = x->dims[0], C = x->dims[1], M = y->dims[1];                               \
        int64_t cg = C / p->group, mg = M / p->group, kdim = cg * g.k_size;                    \
        if (sizeof(T) == 4 && kiln_conv_direct(p, (uint64_t)cg, (uint64_t)mg, sizeof(T))) {    \
            conv_direct_f32(a, &g);                                                            \
            return;                                                                            \
        }                                                                                      \
        uint64_t col_bytes = kiln_conv_col_bytes(p, (uint64_t)cg, (uint64_t)g.k_size,          \
                                                 (uint64_t)g.out_size, sizeof(T));             \
        T *col = a->scratch;                                                                   \
        void *gemm_scratch = (char *)a->scratch + col_bytes;                                   \
        const T *X = x->data, *W = w->data, *B = has_bias(a) ? bias->data : NULL;              \
        const T *R = a->n_in > 3 ? a->in[3].data : NULL;                                       \
        T *Y = y->data;                                                                        \
        struct kiln_gemm_epi epi = {&p->act, NULL, NULL, g.out_size};                          \
        for (int64_t n = 0; n < nb; n++)                                                       \
            for (int64_t gi = 0; gi < p->group; gi++) {                                        \
                const T *xg = X + (n * C + gi * cg) * g.in_size;                               \
                const T *cols = xg;                                                            \
                if (col_bytes) {                                                               \
                    im2col_##sfx(xg, cg, &g, 0, col);                                          \
                    cols = col;                                                                \
                }                                                                              \
                T *yg = Y + (n * M + gi * mg) * g.out_size;                                    \
                epi.bias = B ? B + gi * mg : NULL;                                             \
                epi.res = R ? R + (yg - Y) : NULL;                                             \
                const T *wg = W + gi * (packed ? (int64_t)kiln_gemm_packed_a_elems(            \
                                                      (uint64_t)mg, (uint64_t)kdim)            \
                                               : mg * kdim);                                   \
                kiln_gemm_ex_##sfx(mg, g.out_size, kdim, 1, wg, kdim, 1, cols, g.out_size, 1,  \
                                   yg, g.out_size, packed ? KILN_GEMM_A_PACKED : 0, &epi,      \
                                   gemm_scratch);                                              \
            }                                                                                  \
    }                                                                                          \
    static void kiln_k_conv_##sfx(const struct kiln_kernel_args *a)                            \
    {                                                                                          \
        conv_##sfx(a, 0);                                                                      \
    }                                                                                          \
    static void kiln_k_conv_packed_##sfx(const struct kiln_kernel_args *a)                     \
    {                                                                                          \
        conv_##sfx(a, 1);                                                                      \
    }

KILN_FOR_NATIVE_FLOATS(CONV_DEFINE)

/* packed variants at KILN_GEMM_VARIANT_PACKED + the plain one's index */
KILN_KERNELS(conv, KILN_K(kiln_k_conv_f32, F32), KILN_K(kiln_k_conv_f64, F64),
             KILN_K(kiln_k_conv_packed_f32, F32), KILN_K(kiln_k_conv_packed_f64, F64));
