/* transpose.c - Transpose for every dtype, by element size. The output is written
 * contiguously while the input is read through permuted strides; axes that stay adjacent in
 * both layouts are merged, so NCHW<->NHWC becomes a 3-D walk with one strided axis. */
#include "move.h"

static void kiln_k_transpose(const struct kiln_kernel_args *a)
{
    const struct kiln_p_transpose *p = a->params;
    const struct kiln_tensor *x = &a->in[0];
    struct kiln_tensor *y = &a->out[0];
    int64_t xs[KILN_MAX_RANK], st[KILN_MAX_RANK];
    kiln_strides(x->dims, x->rank, xs);
    for (int i = 0; i < y->rank; i++)
        st[i] = xs[p->perm[i]];
    kiln_strided_copy(y->data, x->data, kiln_dtype_size(y->dtype), y->rank, y->dims, st, 0);
}

KILN_KERNELS(transpose, KILN_K(kiln_k_transpose, UNDEFINED));
