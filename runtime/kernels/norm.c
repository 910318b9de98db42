/* norm.c - BatchNormalization at inference: per channel, y = x * s + t with
 * s = scale / sqrt(var + eps) and t = B - mean * s, computed in the dtype's compute type. */
#include <math.h>

#include "kernels.h"
#include "nn.h"

#define BN_DEFINE(sfx, DT, T, ACC, LOAD, STORE)                                                \
    static void kiln_k_batch_norm_##sfx(const struct kiln_kernel_args *a)                      \
    {                                                                                          \
        const struct kiln_p_batch_norm *p = a->params;                                         \
        const struct kiln_tensor *x = &a->in[0];                                               \
        const T *X = x->data, *scale = a->in[1].data, *bias = a->in[2].data;                   \
        const T *mean = a->in[3].data, *var = a->in[4].data;                                   \
        T *Y = a->out[0].data;                                                                 \
        int64_t C = x->dims[1], inner = kiln_numel(x->dims + 2, x->rank - 2);                  \
        for (int64_t nc = 0; nc < x->dims[0] * C; nc++) {                                      \
            int64_t ch = nc % C;                                                               \
            ACC s = LOAD(scale[ch]) / (ACC)sqrt((double)LOAD(var[ch]) + p->epsilon);           \
            ACC t = LOAD(bias[ch]) - LOAD(mean[ch]) * s;                                       \
            const T *xr = X + nc * inner;                                                      \
            T *yr = Y + nc * inner;                                                            \
            for (int64_t i = 0; i < inner; i++)                                                \
                yr[i] = STORE(LOAD(xr[i]) * s + t);                                            \
        }                                                                                      \
    }

KILN_NN_FLOATS(BN_DEFINE)

#define KV_BN(sfx, DT, ...) KILN_K(kiln_k_batch_norm_##sfx, DT),
KILN_KERNELS(batch_normalization, KILN_NN_FLOATS(KV_BN));
