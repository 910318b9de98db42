/* softmax.c - Softmax, LogSoftmax, Hardmax. Before opset 13 the input is coerced to 2-D at
 * `axis` (default 1: everything from axis on is one row); from 13 the op runs along the one
 * axis (default -1). Both become the [outer, axis_len, inner] view of struct kiln_p_softmax. */
#include "ops.h"

static enum kiln_status infer_softmax(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    struct kiln_ir_value *x;
    enum kiln_status st;
    if ((st = kiln_need_input_of(c, n, 0, kiln_dtypes_ieee, &x)))
        return st;
    bool coerce_2d = c->g->opset < 13;
    int64_t axis;
    if ((st = kiln_attr_int(c, n, "axis", coerce_2d ? 1 : -1, &axis)))
        return st;
    if (x->rank == 0)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "input '%s' is a scalar",
                             x->name);
    /* the coerced form accepts axis == rank (an empty row product of 1) */
    if (coerce_2d && axis == x->rank)
        axis = x->rank;
    else if ((st = kiln_norm_axis(c, n, axis, x->rank, &axis)))
        return st;
    struct kiln_p_softmax *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    p->outer = p->axis_len = p->inner = 1;
    for (int i = 0; i < x->rank; i++) {
        if (i < axis)
            p->outer *= x->dims[i];
        else if (i == axis || coerce_2d)
            p->axis_len *= x->dims[i];
        else
            p->inner *= x->dims[i];
    }
    return kiln_set_output(c, n, 0, x->dtype, x->rank, x->dims);
}

/* In place: each [outer, :, inner] column is read in full before its first write, and the last
 * pass reads x[i] just before writing y[i]. */
const struct kiln_op_info kiln_opi_softmax = {
    .flags = KILN_OPF_INPLACE, .infer = infer_softmax, .dtypes = "float32, float64, float16",
    .notes = "opset < 13: 2-D coercion at axis", .opsets = {1, 13}};
const struct kiln_op_info kiln_opi_log_softmax = {
    .flags = KILN_OPF_INPLACE, .infer = infer_softmax, .dtypes = "float32, float64, float16",
    .notes = "opset < 13: 2-D coercion at axis", .opsets = {1, 13}};
const struct kiln_op_info kiln_opi_hardmax = {
    .flags = KILN_OPF_INPLACE, .infer = infer_softmax, .dtypes = "float32, float64, float16",
    .notes = "opset < 13: 2-D coercion at axis; the first maximum wins", .opsets = {1, 13}};
