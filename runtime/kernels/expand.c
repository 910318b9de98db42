/* expand.c - Expand for every dtype, by element size: a strided copy with stride 0 along the
 * broadcast axes. */
#include "move.h"

static void kiln_k_expand(const struct kiln_kernel_args *a)
{
    const struct kiln_tensor *x = &a->in[0];
    struct kiln_tensor *y = &a->out[0];
    int64_t st[KILN_MAX_RANK];
    kiln_bcast_strides(x, y->rank, st);
    kiln_strided_copy(y->data, x->data, kiln_dtype_size(y->dtype), y->rank, y->dims, st, 0);
}

KILN_KERNELS(expand, KILN_K(kiln_k_expand, UNDEFINED));
