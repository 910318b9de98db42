/* reverse_sequence.c - ReverseSequence: batch_axis and time_axis are 0 and 1 in some order;
 * sequence_lens (int64 [batch]) may be a run-time input. Constant lengths outside
 * [0, time steps] are rejected here; at run time the kernel clamps them. */
#include "ops.h"

static enum kiln_status infer_reverse_sequence(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    struct kiln_ir_value *x = n->in[0], *lens = n->in[1];
    enum kiln_status st;
    int64_t ba, ta;
    if ((st = kiln_check_dtype(c, n, 0, kiln_dtypes_all)) ||
        (st = kiln_check_dtype(c, n, 1, kiln_dtypes_index)) ||
        (st = kiln_attr_int(c, n, "batch_axis", 1, &ba)) ||
        (st = kiln_attr_int(c, n, "time_axis", 0, &ta)))
        return st;
    if (x->rank < 2)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "input must have rank >= 2");
    if (!((ba == 0 && ta == 1) || (ba == 1 && ta == 0)))
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "batch_axis (%lld) and time_axis (%lld) must be 0 and 1",
                             (long long)ba, (long long)ta);
    if (lens->rank != 1 || lens->dims[0] != x->dims[ba])
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "sequence_lens must be a vector of the batch size (%lld)",
                             (long long)x->dims[ba]);
    if (lens->data) {
        int64_t *l, cnt;
        if ((st = kiln_const_ints(c, n, 1, "sequence_lens", &l, &cnt)))
            return st;
        for (int64_t k = 0; k < cnt; k++)
            if (l[k] < 0 || l[k] > x->dims[ta])
                return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                     "sequence length %lld (batch %lld) is outside [0, %lld]",
                                     (long long)l[k], (long long)k, (long long)x->dims[ta]);
    }
    struct kiln_p_reverse_sequence *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    p->batch_axis = (int32_t)ba;
    p->time_axis = (int32_t)ta;
    return kiln_set_output(c, n, 0, x->dtype, x->rank, x->dims);
}

const struct kiln_op_info kiln_opi_reverse_sequence = {
    .infer = infer_reverse_sequence, .dtypes = "any; sequence_lens int64",
    .notes = "run-time lengths outside [0, time steps] are clamped", .opsets = {10}};
