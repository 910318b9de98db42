/* reshape.c - ops whose output is the input's bytes under another shape (Identity, Dropout at
 * inference, Flatten, Reshape, Squeeze, Unsqueeze), and the ops that are always known at
 * compile time (Constant, Shape, Size). */
#include <string.h>

#include "ops.h"

static enum kiln_status same_as_input(struct kiln_infer_ctx *c, struct kiln_ir_node *n,
                                      int rank, const int64_t *dims)
{
    struct kiln_ir_value *x = n->in[0];
    return kiln_set_output(c, n, 0, x->dtype, rank, dims);
}

static enum kiln_status infer_identity(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    struct kiln_ir_value *x = n->in[0];
    return same_as_input(c, n, x->rank, x->dims);
}

static enum kiln_status infer_dropout(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    struct kiln_ir_value *x = n->in[0];
    enum kiln_status st;
    if ((st = kiln_check_dtype(c, n, 0, kiln_dtypes_float)))
        return st;
    struct kiln_ir_value *tm = kiln_in(n, 2);
    if (tm) {
        if (!tm->data)
            return kiln_op_error(c, n, KILN_STATUS_UNSUPPORTED,
                                 "training_mode '%s' must be a constant: kiln compiles for "
                                 "inference",
                                 tm->name);
        if (*(const uint8_t *)tm->data)
            return kiln_op_error(c, n, KILN_STATUS_UNSUPPORTED,
                                 "training_mode is true: random dropout is not supported at "
                                 "inference");
    }
    int64_t is_test = 1;
    if (c->g->opset < 7 && (st = kiln_attr_int(c, n, "is_test", 0, &is_test)))
        return st;
    if (!is_test)
        return kiln_op_error(c, n, KILN_STATUS_UNSUPPORTED,
                             "is_test = 0 asks for training-mode dropout; kiln compiles for "
                             "inference");
    /* the mask is bool from opset 10; before, it has X's type, which the kernel does not
     * write: refused only when something reads it */
    struct kiln_ir_value *mask = n->n_out > 1 ? n->out[1] : NULL;
    if (c->g->opset < 10 && mask && mask->n_uses)
        return kiln_op_error(c, n, KILN_STATUS_UNSUPPORTED,
                             "the model's opset %lld gives the mask output '%s' the type of X; "
                             "kiln computes Dropout's mask as bool, as from opset 10",
                             (long long)c->g->opset, mask->name);
    if ((st = same_as_input(c, n, x->rank, x->dims)))
        return st;
    return kiln_set_output(c, n, 1, KILN_DTYPE_BOOL, x->rank, x->dims);
}

static enum kiln_status infer_flatten(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    struct kiln_ir_value *x = n->in[0];
    int64_t axis;
    enum kiln_status st = kiln_attr_int(c, n, "axis", 1, &axis);
    if (st)
        return st;
    if (axis < -x->rank || axis > x->rank)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "axis %lld is out of range for rank %d", (long long)axis, x->rank);
    if (axis < 0)
        axis += x->rank;
    int64_t dims[2] = {1, 1};
    for (int i = 0; i < x->rank; i++)
        dims[i < axis ? 0 : 1] *= x->dims[i];
    return same_as_input(c, n, 2, dims);
}

static enum kiln_status infer_reshape(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    struct kiln_ir_value *x = n->in[0];
    enum kiln_status st;
    int64_t *shape, count, allowzero = 0;
    if (c->g->opset < 5 || n->n_in < 2) {
        const int64_t *s;
        size_t len;
        if ((st = kiln_attr_ints(c, n, "shape", &s, &len)))
            return st;
        if (!s && n->n_in < 2)
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "no target shape given");
        shape = (int64_t *)s;
        count = (int64_t)len;
    } else if ((st = kiln_const_ints(c, n, 1, "shape", &shape, &count))) {
        return st;
    }
    if ((st = kiln_attr_int(c, n, "allowzero", 0, &allowzero)))
        return st;
    if (count > KILN_MAX_RANK)
        return kiln_op_error(c, n, KILN_STATUS_UNSUPPORTED,
                             "target shape has %lld dimensions; kiln supports up to %d",
                             (long long)count, KILN_MAX_RANK);
    int64_t dims[KILN_MAX_RANK], known = 1, total = kiln_ir_value_numel(x);
    int infer_at = -1;
    for (int i = 0; i < count; i++) {
        int64_t v = shape[i];
        if (v == 0 && !allowzero) {
            if (i >= x->rank)
                return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                     "shape[%d] = 0 copies input dimension %d, which does not "
                                     "exist (input rank %d)",
                                     i, i, x->rank);
            v = x->dims[i];
        }
        if (v == -1) {
            if (infer_at >= 0)
                return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                     "the target shape has more than one -1");
            infer_at = i;
            dims[i] = 1;
            continue;
        }
        if (v < 0)
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                 "target dimension %d is %lld", i, (long long)v);
        dims[i] = v;
        known *= v;
    }
    if (infer_at >= 0) {
        if (known == 0 || total % known)
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                 "cannot infer the -1 dimension: %lld elements do not divide "
                                 "into %lld",
                                 (long long)total, (long long)known);
        dims[infer_at] = total / known;
        known *= dims[infer_at];
    }
    if (known != total)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "cannot reshape %lld elements into a shape of %lld elements",
                             (long long)total, (long long)known);
    return same_as_input(c, n, (int)count, dims);
}

