/* test_quant.c - the quantized ops (QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear,
 * MatMulInteger, QLinearMatMul, ConvInteger, QLinearConv): hand-checked values (rounding ties,
 * saturation, per-axis parameters), the integer products against naive loops written here
 * (including GEMM block edges, groups, padding, per-channel zero points, int8/uint8 mixes), and
 * inference errors. Each case is a one-node graph through kiln_infer + kiln_lower + kiln_run. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "compiler.h"
#include "graph_harness.h"

/* ---- one-node graph harness (graph_harness.h) and its scalar/vector shorthands ---- */

/* A scalar input (rank 0). */
static void tg_scalar(struct tg *t, uint32_t i, int dtype, const void *data, int runtime)
{
    tg_in(t, i, dtype, 0, NULL, data, runtime);
}

static void tg_vec(struct tg *t, uint32_t i, int dtype, int64_t len, const void *data,
                   int runtime)
{
    tg_in(t, i, dtype, 1, (int64_t[]){len}, data, runtime);
}

/* Expects inference to fail with st and a message containing part. */
static void expect_error(struct tg *t, enum kiln_status st, const char *part)
{
    assert_int_equal(tg_run(t, NULL, NULL), st);
    if (!strstr(t->d.message, part))
        fail_msg("message '%s' lacks '%s'", t->d.message, part);
    tg_free(t);
}

static void expect_i32(const int32_t *got, const int32_t *want, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i])
            fail_msg("element %zu: got %d, want %d", i, got[i], want[i]);
}

/* Compares 8-bit outputs as ints (dtype says how to read both). */
static void expect_q8(const void *got, const int32_t *want, size_t n, int is_signed)
{
    for (size_t i = 0; i < n; i++) {
        int32_t g = is_signed ? ((const int8_t *)got)[i] : ((const uint8_t *)got)[i];
        if (g != want[i])
            fail_msg("element %zu: got %d, want %d", i, g, want[i]);
    }
}

static void fill_bytes(uint8_t *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (uint8_t)(seed >> 16);
    }
}

static int32_t q8(const void *p, int64_t i, int is_signed)
{
    return is_signed ? ((const int8_t *)p)[i] : ((const uint8_t *)p)[i];
}

/* The reference's requantization: rint(acc * (sa * sb / sy)) + zy, saturated. */
static int32_t requant_ref(int64_t acc, float sa, float sb, float sy, int32_t zy, int is_signed)
{
    double v = rint((double)acc * (double)(sa * sb / sy)) + zy;
    double lo = is_signed ? -128 : 0, hi = is_signed ? 127 : 255;
    return (int32_t)(v < lo ? lo : v > hi ? hi : v);
}

/* ---- QuantizeLinear ---- */

