/* quant.c - kernels of the ONNX quantized ops: QuantizeLinear, DequantizeLinear,
 * DynamicQuantizeLinear, and the integer products MatMulInteger, ConvInteger, QLinearMatMul,
 * QLinearConv, which all run the one integer GEMM (igemm.c) into int32; the QLinear forms then
 * requantize with the float multiplier a_scale * b_scale / y_scale, rounding half to even,
 * adding y_zero_point and saturating, as the ONNX reference does. Scales and zero points are
 * read from their input tensors (which may be constant weights). */
#include <math.h>

#include "kernels.h"
#include "im2col.h"
#include "quant.h"

/* The 8-bit quantized types: X(sfx, DTYPE, c type, min, max). */
#define QUANT_TYPES(X) X(u8, U8, uint8_t, 0, 255) X(i8, I8, int8_t, -128, 127)
/* QuantizeLinear/DequantizeLinear also take the 16-bit and (opset 21) 4-bit types; kiln keeps
 * a 4-bit element unpacked in a byte of its own */
#define QDQ_TYPES(X)                                                                           \
    QUANT_TYPES(X) X(u16, U16, uint16_t, 0, 65535) X(i16, I16, int16_t, -32768, 32767)         \
    X(u4, U4, uint8_t, 0, 15) X(i4, I4, int8_t, -8, 7)

/* rint(v) + add, clamped to [lo, hi]. rint rounds half to even in the default rounding mode,
 * like numpy's rint in the reference; NaN becomes 0 rather than undefined behaviour. */
static inline int32_t sat_round(double v, int32_t add, int32_t lo, int32_t hi)
{
    v = rint(v) + add;
    if (v != v)
        v = 0;
    return v < lo ? lo : v > hi ? hi : (int32_t)v;
}

/* An optional input: NULL when omitted. */
static inline const struct kiln_tensor *in_opt(const struct kiln_kernel_args *a, uint32_t i)
{
    return i < a->n_in && a->in[i].data ? &a->in[i] : NULL;
}

/* Zero point number i of t (uint8, int8 or int32); 0 when t is omitted. */
static inline int32_t zp_at(const struct kiln_tensor *t, int64_t i)
{
    if (!t)
        return 0;
    switch (t->dtype) {
    case KILN_DTYPE_U8:
    case KILN_DTYPE_U4: return ((const uint8_t *)t->data)[i];
    case KILN_DTYPE_I8:
    case KILN_DTYPE_I4: return ((const int8_t *)t->data)[i];
    case KILN_DTYPE_U16: return ((const uint16_t *)t->data)[i];
    case KILN_DTYPE_I16: return ((const int16_t *)t->data)[i];
    default: return ((const int32_t *)t->data)[i];
    }
}

/* 1 when a scale or zero point holds one value per row/column, 0 when one for all. */
static inline int64_t per_elem(const struct kiln_tensor *t)
{
    return t && kiln_tensor_numel(t) > 1;
}

/* Where element (o, c, i) finds its scale and zero point: at base + i * step, with base and
 * step from qdq_base. Per tensor or per axis entry one pair serves a whole row (step 0);
 * blocked (opset 21) the pairs form [outer, ceil(axis_len / block), inner]. */
static inline int64_t qdq_base(const struct kiln_p_quant_axis *p, int64_t o, int64_t c,
                               int64_t *step)
{
    *step = p->block != 0;
    if (!p->block)
        return c;
    return (o * ((p->axis_len + p->block - 1) / p->block) + c / p->block) * p->inner;
}

/* ---- QuantizeLinear: y = saturate(rint(x / scale) + zero_point), x float32 or int32 ---- */

