/* test_shape_ops.c - data-movement and reduction ops (Transpose, Concat, Gather, Slice, Pad,
 * Expand, ConstantOfShape, Range, Reduce*, ArgMax/ArgMin): one-node graphs built by hand, run
 * through inference, lowering and the interpreter, compared with hand-computed values; plus
 * the inference errors (bad attributes, non-constant shape-deciding inputs). */
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

/* one-node graphs: tests/unit/graph_harness.h */

static const float iota12[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};

/* ---- Transpose ---- */

static void test_transpose(void **state)
{
    (void)state;
    /* default perm reverses: [2,3] -> [3,2] */
    struct tg *t = tg_new("Transpose", 13, 1, 1);
    tg_input(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){2, 3});
    float y[12];
    assert_int_equal(tg_feed(t, (const void *[]){iota12}, y), KILN_STATUS_OK);
    assert_dims(t, 0, 2, (int64_t[]){3, 2});
    assert_close(y, (float[]){0, 3, 1, 4, 2, 5}, 6, 1e-5f);
    tg_free(t);

    /* [2,3,2] perm [2,0,1] -> [2,2,3]: y[k][i][j] = x[i][j][k] = 6i + 2j + k */
    t = tg_new("Transpose", 13, 1, 1);
    tg_input(t, 0, KILN_DTYPE_F32, 3, (int64_t[]){2, 3, 2});
    tg_ints(t, "perm", 3, (int64_t[]){2, 0, 1});
    assert_int_equal(tg_feed(t, (const void *[]){iota12}, y), KILN_STATUS_OK);
    assert_dims(t, 0, 3, (int64_t[]){2, 2, 3});
    assert_close(y, (float[]){0, 2, 4, 6, 8, 10, 1, 3, 5, 7, 9, 11}, 12, 1e-5f);
    tg_free(t);
}

/* NCHW -> NHWC and back on int16 (element size 2), against the index formula. */
static void test_transpose_nchw_nhwc(void **state)
{
    (void)state;
    enum { N = 2, C = 3, H = 4, W = 5, TOT = N * C * H * W };
    int16_t x[TOT], y[TOT], z[TOT];
    for (int i = 0; i < TOT; i++)
        x[i] = (int16_t)(i * 7 - 100);
    struct tg *t = tg_new("Transpose", 13, 1, 1);
    tg_input(t, 0, KILN_DTYPE_I16, 4, (int64_t[]){N, C, H, W});
    tg_ints(t, "perm", 4, (int64_t[]){0, 2, 3, 1});
    assert_int_equal(tg_feed(t, (const void *[]){x}, y), KILN_STATUS_OK);
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int h = 0; h < H; h++)
                for (int w = 0; w < W; w++)
                    assert_int_equal(y[((n * H + h) * W + w) * C + c],
                                     x[((n * C + c) * H + h) * W + w]);
    tg_free(t);
    t = tg_new("Transpose", 13, 1, 1);
    tg_input(t, 0, KILN_DTYPE_I16, 4, (int64_t[]){N, H, W, C});
    tg_ints(t, "perm", 4, (int64_t[]){0, 3, 1, 2});
    assert_int_equal(tg_feed(t, (const void *[]){y}, z), KILN_STATUS_OK);
    assert_memory_equal(x, z, sizeof x);
    tg_free(t);
}

/* ---- Concat ---- */

static void run_concat(int64_t axis, const int64_t *da, const int64_t *db, const float *a,
                       const float *b, const int64_t *dy, const float *want, int n)
{
    struct tg *t = tg_new("Concat", 13, 2, 1);
    tg_input(t, 0, KILN_DTYPE_F32, 2, da);
    tg_input(t, 1, KILN_DTYPE_F32, 2, db);
    tg_int(t, "axis", axis);
    float y[16];
    assert_int_equal(tg_feed(t, (const void *[]){a, b}, y), KILN_STATUS_OK);
    assert_dims(t, 0, 2, dy);
    assert_close(y, want, n, 1e-5f);
    tg_free(t);
}

