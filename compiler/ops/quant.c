/* quant.c - the ONNX quantized ops as pre-quantized models use them: QuantizeLinear and
 * DequantizeLinear (per tensor; per axis from opset 13; blocked, 16-/4-bit and float8 inputs
 * from 19/21), DynamicQuantizeLinear, MatMulInteger,
 * ConvInteger, QLinearMatMul and QLinearConv. Scales and zero points are ordinary inputs
 * (constant or not) that the kernels read; here they are only checked for dtype and shape.
 * Kernels in runtime/kernels/quant.c. */
#include "nn.h"
#include "../../runtime/kernels/quant.h"

static const int q8_dtypes[] = {KILN_DTYPE_U8, KILN_DTYPE_I8, 0};
/* QuantizeLinear's outputs, DequantizeLinear's inputs: 8-bit, and from opset 21 16- and 4-bit
 * (kiln accepts those at any opset) */
static const int qdq_dtypes[] = {KILN_DTYPE_U8,  KILN_DTYPE_I8, KILN_DTYPE_U16, KILN_DTYPE_I16,
                                 KILN_DTYPE_U4,  KILN_DTYPE_I4, 0};

/* A scale or zero point: input i (skipped when omitted) must have `dtype` and hold one value
 * (a scalar or a 1-element vector) or, when len > 0, be a vector of len values (per axis/row/
 * column, as `per` says). */
static enum kiln_status qparam(struct kiln_infer_ctx *c, const struct kiln_ir_node *n,
                               uint32_t i, int dtype, int64_t len, const char *what,
                               const char *per)
{
    const struct kiln_ir_value *v = kiln_in(n, i);
    if (!v)
        return KILN_STATUS_OK;
    if (v->dtype != dtype)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "%s '%s' is %s; expected %s",
                             what, v->name, kiln_dtype_name(v->dtype), kiln_dtype_name(dtype));
    if (v->rank <= 1 && kiln_ir_value_numel(v) == 1)
        return KILN_STATUS_OK;
    if (len > 0 && v->rank == 1 && v->dims[0] == len)
        return KILN_STATUS_OK;
    char shape[128];
    kiln_ir_value_type_str(v, shape, sizeof shape);
    if (len > 0)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "%s '%s' (%s) must be a scalar or a vector of %lld values (%s)",
                             what, v->name, shape, (long long)len, per);
    return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "%s '%s' (%s) must be a scalar", what,
                         v->name, shape);
}

/* ---- QuantizeLinear, DequantizeLinear ---- */

static int64_t numel_range(const struct kiln_ir_value *v, int from, int to)
{
    int64_t n = 1;
    for (int i = from; i < to; i++)
        n *= v->dims[i];
    return n;
}

/* Blocked quantization (opset 21): the scale and zero point have x's shape with the axis cut
 * into blocks of `block` elements (the last one shorter). */
static enum kiln_status blocked_param(struct kiln_infer_ctx *c, const struct kiln_ir_node *n,
                                      uint32_t i, int dtype, const struct kiln_ir_value *x,
                                      int64_t axis, int64_t block)
{
    const struct kiln_ir_value *v = kiln_in(n, i);
    const char *what = i == 1 ? "scale" : "zero point";
    if (!v)
        return KILN_STATUS_OK;
    if (v->dtype != dtype)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "%s '%s' is %s; expected %s",
                             what, v->name, kiln_dtype_name(v->dtype), kiln_dtype_name(dtype));
    bool ok = v->rank == x->rank;
    for (int d = 0; ok && d < x->rank; d++)
        ok = v->dims[d] == (d == axis ? (x->dims[d] + block - 1) / block : x->dims[d]);
    if (!ok) {
        char shape[128];
        kiln_ir_value_type_str(v, shape, sizeof shape);
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "%s '%s' (%s) must have the input's shape with axis %lld in blocks "
                             "of %lld",
                             what, v->name, shape, (long long)axis, (long long)block);
    }
    return KILN_STATUS_OK;
}

/* Shared by both: input 0 x, 1 scale, 2 zero point (dtype zdtype). Fills the [outer, axis_len,
 * inner] view: per tensor when the scale holds one value, else along `axis` (opset 13), in
 * blocks of block_size from opset 21. */
