/* einsum.c - Einsum as a reference loop over its index space (see struct kiln_p_einsum): for
 * every output element, the products of the inputs are summed over the remaining subscripts.
 * Diagonals, transposes, broadcasting ellipses and sums are all strides chosen by the
 * compiler. One template per element type; floats accumulate in double, integers in 64 bits. */
#include "indexing.h"

/* Advances the odometer c over subscripts [from, to) of p (last fastest), moving each input's
 * offset with it; returns 0 after the last position. */
static inline int einsum_next(const struct kiln_p_einsum *p, int from, int to, int64_t *c,
                              int64_t *off)
{
    for (int l = to - 1; l >= from; l--) {
        for (int i = 0; i < p->n_in; i++)
            off[i] += p->stride[i][l];
        if (++c[l] < p->size[l])
            return 1;
        for (int i = 0; i < p->n_in; i++)
            off[i] -= p->stride[i][l] * p->size[l];
        c[l] = 0;
    }
    return 0;
}

#define EINSUM(s, DT, T, C, LD, ST)                                                            \
    static void kiln_k_einsum_##s(const struct kiln_kernel_args *a)                            \
    {                                                                                          \
        const struct kiln_p_einsum *p = a->params;                                             \
        const T *in[KILN_EINSUM_MAX_IN];                                                       \
        for (int i = 0; i < p->n_in; i++)                                                      \
            in[i] = a->in[i].data;                                                             \
        T *y = a->out[0].data;                                                                 \
        int64_t nout = kiln_numel(p->size, p->n_out);                                          \
        int64_t nsum = kiln_numel(p->size + p->n_out, p->n_labels - p->n_out);                 \
        int64_t oc[KILN_EINSUM_MAX_LABELS] = {0}, base[KILN_EINSUM_MAX_IN] = {0};              \
        for (int64_t k = 0; k < nout; k++) {                                                   \
            C acc = 0;                                                                         \
            int64_t sc[KILN_EINSUM_MAX_LABELS] = {0}, off[KILN_EINSUM_MAX_IN];                 \
            for (int i = 0; i < p->n_in; i++)                                                  \
                off[i] = base[i];                                                              \
            for (int64_t t = 0; t < nsum; t++) {                                               \
                C prod = 1;                                                                    \
                for (int i = 0; i < p->n_in; i++)                                              \
                    prod *= (C)LD(in[i][off[i]]);                                              \
                acc += prod;                                                                   \
                einsum_next(p, p->n_out, p->n_labels, sc, off);                                \
            }                                                                                  \
            y[k] = ST(acc);                                                                    \
            einsum_next(p, 0, p->n_out, oc, base);                                             \
        }                                                                                      \
    }
KILN_IX_ARITH(EINSUM)

#define REG(s, DT, T, C, LD, ST) KILN_K(kiln_k_einsum_##s, DT),
KILN_KERNELS(einsum, KILN_IX_ARITH(REG));
