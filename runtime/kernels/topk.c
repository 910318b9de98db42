/* topk.c - TopK: for every line along the axis, a stable merge sort of the positions by value
 * (descending for largest, ascending otherwise), so equal values keep the lower index first as
 * ONNX asks; the first k positions give Values and Indices. The output is always sorted, which
 * sorted = 0 permits. One template per element type; the scratch holds two position arrays.
 * k < 0 in the params: k is input 1, computed at run time; the kernel sets the outputs' extent
 * along the axis (their buffers hold the whole axis). */
#include "../exec.h"
#include "indexing.h"

/* The run's k: the params' or input 1's. A k outside [0, len] fails the run (ONNX requires
 * it in range) and is clamped so the kernel stays inside its buffers. */
static int64_t topk_k(const struct kiln_kernel_args *a, int64_t pk, int64_t len, int ax)
{
    if (pk >= 0)
        return pk;
    int64_t k = *(const int64_t *)a->in[1].data;
    if ((k < 0 || k > len) && a->exec)
        *a->exec->status = KILN_STATUS_INVALID_ARG;
    k = k < 0 ? 0 : k > len ? len : k;
    for (uint32_t o = 0; o < a->n_out; o++)
        a->out[o].dims[ax] = k;
    return k;
}

#define TOPK(s, DT, T, C, LD, ST)                                                              \
    /* Whether the element at position i goes strictly before the one at j. */                \
    static inline int topk_before_##s(const T *line, int64_t inner, int largest, int64_t i,    \
                                      int64_t j)                                               \
    {                                                                                          \
        C vi = (C)LD(line[i * inner]), vj = (C)LD(line[j * inner]);                            \
        return largest ? vi > vj : vi < vj;                                                    \
    }                                                                                          \
    static void kiln_k_topk_##s(const struct kiln_kernel_args *a)                              \
    {                                                                                          \
        const struct kiln_p_topk *p = a->params;                                               \
        const struct kiln_tensor *x = &a->in[0];                                               \
        T *vals = a->out[0].data;                                                              \
        int64_t *idx = a->n_out > 1 ? a->out[1].data : NULL;                                   \
        int ax = (int)p->axis;                                                                 \
        int64_t outer = kiln_numel(x->dims, ax), len = x->dims[ax];                            \
        int64_t k = topk_k(a, p->k, len, ax);                                                  \
        int64_t inner = kiln_numel(x->dims + ax + 1, x->rank - ax - 1);                        \
        for (int64_t o = 0; o < outer; o++)                                                    \
            for (int64_t i = 0; i < inner; i++) {                                              \
                const T *line = (const T *)x->data + o * len * inner + i;                      \
                int64_t *ord = a->scratch, *tmp = ord + len;                                   \
                for (int64_t j = 0; j < len; j++)                                              \
                    ord[j] = j;                                                                \
                for (int64_t w = 1; w < len; w *= 2) {                                         \
                    for (int64_t lo = 0; lo < len; lo += 2 * w) {                              \
                        int64_t mid = lo + w < len ? lo + w : len;                             \
                        int64_t hi = lo + 2 * w < len ? lo + 2 * w : len;                      \
                        int64_t l = lo, r = mid, t = lo;                                       \
                        while (l < mid && r < hi)                                              \
                            tmp[t++] = topk_before_##s(line, inner, p->largest, ord[r], ord[l])  \
                                           ? ord[r++]                                          \
                                           : ord[l++];                                         \
                        while (l < mid)                                                        \
                            tmp[t++] = ord[l++];                                               \
                        while (r < hi)                                                         \
                            tmp[t++] = ord[r++];                                               \
                    }                                                                          \
                    int64_t *sw = ord;                                                         \
                    ord = tmp;                                                                 \
                    tmp = sw;                                                                  \
                }                                                                              \
                for (int64_t j = 0; j < k; j++) {                                              \
                    int64_t at = (o * k + j) * inner + i;                                      \
                    if (vals)                                                                  \
                        vals[at] = line[ord[j] * inner];                                       \
                    if (idx)                                                                   \
                        idx[at] = ord[j];                                                      \
                }                                                                              \
            }                                                                                  \
    }
KILN_IX_ARITH(TOPK)

#define REG(s, DT, T, C, LD, ST) KILN_K(kiln_k_topk_##s, DT),
KILN_KERNELS(topk, KILN_IX_ARITH(REG));