static enum kiln_status infer_qdq(struct kiln_infer_ctx *c, struct kiln_ir_node *n,
                                  const int *x_dtypes, int zdtype, int ydtype)
{
    struct kiln_ir_value *x, *s;
    enum kiln_status st;
    if ((st = kiln_need_input(c, n, 0, &x)) || (st = kiln_need_input(c, n, 1, &s)) ||
        (st = kiln_check_dtype(c, n, 0, x_dtypes)))
        return st;
    int64_t axis = 1, len = 0, block = 0;
    if (c->g->opset >= 21 && (st = kiln_attr_int(c, n, "block_size", 0, &block)))
        return st;
    if (block) {
        if ((st = kiln_attr_int(c, n, "axis", 1, &axis)) ||
            (st = kiln_norm_axis(c, n, axis, x->rank, &axis)))
            return st;
        if (block < 0 || (x->dims[axis] && block > x->dims[axis]))
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                 "block_size %lld for axis %lld of %lld elements",
                                 (long long)block, (long long)axis, (long long)x->dims[axis]);
        if ((st = blocked_param(c, n, 1, KILN_DTYPE_F32, x, axis, block)) ||
            (st = blocked_param(c, n, 2, zdtype, x, axis, block)))
            return st;
        struct kiln_p_quant_axis *p = kiln_node_params(c, n, sizeof *p);
        if (!p)
            return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
        p->outer = numel_range(x, 0, (int)axis);
        p->axis_len = x->dims[axis];
        p->inner = numel_range(x, (int)axis + 1, x->rank);
        p->block = block;
        return kiln_set_output(c, n, 0, ydtype, x->rank, x->dims);
    }
    if (c->g->opset >= 13) {
        if ((st = kiln_attr_int(c, n, "axis", 1, &axis)))
            return st;
        if (s->rank == 1 && s->dims[0] != 1) {
            if ((st = kiln_norm_axis(c, n, axis, x->rank, &axis)))
                return st;
            len = x->dims[axis];
        }
    }
    if ((st = qparam(c, n, 1, KILN_DTYPE_F32, len, "scale", "one per element of the axis")) ||
        (st = qparam(c, n, 2, zdtype, len, "zero point", "one per element of the axis")))
        return st;
    const struct kiln_ir_value *z = kiln_in(n, 2);
    if (z && kiln_ir_value_numel(z) != kiln_ir_value_numel(s))
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "the zero point '%s' and the scale '%s' have different sizes",
                             z->name, s->name);
    struct kiln_p_quant_axis *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    p->outer = 1;
    p->axis_len = 1;
    p->inner = kiln_ir_value_numel(x);
    if (len) {
        p->outer = numel_range(x, 0, (int)axis);
        p->axis_len = len;
        p->inner = numel_range(x, (int)axis + 1, x->rank);
    }
    return kiln_set_output(c, n, 0, ydtype, x->rank, x->dims);
}

static enum kiln_status infer_quantize_linear(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    static const int x_dtypes[] = {KILN_DTYPE_F32, KILN_DTYPE_I32, 0};
    const struct kiln_ir_value *z = kiln_in(n, 2);
    enum kiln_status st;
    int64_t saturate, out = 0;
    if (z && (st = kiln_check_dtype(c, n, 2, qdq_dtypes)))
        return st;
    /* opset 19's saturate only concerns float8 outputs, which kiln does not produce */
    if ((c->g->opset >= 19 && (st = kiln_attr_int(c, n, "saturate", 1, &saturate))) ||
        (c->g->opset >= 21 && (st = kiln_attr_int(c, n, "output_dtype", 0, &out))))
        return st;
    int ydtype = z ? z->dtype : out ? (int)out : KILN_DTYPE_U8;
    if (out && z && out != z->dtype)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "output_dtype %lld does not match the zero point's type",
                             (long long)out);
    for (int k = 0; out && qdq_dtypes[k] != ydtype; k++)
        if (!qdq_dtypes[k])
            return kiln_op_error(c, n, KILN_STATUS_UNSUPPORTED,
                                 "output_dtype %lld (%s) is not one kiln quantizes to (uint8, "
                                 "int8, uint16, int16, uint4, int4)",
                                 (long long)out, kiln_dtype_name((int)out));
    n->kdtype = ydtype; /* variants by output type; the kernel reads float32 and int32 alike */
    return infer_qdq(c, n, x_dtypes, ydtype, ydtype);
}

