/* gather.c - Gather: output shape data[:axis] + indices + data[axis+1:]. Constant indices are
 * range-checked here; at run time an out-of-range index (undefined in ONNX) is clamped by the
 * kernel rather than read out of bounds. */
#include "ops.h"

static enum kiln_status infer_gather(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    struct kiln_ir_value *x = n->in[0], *ind = n->in[1];
    enum kiln_status st;
    int64_t axis;
    if ((st = kiln_check_dtype(c, n, 0, kiln_dtypes_all)) ||
        (st = kiln_check_dtype(c, n, 1, kiln_dtypes_index)) ||
        (st = kiln_attr_int(c, n, "axis", 0, &axis)))
        return st;
    if (x->rank == 0)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "data must have rank >= 1");
    if ((st = kiln_norm_axis(c, n, axis, x->rank, &axis)))
        return st;
    int rank = x->rank + ind->rank - 1;
    if (rank > KILN_MAX_RANK)
        return kiln_op_error(c, n, KILN_STATUS_UNSUPPORTED,
                             "output rank %d exceeds kiln's limit of %d", rank, KILN_MAX_RANK);
    if (ind->data) {
        int64_t *idx, cnt, len = x->dims[axis];
        if ((st = kiln_const_ints(c, n, 1, "indices", &idx, &cnt)))
            return st;
        for (int64_t k = 0; k < cnt; k++)
            if (idx[k] < -len || idx[k] >= len)
                return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                     "index %lld (element %lld of '%s') is out of range for "
                                     "axis %lld of size %lld",
                                     (long long)idx[k], (long long)k, ind->name,
                                     (long long)axis, (long long)len);
    }
    int64_t dims[KILN_MAX_RANK];
    int r = 0;
    for (int i = 0; i < axis; i++)
        dims[r++] = x->dims[i];
    for (int i = 0; i < ind->rank; i++)
        dims[r++] = ind->dims[i];
    for (int i = (int)axis + 1; i < x->rank; i++)
        dims[r++] = x->dims[i];
    struct kiln_p_axis *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    p->axis = axis;
    return kiln_set_output(c, n, 0, x->dtype, rank, dims);
}

const struct kiln_op_info kiln_opi_gather = {
    .infer = infer_gather, .dtypes = "any; indices int32, int64",
    .notes = "constant indices are range-checked; run-time out-of-range indices are clamped",
    .opsets = {1}};
