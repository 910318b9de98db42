/* col2im.c - Col2Im (opset 18): the inverse of im2col, summing each column of
 * [N, C * prod(block_shape), L] back into its block's positions of [N, C, image_shape...].
 * image_shape and block_shape must be constant; any number of spatial axes. Kernel in
 * runtime/kernels/col2im.c. */
#include "ops.h"

/* An ints attribute of nsp values (2 * nsp for pads), or `def` for each when absent. */
static enum kiln_status per_axis(struct kiln_infer_ctx *c, const struct kiln_ir_node *n,
                                 const char *name, int count, int64_t def, int64_t *out)
{
    const int64_t *v;
    size_t len;
    enum kiln_status st = kiln_attr_ints(c, n, name, &v, &len);
    if (st)
        return st;
    if (v && len != (size_t)count)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "%s has %zu values; expected %d",
                             name, len, count);
    for (int i = 0; i < count; i++)
        out[i] = v ? v[i] : def;
    return KILN_STATUS_OK;
}

static enum kiln_status infer_col2im(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    struct kiln_ir_value *x;
    enum kiln_status st;
    int64_t *image, *block, ni, nb, pads[2 * KILN_MAX_RANK];
    if ((st = kiln_need_input_of(c, n, 0, kiln_dtypes_ieee, &x)) ||
        (st = kiln_const_ints(c, n, 1, "image_shape", &image, &ni)) ||
        (st = kiln_const_ints(c, n, 2, "block_shape", &block, &nb)))
        return st;
    if (ni != nb || ni < 1 || ni > KILN_MAX_RANK - 2 || x->rank != 3)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "needs an input [N, C * prod(block_shape), L] and image_shape and "
                             "block_shape of one size (1 to %d spatial axes)",
                             KILN_MAX_RANK - 2);
    struct kiln_p_col2im *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    int nsp = (int)ni;
    p->nsp = nsp;
    if ((st = per_axis(c, n, "dilations", nsp, 1, p->dilation)) ||
        (st = per_axis(c, n, "strides", nsp, 1, p->stride)) ||
        (st = per_axis(c, n, "pads", 2 * nsp, 0, pads)))
        return st;
    int64_t kprod = 1, lprod = 1, dims[KILN_MAX_RANK] = {x->dims[0], 0};
    for (int i = 0; i < nsp; i++) {
        int64_t span = p->dilation[i] * (block[i] - 1) + 1;
        int64_t room = image[i] + pads[i] + pads[nsp + i] - span;
        if (block[i] < 1 || p->dilation[i] < 1 || p->stride[i] < 1 || pads[i] < 0 ||
            pads[nsp + i] < 0 || image[i] < 0 || room < 0)
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                 "axis %d: block %lld (dilation %lld) does not fit image %lld "
                                 "with pads %lld, %lld, stride %lld",
                                 i, (long long)block[i], (long long)p->dilation[i],
                                 (long long)image[i], (long long)pads[i],
                                 (long long)pads[nsp + i], (long long)p->stride[i]);
        p->block[i] = block[i];
        p->pad[i] = pads[i];
        p->blocks[i] = room / p->stride[i] + 1;
        kprod *= block[i];
        lprod *= p->blocks[i];
        dims[2 + i] = image[i];
    }
    if (x->dims[1] % kprod || x->dims[2] != lprod)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "input '%s' has %lld x %lld columns; the blocks need a multiple of "
                             "%lld rows and %lld columns",
                             x->name, (long long)x->dims[1], (long long)x->dims[2],
                             (long long)kprod, (long long)lprod);
    dims[1] = x->dims[1] / kprod;
    return kiln_set_output(c, n, 0, x->dtype, nsp + 2, dims);
}

const struct kiln_op_info kiln_opi_col2im = {
    .infer = infer_col2im, .dtypes = "float32, float64, float16",
    .notes = "image_shape and block_shape must be constant; sums in double", .opsets = {18}};
