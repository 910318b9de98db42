/* epilogue.h - the output epilogue shared by Conv, Gemm and MatMul: y = act(y + bias + residual)
 * over rows of an output while they are still in cache. bias is one value per row (Conv's
 * per-channel bias; NULL for none), residual a tensor of the output's layout (NULL for none:
 * the kiln_residual input the fuse_residual pass adds). The sums run in the order the unfused
 * graph used ((y + bias) + residual), so fusing without an activation changes no bit. The GEMM
 * applies it to each tile as it stores it (gemm_core.c); its SIMD write-back does the same
 * arithmetic in registers. */
#ifndef KILN_RT_EPILOGUE_H
#define KILN_RT_EPILOGUE_H

#include "vact.h"

/* kiln_epilogue_strided_<sfx>(act, bias, res, ldr, rows, len, y, ldy): rows of len elements,
 * row r of y at y + r*ldy, of the residual at res + r*ldr; kiln_epilogue_<sfx>(act, bias, res,
 * rows, len, y): contiguous rows. float rows take the vector activations of vact.h (the
 * activation is computed in float for every dtype; other types convert element by element). */
#define KILN_EPILOGUE_DEFINE(sfx, T)                                                               \
    static inline void kiln_epilogue_strided_##sfx(const struct kiln_act *act, const T *bias,      \
                                                   const T *res, int64_t ldr, int64_t rows,        \
                                                   int64_t len, T *y, int64_t ldy)                 \
    {                                                                                              \
        int kind = act ? act->kind : KILN_ACT_NONE;                                                \
        if (!bias && !res && kind == KILN_ACT_NONE)                                                \
            return;                                                                                \
        for (int64_t r = 0; r < rows; r++, y += ldy) {                                             \
            T b = bias ? bias[r] : (T)0;                                                           \
            const T *rr = res ? res + r * ldr : NULL;                                              \
            if (bias)                                                                              \
                for (int64_t j = 0; j < len; j++)                                                  \
                    y[j] += b;                                                                     \
            if (rr)                                                                                \
                for (int64_t j = 0; j < len; j++)                                                  \
                    y[j] += rr[j];                                                                 \
            if (kind != KILN_ACT_NONE && sizeof(T) == sizeof(float))                               \
                kiln_vact_map(act, (const float *)(void *)y, (float *)(void *)y, len);             \
            else if (kind != KILN_ACT_NONE)                                                        \
                for (int64_t j = 0; j < len; j++)                                                  \
                    y[j] = (T)kiln_act_apply(act, (float)y[j]);                                    \
        }                                                                                          \
    }                                                                                              \
    static inline void kiln_epilogue_##sfx(const struct kiln_act *act, const T *bias,              \
                                           const T *res, int64_t rows, int64_t len, T *y)          \
    {                                                                                              \
        kiln_epilogue_strided_##sfx(act, bias, res, len, rows, len, y, len);                       \
    }

#endif
