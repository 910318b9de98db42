/* test_indexing.c - the data movement, indexing and sorting ops (Split, Tile, GatherElements,
 * GatherND, Scatter*, OneHot, Trilu, DepthToSpace, SpaceToDepth, EyeLike, ReverseSequence,
 * Compress, NonZero, CumSum, TopK, Einsum): one-node graphs built by hand, run through
 * inference, lowering and the interpreter, compared with hand-computed values; run-time
 * out-of-range indices; and the inference errors. */
#include <math.h>

#include "graph_harness.h"

static const float iota48[] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
                               16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
                               32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47};

/* ---- Split ---- */

static void test_split(void **state)
{
    (void)state;
    float a[6], b[6], c[6];
    /* opset 13: explicit uneven sizes as an input */
    struct tg *t = tg_new("Split", 13, 2, 2);
    tg_input(t, 0, KILN_DTYPE_F32, 1, (int64_t[]){6});
    tg_i64s(t, 1, 2, (int64_t[]){2, 4});
    assert_int_equal(tg_feed_n(t, (const void *[]){iota48}, (void *[]){a, b}), KILN_STATUS_OK);
    assert_dims(t, 0, 1, (int64_t[]){2});
    assert_dims(t, 1, 1, (int64_t[]){4});
    assert_close(a, (float[]){0, 1}, 2, 1e-5f);
    assert_close(b, (float[]){2, 3, 4, 5}, 4, 1e-5f);
    tg_free(t);

    /* opset 11: sizes as an attribute, axis -1 of [2,3] */
    t = tg_new("Split", 11, 1, 2);
    tg_input(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){2, 3});
    tg_int(t, "axis", -1);
    tg_ints(t, "split", 2, (int64_t[]){1, 2});
    assert_int_equal(tg_feed_n(t, (const void *[]){iota48}, (void *[]){a, b}), KILN_STATUS_OK);
    assert_dims(t, 1, 2, (int64_t[]){2, 2});
    assert_close(a, (float[]){0, 3}, 2, 1e-5f);
    assert_close(b, (float[]){1, 2, 4, 5}, 4, 1e-5f);
    tg_free(t);

    /* equal parts when no sizes are given: [2,6] axis 1 into 3 */
    t = tg_new("Split", 13, 1, 3);
    tg_input(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){2, 6});
    tg_int(t, "axis", 1);
    assert_int_equal(tg_feed_n(t, (const void *[]){iota48}, (void *[]){a, b, c}), KILN_STATUS_OK);
    assert_dims(t, 2, 2, (int64_t[]){2, 2});
    assert_close(a, (float[]){0, 1, 6, 7}, 4, 1e-5f);
    assert_close(b, (float[]){2, 3, 8, 9}, 4, 1e-5f);
    assert_close(c, (float[]){4, 5, 10, 11}, 4, 1e-5f);
    tg_free(t);
}

static void test_split_errors(void **state)
{
    (void)state;
    struct tg *t = tg_new("Split", 13, 2, 2);
    tg_input(t, 0, KILN_DTYPE_F32, 1, (int64_t[]){6});
    tg_i64s(t, 1, 2, (int64_t[]){2, 3});
    tg_expect_err(t, KILN_STATUS_INVALID_MODEL, "add up to 5");
    tg_free(t);
    t = tg_new("Split", 13, 1, 4);
    tg_input(t, 0, KILN_DTYPE_F32, 1, (int64_t[]){6});
    tg_expect_err(t, KILN_STATUS_INVALID_MODEL, "does not split evenly");
    tg_free(t);
    t = tg_new("Split", 13, 2, 2);
    tg_input(t, 0, KILN_DTYPE_F32, 1, (int64_t[]){6});
    tg_input(t, 1, KILN_DTYPE_I64, 1, (int64_t[]){2});
    tg_expect_err(t, KILN_STATUS_UNSUPPORTED, "known at compile time");
    tg_free(t);
}

/* ---- Tile ---- */

static void test_tile(void **state)
{
    (void)state;
    const float x[] = {1, 2, 3, 4};
    float y[16];
    struct tg *t = tg_new("Tile", 13, 2, 1);
    tg_input(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){2, 2});
    tg_i64s(t, 1, 2, (int64_t[]){2, 2});
    assert_int_equal(tg_feed(t, (const void *[]){x}, y), KILN_STATUS_OK);
    assert_dims(t, 0, 2, (int64_t[]){4, 4});
    assert_close(y, (float[]){1, 2, 1, 2, 3, 4, 3, 4, 1, 2, 1, 2, 3, 4, 3, 4}, 16, 1e-5f);
    tg_free(t);

    t = tg_new("Tile", 13, 2, 1);
    tg_input(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){2, 2});
    tg_i64s(t, 1, 1, (int64_t[]){2});
    tg_expect_err(t, KILN_STATUS_INVALID_MODEL, "repeats has 1 entries");
    tg_free(t);
}

/* ---- GatherElements, GatherND ---- */

