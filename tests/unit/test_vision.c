/* test_vision.c - the image and normalisation ops: ConvTranspose against a naive scatter
 * loop (strides, pads, groups, dilations, output_padding, output_shape, auto_pad, 1-3 D, fused
 * activation), the normalisations, LRN, LpNormalization, LpPool, MaxUnpool, GridSample corner
 * cases, RoiAlign, NonMaxSuppression, and inference errors. Graph cases go through kiln_infer +
 * kiln_lower + kiln_run on a one-node graph like a real model. */
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
#include "kernels/nms.h"
#include "kernels/nn.h"

#include "graph_harness.h"

/* ---- ConvTranspose ---- */

struct ct_case {
    int nsp;
    int64_t n, c, m, group; /* m: output channels */
    int64_t in[3], k[3], s[3], d[3], pb[3], pe[3], op[3];
    int64_t out_shape[3]; /* [0] != 0: pass output_shape (pads then come from it) */
    const char *auto_pad; /* NULL: explicit pads */
    int bias;
};

/* Scatter loop straight from the definition: every input element adds w * x to the output
 * position i*s + k*d - pb. pb is the effective begin padding; out the output extents. */
static void naive_ct(const struct ct_case *cc, const int64_t *pb_eff, const int64_t *out,
                     const float *x, const float *w, const float *b, float *y)
{
    int64_t in[3] = {1, 1, 1}, o[3] = {1, 1, 1}, k[3] = {1, 1, 1}, s[3] = {1, 1, 1},
            d[3] = {1, 1, 1}, pb[3] = {0, 0, 0};
    for (int i = 0; i < cc->nsp; i++) {
        int j = 3 - cc->nsp + i;
        in[j] = cc->in[i], o[j] = out[i], k[j] = cc->k[i];
        s[j] = cc->s[i], d[j] = cc->d[i], pb[j] = pb_eff[i];
    }
    int64_t cg = cc->c / cc->group, mg = cc->m / cc->group, osz = o[0] * o[1] * o[2];
    for (int64_t n = 0; n < cc->n; n++)
        for (int64_t m = 0; m < cc->m; m++)
            for (int64_t q = 0; q < osz; q++)
                y[(n * cc->m + m) * osz + q] = b ? b[m] : 0;
    for (int64_t n = 0; n < cc->n; n++)
        for (int64_t c = 0; c < cc->c; c++)
            for (int64_t i0 = 0; i0 < in[0]; i0++)
                for (int64_t i1 = 0; i1 < in[1]; i1++)
                    for (int64_t i2 = 0; i2 < in[2]; i2++)
                        for (int64_t ml = 0; ml < mg; ml++)
                            for (int64_t k0 = 0; k0 < k[0]; k0++)
                                for (int64_t k1 = 0; k1 < k[1]; k1++)
                                    for (int64_t k2 = 0; k2 < k[2]; k2++) {
                                        int64_t o0 = i0 * s[0] + k0 * d[0] - pb[0];
                                        int64_t o1 = i1 * s[1] + k1 * d[1] - pb[1];
                                        int64_t o2 = i2 * s[2] + k2 * d[2] - pb[2];
                                        if (o0 < 0 || o0 >= o[0] || o1 < 0 || o1 >= o[1] ||
                                            o2 < 0 || o2 >= o[2])
                                            continue;
                                        int64_t m = c / cg * mg + ml;
                                        float xv = x[(((n * cc->c + c) * in[0] + i0) * in[1] +
                                                      i1) * in[2] + i2];
                                        float wv = w[(((c * mg + ml) * k[0] + k0) * k[1] + k1) *
                                                         k[2] + k2];
                                        y[(((n * cc->m + m) * o[0] + o0) * o[1] + o1) * o[2] +
                                          o2] += xv * wv;
                                    }
}

static void run_ct_case(const struct ct_case *cc, const int64_t *want_out, const int64_t *pb_eff)
{
    int rank = cc->nsp + 2;
    int64_t xd[5] = {cc->n, cc->c}, wd[5] = {cc->c, cc->m / cc->group}, yd[5] = {cc->n, cc->m};
    int64_t xn = cc->n * cc->c, wn = cc->c * (cc->m / cc->group), yn = cc->n * cc->m;
    for (int i = 0; i < cc->nsp; i++) {
        xd[2 + i] = cc->in[i], wd[2 + i] = cc->k[i], yd[2 + i] = want_out[i];
        xn *= cc->in[i], wn *= cc->k[i], yn *= want_out[i];
    }
    float *x = rnd((size_t)xn, 1), *w = rnd((size_t)wn, 2), *b = rnd((size_t)cc->m, 3);
    float *y = calloc((size_t)yn, sizeof *y), *want = calloc((size_t)yn, sizeof *want);
    struct tg *t = tg_new("ConvTranspose", 17, cc->bias ? 3 : 2, 1);
    tg_in(t, 0, KILN_DTYPE_F32, rank, xd, x, 1);
    tg_in(t, 1, KILN_DTYPE_F32, rank, wd, w, 0);
    if (cc->bias)
        tg_in(t, 2, KILN_DTYPE_F32, 1, &cc->m, b, 0);
    int64_t pads[6];
    for (int i = 0; i < cc->nsp; i++)
        pads[i] = cc->pb[i], pads[cc->nsp + i] = cc->pe[i];
    tg_ints(t, "strides", (size_t)cc->nsp, cc->s);
    tg_ints(t, "dilations", (size_t)cc->nsp, cc->d);
    tg_ints(t, "output_padding", (size_t)cc->nsp, cc->op);
    tg_int(t, "group", cc->group);
    if (cc->out_shape[0])
        tg_ints(t, "output_shape", (size_t)cc->nsp, cc->out_shape);
    if (cc->auto_pad)
        tg_str(t, "auto_pad", cc->auto_pad);
    else
        tg_ints(t, "pads", (size_t)(2 * cc->nsp), pads);
    assert_int_equal(tg_run(t, y, NULL), KILN_STATUS_OK);
    assert_dims(t, 0, rank, yd);
    naive_ct(cc, pb_eff, want_out, x, w, cc->bias ? b : NULL, want);
    assert_close(y, want, (size_t)yn, 1e-4f);
    tg_free(t);
    free(x), free(w), free(b), free(y), free(want);
}