static void test_quantize_per_tensor(void **state)
{
    (void)state;
    /* the ONNX example: saturation at both ends, 1.5 rounds to 2 */
    static const float x[] = {0, 2, 3, 1000, -254, -1000};
    static const float s = 2.0f;
    static const uint8_t z = 128;
    uint8_t y[6];
    struct tg *t = tg_new("QuantizeLinear", 13, 3, 1);
    tg_vec(t, 0, KILN_DTYPE_F32, 6, x, 1);
    tg_scalar(t, 1, KILN_DTYPE_F32, &s, 0);
    tg_scalar(t, 2, KILN_DTYPE_U8, &z, 1);
    assert_int_equal(tg_run(t, y, NULL), KILN_STATUS_OK);
    assert_int_equal(t->n->out[0]->dtype, KILN_DTYPE_U8);
    expect_q8(y, (int32_t[]){128, 129, 130, 255, 1, 0}, 6, 0);
    tg_free(t);

    /* int8, ties to even in both directions, opset 10 */
    static const float xt[] = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 200, -200, 3.49f};
    static const float one = 1.0f;
    static const int8_t z0 = 0;
    int8_t yt[9];
    t = tg_new("QuantizeLinear", 10, 3, 1);
    tg_vec(t, 0, KILN_DTYPE_F32, 9, xt, 1);
    tg_scalar(t, 1, KILN_DTYPE_F32, &one, 1);
    tg_scalar(t, 2, KILN_DTYPE_I8, &z0, 0);
    assert_int_equal(tg_run(t, yt, NULL), KILN_STATUS_OK);
    expect_q8(yt, (int32_t[]){0, 2, 2, 0, -2, -2, 127, -128, 3}, 9, 1);
    tg_free(t);

    /* no zero point: uint8 with zero point 0; int32 input */
    static const int32_t xi[] = {-7, 0, 7, 9, 11, 4000};
    static const float four = 4.0f;
    uint8_t yi[6];
    t = tg_new("QuantizeLinear", 13, 2, 1);
    tg_vec(t, 0, KILN_DTYPE_I32, 6, xi, 1);
    tg_scalar(t, 1, KILN_DTYPE_F32, &four, 0);
    assert_int_equal(tg_run(t, yi, NULL), KILN_STATUS_OK);
    assert_int_equal(t->n->out[0]->dtype, KILN_DTYPE_U8);
    /* -1.75 -> -2 -> 0, 1.75 -> 2, 2.25 -> 2, 2.75 -> 3, 1000 */
    expect_q8(yi, (int32_t[]){0, 0, 2, 2, 3, 255}, 6, 0);
    tg_free(t);
}

static void test_quantize_per_axis(void **state)
{
    (void)state;
    /* x [2, 3, 2], axis 1: channel c uses scale s[c], zero point z[c] */
    float x[12];
    for (int i = 0; i < 12; i++)
        x[i] = (float)(i * 10 - 50);
    static const float s[] = {1.0f, 2.0f, 4.0f};
    static const int8_t z[] = {0, 10, -20};
    int8_t y[12];
    int32_t want[12];
    for (int i = 0; i < 12; i++) {
        int c = (i / 2) % 3;
        double v = rint((double)(x[i] / s[c])) + z[c];
        want[i] = (int32_t)(v < -128 ? -128 : v > 127 ? 127 : v);
    }
    struct tg *t = tg_new("QuantizeLinear", 13, 3, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 3, (int64_t[]){2, 3, 2}, x, 1);
    tg_vec(t, 1, KILN_DTYPE_F32, 3, s, 0);
    tg_vec(t, 2, KILN_DTYPE_I8, 3, z, 0);
    assert_int_equal(tg_run(t, y, NULL), KILN_STATUS_OK);
    expect_q8(y, want, 12, 1);
    /* hand-checked corners: x[0] = -50 / 1 -> -50; x[11] = 60 / 4 - 20 = -5 */
    assert_int_equal(y[0], -50);
    assert_int_equal(y[11], -5);
    tg_free(t);

    /* negative axis: the same with axis -2 */
    t = tg_new("QuantizeLinear", 13, 3, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 3, (int64_t[]){2, 3, 2}, x, 1);
    tg_vec(t, 1, KILN_DTYPE_F32, 3, s, 1);
    tg_vec(t, 2, KILN_DTYPE_I8, 3, z, 1);
    tg_int(t, "axis", -2);
    memset(y, 0, sizeof y);
    assert_int_equal(tg_run(t, y, NULL), KILN_STATUS_OK);
    expect_q8(y, want, 12, 1);
    tg_free(t);
}

/* ---- DequantizeLinear ---- */

