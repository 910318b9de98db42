/* test_nn.c - the neural-network ops (Conv, Gemm, MatMul, pools, BatchNormalization, Softmax
 * family) and the fused activation helper: small hand-checked cases, convs against a naive
 * direct loop, GEMM block edges, and inference errors. Each case builds a one-node graph and
 * goes through kiln_infer + kiln_lower + kiln_run like a real model. */
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
#include "kernels/act.h"
#include "kernels/nn.h"

#include "graph_harness.h"

/* ---- activation helper ---- */

static void test_act(void **state)
{
    (void)state;
    struct kiln_act a = {KILN_ACT_NONE, 0, 0, 0};
    assert_true(kiln_act_apply(&a, -3.0f) == -3.0f);
    a.kind = KILN_ACT_RELU;
    assert_true(kiln_act_apply(&a, -3.0f) == 0.0f && kiln_act_apply(&a, 2.5f) == 2.5f);
    a = (struct kiln_act){KILN_ACT_CLIP, 0.0f, 6.0f, 0};
    assert_true(kiln_act_apply(&a, -1.0f) == 0.0f && kiln_act_apply(&a, 7.0f) == 6.0f &&
                kiln_act_apply(&a, 3.0f) == 3.0f);
    a = (struct kiln_act){KILN_ACT_LEAKY_RELU, 0.1f, 0, 0};
    assert_float_equal(kiln_act_apply(&a, -2.0f), -0.2f, 1e-7);
    assert_float_equal(kiln_act_apply(&a, 2.0f), 2.0f, 0);
    a.kind = KILN_ACT_SIGMOID;
    assert_float_equal(kiln_act_apply(&a, 0.0f), 0.5f, 1e-7);
    assert_float_equal(kiln_act_apply(&a, 2.0f), 0.880797f, 1e-6);
    a.kind = KILN_ACT_TANH;
    assert_float_equal(kiln_act_apply(&a, 1.0f), 0.761594f, 1e-6);
    a = (struct kiln_act){KILN_ACT_HARD_SIGMOID, 0.2f, 0.5f, 0};
    assert_float_equal(kiln_act_apply(&a, 1.0f), 0.7f, 1e-6);
    assert_float_equal(kiln_act_apply(&a, 10.0f), 1.0f, 0);
    assert_float_equal(kiln_act_apply(&a, -10.0f), 0.0f, 0);
    a.kind = KILN_ACT_HARD_SWISH;
    assert_float_equal(kiln_act_apply(&a, 1.0f), 1.0f * (1.0f / 6 + 0.5f), 1e-6);
    assert_float_equal(kiln_act_apply(&a, -4.0f), 0.0f, 0);
    assert_float_equal(kiln_act_apply(&a, 4.0f), 4.0f, 0);
    a.kind = KILN_ACT_SILU;
    assert_float_equal(kiln_act_apply(&a, 1.0f), 0.731059f, 1e-6);
    a.kind = KILN_ACT_GELU;
    assert_float_equal(kiln_act_apply(&a, 1.0f), 0.841345f, 1e-6);
    assert_float_equal(kiln_act_apply(&a, -1.0f), -0.158655f, 1e-6);
}

/* ---- Conv ---- */

/* 3x3 all-ones kernel over a 4x4 ramp, bias 1: each output is its window's sum + 1. */
static void test_conv_3x3_by_hand(void **state)
{
    (void)state;
    float x[16], w[9], b[1] = {1.0f}, y[4];
    for (int i = 0; i < 16; i++)
        x[i] = (float)i;
    for (int i = 0; i < 9; i++)
        w[i] = 1.0f;
    struct tg *t = tg_new("Conv", 13, 3, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 4, (int64_t[]){1, 1, 4, 4}, x, 1);
    tg_in(t, 1, KILN_DTYPE_F32, 4, (int64_t[]){1, 1, 3, 3}, w, 0);
    tg_in(t, 2, KILN_DTYPE_F32, 1, (int64_t[]){1}, b, 0);
    assert_int_equal(tg_run(t, y, NULL), KILN_STATUS_OK);
    assert_dims(t, 0, 4, (int64_t[]){1, 1, 2, 2});
    /* windows: 0+1+2+4+5+6+8+9+10 = 45, 54, 81, 90 */
    assert_close(y, (float[]){46, 55, 82, 91}, 4, 0);
    tg_free(t);
}

struct conv_case {
    int nsp;
    int64_t n, c, m, group;
    int64_t in[3], k[3], s[3], d[3], pb[3], pe[3];
    const char *auto_pad; /* NULL: explicit pads */
    int bias;
    int w_input; /* the weights a graph input instead of a constant (which the compiler packs) */
};

