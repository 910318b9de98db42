/* expand.c - Expand: the output shape is the bidirectional (numpy) broadcast of the input's
 * shape and the constant shape input. */
#include "ops.h"

static enum kiln_status infer_expand(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    struct kiln_ir_value *x = n->in[0];
    enum kiln_status st;
    int64_t *shape, cnt;
    if ((st = kiln_check_dtype(c, n, 0, kiln_dtypes_all)) ||
        (st = kiln_const_ints(c, n, 1, "shape", &shape, &cnt)))
        return st;
    if (cnt > KILN_MAX_RANK)
        return kiln_op_error(c, n, KILN_STATUS_UNSUPPORTED,
                             "shape has %lld entries; kiln supports rank up to %d",
                             (long long)cnt, KILN_MAX_RANK);
    for (int64_t i = 0; i < cnt; i++)
        if (shape[i] < 0)
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "shape[%lld] is %lld",
                                 (long long)i, (long long)shape[i]);
    int rank;
    int64_t dims[KILN_MAX_RANK];
    if ((st = kiln_broadcast(c, n, x->rank, x->dims, (int)cnt, shape, &rank, dims)))
        return st;
    return kiln_set_output(c, n, 0, x->dtype, rank, dims);
}

const struct kiln_op_info kiln_opi_expand = {
    .infer = infer_expand, .dtypes = "any", .notes = "the shape input must be constant",
    .opsets = {8}};
