/* concat.c - Concat for every dtype, by bytes: the output is [outer, sum of axis lengths,
 * inner], and each outer row receives one contiguous block from every input in turn. */
#include "kernels.h"

static void kiln_k_concat(const struct kiln_kernel_args *a)
{
    const struct kiln_p_axis *p = a->params;
    struct kiln_tensor *y = &a->out[0];
    size_t es = kiln_dtype_size(y->dtype);
    int64_t outer = kiln_numel(y->dims, (int)p->axis);
    int64_t inner = kiln_numel(y->dims + p->axis + 1, y->rank - (int)p->axis - 1) * (int64_t)es;
    char *d = y->data;
    for (int64_t o = 0; o < outer; o++) {
        for (uint32_t i = 0; i < a->n_in; i++) {
            size_t block = (size_t)(a->in[i].dims[p->axis] * inner);
            if (block)
                memcpy(d, (const char *)a->in[i].data + (size_t)o * block, block);
            d += block;
        }
    }
}

KILN_KERNELS(concat, KILN_K(kiln_k_concat, UNDEFINED));