/* axes from the attribute (opset < 13) or the optional second input */
static enum kiln_status get_axes(struct kiln_infer_ctx *c, struct kiln_ir_node *n,
                                 const int64_t **axes, int64_t *count)
{
    if (c->g->opset >= 13 && kiln_in(n, 1)) {
        int64_t *a;
        enum kiln_status st = kiln_const_ints(c, n, 1, "axes", &a, count);
        *axes = a;
        return st;
    }
    size_t len;
    enum kiln_status st = kiln_attr_ints(c, n, "axes", axes, &len);
    *count = (int64_t)len;
    return st;
}

static enum kiln_status infer_squeeze(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    struct kiln_ir_value *x = n->in[0];
    const int64_t *axes;
    int64_t count;
    enum kiln_status st = get_axes(c, n, &axes, &count);
    if (st)
        return st;
    bool drop[KILN_MAX_RANK] = {false};
    if (!axes) {
        for (int i = 0; i < x->rank; i++)
            drop[i] = x->dims[i] == 1;
    } else {
        for (int64_t k = 0; k < count; k++) {
            int64_t a;
            if ((st = kiln_norm_axis(c, n, axes[k], x->rank, &a)))
                return st;
            if (x->dims[a] != 1)
                return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                     "cannot squeeze axis %lld of size %lld", (long long)a,
                                     (long long)x->dims[a]);
            drop[a] = true;
        }
    }
    int64_t dims[KILN_MAX_RANK];
    int r = 0;
    for (int i = 0; i < x->rank; i++)
        if (!drop[i])
            dims[r++] = x->dims[i];
    return same_as_input(c, n, r, dims);
}

static enum kiln_status infer_unsqueeze(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    struct kiln_ir_value *x = n->in[0];
    const int64_t *axes;
    int64_t count;
    enum kiln_status st = get_axes(c, n, &axes, &count);
    if (st)
        return st;
    if (!axes)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "axes are required");
    int rank = x->rank + (int)count;
    if (rank > KILN_MAX_RANK)
        return kiln_op_error(c, n, KILN_STATUS_UNSUPPORTED,
                             "output rank %d exceeds kiln's limit of %d", rank, KILN_MAX_RANK);
    bool ins[KILN_MAX_RANK] = {false};
    for (int64_t k = 0; k < count; k++) {
        int64_t a;
        if ((st = kiln_norm_axis(c, n, axes[k], rank, &a)))
            return st;
        if (ins[a])
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "axis %lld is repeated",
                                 (long long)a);
        ins[a] = true;
    }
    int64_t dims[KILN_MAX_RANK];
    for (int i = 0, j = 0; i < rank; i++)
        dims[i] = ins[i] ? 1 : x->dims[j++];
    return same_as_input(c, n, rank, dims);
}

/* ---- always constant ---- */

static enum kiln_status set_const(struct kiln_infer_ctx *c, struct kiln_ir_node *n, int dtype,
                                  int rank, const int64_t *dims, const void *data)
{
    enum kiln_status st = kiln_set_output(c, n, 0, dtype, rank, dims);
    if (st || !n->out[0])
        return st;
    uint64_t nb = kiln_ir_value_nbytes(n->out[0]);
    void *p = kiln_arena_alloc_aligned(&c->g->arena, nb ? nb : 1, 64);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    if (nb)
        memcpy(p, data, nb);
    n->out[0]->data = p;
    return KILN_STATUS_OK;
}