static void test_dequantize(void **state)
{
    (void)state;
    static const uint8_t x[] = {0, 3, 128, 255};
    static const float s = 2.0f;
    static const uint8_t z = 128;
    float y[4];
    struct tg *t = tg_new("DequantizeLinear", 10, 3, 1);
    tg_vec(t, 0, KILN_DTYPE_U8, 4, x, 1);
    tg_scalar(t, 1, KILN_DTYPE_F32, &s, 1);
    tg_scalar(t, 2, KILN_DTYPE_U8, &z, 1);
    assert_int_equal(tg_run(t, y, NULL), KILN_STATUS_OK);
    assert_true(y[0] == -256.0f && y[1] == -250.0f && y[2] == 0.0f && y[3] == 254.0f);
    tg_free(t);

    /* per axis, int8, axis 0 of [2, 2] */
    static const int8_t xa[] = {-128, 127, 5, -5};
    static const float sa[] = {0.5f, 3.0f};
    static const int8_t za[] = {-128, 1};
    t = tg_new("DequantizeLinear", 13, 3, 1);
    tg_in(t, 0, KILN_DTYPE_I8, 2, (int64_t[]){2, 2}, xa, 1);
    tg_vec(t, 1, KILN_DTYPE_F32, 2, sa, 0);
    tg_vec(t, 2, KILN_DTYPE_I8, 2, za, 0);
    tg_int(t, "axis", 0);
    assert_int_equal(tg_run(t, y, NULL), KILN_STATUS_OK);
    assert_true(y[0] == 0.0f && y[1] == 127.5f && y[2] == 12.0f && y[3] == -18.0f);
    tg_free(t);

    /* int32 without a zero point (bias dequantization) */
    static const int32_t xi[] = {-1000000, 3};
    static const float si = 0.25f;
    t = tg_new("DequantizeLinear", 13, 2, 1);
    tg_vec(t, 0, KILN_DTYPE_I32, 2, xi, 1);
    tg_scalar(t, 1, KILN_DTYPE_F32, &si, 0);
    assert_int_equal(tg_run(t, y, NULL), KILN_STATUS_OK);
    assert_true(y[0] == -250000.0f && y[1] == 0.75f);
    tg_free(t);
}

/* ---- DynamicQuantizeLinear ---- */

static void test_dynamic_quantize(void **state)
{
    (void)state;
    /* the ONNX example: range [-3, 2], scale 5/255, zero point 153 */
    static const float x[] = {0, 2, -3, -2.5f, 1.34f, 0.5f};
    uint8_t y[6], zp = 0;
    float scale = 0;
    struct tg *t = tg_new("DynamicQuantizeLinear", 11, 1, 3);
    tg_vec(t, 0, KILN_DTYPE_F32, 6, x, 1);
    assert_int_equal(tg_run3(t, y, &scale, &zp), KILN_STATUS_OK);
    assert_float_equal(scale, 5.0f / 255.0f, 1e-9);
    assert_int_equal(zp, 153);
    expect_q8(y, (int32_t[]){153, 255, 0, 26, 221, 179}, 6, 0);
    tg_free(t);

    /* all positive: the range still includes 0, so the zero point is 0 */
    static const float xp[] = {1, 2, 3, 8}; /* x * 255/8: 31.875, 63.75, 95.625, 255 */
    t = tg_new("DynamicQuantizeLinear", 11, 1, 3);
    tg_vec(t, 0, KILN_DTYPE_F32, 4, xp, 1);
    assert_int_equal(tg_run3(t, y, &scale, &zp), KILN_STATUS_OK);
    assert_float_equal(scale, 8.0f / 255.0f, 1e-9);
    assert_int_equal(zp, 0);
    expect_q8(y, (int32_t[]){32, 64, 96, 255}, 4, 0);
    tg_free(t);
}

/* ---- MatMulInteger, QLinearMatMul ---- */

static void test_matmul_integer_by_hand(void **state)
{
    (void)state;
    /* the ONNX example: A [4, 3] with zero point 12, B [3, 2] with zero point 0 */
    static const uint8_t a[] = {11, 7, 3, 10, 6, 2, 9, 5, 1, 8, 4, 0};
    static const uint8_t b[] = {1, 4, 2, 5, 3, 6};
    static const uint8_t za = 12, zb = 0;
    int32_t y[8];
    struct tg *t = tg_new("MatMulInteger", 10, 4, 1);
    tg_in(t, 0, KILN_DTYPE_U8, 2, (int64_t[]){4, 3}, a, 1);
    tg_in(t, 1, KILN_DTYPE_U8, 2, (int64_t[]){3, 2}, b, 0);
    tg_scalar(t, 2, KILN_DTYPE_U8, &za, 1);
    tg_vec(t, 3, KILN_DTYPE_U8, 1, &zb, 0);
    assert_int_equal(tg_run(t, y, NULL), KILN_STATUS_OK);
    assert_int_equal(t->n->out[0]->dtype, KILN_DTYPE_I32);
    expect_i32(y, (int32_t[]){-38, -83, -44, -98, -50, -113, -56, -128}, 8);
    tg_free(t);
}