static void run_gather_elements(int64_t axis, const int64_t *idims, const int64_t *ind,
                                const float *want, int n)
{
    const float x[] = {1, 2, 3, 4};
    float y[4];
    struct tg *t = tg_new("GatherElements", 13, 2, 1);
    tg_input(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){2, 2});
    tg_const(t, 1, KILN_DTYPE_I64, 2, idims, ind);
    tg_int(t, "axis", axis);
    assert_int_equal(tg_feed(t, (const void *[]){x}, y), KILN_STATUS_OK);
    assert_dims(t, 0, 2, idims);
    assert_close(y, want, n, 1e-5f);
    tg_free(t);
}

static void test_gather_elements(void **state)
{
    (void)state;
    run_gather_elements(1, (int64_t[]){2, 2}, (int64_t[]){0, 0, 1, 0}, (float[]){1, 1, 4, 3}, 4);
    run_gather_elements(1, (int64_t[]){2, 2}, (int64_t[]){-1, 0, -2, -1}, (float[]){2, 1, 3, 4},
                        4);
    run_gather_elements(0, (int64_t[]){1, 2}, (int64_t[]){1, -2}, (float[]){3, 2}, 2);

    /* run-time indices out of range are clamped: 5 -> 1, -7 -> 0 */
    const float x[] = {1, 2, 3, 4};
    const int64_t ind[] = {5, -7};
    float y[2];
    struct tg *t = tg_new("GatherElements", 13, 2, 1);
    tg_input(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){2, 2});
    tg_input(t, 1, KILN_DTYPE_I64, 2, (int64_t[]){1, 2});
    tg_int(t, "axis", 1);
    assert_int_equal(tg_feed(t, (const void *[]){x, ind}, y), KILN_STATUS_OK);
    assert_close(y, (float[]){2, 1}, 2, 1e-5f);
    tg_free(t);

    /* constant indices out of range are a compile-time error */
    t = tg_new("GatherElements", 13, 2, 1);
    tg_input(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){2, 2});
    tg_const(t, 1, KILN_DTYPE_I64, 2, (int64_t[]){1, 2}, ind);
    tg_int(t, "axis", 1);
    tg_expect_err(t, KILN_STATUS_INVALID_MODEL, "index 5");
    tg_free(t);
}

static void test_gather_nd(void **state)
{
    (void)state;
    const int32_t x[] = {0, 1, 2, 3, 4, 5, 6, 7};
    int32_t y[8];
    /* full tuples, one negative: [[0,0],[-1,-1]] of [[0,1],[2,3]] */
    struct tg *t = tg_new("GatherND", 13, 2, 1);
    tg_input(t, 0, KILN_DTYPE_I32, 2, (int64_t[]){2, 2});
    tg_const(t, 1, KILN_DTYPE_I64, 2, (int64_t[]){2, 2}, (int64_t[]){0, 0, -1, -1});
    assert_int_equal(tg_feed(t, (const void *[]){x}, y), KILN_STATUS_OK);
    assert_dims(t, 0, 1, (int64_t[]){2});
    assert_int_equal(y[0], 0);
    assert_int_equal(y[1], 3);
    tg_free(t);
    /* slices: [[1],[0]] -> rows */
    t = tg_new("GatherND", 13, 2, 1);
    tg_input(t, 0, KILN_DTYPE_I32, 2, (int64_t[]){2, 2});
    tg_const(t, 1, KILN_DTYPE_I64, 2, (int64_t[]){2, 1}, (int64_t[]){1, 0});
    assert_int_equal(tg_feed(t, (const void *[]){x}, y), KILN_STATUS_OK);
    assert_dims(t, 0, 2, (int64_t[]){2, 2});
    assert_memory_equal(y, ((int32_t[]){2, 3, 0, 1}), 4 * sizeof(int32_t));
    tg_free(t);
    /* batch_dims 1: data [2,2,2], indices [[1],[0]] -> [[2,3],[4,5]] */
    t = tg_new("GatherND", 13, 2, 1);
    tg_input(t, 0, KILN_DTYPE_I32, 3, (int64_t[]){2, 2, 2});
    tg_const(t, 1, KILN_DTYPE_I64, 2, (int64_t[]){2, 1}, (int64_t[]){1, 0});
    tg_int(t, "batch_dims", 1);
    assert_int_equal(tg_feed(t, (const void *[]){x}, y), KILN_STATUS_OK);
    assert_dims(t, 0, 2, (int64_t[]){2, 2});
    assert_memory_equal(y, ((int32_t[]){2, 3, 4, 5}), 4 * sizeof(int32_t));
    tg_free(t);
    /* errors: tuple too long, constant index out of range */
    t = tg_new("GatherND", 13, 2, 1);
    tg_input(t, 0, KILN_DTYPE_I32, 2, (int64_t[]){2, 2});
    tg_const(t, 1, KILN_DTYPE_I64, 2, (int64_t[]){1, 3}, (int64_t[]){0, 0, 0});
    tg_expect_err(t, KILN_STATUS_INVALID_MODEL, "must be in [1, 2]");
    tg_free(t);
    t = tg_new("GatherND", 13, 2, 1);
    tg_input(t, 0, KILN_DTYPE_I32, 2, (int64_t[]){2, 2});
    tg_const(t, 1, KILN_DTYPE_I64, 2, (int64_t[]){1, 2}, (int64_t[]){0, 2});
    tg_expect_err(t, KILN_STATUS_INVALID_MODEL, "out of range");
    tg_free(t);
}

