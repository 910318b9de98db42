/* compress.c - Compress and NonZero, the ops whose output size depends on input data. The
 * output view's dims hold the buffer's bound on entry (the exact count when the compiler knew
 * the data); the kernels count, set the view's extent to the count and never write past the
 * bound (see runtime/dims.c). */
#include "indexing.h"

/* Compress by element size: data viewed as [outer, len, inner] (axis -1: [1, numel, 1]); the
 * slices whose condition entry is true are kept. Entries past the condition's end drop. */
static void kiln_k_compress(const struct kiln_kernel_args *a)
{
    const struct kiln_p_compress *p = a->params;
    const struct kiln_tensor *x = &a->in[0], *cond = &a->in[1];
    struct kiln_tensor *y = &a->out[0];
    size_t es = kiln_dtype_size(y->dtype);
    int64_t outer = 1, len = kiln_tensor_numel(x), inner = 1;
    if (p->axis >= 0) {
        outer = kiln_numel(x->dims, (int)p->axis);
        len = x->dims[p->axis];
        inner = kiln_numel(x->dims + p->axis + 1, x->rank - (int)p->axis - 1);
    }
    int64_t nc = kiln_tensor_numel(cond), done = 0, kept = 0;
    size_t chunk = (size_t)inner * es;
    const uint8_t *c = cond->data;
    for (int64_t j = 0; j < len && j < nc; j++)
        kept += c[j] != 0;
    int ax = p->axis >= 0 ? (int)p->axis : 0;
    if (kept < y->dims[ax])
        y->dims[ax] = kept;
    int64_t total = kiln_tensor_numel(y);
    char *d = y->data;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < len && j < nc; j++) {
            if (!c[j] || done + inner > total)
                continue;
            memcpy(d, (const char *)x->data + (size_t)(o * len + j) * chunk, chunk);
            d += chunk;
            done += inner;
        }
}

/* NonZero: int64 [rank, count], the coordinates of the non-zero elements in row-major order.
 * A scalar counts as a 1-element vector, as NumPy does. */
static void kiln_k_non_zero(const struct kiln_kernel_args *a)
{
    const struct kiln_tensor *x = &a->in[0];
    struct kiln_tensor *y = &a->out[0];
    int r = x->rank ? x->rank : 1;
    int64_t dims[KILN_MAX_RANK] = {1}, c[KILN_MAX_RANK] = {0};
    for (int i = 0; i < x->rank; i++)
        dims[i] = x->dims[i];
    int64_t n = kiln_tensor_numel(x), count = 0, at = 0;
    int64_t *out = y->data;
    for (int64_t k = 0; k < n; k++)
        count += kiln_ix_nonzero(x->data, x->dtype, k);
    if (count < y->dims[1])
        y->dims[1] = count;
    count = y->dims[1];
    for (int64_t k = 0; k < n && at < count; k++) {
        if (kiln_ix_nonzero(x->data, x->dtype, k)) {
            for (int i = 0; i < r; i++)
                out[i * count + at] = c[i];
            at++;
        }
        for (int i = r - 1; i >= 0; i--) {
            if (++c[i] < dims[i])
                break;
            c[i] = 0;
        }
    }
}

KILN_KERNELS(compress, KILN_K(kiln_k_compress, UNDEFINED));
KILN_KERNELS(non_zero, KILN_K(kiln_k_non_zero, UNDEFINED));