static void test_concat(void **state)
{
    (void)state;
    const float a[] = {1, 2, 3, 4}, b[] = {5, 6, 7, 8};
    run_concat(0, (int64_t[]){2, 2}, (int64_t[]){2, 2}, a, b, (int64_t[]){4, 2},
               (float[]){1, 2, 3, 4, 5, 6, 7, 8}, 8);
    run_concat(1, (int64_t[]){2, 2}, (int64_t[]){2, 2}, a, b, (int64_t[]){2, 4},
               (float[]){1, 2, 5, 6, 3, 4, 7, 8}, 8);
    /* uneven, negative axis: [2,2] ++ [2,1] on axis -1 */
    run_concat(-1, (int64_t[]){2, 2}, (int64_t[]){2, 1}, a, b, (int64_t[]){2, 3},
               (float[]){1, 2, 5, 3, 4, 6}, 6);
    /* a zero-size input contributes nothing */
    run_concat(0, (int64_t[]){0, 2}, (int64_t[]){2, 2}, a, b, (int64_t[]){2, 2},
               (float[]){5, 6, 7, 8}, 4);
}

static void test_concat_errors(void **state)
{
    (void)state;
    struct tg *t = tg_new("Concat", 13, 2, 1);
    tg_input(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){2, 2});
    tg_input(t, 1, KILN_DTYPE_F32, 2, (int64_t[]){3, 3});
    tg_int(t, "axis", 0);
    tg_expect_err(t, KILN_STATUS_INVALID_MODEL, "dimension 3 at axis 1");
    tg_free(t);
    t = tg_new("Concat", 13, 2, 1);
    tg_input(t, 0, KILN_DTYPE_F32, 1, (int64_t[]){2});
    tg_input(t, 1, KILN_DTYPE_F32, 1, (int64_t[]){3});
    tg_expect_err(t, KILN_STATUS_INVALID_MODEL, "'axis' is required");
    tg_free(t);
}

/* ---- Gather ---- */

static void test_gather(void **state)
{
    (void)state;
    /* x [3,4] = iota; axis 0, indices [-1, 0] (run-time, int32) */
    struct tg *t = tg_new("Gather", 13, 2, 1);
    tg_input(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){3, 4});
    tg_input(t, 1, KILN_DTYPE_I32, 1, (int64_t[]){2});
    float y[16];
    int32_t i0[] = {-1, 0};
    assert_int_equal(tg_feed(t, (const void *[]){iota12, i0}, y), KILN_STATUS_OK);
    assert_dims(t, 0, 2, (int64_t[]){2, 4});
    assert_close(y, (float[]){8, 9, 10, 11, 0, 1, 2, 3}, 8, 1e-5f);
    tg_free(t);

    /* axis 1, constant indices [[-4], [2]] (int64) -> [3,2,1] */
    t = tg_new("Gather", 13, 2, 1);
    tg_input(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){3, 4});
    tg_const(t, 1, KILN_DTYPE_I64, 2, (int64_t[]){2, 1}, (int64_t[]){-4, 2});
    tg_int(t, "axis", 1);
    assert_int_equal(tg_feed(t, (const void *[]){iota12}, y), KILN_STATUS_OK);
    assert_dims(t, 0, 3, (int64_t[]){3, 2, 1});
    assert_close(y, (float[]){0, 2, 4, 6, 8, 10}, 6, 1e-5f);
    tg_free(t);

    /* out of range at run time is undefined in ONNX: clamped, never read out of bounds */
    t = tg_new("Gather", 13, 2, 1);
    tg_input(t, 0, KILN_DTYPE_F32, 1, (int64_t[]){3});
    tg_input(t, 1, KILN_DTYPE_I64, 1, (int64_t[]){2});
    int64_t bad[] = {7, -9};
    assert_int_equal(tg_feed(t, (const void *[]){iota12, bad}, y), KILN_STATUS_OK);
    assert_close(y, (float[]){2, 0}, 2, 1e-5f);
    tg_free(t);

    /* constant out-of-range indices are rejected */
    t = tg_new("Gather", 13, 2, 1);
    tg_input(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){3, 4});
    tg_i64s(t, 1, 2, (int64_t[]){0, -5});
    tg_int(t, "axis", 1);
    tg_expect_err(t, KILN_STATUS_INVALID_MODEL, "index -5");
    tg_free(t);
}

