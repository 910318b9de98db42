/* loss.c - NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss (opsets 12/13): input [N, C]
 * or [N, C, d1..dk], target [N] or [N, d1..dk] (int32/int64), optional weight [C], reduction
 * none/sum/mean and ignore_index. Both lower to struct kiln_p_loss; a constant target outside
 * [0, C) that is not ignore_index is an error here (at run time such targets count as ignored). */
#include <string.h>

#include "ops.h"

static enum kiln_status infer_loss(struct kiln_infer_ctx *c, struct kiln_ir_node *n, bool sce)
{
    struct kiln_ir_value *x, *t, *w = kiln_in(n, 2);
    enum kiln_status st;
    if ((st = kiln_need_input(c, n, 0, &x)) || (st = kiln_need_input(c, n, 1, &t)) ||
        (st = kiln_check_dtype(c, n, 0, kiln_dtypes_ieee)) ||
        (st = kiln_check_dtype(c, n, 1, kiln_dtypes_index)) ||
        (st = kiln_check_same_dtype(c, n, 0, 2)))
        return st;
    if (x->rank < 2)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "input '%s' has rank %d; expected [N, C] or [N, C, d1, ...]",
                             x->name, x->rank);
    bool shape_ok = t->rank == x->rank - 1 && t->dims[0] == x->dims[0];
    for (int i = 1; shape_ok && i < t->rank; i++)
        shape_ok = t->dims[i] == x->dims[i + 1];
    if (!shape_ok)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "target '%s' must have the input's shape without the class axis C",
                             t->name);
    if (w && (w->rank != 1 || w->dims[0] != x->dims[1]))
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "weight '%s' must be 1-D with C = %lld entries", w->name,
                             (long long)x->dims[1]);
    const char *red;
    int64_t ignore = 0;
    if ((st = kiln_attr_string(c, n, "reduction", "mean", &red)) ||
        (st = kiln_attr_int(c, n, "ignore_index", 0, &ignore)))
        return st;
    struct kiln_p_loss *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    if (strcmp(red, "none") == 0)
        p->reduction = KILN_LOSS_NONE;
    else if (strcmp(red, "sum") == 0)
        p->reduction = KILN_LOSS_SUM;
    else if (strcmp(red, "mean") == 0)
        p->reduction = KILN_LOSS_MEAN;
    else
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "reduction '%s' is not one of none, sum, mean", red);
    p->n = x->dims[0];
    p->c = x->dims[1];
    p->d = 1;
    for (int i = 2; i < x->rank; i++)
        p->d *= x->dims[i];
    p->has_ignore = kiln_ir_attr(n, "ignore_index") != NULL;
    p->ignore_index = ignore;
    if (t->data) {
        int64_t *tv, cnt;
        if ((st = kiln_const_ints(c, n, 1, "target", &tv, &cnt)))
            return st;
        for (int64_t k = 0; k < cnt; k++)
            if (!(p->has_ignore && tv[k] == ignore) && (tv[k] < 0 || tv[k] >= p->c))
                return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                     "target %lld (element %lld of '%s') is outside [0, %lld) "
                                     "and is not ignore_index",
                                     (long long)tv[k], (long long)k, t->name,
                                     (long long)p->c);
    }
    if (sce && (n->n_out < 2 || !n->out[1]))
        n->scratch_size = (uint64_t)kiln_ir_value_numel(x) * kiln_dtype_size(x->dtype);
    if ((st = p->reduction == KILN_LOSS_NONE
                  ? kiln_set_output(c, n, 0, x->dtype, t->rank, t->dims)
                  : kiln_set_output(c, n, 0, x->dtype, 0, NULL)))
        return st;
    return sce ? kiln_set_output(c, n, 1, x->dtype, x->rank, x->dims) : KILN_STATUS_OK;
}

static enum kiln_status infer_nll(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    return infer_loss(c, n, false);
}

static enum kiln_status infer_sce(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    return infer_loss(c, n, true);
}

const struct kiln_op_info kiln_opi_nll_loss = {
    .infer = infer_nll, .dtypes = "float32, float64, float16; target int32, int64",
    .notes = "a run-time target outside [0, C) other than ignore_index counts as ignored (a "
             "constant one is an error); mean over fully ignored targets is NaN",
    .opsets = {12}};
const struct kiln_op_info kiln_opi_softmax_cross_entropy_loss = {
    .infer = infer_sce, .dtypes = "float32, float64, float16; labels int32, int64",
    .notes = "log-softmax along C, then NegativeLogLikelihoodLoss's reduction; targets as there",
    .opsets = {12}};