/* MatMulInteger against naive loops: int8 A with a zero point per row, uint8 B with one per
 * column, sizes that cross the GEMM's blocks (MC 64, KC 256, NR 8) and an unbatched B under a
 * batched A. */
static void test_matmul_integer_vs_naive(void **state)
{
    (void)state;
    const int64_t BA = 2, M = 70, K = 300, N = 19;
    uint8_t *a = malloc((size_t)(BA * M * K)), *b = malloc((size_t)(K * N));
    uint8_t za[70], zb[19];
    fill_bytes(a, (size_t)(BA * M * K), 1);
    fill_bytes(b, (size_t)(K * N), 2);
    fill_bytes(za, sizeof za, 3);
    fill_bytes(zb, sizeof zb, 4);
    int32_t *y = calloc((size_t)(BA * M * N), sizeof *y);
    struct tg *t = tg_new("MatMulInteger", 10, 4, 1);
    tg_in(t, 0, KILN_DTYPE_I8, 3, (int64_t[]){BA, M, K}, a, 1);
    tg_in(t, 1, KILN_DTYPE_U8, 2, (int64_t[]){K, N}, b, 1);
    tg_vec(t, 2, KILN_DTYPE_I8, M, za, 1);
    tg_vec(t, 3, KILN_DTYPE_U8, N, zb, 0);
    assert_int_equal(tg_run(t, y, NULL), KILN_STATUS_OK);
    for (int64_t bi = 0; bi < BA; bi++)
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                int32_t acc = 0;
                for (int64_t k = 0; k < K; k++)
                    acc += (q8(a, (bi * M + i) * K + k, 1) - q8(za, i, 1)) *
                           (q8(b, k * N + j, 0) - q8(zb, j, 0));
                if (y[(bi * M + i) * N + j] != acc)
                    fail_msg("y[%lld,%lld,%lld] = %d, want %d", (long long)bi, (long long)i,
                             (long long)j, y[(bi * M + i) * N + j], acc);
            }
    tg_free(t);
    free(a);
    free(b);
    free(y);
}