#define QUANTIZE_DEFINE(sfx, DT, T, LO, HI)                                                    \
    static void kiln_k_quantize_linear_##sfx(const struct kiln_kernel_args *a)                 \
    {                                                                                          \
        const struct kiln_p_quant_axis *p = a->params;                                         \
        const struct kiln_tensor *x = &a->in[0], *z = in_opt(a, 2);                            \
        const float *s = a->in[1].data, *xf = x->data;                                         \
        const int32_t *xi = x->data;                                                           \
        int is_int = x->dtype == KILN_DTYPE_I32;                                               \
        T *y = a->out[0].data;                                                                 \
        for (int64_t o = 0, idx = 0; o < p->outer; o++)                                        \
            for (int64_t c = 0; c < p->axis_len; c++) {                                        \
                int64_t step, q = qdq_base(p, o, c, &step);                                    \
                for (int64_t i = 0; i < p->inner; i++, idx++, q += step) {                     \
                    float v = is_int ? (float)xi[idx] : xf[idx];                               \
                    /* divide in float like the reference; rint of a float is exact */         \
                    y[idx] = (T)sat_round((double)(v / s[q]), zp_at(z, q), LO, HI);            \
                }                                                                              \
            }                                                                                  \
    }
QDQ_TYPES(QUANTIZE_DEFINE)

/* ---- DequantizeLinear: y = (x - zero_point) * scale ---- */

/* VAL(x, z, q): element x's value minus zero point number q of z, as the float multiplied by
 * the scale: the difference taken in int64 for the integer types, in float for float8 (whose
 * zero points are float8 too) */
#define DQ_INT_VAL(x, z, q) (float)((int64_t)(x) - zp_at(z, q))
#define DEQUANTIZE_DEFINE(sfx, DT, T, VAL)                                                     \
    static void kiln_k_dequantize_linear_##sfx(const struct kiln_kernel_args *a)               \
    {                                                                                          \
        const struct kiln_p_quant_axis *p = a->params;                                         \
        const struct kiln_tensor *z = in_opt(a, 2);                                            \
        const T *x = a->in[0].data;                                                            \
        const float *s = a->in[1].data;                                                        \
        float *y = a->out[0].data;                                                             \
        for (int64_t o = 0, idx = 0; o < p->outer; o++)                                        \
            for (int64_t c = 0; c < p->axis_len; c++) {                                        \
                int64_t step, q = qdq_base(p, o, c, &step);                                    \
                if (!step) { /* one pair for the row: its scale kept out of the loop */        \
                    float sc = s[q];                                                           \
                    for (int64_t i = 0; i < p->inner; i++, idx++)                              \
                        y[idx] = VAL(x[idx], z, q) * sc;                                       \
                    continue;                                                                  \
                }                                                                              \
                for (int64_t i = 0; i < p->inner; i++, idx++, q++)                             \
                    y[idx] = VAL(x[idx], z, q) * s[q];                                         \
            }                                                                                  \
    }
#define DQ_INT(sfx, DT, T, ...) DEQUANTIZE_DEFINE(sfx, DT, T, DQ_INT_VAL)
QDQ_TYPES(DQ_INT)
DQ_INT(i32, I32, int32_t, INT32_MIN, INT32_MAX) /* C99: "..." needs an argument */

/* float8: decoded exactly, the zero point (of x's type) subtracted in float */
#define F8_TYPES(X)                                                                            \
    X(f8e4m3fn, F8E4M3FN) X(f8e4m3fnuz, F8E4M3FNUZ) X(f8e5m2, F8E5M2) X(f8e5m2fnuz, F8E5M2FNUZ)
