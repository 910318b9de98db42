/* cumsum.c - CumSum: the input viewed as [outer, len, inner]; each (outer, inner) line is
 * summed along len, forwards or in reverse, inclusive or exclusive (each output then holds the
 * sum of the elements strictly before it). One template per element type; floats accumulate
 * in double, integers in 64 bits. */
#include "indexing.h"

#define CUMSUM(s, DT, T, C, LD, ST)                                                            \
    static void kiln_k_cumsum_##s(const struct kiln_kernel_args *a)                            \
    {                                                                                          \
        const struct kiln_p_cumsum *p = a->params;                                             \
        const struct kiln_tensor *x = &a->in[0];                                               \
        const T *src = x->data;                                                                \
        T *dst = a->out[0].data;                                                               \
        int ax = (int)p->axis;                                                                 \
        int64_t outer = kiln_numel(x->dims, ax), len = x->dims[ax];                            \
        int64_t inner = kiln_numel(x->dims + ax + 1, x->rank - ax - 1);                        \
        int64_t step = p->reverse ? -inner : inner;                                            \
        for (int64_t o = 0; o < outer; o++)                                                    \
            for (int64_t i = 0; i < inner; i++) {                                              \
                int64_t at = o * len * inner + i + (p->reverse ? (len - 1) * inner : 0);       \
                C acc = 0;                                                                     \
                for (int64_t j = 0; j < len; j++, at += step) {                                \
                    C v = (C)LD(src[at]);                                                      \
                    if (p->exclusive) {                                                        \
                        dst[at] = ST(acc);                                                     \
                        acc += v;                                                              \
                    } else {                                                                   \
                        acc += v;                                                              \
                        dst[at] = ST(acc);                                                     \
                    }                                                                          \
                }                                                                              \
            }                                                                                  \
    }
KILN_IX_ARITH(CUMSUM)

#define REG(s, DT, T, C, LD, ST) KILN_K(kiln_k_cumsum_##s, DT),
KILN_KERNELS(cumsum, KILN_IX_ARITH(REG));