/* ---- Scatter, ScatterElements, ScatterND ---- */

static void run_scatter_elements(const char *op, int64_t opset, const char *red,
                                 const int64_t *ind, const float *want)
{
    const float x[] = {1, 2, 3, 4, 5}, u[] = {1.1f, 2.1f};
    float y[5];
    struct tg *t = tg_new(op, opset, 3, 1);
    tg_input(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){1, 5});
    tg_const(t, 1, KILN_DTYPE_I64, 2, (int64_t[]){1, 2}, ind);
    tg_input(t, 2, KILN_DTYPE_F32, 2, (int64_t[]){1, 2});
    tg_int(t, "axis", 1);
    if (red)
        tg_str(t, "reduction", red);
    assert_int_equal(tg_feed(t, (const void *[]){x, u}, y), KILN_STATUS_OK);
    assert_dims(t, 0, 2, (int64_t[]){1, 5});
    assert_close(y, want, 5, 1e-5f);
    tg_free(t);
}

static void test_scatter_elements(void **state)
{
    (void)state;
    run_scatter_elements("ScatterElements", 13, NULL, (int64_t[]){1, 3},
                         (float[]){1, 1.1f, 3, 2.1f, 5});
    run_scatter_elements("ScatterElements", 13, NULL, (int64_t[]){1, -3},
                         (float[]){1, 1.1f, 2.1f, 4, 5});
    run_scatter_elements("Scatter", 9, NULL, (int64_t[]){-1, 0}, (float[]){2.1f, 2, 3, 4, 1.1f});
    run_scatter_elements("ScatterElements", 16, "add", (int64_t[]){1, 1},
                         (float[]){1, 5.2f, 3, 4, 5});
    run_scatter_elements("ScatterElements", 16, "mul", (int64_t[]){1, -4},
                         (float[]){1, 2 * 1.1f * 2.1f, 3, 4, 5});
    /* opset 18: max and min of the data and every update landing on the element */
    run_scatter_elements("ScatterElements", 18, "max", (int64_t[]){1, 1},
                         (float[]){1, 2.1f, 3, 4, 5});
    run_scatter_elements("ScatterElements", 18, "min", (int64_t[]){1, 1},
                         (float[]){1, 1.1f, 3, 4, 5});

    /* run-time out-of-range index: that update is skipped */
    const int32_t x[] = {1, 2}, u[] = {9, 8};
    const int64_t ind[] = {7, 0};
    int32_t y[2];
    struct tg *t = tg_new("ScatterElements", 13, 3, 1);
    tg_input(t, 0, KILN_DTYPE_I32, 2, (int64_t[]){1, 2});
    tg_input(t, 1, KILN_DTYPE_I64, 2, (int64_t[]){1, 2});
    tg_input(t, 2, KILN_DTYPE_I32, 2, (int64_t[]){1, 2});
    tg_int(t, "axis", 1);
    assert_int_equal(tg_feed(t, (const void *[]){x, ind, u}, y), KILN_STATUS_OK);
    assert_int_equal(y[0], 8);
    assert_int_equal(y[1], 2);
    tg_free(t);

    /* errors: reduction max before opset 18, constant index out of range */
    t = tg_new("ScatterElements", 17, 3, 1);
    tg_input(t, 0, KILN_DTYPE_I32, 2, (int64_t[]){1, 2});
    tg_input(t, 1, KILN_DTYPE_I64, 2, (int64_t[]){1, 2});
    tg_input(t, 2, KILN_DTYPE_I32, 2, (int64_t[]){1, 2});
    tg_str(t, "reduction", "max");
    tg_expect_err(t, KILN_STATUS_INVALID_MODEL, "reduction 'max' is not one of opset 17's");
    tg_free(t);
    t = tg_new("ScatterElements", 13, 3, 1);
    tg_input(t, 0, KILN_DTYPE_I32, 2, (int64_t[]){1, 2});
    tg_const(t, 1, KILN_DTYPE_I64, 2, (int64_t[]){1, 2}, ind);
    tg_input(t, 2, KILN_DTYPE_I32, 2, (int64_t[]){1, 2});
    tg_int(t, "axis", 1);
    tg_expect_err(t, KILN_STATUS_INVALID_MODEL, "index 7");
    tg_free(t);
}

static void run_scatter_nd(const char *red, const int64_t *ind, int n_ind, const float *u,
                           const float *want)
{
    const float x[] = {1, 2, 3, 4, 5, 6, 7, 8};
    float y[8];
    struct tg *t = tg_new("ScatterND", 16, 3, 1);
    tg_input(t, 0, KILN_DTYPE_F32, 1, (int64_t[]){8});
    tg_const(t, 1, KILN_DTYPE_I64, 2, (int64_t[]){n_ind, 1}, ind);
    tg_input(t, 2, KILN_DTYPE_F32, 1, (int64_t[]){n_ind});
    if (red)
        tg_str(t, "reduction", red);
    assert_int_equal(tg_feed(t, (const void *[]){x, u}, y), KILN_STATUS_OK);
    assert_close(y, want, 8, 1e-5f);
    tg_free(t);
}