#define DQ_F8(sfx, DT)                                                                         \
    static inline float dq_val_##sfx(uint8_t x, const struct kiln_tensor *z, int64_t q)        \
    {                                                                                          \
        float zv = z ? kiln_f8_to_f32(((const uint8_t *)z->data)[q], KILN_DTYPE_##DT) : 0.0f;  \
        return kiln_f8_to_f32(x, KILN_DTYPE_##DT) - zv;                                        \
    }                                                                                          \
    DEQUANTIZE_DEFINE(sfx, DT, uint8_t, dq_val_##sfx)
F8_TYPES(DQ_F8)

/* ---- DynamicQuantizeLinear: uint8 with scale and zero point from the range of x and 0 ---- */

static void kiln_k_dynamic_quantize_linear_f32(const struct kiln_kernel_args *a)
{
    const float *x = a->in[0].data;
    int64_t n = kiln_tensor_numel(&a->in[0]);
    float lo = 0.0f, hi = 0.0f;
    for (int64_t i = 0; i < n; i++) {
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
    /* the reference's formulas, in float32 */
    float scale = (hi == lo ? 1.0f : hi - lo) / 255.0f;
    float zf = 0.0f - lo / scale;
    zf = zf < 0.0f ? 0.0f : zf > 255.0f ? 255.0f : zf;
    int32_t zp = sat_round(zf, 0, 0, 255);
    uint8_t *y = a->out[0].data;
    for (int64_t i = 0; i < n; i++)
        y[i] = (uint8_t)sat_round((double)(x[i] / scale), zp, 0, 255);
    if (a->n_out > 1 && a->out[1].data)
        *(float *)a->out[1].data = scale;
    if (a->n_out > 2 && a->out[2].data)
        *(uint8_t *)a->out[2].data = (uint8_t)zp;
}

/* ---- requantization of int32 GEMM results ---- */

/* Row r, column j of a result block: multiplier sa[r] * sb[j] / sy[r] (float, in the
 * reference's order), plus bias[r] before and zero point zy[r] after scaling. Strides are 0 for
 * per-tensor values. */
struct requant {
    const float *sa, *sb, *sy;
    int64_t sa_st, sb_st, sy_st;
    const struct kiln_tensor *zy;
    int64_t zy_off, zy_st;
    const int32_t *bias;
};
typedef void (*requant_fn)(const struct requant *q, const int32_t *acc, int64_t rows,
                           int64_t cols, void *y);

#define REQUANT_DEFINE(sfx, DT, T, LO, HI)                                                     \
    static void requant_##sfx(const struct requant *q, const int32_t *acc, int64_t rows,       \
                              int64_t cols, void *yv)                                          \
    {                                                                                          \
        T *y = yv;                                                                             \
        for (int64_t r = 0; r < rows; r++, acc += cols, y += cols) {                           \
            float sa = q->sa[r * q->sa_st], sy = q->sy[r * q->sy_st];                          \
            int32_t z = zp_at(q->zy, q->zy_off + r * q->zy_st);                                \
            int64_t b = q->bias ? q->bias[r] : 0;                                              \
            for (int64_t j = 0; j < cols; j++) {                                               \
                float m = sa * q->sb[j * q->sb_st] / sy;                                       \
                y[j] = (T)sat_round((double)(acc[j] + b) * (double)m, z, LO, HI);              \
            }                                                                                  \
        }                                                                                      \
    }
QUANT_TYPES(REQUANT_DEFINE)

/* ---- MatMulInteger, QLinearMatMul ---- */

/* Element offsets of A's and B's matrices for output batch bi (numpy broadcasting). */
static void batch_offsets(const struct kiln_tensor *A, const struct kiln_tensor *B,
                          const struct kiln_tensor *Y, int nbo, int64_t bi, int64_t *oa,
                          int64_t *ob)
{
    int ra = A->rank, rb = B->rank;
    int nba = ra > 2 ? ra - 2 : 0, nbb = rb > 2 ? rb - 2 : 0;
    int64_t own_a = (ra >= 2 ? A->dims[ra - 2] : 1) * A->dims[ra - 1];
    int64_t own_b = B->dims[rb >= 2 ? rb - 2 : 0] * (rb >= 2 ? B->dims[rb - 1] : 1);
    *oa = *ob = 0;
    for (int i = nbo - 1; i >= 0; i--) {
        int64_t idx = bi % Y->dims[i];
        bi /= Y->dims[i];
        int ia = i - (nbo - nba), ib = i - (nbo - nbb);
        if (ia >= 0) {
            *oa += A->dims[ia] == 1 ? 0 : idx * own_a;
            own_a *= A->dims[ia];
        }
        if (ib >= 0) {
            *ob += B->dims[ib] == 1 ? 0 : idx * own_b;
            own_b *= B->dims[ib];
        }
    }
}

/* Inputs: MatMulInteger (A, B, a_zp, b_zp) when rq is NULL, else QLinearMatMul (a, a_scale,
 * a_zp, b, b_scale, b_zp, y_scale, y_zp). Per batch: igemm into Y (int32) or into scratch and
 * requantized into Y. */
static void qmatmul(const struct kiln_kernel_args *a, requant_fn rq)
{
    const struct kiln_tensor *A = &a->in[0], *B = &a->in[rq ? 3 : 1], *Y = &a->out[0];
    const struct kiln_tensor *az = in_opt(a, 2), *bz = in_opt(a, rq ? 5 : 3);
    int ra = A->rank, rb = B->rank;
    int64_t M = ra >= 2 ? A->dims[ra - 2] : 1, K = A->dims[ra - 1];
    int64_t N = rb >= 2 ? B->dims[rb - 1] : 1;
    int nbo = Y->rank - (ra >= 2) - (rb >= 2);
    int64_t batch = kiln_numel(Y->dims, nbo);
    int32_t *acc = a->scratch;
    void *gs = (char *)a->scratch + kiln_qconv_acc_bytes(rq != NULL, (uint64_t)M, (uint64_t)N);
    struct requant q = {0};
    if (rq) {
        const struct kiln_tensor *as = &a->in[1], *bs = &a->in[4], *ys = &a->in[6];
        q = (struct requant){as->data, bs->data,        ys->data,          per_elem(as),
                             per_elem(bs), per_elem(ys), in_opt(a, 7),     0,
                             per_elem(in_opt(a, 7)),     NULL};
    }
    for (int64_t bi = 0; bi < batch; bi++) {
        int64_t oa, ob;
        batch_offsets(A, B, Y, nbo, bi, &oa, &ob);
        struct kiln_igemm_operand op_a = {(const char *)A->data + oa, K, 1, az ? az->data : NULL,
                                          per_elem(az), A->dtype, 0};
        struct kiln_igemm_operand op_b = {(const char *)B->data + ob, N, 1, bz ? bz->data : NULL,
                                          per_elem(bz), B->dtype, 0};
        int32_t *dst = rq ? acc : (int32_t *)Y->data + bi * M * N;
        kiln_igemm(M, N, K, &op_a, &op_b, dst, N, 0, gs);
        if (rq)
            rq(&q, acc, M, N, (char *)Y->data + bi * M * N);
    }
}

static void kiln_k_matmul_integer(const struct kiln_kernel_args *a)
{
    qmatmul(a, NULL);
}

/* ---- ConvInteger, QLinearConv ---- */

KILN_IM2COL_DEFINE(im2col_u8, uint8_t)

/* Inputs: ConvInteger (x, w, x_zp, w_zp) when rq is NULL, else QLinearConv (x, x_scale, x_zp,
 * w, w_scale, w_zp, y_scale, y_zp, bias). Per image and group: im2col of the input bytes,
 * padded with x's zero point so that padding contributes 0 after the GEMM subtracts it, then
 * igemm with the weights as A (per output channel zero points are per row). */
static void qconv(const struct kiln_kernel_args *a, requant_fn rq)
{
    const struct kiln_p_conv *p = a->params;
    const struct kiln_tensor *x = &a->in[0], *w = &a->in[rq ? 3 : 1], *y = &a->out[0];
    const struct kiln_tensor *xz = in_opt(a, 2), *wz = in_opt(a, rq ? 5 : 3);
    struct kiln_nn_geom g;
    kiln_nn_geom(&g, p->nsp, &p->win, x, y);
    int64_t nb = x->dims[0], C = x->dims[1], M = w->dims[0];
    int64_t cg = C / p->group, mg = M / p->group, kdim = cg * g.k_size;
    uint64_t col_bytes = kiln_conv_col_bytes(p, (uint64_t)cg, (uint64_t)g.k_size,
                                             (uint64_t)g.out_size, 1);
    uint8_t *col = a->scratch;
    int32_t *acc = (int32_t *)((char *)a->scratch + col_bytes);
    void *gs = (char *)acc + kiln_qconv_acc_bytes(rq != NULL, (uint64_t)mg, (uint64_t)g.out_size);
    /* the zero point's byte pattern, int8 or uint8 alike */
    uint8_t pad = xz ? *(const uint8_t *)xz->data : 0;
    int64_t wz_st = per_elem(wz);
    struct requant q = {0};
    if (rq) {
        const struct kiln_tensor *xs = &a->in[1], *ws = &a->in[4], *ys = &a->in[6];
        q = (struct requant){ws->data, xs->data, ys->data, per_elem(ws), 0, 0, in_opt(a, 7),
                             0,        0,        NULL};
    }
    const int32_t *bias = rq && in_opt(a, 8) ? a->in[8].data : NULL;
    for (int64_t n = 0; n < nb; n++)
        for (int64_t gi = 0; gi < p->group; gi++) {
            const uint8_t *xg = (const uint8_t *)x->data + (n * C + gi * cg) * g.in_size;
            const uint8_t *cols = xg;
            if (col_bytes) {
                im2col_u8(xg, cg, &g, pad, col);
                cols = col;
            }
            struct kiln_igemm_operand op_w = {
                (const uint8_t *)w->data + gi * mg * kdim, kdim, 1,
                wz ? (const uint8_t *)wz->data + gi * mg * wz_st : NULL, wz_st, w->dtype, 0};
            struct kiln_igemm_operand op_x = {cols, g.out_size, 1, xz ? xz->data : NULL, 0,
                                              x->dtype, 0};
            int64_t yoff = (n * M + gi * mg) * g.out_size;
            int32_t *dst = rq ? acc : (int32_t *)y->data + yoff;
            kiln_igemm(mg, g.out_size, kdim, &op_w, &op_x, dst, g.out_size, 0, gs);
            if (!rq)
                continue;
            struct requant qg = q;
            qg.sa += gi * mg * q.sa_st;
            qg.bias = bias ? bias + gi * mg : NULL;
            rq(&qg, acc, mg, g.out_size, (char *)y->data + yoff);
        }
}

static void kiln_k_conv_integer(const struct kiln_kernel_args *a)
{
    qconv(a, NULL);
}

/* QLinear kernels per output type. */
#define QLINEAR_DEFINE(sfx, DT, T, LO, HI)                                                     \
    static void kiln_k_qlinear_matmul_##sfx(const struct kiln_kernel_args *a)                  \
    {                                                                                          \
        qmatmul(a, requant_##sfx);                                                             \
    }                                                                                          \
    static void kiln_k_qlinear_conv_##sfx(const struct kiln_kernel_args *a)                    \
    {                                                                                          \
        qconv(a, requant_##sfx);                                                               \
    }
QUANT_TYPES(QLINEAR_DEFINE)

#define REG_Q(sfx, DT, ...) KILN_K(kiln_k_quantize_linear_##sfx, DT),
#define REG_DQ(sfx, DT, ...) KILN_K(kiln_k_dequantize_linear_##sfx, DT),
KILN_KERNELS(quantize_linear, QDQ_TYPES(REG_Q));
#define REG_DQ8(sfx, DT) KILN_K(kiln_k_dequantize_linear_##sfx, DT),
KILN_KERNELS(dequantize_linear,
             QDQ_TYPES(REG_DQ) F8_TYPES(REG_DQ8) KILN_K(kiln_k_dequantize_linear_i32, I32));
KILN_KERNELS(dynamic_quantize_linear, KILN_K(kiln_k_dynamic_quantize_linear_f32, F32));
/* int32 results: the operands' types (uint8/int8, mixed) are read from the tensors */
KILN_KERNELS(matmul_integer, KILN_K(kiln_k_matmul_integer, I32));
KILN_KERNELS(conv_integer, KILN_K(kiln_k_conv_integer, I32));
KILN_KERNELS(qlinear_matmul, KILN_K(kiln_k_qlinear_matmul_u8, U8),
             KILN_K(kiln_k_qlinear_matmul_i8, I8));
KILN_KERNELS(qlinear_conv, KILN_K(kiln_k_qlinear_conv_u8, U8),
             KILN_K(kiln_k_qlinear_conv_i8, I8));
