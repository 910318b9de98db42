/* max_unpool.c - MaxUnpool: zero the output, then copy each X element to the output position
 * its index names (a flat index into the natural unpooled shape, re-addressed when
 * output_shape pads it). Moves elements as bytes, so one kernel serves every dtype;
 * indices outside the output are ignored (they are data, not validated at compile time). */
#include "kernels.h"

static void kiln_k_max_unpool(const struct kiln_kernel_args *a)
{
    const struct kiln_tensor *x = &a->in[0];
    struct kiln_tensor *y = &a->out[0];
    const int64_t *ind = a->in[1].data;
    size_t es = kiln_dtype_size(x->dtype);
    int64_t nx = kiln_tensor_numel(x), ny = kiln_tensor_numel(y);
    const struct kiln_p_max_unpool *p = a->params;
    int same = 1;
    int64_t ni = 1, st[KILN_MAX_RANK];
    kiln_strides(y->dims, y->rank, st);
    for (int d = 0; d < y->rank; d++) {
        same &= p->index_dims[d] == y->dims[d];
        ni *= p->index_dims[d];
    }
    memset(y->data, 0, (size_t)ny * es);
    for (int64_t i = 0; i < nx; i++) {
        int64_t at = ind[i], o = 0;
        if (at < 0 || at >= ni)
            continue;
        for (int d = y->rank - 1; d >= 0 && !same; d--) {
            int64_t q = at % p->index_dims[d];
            at /= p->index_dims[d];
            o = q < y->dims[d] && o >= 0 ? o + q * st[d] : -1;
        }
        if (same)
            o = at;
        if (o >= 0 && o < ny)
            memcpy((char *)y->data + o * (int64_t)es, (const char *)x->data + i * (int64_t)es,
                   es);
    }
}

KILN_KERNELS(max_unpool, KILN_K(kiln_k_max_unpool, UNDEFINED));