static void test_conv_transpose_vs_naive(void **state)
{
    (void)state;
    /* 2-D, strides 2 and 3, asymmetric pads, output_padding, 2 groups, bias:
     * out = 2*(5-1)+1+3-1-0 = 11 and 3*(4-1)+2+2-0-1 = 12 */
    struct ct_case a = {2, 2, 4, 6, 2, {5, 4}, {3, 2}, {2, 3}, {1, 1}, {1, 0}, {0, 1}, {1, 2},
                        {0}, NULL, 1};
    run_ct_case(&a, (int64_t[]){11, 12}, a.pb);
    /* dilations 2, stride 1, no bias: out = (5-1) + (3-1)*2 + 1 = 9 */
    struct ct_case b = {2, 1, 3, 2, 1, {5, 3}, {3, 2}, {1, 1}, {2, 3}, {0, 0}, {0, 0}, {0, 0},
                        {0}, NULL, 0};
    run_ct_case(&b, (int64_t[]){9, 6}, b.pb);
    /* 1-D depthwise-like (group = C = M) */
    struct ct_case c = {1, 1, 3, 3, 3, {7}, {4}, {3}, {1}, {2}, {1}, {2}, {0}, NULL, 1};
    run_ct_case(&c, (int64_t[]){3 * 6 + 2 + 4 - 3}, c.pb);
    /* 3-D */
    struct ct_case d = {3, 1, 2, 2, 1, {2, 3, 2}, {2, 2, 3}, {2, 1, 2}, {1, 1, 1}, {0, 1, 0},
                        {0, 0, 1}, {0, 0, 1}, {0}, NULL, 1};
    run_ct_case(&d, (int64_t[]){4, 3, 5}, d.pb);
    /* output_shape larger than natural (9): the extra goes at the end, begin pad stays 0 */
    struct ct_case e = {1, 1, 1, 2, 1, {3}, {3}, {3}, {1}, {0}, {0}, {0}, {10}, NULL, 0};
    run_ct_case(&e, (int64_t[]){10}, (int64_t[]){0});
    /* output_shape smaller than natural (9 -> 7, NOTSET): total 2, begin 1 */
    struct ct_case f = {1, 1, 1, 1, 1, {3}, {3}, {3}, {1}, {0}, {0}, {0}, {7}, NULL, 1};
    run_ct_case(&f, (int64_t[]){7}, (int64_t[]){1});
    /* SAME_UPPER: out = in * stride = 6, natural 7: total 1, begin 0 */
    struct ct_case g = {1, 1, 2, 2, 1, {3}, {3}, {2}, {1}, {0}, {0}, {0}, {0}, "SAME_UPPER", 1};
    run_ct_case(&g, (int64_t[]){6}, (int64_t[]){0});
    /* SAME_LOWER: the odd padding goes first */
    struct ct_case h = {1, 1, 2, 2, 1, {3}, {3}, {2}, {1}, {0}, {0}, {0}, {0}, "SAME_LOWER", 1};
    run_ct_case(&h, (int64_t[]){6}, (int64_t[]){1});
}

/* By hand: 1x1 input 2 with kernel [1, 2, 3] -> [2, 4, 6]; then the Relu epilogue through the
 * kernel directly. */
