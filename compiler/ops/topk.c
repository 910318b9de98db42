/* topk.c - TopK: k from the attribute (opset < 10) or an input (opset >= 10); axis, largest
 * and sorted (opset 11). Outputs the values and their int64 indices. A constant k is folded
 * into the params; a k computed at run time gives outputs of run-time extent along the axis
 * (bound: the axis length), which the kernel sets. */
#include "ops.h"

static enum kiln_status infer_topk(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    struct kiln_ir_value *x = n->in[0];
    enum kiln_status st;
    int64_t axis, k = -1, largest = 1, sorted = 1;
    if ((st = kiln_check_dtype(c, n, 0, kiln_dtypes_numeric)) ||
        (st = kiln_attr_int(c, n, "axis", -1, &axis)))
        return st;
    if (c->g->opset < 10) {
        if (!kiln_ir_attr(n, "k"))
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "attribute k is required");
        if ((st = kiln_attr_int(c, n, "k", 0, &k)))
            return st;
    } else if (kiln_in(n, 1) && !n->in[1]->data) {
        static const int i64[] = {KILN_DTYPE_I64, 0};
        if ((st = kiln_check_dtype(c, n, 1, i64)))
            return st;
        if (kiln_ir_value_numel(n->in[1]) != 1)
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "k must hold one value");
    } else {
        int64_t *kv, cnt;
        if ((st = kiln_const_ints(c, n, 1, "k", &kv, &cnt)))
            return st;
        if (cnt != 1)
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "k must hold one value");
        k = kv[0];
        n->folded_in |= 1u << 1;
    }
    if (c->g->opset >= 11 && ((st = kiln_attr_int(c, n, "largest", 1, &largest)) ||
                              (st = kiln_attr_int(c, n, "sorted", 1, &sorted))))
        return st;
    if (x->rank == 0)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "input must have rank >= 1");
    if ((st = kiln_norm_axis(c, n, axis, x->rank, &axis)))
        return st;
    bool runtime_k = c->g->opset >= 10 && !(n->folded_in & 2);
    if (!runtime_k && (k < 0 || k > x->dims[axis]))
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "k = %lld is outside [0, %lld] (axis %lld)", (long long)k,
                             (long long)x->dims[axis], (long long)axis);
    struct kiln_p_topk *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    p->axis = axis;
    p->k = k;
    p->largest = largest != 0;
    p->sorted = sorted != 0;
    n->scratch_size = (uint64_t)(2 * x->dims[axis] + 1) * sizeof(int64_t);
    int64_t dims[KILN_MAX_RANK];
    for (int i = 0; i < x->rank; i++)
        dims[i] = i == axis && !runtime_k ? k : x->dims[i];
    if (runtime_k)
        return (st = kiln_set_output_bound(c, n, 0, x->dtype, x->rank, dims))
                   ? st
                   : kiln_set_output_bound(c, n, 1, KILN_DTYPE_I64, x->rank, dims);
    if ((st = kiln_set_output(c, n, 0, x->dtype, x->rank, dims)))
        return st;
    return kiln_set_output(c, n, 1, KILN_DTYPE_I64, x->rank, dims);
}

const struct kiln_op_info kiln_opi_topk = {
    .infer = infer_topk, .dtypes = "numeric",
    .notes = "a k computed at run time gives a run-time extent (bound: the axis length); ties "
             "keep the lower index first; output always sorted",
    .opsets = {1, 10, 11}};
