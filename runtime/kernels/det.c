/* det.c - Det: each M x M matrix is copied into double scratch and factorised by Gaussian
 * elimination with partial pivoting (LU); the determinant is the product of the pivots, its
 * sign flipped per row swap. A zero pivot column gives 0. */
#include <math.h>

#include "kernels.h"
#include "nn.h"

static double det_lu(double *a, int64_t m)
{
    double det = 1.0;
    for (int64_t k = 0; k < m; k++) {
        int64_t piv = k;
        for (int64_t i = k + 1; i < m; i++)
            if (fabs(a[i * m + k]) > fabs(a[piv * m + k]))
                piv = i;
        if (a[piv * m + k] == 0)
            return 0.0;
        if (piv != k) {
            for (int64_t j = 0; j < m; j++) {
                double t = a[k * m + j];
                a[k * m + j] = a[piv * m + j];
                a[piv * m + j] = t;
            }
            det = -det;
        }
        double d = a[k * m + k];
        det *= d;
        for (int64_t i = k + 1; i < m; i++) {
            double f = a[i * m + k] / d;
            for (int64_t j = k + 1; j < m; j++)
                a[i * m + j] -= f * a[k * m + j];
        }
    }
    return det;
}

#define DET_DEFINE(sfx, DT, T, ACC, LOAD, STORE)                                               \
    static void kiln_k_det_##sfx(const struct kiln_kernel_args *a)                             \
    {                                                                                          \
        const struct kiln_tensor *x = &a->in[0];                                               \
        const T *X = x->data;                                                                  \
        T *Y = a->out[0].data;                                                                 \
        int64_t m = x->dims[x->rank - 1], count = kiln_numel(x->dims, x->rank - 2);            \
        double *s = a->scratch;                                                                \
        for (int64_t b = 0; b < count; b++) {                                                  \
            for (int64_t i = 0; i < m * m; i++)                                                \
                s[i] = (double)LOAD(X[b * m * m + i]);                                         \
            Y[b] = STORE((ACC)det_lu(s, m));                                                   \
        }                                                                                      \
    }

KILN_NN_FLOATS(DET_DEFINE)

#define KV_DET(sfx, DT, ...) KILN_K(kiln_k_det_##sfx, DT),
KILN_KERNELS(det, KILN_NN_FLOATS(KV_DET));
