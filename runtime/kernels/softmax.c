/* softmax.c - Softmax, LogSoftmax and Hardmax along the middle axis of the [outer, axis_len,
 * inner] view the compiler computed. One template per dtype, the op chosen by a mode argument;
 * the max is subtracted first so large inputs do not overflow. */
#include <math.h>

#include "kernels.h"
#include "nn.h"

enum softmax_mode { SOFTMAX, LOG_SOFTMAX, HARDMAX };

#define SOFTMAX_DEFINE(sfx, DT, T, ACC, LOAD, STORE)                                           \
    static void softmax_##sfx(const struct kiln_kernel_args *a, enum softmax_mode mode)        \
    {                                                                                          \
        const struct kiln_p_softmax *p = a->params;                                            \
        const T *X = a->in[0].data;                                                            \
        T *Y = a->out[0].data;                                                                 \
        int64_t len = p->axis_len, inner = p->inner;                                           \
        for (int64_t o = 0; o < p->outer; o++)                                                 \
            for (int64_t in = 0; in < inner; in++) {                                           \
                const T *x = X + o * len * inner + in;                                         \
                T *y = Y + o * len * inner + in;                                               \
                ACC mx = LOAD(x[0]);                                                           \
                int64_t at = 0;                                                                \
                for (int64_t i = 1; i < len; i++)                                              \
                    if (LOAD(x[i * inner]) > mx) {                                             \
                        mx = LOAD(x[i * inner]);                                               \
                        at = i;                                                                \
                    }                                                                          \
                if (mode == HARDMAX) {                                                         \
                    for (int64_t i = 0; i < len; i++)                                          \
                        y[i * inner] = STORE((ACC)(i == at));                                  \
                    continue;                                                                  \
                }                                                                              \
                ACC sum = 0;                                                                   \
                for (int64_t i = 0; i < len; i++)                                              \
                    sum += (ACC)exp((double)(LOAD(x[i * inner]) - mx));                        \
                ACC log_sum = (ACC)log((double)sum);                                           \
                for (int64_t i = 0; i < len; i++) {                                            \
                    ACC d = LOAD(x[i * inner]) - mx;                                           \
                    y[i * inner] = STORE(mode == LOG_SOFTMAX ? d - log_sum                     \
                                                             : (ACC)exp((double)d) / sum);     \
                }                                                                              \
            }                                                                                  \
    }                                                                                          \
    static void kiln_k_softmax_##sfx(const struct kiln_kernel_args *a)                         \
    {                                                                                          \
        softmax_##sfx(a, SOFTMAX);                                                             \
    }                                                                                          \
    static void kiln_k_log_softmax_##sfx(const struct kiln_kernel_args *a)                     \
    {                                                                                          \
        softmax_##sfx(a, LOG_SOFTMAX);                                                         \
    }                                                                                          \
    static void kiln_k_hardmax_##sfx(const struct kiln_kernel_args *a)                         \
    {                                                                                          \
        softmax_##sfx(a, HARDMAX);                                                             \
    }

KILN_NN_FLOATS(SOFTMAX_DEFINE)

#define KV_SM(sfx, DT, ...) KILN_K(kiln_k_softmax_##sfx, DT),
#define KV_LSM(sfx, DT, ...) KILN_K(kiln_k_log_softmax_##sfx, DT),
#define KV_HM(sfx, DT, ...) KILN_K(kiln_k_hardmax_##sfx, DT),
KILN_KERNELS(softmax, KILN_NN_FLOATS(KV_SM));
KILN_KERNELS(log_softmax, KILN_NN_FLOATS(KV_LSM));
KILN_KERNELS(hardmax, KILN_NN_FLOATS(KV_HM));
