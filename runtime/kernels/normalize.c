/* normalize.c - Instance-, Layer-, Group- and MeanVarianceNormalization (one
 * template: each group of elements sharing the kept axes is normalised by its own statistics,
 * computed in double with two passes for accuracy), LRN across channels and LpNormalization.
 * float16 is computed in float/double and stored back. float32 LayerNormalization over
 * contiguous groups takes vectorised loops (ln_group_f32). */
#include <math.h>

#include "gemm_core.h"
#include "kernels.h"
#include "nn.h"

/* Offset of linear index lin over n axes with extents d and strides s. */
static int64_t axes_offset(const int64_t *d, const int64_t *s, int n, int64_t lin)
{
    int64_t off = 0;
    for (int i = n - 1; i >= 0; i--) {
        off += lin % d[i] * s[i];
        lin /= d[i];
    }
    return off;
}

/* The kept and reduced axes of a normalisation: the group g starts at axes_offset(kept, g) and
 * its r-th element lies roff[r] further (roff NULL: r, when the reduced axes are innermost). */
struct norm_view {
    int nk, nr;
    int64_t kd[KILN_MAX_RANK], ks[KILN_MAX_RANK], rd[KILN_MAX_RANK], rs[KILN_MAX_RANK];
    int64_t groups, count;
    const int64_t *roff;
};

static void norm_view(const struct kiln_tensor *x, uint32_t mask, void *scratch,
                      struct norm_view *v)
{
    int64_t st[KILN_MAX_RANK];
    kiln_strides(x->dims, x->rank, st);
    v->nk = v->nr = 0;
    v->groups = v->count = 1;
    for (int i = 0; i < x->rank; i++) {
        if ((mask >> i) & 1) {
            v->rd[v->nr] = x->dims[i], v->rs[v->nr++] = st[i];
            v->count *= x->dims[i];
        } else {
            v->kd[v->nk] = x->dims[i], v->ks[v->nk++] = st[i];
            v->groups *= x->dims[i];
        }
    }
    v->roff = scratch; /* the compiler sized scratch only when the table is needed */
    if (scratch)
        for (int64_t r = 0; r < v->count; r++)
            ((int64_t *)scratch)[r] = axes_offset(v->rd, v->rs, v->nr, r);
}

/* Stores a statistic into LayerNormalization's Mean/InvStdDev (float32 or float64). */
static void put_stat(struct kiln_tensor *t, int64_t i, double v)
{
    if (t->dtype == KILN_DTYPE_F64)
        ((double *)t->data)[i] = v;
    else
        ((float *)t->data)[i] = (float)v;
}

/* GroupNormalization's view of X [N, C, D...] as [N, G, C/G * D...]; *per_ch receives the
 * elements of one channel (the product of D...). */
static const struct kiln_tensor *group_view(const struct kiln_tensor *x, int32_t groups,
                                            struct kiln_tensor *t, int64_t *per_ch)
{
    *t = *x;
    *per_ch = kiln_numel(x->dims + 2, x->rank - 2);
    t->rank = 3;
    t->dims[1] = groups;
    t->dims[2] = x->dims[1] / groups * *per_ch;
    return t;
}

/* float32 LayerNormalization of one contiguous group, as loops the compiler vectorises (one
 * instance per SIMD variant, chosen with the GEMM's): the statistics in double over 8 partial
 * sums (element r into partial r % 8) added in a fixed order, so every variant gives the same
 * bits; y = ((x - mean) * inv) * s + b in double as the template computes it. scale and bias
 * hold one value per element (bias NULL: none). */
#define LN_GROUP(sfx, ATTR)                                                                    \
    static ATTR double ln_sum_##sfx(const float *restrict x, int64_t n, double mean, int sq)   \
    {                                                                                          \
        double p[8] = {0, 0, 0, 0, 0, 0, 0, 0};                                                \
        int64_t r = 0;                                                                         \
        if (sq)                                                                                \
            for (; r + 8 <= n; r += 8)                                                         \
                for (int j = 0; j < 8; j++) {                                                  \
                    double d = (double)x[r + j] - mean;                                        \
                    p[j] += d * d;                                                             \
                }                                                                              \
        else                                                                                   \
            for (; r + 8 <= n; r += 8)                                                         \
                for (int j = 0; j < 8; j++)                                                    \
                    p[j] += (double)x[r + j];                                                  \
        for (int j = 0; r < n; r++, j++) {                                                     \
            double d = (double)x[r] - mean;                                                    \
            p[j] += sq ? d * d : (double)x[r];                                                 \
        }                                                                                      \
        return ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]));              \
    }                                                                                          \
    static ATTR void ln_out_##sfx(const float *restrict x, float *restrict y, int64_t n,       \
                                  double mean, double inv, const float *restrict scale,        \
                                  const float *restrict bias)                                  \
    {                                                                                          \
        if (bias)                                                                              \
            for (int64_t r = 0; r < n; r++)                                                    \
                y[r] = (float)(((double)x[r] - mean) * inv * (double)scale[r] +                \
                               (double)bias[r]);                                               \
        else                                                                                   \
            for (int64_t r = 0; r < n; r++)                                                    \
                y[r] = (float)(((double)x[r] - mean) * inv * (double)scale[r] + 0.0);          \
    }