/* ---- Slice ---- */

static const float iota10[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};

/* 1-D Slice of iota10 at opset 13 with constant starts, ends, steps. */
static void run_slice1(int64_t s, int64_t e, int64_t step, const float *want, int64_t n)
{
    struct tg *t = tg_new("Slice", 13, 5, 1);
    tg_input(t, 0, KILN_DTYPE_F32, 1, (int64_t[]){10});
    tg_i64s(t, 1, 1, &s);
    tg_i64s(t, 2, 1, &e);
    tg_i64s(t, 4, 1, &step);
    float y[10];
    assert_int_equal(tg_feed(t, (const void *[]){iota10}, y), KILN_STATUS_OK);
    assert_dims(t, 0, 1, &n);
    assert_close(y, want, (int)n, 1e-5f);
    tg_free(t);
}

static void test_slice(void **state)
{
    (void)state;
    run_slice1(2, 1000, 1, (float[]){2, 3, 4, 5, 6, 7, 8, 9}, 8);      /* end clamped */
    run_slice1(-3, INT64_MAX, 1, (float[]){7, 8, 9}, 3);              /* sentinel end */
    run_slice1(-1, INT64_MIN, -3, (float[]){9, 6, 3, 0}, 4);          /* negative step */
    run_slice1(100, -100, -4, (float[]){9, 5, 1}, 3);                 /* both clamped */
    run_slice1(5, 2, 1, (float[]){0}, 0);                             /* empty */
    run_slice1(-100, 3, 2, (float[]){0, 2}, 2);                       /* start clamped */

    /* 2-D, axes [-1] only: x [3,4], columns 3..0 step -2 -> [3,2] */
    struct tg *t = tg_new("Slice", 13, 5, 1);
    tg_input(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){3, 4});
    tg_i64s(t, 1, 1, (int64_t[]){3});
    tg_i64s(t, 2, 1, (int64_t[]){-5});
    tg_i64s(t, 3, 1, (int64_t[]){-1});
    tg_i64s(t, 4, 1, (int64_t[]){-2});
    float y[12];
    assert_int_equal(tg_feed(t, (const void *[]){iota12}, y), KILN_STATUS_OK);
    assert_dims(t, 0, 2, (int64_t[]){3, 2});
    assert_close(y, (float[]){3, 1, 7, 5, 11, 9}, 6, 1e-5f);
    tg_free(t);

    /* opset 9: attributes; rows 1.., columns 1..3 */
    t = tg_new("Slice", 9, 1, 1);
    tg_input(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){3, 4});
    tg_ints(t, "starts", 2, (int64_t[]){1, 1});
    tg_ints(t, "ends", 2, (int64_t[]){INT64_MAX, 3});
    assert_int_equal(tg_feed(t, (const void *[]){iota12}, y), KILN_STATUS_OK);
    assert_dims(t, 0, 2, (int64_t[]){2, 2});
    assert_close(y, (float[]){5, 6, 9, 10}, 4, 1e-5f);
    tg_free(t);
}