static void test_conv_transpose_by_hand_and_act(void **state)
{
    (void)state;
    float x[2] = {2, -1}, w[3] = {1, 2, 3}, y[4];
    struct tg *t = tg_new("ConvTranspose", 11, 2, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 3, (int64_t[]){1, 1, 2}, x, 1);
    tg_in(t, 1, KILN_DTYPE_F32, 3, (int64_t[]){1, 1, 3}, w, 0);
    assert_int_equal(tg_run(t, y, NULL), KILN_STATUS_OK);
    assert_dims(t, 0, 3, (int64_t[]){1, 1, 4});
    assert_close(y, (float[]){2, 4 - 1, 6 - 2, -3}, 4, 0);
    assert_int_equal(t->n->scratch_size,
                     kiln_conv_transpose_scratch(1, 1, 3, 2, sizeof(float)));
    tg_free(t);

    struct kiln_p_conv p = {.nsp = 1, .group = 1, .act = {KILN_ACT_RELU, 0, 0, 0}};
    p.win.kernel[0] = 3, p.win.stride[0] = 1, p.win.dilation[0] = 1;
    uint8_t scratch[4096] __attribute__((aligned(64)));
    float b = 0.5f;
    struct kiln_tensor tv[4] = {
        {.data = x, .dims = {1, 1, 2}, .rank = 3, .dtype = KILN_DTYPE_F32},
        {.data = w, .dims = {1, 1, 3}, .rank = 3, .dtype = KILN_DTYPE_F32},
        {.data = &b, .dims = {1}, .rank = 1, .dtype = KILN_DTYPE_F32},
        {.data = y, .dims = {1, 1, 4}, .rank = 3, .dtype = KILN_DTYPE_F32},
    };
    struct kiln_kernel_args args = {&p, tv, tv + 3, 3, 1, scratch, sizeof scratch, NULL};
    kiln_rt_kernel(KILN_OP_CONV_TRANSPOSE, 0)->fn(&args);
    assert_close(y, (float[]){2.5f, 3.5f, 4.5f, 0}, 4, 0);
}

static void test_conv_transpose_errors(void **state)
{
    (void)state;
    float x[8] = {0}, w[8] = {0};
    /* weights rows must equal the input channels */
    struct tg *t = tg_new("ConvTranspose", 13, 2, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 4, (int64_t[]){1, 2, 2, 2}, x, 1);
    tg_in(t, 1, KILN_DTYPE_F32, 4, (int64_t[]){1, 2, 2, 2}, w, 0);
    assert_int_equal(tg_run(t, NULL, NULL), KILN_STATUS_INVALID_MODEL);
    assert_non_null(strstr(t->d.message, "input channels"));
    tg_free(t);
    /* group must divide C */
    t = tg_new("ConvTranspose", 13, 2, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 3, (int64_t[]){1, 2, 2}, x, 1);
    tg_in(t, 1, KILN_DTYPE_F32, 3, (int64_t[]){2, 1, 2}, w, 0);
    tg_int(t, "group", 3);
    assert_int_equal(tg_run(t, NULL, NULL), KILN_STATUS_INVALID_MODEL);
    tg_free(t);
    /* output_padding must stay below the stride */
    t = tg_new("ConvTranspose", 13, 2, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 3, (int64_t[]){1, 2, 2}, x, 1);
    tg_in(t, 1, KILN_DTYPE_F32, 3, (int64_t[]){2, 1, 2}, w, 0);
    tg_ints(t, "output_padding", 1, (int64_t[]){1});
    assert_int_equal(tg_run(t, NULL, NULL), KILN_STATUS_INVALID_MODEL);
    assert_non_null(strstr(t->d.message, "output_padding"));
    tg_free(t);
    /* bias length */
    t = tg_new("ConvTranspose", 13, 3, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 3, (int64_t[]){1, 2, 2}, x, 1);
    tg_in(t, 1, KILN_DTYPE_F32, 3, (int64_t[]){2, 1, 2}, w, 0);
    tg_in(t, 2, KILN_DTYPE_F32, 1, (int64_t[]){2}, w, 0);
    assert_int_equal(tg_run(t, NULL, NULL), KILN_STATUS_INVALID_MODEL);
    assert_non_null(strstr(t->d.message, "bias"));
    tg_free(t);
    /* integer input */
    t = tg_new("ConvTranspose", 13, 2, 1);
    tg_in(t, 0, KILN_DTYPE_I32, 3, (int64_t[]){1, 2, 2}, x, 1);
    tg_in(t, 1, KILN_DTYPE_I32, 3, (int64_t[]){2, 1, 2}, w, 0);
    assert_int_equal(tg_run(t, NULL, NULL), KILN_STATUS_INVALID_MODEL);
    tg_free(t);
}

/* ---- normalisations ---- */

/* Reference LayerNorm over the last `inner` elements of each of `outer` rows. */
static void naive_ln(const float *x, const float *s, const float *b, int64_t outer,
                     int64_t inner, float eps, float *y, float *mean, float *inv)
{
    for (int64_t o = 0; o < outer; o++) {
        double m = 0, v = 0;
        for (int64_t i = 0; i < inner; i++)
            m += x[o * inner + i];
        m /= (double)inner;
        for (int64_t i = 0; i < inner; i++)
            v += (x[o * inner + i] - m) * (x[o * inner + i] - m);
        v /= (double)inner;
        double r = 1 / sqrt(v + eps);
        mean[o] = (float)m, inv[o] = (float)r;
        for (int64_t i = 0; i < inner; i++)
            y[o * inner + i] = (float)((x[o * inner + i] - m) * r * s[i] + b[i]);
    }
}

