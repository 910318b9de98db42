/* max_unpool.c - MaxUnpool: the output extent from kernel_shape/strides/pads (or the constant
 * output_shape input, which the kernel never reads); the kernel scatters X to the flat
 * positions that MaxPool's Indices name (runtime/kernels/max_unpool.c). */
#include "nn.h"

static enum kiln_status infer_max_unpool(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    struct kiln_ir_value *x, *ind;
    enum kiln_status st;
    if ((st = kiln_need_input(c, n, 0, &x)) || (st = kiln_need_input(c, n, 1, &ind)) ||
        (st = kiln_check_dtype(c, n, 0, kiln_dtypes_ieee)))
        return st;
    if (ind->dtype != KILN_DTYPE_I64)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "indices '%s' are %s; expected int64",
                             ind->name, kiln_dtype_name(ind->dtype));
    if (kiln_ir_value_numel(ind) != kiln_ir_value_numel(x))
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "indices '%s' must have as many elements as X '%s'", ind->name,
                             x->name);
    int nsp = x->rank - 2;
    if (nsp < 1 || nsp > KILN_MAX_RANK - 2)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "input '%s' has rank %d; expected [N, C, D1...Dk]", x->name,
                             x->rank);
    struct kiln_p_max_unpool *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    int64_t s[KILN_MAX_RANK], pads[2 * KILN_MAX_RANK] = {0};
    const int64_t *pa, *ks;
    size_t npa, nks;
    if ((st = kiln_attr_ints(c, n, "kernel_shape", &ks, &nks)) ||
        (st = kiln_attr_ints(c, n, "pads", &pa, &npa)) ||
        (st = kiln_window_ints(c, n, "strides", nsp, 1, 1, s)))
        return st;
    if (!ks || (int)nks != nsp)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "kernel_shape is required with %d values", nsp);
    if (pa && (int)npa != 2 * nsp)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "pads has %zu values; expected %d",
                             npa, 2 * nsp);
    int64_t *dims = p->index_dims;
    dims[0] = x->dims[0], dims[1] = x->dims[1];
    for (int i = 0; i < nsp; i++) {
        if (pa)
            pads[i] = pa[i], pads[nsp + i] = pa[nsp + i];
        dims[2 + i] = (x->dims[2 + i] - 1) * s[i] + ks[i] - pads[i] - pads[nsp + i];
    }
    if (kiln_in(n, 2)) {
        /* the indices still address the natural shape; output_shape only pads it */
        int64_t *shape, cnt;
        if ((st = kiln_const_ints(c, n, 2, "output_shape", &shape, &cnt)))
            return st;
        if (cnt != x->rank)
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                 "output_shape has %lld values; expected %d", (long long)cnt,
                                 x->rank);
        return kiln_set_output(c, n, 0, x->dtype, x->rank, shape);
    }
    return kiln_set_output(c, n, 0, x->dtype, x->rank, dims);
}

const struct kiln_op_info kiln_opi_max_unpool = {
    .infer = infer_max_unpool, .dtypes = "float32, float64, float16",
    .notes = "output_shape must be constant", .opsets = {9}};
