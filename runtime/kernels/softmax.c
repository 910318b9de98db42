/* softmax.c - Softmax, LogSoftmax and Hardmax along the middle axis of the [outer, axis_len,
 * inner] view the compiler computed. One template per dtype (the column code lives in
 * softmax.h, shared with SoftmaxCrossEntropyLoss), the op chosen by a mode argument; float32
 * rows along the last axis take the vectorised row below. */
#include "nn.h"
#include "softmax.h"
#include "vact.h"

/* float32 Softmax and LogSoftmax of a contiguous row, vectorised with the same bits on every
 * instance of vmath.h (O: kv1, kv8, kv16 of VW lanes): the max (exact in any order; with a NaN
 * anywhere every output is NaN either way), e = exp(x - max) by vmath.h, their sum as 16
 * partial sums (element i into partial i % 16) added in a fixed order, then e / sum, or
 * (x - max) - log(sum). */
#define SM_ROW(O, ATTR, V, VW)                                                                 \
    static ATTR void sm_row_##O(const float *x, float *y, int64_t len, int log_mode)           \
    {                                                                                          \
        V acc[16 / (VW)];                                                                      \
        float part[16], lanes[VW], mx = x[0], sum = 0.0f;                                      \
        V vm = O##_set(x[0]);                                                                  \
        int64_t i = 0;                                                                         \
        for (; i + (VW) <= len; i += (VW)) {                                                   \
            V v = O##_load(x + i);                                                             \
            vm = O##_gt(v, vm, v, vm);                                                         \
        }                                                                                      \
        O##_store(lanes, vm);                                                                  \
        for (int j = 0; j < (VW); j++)                                                         \
            mx = lanes[j] > mx ? lanes[j] : mx;                                                \
        for (; i < len; i++)                                                                   \
            mx = x[i] > mx ? x[i] : mx;                                                        \
        V vmx = O##_set(mx);                                                                   \
        for (int k = 0; k < 16 / (VW); k++)                                                    \
            acc[k] = O##_set(0.0f);                                                            \
        for (i = 0; i + 16 <= len; i += 16)                                                    \
            for (int k = 0; k < 16 / (VW); k++) {                                              \
                V e = O##_exp(O##_sub(O##_load(x + i + k * (VW)), vmx));                       \
                if (!log_mode)                                                                 \
                    O##_store(y + i + k * (VW), e);                                            \
                acc[k] = O##_add(acc[k], e);                                                   \
            }                                                                                  \
        for (int k = 0; k < 16 / (VW); k++)                                                    \
            O##_store(part + k * (VW), acc[k]);                                                \
        for (int j = 0; i < len; i++, j++) {                                                   \
            float e = kv1_exp(x[i] - mx);                                                      \
            if (!log_mode)                                                                     \
                y[i] = e;                                                                      \
            part[j] += e;                                                                      \
        }                                                                                      \
        for (int j = 0; j < 16; j++)                                                           \
            sum += part[j];                                                                    \
        if (log_mode) {                                                                        \
            V ls = O##_set((float)log((double)sum));                                           \
            for (i = 0; i + (VW) <= len; i += (VW))                                            \
                O##_store(y + i, O##_sub(O##_sub(O##_load(x + i), vmx), ls));                  \
            for (; i < len; i++)                                                               \
                y[i] = (x[i] - mx) - (float)log((double)sum);                                  \
            return;                                                                            \
        }                                                                                      \
        V vs = O##_set(sum);                                                                   \
        for (i = 0; i + (VW) <= len; i += (VW))                                                \
            O##_store(y + i, O##_div(O##_load(y + i), vs));                                    \
        for (; i < len; i++)                                                                   \
            y[i] = y[i] / sum;                                                                 \
    }

SM_ROW(kv1, , float, 1)
#ifdef KILN_V_AVX2
SM_ROW(kv8, KV_A2, __m256, 8)
#endif
#ifdef KILN_V_AVX512
SM_ROW(kv16, KV_A512, __m512, 16)
#endif

/* the row on the SIMD variant in use (as kiln_vact_map picks it) */
static void sm_row(const float *x, float *y, int64_t len, int log_mode)
{
#if defined(KILN_V_DISPATCH)
    switch (kiln_gemm_isa_active()) {
    case KILN_GEMM_ISA_AVX512: sm_row_kv16(x, y, len, log_mode); return;
    case KILN_GEMM_ISA_AVX2: sm_row_kv8(x, y, len, log_mode); return;
    default: sm_row_kv1(x, y, len, log_mode); return;
    }
#elif defined(KILN_V_AVX512)
    sm_row_kv16(x, y, len, log_mode);
#elif defined(KILN_V_AVX2)
    sm_row_kv8(x, y, len, log_mode);
#else
    sm_row_kv1(x, y, len, log_mode);
#endif
}

#define SOFTMAX_DEFINE(sfx, DT, T, ACC, LOAD, STORE)                                           \
    KILN_SOFTMAX_COLUMN(sfx, T, ACC, LOAD, STORE)                                              \
    static void softmax_##sfx(const struct kiln_kernel_args *a, enum kiln_softmax_mode mode)   \
    {                                                                                          \
        const struct kiln_p_softmax *p = a->params;                                            \
        const T *X = a->in[0].data;                                                            \
        T *Y = a->out[0].data;                                                                 \
        int64_t len = p->axis_len, inner = p->inner;                                           \
        if (KILN_DTYPE_##DT == KILN_DTYPE_F32 && inner == 1 && len > 0 && mode != KILN_HARDMAX) { \
            for (int64_t o = 0; o < p->outer; o++)                                             \
                sm_row((const float *)(const void *)(X + o * len),                             \
                       (float *)(void *)(Y + o * len), len, mode == KILN_LOG_SOFTMAX);         \
            return;                                                                            \
        }                                                                                      \
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
