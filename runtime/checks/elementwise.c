/* elementwise.c - load-time checks of the elementwise ops (kernels binary.c, unary.c, cast.c,
 * fused_elementwise.c): operand element types, numpy broadcasting to the output, Cast's target
 * type, and FusedElementwise's instruction stream. */
#define KILN_CK_FILE "checks/elementwise.c"
#include "check.h"

/* Two inputs broadcast to the output; input 0 (and input 1 unless any_b) of the kernel's
 * type; the output of out_dt (0: the kernel's type). */
static int ew_binary(struct kiln_vctx *v, int out_dt, int any_b)
{
    const struct kiln_p_binary *p = v->params;
    desc *a = v->in[0], *b = v->in[1], *y = v->out[0];
    if (p->b_trailing < 0 || b->rank + p->b_trailing > KILN_MAX_RANK)
        return BAD("b_trailing %d for an operand of rank %d", p->b_trailing, b->rank);
    if (kiln_ck_dtypes(v, v->kd, a, any_b ? NULL : b, NULL) ||
        kiln_ck_dtypes(v, out_dt ? out_dt : v->kd, y, 0, 0))
        return 1;
    if (any_b && (b->dtype == KILN_DTYPE_BOOL || !kiln_dtype_size(b->dtype)))
        return BAD("exponent of type %s", kiln_dtype_name(b->dtype));
    if (!kiln_ck_bcast_to(a, 0, y) || !kiln_ck_bcast_to(b, p->b_trailing, y))
        return BAD("the operands do not broadcast to the output's shape");
    return 0;
}

static int check_binary(struct kiln_vctx *v)
{
    return ew_binary(v, 0, 0);
}

static int check_compare(struct kiln_vctx *v)
{
    return ew_binary(v, KILN_DTYPE_BOOL, 0);
}

static int check_pow(struct kiln_vctx *v)
{
    return ew_binary(v, 0, 1);
}

static int check_variadic(struct kiln_vctx *v)
{
    desc *y = vout(v, 0);
    for (uint32_t i = 0; i < v->n->n_in; i++)
        if (kiln_ck_dtypes(v, v->kd, vin(v, i), 0, 0) ||
            (!kiln_ck_bcast_to(vin(v, i), 0, y) &&
             BAD("input %u does not broadcast to the output", i)))
            return 1;
    if (v->n->n_in == 1 && numel(vin(v, 0)) != numel(y))
        return BAD("a single input must have the output's size");
    return kiln_ck_dtypes(v, v->kd, y, 0, 0);
}

static int check_where(struct kiln_vctx *v)
{
    desc *y = v->out[0];
    if (kiln_ck_dtypes(v, KILN_DTYPE_BOOL, v->in[0], 0, 0) ||
        kiln_ck_dtypes(v, v->kd, v->in[1], v->in[2], y))
        return 1;
    for (int i = 0; i < 3; i++)
        if (!kiln_ck_bcast_to(v->in[i], 0, y))
            return BAD("input %d does not broadcast to the output's shape", i);
    return 0;
}

static int check_unary(struct kiln_vctx *v)
{
    return kiln_ck_ew_unary(v, 0);
}

/* Clip: bounds passed as inputs (computed at run time) hold one element of x's type. */
static int check_clip(struct kiln_vctx *v)
{
    for (uint32_t i = 1; i < 3; i++) {
        desc *b = opt_in(v, i);
        if (b && (kiln_ck_dtypes(v, v->kd, b, 0, 0) || numel(b) != 1))
            return BAD("bound %u must hold one element of the input's type", i);
    }
    return kiln_ck_ew_unary(v, 0);
}

static int check_unary_bool(struct kiln_vctx *v)
{
    return kiln_ck_ew_unary(v, KILN_DTYPE_BOOL);
}

static int check_cast(struct kiln_vctx *v)
{
    const struct kiln_p_cast *p = v->params;
    if (p->to != v->out[0]->dtype || p->reserved)
        return BAD("casts to %s but the output is %s", kiln_dtype_name(p->to),
                   kiln_dtype_name(v->out[0]->dtype));
    return kiln_ck_ew_unary(v, v->out[0]->dtype);
}