static void test_scatter_nd(void **state)
{
    (void)state;
    run_scatter_nd(NULL, (int64_t[]){4, 3, 1, 7}, 4, (float[]){9, 10, 11, 12},
                   (float[]){1, 11, 3, 10, 9, 6, 7, 12});
    run_scatter_nd("add", (int64_t[]){0, 0}, 2, (float[]){5, 6},
                   (float[]){12, 2, 3, 4, 5, 6, 7, 8});
    run_scatter_nd("mul", (int64_t[]){2, -1}, 2, (float[]){3, 4},
                   (float[]){1, 2, 9, 4, 5, 6, 7, 32});

    /* slices: data [2,2], indices [[1]], updates [1,2] */
    const int64_t x[] = {1, 2, 3, 4}, u[] = {7, 8};
    int64_t y[4];
    struct tg *t = tg_new("ScatterND", 13, 3, 1);
    tg_input(t, 0, KILN_DTYPE_I64, 2, (int64_t[]){2, 2});
    tg_const(t, 1, KILN_DTYPE_I64, 2, (int64_t[]){1, 1}, (int64_t[]){1});
    tg_input(t, 2, KILN_DTYPE_I64, 2, (int64_t[]){1, 2});
    assert_int_equal(tg_feed(t, (const void *[]){x, u}, y), KILN_STATUS_OK);
    expect_i64(y, (int64_t[]){1, 2, 7, 8}, 4);
    tg_free(t);

    t = tg_new("ScatterND", 13, 3, 1);
    tg_input(t, 0, KILN_DTYPE_I64, 2, (int64_t[]){2, 2});
    tg_const(t, 1, KILN_DTYPE_I64, 2, (int64_t[]){1, 1}, (int64_t[]){1});
    tg_input(t, 2, KILN_DTYPE_I64, 2, (int64_t[]){2, 2});
    tg_expect_err(t, KILN_STATUS_INVALID_MODEL, "updates must have shape");
    tg_free(t);
}

/* ---- OneHot ---- */

static void test_one_hot(void **state)
{
    (void)state;
    const int64_t ind[] = {0, -1, 5, 2};
    const float vals[] = {-1, 5};
    float y[12];
    struct tg *t = tg_new("OneHot", 11, 3, 1);
    tg_input(t, 0, KILN_DTYPE_I64, 1, (int64_t[]){4});
    tg_const(t, 1, KILN_DTYPE_F32, 0, NULL, (float[]){3});
    tg_input(t, 2, KILN_DTYPE_F32, 1, (int64_t[]){2});
    assert_int_equal(tg_feed(t, (const void *[]){ind, vals}, y), KILN_STATUS_OK);
    assert_dims(t, 0, 2, (int64_t[]){4, 3});
    /* -1 is the last class; 5 is out of range: an all-off row */
    assert_close(y, (float[]){5, -1, -1, -1, -1, 5, -1, -1, -1, -1, -1, 5}, 12, 1e-5f);
    tg_free(t);

    t = tg_new("OneHot", 11, 3, 1);
    tg_input(t, 0, KILN_DTYPE_I64, 1, (int64_t[]){4});
    tg_const(t, 1, KILN_DTYPE_I64, 1, (int64_t[]){1}, (int64_t[]){3});
    tg_input(t, 2, KILN_DTYPE_F32, 1, (int64_t[]){2});
    tg_int(t, "axis", 0);
    assert_int_equal(tg_feed(t, (const void *[]){ind, vals}, y), KILN_STATUS_OK);
    assert_dims(t, 0, 2, (int64_t[]){3, 4});
    assert_close(y, (float[]){5, -1, -1, -1, -1, -1, -1, -1, -1, 5, -1, 5}, 12, 1e-5f);
    tg_free(t);

    t = tg_new("OneHot", 11, 3, 1);
    tg_input(t, 0, KILN_DTYPE_I64, 1, (int64_t[]){4});
    tg_const(t, 1, KILN_DTYPE_I64, 1, (int64_t[]){1}, (int64_t[]){3});
    tg_input(t, 2, KILN_DTYPE_F32, 1, (int64_t[]){3});
    tg_expect_err(t, KILN_STATUS_INVALID_MODEL, "2-element vector");
    tg_free(t);
}

/* ---- Trilu, EyeLike ---- */

static void run_trilu(int64_t upper, const int64_t *k, const float *want)
{
    float y[12];
    struct tg *t = tg_new("Trilu", 14, k ? 2 : 1, 1);
    tg_input(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){3, 4});
    if (k)
        tg_const(t, 1, KILN_DTYPE_I64, 0, NULL, k);
    tg_int(t, "upper", upper);
    assert_int_equal(tg_feed(t, (const void *[]){iota48}, y), KILN_STATUS_OK);
    assert_close(y, want, 12, 1e-5f);
    tg_free(t);
}