static void test_slice_errors(void **state)
{
    (void)state;
    /* starts given at run time: kiln needs it constant, and says which input */
    struct tg *t = tg_new("Slice", 13, 3, 1);
    tg_input(t, 0, KILN_DTYPE_F32, 1, (int64_t[]){10});
    tg_input(t, 1, KILN_DTYPE_I64, 1, (int64_t[]){1});
    tg_i64s(t, 2, 1, (int64_t[]){5});
    tg_expect_err(t, KILN_STATUS_UNSUPPORTED, "'x1' (starts)");
    tg_free(t);
    t = tg_new("Slice", 13, 5, 1);
    tg_input(t, 0, KILN_DTYPE_F32, 1, (int64_t[]){10});
    tg_i64s(t, 1, 1, (int64_t[]){0});
    tg_i64s(t, 2, 1, (int64_t[]){5});
    tg_i64s(t, 4, 1, (int64_t[]){0});
    tg_expect_err(t, KILN_STATUS_INVALID_MODEL, "is 0");
    tg_free(t);
    t = tg_new("Slice", 13, 4, 1);
    tg_input(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){2, 5});
    tg_i64s(t, 1, 2, (int64_t[]){0, 0});
    tg_i64s(t, 2, 2, (int64_t[]){1, 1});
    tg_i64s(t, 3, 2, (int64_t[]){1, -1});
    tg_expect_err(t, KILN_STATUS_INVALID_MODEL, "repeated");
    tg_free(t);
}

/* ---- Pad ---- */

/* Pads x [2,3] = {1..6} at opset 13 (constant pads input, constant_value 9 when given). */
static void run_pad(const char *mode, const int64_t *pads, const int64_t *dy, const float *want)
{
    static const float x[] = {1, 2, 3, 4, 5, 6}, nine = 9;
    struct tg *t = tg_new("Pad", 13, 3, 1);
    tg_input(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){2, 3});
    tg_i64s(t, 1, 4, pads);
    if (strcmp(mode, "constant") == 0)
        tg_const(t, 2, KILN_DTYPE_F32, 0, NULL, &nine);
    tg_str(t, "mode", mode);
    float y[64];
    assert_int_equal(tg_feed(t, (const void *[]){x}, y), KILN_STATUS_OK);
    assert_dims(t, 0, 2, dy);
    assert_close(y, want, (int)(dy[0] * dy[1]), 1e-5f);
    tg_free(t);
}

static void test_pad(void **state)
{
    (void)state;
    /* pads = [row_begin, col_begin, row_end, col_end] */
    run_pad("constant", (int64_t[]){1, 0, 0, 1}, (int64_t[]){3, 4},
            (float[]){9, 9, 9, 9, 1, 2, 3, 9, 4, 5, 6, 9});
    run_pad("reflect", (int64_t[]){0, 2, 1, 1}, (int64_t[]){3, 6},
            (float[]){3, 2, 1, 2, 3, 2, 6, 5, 4, 5, 6, 5, 3, 2, 1, 2, 3, 2});
    run_pad("edge", (int64_t[]){1, 1, 0, 2}, (int64_t[]){3, 6},
            (float[]){1, 1, 2, 3, 3, 3, 1, 1, 2, 3, 3, 3, 4, 4, 5, 6, 6, 6});
    run_pad("wrap", (int64_t[]){0, 1, 0, 2}, (int64_t[]){2, 6},
            (float[]){3, 1, 2, 3, 1, 2, 6, 4, 5, 6, 4, 5});
    /* negative pads crop: drop the first row and the last column, pad one column in front */
    run_pad("constant", (int64_t[]){-1, 1, 0, -1}, (int64_t[]){1, 3}, (float[]){9, 4, 5});
}

/* Opset 2 form: pads and value as attributes; int64 data. */
static void test_pad_attrs(void **state)
{
    (void)state;
    struct tg *t = tg_new("Pad", 2, 1, 1);
    tg_input(t, 0, KILN_DTYPE_I64, 1, (int64_t[]){2});
    tg_ints(t, "pads", 2, (int64_t[]){2, 1});
    struct kiln_ir_attr *a = tg_attr(t, "value", KILN_ATTR_FLOAT);
    a->f = -3;
    int64_t x[] = {10, 20}, y[5];
    assert_int_equal(tg_feed(t, (const void *[]){x}, y), KILN_STATUS_OK);
    expect_i64(y, (int64_t[]){-3, -3, 10, 20, -3}, 5);
    tg_free(t);
}

