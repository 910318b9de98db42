/* compress.c - Compress and NonZero, whose output sizes depend on input data. When that data
 * (Compress's condition, NonZero's input) is constant the count is taken here: NonZero folds,
 * Compress runs with exact dims. Otherwise the output gets an upper bound (every element
 * kept) and its extent is set by the kernel in each run (runtime/dims.c). */
#include "ops.h"
#include "../../runtime/kernels/indexing.h"

static enum kiln_status infer_compress(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    struct kiln_ir_value *x = n->in[0], *cond = n->in[1];
    enum kiln_status st;
    int64_t axis = -1;
    bool flat = !kiln_ir_attr(n, "axis");
    if ((st = kiln_check_dtype(c, n, 0, kiln_dtypes_all)) ||
        (st = kiln_check_dtype(c, n, 1, (const int[]){KILN_DTYPE_BOOL, 0})))
        return st;
    if (!flat && ((st = kiln_attr_int(c, n, "axis", 0, &axis)) ||
                  (st = kiln_norm_axis(c, n, axis, x->rank, &axis))))
        return st;
    if (cond->rank != 1)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "condition must be 1-D");
    int64_t len = flat ? kiln_ir_value_numel(x) : x->dims[axis], kept = 0;
    if (cond->data && cond->dims[0] > len)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "condition has %lld entries; the axis has %lld",
                             (long long)cond->dims[0], (long long)len);
    for (int64_t k = 0; cond->data && k < cond->dims[0]; k++)
        kept += ((const uint8_t *)cond->data)[k] != 0;
    if (!cond->data || x->runtime_dims) /* bound: every slice kept */
        kept = cond->dims[0] < len ? cond->dims[0] : len;
    bool runtime = !cond->data || x->runtime_dims || cond->runtime_dims;
    struct kiln_p_compress *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    p->axis = flat ? -1 : axis;
    int64_t dims[KILN_MAX_RANK];
    for (int i = 0; i < x->rank; i++)
        dims[i] = i == axis ? kept : x->dims[i];
    return (runtime ? kiln_set_output_bound : kiln_set_output)(
        c, n, 0, x->dtype, flat ? 1 : x->rank, flat ? &kept : dims);
}

static enum kiln_status infer_non_zero(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    struct kiln_ir_value *x = n->in[0];
    enum kiln_status st;
    if ((st = kiln_check_dtype(c, n, 0, kiln_dtypes_all)))
        return st;
    int64_t dims[2] = {x->rank ? x->rank : 1, 0}, total = kiln_ir_value_numel(x);
    if (!x->data) /* bound: every element non-zero */
        return kiln_set_output_bound(c, n, 0, KILN_DTYPE_I64, 2, (int64_t[2]){dims[0], total});
    for (int64_t k = 0; k < total; k++)
        dims[1] += kiln_ix_nonzero(x->data, x->dtype, k);
    return kiln_set_output(c, n, 0, KILN_DTYPE_I64, 2, dims);
}

const struct kiln_op_info kiln_opi_compress = {
    .infer = infer_compress, .dtypes = "any; condition bool",
    .notes = "a run-time condition gives a run-time extent (bound: the axis length)",
    .opsets = {9}};
const struct kiln_op_info kiln_opi_non_zero = {
    .infer = infer_non_zero, .dtypes = "any",
    .notes = "folded when the input is constant; else a run-time extent (bound: the element count)",
    .opsets = {9}};