static void test_qlinear_matmul(void **state)
{
    (void)state;
    /* the ONNX example (2-D) */
    static const uint8_t a[] = {208, 236, 0, 238, 3, 214, 255, 29};
    static const uint8_t b[] = {152, 51, 244, 60, 26, 255, 0, 127, 246, 127, 254, 247};
    static const float as = 0.0066f, bs = 0.00705f, ys = 0.0107f;
    static const uint8_t az = 113, bz = 114, yz = 118;
    uint8_t y[6];
    struct tg *t = tg_new("QLinearMatMul", 10, 8, 1);
    tg_in(t, 0, KILN_DTYPE_U8, 2, (int64_t[]){2, 4}, a, 1);
    tg_vec(t, 1, KILN_DTYPE_F32, 1, &as, 1);
    tg_vec(t, 2, KILN_DTYPE_U8, 1, &az, 1);
    tg_in(t, 3, KILN_DTYPE_U8, 2, (int64_t[]){4, 3}, b, 0);
    tg_vec(t, 4, KILN_DTYPE_F32, 1, &bs, 0);
    tg_vec(t, 5, KILN_DTYPE_U8, 1, &bz, 0);
    tg_scalar(t, 6, KILN_DTYPE_F32, &ys, 1);
    tg_scalar(t, 7, KILN_DTYPE_U8, &yz, 1);
    assert_int_equal(tg_run(t, y, NULL), KILN_STATUS_OK);
    expect_q8(y, (int32_t[]){168, 115, 255, 1, 66, 151}, 6, 0);
    tg_free(t);

    /* int8 output, uint8 A, int8 B with per-column scales and zero points, batched */
    const int64_t BT = 3, M = 5, K = 7, N = 4;
    uint8_t qa[105], qb[84], qaz = 100;
    int8_t qbz[4] = {-3, 0, 7, 1}, qyz = -10;
    static const float qbs[4] = {0.01f, 0.02f, 0.005f, 0.03f};
    static const float qas = 0.05f, qys = 0.2f;
    fill_bytes(qa, sizeof qa, 5);
    fill_bytes(qb, sizeof qb, 6);
    int8_t qy[60];
    t = tg_new("QLinearMatMul", 10, 8, 1);
    tg_in(t, 0, KILN_DTYPE_U8, 3, (int64_t[]){BT, M, K}, qa, 1);
    tg_scalar(t, 1, KILN_DTYPE_F32, &qas, 0);
    tg_scalar(t, 2, KILN_DTYPE_U8, &qaz, 0);
    tg_in(t, 3, KILN_DTYPE_I8, 3, (int64_t[]){BT, K, N}, qb, 1);
    tg_vec(t, 4, KILN_DTYPE_F32, N, qbs, 0);
    tg_vec(t, 5, KILN_DTYPE_I8, N, qbz, 0);
    tg_scalar(t, 6, KILN_DTYPE_F32, &qys, 0);
    tg_scalar(t, 7, KILN_DTYPE_I8, &qyz, 0);
    assert_int_equal(tg_run(t, qy, NULL), KILN_STATUS_OK);
    assert_int_equal(t->n->out[0]->dtype, KILN_DTYPE_I8);
    int32_t want[60];
    for (int64_t bi = 0; bi < BT; bi++)
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                int64_t acc = 0;
                for (int64_t k = 0; k < K; k++)
                    acc += (int64_t)(q8(qa, (bi * M + i) * K + k, 0) - qaz) *
                           (q8(qb, (bi * K + k) * N + j, 1) - qbz[j]);
                want[(bi * M + i) * N + j] = requant_ref(acc, qas, qbs[j], qys, qyz, 1);
            }
    expect_q8(qy, want, 60, 1);
    tg_free(t);
}

/* ---- ConvInteger, QLinearConv ---- */

struct conv_case {
    int64_t n, c, h, w, m, kh, kw, group, stride, pad, dil;
    int x_signed, w_signed;
};

/* Naive integer conv: acc[n, m, oh, ow] with zero points subtracted (padding contributes 0). */
static int64_t naive_conv(const struct conv_case *k, const uint8_t *x, int32_t xz,
                          const uint8_t *w, const int32_t *wz, int64_t n, int64_t m, int64_t oh,
                          int64_t ow)
{
    int64_t cg = k->c / k->group, mg = k->m / k->group, gi = m / mg, acc = 0;
    for (int64_t ci = 0; ci < cg; ci++)
        for (int64_t i = 0; i < k->kh; i++)
            for (int64_t j = 0; j < k->kw; j++) {
                int64_t ih = oh * k->stride - k->pad + i * k->dil;
                int64_t iw = ow * k->stride - k->pad + j * k->dil;
                if (ih < 0 || ih >= k->h || iw < 0 || iw >= k->w)
                    continue;
                int64_t c = gi * cg + ci;
                int32_t xv = q8(x, ((n * k->c + c) * k->h + ih) * k->w + iw, k->x_signed) - xz;
                int32_t wv = q8(w, ((m * cg + ci) * k->kh + i) * k->kw + j, k->w_signed) - wz[m];
                acc += (int64_t)xv * wv;
            }
    return acc;
}

static int64_t conv_out(const struct conv_case *k, int64_t in, int64_t kern)
{
    return (in + 2 * k->pad - (kern - 1) * k->dil - 1) / k->stride + 1;
}

