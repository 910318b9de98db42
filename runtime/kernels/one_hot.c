/* one_hot.c - OneHot, by element size: the output, viewed as [outer, depth, inner] around the
 * new axis, is filled with values[0] (off) and values[1] (on) is written where the index (any
 * numeric type, floats truncated; negative counts from the end) selects. Indices out of
 * [-depth, depth) select nothing, as ONNX specifies: their rows stay all off. */
#include "indexing.h"
#include "move.h"

static void kiln_k_one_hot(const struct kiln_kernel_args *a)
{
    const struct kiln_p_one_hot *p = a->params;
    const struct kiln_tensor *ind = &a->in[0], *vals = &a->in[2];
    struct kiln_tensor *y = &a->out[0];
    size_t es = kiln_dtype_size(y->dtype);
    int64_t outer = kiln_numel(ind->dims, (int)p->axis);
    int64_t inner = kiln_numel(ind->dims + p->axis, ind->rank - (int)p->axis);
    const char *off = vals->data, *on = off + es;
    kiln_fill_elems(y->data, off, es, kiln_tensor_numel(y));
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            int64_t j = kiln_ix_norm(kiln_ix_load(ind->data, ind->dtype, o * inner + i), p->depth);
            if (j >= 0)
                memcpy((char *)y->data + (size_t)((o * p->depth + j) * inner + i) * es, on, es);
        }
}

KILN_KERNELS(one_hot, KILN_K(kiln_k_one_hot, UNDEFINED));
