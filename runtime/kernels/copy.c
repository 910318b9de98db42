/* copy.c - kernels that move bytes unchanged: Identity, Dropout (inference), and the view ops
 * (Flatten, Reshape, Squeeze, Unsqueeze) whose output has the input's bytes under another
 * shape. The planner may alias these later; the kernel still copies when the buffers differ. */
#include "kernels.h"

static void kiln_k_copy(const struct kiln_kernel_args *a)
{
    const struct kiln_tensor *x = &a->in[0];
    struct kiln_tensor *y = &a->out[0];
    size_t n = (size_t)kiln_tensor_numel(y) * kiln_dtype_size(y->dtype);
    if (n && x->data != y->data)
        memmove(y->data, x->data, n);
}

/* Dropout at inference: the identity, and a mask of all true when asked for. */
static void kiln_k_dropout(const struct kiln_kernel_args *a)
{
    kiln_k_copy(a);
    if (a->n_out > 1 && a->out[1].data)
        memset(a->out[1].data, 1, (size_t)kiln_tensor_numel(&a->out[1]));
}

KILN_KERNELS(identity, KILN_K(kiln_k_copy, UNDEFINED));
KILN_KERNELS(dropout, KILN_K(kiln_k_dropout, UNDEFINED));
KILN_KERNELS(flatten, KILN_K(kiln_k_copy, UNDEFINED));
KILN_KERNELS(reshape, KILN_K(kiln_k_copy, UNDEFINED));
KILN_KERNELS(squeeze, KILN_K(kiln_k_copy, UNDEFINED));
KILN_KERNELS(unsqueeze, KILN_K(kiln_k_copy, UNDEFINED));
KILN_NO_KERNELS(constant);
KILN_NO_KERNELS(shape);
KILN_NO_KERNELS(size);
