/* binary.c - inference for the broadcasting elementwise ops with two or more inputs:
 * arithmetic, comparisons, logic, PRelu, BitShift, the variadic Max/Min/Sum/Mean and Where.
 * Shapes follow numpy broadcasting (opset 7+); before opset 7 the `broadcast`/`axis`
 * attributes are honoured by aligning B at `axis` (kiln_p_binary.b_trailing). */
#include <string.h>

#include "ops.h"

static const int dtypes_bool[] = {KILN_DTYPE_BOOL, 0};
static const int dtypes_uint[] = {KILN_DTYPE_U8, KILN_DTYPE_U16, KILN_DTYPE_U32, KILN_DTYPE_U64,
                                  0};
static const int dtypes_pow_base[] = {KILN_DTYPE_F32, KILN_DTYPE_F64, KILN_DTYPE_F16,
                                      KILN_DTYPE_BF16, KILN_DTYPE_I32, KILN_DTYPE_I64, 0};

/* Output shape of A (op) B, with the pre-opset-7 forms; fills b_trailing. */
static enum kiln_status binary_shape(struct kiln_infer_ctx *c, struct kiln_ir_node *n,
                                     int *rank, int64_t *dims, int32_t *b_trailing)
{
    const struct kiln_ir_value *x = n->in[0], *y = n->in[1];
    enum kiln_status st;
    *b_trailing = 0;
    if (c->g->opset >= 7)
        return kiln_broadcast(c, n, x->rank, x->dims, y->rank, y->dims, rank, dims);
    int64_t bcast, axis;
    if ((st = kiln_attr_int(c, n, "broadcast", 0, &bcast)))
        return st;
    if (!bcast) {
        if (x->rank != y->rank || memcmp(x->dims, y->dims, sizeof(int64_t) * (size_t)x->rank))
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                 "inputs have different shapes and broadcast is 0 (opset %lld)",
                                 (long long)c->g->opset);
        *rank = x->rank;
        memcpy(dims, x->dims, sizeof(int64_t) * (size_t)x->rank);
        return KILN_STATUS_OK;
    }
    if (!kiln_ir_attr(n, "axis"))
        axis = x->rank - y->rank; /* right-aligned: B's shape is a suffix of A's */
    else if ((st = kiln_attr_int(c, n, "axis", 0, &axis)) ||
             (st = kiln_norm_axis(c, n, axis, x->rank, &axis)))
        return st;
    if (axis < 0 || axis + y->rank > x->rank)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "B (rank %d) does not fit into A (rank %d) at axis %lld", y->rank,
                             x->rank, (long long)axis);
    for (int i = 0; i < y->rank; i++)
        if (y->dims[i] != 1 && y->dims[i] != x->dims[axis + i])
            return kiln_op_error(c, n, KILN_STATUS_UNSUPPORTED,
                                 "legacy broadcast: B dimension %d (%lld) does not match A "
                                 "dimension %lld (%lld)",
                                 i, (long long)y->dims[i], (long long)(axis + i),
                                 (long long)x->dims[axis + i]);
    *b_trailing = (int32_t)(x->rank - axis - y->rank);
    *rank = x->rank;
    memcpy(dims, x->dims, sizeof(int64_t) * (size_t)x->rank);
    return KILN_STATUS_OK;
}

/* Checks input types (ta for A, tb for B; same: B must have A's type), sets output 0
 * (out_dtype 0: A's type) and the params. */
static enum kiln_status binary_common(struct kiln_infer_ctx *c, struct kiln_ir_node *n,
                                      const int *ta, const int *tb, bool same, int out_dtype,
                                      int32_t flag)
{
    enum kiln_status st;
    if ((st = kiln_check_dtype(c, n, 0, ta)) || (st = kiln_check_dtype(c, n, 1, tb)) ||
        (same && (st = kiln_check_same_dtype(c, n, 0, 1))))
        return st;
    int rank;
    int64_t dims[KILN_MAX_RANK];
    int32_t trailing;
    if ((st = binary_shape(c, n, &rank, dims, &trailing)))
        return st;
    struct kiln_p_binary *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    p->flag = flag;
    p->b_trailing = trailing;
    return kiln_set_output(c, n, 0, out_dtype ? out_dtype : n->in[0]->dtype, rank, dims);
}

