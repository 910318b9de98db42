/* epilogue.h - the output epilogue shared by Conv, Gemm and MatMul: y = act(y + bias + residual)
 * over rows of an output while they are still in cache. bias is one value per row (Conv's
 * per-channel bias; NULL for none), residual a tensor of the output's layout (NULL for none:
 * the kiln_residual input the fuse_residual pass adds). The sums run in the order the unfused
 * graph used ((y + bias) + residual), so fusing without an activation changes no bit. */
#ifndef KILN_RT_EPILOGUE_H
#define KILN_RT_EPILOGUE_H

#include "act.h"

#define KILN_EPILOGUE_DEFINE(sfx, T)                                                               \
    static inline void kiln_epilogue_##sfx(const struct kiln_act *act, const T *bias,              \
                                           const T *res, int64_t rows, int64_t len, T *y)          \
    {                                                                                              \
        if (!bias && !res && act->kind == KILN_ACT_NONE)                                           \
            return;                                                                                \
        for (int64_t r = 0; r < rows; r++, y += len) {                                             \
            T b = bias ? bias[r] : (T)0;                                                           \
            const T *rr = res ? res + r * len : NULL;                                              \
            if (bias)                                                                              \
                for (int64_t j = 0; j < len; j++)                                                  \
                    y[j] += b;                                                                     \
            if (rr)                                                                                \
                for (int64_t j = 0; j < len; j++)                                                  \
                    y[j] += rr[j];                                                                 \
            if (act->kind != KILN_ACT_NONE)                                                        \
                for (int64_t j = 0; j < len; j++)                                                  \
                    y[j] = (T)kiln_act_apply(act, (float)y[j]);                                    \
        }                                                                                          \
    }

#endif
