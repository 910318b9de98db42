/* unary.c - inference for the one-input elementwise ops (activations, math functions, Clip,
 * the NaN/Inf tests, Not) and for Cast/CastLike. The output has the input's shape; the
 * attributes go into struct kiln_p_unary (a, b) as documented in params.h. Opset < 6
 * `consumed_inputs` attributes are ignored; Selu's and Clip's opset < 6 defaults honoured. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "fused.h"
#include "ops.h"

static const int dtypes_bool[] = {KILN_DTYPE_BOOL, 0};

/* Checks the input type, sets output 0 (out_dtype 0: the input's) and params (a, b). */
static enum kiln_status unary_common(struct kiln_infer_ctx *c, struct kiln_ir_node *n,
                                     const int *types, int out_dtype, double a, double b)
{
    enum kiln_status st = kiln_check_dtype(c, n, 0, types);
    if (st)
        return st;
    struct kiln_p_unary *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    p->a = a;
    p->b = b;
    const struct kiln_ir_value *x = n->in[0];
    return kiln_set_output(c, n, 0, out_dtype ? out_dtype : x->dtype, x->rank, x->dims);
}

static enum kiln_status infer_float(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    return unary_common(c, n, kiln_dtypes_float, 0, 0, 0);
}

static enum kiln_status infer_signed(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    /* Relu takes signed ints from opset 14; accepting them earlier is harmless */
    return unary_common(c, n, kiln_dtypes_signed, 0, 0, 0);
}

static enum kiln_status infer_numeric(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    return unary_common(c, n, kiln_dtypes_numeric, 0, 0, 0);
}

static enum kiln_status infer_int(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    return unary_common(c, n, kiln_dtypes_int, 0, 0, 0);
}

static enum kiln_status infer_not(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    return unary_common(c, n, dtypes_bool, 0, 0, 0);
}

static enum kiln_status infer_isnan(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    return unary_common(c, n, kiln_dtypes_float, KILN_DTYPE_BOOL, 0, 0);
}

static enum kiln_status infer_isinf(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    int64_t pos, neg;
    enum kiln_status st;
    if ((st = kiln_attr_int(c, n, "detect_positive", 1, &pos)) ||
        (st = kiln_attr_int(c, n, "detect_negative", 1, &neg)))
        return st;
    return unary_common(c, n, kiln_dtypes_float, KILN_DTYPE_BOOL, pos != 0, neg != 0);
}

/* Float activations with up to two float attributes (name NULL: none). */
static enum kiln_status float_attrs(struct kiln_infer_ctx *c, struct kiln_ir_node *n,
                                    const int *types, const char *an, float ad, const char *bn,
                                    float bd)
{
    float a = ad, b = bd;
    enum kiln_status st;
    if ((an && (st = kiln_attr_float(c, n, an, ad, &a))) ||
        (bn && (st = kiln_attr_float(c, n, bn, bd, &b))))
        return st;
    return unary_common(c, n, types, 0, a, b);
}

/* LeakyRelu, Elu, Celu, ThresholdedRelu, HardSigmoid, Selu: the attributes and defaults of the
 * op's row in kiln/acts.def, into a and b */
static enum kiln_status infer_act(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    const struct kiln_act_info *a = kiln_act_info_of(kiln_act_of_op(n->op));
    if (n->op == KILN_OP_SELU && c->g->opset < 6) /* Selu-1's defaults had four decimals */
        return float_attrs(c, n, kiln_dtypes_float, "alpha", 1.6732f, "gamma", 1.0507f);
    return float_attrs(c, n, kiln_dtypes_float, a->alpha_name, a->alpha, a->beta_name, a->beta);
}
static enum kiln_status infer_shrink(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    return float_attrs(c, n, kiln_dtypes_numeric, "lambd", 0.5f, "bias", 0.0f);
}

/* Gelu (ONNX's from opset 20; kiln accepts it at every opset because the gelu_pattern pass
 * creates it in older graphs): a = approximate ("none" 0, "tanh" 1), b =
 * kiln_fast (1: the -O3 approximation, docs/optimization.md). */
static enum kiln_status infer_gelu(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    const char *approx;
    int64_t fast;
    enum kiln_status st;
    if ((st = kiln_attr_string(c, n, "approximate", "none", &approx)) ||
        (st = kiln_attr_int(c, n, "kiln_fast", 0, &fast)))
        return st;
    if (strcmp(approx, "none") && strcmp(approx, "tanh"))
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "approximate '%s': expected \"none\" or \"tanh\"", approx);
    return unary_common(c, n, kiln_dtypes_float, 0, strcmp(approx, "tanh") == 0, fast != 0);
}