static void conv_attrs(struct tg *t, const struct conv_case *k, int64_t *ints)
{
    ints[0] = ints[1] = k->stride;
    ints[2] = ints[3] = k->dil;
    for (int i = 4; i < 8; i++)
        ints[i] = k->pad;
    tg_ints(t, "strides", 2, ints);
    tg_ints(t, "dilations", 2, ints + 2);
    tg_ints(t, "pads", 4, ints + 4);
    tg_int(t, "group", k->group);
}

static void run_conv_case(const struct conv_case *k, int qlinear)
{
    int64_t oh = conv_out(k, k->h, k->kh), ow = conv_out(k, k->w, k->kw);
    size_t nx = (size_t)(k->n * k->c * k->h * k->w);
    size_t nw = (size_t)(k->m * (k->c / k->group) * k->kh * k->kw);
    size_t ny = (size_t)(k->n * k->m * oh * ow);
    uint8_t *x = malloc(nx), *w = malloc(nw), xz = k->x_signed ? 0xfb : 131; /* -5 or 131 */
    uint8_t wzb[16];
    int32_t wz[16], bias[16];
    float ws[16];
    fill_bytes(x, nx, 7);
    fill_bytes(w, nw, 8);
    fill_bytes(wzb, sizeof wzb, 9);
    for (int64_t m = 0; m < k->m; m++) {
        wz[m] = q8(wzb, m, k->w_signed);
        ws[m] = 0.001f * (float)(m + 1);
        bias[m] = (int32_t)(m * 1000 - 3000);
    }
    const float xs = 0.05f, ys = 0.25f;
    const uint8_t yz = 120;
    int64_t wdims[4] = {k->m, k->c / k->group, k->kh, k->kw}, ints[8];
    int xdt = k->x_signed ? KILN_DTYPE_I8 : KILN_DTYPE_U8;
    int wdt = k->w_signed ? KILN_DTYPE_I8 : KILN_DTYPE_U8;
    void *y = calloc(ny, 4);
    struct tg *t;
    if (qlinear) {
        t = tg_new("QLinearConv", 10, 9, 1);
        tg_in(t, 0, xdt, 4, (int64_t[]){k->n, k->c, k->h, k->w}, x, 1);
        tg_scalar(t, 1, KILN_DTYPE_F32, &xs, 1);
        tg_scalar(t, 2, xdt, &xz, 1);
        tg_in(t, 3, wdt, 4, wdims, w, 0);
        tg_vec(t, 4, KILN_DTYPE_F32, k->m, ws, 0);
        tg_vec(t, 5, wdt, k->m, wzb, 0);
        tg_scalar(t, 6, KILN_DTYPE_F32, &ys, 0);
        tg_scalar(t, 7, KILN_DTYPE_U8, &yz, 0);
        tg_vec(t, 8, KILN_DTYPE_I32, k->m, bias, 0);
    } else {
        t = tg_new("ConvInteger", 10, 4, 1);
        tg_in(t, 0, xdt, 4, (int64_t[]){k->n, k->c, k->h, k->w}, x, 1);
        tg_in(t, 1, wdt, 4, wdims, w, 1);
        tg_scalar(t, 2, xdt, &xz, 1);
        tg_vec(t, 3, wdt, k->m, wzb, 1);
    }
    conv_attrs(t, k, ints);
    assert_int_equal(tg_run(t, y, NULL), KILN_STATUS_OK);
    assert_int_equal(t->n->out[0]->dims[2], oh);
    assert_int_equal(t->n->out[0]->dims[3], ow);
    int32_t xzv = q8(&xz, 0, k->x_signed);
    for (int64_t n = 0; n < k->n; n++)
        for (int64_t m = 0; m < k->m; m++)
            for (int64_t i = 0; i < oh; i++)
                for (int64_t j = 0; j < ow; j++) {
                    int64_t idx = ((n * k->m + m) * oh + i) * ow + j;
                    int64_t acc = naive_conv(k, x, xzv, w, wz, n, m, i, j);
                    int32_t want = qlinear ? requant_ref(acc + bias[m], ws[m], xs, ys, yz, 0)
                                           : (int32_t)acc;
                    int32_t got = qlinear ? ((uint8_t *)y)[idx] : ((int32_t *)y)[idx];
                    if (got != want)
                        fail_msg("%s y[%lld] = %d, want %d",
                                 qlinear ? "QLinearConv" : "ConvInteger", (long long)idx, got,
                                 want);
                }
    tg_free(t);
    free(x);
    free(w);
    free(y);
}

