/* quant.c - load-time checks of the quantized ops (kernels quant.c): scales and zero points per
 * tensor or per axis entry, 8-bit operands, and the Conv / MatMul geometry of nn.c with the
 * integer kernels' scratch. */
#define KILN_CK_FILE "checks/quant.c"
#include "check.h"
#include "kernels/quant.h"

/* A scale (float32) or zero point (of type dt) that holds 1 value or `n` (per row/column/axis
 * entry); omitted zero points are allowed. */
static int qparam(struct kiln_vctx *v, uint32_t i, int dt, int64_t n, int per_elem_ok)
{
    desc *t = opt_in(v, i);
    if (!t)
        return dt == KILN_DTYPE_F32 ? BAD("input %u (a scale) is missing", i) : 0;
    if (t->dtype != dt || (numel(t) != 1 && !(per_elem_ok && numel(t) == n)))
        return BAD("input %u must be %s with 1%s values", i, kiln_dtype_name(dt),
                   per_elem_ok ? " or one per row/channel" : "");
    return 0;
}

static int is_q8(desc *t)
{
    return t->dtype == KILN_DTYPE_U8 || t->dtype == KILN_DTYPE_I8;
}

static int check_quantize(struct kiln_vctx *v)
{
    const struct kiln_p_quant_axis *p = v->params;
    desc *x = v->in[0], *y = v->out[0];
    int q = v->n->op == KILN_OP_QUANTIZE_LINEAR;
    int xdt = q ? (x->dtype == KILN_DTYPE_I32 ? KILN_DTYPE_I32 : KILN_DTYPE_F32) : v->kd;
    if (kiln_ck_dtypes(v, xdt, x, 0, 0) || kiln_ck_dtypes(v, q ? v->kd : KILN_DTYPE_F32, y, 0, 0) ||
        kiln_ck_oai(v, v->params, x))
        return 1;
    if (p->block < 0 || p->block > p->axis_len)
        return BAD("block size %lld for an axis of %lld", L(p->block), L(p->axis_len));
    /* blocked: a pair per block of the axis, per outer and inner index */
    int64_t pairs = p->block ? p->outer * ((p->axis_len + p->block - 1) / p->block) * p->inner
                             : p->axis_len;
    if (qparam(v, 1, KILN_DTYPE_F32, pairs, 1) || qparam(v, 2, v->kd, pairs, 1))
        return 1;
    if (!same_shape(x, y) || ((p->block || p->axis_len != 1) && numel(v->in[1]) != pairs))
        return BAD("output shape, or %lld scales", L(pairs));
    desc *z = opt_in(v, 2);
    if (z && numel(z) != numel(v->in[1]))
        return BAD("zero points and scales differ in count");
    return 0;
}

static int check_dynamic_quantize(struct kiln_vctx *v)
{
    desc *x = v->in[0], *y = v->out[0], *s = opt_out(v, 1), *z = opt_out(v, 2);
    if (kiln_ck_dtypes(v, KILN_DTYPE_F32, x, s, 0) || kiln_ck_dtypes(v, KILN_DTYPE_U8, y, z, 0))
        return 1;
    if (!same_shape(x, y) || (s && numel(s) < 1) || (z && numel(z) < 1))
        return BAD("output shapes do not fit");
    return 0;
}

/* MatMulInteger (a, b, a_zp, b_zp) and QLinearMatMul (a, a_scale, a_zp, b, b_scale, b_zp,
 * y_scale, y_zp): zero points of the operand's type, per tensor or per row of A / column
 * of B; QLinear scales per tensor or per row/column likewise. */
