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
#include "threads.h"

static inline int has_bias(const struct kiln_kernel_args *a)
{
    return a->n_in > 2 && a->in[2].data != NULL;
}

/* A part of the direct path on threads: whole groups (output channels with their input
 * channels) of one image at a time, each computed exactly as in one call. */
struct conv_dw_job {
    const struct kiln_conv_dw *c;
};

static void conv_dw_part(void *ctx, int i, int n)
{
    const struct kiln_conv_dw *c = ((const struct conv_dw_job *)ctx)->c;
    int64_t g0, g1, cg = c->C / c->group, mg = c->M / c->group;
    int64_t in_size = c->g->in_size, out_size = c->g->out_size;
    kiln_par_range(c->group, 1, i, n, &g0, &g1);
    for (int64_t b = 0; g0 < g1 && b < c->nb; b++) {
        struct kiln_conv_dw s = *c;
        int64_t y_off = (b * c->M + g0 * mg) * out_size;
        s.nb = 1, s.group = g1 - g0, s.C = s.group * cg, s.M = s.group * mg;
        s.x = c->x + (b * c->C + g0 * cg) * in_size;
        s.w = c->w + g0 * mg * cg * c->g->k_size;
        s.bias = c->bias ? c->bias + g0 * mg : NULL;
        s.res = c->res ? c->res + y_off : NULL;
        s.y = c->y + y_off;
        kiln_conv_dw_f32(&s);
    }
}

/* Outputs below this many elements run on one thread (waking threads costs more). */
#define CONV_PAR_MIN_OUT 16384

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
    struct kiln_threads *th = kiln_args_threads(a);
    int parts = kiln_par_count(th);
    parts = parts < p->group ? parts : (int)p->group;
    if (parts < 2 || (uint64_t)(c.nb * c.M * g->out_size) < kiln_par_min(CONV_PAR_MIN_OUT)) {
        kiln_conv_dw_f32(&c);
        return;
    }
    struct conv_dw_job job = {&c};
    kiln_par_run(th, parts, conv_dw_part, &job);
}

#define CONV_DEFINE(sfx, DT, T)                                                                \
    /* col[(c*k_size + kpos) * out_size + opos] = x at that tap, 0 in the padding */           \
    KILN_IM2COL_DEFINE(im2col_##sfx, T)                                                        \
    /* on threads: each part fills the rows of its own input channels */                       \
    struct im2col_job_##sfx {                                                                  \
        const T *x;                                                                            \
        int64_t cg;                                                                            \
        const struct kiln_nn_geom *g;                                                          \
        T *col;                                                                                \
    };                                                                                         \
    static void im2col_part_##sfx(void *ctx, int i, int n)                                     \
    {                                                                                          \
        const struct im2col_job_##sfx *j = ctx;                                                \
        int64_t c0, c1;                                                                        \
        kiln_par_range(j->cg, 1, i, n, &c0, &c1);                                              \
        if (c0 < c1)                                                                           \
            im2col_##sfx(j->x + c0 * j->g->in_size, c1 - c0, j->g, 0,                          \
                         j->col + c0 * j->g->k_size * j->g->out_size);                         \
    }                                                                                          \
    static void im2col_par_##sfx(struct kiln_threads *th, const T *x, int64_t cg,              \
                                 const struct kiln_nn_geom *g, T *col)                         \
    {                                                                                          \
        int parts = kiln_par_count(th);                                                        \
        uint64_t size = (uint64_t)(cg * g->k_size * g->out_size);                              \
        parts = parts < cg ? parts : (int)cg;                                                  \
        if (parts < 2 || size < kiln_par_min(CONV_PAR_MIN_OUT)) {                              \
            im2col_##sfx(x, cg, g, 0, col);                                                    \
            return;                                                                            \
        }                                                                                      \
        struct im2col_job_##sfx j = {x, cg, g, col};                                           \
        kiln_par_run(th, parts, im2col_part_##sfx, &j);                                        \
    }                                                                                          \
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
        uint64_t gemm_bytes = a->scratch_size - col_bytes;                                     \
        struct kiln_threads *th = kiln_args_threads(a);                                        \
        const T *X = x->data, *W = w->data, *B = has_bias(a) ? bias->data : NULL;              \
        const T *R = a->n_in > 3 ? a->in[3].data : NULL;                                       \
        T *Y = y->data;                                                                        \
        struct kiln_gemm_epi epi = {&p->act, NULL, NULL, g.out_size};                          \
        for (int64_t n = 0; n < nb; n++)                                                       \
            for (int64_t gi = 0; gi < p->group; gi++) {                                        \
                const T *xg = X + (n * C + gi * cg) * g.in_size;                               \
                const T *cols = xg;                                                            \
                if (col_bytes) {                                                               \
                    im2col_par_##sfx(th, xg, cg, &g, col);                                     \
                    cols = col;                                                                \
                }                                                                              \
                T *yg = Y + (n * M + gi * mg) * g.out_size;                                    \
                epi.bias = B ? B + gi * mg : NULL;                                             \
                epi.res = R ? R + (yg - Y) : NULL;                                             \
                const T *wg = W + gi * (packed ? (int64_t)kiln_gemm_packed_a_elems(            \
                                                      (uint64_t)mg, (uint64_t)kdim)            \
                                               : mg * kdim);                                   \
                kiln_gemm_mt_##sfx(mg, g.out_size, kdim, 1, wg, kdim, 1, cols, g.out_size, 1,  \
                                   yg, g.out_size, packed ? KILN_GEMM_A_PACKED : 0, &epi,      \
                                   gemm_scratch, gemm_bytes, th);                              \
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