/* Direct loop over a conv with spatial dims padded at the front to three. */
static void naive_conv(const struct conv_case *cc, const int64_t *out, const float *x,
                       const float *w, const float *b, float *y)
{
    int64_t in[3] = {1, 1, 1}, o[3] = {1, 1, 1}, k[3] = {1, 1, 1}, s[3] = {1, 1, 1},
            d[3] = {1, 1, 1}, pb[3] = {0, 0, 0};
    for (int i = 0; i < cc->nsp; i++) {
        int j = 3 - cc->nsp + i;
        in[j] = cc->in[i];
        o[j] = out[i];
        k[j] = cc->k[i];
        s[j] = cc->s[i];
        d[j] = cc->d[i];
        pb[j] = cc->pb[i];
    }
    int64_t cg = cc->c / cc->group, mg = cc->m / cc->group;
    for (int64_t n = 0; n < cc->n; n++)
        for (int64_t m = 0; m < cc->m; m++)
            for (int64_t o0 = 0; o0 < o[0]; o0++)
                for (int64_t o1 = 0; o1 < o[1]; o1++)
                    for (int64_t o2 = 0; o2 < o[2]; o2++) {
                        double acc = b ? b[m] : 0;
                        for (int64_t ci = 0; ci < cg; ci++)
                            for (int64_t k0 = 0; k0 < k[0]; k0++)
                                for (int64_t k1 = 0; k1 < k[1]; k1++)
                                    for (int64_t k2 = 0; k2 < k[2]; k2++) {
                                        int64_t i0 = o0 * s[0] - pb[0] + k0 * d[0];
                                        int64_t i1 = o1 * s[1] - pb[1] + k1 * d[1];
                                        int64_t i2 = o2 * s[2] - pb[2] + k2 * d[2];
                                        if (i0 < 0 || i0 >= in[0] || i1 < 0 || i1 >= in[1] ||
                                            i2 < 0 || i2 >= in[2])
                                            continue;
                                        int64_t c = m / mg * cg + ci;
                                        acc += (double)x[(((n * cc->c + c) * in[0] + i0) * in[1] +
                                                          i1) * in[2] + i2] *
                                               w[(((m * cg + ci) * k[0] + k0) * k[1] + k1) * k[2] +
                                                 k2];
                                    }
                        y[(((n * cc->m + m) * o[0] + o0) * o[1] + o1) * o[2] + o2] = (float)acc;
                    }
}

static void check_conv(const struct conv_case *cc, const int64_t *want_out)
{
    int64_t xd[5] = {cc->n, cc->c}, wd[5] = {cc->m, cc->c / cc->group}, yd[5] = {cc->n, cc->m};
    int64_t pads[6];
    size_t nx = (size_t)(cc->n * cc->c), nw = (size_t)(cc->m * wd[1]), ny = (size_t)(cc->n * cc->m);
    for (int i = 0; i < cc->nsp; i++) {
        xd[2 + i] = cc->in[i];
        wd[2 + i] = cc->k[i];
        yd[2 + i] = want_out[i];
        nx *= (size_t)cc->in[i];
        nw *= (size_t)cc->k[i];
        ny *= (size_t)want_out[i];
        pads[i] = cc->pb[i];
        pads[cc->nsp + i] = cc->pe[i];
    }
    float *x = rnd(nx, 1), *w = rnd(nw, 2), *b = rnd((size_t)cc->m, 3);
    float *y = malloc(ny * sizeof *y), *ref = malloc(ny * sizeof *ref);
    struct tg *t = tg_new("Conv", 11, cc->bias ? 3 : 2, 1);
    int rank = cc->nsp + 2;
    tg_in(t, 0, KILN_DTYPE_F32, rank, xd, x, 1);
    tg_in(t, 1, KILN_DTYPE_F32, rank, wd, w, cc->w_input);
    if (cc->bias)
        tg_in(t, 2, KILN_DTYPE_F32, 1, &cc->m, b, 0);
    tg_ints(t, "strides", (size_t)cc->nsp, cc->s);
    tg_ints(t, "dilations", (size_t)cc->nsp, cc->d);
    tg_int(t, "group", cc->group);
    if (cc->auto_pad)
        tg_str(t, "auto_pad", cc->auto_pad);
    else
        tg_ints(t, "pads", (size_t)(2 * cc->nsp), pads);
    assert_int_equal(tg_run(t, y, NULL), KILN_STATUS_OK);
    assert_dims(t, 0, rank, yd);
    /* constant weights run packed, but not a depthwise conv's nor those the direct kernel
     * (conv_dw.c) reads plain */
    bool direct = wd[1] == 1 && (uint64_t)(cc->m / cc->group) <= KILN_CONV_DIRECT_MAX_MG;
    assert_int_equal(t->variant0 >= 2,
                     !cc->w_input && (wd[1] > 1 || cc->group == 1) && !direct);
    naive_conv(cc, want_out, x, w, cc->bias ? b : NULL, ref);
    assert_close(y, ref, ny, 1e-4f);
    tg_free(t);
    free(x), free(w), free(b), free(y), free(ref);
}

