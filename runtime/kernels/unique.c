/* unique.c - Unique: Y holds the unique slices along the axis (or elements, flattened), then
 * indices (first occurrences), inverse_indices and counts, all int64. The output views hold
 * the buffers' bounds (len slices) on entry, or the count when the compiler folded the node
 * with the same algorithm (unique.h); the kernel sets the count as their extent (runtime/
 * dims.c). Scratch: the algorithm's 5 * len int64 work area. */
#include "unique.h"

static void kiln_k_unique(const struct kiln_kernel_args *a)
{
    const struct kiln_p_unique *p = a->params;
    const struct kiln_tensor *x = &a->in[0];
    int64_t *work = a->scratch, len = p->len;
    int64_t u = kiln_unique_run(p, x->data, x->dtype, work);
    struct kiln_tensor *y0 = &a->out[0];
    int ax = (int)p->axis;
    if (u > y0->dims[ax]) /* a bound below the count: keep within the buffers */
        u = y0->dims[ax];
    y0->dims[ax] = u;
    for (uint32_t j = 1; j < a->n_out; j += 2)
        if (a->out[j].data && a->out[j].dims[0] > u)
            a->out[j].dims[0] = u;
    const int64_t *first = work + 3 * len, *cnt = work + 4 * len;
    size_t es = kiln_dtype_size(x->dtype), chunk = (size_t)p->inner * es;
    char *y = a->out[0].data;
    for (int64_t o = 0; o < p->outer; o++)
        for (int64_t k = 0; k < u; k++)
            memcpy(y + (size_t)(o * u + k) * chunk,
                   (const char *)x->data + (size_t)(o * len + first[k]) * chunk, chunk);
    int64_t *ind = a->n_out > 1 ? a->out[1].data : NULL;
    int64_t *inv = a->n_out > 2 ? a->out[2].data : NULL;
    int64_t *counts = a->n_out > 3 ? a->out[3].data : NULL;
    for (int64_t k = 0; k < u; k++) {
        if (ind)
            ind[k] = first[k];
        if (counts)
            counts[k] = cnt[k];
    }
    for (int64_t e = 0; inv && e < len; e++)
        inv[e] = work[len + work[2 * len + e]];
}

KILN_KERNELS(unique, KILN_K(kiln_k_unique, UNDEFINED));
