/* softmax.c - Softmax, LogSoftmax and Hardmax along the middle axis of the [outer, axis_len,
 * inner] view the compiler computed. One template per dtype (the column code lives in
 * softmax.h, shared with SoftmaxCrossEntropyLoss), the op chosen by a mode argument. */
#include "nn.h"
#include "softmax.h"

#define SOFTMAX_DEFINE(sfx, DT, T, ACC, LOAD, STORE)                                           \
    KILN_SOFTMAX_COLUMN(sfx, T, ACC, LOAD, STORE)                                              \
    static void softmax_##sfx(const struct kiln_kernel_args *a, enum kiln_softmax_mode mode)   \
    {                                                                                          \
        const struct kiln_p_softmax *p = a->params;                                            \
        const T *X = a->in[0].data;                                                            \
        T *Y = a->out[0].data;                                                                 \
        int64_t len = p->axis_len, inner = p->inner;                                           \
        for (int64_t o = 0; o < p->outer; o++)                                                 \
            for (int64_t in = 0; in < inner; in++)                                             \
                kiln_softmax_col_##sfx(X + o * len * inner + in, Y + o * len * inner + in,     \
                                       len, inner, mode);                                      \
    }                                                                                          \
    static void kiln_k_softmax_##sfx(const struct kiln_kernel_args *a)                         \
    {                                                                                          \
        softmax_##sfx(a, KILN_SOFTMAX);                                                        \
    }                                                                                          \
    static void kiln_k_log_softmax_##sfx(const struct kiln_kernel_args *a)                     \
    {                                                                                          \
        softmax_##sfx(a, KILN_LOG_SOFTMAX);                                                    \
    }                                                                                          \
    static void kiln_k_hardmax_##sfx(const struct kiln_kernel_args *a)                         \
    {                                                                                          \
        softmax_##sfx(a, KILN_HARDMAX);                                                        \
    }

KILN_NN_FLOATS(SOFTMAX_DEFINE)

#define KV_SM(sfx, DT, ...) KILN_K(kiln_k_softmax_##sfx, DT),
#define KV_LSM(sfx, DT, ...) KILN_K(kiln_k_log_softmax_##sfx, DT),
#define KV_HM(sfx, DT, ...) KILN_K(kiln_k_hardmax_##sfx, DT),
KILN_KERNELS(softmax, KILN_NN_FLOATS(KV_SM));
KILN_KERNELS(log_softmax, KILN_NN_FLOATS(KV_LSM));
KILN_KERNELS(hardmax, KILN_NN_FLOATS(KV_HM));
