/* cumsum.c - CumSum: the axis input must be constant; exclusive and reverse attributes. */
#include "ops.h"

static enum kiln_status infer_cumsum(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    struct kiln_ir_value *x = n->in[0];
    enum kiln_status st;
    int64_t *ax, cnt, axis, exclusive, reverse;
    if ((st = kiln_check_dtype(c, n, 0, kiln_dtypes_numeric)) ||
        (st = kiln_const_ints(c, n, 1, "axis", &ax, &cnt)) ||
        (st = kiln_attr_int(c, n, "exclusive", 0, &exclusive)) ||
        (st = kiln_attr_int(c, n, "reverse", 0, &reverse)))
        return st;
    if (cnt != 1)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "axis must hold one value");
    if (x->rank == 0)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "input must have rank >= 1");
    if ((st = kiln_norm_axis(c, n, ax[0], x->rank, &axis)))
        return st;
    struct kiln_p_cumsum *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    p->axis = axis;
    p->exclusive = exclusive != 0;
    p->reverse = reverse != 0;
    return kiln_set_output(c, n, 0, x->dtype, x->rank, x->dims);
}

const struct kiln_op_info kiln_opi_cumsum = {
    .infer = infer_cumsum, .dtypes = "numeric", .notes = "axis must be constant", .opsets = {11}};