static void test_layer_norm(void **state)
{
    (void)state;
    /* by hand: rows [1, 2, 3] and [4, 6, 8]: mean 2 and 6, var 2/3 and 8/3 */
    float x[6] = {1, 2, 3, 4, 6, 8}, one[3] = {1, 1, 1}, zero[3] = {0}, y[6], mean[2], inv[2];
    struct tg *t = tg_new("LayerNormalization", 17, 3, 3);
    tg_in(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){2, 3}, x, 1);
    tg_in(t, 1, KILN_DTYPE_F32, 1, (int64_t[]){3}, one, 0);
    tg_in(t, 2, KILN_DTYPE_F32, 1, (int64_t[]){3}, zero, 0);
    tg_float(t, "epsilon", 0);
    assert_int_equal(tg_run3(t, y, mean, inv), KILN_STATUS_OK);
    assert_dims(t, 1, 2, (int64_t[]){2, 1});
    float r = sqrtf(1.5f);
    assert_close(y, (float[]){-r, 0, r, -r, 0, r}, 6, 1e-6f);
    assert_close(mean, (float[]){2, 6}, 2, 1e-6f);
    assert_close(inv, (float[]){sqrtf(1.5f), sqrtf(3.0f / 8)}, 2, 1e-6f);
    tg_free(t);

    /* over the last 1 and the last 2 axes of [2, 3, 4], against the reference */
    float *xs = rnd(24, 7), *sc = rnd(12, 8), *bi = rnd(12, 9), ys[24], want[24], m[6], iv[6],
          wm[6], wi[6];
    for (int axis = 1; axis <= 2; axis++) {
        int64_t inner = axis == 2 ? 4 : 12, outer = 24 / inner;
        t = tg_new("LayerNormalization", 17, 3, 3);
        tg_in(t, 0, KILN_DTYPE_F32, 3, (int64_t[]){2, 3, 4}, xs, 1);
        tg_in(t, 1, KILN_DTYPE_F32, 3 - axis, axis == 2 ? (int64_t[]){4} : (int64_t[]){3, 4},
              sc, 0);
        tg_in(t, 2, KILN_DTYPE_F32, 3 - axis, axis == 2 ? (int64_t[]){4} : (int64_t[]){3, 4},
              bi, 0);
        tg_int(t, "axis", axis == 2 ? -1 : 1);
        assert_int_equal(tg_run3(t, ys, m, iv), KILN_STATUS_OK);
        naive_ln(xs, sc, bi, outer, inner, 1e-5f, want, wm, wi);
        assert_close(ys, want, 24, 1e-5f);
        assert_close(m, wm, (size_t)outer, 1e-6f);
        assert_close(iv, wi, (size_t)outer, 1e-5f);
        tg_free(t);
    }
    free(xs), free(sc), free(bi);

    /* float64 with stash_type 11 (double statistics) and a one-element Scale */
    double dx[2] = {1, 3}, ds = 2, dy[2], dm;
    t = tg_new("LayerNormalization", 17, 2, 2);
    tg_in(t, 0, KILN_DTYPE_F64, 2, (int64_t[]){1, 2}, dx, 1);
    tg_in(t, 1, KILN_DTYPE_F64, 1, (int64_t[]){1}, &ds, 0);
    tg_float(t, "epsilon", 0);
    tg_int(t, "stash_type", KILN_DTYPE_F64);
    assert_int_equal(tg_run(t, dy, &dm), KILN_STATUS_OK);
    assert_int_equal(t->n->out[1]->dtype, KILN_DTYPE_F64);
    assert_true(dy[0] == -2 && dy[1] == 2 && dm == 2);
    tg_free(t);
    /* float16: [1, 3] -> [-1, 1] */
    uint16_t hx[2] = {kiln_f32_to_f16(1), kiln_f32_to_f16(3)}, hs = kiln_f32_to_f16(1), hy[2];
    t = tg_new("LayerNormalization", 17, 2, 1);
    tg_in(t, 0, KILN_DTYPE_F16, 2, (int64_t[]){1, 2}, hx, 1);
    tg_in(t, 1, KILN_DTYPE_F16, 1, (int64_t[]){1}, &hs, 0);
    assert_int_equal(tg_run(t, hy, NULL), KILN_STATUS_OK);
    assert_float_equal(kiln_f16_to_f32(hy[0]), -1.0f, 1e-3);
    assert_float_equal(kiln_f16_to_f32(hy[1]), 1.0f, 1e-3);
    tg_free(t);

    /* errors: axis out of range; Scale of the wrong length */
    t = tg_new("LayerNormalization", 17, 2, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){2, 3}, x, 1);
    tg_in(t, 1, KILN_DTYPE_F32, 1, (int64_t[]){3}, one, 0);
    tg_int(t, "axis", 2);
    assert_int_equal(tg_run(t, NULL, NULL), KILN_STATUS_INVALID_MODEL);
    tg_free(t);
    t = tg_new("LayerNormalization", 17, 2, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){2, 3}, x, 1);
    tg_in(t, 1, KILN_DTYPE_F32, 1, (int64_t[]){2}, one, 0);
    assert_int_equal(tg_run(t, NULL, NULL), KILN_STATUS_INVALID_MODEL);
    assert_non_null(strstr(t->d.message, "Scale"));
    tg_free(t);
}

