/* scatter.c - GatherElements, GatherND, Scatter, ScatterElements and ScatterND: shape checks,
 * attributes (axis, batch_dims, reduction from opset 16), and range checks of constant
 * indices (an out-of-range constant index is a compile-time error; at run time the gathers
 * clamp and the scatters skip, see runtime/kernels/scatter.c). */
#include <string.h>

#include "ops.h"

/* Every element of constant index input i must lie in [-dims[j], dims[j]) for the axis j it
 * addresses: component j of each L-tuple (the last axis of input i). */
static enum kiln_status check_tuples(struct kiln_infer_ctx *c, struct kiln_ir_node *n,
                                     uint32_t i, int L, const int64_t *dims)
{
    if (!n->in[i]->data || L == 0)
        return KILN_STATUS_OK;
    int64_t *idx, cnt;
    enum kiln_status st = kiln_const_ints(c, n, i, "indices", &idx, &cnt);
    for (int64_t k = 0; !st && k < cnt; k++)
        if (idx[k] < -dims[k % L] || idx[k] >= dims[k % L])
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                 "index %lld (element %lld of '%s') is out of range for an axis "
                                 "of size %lld",
                                 (long long)idx[k], (long long)k, n->in[i]->name,
                                 (long long)dims[k % L]);
    return st;
}

/* Common to GatherElements and ScatterElements: same ranks, indices no larger than data off
 * the axis (so every walked position exists in data), axis normalised. */
static enum kiln_status elements_shape(struct kiln_infer_ctx *c, struct kiln_ir_node *n,
                                       int64_t *axis)
{
    struct kiln_ir_value *x = n->in[0], *ind = n->in[1];
    enum kiln_status st;
    if ((st = kiln_check_dtype(c, n, 0, kiln_dtypes_all)) ||
        (st = kiln_check_dtype(c, n, 1, kiln_dtypes_index)) ||
        (st = kiln_attr_int(c, n, "axis", 0, axis)))
        return st;
    if (x->rank == 0 || ind->rank != x->rank)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "data (rank %d) and indices (rank %d) need the same rank >= 1",
                             x->rank, ind->rank);
    if ((st = kiln_norm_axis(c, n, *axis, x->rank, axis)))
        return st;
    for (int d = 0; d < x->rank; d++)
        if (d != *axis && ind->dims[d] > x->dims[d])
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                 "indices dimension %d (%lld) exceeds data's (%lld)", d,
                                 (long long)ind->dims[d], (long long)x->dims[d]);
    return check_tuples(c, n, 1, 1, &x->dims[*axis]);
}

static enum kiln_status infer_gather_elements(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    int64_t axis;
    enum kiln_status st = elements_shape(c, n, &axis);
    if (st)
        return st;
    struct kiln_p_axis *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    p->axis = axis;
    return kiln_set_output(c, n, 0, n->in[0]->dtype, n->in[1]->rank, n->in[1]->dims);
}

/* reduction attribute (opset 16) and the updates input, shared by the scatters */
static enum kiln_status scatter_common(struct kiln_infer_ctx *c, struct kiln_ir_node *n,
                                       int32_t *red)
{
    struct kiln_ir_value *x = n->in[0];
    const char *s = "none";
    enum kiln_status st;
    if ((st = kiln_check_same_dtype(c, n, 0, 2)))
        return st;
    if (c->g->opset >= 16 && n->op != KILN_OP_SCATTER &&
        (st = kiln_attr_string(c, n, "reduction", "none", &s)))
        return st;
    if (strcmp(s, "none") == 0)
        *red = KILN_SCATTER_NONE;
    else if (strcmp(s, "add") == 0)
        *red = KILN_SCATTER_ADD;
    else if (strcmp(s, "mul") == 0)
        *red = KILN_SCATTER_MUL;
    else if (strcmp(s, "max") == 0 && c->g->opset >= 18)
        *red = KILN_SCATTER_MAX;
    else if (strcmp(s, "min") == 0 && c->g->opset >= 18)
        *red = KILN_SCATTER_MIN;
    else
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "reduction '%s' is not one of opset %lld's: none, add, mul%s", s,
                             (long long)c->g->opset, c->g->opset >= 18 ? ", max, min" : "");
    if (*red != KILN_SCATTER_NONE && x->dtype == KILN_DTYPE_BOOL)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "reduction '%s' needs a numeric type, data is bool", s);
    return KILN_STATUS_OK;
}

static enum kiln_status infer_scatter_elements(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    struct kiln_ir_value *x = n->in[0], *ind = n->in[1], *u = n->in[2];
    int64_t axis;
    int32_t red;
    enum kiln_status st;
    if ((st = elements_shape(c, n, &axis)) || (st = scatter_common(c, n, &red)))
        return st;
    bool same = u->rank == ind->rank;
    for (int d = 0; same && d < u->rank; d++)
        same = u->dims[d] == ind->dims[d];
    if (!same)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "updates must have the shape of indices");
    struct kiln_p_scatter *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    p->axis = axis;
    p->reduction = red;
    return kiln_set_output(c, n, 0, x->dtype, x->rank, x->dims);
}