static enum kiln_status infer_dequantize_linear(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    static const int x_dtypes[] = {KILN_DTYPE_U8,         KILN_DTYPE_I8,
                                   KILN_DTYPE_U16,        KILN_DTYPE_I16,
                                   KILN_DTYPE_U4,         KILN_DTYPE_I4,
                                   KILN_DTYPE_I32,        KILN_DTYPE_F8E4M3FN,
                                   KILN_DTYPE_F8E4M3FNUZ, KILN_DTYPE_F8E5M2,
                                   KILN_DTYPE_F8E5M2FNUZ, 0};
    const struct kiln_ir_value *x = kiln_in(n, 0), *z = kiln_in(n, 2);
    if (x && x->dtype == KILN_DTYPE_I32 && z && z->data) {
        for (int64_t i = 0; z->dtype == KILN_DTYPE_I32 && i < kiln_ir_value_numel(z); i++)
            if (((const int32_t *)z->data)[i] != 0)
                return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                     "an int32 input needs a zero point of 0; '%s' is not",
                                     z->name);
    }
    return infer_qdq(c, n, x_dtypes, x ? x->dtype : 0, KILN_DTYPE_F32);
}

static enum kiln_status infer_dynamic_quantize_linear(struct kiln_infer_ctx *c,
                                                      struct kiln_ir_node *n)
{
    struct kiln_ir_value *x;
    enum kiln_status st;
    if ((st = kiln_need_input_of(c, n, 0, kiln_dtypes_f32, &x)) ||
        (st = kiln_set_output(c, n, 0, KILN_DTYPE_U8, x->rank, x->dims)) ||
        (st = kiln_set_output(c, n, 1, KILN_DTYPE_F32, 0, NULL)))
        return st;
    return kiln_set_output(c, n, 2, KILN_DTYPE_U8, 0, NULL);
}

/* ---- MatMulInteger, QLinearMatMul ---- */

/* Input roles by position: MatMulInteger (A, B, a_zp, b_zp) and QLinearMatMul (a, a_scale,
 * a_zp, b, b_scale, b_zp, y_scale, y_zp); -1 for none. */
struct qroles {
    int a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp, bias;
};
static const struct qroles matmul_integer_roles = {0, -1, 2, 1, -1, 3, -1, -1, -1};
static const struct qroles qlinear_roles = {0, 1, 2, 3, 4, 5, 6, 7, 8};

/* The scales and zero points of the operands (A: per row of length la, B: per column of
 * length lb) and of the output (per row of length la for QLinearMatMul, per tensor for Conv). */
static enum kiln_status check_qparams(struct kiln_infer_ctx *c, struct kiln_ir_node *n,
                                      const struct qroles *r, int64_t la, int64_t lb,
                                      int64_t ly, const char *per_a, const char *per_b)
{
    const struct kiln_ir_value *a = n->in[r->a], *b = n->in[r->b];
    enum kiln_status st;
    if ((st = kiln_check_dtype(c, n, (uint32_t)r->a, q8_dtypes)) ||
        (st = kiln_check_dtype(c, n, (uint32_t)r->b, q8_dtypes)) ||
        (st = qparam(c, n, (uint32_t)r->a_zp, a->dtype, la, "zero point", per_a)) ||
        (st = qparam(c, n, (uint32_t)r->b_zp, b->dtype, lb, "zero point", per_b)))
        return st;
    if (r->y_zp < 0)
        return KILN_STATUS_OK;
    const struct kiln_ir_value *yz = n->in[r->y_zp];
    if ((st = kiln_check_dtype(c, n, (uint32_t)r->y_zp, q8_dtypes)) ||
        (st = qparam(c, n, (uint32_t)r->a_scale, KILN_DTYPE_F32, la, "scale", per_a)) ||
        (st = qparam(c, n, (uint32_t)r->b_scale, KILN_DTYPE_F32, lb, "scale", per_b)) ||
        (st = qparam(c, n, (uint32_t)r->y_scale, KILN_DTYPE_F32, ly, "scale", "one per row")) ||
        (st = qparam(c, n, (uint32_t)r->y_zp, yz->dtype, ly, "zero point", "one per row")))
        return st;
    n->kdtype = yz->dtype; /* variants by output type */
    return KILN_STATUS_OK;
}