static void test_conv_vs_naive(void **state)
{
    (void)state;
    /* strided, padded (asymmetric), dilated 2-D with a bias */
    check_conv(&(struct conv_case){2, 2, 3, 4, 1, {7, 6}, {3, 2}, {2, 1}, {1, 2}, {1, 0},
                                   {2, 1}, NULL, 1, 0},
               (int64_t[]){4, 5});
    /* grouped: 4 -> 6 channels in 2 groups */
    check_conv(&(struct conv_case){2, 1, 4, 6, 2, {5, 5}, {3, 3}, {1, 1}, {1, 1}, {1, 1},
                                   {1, 1}, NULL, 1, 0},
               (int64_t[]){5, 5});
    /* depthwise with channel multiplier 2, strided */
    check_conv(&(struct conv_case){2, 1, 3, 6, 3, {6, 6}, {3, 3}, {2, 2}, {1, 1}, {1, 1},
                                   {1, 1}, NULL, 0, 0},
               (int64_t[]){3, 3});
    /* pointwise (no im2col) with groups */
    check_conv(&(struct conv_case){2, 2, 4, 4, 2, {3, 5}, {1, 1}, {1, 1}, {1, 1}, {0, 0},
                                   {0, 0}, NULL, 1, 0},
               (int64_t[]){3, 5});
    /* 1-D and 3-D */
    check_conv(&(struct conv_case){1, 1, 2, 3, 1, {10}, {3}, {3}, {2}, {2}, {1}, NULL, 1, 0},
               (int64_t[]){3});
    check_conv(&(struct conv_case){3, 1, 2, 2, 1, {4, 5, 3}, {2, 3, 2}, {1, 2, 1}, {1, 1, 2},
                                   {1, 0, 1}, {0, 1, 1}, NULL, 1, 0},
               (int64_t[]){4, 2, 3});
    /* auto_pad: 4 wide, kernel 2 -> one pad column, at the end (UPPER) or start (LOWER) */
    check_conv(&(struct conv_case){2, 1, 1, 1, 1, {4, 4}, {2, 2}, {1, 1}, {1, 1}, {0, 0},
                                   {1, 1}, "SAME_UPPER", 0, 0},
               (int64_t[]){4, 4});
    check_conv(&(struct conv_case){2, 1, 1, 1, 1, {4, 4}, {2, 2}, {1, 1}, {1, 1}, {1, 1},
                                   {0, 0}, "SAME_LOWER", 0, 0},
               (int64_t[]){4, 4});
    check_conv(&(struct conv_case){2, 1, 1, 2, 1, {5, 5}, {3, 3}, {2, 2}, {1, 1}, {0, 0},
                                   {0, 0}, "VALID", 1, 0},
               (int64_t[]){2, 2});
    /* large enough to cross the GEMM's M, K and N blocks */
    check_conv(&(struct conv_case){2, 1, 40, 70, 1, {33, 33}, {3, 3}, {1, 1}, {1, 1},
                                   {1, 1}, {1, 1}, NULL, 1, 0},
               (int64_t[]){33, 33});
    /* odd channel counts around the packed panels (24 output channels), weights constant
     * (packed) and fed at run time */
    for (int wi = 0; wi < 2; wi++) {
        check_conv(&(struct conv_case){2, 1, 5, 67, 1, {9, 11}, {3, 3}, {1, 1}, {1, 1}, {1, 1},
                                       {1, 1}, NULL, 1, wi},
                   (int64_t[]){9, 11});
        check_conv(&(struct conv_case){2, 2, 6, 50, 2, {7, 5}, {3, 1}, {2, 1}, {1, 1}, {1, 0},
                                       {1, 0}, NULL, wi, wi},
                   (int64_t[]){4, 5});
        check_conv(&(struct conv_case){1, 1, 3, 25, 1, {13}, {1}, {1}, {1}, {0}, {0}, NULL, 1,
                                       wi},
                   (int64_t[]){13});
    }
}

static void test_conv_kernel_shape_and_errors(void **state)
{
    (void)state;
    float x[2 * 16], w[3 * 2 * 9];
    memset(x, 0, sizeof x);
    memset(w, 0, sizeof w);
    /* kernel_shape disagreeing with the weights */
    struct tg *t = tg_new("Conv", 11, 2, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 4, (int64_t[]){1, 2, 4, 4}, x, 1);
    tg_in(t, 1, KILN_DTYPE_F32, 4, (int64_t[]){3, 2, 3, 3}, w, 0);
    tg_ints(t, "kernel_shape", 2, (int64_t[]){2, 2});
    assert_int_equal(tg_run(t, NULL, NULL), KILN_STATUS_INVALID_MODEL);
    assert_string_equal(t->d.node, "node0");
    tg_free(t);
    /* channel mismatch: weights expect 3 input channels, input has 2 */
    t = tg_new("Conv", 11, 2, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 4, (int64_t[]){1, 2, 4, 4}, x, 1);
    tg_in(t, 1, KILN_DTYPE_F32, 4, (int64_t[]){2, 3, 3, 3}, w, 0);
    assert_int_equal(tg_run(t, NULL, NULL), KILN_STATUS_INVALID_MODEL);
    assert_non_null(strstr(t->d.message, "channel mismatch"));
    assert_string_equal(t->d.op, "Conv");
    tg_free(t);
    /* group 2 does not divide the 3 output channels */
    t = tg_new("Conv", 11, 2, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 4, (int64_t[]){1, 2, 4, 4}, x, 1);
    tg_in(t, 1, KILN_DTYPE_F32, 4, (int64_t[]){3, 1, 3, 3}, w, 0);
    tg_int(t, "group", 2);
    assert_int_equal(tg_run(t, NULL, NULL), KILN_STATUS_INVALID_MODEL);
    assert_non_null(strstr(t->d.message, "group"));
    tg_free(t);
    /* group 0 */
    t = tg_new("Conv", 11, 2, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 4, (int64_t[]){1, 2, 4, 4}, x, 1);
    tg_in(t, 1, KILN_DTYPE_F32, 4, (int64_t[]){2, 2, 3, 3}, w, 0);
    tg_int(t, "group", 0);
    assert_int_equal(tg_run(t, NULL, NULL), KILN_STATUS_INVALID_MODEL);
    tg_free(t);
    /* window larger than the input */
    t = tg_new("Conv", 11, 2, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 4, (int64_t[]){1, 2, 2, 2}, x, 1);
    tg_in(t, 1, KILN_DTYPE_F32, 4, (int64_t[]){3, 2, 3, 3}, w, 0);
    assert_int_equal(tg_run(t, NULL, NULL), KILN_STATUS_INVALID_MODEL);
    tg_free(t);
}

/* ---- Gemm, MatMul ---- */

static void naive_gemm(int64_t M, int64_t N, int64_t K, int ta, int tb, float alpha,
                       const float *a, const float *b, float *y)
{
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double acc = 0;
            for (int64_t k = 0; k < K; k++)
                acc += (double)(ta ? a[k * M + i] : a[i * K + k]) *
                       (tb ? b[j * K + k] : b[k * N + j]);
            y[i * N + j] = alpha * (float)acc;
        }
}