/* the usual case: both inputs of one type from `types` */
static enum kiln_status binary_same(struct kiln_infer_ctx *c, struct kiln_ir_node *n,
                                    const int *types, int out_dtype, int32_t flag)
{
    return binary_common(c, n, types, types, true, out_dtype, flag);
}

static enum kiln_status infer_arith(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    return binary_same(c, n, kiln_dtypes_numeric, 0, 0);
}

static enum kiln_status infer_compare(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    return binary_same(c, n, n->op == KILN_OP_EQUAL ? kiln_dtypes_all : kiln_dtypes_numeric,
                       KILN_DTYPE_BOOL, 0);
}

static enum kiln_status infer_logic(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    return binary_same(c, n, dtypes_bool, KILN_DTYPE_BOOL, 0);
}

static enum kiln_status infer_mod(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    int64_t fmod;
    enum kiln_status st = kiln_attr_int(c, n, "fmod", 0, &fmod);
    if (st)
        return st;
    if (!fmod && kiln_dtype_is_float(n->in[0]->dtype))
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "fmod = 0 on %s input: floating-point Mod requires fmod = 1",
                             kiln_dtype_name(n->in[0]->dtype));
    return binary_same(c, n, kiln_dtypes_numeric, 0, fmod != 0);
}

static enum kiln_status infer_bitshift(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    const char *dir;
    enum kiln_status st = kiln_attr_string(c, n, "direction", NULL, &dir);
    if (st)
        return st;
    if (!dir || (strcmp(dir, "LEFT") != 0 && strcmp(dir, "RIGHT") != 0))
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "attribute 'direction' must be \"LEFT\" or \"RIGHT\"");
    return binary_same(c, n, dtypes_uint, 0, strcmp(dir, "RIGHT") == 0);
}

static enum kiln_status infer_bitwise(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    return binary_same(c, n, kiln_dtypes_int, 0, 0);
}

static enum kiln_status infer_pow(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    /* the exponent may have another type from opset 12 */
    return binary_common(c, n, dtypes_pow_base, kiln_dtypes_numeric, c->g->opset < 12, 0, 0);
}

/* PRelu: the slope broadcasts to X (unidirectionally); the output has X's shape. */
static enum kiln_status infer_prelu(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    const struct kiln_ir_value *x = n->in[0];
    enum kiln_status st;
    if ((st = kiln_check_dtype(c, n, 0, kiln_dtypes_numeric)) ||
        (st = kiln_check_same_dtype(c, n, 0, 1)))
        return st;
    const struct kiln_ir_value *s = n->in[1];
    struct kiln_p_binary *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    /* before opset 7 a 1-D slope of length C is per channel (axis 1), as PyTorch exported */
    if (c->g->opset < 7 && s->rank == 1 && x->rank > 2 && s->dims[0] == x->dims[1] &&
        s->dims[0] != 1) {
        p->b_trailing = x->rank - 2;
        return kiln_set_output(c, n, 0, x->dtype, x->rank, x->dims);
    }
    int rank;
    int64_t dims[KILN_MAX_RANK];
    if ((st = kiln_broadcast(c, n, x->rank, x->dims, s->rank, s->dims, &rank, dims)))
        return st;
    if (rank != x->rank || memcmp(dims, x->dims, sizeof(int64_t) * (size_t)rank))
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "slope '%s' does not broadcast to the shape of X '%s'", s->name,
                             x->name);
    return kiln_set_output(c, n, 0, x->dtype, x->rank, x->dims);
}

/* Broadcasts every input of n (all required to share input 0's type). */
static enum kiln_status broadcast_all(struct kiln_infer_ctx *c, struct kiln_ir_node *n,
                                      uint32_t first, const int *types, int *rank,
                                      int64_t *dims)
{
    enum kiln_status st;
    *rank = 0;
    for (uint32_t i = first; i < n->n_in; i++) {
        const struct kiln_ir_value *v = n->in[i];
        if (!v)
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "input %u is missing", i);
        if ((st = kiln_check_dtype(c, n, i, types)) ||
            (st = kiln_check_same_dtype(c, n, first, i)))
            return st;
        int64_t prev[KILN_MAX_RANK];
        memcpy(prev, dims, sizeof prev);
        if ((st = kiln_broadcast(c, n, *rank, prev, v->rank, v->dims, rank, dims)))
            return st;
    }
    return KILN_STATUS_OK;
}