static void test_instance_norm_and_mvn(void **state)
{
    (void)state;
    /* [1, 2, 2]: channel 0 = [1, 3] -> [-1, 1] * 2 + 1; channel 1 = [5, 5] -> 0 * 1 + -1 */
    float x[4] = {1, 3, 5, 5}, s[2] = {2, 1}, b[2] = {1, -1}, y[4];
    struct tg *t = tg_new("InstanceNormalization", 6, 3, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 3, (int64_t[]){1, 2, 2}, x, 1);
    tg_in(t, 1, KILN_DTYPE_F32, 1, (int64_t[]){2}, s, 0);
    tg_in(t, 2, KILN_DTYPE_F32, 1, (int64_t[]){2}, b, 0);
    tg_float(t, "epsilon", 1e-12f); /* channel 1 has variance 0 */
    assert_int_equal(tg_run(t, y, NULL), KILN_STATUS_OK);
    assert_close(y, (float[]){-1, 3, -1, -1}, 4, 1e-6f);
    tg_free(t);
    /* scale must have C values */
    t = tg_new("InstanceNormalization", 6, 3, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 3, (int64_t[]){1, 2, 2}, x, 1);
    tg_in(t, 1, KILN_DTYPE_F32, 1, (int64_t[]){1}, s, 0);
    tg_in(t, 2, KILN_DTYPE_F32, 1, (int64_t[]){2}, b, 0);
    assert_int_equal(tg_run(t, NULL, NULL), KILN_STATUS_INVALID_MODEL);
    tg_free(t);

    /* MVN default axes [0, 2, 3] on [2, 2, 1, 1]: channel 0 = {1, 3}, channel 1 = {2, 2};
     * (x - mean) / (std + 1e-9): the axes are not innermost, so the offset table is used */
    float m[4] = {1, 2, 3, 2}, my[4];
    t = tg_new("MeanVarianceNormalization", 13, 1, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 4, (int64_t[]){2, 2, 1, 1}, m, 1);
    assert_int_equal(tg_run(t, my, NULL), KILN_STATUS_OK);
    assert_true(t->n->scratch_size > 0);
    assert_close(my, (float[]){-1, 0, 1, 0}, 4, 1e-6f);
    tg_free(t);
}

static void test_lrn_and_lp_norm(void **state)
{
    (void)state;
    /* LRN size 3 over 3 channels at one position: x = [1, 2, 3] */
    float x[3] = {1, 2, 3}, y[3];
    struct tg *t = tg_new("LRN", 13, 1, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 4, (int64_t[]){1, 3, 1, 1}, x, 1);
    tg_int(t, "size", 3);
    tg_float(t, "alpha", 0.3f);
    tg_float(t, "beta", 0.5f);
    tg_float(t, "bias", 2.0f);
    assert_int_equal(tg_run(t, y, NULL), KILN_STATUS_OK);
    float want[3] = {1 / sqrtf(2 + 0.1f * 5), 2 / sqrtf(2 + 0.1f * 14), 3 / sqrtf(2 + 0.1f * 13)};
    assert_close(y, want, 3, 1e-6f);
    tg_free(t);
    t = tg_new("LRN", 13, 1, 1); /* size is required */
    tg_in(t, 0, KILN_DTYPE_F32, 4, (int64_t[]){1, 3, 1, 1}, x, 1);
    assert_int_equal(tg_run(t, NULL, NULL), KILN_STATUS_INVALID_MODEL);
    tg_free(t);

    /* LpNormalization along axis 0 of [2, 2]: columns [3, 4] and [0, 0] */
    float v[4] = {3, 0, -4, 0}, out[4];
    for (int p = 1; p <= 2; p++) {
        t = tg_new("LpNormalization", 13, 1, 1);
        tg_in(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){2, 2}, v, 1);
        tg_int(t, "axis", 0);
        tg_int(t, "p", p);
        assert_int_equal(tg_run(t, out, NULL), KILN_STATUS_OK);
        float d = p == 1 ? 7 : 5;
        assert_close(out, (float[]){3 / d, 0, -4 / d, 0}, 4, 1e-6f);
        tg_free(t);
    }
    t = tg_new("LpNormalization", 13, 1, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){2, 2}, v, 1);
    tg_int(t, "p", 3);
    assert_int_equal(tg_run(t, NULL, NULL), KILN_STATUS_INVALID_MODEL);
    tg_free(t);
}

/* ---- pools ---- */

