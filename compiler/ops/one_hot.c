/* one_hot.c - OneHot: a constant depth, values [off, on] whose type becomes the output's, and
 * the new axis inserted at `axis` (default -1, the last). Indices outside [-depth, depth) are
 * legal and give all-off rows, so constant indices are not range-checked. */
#include "ops.h"

static enum kiln_status infer_one_hot(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    struct kiln_ir_value *ind = n->in[0], *vals = n->in[2];
    enum kiln_status st;
    int64_t axis;
    double depth;
    if ((st = kiln_check_dtype(c, n, 0, kiln_dtypes_numeric)) ||
        (st = kiln_check_dtype(c, n, 1, kiln_dtypes_numeric)) ||
        (st = kiln_check_dtype(c, n, 2, kiln_dtypes_all)) ||
        (st = kiln_attr_int(c, n, "axis", -1, &axis)) ||
        (st = kiln_const_scalar(c, n, 1, "depth", &depth)))
        return st;
    if (vals->rank != 1 || vals->dims[0] != 2)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "values must be a 2-element vector [off, on]");
    if (!(depth >= 1 && depth < 9e15))
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "depth %g must be positive",
                             depth);
    int rank = ind->rank + 1;
    if ((st = kiln_norm_axis(c, n, axis, rank, &axis)))
        return st;
    int64_t dims[KILN_MAX_RANK + 1];
    for (int i = 0, j = 0; i < rank; i++)
        dims[i] = i == axis ? (int64_t)depth : ind->dims[j++];
    struct kiln_p_one_hot *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    p->axis = axis;
    p->depth = (int64_t)depth;
    return kiln_set_output(c, n, 0, vals->dtype, rank, dims);
}

const struct kiln_op_info kiln_opi_one_hot = {
    .infer = infer_one_hot, .dtypes = "indices and depth numeric; values any",
    .notes = "depth must be constant; out-of-range indices give all-off rows", .opsets = {9}};