static void test_trilu(void **state)
{
    (void)state;
    run_trilu(1, NULL, (float[]){0, 1, 2, 3, 0, 5, 6, 7, 0, 0, 10, 11});
    run_trilu(0, (int64_t[]){-1}, (float[]){0, 0, 0, 0, 4, 0, 0, 0, 8, 9, 0, 0});
    run_trilu(1, (int64_t[]){2}, (float[]){0, 0, 2, 3, 0, 0, 0, 7, 0, 0, 0, 0});
    run_trilu(0, (int64_t[]){100}, iota48);
}

static void test_eye_like(void **state)
{
    (void)state;
    float y[12];
    struct tg *t = tg_new("EyeLike", 9, 1, 1);
    tg_input(t, 0, KILN_DTYPE_I32, 2, (int64_t[]){3, 4});
    tg_int(t, "dtype", KILN_DTYPE_F32);
    tg_int(t, "k", 1);
    const int32_t dummy[12] = {0};
    assert_int_equal(tg_feed(t, (const void *[]){dummy}, y), KILN_STATUS_OK);
    assert_int_equal(t->n->out[0]->dtype, KILN_DTYPE_F32);
    assert_close(y, (float[]){0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1}, 12, 1e-5f);
    tg_free(t);

    int64_t z[12];
    t = tg_new("EyeLike", 9, 1, 1);
    tg_input(t, 0, KILN_DTYPE_I64, 2, (int64_t[]){3, 4});
    tg_int(t, "k", -2);
    assert_int_equal(tg_feed(t, (const void *[]){dummy}, z), KILN_STATUS_OK);
    expect_i64(z, (int64_t[]){0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0}, 12);
    tg_free(t);

    t = tg_new("EyeLike", 9, 1, 1);
    tg_input(t, 0, KILN_DTYPE_I64, 1, (int64_t[]){3});
    tg_expect_err(t, KILN_STATUS_INVALID_MODEL, "rank 2");
    tg_free(t);
}

/* ---- DepthToSpace, SpaceToDepth ---- */

static void run_depth_to_space(const char *mode, const float *want)
{
    float y[48];
    struct tg *t = tg_new("DepthToSpace", 13, 1, 1);
    tg_input(t, 0, KILN_DTYPE_F32, 4, (int64_t[]){1, 8, 2, 3});
    tg_int(t, "blocksize", 2);
    if (mode)
        tg_str(t, "mode", mode);
    assert_int_equal(tg_feed(t, (const void *[]){iota48}, y), KILN_STATUS_OK);
    assert_dims(t, 0, 4, (int64_t[]){1, 2, 4, 6});
    assert_close(y, want, 48, 1e-5f);
    tg_free(t);
}

static void test_depth_space(void **state)
{
    (void)state;
    /* y[c][h*2+i][w*2+j] = x[(i*2+j)*2 + c][h][w] (DCR) or x[c*4 + i*2+j][h][w] (CRD) */
    run_depth_to_space(NULL, (float[]){0,  12, 1,  13, 2,  14, 24, 36, 25, 37, 26, 38,
                                       3,  15, 4,  16, 5,  17, 27, 39, 28, 40, 29, 41,
                                       6,  18, 7,  19, 8,  20, 30, 42, 31, 43, 32, 44,
                                       9,  21, 10, 22, 11, 23, 33, 45, 34, 46, 35, 47});
    run_depth_to_space("CRD", (float[]){0,  6,  1,  7,  2,  8,  12, 18, 13, 19, 14, 20,
                                        3,  9,  4,  10, 5,  11, 15, 21, 16, 22, 17, 23,
                                        24, 30, 25, 31, 26, 32, 36, 42, 37, 43, 38, 44,
                                        27, 33, 28, 34, 29, 35, 39, 45, 40, 46, 41, 47});

    float y[16];
    struct tg *t = tg_new("SpaceToDepth", 13, 1, 1);
    tg_input(t, 0, KILN_DTYPE_F32, 4, (int64_t[]){1, 1, 4, 4});
    tg_int(t, "blocksize", 2);
    assert_int_equal(tg_feed(t, (const void *[]){iota48}, y), KILN_STATUS_OK);
    assert_dims(t, 0, 4, (int64_t[]){1, 4, 2, 2});
    assert_close(y, (float[]){0, 2, 8, 10, 1, 3, 9, 11, 4, 6, 12, 14, 5, 7, 13, 15}, 16, 1e-5f);
    tg_free(t);

    t = tg_new("DepthToSpace", 13, 1, 1);
    tg_input(t, 0, KILN_DTYPE_F32, 4, (int64_t[]){1, 6, 2, 3});
    tg_int(t, "blocksize", 2);
    tg_expect_err(t, KILN_STATUS_INVALID_MODEL, "not a multiple of blocksize^2");
    tg_free(t);
}

/* ---- ReverseSequence ---- */