static int check_qmatmul(struct kiln_vctx *v)
{
    int ql = v->n->op == KILN_OP_QLINEAR_MATMUL, bi = ql ? 3 : 1;
    desc *a = v->in[0], *b = v->in[bi], *y = v->out[0];
    uint64_t mnk[3], rows;
    if (!present(b) || !is_q8(a) || !is_q8(b) || y->dtype != (ql ? v->kd : KILN_DTYPE_I32))
        return BAD("8-bit operands and a %s output", kiln_dtype_name(ql ? v->kd : KILN_DTYPE_I32));
    if (kiln_ck_matmul_shape(v, a, b, y, mnk, &rows))
        return 1;
    int64_t M = (int64_t)mnk[0], N = (int64_t)mnk[1];
    if (qparam(v, 2, a->dtype, M, 1) || qparam(v, ql ? 5 : 3, b->dtype, N, 1))
        return 1;
    if (ql && (qparam(v, 1, KILN_DTYPE_F32, M, 1) || qparam(v, 4, KILN_DTYPE_F32, N, 1) ||
               qparam(v, 6, KILN_DTYPE_F32, M, 1) || qparam(v, 7, y->dtype, M, 1)))
        return 1;
    return kiln_ck_scratch(v, kiln_qmatmul_scratch_bytes(ql, mnk[0], mnk[1], mnk[2]));
}

/* ConvInteger (x, w, x_zp, w_zp) and QLinearConv (x, x_scale, x_zp, w, w_scale, w_zp,
 * y_scale, y_zp, bias). */
static int check_qconv(struct kiln_vctx *v)
{
    const struct kiln_p_conv *p = v->params;
    int ql = v->n->op == KILN_OP_QLINEAR_CONV, wi = ql ? 3 : 1;
    desc *x = v->in[0], *w = v->in[wi], *y = v->out[0], *bias = opt_in(v, 8);
    uint64_t cg, k_size, out_size;
    if (!present(w) || !is_q8(x) || !is_q8(w) || y->dtype != (ql ? v->kd : KILN_DTYPE_I32))
        return BAD("8-bit operands and a %s output", kiln_dtype_name(ql ? v->kd : KILN_DTYPE_I32));
    if (kiln_ck_conv_shape(v, p, x, w, y, &cg, &k_size, &out_size))
        return 1;
    int64_t M = w->dims[0];
    if (qparam(v, 2, x->dtype, 1, 0) || qparam(v, ql ? 5 : 3, w->dtype, M, 1))
        return 1;
    if (ql && (qparam(v, 1, KILN_DTYPE_F32, 1, 0) || qparam(v, 4, KILN_DTYPE_F32, M, 1) ||
               qparam(v, 6, KILN_DTYPE_F32, 1, 0) || qparam(v, 7, y->dtype, 1, 0) ||
               kiln_ck_dtypes(v, KILN_DTYPE_I32, bias, 0, 0)))
        return 1;
    if (bias && !is_vec(bias, (uint64_t)M))
        return BAD("bias must be a vector of %lld values", L(M));
    return kiln_ck_scratch(
        v, kiln_qconv_scratch_bytes(p, ql, (uint64_t)M / (uint64_t)p->group, cg, k_size, out_size));
}

/* ---- the ops' checks (kiln_oc_<op>, reached through their kernel lists) ---- */

KILN_CHECK(quantize_linear, check_quantize, sizeof(struct kiln_p_quant_axis));
KILN_CHECK(dequantize_linear, check_quantize, sizeof(struct kiln_p_quant_axis));
KILN_CHECK(dynamic_quantize_linear, check_dynamic_quantize, 0);
/* QLinear scales (inputs 1, 4, 6) and operands are required, zero points not (the kernels read
 * an omitted one as 0) */
KILN_CHECK_LOWERED(qlinear_matmul, check_qmatmul, 0x5b, 8, 1, 1, 0);
KILN_CHECK(matmul_integer, check_qmatmul, 0);
KILN_CHECK_LOWERED(qlinear_conv, check_qconv, 0x5b, 9, 1, 1, sizeof(struct kiln_p_conv));
KILN_CHECK(conv_integer, check_qconv, sizeof(struct kiln_p_conv));