static void test_gemm_by_hand(void **state)
{
    (void)state;
    /* A^T with A = [[1,2],[3,4],[5,6]] (3x2, transA): op(A) = [[1,3,5],[2,4,6]];
     * B = I3; C = [10, 20, 30] broadcast over rows; alpha 2, beta 0.5 */
    float a[6] = {1, 2, 3, 4, 5, 6}, b[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1}, c[3] = {10, 20, 30};
    float y[6];
    struct tg *t = tg_new("Gemm", 13, 3, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){3, 2}, a, 1);
    tg_in(t, 1, KILN_DTYPE_F32, 2, (int64_t[]){3, 3}, b, 0);
    tg_in(t, 2, KILN_DTYPE_F32, 1, (int64_t[]){3}, c, 0);
    tg_int(t, "transA", 1);
    tg_float(t, "alpha", 2.0f);
    tg_float(t, "beta", 0.5f);
    assert_int_equal(tg_run(t, y, NULL), KILN_STATUS_OK);
    assert_dims(t, 0, 2, (int64_t[]){2, 3});
    assert_close(y, (float[]){7, 16, 25, 9, 18, 27}, 6, 0);
    tg_free(t);
    /* C of shape [2, 1] broadcast along columns, transB, no alpha */
    float c2[2] = {100, 200}, y2[6];
    t = tg_new("Gemm", 13, 3, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){2, 3}, (float[]){1, 3, 5, 2, 4, 6}, 1);
    tg_in(t, 1, KILN_DTYPE_F32, 2, (int64_t[]){3, 3}, b, 0);
    tg_in(t, 2, KILN_DTYPE_F32, 2, (int64_t[]){2, 1}, c2, 0);
    tg_int(t, "transB", 1);
    assert_int_equal(tg_run(t, y2, NULL), KILN_STATUS_OK);
    assert_close(y2, (float[]){101, 103, 105, 202, 204, 206}, 6, 0);
    tg_free(t);
}

/* Both transposes against the naive product, B a constant (then packed at compile time: the
 * packed kernel variant runs) or a graph input, sizes crossing every block edge and odd ones
 * around the panels; C is a scalar. */
static void test_gemm_blocked(void **state)
{
    (void)state;
    static const int64_t shapes[][3] = {{70, 1030, 300}, {1, 33, 67}, {67, 1, 5}, {25, 67, 1}};
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        const int64_t M = shapes[si][0], N = shapes[si][1], K = shapes[si][2];
        float *a = rnd((size_t)(M * K), 5), *b = rnd((size_t)(K * N), 6), c = 0.25f;
        float *y = malloc((size_t)(M * N) * sizeof *y);
        float *ref = malloc((size_t)(M * N) * sizeof *ref);
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++)
                for (int bin = 0; bin < 2; bin++) {
                    struct tg *t = tg_new("Gemm", 11, 3, 1);
                    tg_in(t, 0, KILN_DTYPE_F32, 2, ta ? (int64_t[]){K, M} : (int64_t[]){M, K}, a,
                          1);
                    tg_in(t, 1, KILN_DTYPE_F32, 2, tb ? (int64_t[]){N, K} : (int64_t[]){K, N}, b,
                          bin);
                    tg_in(t, 2, KILN_DTYPE_F32, 0, NULL, &c, 0);
                    tg_int(t, "transA", ta);
                    tg_int(t, "transB", tb);
                    tg_float(t, "alpha", 0.5f);
                    assert_int_equal(tg_run(t, y, NULL), KILN_STATUS_OK);
                    assert_int_equal(t->variant0 >= 2, !bin); /* packed when constant */
                    naive_gemm(M, N, K, ta, tb, 0.5f, a, b, ref);
                    for (int64_t i = 0; i < M * N; i++)
                        ref[i] += c;
                    assert_close(y, ref, (size_t)(M * N), 1e-4f);
                    tg_free(t);
                }
        free(a), free(b), free(y), free(ref);
    }
}

static void test_gemm_errors(void **state)
{
    (void)state;
    float z[12] = {0};
    struct tg *t = tg_new("Gemm", 13, 2, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){2, 3}, z, 1);
    tg_in(t, 1, KILN_DTYPE_F32, 2, (int64_t[]){2, 3}, z, 0);
    assert_int_equal(tg_run(t, NULL, NULL), KILN_STATUS_INVALID_MODEL);
    assert_non_null(strstr(t->d.message, "inner"));
    tg_free(t);
    /* C [3] cannot broadcast to [2, 2] */
    t = tg_new("Gemm", 13, 3, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){2, 3}, z, 1);
    tg_in(t, 1, KILN_DTYPE_F32, 2, (int64_t[]){3, 2}, z, 0);
    tg_in(t, 2, KILN_DTYPE_F32, 1, (int64_t[]){3}, z, 0);
    assert_int_equal(tg_run(t, NULL, NULL), KILN_STATUS_INVALID_MODEL);
    tg_free(t);
}

