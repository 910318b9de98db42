/* transpose.c - Transpose: perm (default: reverse the axes) must be a permutation of the
 * input's axes; output dim i is input dim perm[i]. */
#include "ops.h"

static enum kiln_status infer_transpose(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    struct kiln_ir_value *x = n->in[0];
    const int64_t *perm;
    size_t len;
    enum kiln_status st;
    if ((st = kiln_check_dtype(c, n, 0, kiln_dtypes_all)) ||
        (st = kiln_attr_ints(c, n, "perm", &perm, &len)))
        return st;
    if (perm && len != (size_t)x->rank)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "perm has %zu entries; the input has rank %d", len, x->rank);
    struct kiln_p_transpose *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    int64_t dims[KILN_MAX_RANK];
    unsigned seen = 0;
    for (int i = 0; i < x->rank; i++) {
        int64_t a = perm ? perm[i] : x->rank - 1 - i;
        if (a < 0 || a >= x->rank || (seen >> a) & 1)
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                 "perm is not a permutation of 0..%d (entry %d is %lld)",
                                 x->rank - 1, i, (long long)a);
        seen |= 1u << a;
        p->perm[i] = (int32_t)a;
        dims[i] = x->dims[a];
    }
    return kiln_set_output(c, n, 0, x->dtype, x->rank, dims);
}

const struct kiln_op_info kiln_opi_transpose = {
    .infer = infer_transpose, .dtypes = "any", .notes = "perm defaults to reversing the axes",
    .opsets = {1}};