static void test_reverse_sequence(void **state)
{
    (void)state;
    const int64_t lens[] = {4, 3, 2, 1};
    float y[16];
    struct tg *t = tg_new("ReverseSequence", 10, 2, 1);
    tg_input(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){4, 4}); /* [time, batch] */
    tg_input(t, 1, KILN_DTYPE_I64, 1, (int64_t[]){4});
    tg_int(t, "time_axis", 0);
    tg_int(t, "batch_axis", 1);
    assert_int_equal(tg_feed(t, (const void *[]){iota48, lens}, y), KILN_STATUS_OK);
    assert_close(y, (float[]){12, 9, 6, 3, 8, 5, 2, 7, 4, 1, 10, 11, 0, 13, 14, 15}, 16, 1e-5f);
    tg_free(t);

    /* batch-major, run-time length 9 is clamped to the 3 time steps */
    const int64_t lens2[] = {9, 0};
    t = tg_new("ReverseSequence", 10, 2, 1);
    tg_input(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){2, 3});
    tg_input(t, 1, KILN_DTYPE_I64, 1, (int64_t[]){2});
    tg_int(t, "time_axis", 1);
    tg_int(t, "batch_axis", 0);
    assert_int_equal(tg_feed(t, (const void *[]){iota48, lens2}, y), KILN_STATUS_OK);
    assert_close(y, (float[]){2, 1, 0, 3, 4, 5}, 6, 1e-5f);
    tg_free(t);

    t = tg_new("ReverseSequence", 10, 2, 1);
    tg_input(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){2, 3});
    tg_i64s(t, 1, 2, lens2);
    tg_int(t, "time_axis", 1);
    tg_int(t, "batch_axis", 0);
    tg_expect_err(t, KILN_STATUS_INVALID_MODEL, "outside [0, 3]");
    tg_free(t);
}

/* ---- Compress, NonZero ---- */

static void run_compress(int has_axis, int64_t axis, int64_t nc, const uint8_t *cond,
                         int rank, const int64_t *dims, const float *want, int n)
{
    float y[6];
    struct tg *t = tg_new("Compress", 11, 2, 1);
    tg_input(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){3, 2});
    tg_const(t, 1, KILN_DTYPE_BOOL, 1, &nc, cond);
    if (has_axis)
        tg_int(t, "axis", axis);
    assert_int_equal(tg_feed(t, (const void *[]){iota48}, y), KILN_STATUS_OK);
    assert_dims(t, 0, rank, dims);
    assert_close(y, want, n, 1e-5f);
    tg_free(t);
}

static void test_compress(void **state)
{
    (void)state;
    run_compress(1, 0, 3, (uint8_t[]){0, 1, 1}, 2, (int64_t[]){2, 2}, (float[]){2, 3, 4, 5}, 4);
    run_compress(1, -1, 1, (uint8_t[]){1}, 2, (int64_t[]){3, 1}, (float[]){0, 2, 4}, 3);
    run_compress(0, 0, 5, (uint8_t[]){0, 1, 0, 0, 1}, 1, (int64_t[]){2}, (float[]){1, 4}, 2);

    /* a run-time condition: the output is bounded by the axis (3 rows), each run sets the
     * rows kept; one program, two runs */
    for (int k = 0; k < 2; k++) {
        struct tg *t = tg_new("Compress", 11, 2, 1);
        tg_input(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){3, 2});
        tg_input(t, 1, KILN_DTYPE_BOOL, 1, (int64_t[]){2});
        tg_int(t, "axis", 0);
        const uint8_t cond[2][2] = {{1, 1}, {0, 1}};
        float y[6] = {0};
        assert_int_equal(tg_feed(t, (const void *[]){iota48, cond[k]}, y), KILN_STATUS_OK);
        assert_dims(t, 0, 2, (int64_t[]){2, 2});
        assert_true(t->n->out[0]->runtime_dims);
        assert_int_equal(t->ext[0][0], k ? 1 : 2);
        assert_int_equal(t->ext[0][1], 2);
        assert_close(y, k ? (float[]){2, 3} : (float[]){0, 1, 2, 3}, k ? 2 : 4, 1e-5f);
        tg_free(t);
    }
}

static void test_non_zero(void **state)
{
    (void)state;
    /* -0.0 is zero, NaN is not */
    struct tg *t = tg_new("NonZero", 13, 1, 1);
    tg_const(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){2, 2}, (float[]){0, -0.0f, NAN, 2});
    assert_int_equal(tg_infer(t), KILN_STATUS_OK);
    assert_dims(t, 0, 2, (int64_t[]){2, 2});
    assert_int_equal(t->n->out[0]->dtype, KILN_DTYPE_I64);
    assert_non_null(t->n->out[0]->data);
    expect_i64(t->n->out[0]->data, (int64_t[]){1, 1, 0, 1}, 4);
    tg_free(t);

    t = tg_new("NonZero", 13, 1, 1);
    tg_const(t, 0, KILN_DTYPE_I32, 1, (int64_t[]){4}, (int32_t[]){3, 0, 0, -1});
    assert_int_equal(tg_infer(t), KILN_STATUS_OK);
    assert_dims(t, 0, 2, (int64_t[]){1, 2});
    expect_i64(t->n->out[0]->data, (int64_t[]){0, 3}, 2);
    tg_free(t);

    /* a run-time input: int64[1, <=4]; the run sets the count (2, then 0) */
    static const float xs[2][4] = {{0, 5, 0, -1}, {0, 0, 0, 0}};
    for (int k = 0; k < 2; k++) {
        t = tg_new("NonZero", 13, 1, 1);
        tg_input(t, 0, KILN_DTYPE_F32, 1, (int64_t[]){4});
        int64_t y[4] = {-7, -7, -7, -7};
        assert_int_equal(tg_feed(t, (const void *[]){xs[k]}, y), KILN_STATUS_OK);
        assert_dims(t, 0, 2, (int64_t[]){1, 4});
        assert_true(t->n->out[0]->runtime_dims);
        assert_int_equal(t->ext[0][0], 1);
        assert_int_equal(t->ext[0][1], k ? 0 : 2);
        if (!k)
            expect_i64(y, (int64_t[]){1, 3}, 2);
        assert_int_equal(y[2], -7); /* nothing past the run's extent */
        tg_free(t);
    }
}