static void test_matmul(void **state)
{
    (void)state;
    /* batch broadcast: A [2, 1, 2, 3] x B [3, 3, 2] -> [2, 3, 2, 2] */
    float *a = rnd(12, 7), *b = rnd(18, 8), y[24], ref[4];
    struct tg *t = tg_new("MatMul", 13, 2, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 4, (int64_t[]){2, 1, 2, 3}, a, 1);
    tg_in(t, 1, KILN_DTYPE_F32, 3, (int64_t[]){3, 3, 2}, b, 0);
    assert_int_equal(tg_run(t, y, NULL), KILN_STATUS_OK);
    assert_dims(t, 0, 4, (int64_t[]){2, 3, 2, 2});
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++) {
            naive_gemm(2, 2, 3, 0, 0, 1.0f, a + i * 6, b + j * 6, ref);
            assert_close(y + (i * 3 + j) * 4, ref, 4, 1e-6f);
        }
    tg_free(t);
    free(a), free(b);
    /* 1-D x 2-D: [3] x [3, 2] -> [2] */
    float v[3] = {1, 2, 3}, m[6] = {1, 2, 3, 4, 5, 6}, y2[2];
    t = tg_new("MatMul", 13, 2, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 1, (int64_t[]){3}, v, 1);
    tg_in(t, 1, KILN_DTYPE_F32, 2, (int64_t[]){3, 2}, m, 0);
    assert_int_equal(tg_run(t, y2, NULL), KILN_STATUS_OK);
    assert_dims(t, 0, 1, (int64_t[]){2});
    assert_close(y2, (float[]){22, 28}, 2, 0);
    tg_free(t);
    /* batched 2-D x 1-D: [2, 2, 3] x [3] -> [2, 2] */
    float a3[12] = {1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1}, y3[4];
    t = tg_new("MatMul", 13, 2, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 3, (int64_t[]){2, 2, 3}, a3, 1);
    tg_in(t, 1, KILN_DTYPE_F32, 1, (int64_t[]){3}, v, 0);
    assert_int_equal(tg_run(t, y3, NULL), KILN_STATUS_OK);
    assert_dims(t, 0, 2, (int64_t[]){2, 2});
    assert_close(y3, (float[]){1, 2, 3, 6}, 4, 0);
    tg_free(t);
    /* 1-D x 1-D: a scalar */
    float y4;
    t = tg_new("MatMul", 13, 2, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 1, (int64_t[]){3}, v, 1);
    tg_in(t, 1, KILN_DTYPE_F32, 1, (int64_t[]){3}, v, 0);
    assert_int_equal(tg_run(t, &y4, NULL), KILN_STATUS_OK);
    assert_int_equal(t->n->out[0]->rank, 0);
    assert_float_equal(y4, 14.0f, 0);
    tg_free(t);
    /* batch dims 2 vs 3 do not broadcast */
    float z[36] = {0};
    t = tg_new("MatMul", 13, 2, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 3, (int64_t[]){2, 2, 3}, z, 1);
    tg_in(t, 1, KILN_DTYPE_F32, 3, (int64_t[]){3, 3, 2}, z, 0);
    assert_int_equal(tg_run(t, NULL, NULL), KILN_STATUS_INVALID_MODEL);
    tg_free(t);
}

/* The fused activation in the epilogue, and the float64 variants, through the kernels directly
 * (the optimisation passes set act; inference always leaves it NONE). */
static void test_epilogue_and_f64(void **state)
{
    (void)state;
    uint8_t scratch[4096] __attribute__((aligned(64)));
    /* Gemm f32 2x2 = [[1, -2], [-3, 4]] x I with Relu */
    float a[4] = {1, -2, -3, 4}, id[4] = {1, 0, 0, 1}, y[4];
    struct kiln_tensor t[3] = {
        {.data = a, .dims = {2, 2}, .rank = 2, .dtype = KILN_DTYPE_F32},
        {.data = id, .dims = {2, 2}, .rank = 2, .dtype = KILN_DTYPE_F32},
        {.data = y, .dims = {2, 2}, .rank = 2, .dtype = KILN_DTYPE_F32},
    };
    struct kiln_p_gemm pg = {0, 0, 1.0f, 1.0f, {KILN_ACT_RELU, 0, 0, 0}};
    struct kiln_kernel_args args = {&pg, t, t + 2, 2, 1, scratch, sizeof scratch, NULL};
    const struct kiln_kernel *k = kiln_rt_kernel(KILN_OP_GEMM, 0);
    assert_int_equal(k->dtype, KILN_DTYPE_F32);
    k->fn(&args);
    assert_close(y, (float[]){1, 0, 0, 4}, 4, 0);
    /* Conv f32 1x1 (pointwise path) with Clip(0, 3) */
    struct kiln_p_conv pc = {.nsp = 2, .group = 1, .act = {KILN_ACT_CLIP, 0.0f, 3.0f, 0}};
    for (int i = 0; i < 2; i++)
        pc.win.kernel[i] = pc.win.stride[i] = pc.win.dilation[i] = 1;
    float w = 2.0f;
    struct kiln_tensor tc[4] = {
        {.data = a, .dims = {1, 1, 2, 2}, .rank = 4, .dtype = KILN_DTYPE_F32},
        {.data = &w, .dims = {1, 1, 1, 1}, .rank = 4, .dtype = KILN_DTYPE_F32},
        {.data = NULL, .rank = 1, .dtype = KILN_DTYPE_F32},
        {.data = y, .dims = {1, 1, 2, 2}, .rank = 4, .dtype = KILN_DTYPE_F32},
    };
    args = (struct kiln_kernel_args){&pc, tc, tc + 3, 3, 1, scratch, sizeof scratch, NULL};
    kiln_rt_kernel(KILN_OP_CONV, 0)->fn(&args);
    assert_close(y, (float[]){2, 0, 0, 3}, 4, 0);
    /* MatMul f64 through the graph: [1, 3] x [3, 1] */
    double da[3] = {0.1, 0.2, 0.3}, db[3] = {1e8, 1e8, 1e8}, dy;
    struct tg *g = tg_new("MatMul", 13, 2, 1);
    tg_in(g, 0, KILN_DTYPE_F64, 2, (int64_t[]){1, 3}, da, 1);
    tg_in(g, 1, KILN_DTYPE_F64, 2, (int64_t[]){3, 1}, db, 0);
    assert_int_equal(tg_run(g, &dy, NULL), KILN_STATUS_OK);
    assert_true(fabs(dy - 6e7) < 1e-6); /* float32 would be off by several units */
    tg_free(g);
    /* Softmax float16: [0, 0] -> [0.5, 0.5] */
    uint16_t h[2] = {0, 0}, hy[2];
    g = tg_new("Softmax", 13, 1, 1);
    tg_in(g, 0, KILN_DTYPE_F16, 1, (int64_t[]){2}, h, 1);
    assert_int_equal(tg_run(g, hy, NULL), KILN_STATUS_OK);
    assert_float_equal(kiln_f16_to_f32(hy[0]), 0.5f, 0);
    assert_float_equal(kiln_f16_to_f32(hy[1]), 0.5f, 0);
    tg_free(g);
}

