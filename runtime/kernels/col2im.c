/* col2im.c - Col2Im: each column entry (channel c, block offset k, block position l) is added
 * at image position l * stride - pad + k * dilation when that lies inside the image. The
 * output is accumulated in double per image element so overlapping blocks sum exactly once
 * rounded; the compiler sizes no scratch, so the sum runs per output element. */
#include "kernels.h"
#include "nn.h"

/* Whether output position o (spatial multi-index) is reached by block offset k: then *l is
 * the block position's linear index. */
static int col2im_source(const struct kiln_p_col2im *p, const int64_t *o, const int64_t *k,
                         int64_t *l)
{
    int64_t lin = 0;
    for (int i = 0; i < p->nsp; i++) {
        int64_t q = o[i] + p->pad[i] - k[i] * p->dilation[i];
        if (q < 0 || q % p->stride[i] || q / p->stride[i] >= p->blocks[i])
            return 0;
        lin = lin * p->blocks[i] + q / p->stride[i];
    }
    *l = lin;
    return 1;
}

/* Advances a multi-index over extents d (n axes); 0 after the last. */
static int next_index(int64_t *i, const int64_t *d, int n)
{
    for (int a = n - 1; a >= 0; a--) {
        if (++i[a] < d[a])
            return 1;
        i[a] = 0;
    }
    return 0;
}

#define COL2IM_DEFINE(sfx, DT, T, ACC, LOAD, STORE)                                            \
    static void kiln_k_col2im_##sfx(const struct kiln_kernel_args *a)                          \
    {                                                                                          \
        const struct kiln_p_col2im *p = a->params;                                             \
        const struct kiln_tensor *x = &a->in[0], *y = &a->out[0];                              \
        const T *X = x->data;                                                                  \
        T *Y = y->data;                                                                        \
        int64_t kprod = 1, img = kiln_numel(y->dims + 2, p->nsp), L = x->dims[2];              \
        for (int i = 0; i < p->nsp; i++)                                                       \
            kprod *= p->block[i];                                                              \
        if (img == 0)                                                                          \
            return;                                                                            \
        for (int64_t nc = 0; nc < y->dims[0] * y->dims[1]; nc++) {                             \
            int64_t o[KILN_MAX_RANK] = {0};                                                    \
            const T *col = X + nc * kprod * L;                                                 \
            do {                                                                               \
                double acc = 0;                                                                \
                int64_t k[KILN_MAX_RANK] = {0}, kk = 0, l;                                     \
                do {                                                                           \
                    if (col2im_source(p, o, k, &l))                                            \
                        acc += (double)LOAD(col[kk * L + l]);                                  \
                    kk++;                                                                      \
                } while (next_index(k, p->block, p->nsp));                                     \
                *Y++ = STORE((ACC)acc);                                                        \
            } while (next_index(o, y->dims + 2, p->nsp));                                      \
        }                                                                                      \
    }
KILN_NN_FLOATS(COL2IM_DEFINE)

#define KV_C2I(sfx, DT, ...) KILN_K(kiln_k_col2im_##sfx, DT),
KILN_KERNELS(col2im, KILN_NN_FLOATS(KV_C2I));