/* ---- CumSum ---- */

static void run_cumsum(int64_t excl, int64_t rev, const float *want)
{
    const float x[] = {1, 2, 3, 4, 5};
    float y[5];
    struct tg *t = tg_new("CumSum", 14, 2, 1);
    tg_input(t, 0, KILN_DTYPE_F32, 1, (int64_t[]){5});
    tg_const(t, 1, KILN_DTYPE_I32, 0, NULL, (int32_t[]){0});
    tg_int(t, "exclusive", excl);
    tg_int(t, "reverse", rev);
    assert_int_equal(tg_feed(t, (const void *[]){x}, y), KILN_STATUS_OK);
    assert_close(y, want, 5, 1e-5f);
    tg_free(t);
}

static void test_cumsum(void **state)
{
    (void)state;
    run_cumsum(0, 0, (float[]){1, 3, 6, 10, 15});
    run_cumsum(1, 0, (float[]){0, 1, 3, 6, 10});
    run_cumsum(0, 1, (float[]){15, 14, 12, 9, 5});
    run_cumsum(1, 1, (float[]){14, 12, 9, 5, 0});

    /* int32, axis -2 of [2,3] */
    const int32_t x[] = {1, 2, 3, 4, 5, 6};
    int32_t y[6];
    struct tg *t = tg_new("CumSum", 14, 2, 1);
    tg_input(t, 0, KILN_DTYPE_I32, 2, (int64_t[]){2, 3});
    tg_i64s(t, 1, 1, (int64_t[]){-2});
    assert_int_equal(tg_feed(t, (const void *[]){x}, y), KILN_STATUS_OK);
    assert_memory_equal(y, ((int32_t[]){1, 2, 3, 5, 7, 9}), sizeof y);
    tg_free(t);

    t = tg_new("CumSum", 14, 2, 1);
    tg_input(t, 0, KILN_DTYPE_I32, 2, (int64_t[]){2, 3});
    tg_input(t, 1, KILN_DTYPE_I64, 0, NULL);
    tg_expect_err(t, KILN_STATUS_UNSUPPORTED, "known at compile time");
    tg_free(t);
}

/* ---- TopK ---- */

static void test_topk(void **state)
{
    (void)state;
    const float x[] = {3, 1, 3, 2, 3};
    float v[5];
    int64_t i[5];
    /* ties: lower index first */
    struct tg *t = tg_new("TopK", 11, 2, 2);
    tg_input(t, 0, KILN_DTYPE_F32, 1, (int64_t[]){5});
    tg_i64s(t, 1, 1, (int64_t[]){3});
    assert_int_equal(tg_feed_n(t, (const void *[]){x}, (void *[]){v, i}), KILN_STATUS_OK);
    assert_dims(t, 1, 1, (int64_t[]){3});
    assert_close(v, (float[]){3, 3, 3}, 3, 1e-5f);
    expect_i64(i, (int64_t[]){0, 2, 4}, 3);
    tg_free(t);

    /* smallest, on axis 0 of [5,1] int64 (opset 11) */
    const int64_t xi[] = {3, 1, 3, 2, 1};
    int64_t vi[5];
    t = tg_new("TopK", 11, 2, 2);
    tg_input(t, 0, KILN_DTYPE_I64, 2, (int64_t[]){5, 1});
    tg_i64s(t, 1, 1, (int64_t[]){3});
    tg_int(t, "axis", 0);
    tg_int(t, "largest", 0);
    assert_int_equal(tg_feed_n(t, (const void *[]){xi}, (void *[]){vi, i}), KILN_STATUS_OK);
    expect_i64(vi, (int64_t[]){1, 1, 2}, 3);
    expect_i64(i, (int64_t[]){1, 4, 3}, 3);
    tg_free(t);

    /* opset 1: k as an attribute, rows of [2,3] */
    t = tg_new("TopK", 9, 1, 2);
    tg_input(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){2, 3});
    tg_int(t, "k", 2);
    const float x2[] = {1, 9, 5, 7, 7, 8};
    assert_int_equal(tg_feed_n(t, (const void *[]){x2}, (void *[]){v, i}), KILN_STATUS_OK);
    assert_close(v, (float[]){9, 5, 8, 7}, 4, 1e-5f);
    expect_i64(i, (int64_t[]){1, 2, 2, 0}, 4);
    tg_free(t);

    t = tg_new("TopK", 11, 2, 2);
    tg_input(t, 0, KILN_DTYPE_F32, 1, (int64_t[]){5});
    tg_i64s(t, 1, 1, (int64_t[]){6});
    tg_expect_err(t, KILN_STATUS_INVALID_MODEL, "k = 6 is outside [0, 5]");
    tg_free(t);
}