/* ---- pools ---- */

static void test_max_pool(void **state)
{
    (void)state;
    /* 4x4 ramp, kernel 3, stride 2, pad 1 at the start, ceil_mode: out 3x3 (a fourth window
     * would start in the end padding, so it is dropped) */
    float x[16], y[9];
    int64_t ind[9];
    for (int i = 0; i < 16; i++)
        x[i] = (float)i;
    struct tg *t = tg_new("MaxPool", 12, 1, 2);
    tg_in(t, 0, KILN_DTYPE_F32, 4, (int64_t[]){1, 1, 4, 4}, x, 1);
    tg_ints(t, "kernel_shape", 2, (int64_t[]){3, 3});
    tg_ints(t, "strides", 2, (int64_t[]){2, 2});
    tg_ints(t, "pads", 4, (int64_t[]){1, 1, 1, 1});
    tg_int(t, "ceil_mode", 1);
    assert_int_equal(tg_run(t, y, ind), KILN_STATUS_OK);
    assert_dims(t, 0, 4, (int64_t[]){1, 1, 3, 3});
    assert_dims(t, 1, 4, (int64_t[]){1, 1, 3, 3});
    assert_close(y, (float[]){5, 7, 7, 13, 15, 15, 13, 15, 15}, 9, 0);
    const int64_t want[9] = {5, 7, 7, 13, 15, 15, 13, 15, 15};
    for (int i = 0; i < 9; i++)
        assert_int_equal(ind[i], want[i]);
    tg_free(t);
    /* column-major Indices on a 2x3 input, second channel: offset 6 + h + w * 2 */
    float x2[12] = {0, 0, 0, 0, 0, 0, 1, 9, 2, 3, 4, 5}, y2[2];
    int64_t ind2[2];
    t = tg_new("MaxPool", 12, 1, 2);
    tg_in(t, 0, KILN_DTYPE_F32, 4, (int64_t[]){1, 2, 2, 3}, x2, 1);
    tg_ints(t, "kernel_shape", 2, (int64_t[]){2, 3});
    tg_int(t, "storage_order", 1);
    assert_int_equal(tg_run(t, y2, ind2), KILN_STATUS_OK);
    assert_float_equal(y2[1], 9.0f, 0);
    assert_int_equal(ind2[1], 6 + 0 + 1 * 2);
    tg_free(t);
    /* uint8 with dilation 2 on 1-D: windows {0,2}, {1,3} */
    uint8_t xb[4] = {3, 200, 7, 1}, yb[2];
    t = tg_new("MaxPool", 12, 1, 1);
    tg_in(t, 0, KILN_DTYPE_U8, 3, (int64_t[]){1, 1, 4}, xb, 1);
    tg_ints(t, "kernel_shape", 1, (int64_t[]){2});
    tg_ints(t, "dilations", 1, (int64_t[]){2});
    assert_int_equal(tg_run(t, yb, NULL), KILN_STATUS_OK);
    assert_int_equal(yb[0], 7);
    assert_int_equal(yb[1], 200);
    tg_free(t);
}

static void test_average_pool(void **state)
{
    (void)state;
    /* 3x3 ramp, kernel 2, pad 1 all round, stride 2: out 2x2; corners see one real value */
    float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, y[4];
    for (int include = 0; include < 2; include++) {
        struct tg *t = tg_new("AveragePool", 11, 1, 1);
        tg_in(t, 0, KILN_DTYPE_F32, 4, (int64_t[]){1, 1, 3, 3}, x, 1);
        tg_ints(t, "kernel_shape", 2, (int64_t[]){2, 2});
        tg_ints(t, "strides", 2, (int64_t[]){2, 2});
        tg_ints(t, "pads", 4, (int64_t[]){1, 1, 1, 1});
        tg_int(t, "count_include_pad", include);
        assert_int_equal(tg_run(t, y, NULL), KILN_STATUS_OK);
        assert_dims(t, 0, 4, (int64_t[]){1, 1, 2, 2});
        if (include)
            assert_close(y, (float[]){1 / 4.0f, 5 / 4.0f, 11 / 4.0f, 28 / 4.0f}, 4, 1e-6f);
        else
            assert_close(y, (float[]){1, 2.5f, 5.5f, 7}, 4, 1e-6f);
        tg_free(t);
    }
    /* ceil_mode without padding: 3 wide, kernel 2, stride 2 -> 2 outputs, the last partial */
    float x1[3] = {1, 2, 4}, y1[2];
    struct tg *t = tg_new("AveragePool", 11, 1, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 3, (int64_t[]){1, 1, 3}, x1, 1);
    tg_ints(t, "kernel_shape", 1, (int64_t[]){2});
    tg_ints(t, "strides", 1, (int64_t[]){2});
    tg_int(t, "ceil_mode", 1);
    assert_int_equal(tg_run(t, y1, NULL), KILN_STATUS_OK);
    assert_close(y1, (float[]){1.5f, 4}, 2, 0);
    tg_free(t);
}