LN_GROUP(portable, )
#if defined(__x86_64__) && !defined(KILN_EMITTED) && defined(__GNUC__)
#define LN_DISPATCH 1
LN_GROUP(avx2, __attribute__((target("avx2"))))
LN_GROUP(avx512, __attribute__((target("avx512f"))))
#endif

/* One group of kiln_k_norm_f32 when it is a LayerNormalization over contiguous elements with a
 * scale (and bias) per element; 0 when it is not (the template computes it). */
static int ln_group_f32(const struct kiln_p_norm *p, const float *x, float *y, int64_t n,
                        const float *scale, const float *bias, double *mean, double *inv)
{
    if (p->affine != KILN_NORM_PER_ELEMENT || !scale || p->scale_step != 1 ||
        (bias && p->bias_step != 1) || n == 0)
        return 0;
    double (*sum)(const float *, int64_t, double, int) = ln_sum_portable;
    void (*out)(const float *, float *, int64_t, double, double, const float *,
                const float *) = ln_out_portable;
#ifdef LN_DISPATCH
    enum kiln_gemm_isa isa = kiln_gemm_isa_active();
    if (isa == KILN_GEMM_ISA_AVX512)
        sum = ln_sum_avx512, out = ln_out_avx512;
    else if (isa == KILN_GEMM_ISA_AVX2)
        sum = ln_sum_avx2, out = ln_out_avx2;
#endif
    *mean = sum(x, n, 0, 0) / (double)n;
    double var = sum(x, n, *mean, 1) / (double)n;
    *inv = p->eps_after_sqrt ? 1.0 / (sqrt(var) + p->epsilon) : 1.0 / sqrt(var + p->epsilon);
    out(x, y, n, *mean, *inv, scale, bias);
    return 1;
}