/* ---- Einsum ---- */

static void run_einsum(const char *eq, int n_in, const int64_t (*dims)[3], const int *ranks,
                       int out_rank, const int64_t *out_dims, const float *want, int n)
{
    float y[16];
    struct tg *t = tg_new("Einsum", 12, (uint32_t)n_in, 1);
    for (int i = 0; i < n_in; i++)
        tg_input(t, (uint32_t)i, KILN_DTYPE_F32, ranks[i], dims[i]);
    tg_str(t, "equation", eq);
    assert_int_equal(tg_feed(t, (const void *[]){iota48, iota48}, y), KILN_STATUS_OK);
    assert_dims(t, 0, out_rank, out_dims);
    assert_close(y, want, n, 1e-5f);
    tg_free(t);
}

static void test_einsum(void **state)
{
    (void)state;
    /* matmul, explicit and implicit; A = iota [2,3], B = iota [3,2] */
    const int64_t mm[2][3] = {{2, 3}, {3, 2}};
    run_einsum("ij,jk->ik", 2, mm, (int[]){2, 2}, 2, (int64_t[]){2, 2},
               (float[]){10, 13, 28, 40}, 4);
    run_einsum("ij, jk", 2, mm, (int[]){2, 2}, 2, (int64_t[]){2, 2}, (float[]){10, 13, 28, 40},
               4);
    /* transpose, explicit and implicit (output letters in alphabetical order) */
    run_einsum("ij->ji", 1, mm, (int[]){2}, 2, (int64_t[]){3, 2}, (float[]){0, 3, 1, 4, 2, 5},
               6);
    run_einsum("ji", 1, mm, (int[]){2}, 2, (int64_t[]){3, 2}, (float[]){0, 3, 1, 4, 2, 5}, 6);
    /* trace and diagonal of iota [3,3]; batch diagonal of iota [2,3,3] */
    const int64_t sq[2][3] = {{3, 3}, {2, 3, 3}};
    run_einsum("ii", 1, sq, (int[]){2}, 0, NULL, (float[]){12}, 1);
    run_einsum("ii->i", 1, sq, (int[]){2}, 1, (int64_t[]){3}, (float[]){0, 4, 8}, 3);
    run_einsum("bii->bi", 1, sq + 1, (int[]){3}, 2, (int64_t[]){2, 3},
               (float[]){0, 4, 8, 9, 13, 17}, 6);
    /* sum of everything */
    run_einsum("ij->", 1, mm, (int[]){2}, 0, NULL, (float[]){15}, 1);
    /* batch matmul with a broadcast ellipsis: [2,2,3] x [1,3,2] */
    const int64_t bm[2][3] = {{2, 2, 3}, {1, 3, 2}};
    run_einsum("...ij,...jk->...ik", 2, bm, (int[]){3, 3}, 3, (int64_t[]){2, 2, 2},
               (float[]){10, 13, 28, 40, 46, 67, 64, 94}, 8);
}

static void test_einsum_errors(void **state)
{
    (void)state;
    struct tg *t = tg_new("Einsum", 12, 2, 1);
    tg_input(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){2, 3});
    tg_input(t, 1, KILN_DTYPE_F32, 2, (int64_t[]){3, 2});
    tg_str(t, "equation", "ij->ij");
    tg_expect_err(t, KILN_STATUS_INVALID_MODEL, "one term per input");
    tg_free(t);
    t = tg_new("Einsum", 12, 2, 1);
    tg_input(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){2, 3});
    tg_input(t, 1, KILN_DTYPE_F32, 2, (int64_t[]){2, 2});
    tg_str(t, "equation", "ij,jk->ik");
    tg_expect_err(t, KILN_STATUS_INVALID_MODEL, "has size 2, elsewhere 3");
    tg_free(t);
    t = tg_new("Einsum", 12, 1, 1);
    tg_input(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){2, 3});
    tg_str(t, "equation", "ijk->i");
    tg_expect_err(t, KILN_STATUS_INVALID_MODEL, "does not fit");
    tg_free(t);
    t = tg_new("Einsum", 12, 1, 1);
    tg_input(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){2, 3});
    tg_str(t, "equation", "ij->iz");
    tg_expect_err(t, KILN_STATUS_INVALID_MODEL, "appears in no input");
    tg_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split),          cmocka_unit_test(test_split_errors),
        cmocka_unit_test(test_tile),           cmocka_unit_test(test_gather_elements),
        cmocka_unit_test(test_gather_nd),      cmocka_unit_test(test_scatter_elements),
        cmocka_unit_test(test_scatter_nd),     cmocka_unit_test(test_one_hot),
        cmocka_unit_test(test_trilu),          cmocka_unit_test(test_eye_like),
        cmocka_unit_test(test_depth_space),    cmocka_unit_test(test_reverse_sequence),
        cmocka_unit_test(test_compress),       cmocka_unit_test(test_non_zero),
        cmocka_unit_test(test_cumsum),         cmocka_unit_test(test_topk),
        cmocka_unit_test(test_einsum),         cmocka_unit_test(test_einsum_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