static void test_lp_pool_and_unpool(void **state)
{
    (void)state;
    /* LpPool p=2, kernel 2, stride 1, pad end 1 over [3, 4, 0]: [5, 4, 0] */
    float x[3] = {3, 4, 0}, y[3];
    struct tg *t = tg_new("LpPool", 11, 1, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 3, (int64_t[]){1, 1, 3}, x, 1);
    tg_ints(t, "kernel_shape", 1, (int64_t[]){2});
    tg_ints(t, "pads", 2, (int64_t[]){0, 1});
    assert_int_equal(tg_run(t, y, NULL), KILN_STATUS_OK);
    assert_dims(t, 0, 3, (int64_t[]){1, 1, 3});
    assert_close(y, (float[]){5, 4, 0}, 3, 1e-6f);
    tg_free(t);
    /* GlobalLpPool p=1 and p=3 over [1, 2, 2, 1] */
    float g[4] = {-1, 2, 3, 0}, gy[2];
    t = tg_new("GlobalLpPool", 2, 1, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 4, (int64_t[]){1, 2, 2, 1}, g, 1);
    tg_int(t, "p", 1);
    assert_int_equal(tg_run(t, gy, NULL), KILN_STATUS_OK);
    assert_dims(t, 0, 4, (int64_t[]){1, 2, 1, 1});
    assert_close(gy, (float[]){3, 3}, 2, 1e-6f);
    tg_free(t);
    t = tg_new("GlobalLpPool", 2, 1, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 4, (int64_t[]){1, 2, 2, 1}, g, 1);
    tg_int(t, "p", 3);
    assert_int_equal(tg_run(t, gy, NULL), KILN_STATUS_OK);
    assert_close(gy, (float[]){cbrtf(9), 3}, 2, 1e-6f);
    tg_free(t);

    /* MaxUnpool 2x2 -> 4x4 (kernel 2 stride 2), then padded to 5x5 by output_shape */
    float u[4] = {5, 6, 7, 8}, uy[25];
    int64_t ind[4] = {5, 7, 13, 15}, oshape[4] = {1, 1, 5, 5};
    for (int with_shape = 0; with_shape < 2; with_shape++) {
        t = tg_new("MaxUnpool", 11, with_shape ? 3 : 2, 1);
        tg_in(t, 0, KILN_DTYPE_F32, 4, (int64_t[]){1, 1, 2, 2}, u, 1);
        tg_in(t, 1, KILN_DTYPE_I64, 4, (int64_t[]){1, 1, 2, 2}, ind, 0);
        if (with_shape)
            tg_in(t, 2, KILN_DTYPE_I64, 1, (int64_t[]){4}, oshape, 0);
        tg_ints(t, "kernel_shape", 2, (int64_t[]){2, 2});
        tg_ints(t, "strides", 2, (int64_t[]){2, 2});
        assert_int_equal(tg_run(t, uy, NULL), KILN_STATUS_OK);
        int64_t w = with_shape ? 5 : 4;
        assert_dims(t, 0, 4, (int64_t[]){1, 1, w, w});
        for (int64_t i = 0; i < w * w; i++) {
            float want = 0;
            if (i == 1 * w + 1)
                want = 5;
            else if (i == 1 * w + 3)
                want = 6;
            else if (i == 3 * w + 1)
                want = 7;
            else if (i == 3 * w + 3)
                want = 8;
            assert_true(uy[i] == want);
        }
        tg_free(t);
    }
    /* kernel_shape is required */
    t = tg_new("MaxUnpool", 11, 2, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 4, (int64_t[]){1, 1, 2, 2}, u, 1);
    tg_in(t, 1, KILN_DTYPE_I64, 4, (int64_t[]){1, 1, 2, 2}, ind, 0);
    assert_int_equal(tg_run(t, NULL, NULL), KILN_STATUS_INVALID_MODEL);
    tg_free(t);
}

/* ---- GridSample ---- */

static void grid_sample(const char *mode, const char *padding, int align, const float *grid,
                        int64_t npts, float *y)
{
    static const float img[4] = {1, 2, 3, 4}; /* 2x2 */
    struct tg *t = tg_new("GridSample", 16, 2, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 4, (int64_t[]){1, 1, 2, 2}, img, 1);
    tg_in(t, 1, KILN_DTYPE_F32, 4, (int64_t[]){1, 1, npts, 2}, grid, 1);
    tg_str(t, "mode", mode);
    tg_str(t, "padding_mode", padding);
    tg_int(t, "align_corners", align);
    assert_int_equal(tg_run(t, y, NULL), KILN_STATUS_OK);
    assert_dims(t, 0, 4, (int64_t[]){1, 1, 1, npts});
    tg_free(t);
}

static void test_grid_sample(void **state)
{
    (void)state;
    float y[4];
    /* align_corners=1: the corners are the pixel centres; the middle is the mean */
    float corners[8] = {-1, -1, 1, -1, 1, 1, 0, 0};
    grid_sample("bilinear", "zeros", 1, corners, 4, y);
    assert_close(y, (float[]){1, 2, 4, 2.5f}, 4, 1e-6f);
    /* align_corners=0: -1 is the outer edge, half a pixel outside the first centre: with zero
     * padding the corner mixes in 3 zeros (1/4), with border padding it is the pixel */
    grid_sample("bilinear", "zeros", 0, corners, 4, y);
    assert_close(y, (float[]){0.25f, 0.5f, 1, 2.5f}, 4, 1e-6f);
    grid_sample("bilinear", "border", 0, corners, 4, y);
    assert_close(y, (float[]){1, 2, 4, 2.5f}, 4, 1e-6f);
    /* far outside: zeros -> 0 (half a pixel out (x = 1.5) still mixes in the edge), border ->
     * edge, reflection folds back inside */
    float far[8] = {-3, -1, 3, 1, 2, -1, 0.5f, 0};
    grid_sample("bilinear", "zeros", 1, far, 4, y);
    assert_close(y, (float[]){0, 0, 1, 2.75f}, 4, 1e-6f);
    grid_sample("bilinear", "border", 1, far, 4, y);
    assert_close(y, (float[]){1, 4, 2, 2.75f}, 4, 1e-6f);
    /* reflection with align_corners=1 over [0, 1]: x=-3 -> -1 -> 1; 3 -> 2 -> 0; 2 -> 1.5 -> 0.5 */
    grid_sample("bilinear", "reflection", 1, far, 4, y);
    assert_close(y, (float[]){2, 3, 1.5f, 2.75f}, 4, 1e-6f);
    /* nearest rounds half to even: x = 0.5 -> 0, y = 0 -> 0.5 -> 0 */
    float near[4] = {0, 0, 0.9f, 0.9f};
    grid_sample("nearest", "zeros", 1, near, 2, y);
    assert_close(y, (float[]){1, 4}, 2, 0);
    /* bicubic reproduces the pixels at their centres */
    grid_sample("bicubic", "border", 1, corners, 4, y);
    assert_close(y, (float[]){1, 2, 4, 2.5f}, 4, 1e-5f);

    /* errors: unknown mode; grid not [N, H, W, 2] */
    float img[4] = {0};
    struct tg *t = tg_new("GridSample", 16, 2, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 4, (int64_t[]){1, 1, 2, 2}, img, 1);
    tg_in(t, 1, KILN_DTYPE_F32, 4, (int64_t[]){1, 1, 1, 2}, corners, 1);
    tg_str(t, "mode", "cubic");
    assert_int_equal(tg_run(t, NULL, NULL), KILN_STATUS_INVALID_MODEL);
    tg_free(t);
    t = tg_new("GridSample", 16, 2, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 4, (int64_t[]){1, 1, 2, 2}, img, 1);
    tg_in(t, 1, KILN_DTYPE_F32, 4, (int64_t[]){1, 1, 2, 1}, corners, 1);
    assert_int_equal(tg_run(t, NULL, NULL), KILN_STATUS_INVALID_MODEL);
    tg_free(t);
}

