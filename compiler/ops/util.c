/* util.c - helpers shared by the op files: attribute access, input checks, constant reads,
 * broadcasting, and setting outputs. Every error names the node and its op. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ops.h"

const int kiln_dtypes_float[] = {KILN_DTYPE_F32, KILN_DTYPE_F64, KILN_DTYPE_F16, KILN_DTYPE_BF16, 0};
const int kiln_dtypes_ieee[] = {KILN_DTYPE_F32, KILN_DTYPE_F64, KILN_DTYPE_F16, 0};
const int kiln_dtypes_f32_f64[] = {KILN_DTYPE_F32, KILN_DTYPE_F64, 0};
const int kiln_dtypes_f32[] = {KILN_DTYPE_F32, 0};
const int kiln_dtypes_int[] = {KILN_DTYPE_I8,  KILN_DTYPE_I16, KILN_DTYPE_I32, KILN_DTYPE_I64,
                               KILN_DTYPE_U8,  KILN_DTYPE_U16, KILN_DTYPE_U32, KILN_DTYPE_U64, 0};
const int kiln_dtypes_numeric[] = {KILN_DTYPE_F32, KILN_DTYPE_F64, KILN_DTYPE_F16,
                                   KILN_DTYPE_BF16, KILN_DTYPE_I8,  KILN_DTYPE_I16,
                                   KILN_DTYPE_I32, KILN_DTYPE_I64, KILN_DTYPE_U8,
                                   KILN_DTYPE_U16, KILN_DTYPE_U32, KILN_DTYPE_U64, 0};
const int kiln_dtypes_signed[] = {KILN_DTYPE_F32, KILN_DTYPE_F64, KILN_DTYPE_F16, KILN_DTYPE_BF16,
                                  KILN_DTYPE_I8,  KILN_DTYPE_I16, KILN_DTYPE_I32, KILN_DTYPE_I64,
                                  0};
const int kiln_dtypes_all[] = {KILN_DTYPE_F32, KILN_DTYPE_F64, KILN_DTYPE_F16, KILN_DTYPE_BF16,
                               KILN_DTYPE_I8,  KILN_DTYPE_I16, KILN_DTYPE_I32, KILN_DTYPE_I64,
                               KILN_DTYPE_U8,  KILN_DTYPE_U16, KILN_DTYPE_U32, KILN_DTYPE_U64,
                               KILN_DTYPE_BOOL, 0};
const int kiln_dtypes_index[] = {KILN_DTYPE_I32, KILN_DTYPE_I64, 0};

enum kiln_status kiln_op_error(struct kiln_infer_ctx *c, const struct kiln_ir_node *n,
                               enum kiln_status st, const char *fmt, ...)
{
    char msg[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return kiln_diag_set(c->diag, st, n->name, n->op_type, "%s", msg);
}

enum kiln_status kiln_not_constant(struct kiln_infer_ctx *c, const struct kiln_ir_node *n,
                                   const struct kiln_ir_value *v, const char *what,
                                   const char *why)
{
    struct kiln_diag *d = c->diag;
    bool first = d && d->status == KILN_STATUS_OK;
    kiln_op_error(c, n, KILN_STATUS_UNSUPPORTED, "input '%s' (%s) must be known at compile time%s%s",
                  v->name, what, why ? ": " : "", why ? why : "");
    if (first) {
        snprintf(d->value, sizeof d->value, "%s", v->name);
        d->value_is_input = v->is_input;
    }
    return KILN_STATUS_UNSUPPORTED;
}

static const char *attr_type_name(enum kiln_attr_type t)
{
    static const char *const names[] = {"undefined", "float",   "int",     "string", "tensor",
                                        "graph",     "floats",  "ints",    "strings", "tensors",
                                        "graphs",    "sparse tensor", "sparse tensors",
                                        "type proto", "type protos"};
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "unknown";
}

static enum kiln_status wrong_type(struct kiln_infer_ctx *c, const struct kiln_ir_node *n,
                                   const struct kiln_ir_attr *a, const char *want)
{
    return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                         "attribute '%s' is of type %s; expected %s", a->name,
                         attr_type_name(a->type), want);
}

enum kiln_status kiln_attr_int(struct kiln_infer_ctx *c, const struct kiln_ir_node *n,
                               const char *name, int64_t def, int64_t *out)
{
    const struct kiln_ir_attr *a = kiln_ir_attr(n, name);
    if (!a) {
        *out = def;
        return KILN_STATUS_OK;
    }
    if (a->type != KILN_ATTR_INT)
        return wrong_type(c, n, a, "int");
    *out = a->i;
    return KILN_STATUS_OK;
}

enum kiln_status kiln_attr_float(struct kiln_infer_ctx *c, const struct kiln_ir_node *n,
                                 const char *name, float def, float *out)
{
    const struct kiln_ir_attr *a = kiln_ir_attr(n, name);
    if (!a) {
        *out = def;
        return KILN_STATUS_OK;
    }
    if (a->type != KILN_ATTR_FLOAT)
        return wrong_type(c, n, a, "float");
    *out = a->f;
    return KILN_STATUS_OK;
}

enum kiln_status kiln_attr_ints(struct kiln_infer_ctx *c, const struct kiln_ir_node *n,
                                const char *name, const int64_t **out, size_t *out_len)
{
    const struct kiln_ir_attr *a = kiln_ir_attr(n, name);
    *out = NULL;
    *out_len = 0;
    if (!a)
        return KILN_STATUS_OK;
    if (a->type != KILN_ATTR_INTS)
        return wrong_type(c, n, a, "ints");
    *out = a->ints;
    *out_len = a->n;
    return KILN_STATUS_OK;
}

enum kiln_status kiln_attr_floats(struct kiln_infer_ctx *c, const struct kiln_ir_node *n,
                                  const char *name, const float **out, size_t *out_len)
{
    const struct kiln_ir_attr *a = kiln_ir_attr(n, name);
    *out = NULL;
    *out_len = 0;
    if (!a)
        return KILN_STATUS_OK;
    if (a->type != KILN_ATTR_FLOATS)
        return wrong_type(c, n, a, "floats");
    *out = a->floats;
    *out_len = a->n;
    return KILN_STATUS_OK;
}

enum kiln_status kiln_attr_string(struct kiln_infer_ctx *c, const struct kiln_ir_node *n,
                                  const char *name, const char *def, const char **out)
{
    const struct kiln_ir_attr *a = kiln_ir_attr(n, name);
    if (!a) {
        *out = def;
        return KILN_STATUS_OK;
    }
    if (a->type != KILN_ATTR_STRING)
        return wrong_type(c, n, a, "string");
    *out = a->s;
    return KILN_STATUS_OK;
}

enum kiln_status kiln_need_input(struct kiln_infer_ctx *c, const struct kiln_ir_node *n,
                                 uint32_t i, struct kiln_ir_value **out)
{
    struct kiln_ir_value *v = kiln_in(n, i);
    if (!v)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "input %u is required", i);
    if (!v->dtype || !kiln_ir_value_shape_known(v))
        return kiln_op_error(c, n, KILN_STATUS_UNSUPPORTED,
                             "the shape of input '%s' is not known at compile time", v->name);
    *out = v;
    return KILN_STATUS_OK;
}

enum kiln_status kiln_check_dtype(struct kiln_infer_ctx *c, const struct kiln_ir_node *n,
                                  uint32_t i, const int *allowed)
{
    struct kiln_ir_value *v = kiln_in(n, i);
    if (!v)
        return KILN_STATUS_OK;
    for (const int *a = allowed; *a; a++)
        if (*a == v->dtype)
            return KILN_STATUS_OK;
    char list[256] = "";
    size_t off = 0;
    for (const int *a = allowed; *a && off < sizeof list; a++)
        off += (size_t)snprintf(list + off, sizeof list - off, "%s%s", a == allowed ? "" : ", ",
                                kiln_dtype_name(*a));
    return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                         "input %u ('%s') is %s; this op takes %s", i, v->name,
                         kiln_dtype_name(v->dtype), list);
}

enum kiln_status kiln_need_input_of(struct kiln_infer_ctx *c, const struct kiln_ir_node *n,
                                    uint32_t i, const int *allowed, struct kiln_ir_value **out)
{
    enum kiln_status st = kiln_need_input(c, n, i, out);
    return st ? st : kiln_check_dtype(c, n, i, allowed);
}

enum kiln_status kiln_check_same_dtype(struct kiln_infer_ctx *c, const struct kiln_ir_node *n,
                                       uint32_t i, uint32_t j)
{
    struct kiln_ir_value *a = kiln_in(n, i), *b = kiln_in(n, j);
    if (!a || !b || a->dtype == b->dtype)
        return KILN_STATUS_OK;
    return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                         "inputs %u ('%s', %s) and %u ('%s', %s) must have the same type", i,
                         a->name, kiln_dtype_name(a->dtype), j, b->name,
                         kiln_dtype_name(b->dtype));
}

enum kiln_status kiln_const_ints(struct kiln_infer_ctx *c, const struct kiln_ir_node *n,
                                 uint32_t i, const char *what, int64_t **out, int64_t *count)
{
    struct kiln_ir_value *v = kiln_in(n, i);
    if (!v)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "input %u (%s) is required", i,
                             what);
    if (!v->data)
        return kiln_not_constant(c, n, v, what, "kiln compiles static shapes only");
    if (v->dtype != KILN_DTYPE_I64 && v->dtype != KILN_DTYPE_I32)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "input '%s' (%s) is %s; expected int64", v->name, what,
                             kiln_dtype_name(v->dtype));
    int64_t cnt = kiln_ir_value_numel(v);
    int64_t *o = kiln_arena_alloc(&c->g->arena, (size_t)(cnt ? cnt : 1) * sizeof *o);
    if (!o)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    for (int64_t k = 0; k < cnt; k++)
        o[k] = v->dtype == KILN_DTYPE_I64 ? ((const int64_t *)v->data)[k]
                                          : ((const int32_t *)v->data)[k];
    *out = o;
    *count = cnt;
    return KILN_STATUS_OK;
}

enum kiln_status kiln_const_scalar(struct kiln_infer_ctx *c, const struct kiln_ir_node *n,
                                   uint32_t i, const char *what, double *out)
{
    struct kiln_ir_value *v = kiln_in(n, i);
    if (!v)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "input %u (%s) is required", i,
                             what);
    if (!v->data)
        return kiln_not_constant(c, n, v, what, NULL);
    if (kiln_ir_value_numel(v) != 1)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "input '%s' (%s) must hold exactly one value", v->name, what);
    const void *p = v->data;
    switch (v->dtype) {
    case KILN_DTYPE_F32: *out = *(const float *)p; break;
    case KILN_DTYPE_F64: *out = *(const double *)p; break;
    case KILN_DTYPE_F16: *out = kiln_f16_to_f32(*(const uint16_t *)p); break;
    case KILN_DTYPE_BF16: *out = kiln_bf16_to_f32(*(const uint16_t *)p); break;
    case KILN_DTYPE_I8: *out = *(const int8_t *)p; break;
    case KILN_DTYPE_I16: *out = *(const int16_t *)p; break;
    case KILN_DTYPE_I32: *out = *(const int32_t *)p; break;
    case KILN_DTYPE_I64: *out = (double)*(const int64_t *)p; break;
    case KILN_DTYPE_U8:
    case KILN_DTYPE_BOOL: *out = *(const uint8_t *)p; break;
    case KILN_DTYPE_U16: *out = *(const uint16_t *)p; break;
    case KILN_DTYPE_U32: *out = *(const uint32_t *)p; break;
    case KILN_DTYPE_U64: *out = (double)*(const uint64_t *)p; break;
    default:
        return kiln_op_error(c, n, KILN_STATUS_UNSUPPORTED, "input '%s' has type %s", v->name,
                             kiln_dtype_name(v->dtype));
    }
    return KILN_STATUS_OK;
}

enum kiln_status kiln_norm_axis(struct kiln_infer_ctx *c, const struct kiln_ir_node *n,
                                int64_t axis, int rank, int64_t *out)
{
    if (axis < -rank || axis >= rank || (rank == 0 && axis != 0))
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "axis %lld is out of range for rank %d", (long long)axis, rank);
    *out = axis < 0 ? axis + rank : axis;
    return KILN_STATUS_OK;
}

enum kiln_status kiln_set_output(struct kiln_infer_ctx *c, struct kiln_ir_node *n, uint32_t i,
                                 int dtype, int rank, const int64_t *dims)
{
    if (i >= n->n_out || !n->out[i])
        return KILN_STATUS_OK; /* optional output not requested */
    struct kiln_ir_value *v = n->out[i];
    if (rank > KILN_MAX_RANK)
        return kiln_op_error(c, n, KILN_STATUS_UNSUPPORTED,
                             "output '%s' would have rank %d; kiln supports up to %d", v->name,
                             rank, KILN_MAX_RANK);
    int64_t total = 1;
    for (int k = 0; k < rank; k++) {
        if (dims[k] < 0)
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                 "output '%s' would have a negative dimension (%lld at axis %d)",
                                 v->name, (long long)dims[k], k);
        if (dims[k] && total > INT64_MAX / 16 / dims[k])
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                 "output '%s': the product of its dimensions overflows",
                                 v->name);
        total *= dims[k];
    }
    v->dtype = dtype;
    v->rank = rank;
    for (int k = 0; k < rank; k++) {
        v->dims[k] = dims[k];
        v->dim_param[k] = NULL;
    }
    v->runtime_dims = false;
    return KILN_STATUS_OK;
}

