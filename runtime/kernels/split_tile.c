/* split.c - Split and Tile, by element size only. Split views the input as
 * [outer, axis_len * inner] and hands each output its consecutive run of every row; Tile walks
 * the output row by row and repeats the matching input row along the innermost axis. */
#include "kernels.h"

static void kiln_k_split(const struct kiln_kernel_args *a)
{
    const struct kiln_p_axis *p = a->params;
    const struct kiln_tensor *x = &a->in[0];
    int ax = (int)p->axis;
    size_t es = kiln_dtype_size(x->dtype);
    int64_t outer = kiln_numel(x->dims, ax);
    size_t inner = (size_t)kiln_numel(x->dims + ax + 1, x->rank - ax - 1) * es;
    size_t row = (size_t)x->dims[ax] * inner, off = 0;
    for (uint32_t o = 0; o < a->n_out; o++) {
        struct kiln_tensor *y = &a->out[o];
        size_t chunk = (size_t)y->dims[ax] * inner;
        if (chunk && y->data)
            for (int64_t r = 0; r < outer; r++)
                memcpy((char *)y->data + (size_t)r * chunk,
                       (const char *)x->data + (size_t)r * row + off, chunk);
        off += chunk;
    }
}

static void kiln_k_tile(const struct kiln_kernel_args *a)
{
    const struct kiln_tensor *x = &a->in[0];
    struct kiln_tensor *y = &a->out[0];
    size_t es = kiln_dtype_size(y->dtype);
    int r = y->rank;
    int64_t total = kiln_tensor_numel(y);
    if (total == 0)
        return;
    if (r == 0) {
        memcpy(y->data, x->data, es);
        return;
    }
    int64_t xst[KILN_MAX_RANK], c[KILN_MAX_RANK] = {0};
    kiln_strides(x->dims, r, xst);
    size_t in_row = (size_t)x->dims[r - 1] * es;
    int64_t reps = y->dims[r - 1] / x->dims[r - 1], rows = total / y->dims[r - 1];
    char *d = y->data;
    for (int64_t row = 0; row < rows; row++) {
        int64_t src = 0;
        for (int k = 0; k < r - 1; k++)
            src += (c[k] % x->dims[k]) * xst[k];
        for (int64_t k = 0; k < reps; k++, d += in_row)
            memcpy(d, (const char *)x->data + (size_t)src * es, in_row);
        for (int k = r - 2; k >= 0; k--) {
            if (++c[k] < y->dims[k])
                break;
            c[k] = 0;
        }
    }
}

KILN_KERNELS(split, KILN_K(kiln_k_split, UNDEFINED));
KILN_KERNELS(tile, KILN_K(kiln_k_tile, UNDEFINED));