static enum kiln_status infer_constant(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    if (n->n_attrs != 1)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "needs exactly one value attribute, has %u attributes", n->n_attrs);
    const struct kiln_ir_attr *a = &n->attrs[0];
    int64_t one = 1;
    if (strcmp(a->name, "value") == 0 && a->type == KILN_ATTR_TENSOR)
        return set_const(c, n, a->t->dtype, a->t->rank, a->t->dims, a->t->data);
    if (strcmp(a->name, "value_float") == 0 && a->type == KILN_ATTR_FLOAT)
        return set_const(c, n, KILN_DTYPE_F32, 0, NULL, &a->f);
    if (strcmp(a->name, "value_int") == 0 && a->type == KILN_ATTR_INT)
        return set_const(c, n, KILN_DTYPE_I64, 0, NULL, &a->i);
    if (strcmp(a->name, "value_floats") == 0 && a->type == KILN_ATTR_FLOATS) {
        one = (int64_t)a->n;
        return set_const(c, n, KILN_DTYPE_F32, 1, &one, a->floats);
    }
    if (strcmp(a->name, "value_ints") == 0 && a->type == KILN_ATTR_INTS) {
        one = (int64_t)a->n;
        return set_const(c, n, KILN_DTYPE_I64, 1, &one, a->ints);
    }
    if (strncmp(a->name, "value_string", 12) == 0)
        return kiln_op_error(c, n, KILN_STATUS_UNSUPPORTED, "string constants are not supported");
    if (strcmp(a->name, "sparse_value") == 0)
        return kiln_op_error(c, n, KILN_STATUS_UNSUPPORTED, "sparse constants are not supported");
    return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                         "attribute '%s' is not a valid Constant value", a->name);
}

static enum kiln_status infer_shape(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    struct kiln_ir_value *x = n->in[0];
    int64_t start = 0, end = x->rank;
    enum kiln_status st;
    if ((st = kiln_attr_int(c, n, "start", 0, &start)) ||
        (st = kiln_attr_int(c, n, "end", x->rank, &end)))
        return st;
    if (start < 0)
        start += x->rank;
    if (end < 0)
        end += x->rank;
    start = start < 0 ? 0 : start > x->rank ? x->rank : start;
    end = end < 0 ? 0 : end > x->rank ? x->rank : end;
    int64_t len = end > start ? end - start : 0;
    return set_const(c, n, KILN_DTYPE_I64, 1, &len, x->dims + start);
}

static enum kiln_status infer_size(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    int64_t numel = kiln_ir_value_numel(n->in[0]);
    return set_const(c, n, KILN_DTYPE_I64, 0, NULL, &numel);
}

#define ANY "any"
const struct kiln_op_info kiln_opi_identity = {
    .flags = KILN_OPF_VIEW, .infer = infer_identity, .dtypes = ANY, .notes = "", .opsets = {1}};
const struct kiln_op_info kiln_opi_dropout = {
    .flags = KILN_OPF_VIEW, .infer = infer_dropout, .dtypes = "float types",
    .notes = "inference only: training_mode must be a constant false (is_test 1 before opset 7); "
             "before opset 10 the mask has X's type and is refused when read",
    .opsets = {1, 7, 10, 12}};
const struct kiln_op_info kiln_opi_flatten = {
    .flags = KILN_OPF_VIEW, .infer = infer_flatten, .dtypes = ANY, .notes = "", .opsets = {1}};
const struct kiln_op_info kiln_opi_reshape = {
    .flags = KILN_OPF_VIEW, .infer = infer_reshape, .dtypes = ANY,
    .notes = "the shape input must be constant", .opsets = {1, 5, 14}};
const struct kiln_op_info kiln_opi_squeeze = {
    .flags = KILN_OPF_VIEW, .infer = infer_squeeze, .dtypes = ANY, .notes = "axes must be constant",
    .opsets = {1, 13}};
const struct kiln_op_info kiln_opi_unsqueeze = {
    .flags = KILN_OPF_VIEW, .infer = infer_unsqueeze, .dtypes = ANY,
    .notes = "axes must be constant", .opsets = {1, 13}};
const struct kiln_op_info kiln_opi_constant = {
    .infer = infer_constant, .dtypes = ANY,
    .notes = "evaluated at compile time; string and sparse values are not supported",
    .opsets = {1, 11, 12}};
const struct kiln_op_info kiln_opi_shape = {
    .infer = infer_shape, .dtypes = ANY, .notes = "evaluated at compile time", .opsets = {1, 15}};
const struct kiln_op_info kiln_opi_size = {
    .infer = infer_size, .dtypes = ANY, .notes = "evaluated at compile time", .opsets = {1}};