static void test_pad_errors(void **state)
{
    (void)state;
    struct tg *t = tg_new("Pad", 13, 2, 1);
    tg_input(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){2, 3});
    tg_i64s(t, 1, 2, (int64_t[]){1, 1});
    tg_expect_err(t, KILN_STATUS_INVALID_MODEL, "expected 4");
    tg_free(t);
    t = tg_new("Pad", 13, 2, 1);
    tg_input(t, 0, KILN_DTYPE_F32, 1, (int64_t[]){2});
    tg_i64s(t, 1, 2, (int64_t[]){-2, -1});
    tg_expect_err(t, KILN_STATUS_INVALID_MODEL, "negative size");
    tg_free(t);
    t = tg_new("Pad", 13, 2, 1);
    tg_input(t, 0, KILN_DTYPE_F32, 1, (int64_t[]){2});
    tg_i64s(t, 1, 2, (int64_t[]){1, 1});
    tg_str(t, "mode", "mirror");
    tg_expect_err(t, KILN_STATUS_INVALID_MODEL, "mirror");
    tg_free(t);
}

/* ---- Expand ---- */

static void test_expand(void **state)
{
    (void)state;
    /* [3,1] with shape [2,1,2] -> [2,3,2] */
    struct tg *t = tg_new("Expand", 13, 2, 1);
    tg_input(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){3, 1});
    tg_i64s(t, 1, 3, (int64_t[]){2, 1, 2});
    float x[] = {1, 2, 3}, y[12];
    assert_int_equal(tg_feed(t, (const void *[]){x}, y), KILN_STATUS_OK);
    assert_dims(t, 0, 3, (int64_t[]){2, 3, 2});
    assert_close(y, (float[]){1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3}, 12, 1e-5f);
    tg_free(t);
    t = tg_new("Expand", 13, 2, 1);
    tg_input(t, 0, KILN_DTYPE_F32, 1, (int64_t[]){3});
    tg_i64s(t, 1, 1, (int64_t[]){2});
    tg_expect_err(t, KILN_STATUS_INVALID_MODEL, "cannot be broadcast");
    tg_free(t);
}

/* ---- ConstantOfShape, Range (always evaluated at compile time) ---- */