/* GatherND and ScatterND: indices [..., L] address the first L axes after batch_dims. */
static enum kiln_status nd_shape(struct kiln_infer_ctx *c, struct kiln_ir_node *n, int64_t b,
                                 int *L)
{
    struct kiln_ir_value *x = n->in[0], *ind = n->in[1];
    enum kiln_status st;
    if ((st = kiln_check_dtype(c, n, 0, kiln_dtypes_all)) ||
        (st = kiln_check_dtype(c, n, 1, kiln_dtypes_index)))
        return st;
    if (x->rank < 1 || ind->rank < 1 || b < 0 || b >= x->rank || b >= ind->rank)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "data rank %d, indices rank %d and batch_dims %lld do not fit "
                             "(both ranks must exceed batch_dims)",
                             x->rank, ind->rank, (long long)b);
    *L = (int)ind->dims[ind->rank - 1];
    if (ind->dims[ind->rank - 1] < 1 || ind->dims[ind->rank - 1] > x->rank - b)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "the last indices dimension (%lld) must be in [1, %lld]",
                             (long long)ind->dims[ind->rank - 1], (long long)(x->rank - b));
    for (int d = 0; d < b; d++)
        if (ind->dims[d] != x->dims[d])
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                 "batch dimension %d differs: data %lld, indices %lld", d,
                                 (long long)x->dims[d], (long long)ind->dims[d]);
    return check_tuples(c, n, 1, *L, x->dims + b);
}

static enum kiln_status infer_gather_nd(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    struct kiln_ir_value *x = n->in[0], *ind = n->in[1];
    int64_t b = 0;
    int L;
    enum kiln_status st;
    if ((c->g->opset >= 12 && (st = kiln_attr_int(c, n, "batch_dims", 0, &b))) ||
        (st = nd_shape(c, n, b, &L)))
        return st;
    int64_t dims[2 * KILN_MAX_RANK];
    int r = 0;
    for (int d = 0; d < ind->rank - 1; d++)
        dims[r++] = ind->dims[d];
    for (int d = (int)b + L; d < x->rank; d++)
        dims[r++] = x->dims[d];
    struct kiln_p_gather_nd *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    p->batch_dims = b;
    return kiln_set_output(c, n, 0, x->dtype, r, dims);
}

static enum kiln_status infer_scatter_nd(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    struct kiln_ir_value *x = n->in[0], *ind = n->in[1], *u = n->in[2];
    int L;
    int32_t red;
    enum kiln_status st;
    if ((st = nd_shape(c, n, 0, &L)) || (st = scatter_common(c, n, &red)))
        return st;
    int64_t want[2 * KILN_MAX_RANK];
    int r = 0;
    for (int d = 0; d < ind->rank - 1; d++)
        want[r++] = ind->dims[d];
    for (int d = L; d < x->rank; d++)
        want[r++] = x->dims[d];
    bool same = u->rank == r;
    for (int d = 0; same && d < r; d++)
        same = u->dims[d] == want[d];
    if (!same)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "updates must have shape indices.shape[:-1] + "
                             "data.shape[indices.shape[-1]:]");
    struct kiln_p_scatter *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    p->reduction = red;
    return kiln_set_output(c, n, 0, x->dtype, x->rank, x->dims);
}

#define IDX "; indices int32, int64"
#define NOTE "constant indices are range-checked; at run time out-of-range indices are "
const struct kiln_op_info kiln_opi_gather_elements = {
    .infer = infer_gather_elements, .dtypes = "any" IDX, .notes = NOTE "clamped", .opsets = {11}};
const struct kiln_op_info kiln_opi_gather_nd = {
    .infer = infer_gather_nd, .dtypes = "any" IDX, .notes = NOTE "clamped", .opsets = {11, 12}};
const struct kiln_op_info kiln_opi_scatter = {
    .infer = infer_scatter_elements, .dtypes = "any" IDX, .notes = NOTE "skipped", .opsets = {9}};
const struct kiln_op_info kiln_opi_scatter_elements = {
    .infer = infer_scatter_elements, .dtypes = "any" IDX,
    .notes = "reduction none, add, mul (max, min from 18); " NOTE "skipped",
    .opsets = {11, 16, 18}};
const struct kiln_op_info kiln_opi_scatter_nd = {
    .infer = infer_scatter_nd, .dtypes = "any" IDX,
    .notes = "reduction none, add, mul (max, min from 18); " NOTE "skipped",
    .opsets = {11, 16, 18}};