/* Clip: min/max attributes before opset 11 (without defaults in opset 1: no bound; from 6 the
 * defaults are -FLT_MAX and FLT_MAX, which also clip the infinities), optional inputs from 11:
 * a constant one is folded into the params, one computed at run time (a mel front end's
 * Clip(x, ReduceMax(x) - 80)) is passed to the kernel, which reads it over the params. */
static enum kiln_status infer_clip(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    double lo = -INFINITY, hi = INFINITY;
    enum kiln_status st;
    if (c->g->opset < 11) {
        float f, bound = c->g->opset < 6 ? INFINITY : FLT_MAX;
        if ((st = kiln_attr_float(c, n, "min", -bound, &f)))
            return st;
        lo = f;
        if ((st = kiln_attr_float(c, n, "max", bound, &f)))
            return st;
        hi = f;
    } else {
        for (uint32_t i = 1; i < 3; i++) {
            const struct kiln_ir_value *v = kiln_in(n, i);
            if (!v)
                continue;
            if ((st = kiln_check_same_dtype(c, n, 0, i)))
                return st;
            if (!v->data) {
                if (kiln_ir_value_numel(v) != 1)
                    return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                         "%s '%s' must hold one value", i == 1 ? "min" : "max",
                                         v->name);
                continue;
            }
            if ((st = kiln_const_scalar(c, n, i, i == 1 ? "min" : "max", i == 1 ? &lo : &hi)))
                return st;
            n->folded_in |= 1u << i;
        }
    }
    return unary_common(c, n, kiln_dtypes_numeric, 0, lo, hi);
}

/* ---- Cast, CastLike ---- */

/* Opset < 6 Cast names its target type by string. */
static int dtype_from_name(const char *s)
{
    static const struct {
        const char *name;
        int dtype;
    } names[] = {{"FLOAT", KILN_DTYPE_F32},  {"UINT8", KILN_DTYPE_U8},
                 {"INT8", KILN_DTYPE_I8},    {"UINT16", KILN_DTYPE_U16},
                 {"INT16", KILN_DTYPE_I16},  {"INT32", KILN_DTYPE_I32},
                 {"INT64", KILN_DTYPE_I64},  {"STRING", 8},
                 {"BOOL", KILN_DTYPE_BOOL},  {"FLOAT16", KILN_DTYPE_F16},
                 {"DOUBLE", KILN_DTYPE_F64}, {"UINT32", KILN_DTYPE_U32},
                 {"UINT64", KILN_DTYPE_U64}, {"BFLOAT16", KILN_DTYPE_BF16}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(s, names[i].name) == 0)
            return names[i].dtype;
    return -1;
}

static enum kiln_status cast_to(struct kiln_infer_ctx *c, struct kiln_ir_node *n, int64_t to)
{
    const struct kiln_ir_value *x = n->in[0];
    if (to == 8 || x->dtype == 8)
        return kiln_op_error(c, n, KILN_STATUS_UNSUPPORTED,
                             "casting %s string tensors is not supported",
                             to == 8 ? "to" : "from");
    if (to <= 0 || to > 0xff || !kiln_dtype_size((int)to))
        return kiln_op_error(c, n, KILN_STATUS_UNSUPPORTED,
                             "target element type %lld is not supported by kiln", (long long)to);
    if (to >= KILN_DTYPE_F8E4M3FN && to <= KILN_DTYPE_F8E5M2FNUZ)
        return kiln_op_error(c, n, KILN_STATUS_UNSUPPORTED,
                             "casting to %s is not implemented: kiln reads float8 tensors and "
                             "converts them to wider types, it does not produce them",
                             kiln_dtype_name((int)to));
    struct kiln_p_cast *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    p->to = (int32_t)to;
    return kiln_set_output(c, n, 0, (int)to, x->rank, x->dims);
}

/* Cast/CastLike-19's saturate only applies to float8 targets, which cast_to refuses: read to
 * check its type. */
static enum kiln_status read_saturate(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    int64_t saturate;
    return c->g->opset >= 19 ? kiln_attr_int(c, n, "saturate", 1, &saturate) : KILN_STATUS_OK;
}