static void test_fill(void **state)
{
    (void)state;
    struct tg *t = tg_new("ConstantOfShape", 13, 1, 1);
    tg_i64s(t, 0, 2, (int64_t[]){2, 3});
    struct kiln_ir_attr *a = tg_attr(t, "value", KILN_ATTR_TENSOR);
    a->t = kiln_ir_value_detached(t->g, "v");
    a->t->dtype = KILN_DTYPE_I32;
    a->t->rank = 1;
    a->t->dims[0] = 1;
    static const int32_t seven = 7;
    a->t->data = &seven;
    assert_int_equal(tg_infer(t), KILN_STATUS_OK);
    assert_dims(t, 0, 2, (int64_t[]){2, 3});
    assert_int_equal(t->n->out[0]->dtype, KILN_DTYPE_I32);
    const int32_t *v = t->n->out[0]->data;
    assert_non_null(v);
    for (int i = 0; i < 6; i++)
        assert_int_equal(v[i], 7);
    tg_free(t);

    /* default value: float32 zeros */
    t = tg_new("ConstantOfShape", 13, 1, 1);
    tg_i64s(t, 0, 1, (int64_t[]){3});
    assert_int_equal(tg_infer(t), KILN_STATUS_OK);
    assert_int_equal(t->n->out[0]->dtype, KILN_DTYPE_F32);
    assert_close(t->n->out[0]->data, (float[]){0, 0, 0}, 3, 1e-5f);
    tg_free(t);

    /* Range(10, 3, -3) int32 -> [10, 7, 4] */
    t = tg_new("Range", 13, 3, 1);
    static const int32_t s = 10, l = 3, d = -3;
    tg_const(t, 0, KILN_DTYPE_I32, 0, NULL, &s);
    tg_const(t, 1, KILN_DTYPE_I32, 0, NULL, &l);
    tg_const(t, 2, KILN_DTYPE_I32, 0, NULL, &d);
    assert_int_equal(tg_infer(t), KILN_STATUS_OK);
    assert_dims(t, 0, 1, (int64_t[]){3});
    const int32_t *r = t->n->out[0]->data;
    assert_int_equal(r[0], 10);
    assert_int_equal(r[1], 7);
    assert_int_equal(r[2], 4);
    tg_free(t);

    /* Range(1, 2, 0.3) float32 -> [1, 1.3, 1.6, 1.9] */
    t = tg_new("Range", 13, 3, 1);
    static const float fs = 1, fl = 2, fd = 0.3f;
    tg_const(t, 0, KILN_DTYPE_F32, 0, NULL, &fs);
    tg_const(t, 1, KILN_DTYPE_F32, 0, NULL, &fl);
    tg_const(t, 2, KILN_DTYPE_F32, 0, NULL, &fd);
    assert_int_equal(tg_infer(t), KILN_STATUS_OK);
    assert_dims(t, 0, 1, (int64_t[]){4});
    assert_close(t->n->out[0]->data, (float[]){1, 1.3f, 1.6f, 1.9f}, 4, 1e-5f);
    tg_free(t);

    /* a run-time limit decides the length: unsupported, naming the input */
    t = tg_new("Range", 13, 3, 1);
    tg_const(t, 0, KILN_DTYPE_I32, 0, NULL, &s);
    tg_input(t, 1, KILN_DTYPE_I32, 0, NULL);
    tg_const(t, 2, KILN_DTYPE_I32, 0, NULL, &d);
    tg_expect_err(t, KILN_STATUS_UNSUPPORTED, "'x1' (limit)");
    tg_free(t);
}

/* ---- reductions ---- */

/* Reduces x [2,3,2] = iota12 (float32) with op at opset 11 (axes attribute). */
static void run_reduce(const char *op, size_t na, const int64_t *axes, int64_t keepdims,
                       int rank, const int64_t *dy, const float *want)
{
    struct tg *t = tg_new(op, 11, 1, 1);
    tg_input(t, 0, KILN_DTYPE_F32, 3, (int64_t[]){2, 3, 2});
    if (na)
        tg_ints(t, "axes", na, axes);
    tg_int(t, "keepdims", keepdims);
    float y[12];
    assert_int_equal(tg_feed(t, (const void *[]){iota12}, y), KILN_STATUS_OK);
    assert_dims(t, 0, rank, dy);
    int64_t n = 1;
    for (int i = 0; i < rank; i++)
        n *= dy[i];
    assert_close(y, want, (int)n, 1e-5f);
    tg_free(t);
}