static enum kiln_status infer_variadic(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    bool floats_only = n->op == KILN_OP_MEAN || (c->g->opset < 12 && n->op != KILN_OP_SUM);
    const int *types = floats_only ? kiln_dtypes_float : kiln_dtypes_numeric;
    int rank;
    int64_t dims[KILN_MAX_RANK] = {0};
    enum kiln_status st = broadcast_all(c, n, 0, types, &rank, dims);
    if (st)
        return st;
    return kiln_set_output(c, n, 0, n->in[0]->dtype, rank, dims);
}

static enum kiln_status infer_where(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    enum kiln_status st;
    if ((st = kiln_check_dtype(c, n, 0, dtypes_bool)))
        return st;
    const struct kiln_ir_value *cond = n->in[0];
    int rank;
    int64_t dims[KILN_MAX_RANK] = {0}, prev[KILN_MAX_RANK];
    if ((st = broadcast_all(c, n, 1, kiln_dtypes_all, &rank, dims)))
        return st;
    memcpy(prev, dims, sizeof prev);
    if ((st = kiln_broadcast(c, n, rank, prev, cond->rank, cond->dims, &rank, dims)))
        return st;
    n->kdtype = n->in[1]->dtype; /* the kernel moves X/Y elements */
    return kiln_set_output(c, n, 0, n->in[1]->dtype, rank, dims);
}

#define EW (KILN_OPF_ELEMENTWISE | KILN_OPF_INPLACE)
#define NUM "all numeric types"
/* the trailing arguments are the op's opsets (struct kiln_op_info) */
#define BIN(lname, fn, types, notes_, ...)                                                         \
    const struct kiln_op_info kiln_opi_##lname = {                                                 \
        .flags = EW, .infer = fn, .dtypes = types, .notes = notes_, .opsets = {__VA_ARGS__}};
BIN(add, infer_arith, NUM, "numpy broadcasting; opset < 7 broadcast/axis form", 1, 7)
BIN(sub, infer_arith, NUM, "numpy broadcasting; opset < 7 broadcast/axis form", 1, 7)
BIN(mul, infer_arith, NUM, "numpy broadcasting; opset < 7 broadcast/axis form", 1, 7)
BIN(div, infer_arith, NUM, "integer division truncates toward zero; x / 0 gives 0 for ints", 1, 7)
BIN(pow, infer_pow, "base float types, int32, int64; exponent any numeric type",
    "computed in double", 1, 7)
BIN(mod, infer_mod, NUM, "fmod = 0: sign of the divisor; fmod = 1 (required for floats): C fmod",
    10)
BIN(equal, infer_compare, "all numeric types, bool", "output bool", 1, 7)
BIN(less, infer_compare, NUM, "output bool", 1, 7)
BIN(less_or_equal, infer_compare, NUM, "output bool", 12)
BIN(greater, infer_compare, NUM, "output bool", 1, 7)
BIN(greater_or_equal, infer_compare, NUM, "output bool", 12)
BIN(and, infer_logic, "bool", "", 1, 7)
BIN(or, infer_logic, "bool", "", 1, 7)
BIN(xor, infer_logic, "bool", "", 1, 7)
BIN(prelu, infer_prelu, NUM, "slope broadcasts to X", 1, 7)
BIN(bitshift, infer_bitshift, "uint8, uint16, uint32, uint64", "shifts >= the width give 0", 11)
BIN(bitwise_and, infer_bitwise, "all int types", "numpy broadcasting", 18)
BIN(bitwise_or, infer_bitwise, "all int types", "numpy broadcasting", 18)
BIN(bitwise_xor, infer_bitwise, "all int types", "numpy broadcasting", 18)
#define VAR(lname, types)                                                                          \
    const struct kiln_op_info kiln_opi_##lname = {.flags = EW,                                     \
                                                  .infer = infer_variadic,                         \
                                                  .dtypes = types,                                 \
                                                  .notes = "1..N inputs, numpy broadcasting",      \
                                                  .opsets = {1}};
VAR(max, NUM)
VAR(min, NUM)
VAR(sum, NUM)
VAR(mean, "float types")
const struct kiln_op_info kiln_opi_where = {
    .flags = EW, .infer = infer_where, .dtypes = "condition bool; X, Y any type",
    .notes = "numpy broadcasting of all three", .opsets = {9}};