static enum kiln_status infer_cast(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    enum kiln_status st = read_saturate(c, n);
    if (st)
        return st;
    const struct kiln_ir_attr *a = kiln_ir_attr(n, "to");
    if (!a)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "attribute 'to' is required");
    int64_t to;
    if (a->type == KILN_ATTR_STRING) {
        to = dtype_from_name(a->s);
        if (to < 0)
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                 "attribute 'to' names unknown type \"%s\"", a->s);
    } else if ((st = kiln_attr_int(c, n, "to", 0, &to))) {
        return st;
    }
    return cast_to(c, n, to);
}

static enum kiln_status infer_cast_like(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    enum kiln_status st = read_saturate(c, n);
    return st ? st : cast_to(c, n, n->in[1]->dtype);
}

#define EW (KILN_OPF_ELEMENTWISE | KILN_OPF_INPLACE)
#define FLOATS "float32, float64, float16, bfloat16"
/* the trailing arguments are the op's opsets (struct kiln_op_info) */
#define UN(lname, fn, types, notes_, ...)                                                          \
    const struct kiln_op_info kiln_opi_##lname = {                                                 \
        .flags = EW, .infer = fn, .dtypes = types, .notes = notes_, .opsets = {__VA_ARGS__}};
UN(relu, infer_signed, "float types, signed ints", "", 1)
UN(sigmoid, infer_float, FLOATS, "", 1)
UN(tanh, infer_float, FLOATS, "", 1)
UN(leaky_relu, infer_act, FLOATS, "alpha 0.01", 1)
UN(abs, infer_numeric, "all numeric types", "", 1)
UN(neg, infer_signed, "float types, signed ints", "", 1)
UN(exp, infer_float, FLOATS, "", 1)
UN(log, infer_float, FLOATS, "", 1)
UN(sqrt, infer_float, FLOATS, "", 1)
UN(reciprocal, infer_float, FLOATS, "", 1)
UN(floor, infer_float, FLOATS, "", 1)
UN(ceil, infer_float, FLOATS, "", 1)
UN(round, infer_float, FLOATS, "half to even", 11)
UN(sign, infer_numeric, "all numeric types", "", 9)
UN(not, infer_not, "bool", "", 1)
UN(erf, infer_float, FLOATS, "", 9)
UN(sin, infer_float, FLOATS, "", 7)
UN(cos, infer_float, FLOATS, "", 7)
UN(tan, infer_float, FLOATS, "", 7)
UN(asin, infer_float, FLOATS, "", 7)
UN(acos, infer_float, FLOATS, "", 7)
UN(atan, infer_float, FLOATS, "", 7)
UN(sinh, infer_float, FLOATS, "", 9)
UN(cosh, infer_float, FLOATS, "", 9)
UN(asinh, infer_float, FLOATS, "", 9)
UN(acosh, infer_float, FLOATS, "", 9)
UN(atanh, infer_float, FLOATS, "", 9)
UN(elu, infer_act, FLOATS, "alpha 1", 1)
UN(selu, infer_act, FLOATS, "", 1, 6)
UN(celu, infer_act, FLOATS, "alpha 1", 12)
UN(softplus, infer_float, FLOATS, "", 1)
UN(softsign, infer_float, FLOATS, "", 1)
UN(mish, infer_float, FLOATS, "x * tanh(softplus(x))", 18)
UN(bitwise_not, infer_int, "all int types", "", 18)
UN(hard_sigmoid, infer_act, FLOATS, "alpha 0.2, beta 0.5", 1)
UN(hard_swish, infer_float, FLOATS, "", 14)
UN(thresholded_relu, infer_act, FLOATS, "alpha 1", 10)
UN(shrink, infer_shrink, "all numeric types", "", 9)
UN(isnan, infer_isnan, FLOATS, "output bool", 9)
UN(isinf, infer_isinf, FLOATS, "output bool", 10)
UN(gelu, infer_gelu, FLOATS,
   "approximate none/tanh; also accepted below opset 20 (the gelu_pattern pass makes it); "
   "kiln_fast=1 at -O3",
   20)
UN(cast, infer_cast, "every kiln type except string",
   "float to int truncates (NaN 0, saturating); float16/bfloat16 round to nearest even", 1, 6,
   19)
const struct kiln_op_info kiln_opi_clip = {
    .flags = EW, .infer = infer_clip, .dtypes = "all numeric types",
    .notes = "min/max inputs (opset 11+): folded when constant, else read at run time", .opsets = {1, 6, 11}};
const struct kiln_op_info kiln_opi_cast_like = {
    .flags = EW, .infer = infer_cast_like, .dtypes = "every kiln type except string",
    .notes = "as Cast, to the type of input 2", .opsets = {15, 19}};