static void test_reduce(void **state)
{
    (void)state;
    /* x[i][j][k] = 6i + 2j + k */
    run_reduce("ReduceSum", 2, (int64_t[]){0, 2}, 1, 3, (int64_t[]){1, 3, 1},
               (float[]){14, 22, 30});
    run_reduce("ReduceSum", 2, (int64_t[]){0, -1}, 0, 1, (int64_t[]){3}, (float[]){14, 22, 30});
    run_reduce("ReduceMean", 0, NULL, 0, 0, NULL, (float[]){5.5f});
    run_reduce("ReduceMean", 0, NULL, 1, 3, (int64_t[]){1, 1, 1}, (float[]){5.5f});
    run_reduce("ReduceMax", 1, (int64_t[]){1}, 0, 2, (int64_t[]){2, 2},
               (float[]){4, 5, 10, 11});
    run_reduce("ReduceMin", 2, (int64_t[]){1, 2}, 1, 3, (int64_t[]){2, 1, 1}, (float[]){0, 6});
    run_reduce("ReduceProd", 1, (int64_t[]){2}, 0, 2, (int64_t[]){2, 3},
               (float[]){0, 6, 20, 42, 72, 110});
    run_reduce("ReduceL1", 1, (int64_t[]){0}, 0, 2, (int64_t[]){3, 2},
               (float[]){6, 8, 10, 12, 14, 16});
    run_reduce("ReduceSumSquare", 1, (int64_t[]){2}, 0, 2, (int64_t[]){2, 3},
               (float[]){1, 13, 41, 85, 145, 221});
    run_reduce("ReduceL2", 1, (int64_t[]){2}, 0, 2, (int64_t[]){2, 3},
               (float[]){1, sqrtf(13), sqrtf(41), sqrtf(85), sqrtf(145), sqrtf(221)});
    run_reduce("ReduceLogSum", 1, (int64_t[]){0}, 0, 2, (int64_t[]){3, 2},
               (float[]){logf(6), logf(8), logf(10), logf(12), logf(14), logf(16)});
    run_reduce("ReduceLogSumExp", 1, (int64_t[]){2}, 0, 2, (int64_t[]){2, 3},
               (float[]){logf(expf(0) + expf(1)), logf(expf(2) + expf(3)),
                         logf(expf(4) + expf(5)), logf(expf(6) + expf(7)),
                         logf(expf(8) + expf(9)), logf(expf(10) + expf(11))});
}

static void test_reduce_int_and_opset13(void **state)
{
    (void)state;
    /* int32 ReduceMax over axis 0 */
    struct tg *t = tg_new("ReduceMax", 11, 1, 1);
    tg_input(t, 0, KILN_DTYPE_I32, 2, (int64_t[]){2, 2});
    tg_ints(t, "axes", 1, (int64_t[]){0});
    int32_t xi[] = {-5, 7, -9, 3}, yi[2];
    assert_int_equal(tg_feed(t, (const void *[]){xi}, yi), KILN_STATUS_OK);
    assert_int_equal(yi[0], -5);
    assert_int_equal(yi[1], 7);
    tg_free(t);

    /* int32 ReduceMean truncates like integer division; ReduceLogSum of 0 (log 0 = -inf)
     * saturates to the type's minimum instead of an undefined conversion */
    t = tg_new("ReduceMean", 11, 1, 1);
    tg_input(t, 0, KILN_DTYPE_I32, 2, (int64_t[]){2, 2});
    tg_ints(t, "axes", 1, (int64_t[]){0});
    assert_int_equal(tg_feed(t, (const void *[]){xi}, yi), KILN_STATUS_OK);
    assert_int_equal(yi[0], -7);
    assert_int_equal(yi[1], 5);
    tg_free(t);
    t = tg_new("ReduceLogSum", 11, 1, 1);
    tg_input(t, 0, KILN_DTYPE_I32, 2, (int64_t[]){2, 2});
    tg_ints(t, "axes", 1, (int64_t[]){1});
    int32_t zi[] = {0, 0, 3, 4};
    assert_int_equal(tg_feed(t, (const void *[]){zi}, yi), KILN_STATUS_OK);
    assert_int_equal(yi[0], INT32_MIN);
    assert_int_equal(yi[1], 1); /* log 7 = 1.95 */
    tg_free(t);

    /* ReduceSum opset 13: axes input; empty axes with noop_with_empty_axes is the identity */
    t = tg_new("ReduceSum", 13, 2, 1);
    tg_input(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){2, 3});
    tg_i64s(t, 1, 0, NULL);
    tg_int(t, "noop_with_empty_axes", 1);
    float y[6];
    assert_int_equal(tg_feed(t, (const void *[]){iota12}, y), KILN_STATUS_OK);
    assert_dims(t, 0, 2, (int64_t[]){2, 3});
    assert_close(y, iota12, 6, 1e-5f);
    tg_free(t);

    /* ... and without noop, empty axes reduce everything */
    t = tg_new("ReduceSum", 13, 2, 1);
    tg_input(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){2, 3});
    tg_i64s(t, 1, 0, NULL);
    tg_int(t, "keepdims", 0);
    assert_int_equal(tg_feed(t, (const void *[]){iota12}, y), KILN_STATUS_OK);
    assert_dims(t, 0, 0, NULL);
    assert_close(y, (float[]){15}, 1, 1e-5f);
    tg_free(t);

    /* axes input given at run time: unsupported, naming it */
    t = tg_new("ReduceSum", 13, 2, 1);
    tg_input(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){2, 3});
    tg_input(t, 1, KILN_DTYPE_I64, 1, (int64_t[]){1});
    tg_expect_err(t, KILN_STATUS_UNSUPPORTED, "'x1' (axes)");
    tg_free(t);

    t = tg_new("ReduceMean", 11, 1, 1);
    tg_input(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){2, 3});
    tg_ints(t, "axes", 2, (int64_t[]){1, -1});
    tg_expect_err(t, KILN_STATUS_INVALID_MODEL, "repeated");
    tg_free(t);
}