/* FusedElementwise: every operand has the output's shape (float32) and the program only names
 * registers and constants that exist and were written before they are read. */
static int check_fused_elementwise(struct kiln_vctx *v)
{
    const struct kiln_p_fused_elementwise *p = v->params;
    uint32_t n_in = v->n->n_in;
    if (p->n_in != (int32_t)n_in || n_in < 1 || n_in > KILN_FEW_MAX_IN || p->n_code < 1 ||
        p->n_code > KILN_FEW_MAX_CODE)
        return BAD("program sizes do not fit");
    for (uint32_t i = 0; i < n_in; i++)
        if (kiln_ck_dtypes(v, KILN_DTYPE_F32, v->in[i], 0, 0) || !same_shape(v->in[i], v->out[0]))
            return BAD("input %u must be float32 with the output's shape", i);
    if (kiln_ck_dtypes(v, KILN_DTYPE_F32, v->out[0], 0, 0))
        return 1;
    uint32_t written = (1u << n_in) - 1;
    for (int32_t i = 0; i < p->n_code; i++) {
        const uint8_t *ins = p->code[i];
        if (ins[0] >= KILN_FEW_OP_COUNT || ins[1] >= KILN_FEW_MAX_REGS)
            return BAD("instruction %d is not valid", (int)i);
        for (int k = 2; k < 4; k++) {
            unsigned r = ins[k];
            if (r >= KILN_FEW_CONST ? r - KILN_FEW_CONST >= KILN_FEW_MAX_CONSTS
                                    : !((written >> r) & 1))
                return BAD("instruction %d reads operand %u, which does not exist", (int)i, r);
        }
        written |= 1u << ins[1];
    }
    return 0;
}

/* ---- the ops' checks (kiln_oc_<op>, reached through their kernel lists) ---- */

#define PB sizeof(struct kiln_p_binary)
#define PU sizeof(struct kiln_p_unary)
#define BIN(op) KILN_CHECK(op, check_binary, PB);
#define CMP(op) KILN_CHECK(op, check_compare, PB);
#define VAR(op) KILN_CHECK(op, check_variadic, 0);
#define UN(op) KILN_CHECK(op, check_unary, PU);
#define UNB(op) KILN_CHECK(op, check_unary_bool, PU);
/* clang-format off */
BIN(add) BIN(sub) BIN(mul) BIN(div) BIN(mod) BIN(prelu) BIN(bitshift)
BIN(bitwise_and) BIN(bitwise_or) BIN(bitwise_xor)
CMP(equal) CMP(less) CMP(less_or_equal) CMP(greater) CMP(greater_or_equal) CMP(and) CMP(or)
CMP(xor)
KILN_CHECK(pow, check_pow, PB);
VAR(max) VAR(min) VAR(sum) VAR(mean)
KILN_CHECK(where, check_where, 0);
UN(relu) UN(sigmoid) UN(tanh) UN(leaky_relu) UN(abs) UN(neg) UN(exp) UN(log) UN(sqrt)
UN(reciprocal) UN(floor) UN(ceil) UN(round) UN(sign) UN(erf) UN(sin) UN(cos) UN(tan) UN(asin)
UN(acos) UN(atan) UN(sinh) UN(cosh) UN(asinh) UN(acosh) UN(atanh) UN(elu) UN(selu) UN(celu)
UN(softplus) UN(softsign) UN(hard_sigmoid) UN(hard_swish) UN(thresholded_relu) UN(shrink)
UN(gelu) UN(mish) UN(bitwise_not)
/* clang-format on */
KILN_CHECK(clip, check_clip, PU);
UNB(not) UNB(isnan) UNB(isinf)
KILN_CHECK(cast, check_cast, sizeof(struct kiln_p_cast));
KILN_CHECK(cast_like, check_cast, sizeof(struct kiln_p_cast));
KILN_CHECK(fused_elementwise, check_fused_elementwise, sizeof(struct kiln_p_fused_elementwise));