static const struct conv_case conv_cases[] = {
    /* n  c  h  w  m kh kw  g  s  p  d  xs ws */
    {1, 1, 3, 3, 1, 2, 2, 1, 1, 0, 1, 0, 0},
    {1, 1, 3, 3, 1, 2, 2, 1, 1, 1, 1, 0, 0}, /* padding takes x's zero point */
    {2, 4, 7, 6, 6, 3, 3, 2, 2, 1, 1, 1, 1}, /* groups, stride, int8 */
    {1, 3, 9, 9, 4, 3, 2, 1, 1, 2, 2, 0, 1}, /* dilation, uint8 x, int8 w */
    {1, 8, 5, 5, 16, 1, 1, 1, 1, 0, 1, 1, 0}, /* pointwise: no im2col */
};

static void test_conv_integer(void **state)
{
    (void)state;
    /* the ONNX example with padding: x 1..9 with zero point 1, w all ones, pads 1 */
    static const uint8_t x[] = {2, 3, 4, 5, 6, 7, 8, 9, 10};
    static const uint8_t w[] = {1, 1, 1, 1};
    static const uint8_t xz = 1;
    static const int64_t pads[] = {1, 1, 1, 1};
    int32_t y[16];
    struct tg *t = tg_new("ConvInteger", 10, 3, 1);
    tg_in(t, 0, KILN_DTYPE_U8, 4, (int64_t[]){1, 1, 3, 3}, x, 1);
    tg_in(t, 1, KILN_DTYPE_U8, 4, (int64_t[]){1, 1, 2, 2}, w, 1);
    tg_scalar(t, 2, KILN_DTYPE_U8, &xz, 1);
    tg_ints(t, "pads", 4, pads);
    assert_int_equal(tg_run(t, y, NULL), KILN_STATUS_OK);
    expect_i32(y, (int32_t[]){1, 3, 5, 3, 5, 12, 16, 9, 11, 24, 28, 15, 7, 15, 17, 9}, 16);
    tg_free(t);
    for (size_t i = 0; i < sizeof conv_cases / sizeof conv_cases[0]; i++)
        run_conv_case(&conv_cases[i], 0);
}

static void test_qlinear_conv(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof conv_cases / sizeof conv_cases[0]; i++)
        run_conv_case(&conv_cases[i], 1);
}

/* ---- inference errors ---- */