/* numpy matmul shapes (1-D operands promoted, batch dims broadcast), int32 or requantized. */
static enum kiln_status infer_qmatmul(struct kiln_infer_ctx *c, struct kiln_ir_node *n,
                                      const struct qroles *r)
{
    struct kiln_ir_value *a, *b;
    enum kiln_status st;
    if ((st = kiln_need_input(c, n, (uint32_t)r->a, &a)) ||
        (st = kiln_need_input(c, n, (uint32_t)r->b, &b)))
        return st;
    struct kiln_matmul_shape sh;
    if ((st = kiln_matmul_shape(c, n, a, b, &sh)))
        return st;
    int qlinear = r->y_zp >= 0;
    n->kdtype = KILN_DTYPE_I32;
    if ((st = check_qparams(c, n, r, sh.m, sh.n, sh.m, "one per row of A", "one per column of B")))
        return st;
    n->scratch_size =
        kiln_qmatmul_scratch_bytes(qlinear, (uint64_t)sh.m, (uint64_t)sh.n, (uint64_t)sh.k);
    return kiln_set_output(c, n, 0, qlinear ? n->in[r->y_zp]->dtype : KILN_DTYPE_I32, sh.rank,
                           sh.dims);
}

static enum kiln_status infer_matmul_integer(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    return infer_qmatmul(c, n, &matmul_integer_roles);
}

static enum kiln_status infer_qlinear_matmul(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    return infer_qmatmul(c, n, &qlinear_roles);
}

static uint64_t macs_qmatmul(const struct kiln_ir_node *n, const struct qroles *r)
{
    const struct kiln_ir_value *a = n->in[r->a], *y = n->out[0];
    if (!y || !kiln_ir_value_shape_known(y) || a->rank < 1)
        return 0;
    return (uint64_t)kiln_ir_value_numel(y) * (uint64_t)a->dims[a->rank - 1];
}
static uint64_t macs_matmul_integer(const struct kiln_ir_node *n)
{
    return macs_qmatmul(n, &matmul_integer_roles);
}
static uint64_t macs_qlinear_matmul(const struct kiln_ir_node *n)
{
    return macs_qmatmul(n, &qlinear_roles);
}

/* ---- ConvInteger, QLinearConv ---- */

static const struct qroles conv_integer_roles = {0, -1, 2, 1, -1, 3, -1, -1, -1};

/* Conv geometry as in Conv (compiler/ops/conv.c) with the weights as the GEMM's A: per output
 * channel weight scales and zero points are per row. */
static enum kiln_status infer_qconv(struct kiln_infer_ctx *c, struct kiln_ir_node *n,
                                    const struct qroles *r)
{
    struct kiln_ir_value *x, *w;
    enum kiln_status st;
    if ((st = kiln_need_input(c, n, (uint32_t)r->a, &x)) ||
        (st = kiln_need_input(c, n, (uint32_t)r->b, &w)))
        return st;
    struct kiln_conv_shape sh;
    if ((st = kiln_conv_shape(c, n, x, w, &sh)))
        return st;
    int qlinear = r->y_zp >= 0;
    int64_t M = sh.m;
    /* the GEMM's A is the weights and B the input columns: roles swap for the checks */
    struct qroles swapped = *r;
    swapped.a = r->b, swapped.a_scale = r->b_scale, swapped.a_zp = r->b_zp;
    swapped.b = r->a, swapped.b_scale = r->a_scale, swapped.b_zp = r->a_zp;
    n->kdtype = KILN_DTYPE_I32;
    if ((st = check_qparams(c, n, &swapped, M, 0, 0, "one per output channel", "")))
        return st;
    const struct kiln_ir_value *bias = r->bias >= 0 ? kiln_in(n, (uint32_t)r->bias) : NULL;
    if (bias && (bias->dtype != KILN_DTYPE_I32 || bias->rank != 1 || bias->dims[0] != M))
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "bias '%s' must be an int32 vector of %lld values (one per output "
                             "channel)",
                             bias->name, (long long)M);
    struct kiln_p_conv *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    p->nsp = sh.win.nsp;
    p->group = (int32_t)sh.group;
    p->win = sh.win.geom;
    p->act.kind = KILN_ACT_NONE;
    n->scratch_size = kiln_qconv_scratch_bytes(p, qlinear, (uint64_t)(M / sh.group), sh.cg,
                                               sh.k_size, sh.out_size);
    return kiln_set_output(c, n, 0, qlinear ? n->in[r->y_zp]->dtype : KILN_DTYPE_I32, x->rank,
                           sh.dims);
}