#define NORM_DEFINE(sfx, DT, T, ACC, LOAD, STORE)                                              \
    static void kiln_k_norm_##sfx(const struct kiln_kernel_args *a)                            \
    {                                                                                          \
        const struct kiln_p_norm *p = a->params;                                               \
        const struct kiln_tensor *x = &a->in[0];                                               \
        struct kiln_tensor grouped;                                                            \
        int64_t per_ch = 1; /* GroupNormalization-21: elements per channel in a group */       \
        if (p->num_groups)                                                                     \
            x = group_view(x, p->num_groups, &grouped, &per_ch);                               \
        const T *X = x->data;                                                                  \
        const T *scale = a->n_in > 1 ? a->in[1].data : NULL;                                   \
        const T *bias = a->n_in > 2 ? a->in[2].data : NULL;                                    \
        struct kiln_tensor *mean_t = a->n_out > 1 && a->out[1].data ? &a->out[1] : NULL;       \
        struct kiln_tensor *inv_t = a->n_out > 2 && a->out[2].data ? &a->out[2] : NULL;        \
        T *Y = a->out[0].data;                                                                 \
        struct norm_view v;                                                                    \
        norm_view(x, p->reduce_mask, a->scratch_size ? a->scratch : NULL, &v);                 \
        int64_t C = x->rank > 1 ? x->dims[1] : 1;                                              \
        for (int64_t g = 0; g < v.groups; g++) {                                               \
            int64_t base = v.roff ? axes_offset(v.kd, v.ks, v.nk, g) : g * v.count;            \
            double mean_, inv_;                                                                \
            if (KILN_DTYPE_##DT == KILN_DTYPE_F32 && !v.roff &&                                \
                ln_group_f32(p, (const float *)(const void *)(X + base),                       \
                             (float *)(void *)(Y + base), v.count,                             \
                             (const float *)(const void *)scale,                               \
                             (const float *)(const void *)bias, &mean_, &inv_)) {              \
                if (mean_t)                                                                    \
                    put_stat(mean_t, g, mean_);                                                \
                if (inv_t)                                                                     \
                    put_stat(inv_t, g, inv_);                                                  \
                continue;                                                                      \
            }                                                                                  \
            double sum = 0, sq = 0;                                                            \
            for (int64_t r = 0; r < v.count; r++)                                              \
                sum += (double)LOAD(X[base + (v.roff ? v.roff[r] : r)]);                       \
            double mean = v.count ? sum / (double)v.count : 0;                                 \
            for (int64_t r = 0; r < v.count; r++) {                                            \
                double d = (double)LOAD(X[base + (v.roff ? v.roff[r] : r)]) - mean;            \
                sq += d * d;                                                                   \
            }                                                                                  \
            double var = v.count ? sq / (double)v.count : 0;                                   \
            double inv = p->eps_after_sqrt ? 1.0 / (sqrt(var) + p->epsilon)                    \
                                           : 1.0 / sqrt(var + p->epsilon);                     \
            if (mean_t)                                                                        \
                put_stat(mean_t, g, mean);                                                     \
            if (inv_t)                                                                         \
                put_stat(inv_t, g, inv);                                                       \
            double s = 1, b = 0;                                                               \
            if (p->affine == KILN_NORM_PER_CHANNEL) {                                          \
                s = scale ? (double)LOAD(scale[g % C]) : 1;                                    \
                b = bias ? (double)LOAD(bias[g % C]) : 0;                                      \
            }                                                                                  \
            for (int64_t r = 0; r < v.count; r++) {                                            \
                int64_t o = base + (v.roff ? v.roff[r] : r);                                   \
                if (p->affine == KILN_NORM_PER_ELEMENT) {                                      \
                    s = scale ? (double)LOAD(scale[r * p->scale_step]) : 1;                    \
                    b = bias ? (double)LOAD(bias[r * p->bias_step]) : 0;                       \
                } else if (p->affine == KILN_NORM_GROUP_CHANNEL) {                             \
                    int64_t ch = g % C * (v.count / per_ch) + r / per_ch;                      \
                    s = (double)LOAD(scale[ch]);                                               \
                    b = (double)LOAD(bias[ch]);                                                \
                }                                                                              \
                Y[o] = STORE((ACC)(((double)LOAD(X[o]) - mean) * inv * s + b));                \
            }                                                                                  \
        }                                                                                      \
    }                                                                                          \
    /* LRN: y = x / (bias + alpha / size * sum of x^2 over the channel window)^beta */         \
    static void kiln_k_lrn_##sfx(const struct kiln_kernel_args *a)                             \
    {                                                                                          \
        const struct kiln_p_lrn *p = a->params;                                                \
        const struct kiln_tensor *x = &a->in[0];                                               \
        const T *X = x->data;                                                                  \
        T *Y = a->out[0].data;                                                                 \
        int64_t C = x->dims[1], inner = kiln_numel(x->dims + 2, x->rank - 2);                  \
        int64_t before = (p->size - 1) / 2, after = p->size - 1 - before;                      \
        for (int64_t n = 0; n < x->dims[0]; n++)                                               \
            for (int64_t c = 0; c < C; c++) {                                                  \
                int64_t lo = c - before < 0 ? 0 : c - before;                                  \
                int64_t hi = c + after >= C ? C - 1 : c + after;                               \
                for (int64_t i = 0; i < inner; i++) {                                          \
                    double sum = 0;                                                            \
                    for (int64_t k = lo; k <= hi; k++) {                                       \
                        double v = (double)LOAD(X[(n * C + k) * inner + i]);                   \
                        sum += v * v;                                                          \
                    }                                                                          \
                    int64_t o = (n * C + c) * inner + i;                                       \
                    double d = pow(p->bias + p->alpha / p->size * sum, p->beta);               \
                    Y[o] = STORE((ACC)((double)LOAD(X[o]) / d));                               \
                }                                                                              \
            }                                                                                  \
    }                                                                                          \
    static void kiln_k_lp_norm_##sfx(const struct kiln_kernel_args *a)                         \
    {                                                                                          \
        const struct kiln_p_lp_norm *p = a->params;                                            \
        const T *X = a->in[0].data;                                                            \
        T *Y = a->out[0].data;                                                                 \
        for (int64_t o = 0; o < p->outer; o++)                                                 \
            for (int64_t i = 0; i < p->inner; i++) {                                           \
                const T *x = X + o * p->axis_len * p->inner + i;                               \
                T *y = Y + o * p->axis_len * p->inner + i;                                     \
                double norm = 0;                                                               \
                for (int64_t k = 0; k < p->axis_len; k++) {                                    \
                    double v = (double)LOAD(x[k * p->inner]);                                  \
                    norm += p->p == 1 ? fabs(v) : v * v;                                       \
                }                                                                              \
                if (p->p == 2)                                                                 \
                    norm = sqrt(norm);                                                         \
                /* an all-zero slice stays zero instead of 0/0 */                              \
                for (int64_t k = 0; k < p->axis_len; k++)                                      \
                    y[k * p->inner] =                                                          \
                        STORE((ACC)(norm > 0 ? (double)LOAD(x[k * p->inner]) / norm : 0));     \
            }                                                                                  \
    }

KILN_NN_FLOATS(NORM_DEFINE)

#define KV_NORM(sfx, DT, ...) KILN_K(kiln_k_norm_##sfx, DT),
#define KV_LRN(sfx, DT, ...) KILN_K(kiln_k_lrn_##sfx, DT),
#define KV_LPN(sfx, DT, ...) KILN_K(kiln_k_lp_norm_##sfx, DT),
KILN_KERNELS(instance_normalization, KILN_NN_FLOATS(KV_NORM));
KILN_KERNELS(layer_normalization, KILN_NN_FLOATS(KV_NORM));
KILN_KERNELS(mean_variance_normalization, KILN_NN_FLOATS(KV_NORM));
KILN_KERNELS(group_normalization, KILN_NN_FLOATS(KV_NORM));
KILN_KERNELS(lrn, KILN_NN_FLOATS(KV_LRN));
KILN_KERNELS(lp_normalization, KILN_NN_FLOATS(KV_LPN));