static void test_global_pools(void **state)
{
    (void)state;
    float x[12] = {1, 2, 3, 4, 5, 6, -1, -2, -3, -4, -5, -6}, y[2];
    struct tg *t = tg_new("GlobalAveragePool", 13, 1, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 5, (int64_t[]){1, 2, 1, 2, 3}, x, 1);
    assert_int_equal(tg_run(t, y, NULL), KILN_STATUS_OK);
    assert_dims(t, 0, 5, (int64_t[]){1, 2, 1, 1, 1});
    assert_close(y, (float[]){3.5f, -3.5f}, 2, 0);
    tg_free(t);
    t = tg_new("GlobalMaxPool", 13, 1, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 3, (int64_t[]){1, 2, 6}, x, 1);
    assert_int_equal(tg_run(t, y, NULL), KILN_STATUS_OK);
    assert_close(y, (float[]){6, -1}, 2, 0);
    tg_free(t);
}

/* ---- BatchNormalization ---- */

static void test_batch_norm(void **state)
{
    (void)state;
    /* channel 0: (x - 1) / sqrt(4) * 2 + 1; channel 1: (x - 0) / sqrt(1) * 1 + 0 */
    float x[8] = {1, 3, 5, 7, -1, 2, -3, 4}, y[8];
    float scale[2] = {2, 1}, bias[2] = {1, 0}, mean[2] = {1, 0}, var[2] = {4, 1};
    struct tg *t = tg_new("BatchNormalization", 15, 5, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 3, (int64_t[]){1, 2, 4}, x, 1);
    tg_in(t, 1, KILN_DTYPE_F32, 1, (int64_t[]){2}, scale, 0);
    tg_in(t, 2, KILN_DTYPE_F32, 1, (int64_t[]){2}, bias, 0);
    tg_in(t, 3, KILN_DTYPE_F32, 1, (int64_t[]){2}, mean, 0);
    tg_in(t, 4, KILN_DTYPE_F32, 1, (int64_t[]){2}, var, 0);
    tg_float(t, "epsilon", 0.0f);
    assert_int_equal(tg_run(t, y, NULL), KILN_STATUS_OK);
    assert_close(y, (float[]){1, 3, 5, 7, -1, 2, -3, 4}, 8, 1e-6f);
    tg_free(t);
    /* training mode is refused, naming the node */
    t = tg_new("BatchNormalization", 15, 5, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 3, (int64_t[]){1, 2, 4}, x, 1);
    for (uint32_t i = 1; i < 5; i++)
        tg_in(t, i, KILN_DTYPE_F32, 1, (int64_t[]){2}, scale, 0);
    tg_int(t, "training_mode", 1);
    assert_int_equal(tg_run(t, NULL, NULL), KILN_STATUS_UNSUPPORTED);
    assert_string_equal(t->d.node, "node0");
    tg_free(t);
    /* opset 7: spatial=0 is refused, is_test ignored; a wrong-length scale is invalid */
    t = tg_new("BatchNormalization", 7, 5, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 3, (int64_t[]){1, 2, 4}, x, 1);
    for (uint32_t i = 1; i < 5; i++)
        tg_in(t, i, KILN_DTYPE_F32, 1, (int64_t[]){2}, scale, 0);
    tg_int(t, "is_test", 0);
    tg_int(t, "spatial", 0);
    assert_int_equal(tg_run(t, NULL, NULL), KILN_STATUS_UNSUPPORTED);
    tg_free(t);
    t = tg_new("BatchNormalization", 9, 5, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 3, (int64_t[]){1, 2, 4}, x, 1);
    for (uint32_t i = 1; i < 5; i++)
        tg_in(t, i, KILN_DTYPE_F32, 1, (int64_t[]){i == 2 ? 3 : 2}, x, 0);
    assert_int_equal(tg_run(t, NULL, NULL), KILN_STATUS_INVALID_MODEL);
    tg_free(t);
}

/* ---- Softmax family ---- */

static void test_softmax(void **state)
{
    (void)state;
    float x[12], y[12];
    for (int i = 0; i < 12; i++)
        x[i] = (float)(i % 5) * 0.7f - 1.0f;
    /* opset 13, axis 1 of [2, 3, 2]: each (n, inner) column over 3 sums to 1 */
    struct tg *t = tg_new("Softmax", 13, 1, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 3, (int64_t[]){2, 3, 2}, x, 1);
    tg_int(t, "axis", 1);
    assert_int_equal(tg_run(t, y, NULL), KILN_STATUS_OK);
    for (int n = 0; n < 2; n++)
        for (int in = 0; in < 2; in++) {
            float s = 0;
            for (int i = 0; i < 3; i++)
                s += y[n * 6 + i * 2 + in];
            assert_float_equal(s, 1.0f, 1e-6);
        }
    tg_free(t);
    /* opset 11, axis 1: coerced to [2, 6], each row of 6 sums to 1 (but not columns of 3) */
    t = tg_new("Softmax", 11, 1, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 3, (int64_t[]){2, 3, 2}, x, 1);
    assert_int_equal(tg_run(t, y, NULL), KILN_STATUS_OK);
    for (int n = 0; n < 2; n++) {
        float s = 0;
        for (int i = 0; i < 6; i++)
            s += y[n * 6 + i];
        assert_float_equal(s, 1.0f, 1e-6);
    }
    assert_true(fabsf(y[0] + y[2] + y[4] - 1.0f) > 1e-3f);
    tg_free(t);
    /* LogSoftmax of [0, ln 3]... by hand: softmax of [1, 1, 1, 1] is 1/4 each */
    float ones[4] = {1000, 1000, 1000, 1000}, ly[4];
    t = tg_new("LogSoftmax", 13, 1, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){1, 4}, ones, 1);
    assert_int_equal(tg_run(t, ly, NULL), KILN_STATUS_OK);
    for (int i = 0; i < 4; i++)
        assert_float_equal(ly[i], -logf(4.0f), 1e-6);
    tg_free(t);
    /* Hardmax: the first maximum wins */
    float h[6] = {1, 3, 3, 0, -1, -2}, hy[6];
    t = tg_new("Hardmax", 13, 1, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){2, 3}, h, 1);
    assert_int_equal(tg_run(t, hy, NULL), KILN_STATUS_OK);
    assert_close(hy, (float[]){0, 1, 0, 1, 0, 0}, 6, 0);
    tg_free(t);
    /* axis out of range */
    t = tg_new("Softmax", 13, 1, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){2, 3}, h, 1);
    tg_int(t, "axis", 2);
    assert_int_equal(tg_run(t, NULL, NULL), KILN_STATUS_INVALID_MODEL);
    tg_free(t);
}