static enum kiln_status infer_conv_integer(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    return infer_qconv(c, n, &conv_integer_roles);
}

static enum kiln_status infer_qlinear_conv(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    return infer_qconv(c, n, &qlinear_roles);
}

/* Every output element sums C/group * kernel products. */
static uint64_t macs_qconv(const struct kiln_ir_node *n, const struct qroles *r)
{
    const struct kiln_ir_value *w = n->in[r->b], *y = n->out[0];
    if (!y || !kiln_ir_value_shape_known(w) || !kiln_ir_value_shape_known(y) || !w->dims[0])
        return 0;
    return (uint64_t)kiln_ir_value_numel(y) * (uint64_t)(kiln_ir_value_numel(w) / w->dims[0]);
}
static uint64_t macs_conv_integer(const struct kiln_ir_node *n)
{
    return macs_qconv(n, &conv_integer_roles);
}
static uint64_t macs_qlinear_conv(const struct kiln_ir_node *n)
{
    return macs_qconv(n, &qlinear_roles);
}

const struct kiln_op_info kiln_opi_quantize_linear = {
    .infer = infer_quantize_linear,
    .dtypes = "float32, int32 -> uint8, int8, uint16, int16, uint4, int4",
    .notes = "per tensor; per axis from opset 13; blocked from 21; round half to even, "
             "saturate; float32 scales; float8 outputs refused",
    .opsets = {10, 13, 19, 21}};
const struct kiln_op_info kiln_opi_dequantize_linear = {
    .infer = infer_dequantize_linear,
    .dtypes = "uint8, int8, uint16, int16, uint4, int4, int32, float8 (4 kinds) -> float32",
    .notes = "per tensor; per axis from opset 13; float8 from 19; blocked, 16- and 4-bit from 21; "
             "float32 scales",
    .opsets = {10, 13, 21}};
const struct kiln_op_info kiln_opi_dynamic_quantize_linear = {
    .infer = infer_dynamic_quantize_linear, .dtypes = "float32 -> uint8",
    .notes = "scale and zero point from the input's range (including 0)", .opsets = {11}};
const struct kiln_op_info kiln_opi_matmul_integer = {
    .infer = infer_matmul_integer, .macs = macs_matmul_integer, .dtypes = "uint8, int8 -> int32",
    .notes = "zero points per tensor, per row of A, per column of B; batch broadcast; integer GEMM",
    .opsets = {10}};
const struct kiln_op_info kiln_opi_qlinear_matmul = {
    .infer = infer_qlinear_matmul, .macs = macs_qlinear_matmul, .dtypes = "uint8, int8",
    .notes = "A per tensor or row, B per tensor or column; int32 GEMM, float requantization",
    .opsets = {10}};
const struct kiln_op_info kiln_opi_conv_integer = {
    .infer = infer_conv_integer, .macs = macs_conv_integer, .dtypes = "uint8, int8 -> int32",
    .notes = "Conv geometry; weight zero point per tensor or output channel; im2col + integer GEMM",
    .opsets = {10}};
const struct kiln_op_info kiln_opi_qlinear_conv = {
    .infer = infer_qlinear_conv, .macs = macs_qlinear_conv, .dtypes = "uint8, int8",
    .notes = "weights per tensor or output channel; int32 bias; im2col + integer GEMM, float "
             "requantization",
    .opsets = {10}};
