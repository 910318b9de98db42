/* softmax.h - the Softmax / LogSoftmax / Hardmax of one column (len elements `inner` apart) as
 * a template, shared by the Softmax family (softmax.c) and SoftmaxCrossEntropyLoss (loss.c),
 * which takes its log-probabilities from the same code. The max is subtracted first so large
 * inputs do not overflow. */
#ifndef KILN_RT_SOFTMAX_H
#define KILN_RT_SOFTMAX_H

#include <math.h>

#include "kernels.h"

enum kiln_softmax_mode { KILN_SOFTMAX, KILN_LOG_SOFTMAX, KILN_HARDMAX };

/* Defines static void kiln_softmax_col_<sfx>(const T *x, T *y, len, inner, mode). */
#define KILN_SOFTMAX_COLUMN(sfx, T, ACC, LOAD, STORE)                                         \
    static void kiln_softmax_col_##sfx(const T *x, T *y, int64_t len, int64_t inner,          \
                                       enum kiln_softmax_mode mode)                           \
    {                                                                                          \
        ACC mx = LOAD(x[0]);                                                                   \
        int64_t at = 0;                                                                        \
        for (int64_t i = 1; i < len; i++)                                                      \
            if (LOAD(x[i * inner]) > mx) {                                                     \
                mx = LOAD(x[i * inner]);                                                       \
                at = i;                                                                        \
            }                                                                                  \
        if (mode == KILN_HARDMAX) {                                                            \
            for (int64_t i = 0; i < len; i++)                                                  \
                y[i * inner] = STORE((ACC)(i == at));                                          \
            return;                                                                            \
        }                                                                                      \
        ACC sum = 0;                                                                           \
        for (int64_t i = 0; i < len; i++)                                                      \
            sum += (ACC)exp((double)(LOAD(x[i * inner]) - mx));                                \
        ACC log_sum = (ACC)log((double)sum);                                                   \
        for (int64_t i = 0; i < len; i++) {                                                    \
            ACC d = LOAD(x[i * inner]) - mx;                                                   \
            y[i * inner] = STORE(mode == KILN_LOG_SOFTMAX ? d - log_sum                        \
                                                          : (ACC)exp((double)d) / sum);        \
        }                                                                                      \
    }

#endif