/* Runs op on x [2, len] (LayerNormalization: with scale and, if given, bias of len, as
 * constants) under every SIMD variant this CPU runs (switched with kiln_gemm_isa_select); y
 * gets the portable result, and a variant that differs from it in any bit fails. */
static void rows_every_isa(const char *op, const float *x, int len, const float *scale,
                           const float *bias, float *y)
{
    static float got[2 * 256];
    assert_true(len <= 256);
    enum kiln_gemm_isa was = kiln_gemm_isa_active();
    for (int isa = 0; isa < KILN_GEMM_ISA_COUNT; isa++) {
        if (!kiln_gemm_isa_supported((enum kiln_gemm_isa)isa))
            continue;
        kiln_gemm_isa_select((enum kiln_gemm_isa)isa);
        struct tg *t = tg_new(op, 17, scale ? (bias ? 3 : 2) : 1, 1);
        tg_in(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){2, len}, x, 1);
        if (scale)
            tg_in(t, 1, KILN_DTYPE_F32, 1, (int64_t[]){len}, scale, 0);
        if (bias)
            tg_in(t, 2, KILN_DTYPE_F32, 1, (int64_t[]){len}, bias, 0);
        assert_int_equal(tg_run(t, isa ? got : y, NULL), KILN_STATUS_OK);
        tg_free(t);
        if (isa && memcmp(got, y, sizeof(float) * 2 * (size_t)len) != 0)
            fail_msg("%s length %d: %s differs from portable", op, len,
                     kiln_gemm_isa_name((enum kiln_gemm_isa)isa));
    }
    kiln_gemm_isa_select(was);
}

/* Rows of lengths 1-67 and longer, with large and tiny values, for the vectorised float32 rows
 * of Softmax, LogSoftmax and LayerNormalization: within a few ulp of double precision, and the
 * same bits on every SIMD variant. */
static void test_vector_rows(void **state)
{
    (void)state;
    static float x[2 * 256], y[2 * 256], sc[256], bi[256];
    for (int len = 1; len <= 203; len += len < 67 ? 1 : 68) {
        for (int i = 0; i < 2 * len; i++)
            x[i] = (float)((i * 37) % 101) * (i % 7 == 3 ? 1.7f : 0.13f) - (i % 11 == 5 ? 90 : 6);
        for (int i = 0; i < len; i++)
            sc[i] = 0.5f + (float)(i % 5) * 0.25f, bi[i] = (float)(i % 3) - 1;
        for (int op = 0; op < 4; op++) {
            static const char *ops[] = {"Softmax", "LogSoftmax", "LayerNormalization",
                                        "LayerNormalization"};
            rows_every_isa(ops[op], x, len, op >= 2 ? sc : NULL, op == 3 ? bi : NULL, y);
            for (int r = 0; r < 2; r++) {
                const float *xr = x + r * len;
                double mx = xr[0], sum = 0, mean = 0, var = 0;
                for (int i = 0; i < len; i++) {
                    mx = xr[i] > mx ? xr[i] : mx;
                    mean += xr[i] / (double)len;
                }
                for (int i = 0; i < len; i++) {
                    sum += exp((double)xr[i] - mx);
                    var += (xr[i] - mean) * (xr[i] - mean) / len;
                }
                for (int i = 0; i < len; i++) {
                    double e = exp((double)xr[i] - mx) / sum, l = (double)xr[i] - mx - log(sum);
                    double n = (xr[i] - mean) / sqrt(var + 1e-5) * sc[i] + (op == 3 ? bi[i] : 0);
                    double want = op == 0 ? e : op == 1 ? l : n;
                    double tol = op == 0 ? 4e-6 * want + 1e-37 : 2e-6 * (1 + fabs(want));
                    if (fabs(y[r * len + i] - want) > tol)
                        fail_msg("%s length %d [%d][%d]: %.9g, want %.9g", ops[op], len, r, i,
                                 y[r * len + i], want);
                }
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_act),
        cmocka_unit_test(test_conv_3x3_by_hand),
        cmocka_unit_test(test_conv_vs_naive),
        cmocka_unit_test(test_conv_kernel_shape_and_errors),
        cmocka_unit_test(test_gemm_by_hand),
        cmocka_unit_test(test_gemm_blocked),
        cmocka_unit_test(test_gemm_errors),
        cmocka_unit_test(test_matmul),
        cmocka_unit_test(test_epilogue_and_f64),
        cmocka_unit_test(test_max_pool),
        cmocka_unit_test(test_average_pool),
        cmocka_unit_test(test_global_pools),
        cmocka_unit_test(test_batch_norm),
        cmocka_unit_test(test_softmax),
        cmocka_unit_test(test_vector_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