static void run_arg(const char *op, int64_t axis, int64_t keepdims, int64_t last, int rank,
                    const int64_t *dy, const int64_t *want, int n)
{
    /* x [2,3]: rows {1, 3, 3} and {2, 2, 0} */
    static const float x[] = {1, 3, 3, 2, 2, 0};
    struct tg *t = tg_new(op, 13, 1, 1);
    tg_input(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){2, 3});
    tg_int(t, "axis", axis);
    tg_int(t, "keepdims", keepdims);
    tg_int(t, "select_last_index", last);
    int64_t y[6];
    assert_int_equal(tg_feed(t, (const void *[]){x}, y), KILN_STATUS_OK);
    assert_int_equal(t->n->out[0]->dtype, KILN_DTYPE_I64);
    assert_dims(t, 0, rank, dy);
    expect_i64(y, want, n);
    tg_free(t);
}

static void test_argmax(void **state)
{
    (void)state;
    run_arg("ArgMax", 1, 1, 0, 2, (int64_t[]){2, 1}, (int64_t[]){1, 0}, 2);
    run_arg("ArgMax", 1, 0, 1, 1, (int64_t[]){2}, (int64_t[]){2, 1}, 2);
    run_arg("ArgMax", 0, 0, 0, 1, (int64_t[]){3}, (int64_t[]){1, 0, 0}, 3);
    run_arg("ArgMin", -1, 0, 0, 1, (int64_t[]){2}, (int64_t[]){0, 2}, 2);
    run_arg("ArgMin", 0, 1, 1, 2, (int64_t[]){1, 3}, (int64_t[]){0, 1, 1}, 3);
}

static void test_transpose_errors(void **state)
{
    (void)state;
    struct tg *t = tg_new("Transpose", 13, 1, 1);
    tg_input(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){2, 3});
    tg_ints(t, "perm", 2, (int64_t[]){1, 1});
    tg_expect_err(t, KILN_STATUS_INVALID_MODEL, "not a permutation");
    tg_free(t);
    t = tg_new("Transpose", 13, 1, 1);
    tg_input(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){2, 3});
    tg_ints(t, "perm", 3, (int64_t[]){0, 1, 2});
    tg_expect_err(t, KILN_STATUS_INVALID_MODEL, "rank 2");
    tg_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transpose),
        cmocka_unit_test(test_transpose_nchw_nhwc),
        cmocka_unit_test(test_transpose_errors),
        cmocka_unit_test(test_concat),
        cmocka_unit_test(test_concat_errors),
        cmocka_unit_test(test_gather),
        cmocka_unit_test(test_slice),
        cmocka_unit_test(test_slice_errors),
        cmocka_unit_test(test_pad),
        cmocka_unit_test(test_pad_attrs),
        cmocka_unit_test(test_pad_errors),
        cmocka_unit_test(test_expand),
        cmocka_unit_test(test_fill),
        cmocka_unit_test(test_reduce),
        cmocka_unit_test(test_reduce_int_and_opset13),
        cmocka_unit_test(test_argmax),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
