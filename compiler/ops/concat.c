/* concat.c - Concat: any number of inputs of one dtype and rank, equal except along axis
 * (required, negative counts from the end); zero-size inputs are allowed. */
#include "ops.h"

static enum kiln_status infer_concat(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    struct kiln_ir_value *x = n->in[0];
    enum kiln_status st;
    int64_t axis;
    if (!kiln_ir_attr(n, "axis") && c->g->opset >= 4)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "attribute 'axis' is required");
    if ((st = kiln_check_dtype(c, n, 0, kiln_dtypes_all)) ||
        (st = kiln_attr_int(c, n, "axis", 1, &axis)) ||
        (st = kiln_norm_axis(c, n, axis, x->rank, &axis)))
        return st;
    if (x->rank == 0)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "cannot concatenate scalars");
    int64_t dims[KILN_MAX_RANK];
    for (int i = 0; i < x->rank; i++)
        dims[i] = x->dims[i];
    dims[axis] = 0;
    for (uint32_t k = 0; k < n->n_in; k++) {
        struct kiln_ir_value *v = n->in[k];
        if (!v)
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "input %u is missing", k);
        if ((st = kiln_check_same_dtype(c, n, 0, k)))
            return st;
        if (v->rank != x->rank)
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                 "input %u ('%s') has rank %d; input 0 has rank %d", k, v->name,
                                 v->rank, x->rank);
        for (int i = 0; i < x->rank; i++)
            if (i != axis && v->dims[i] != x->dims[i])
                return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                     "input %u ('%s') has dimension %lld at axis %d; input 0 "
                                     "has %lld",
                                     k, v->name, (long long)v->dims[i], i,
                                     (long long)x->dims[i]);
        dims[axis] += v->dims[axis];
    }
    struct kiln_p_axis *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    p->axis = axis;
    return kiln_set_output(c, n, 0, x->dtype, x->rank, dims);
}

const struct kiln_op_info kiln_opi_concat = {
    .infer = infer_concat, .dtypes = "any", .notes = "", .opsets = {1, 4}};