enum kiln_status kiln_set_output_bound(struct kiln_infer_ctx *c, struct kiln_ir_node *n,
                                       uint32_t i, int dtype, int rank, const int64_t *bound)
{
    enum kiln_status st = kiln_set_output(c, n, i, dtype, rank, bound);
    if (!st && i < n->n_out && n->out[i])
        n->out[i]->runtime_dims = true;
    return st;
}

void *kiln_node_params(struct kiln_infer_ctx *c, struct kiln_ir_node *n, size_t size)
{
    n->params = kiln_arena_alloc(&c->g->arena, size);
    n->params_size = n->params ? (uint32_t)size : 0;
    return n->params;
}

enum kiln_status kiln_broadcast(struct kiln_infer_ctx *c, const struct kiln_ir_node *n,
                                int ra, const int64_t *da, int rb, const int64_t *db,
                                int *rout, int64_t *dout)
{
    int r = ra > rb ? ra : rb;
    for (int i = 0; i < r; i++) {
        int ia = i - (r - ra), ib = i - (r - rb);
        int64_t x = ia >= 0 ? da[ia] : 1, y = ib >= 0 ? db[ib] : 1;
        if (x != y && x != 1 && y != 1)
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                 "shapes cannot be broadcast: dimension %lld vs %lld (output "
                                 "axis %d)",
                                 (long long)x, (long long)y, i);
        dout[i] = x == 1 ? y : x;
    }
    *rout = r;
    return KILN_STATUS_OK;
}