/* ---- RoiAlign ---- */

static void test_roi_align(void **state)
{
    (void)state;
    /* 4x4 ramp x[r][c] = c; one roi [0, 0, 4, 4] in half_pixel mode, 2x2 output, 1 sample per
     * bin: sample x = bin centre - 0.5 = 0.5 and 2.5 -> bilinear gives 0.5 and 2.5 */
    float x[16], y[4];
    for (int i = 0; i < 16; i++)
        x[i] = (float)(i % 4);
    float rois[4] = {0, 0, 4, 4};
    int64_t bi[1] = {0};
    for (int mode = 0; mode < 2; mode++) {
        struct tg *t = tg_new("RoiAlign", 16, 3, 1);
        tg_in(t, 0, KILN_DTYPE_F32, 4, (int64_t[]){1, 1, 4, 4}, x, 1);
        tg_in(t, 1, KILN_DTYPE_F32, 2, (int64_t[]){1, 4}, rois, 1);
        tg_in(t, 2, KILN_DTYPE_I64, 1, (int64_t[]){1}, bi, 1);
        tg_int(t, "output_height", 2);
        tg_int(t, "output_width", 2);
        tg_int(t, "sampling_ratio", 1);
        if (mode)
            tg_str(t, "mode", "max");
        assert_int_equal(tg_run(t, y, NULL), KILN_STATUS_OK);
        assert_dims(t, 0, 4, (int64_t[]){1, 1, 2, 2});
        /* max mode keeps the largest weighted corner: 0.25 * 1 and 0.25 * 3 */
        float w0 = mode ? 0.25f : 0.5f, w1 = mode ? 0.75f : 2.5f;
        assert_close(y, (float[]){w0, w1, w0, w1}, 4, 1e-6f);
        tg_free(t);
    }
    /* opset 10 (output_half_pixel): samples at 1 and 3 */
    struct tg *t = tg_new("RoiAlign", 10, 3, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 4, (int64_t[]){1, 1, 4, 4}, x, 1);
    tg_in(t, 1, KILN_DTYPE_F32, 2, (int64_t[]){1, 4}, rois, 1);
    tg_in(t, 2, KILN_DTYPE_I64, 1, (int64_t[]){1}, bi, 1);
    tg_int(t, "output_height", 2);
    tg_int(t, "output_width", 2);
    tg_int(t, "sampling_ratio", 1);
    assert_int_equal(tg_run(t, y, NULL), KILN_STATUS_OK);
    assert_close(y, (float[]){1, 3, 1, 3}, 4, 1e-6f);
    tg_free(t);
    /* rois must be [num, 4] */
    t = tg_new("RoiAlign", 16, 3, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 4, (int64_t[]){1, 1, 4, 4}, x, 1);
    tg_in(t, 1, KILN_DTYPE_F32, 2, (int64_t[]){1, 3}, rois, 1);
    tg_in(t, 2, KILN_DTYPE_I64, 1, (int64_t[]){1}, bi, 1);
    assert_int_equal(tg_run(t, NULL, NULL), KILN_STATUS_INVALID_MODEL);
    tg_free(t);
}

/* ---- NonMaxSuppression ---- */

