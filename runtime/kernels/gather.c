/* gather.c - Gather for every dtype, by bytes: data viewed as [outer, axis_len, inner], the
 * output as [outer, n_indices, inner]. Negative indices count from the end. An index still
 * out of range after that is undefined behaviour in ONNX; the compiler rejects it when the
 * indices are constant, and at run time it is clamped so no read leaves the buffer. */
#include "kernels.h"

static void kiln_k_gather(const struct kiln_kernel_args *a)
{
    const struct kiln_p_axis *p = a->params;
    const struct kiln_tensor *x = &a->in[0], *ind = &a->in[1];
    struct kiln_tensor *y = &a->out[0];
    size_t es = kiln_dtype_size(y->dtype);
    int ax = (int)p->axis;
    int64_t outer = kiln_numel(x->dims, ax), len = x->dims[ax];
    size_t inner = (size_t)kiln_numel(x->dims + ax + 1, x->rank - ax - 1) * es;
    int64_t ni = kiln_tensor_numel(ind);
    char *d = y->data;
    const char *s = x->data;
    for (int64_t o = 0; o < outer; o++) {
        for (int64_t k = 0; k < ni; k++, d += inner) {
            int64_t j = ind->dtype == KILN_DTYPE_I64 ? ((const int64_t *)ind->data)[k]
                                                     : ((const int32_t *)ind->data)[k];
            if (j < 0)
                j += len;
            if (len == 0) {
                memset(d, 0, inner);
                continue;
            }
            j = j < 0 ? 0 : j >= len ? len - 1 : j;
            memcpy(d, s + ((size_t)(o * len + j)) * inner, inner);
        }
    }
}

KILN_KERNELS(gather, KILN_K(kiln_k_gather, UNDEFINED));
