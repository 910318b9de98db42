/* reduce.c - the Reduce* family and ArgMax/ArgMin. Reduce axes come from the 'axes' attribute
 * (opset < 18; ReduceSum < 13) or an optional constant input; no axes (or an empty list)
 * reduces every axis unless noop_with_empty_axes is set. keepdims keeps reduced axes as 1. */
#include "ops.h"

static const int red_dtypes[] = {KILN_DTYPE_F32, KILN_DTYPE_F64, KILN_DTYPE_F16, KILN_DTYPE_BF16,
                                 KILN_DTYPE_I32, KILN_DTYPE_I64, KILN_DTYPE_U32, KILN_DTYPE_U64,
                                 KILN_DTYPE_I8,  KILN_DTYPE_U8,  0};
#define RED_DTYPES_DOC                                                                         \
    "float32, float64, float16, bfloat16, int32, int64, uint32, uint64, int8, uint8"

/* Sets the output for a reduction over mask and fills the params. */
static enum kiln_status finish(struct kiln_infer_ctx *c, struct kiln_ir_node *n, uint32_t mask,
                               int64_t keepdims, int64_t select_last, int dtype)
{
    struct kiln_ir_value *x = n->in[0];
    struct kiln_p_reduce *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    p->axes_mask = mask;
    p->keepdims = keepdims != 0;
    p->select_last_index = select_last != 0;
    int64_t dims[KILN_MAX_RANK];
    int r = 0;
    for (int i = 0; i < x->rank; i++) {
        if (!((mask >> i) & 1))
            dims[r++] = x->dims[i];
        else if (keepdims)
            dims[r++] = 1;
    }
    return kiln_set_output(c, n, 0, dtype, r, dims);
}

static enum kiln_status infer_reduce(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    struct kiln_ir_value *x = n->in[0];
    enum kiln_status st;
    int64_t keepdims, noop, *axes = NULL, na = 0;
    if ((st = kiln_check_dtype(c, n, 0, red_dtypes)) ||
        (st = kiln_attr_int(c, n, "keepdims", 1, &keepdims)) ||
        (st = kiln_attr_int(c, n, "noop_with_empty_axes", 0, &noop)))
        return st;
    int axes_input = c->g->opset >= 18 || (n->op == KILN_OP_REDUCE_SUM && c->g->opset >= 13);
    if (axes_input) {
        if (kiln_ir_attr(n, "axes"))
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                 "opset %lld takes axes as an input, not an attribute",
                                 (long long)c->g->opset);
        if (kiln_in(n, 1) && (st = kiln_const_ints(c, n, 1, "axes", &axes, &na)))
            return st;
    } else {
        const int64_t *a;
        size_t len;
        if (n->n_in > 1)
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                 "opset %lld takes axes as an attribute, not an input",
                                 (long long)c->g->opset);
        if ((st = kiln_attr_ints(c, n, "axes", &a, &len)))
            return st;
        axes = (int64_t *)a;
        na = (int64_t)len;
    }
    uint32_t mask = 0;
    if (na == 0) {
        if (!noop)
            mask = x->rank ? (1u << x->rank) - 1 : 0;
    }
    for (int64_t k = 0; k < na; k++) {
        int64_t a;
        if ((st = kiln_norm_axis(c, n, axes[k], x->rank, &a)))
            return st;
        if ((mask >> a) & 1)
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "axis %lld is repeated",
                                 (long long)a);
        mask |= 1u << a;
    }
    return finish(c, n, mask, keepdims, 0, x->dtype);
}

static enum kiln_status infer_arg(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    struct kiln_ir_value *x = n->in[0];
    enum kiln_status st;
    int64_t axis, keepdims, last;
    if ((st = kiln_check_dtype(c, n, 0, red_dtypes)) ||
        (st = kiln_attr_int(c, n, "axis", 0, &axis)) ||
        (st = kiln_attr_int(c, n, "keepdims", 1, &keepdims)) ||
        (st = kiln_attr_int(c, n, "select_last_index", 0, &last)) ||
        (st = kiln_norm_axis(c, n, axis, x->rank, &axis)))
        return st;
    if (x->rank && x->dims[axis] == 0)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "axis %lld has size 0: there is no index to return",
                             (long long)axis);
    return finish(c, n, x->rank ? 1u << axis : 0, keepdims, last, KILN_DTYPE_I64);
}

/* the trailing arguments are the op's opsets (struct kiln_op_info) */
#define REDUCE_INFO(lname, note, ...)                                                              \
    const struct kiln_op_info kiln_opi_##lname = {                                                 \
        .infer = infer_reduce, .dtypes = RED_DTYPES_DOC, .notes = note, .opsets = {__VA_ARGS__}}
#define AXES_NOTE "axes (attribute, or input from opset 18) must be constant"
/* ReduceMax/ReduceMin-20 only add bool, which kiln does not reduce */
REDUCE_INFO(reduce_mean, AXES_NOTE, 1, 18);
REDUCE_INFO(reduce_sum, "axes (an input from opset 13) must be constant", 1, 13);
REDUCE_INFO(reduce_max, AXES_NOTE, 1, 18);
REDUCE_INFO(reduce_min, AXES_NOTE, 1, 18);
REDUCE_INFO(reduce_prod, AXES_NOTE, 1, 18);
REDUCE_INFO(reduce_l1, AXES_NOTE, 1, 18);
REDUCE_INFO(reduce_l2, AXES_NOTE, 1, 18);
REDUCE_INFO(reduce_log_sum, AXES_NOTE, 1, 18);
REDUCE_INFO(reduce_log_sum_exp, AXES_NOTE, 1, 18);
REDUCE_INFO(reduce_sum_square, AXES_NOTE, 1, 18);
const struct kiln_op_info kiln_opi_argmax = {
    .infer = infer_arg, .dtypes = RED_DTYPES_DOC, .notes = "output int64", .opsets = {1, 12}};
const struct kiln_op_info kiln_opi_argmin = {
    .infer = infer_arg, .dtypes = RED_DTYPES_DOC, .notes = "output int64", .opsets = {1, 12}};