static void test_nms(void **state)
{
    (void)state;
    /* boxes 0 and 1 overlap with IoU 0.81/1.19 = 0.68; box 2 is apart; box 3 scores below
     * the threshold. Class 0 keeps 2 then 0; class 1 keeps 1 then 2 (0 overlaps 1). */
    float boxes[16] = {0, 0, 1, 1, 0.1f, 0.1f, 1, 1, 5, 5, 6, 6, 0, 0, 0.5f, 0.5f};
    float scores[8] = {0.8f, 0.7f, 0.9f, 0.1f, 0.5f, 0.6f, 0.55f, 0.05f};
    int64_t max_out = 5;
    float iou = 0.5f, thr = 0.2f;
    int64_t y[12];
    struct tg *t = tg_new("NonMaxSuppression", 11, 5, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 3, (int64_t[]){1, 4, 4}, boxes, 0);
    tg_in(t, 1, KILN_DTYPE_F32, 3, (int64_t[]){1, 2, 4}, scores, 0);
    tg_in(t, 2, KILN_DTYPE_I64, 1, (int64_t[]){1}, &max_out, 0);
    tg_in(t, 3, KILN_DTYPE_F32, 1, (int64_t[]){1}, &iou, 0);
    tg_in(t, 4, KILN_DTYPE_F32, 1, (int64_t[]){1}, &thr, 0);
    kiln_ir_count_uses(t->g);
    assert_int_equal(kiln_infer(t->g, &t->d), KILN_STATUS_OK);
    assert_dims(t, 0, 2, (int64_t[]){4, 3});
    assert_non_null(t->n->out[0]->data); /* folded at compile time */
    memcpy(y, t->n->out[0]->data, sizeof(int64_t) * 12);
    int64_t want[12] = {0, 0, 2, 0, 0, 0, 0, 1, 1, 0, 1, 2};
    assert_memory_equal(y, want, sizeof want);
    tg_free(t);

    /* center_point_box=1 with a per-class limit of 1 and no thresholds given */
    float cboxes[8] = {0.5f, 0.5f, 1, 1, 0.5f, 0.6f, 1, 1};
    float cs[2] = {0.3f, 0.9f};
    max_out = 1;
    t = tg_new("NonMaxSuppression", 11, 3, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 3, (int64_t[]){1, 2, 4}, cboxes, 0);
    tg_in(t, 1, KILN_DTYPE_F32, 3, (int64_t[]){1, 1, 2}, cs, 0);
    tg_in(t, 2, KILN_DTYPE_I64, 1, (int64_t[]){1}, &max_out, 0);
    tg_int(t, "center_point_box", 1);
    kiln_ir_count_uses(t->g);
    assert_int_equal(kiln_infer(t->g, &t->d), KILN_STATUS_OK);
    assert_dims(t, 0, 2, (int64_t[]){1, 3});
    assert_int_equal(((const int64_t *)t->n->out[0]->data)[2], 1);
    tg_free(t);

    /* flipped corners give the same box; centre boxes 2x2 one apart overlap by 2 of 6 */
    float a[4] = {0, 0, 2, 2}, fl[4] = {2, 2, 0, 0}, c1[4] = {1, 1, 2, 2}, c2[4] = {2, 1, 2, 2};
    assert_float_equal(kiln_nms_iou(a, fl, 0), 1.0f, 1e-7);
    assert_float_equal(kiln_nms_iou(c1, c2, 1), 1.0f / 3, 1e-7);

    /* run-time boxes: the output is bounded (1 batch x 2 classes x min(4 boxes, 3)) and the
     * run sets the selection count; the same selection as the folded node */
    int64_t folded[24], got[24];
    int64_t n_folded = 0;
    for (int runtime = 0; runtime < 2; runtime++) {
        int64_t three = 3;
        t = tg_new("NonMaxSuppression", 11, 3, 1);
        tg_in(t, 0, KILN_DTYPE_F32, 3, (int64_t[]){1, 4, 4}, boxes, runtime);
        tg_in(t, 1, KILN_DTYPE_F32, 3, (int64_t[]){1, 2, 4}, scores, 0);
        tg_in(t, 2, KILN_DTYPE_I64, 1, (int64_t[]){1}, &three, 0);
        if (!runtime) {
            kiln_ir_count_uses(t->g);
            assert_int_equal(kiln_infer(t->g, &t->d), KILN_STATUS_OK);
            n_folded = t->n->out[0]->dims[0];
            memcpy(folded, t->n->out[0]->data, (size_t)n_folded * 3 * sizeof *folded);
        } else {
            assert_int_equal(tg_run(t, got, NULL), KILN_STATUS_OK);
            assert_dims(t, 0, 2, (int64_t[]){6, 3});
            assert_true(t->n->out[0]->runtime_dims);
            assert_int_equal(t->ext[0][0], n_folded);
            assert_memory_equal(got, folded, (size_t)n_folded * 3 * sizeof *got);
        }
        tg_free(t);
    }
    assert_true(n_folded > 0);
    /* scores must match boxes */
    t = tg_new("NonMaxSuppression", 11, 2, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 3, (int64_t[]){1, 4, 4}, boxes, 0);
    tg_in(t, 1, KILN_DTYPE_F32, 3, (int64_t[]){1, 2, 3}, scores, 0);
    assert_int_equal(tg_run(t, NULL, NULL), KILN_STATUS_INVALID_MODEL);
    tg_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_transpose_vs_naive),
        cmocka_unit_test(test_conv_transpose_by_hand_and_act),
        cmocka_unit_test(test_conv_transpose_errors),
        cmocka_unit_test(test_layer_norm),
        cmocka_unit_test(test_instance_norm_and_mvn),
        cmocka_unit_test(test_lrn_and_lp_norm),
        cmocka_unit_test(test_lp_pool_and_unpool),
        cmocka_unit_test(test_grid_sample),
        cmocka_unit_test(test_roi_align),
        cmocka_unit_test(test_nms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
