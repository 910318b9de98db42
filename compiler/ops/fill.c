/* fill.c - ConstantOfShape (constant shape input, one-element value attribute, default float32
 * 0) and Range (constant scalar start, limit, delta: the output length depends on them).
 * Both are then evaluated at compile time by the kernels in runtime/kernels/fill.c. */
#include <math.h>

#include "ops.h"

/* Element k of constant data of dtype, as double and as int64. */
static int read_elem(const void *data, int dtype, int64_t k, double *f, int64_t *i)
{
    switch (dtype) {
    case KILN_DTYPE_F32: *f = ((const float *)data)[k]; break;
    case KILN_DTYPE_F64: *f = ((const double *)data)[k]; break;
    case KILN_DTYPE_F16: *f = kiln_f16_to_f32(((const uint16_t *)data)[k]); break;
    case KILN_DTYPE_BF16: *f = kiln_bf16_to_f32(((const uint16_t *)data)[k]); break;
    case KILN_DTYPE_BOOL:
    case KILN_DTYPE_U4: /* 4-bit types: a byte each in kiln */
    case KILN_DTYPE_U8: *i = ((const uint8_t *)data)[k]; break;
    case KILN_DTYPE_I4:
    case KILN_DTYPE_I8: *i = ((const int8_t *)data)[k]; break;
    case KILN_DTYPE_F8E4M3FN: /* float8: the raw bits, which kiln_store_value writes back */
    case KILN_DTYPE_F8E4M3FNUZ:
    case KILN_DTYPE_F8E5M2:
    case KILN_DTYPE_F8E5M2FNUZ: *i = ((const uint8_t *)data)[k]; break;
    case KILN_DTYPE_U16: *i = ((const uint16_t *)data)[k]; break;
    case KILN_DTYPE_I16: *i = ((const int16_t *)data)[k]; break;
    case KILN_DTYPE_U32: *i = ((const uint32_t *)data)[k]; break;
    case KILN_DTYPE_I32: *i = ((const int32_t *)data)[k]; break;
    case KILN_DTYPE_U64:
    case KILN_DTYPE_I64: *i = ((const int64_t *)data)[k]; break;
    default: return 0;
    }
    if (kiln_dtype_is_float(dtype))
        *i = (int64_t)*f;
    else
        *f = (double)*i;
    return 1;
}

static enum kiln_status infer_constant_of_shape(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    enum kiln_status st;
    int64_t *shape, cnt;
    if ((st = kiln_const_ints(c, n, 0, "shape", &shape, &cnt)))
        return st;
    if (cnt > KILN_MAX_RANK)
        return kiln_op_error(c, n, KILN_STATUS_UNSUPPORTED,
                             "shape has %lld entries; kiln supports rank up to %d",
                             (long long)cnt, KILN_MAX_RANK);
    struct kiln_p_fill *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    int dtype = KILN_DTYPE_F32;
    const struct kiln_ir_attr *a = kiln_ir_attr(n, "value");
    if (a) {
        if (a->type != KILN_ATTR_TENSOR || !a->t || kiln_ir_value_numel(a->t) != 1)
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                 "attribute 'value' must be a tensor of one element");
        dtype = a->t->dtype;
        if (!read_elem(a->t->data, dtype, 0, &p->f, &p->i))
            return kiln_op_error(c, n, KILN_STATUS_UNSUPPORTED, "value of type %s",
                                 kiln_dtype_name(dtype));
    }
    return kiln_set_output(c, n, 0, dtype, (int)cnt, shape);
}

static enum kiln_status infer_range(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    static const int types[] = {KILN_DTYPE_F32, KILN_DTYPE_F64, KILN_DTYPE_I16, KILN_DTYPE_I32,
                                KILN_DTYPE_I64, 0};
    static const char *const what[] = {"start", "limit", "delta"};
    enum kiln_status st;
    double f[3];
    int64_t i[3];
    if ((st = kiln_check_dtype(c, n, 0, types)))
        return st;
    for (uint32_t k = 0; k < 3; k++) {
        struct kiln_ir_value *v = n->in[k];
        if ((st = kiln_check_same_dtype(c, n, 0, k)))
            return st;
        if (!v->data)
            return kiln_not_constant(c, n, v, what[k], "the output length depends on it");
        if (kiln_ir_value_numel(v) != 1)
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                 "input '%s' (%s) must be a scalar", v->name, what[k]);
        read_elem(v->data, v->dtype, 0, &f[k], &i[k]);
    }
    int dtype = n->in[0]->dtype;
    int64_t len;
    if (kiln_dtype_is_float(dtype)) {
        double l = f[2] != 0 ? ceil((f[1] - f[0]) / f[2]) : NAN;
        if (!(l < 9e15))
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                 "delta %g gives no finite length", f[2]);
        len = l > 0 ? (int64_t)l : 0;
    } else {
        if (i[2] == 0)
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "delta is 0");
        /* ceil((limit - start) / delta) in exact integer arithmetic (inputs are <= 32 bits
         * except int64, whose spans beyond 2^62 no one can allocate anyway) */
        double span = (double)i[1] - (double)i[0];
        if (fabs(span) > 4e18)
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "range is too long");
        int64_t d = i[1] - i[0], q = d / i[2];
        if (q * i[2] != d && (d > 0) == (i[2] > 0))
            q++;
        len = q > 0 ? q : 0;
    }
    struct kiln_p_fill *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    p->f = f[0];
    p->df = f[2];
    p->i = i[0];
    p->di = i[2];
    return kiln_set_output(c, n, 0, dtype, 1, &len);
}

const struct kiln_op_info kiln_opi_constant_of_shape = {
    .infer = infer_constant_of_shape, .dtypes = "any",
    .notes = "the shape input must be constant; evaluated at compile time", .opsets = {9}};
const struct kiln_op_info kiln_opi_range = {
    .infer = infer_range, .dtypes = "float32, float64, int16, int32, int64",
    .notes = "start, limit and delta must be constant; evaluated at compile time", .opsets = {11}};
