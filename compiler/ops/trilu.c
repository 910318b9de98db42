/* trilu.c - Trilu (keep the upper or lower triangle of the last two axes, relative to the
 * k-th diagonal; k an optional constant input) and EyeLike (a 2-D identity of the input's
 * shape, shifted by k, in the `dtype` attribute's type or the input's). */
#include "ops.h"

static enum kiln_status infer_trilu(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    struct kiln_ir_value *x = n->in[0];
    enum kiln_status st;
    int64_t upper, *k = NULL, cnt = 0;
    if ((st = kiln_check_dtype(c, n, 0, kiln_dtypes_all)) ||
        (st = kiln_attr_int(c, n, "upper", 1, &upper)))
        return st;
    if (kiln_in(n, 1) && (st = kiln_const_ints(c, n, 1, "k", &k, &cnt)))
        return st;
    if (k && cnt != 1)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "k must hold one value");
    if (x->rank < 2)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "input must have rank >= 2");
    struct kiln_p_diag *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    /* clamp k: beyond the matrix size every offset gives the same result */
    int64_t big = x->dims[x->rank - 2] + x->dims[x->rank - 1] + 1;
    p->k = !k ? 0 : k[0] > big ? big : k[0] < -big ? -big : k[0];
    p->upper = upper != 0;
    return kiln_set_output(c, n, 0, x->dtype, x->rank, x->dims);
}

static enum kiln_status infer_eye_like(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    struct kiln_ir_value *x = n->in[0];
    enum kiln_status st;
    int64_t dtype, k;
    if ((st = kiln_check_dtype(c, n, 0, kiln_dtypes_all)) ||
        (st = kiln_attr_int(c, n, "dtype", x->dtype, &dtype)) ||
        (st = kiln_attr_int(c, n, "k", 0, &k)))
        return st;
    bool ok = false;
    for (const int *d = kiln_dtypes_all; *d; d++)
        ok |= *d == dtype;
    if (!ok)
        return kiln_op_error(c, n, KILN_STATUS_UNSUPPORTED, "dtype %lld is not supported",
                             (long long)dtype);
    if (x->rank != 2)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "input must have rank 2, has %d",
                             x->rank);
    struct kiln_p_diag *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    int64_t big = x->dims[0] + x->dims[1] + 1;
    p->k = k > big ? big : k < -big ? -big : k;
    n->kdtype = (int)dtype;
    return kiln_set_output(c, n, 0, (int)dtype, 2, x->dims);
}

const struct kiln_op_info kiln_opi_trilu = {
    .infer = infer_trilu, .dtypes = "any", .notes = "k must be constant", .opsets = {14}};
const struct kiln_op_info kiln_opi_eye_like = {
    .infer = infer_eye_like, .dtypes = "any", .notes = "only the input's shape is read",
    .opsets = {9}};
