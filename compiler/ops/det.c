/* det.c - Det (opset 11): the determinants of the square matrices in the last two axes of
 * [..., M, M]; the output has the leading axes. The kernel needs one M x M double matrix of
 * scratch for its LU factorisation. */
#include "ops.h"

static enum kiln_status infer_det(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    struct kiln_ir_value *x;
    enum kiln_status st;
    if ((st = kiln_need_input_of(c, n, 0, kiln_dtypes_ieee, &x)))
        return st;
    if (x->rank < 2 || x->dims[x->rank - 1] != x->dims[x->rank - 2])
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "input '%s' must be [..., M, M] (square matrices)", x->name);
    int64_t m = x->dims[x->rank - 1];
    n->scratch_size = (uint64_t)(m * m) * sizeof(double);
    return kiln_set_output(c, n, 0, x->dtype, x->rank - 2, x->dims);
}

static uint64_t macs_det(const struct kiln_ir_node *n)
{
    const struct kiln_ir_value *x = n->in[0];
    uint64_t m = (uint64_t)x->dims[x->rank - 1];
    return (uint64_t)kiln_ir_value_numel(n->out[0]) * m * m * m / 3;
}

const struct kiln_op_info kiln_opi_det = {
    .infer = infer_det, .macs = macs_det, .dtypes = "float32, float64, float16",
    .notes = "LU with partial pivoting in double", .opsets = {11}};