static void test_errors(void **state)
{
    (void)state;
    static const float x[6] = {0}, s3[3] = {1, 1, 1}, s2[2] = {1, 1};
    static const uint8_t z3[3] = {0}, u8s[16] = {0};
    static const float fz = 0;
    /* per-axis scale whose length is not the axis' */
    struct tg *t = tg_new("QuantizeLinear", 13, 3, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){2, 3}, x, 1);
    tg_vec(t, 1, KILN_DTYPE_F32, 2, s2, 0);
    expect_error(t, KILN_STATUS_INVALID_MODEL, "vector of 3 values");
    /* zero point and scale of different sizes */
    t = tg_new("QuantizeLinear", 13, 3, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){2, 3}, x, 1);
    tg_vec(t, 1, KILN_DTYPE_F32, 3, s3, 0);
    tg_scalar(t, 2, KILN_DTYPE_U8, z3, 0);
    expect_error(t, KILN_STATUS_INVALID_MODEL, "different sizes");
    /* opset 10 has no per-axis form */
    t = tg_new("DequantizeLinear", 10, 3, 1);
    tg_in(t, 0, KILN_DTYPE_U8, 2, (int64_t[]){2, 3}, z3, 1);
    tg_vec(t, 1, KILN_DTYPE_F32, 3, s3, 0);
    expect_error(t, KILN_STATUS_INVALID_MODEL, "must be a scalar");
    /* float zero point */
    t = tg_new("QuantizeLinear", 13, 3, 1);
    tg_vec(t, 0, KILN_DTYPE_F32, 6, x, 1);
    tg_scalar(t, 1, KILN_DTYPE_F32, s3, 0);
    tg_scalar(t, 2, KILN_DTYPE_F32, &fz, 0);
    expect_error(t, KILN_STATUS_INVALID_MODEL, "float32");
    /* zero point of another type than the input */
    t = tg_new("DequantizeLinear", 13, 3, 1);
    tg_vec(t, 0, KILN_DTYPE_U8, 3, z3, 1);
    tg_scalar(t, 1, KILN_DTYPE_F32, s3, 0);
    tg_scalar(t, 2, KILN_DTYPE_I8, z3, 0);
    expect_error(t, KILN_STATUS_INVALID_MODEL, "expected uint8");
    /* float operand to MatMulInteger */
    t = tg_new("MatMulInteger", 10, 2, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){2, 3}, x, 1);
    tg_in(t, 1, KILN_DTYPE_U8, 2, (int64_t[]){3, 1}, z3, 1);
    expect_error(t, KILN_STATUS_INVALID_MODEL, "float32");
    /* per-row zero point of the wrong length */
    t = tg_new("MatMulInteger", 10, 3, 1);
    tg_in(t, 0, KILN_DTYPE_U8, 2, (int64_t[]){2, 3}, u8s, 1);
    tg_in(t, 1, KILN_DTYPE_U8, 2, (int64_t[]){3, 1}, u8s, 1);
    tg_vec(t, 2, KILN_DTYPE_U8, 3, z3, 0);
    expect_error(t, KILN_STATUS_INVALID_MODEL, "one per row of A");
    /* QLinearConv: per-channel x scale, int8 bias */
    for (int which = 0; which < 2; which++) {
        t = tg_new("QLinearConv", 10, 9, 1);
        tg_in(t, 0, KILN_DTYPE_U8, 4, (int64_t[]){1, 2, 2, 2}, u8s, 1);
        if (which == 0)
            tg_vec(t, 1, KILN_DTYPE_F32, 2, s2, 0);
        else
            tg_scalar(t, 1, KILN_DTYPE_F32, s2, 0);
        tg_scalar(t, 2, KILN_DTYPE_U8, u8s, 0);
        tg_in(t, 3, KILN_DTYPE_U8, 4, (int64_t[]){3, 2, 1, 1}, u8s, 0);
        tg_vec(t, 4, KILN_DTYPE_F32, 3, s3, 0);
        tg_vec(t, 5, KILN_DTYPE_U8, 3, z3, 0);
        tg_scalar(t, 6, KILN_DTYPE_F32, s3, 0);
        tg_scalar(t, 7, KILN_DTYPE_U8, u8s, 0);
        tg_vec(t, 8, which == 0 ? KILN_DTYPE_I32 : KILN_DTYPE_I8, 3, u8s, 0);
        expect_error(t, KILN_STATUS_INVALID_MODEL, which == 0 ? "must be a scalar" : "int32");
    }
    /* ConvInteger channel mismatch */
    t = tg_new("ConvInteger", 10, 2, 1);
    tg_in(t, 0, KILN_DTYPE_U8, 4, (int64_t[]){1, 2, 2, 2}, u8s, 1);
    tg_in(t, 1, KILN_DTYPE_U8, 4, (int64_t[]){1, 3, 1, 1}, u8s, 1);
    expect_error(t, KILN_STATUS_INVALID_MODEL, "input channels");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quantize_per_tensor),
        cmocka_unit_test(test_quantize_per_axis),
        cmocka_unit_test(test_dequantize),
        cmocka_unit_test(test_dynamic_quantize),
        cmocka_unit_test(test_matmul_integer_by_hand),
        cmocka_unit_test(test_matmul_integer_vs_naive),
        cmocka_unit_test(test_qlinear_matmul),
        cmocka_unit_test(test_conv_integer),
        cmocka_unit_test(test_qlinear_conv),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
