/* slice.c - Slice for every dtype, by element size: the compiler resolved starts, ends, axes
 * and steps (clamping, negative values) into a first element and a step per input axis; the
 * output's dims are the element counts. */
#include "move.h"

static void kiln_k_slice(const struct kiln_kernel_args *a)
{
    const struct kiln_p_slice *p = a->params;
    const struct kiln_tensor *x = &a->in[0];
    struct kiln_tensor *y = &a->out[0];
    int64_t xs[KILN_MAX_RANK], st[KILN_MAX_RANK], base = 0;
    kiln_strides(x->dims, x->rank, xs);
    for (int i = 0; i < x->rank; i++) {
        st[i] = xs[i] * p->steps[i];
        base += xs[i] * p->starts[i];
    }
    kiln_strided_copy(y->data, x->data, kiln_dtype_size(y->dtype), y->rank, y->dims, st, base);
}

KILN_KERNELS(slice, KILN_K(kiln_k_slice, UNDEFINED));
