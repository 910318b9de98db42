/* test_opsets.c - the opset versions in the op registry (struct kiln_op_info.opsets) and the
 * older forms around them: the registry's lists are well formed, Split-1's sizes input is read,
 * Tile-1 and Upsample-1 are refused naming the version kiln supports, Dropout's pre-10 mask
 * (X's type) is refused only when read, and Clip's and Selu's opset-dependent defaults. The
 * lists themselves are held to ONNX's schema history by tests/opsets/check_opsets.py. */
#include <float.h>
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
#include "ops/ops.h"

#include "graph_harness.h"

/* Every list ascends within 1..KILN_MAX_OPSET; {0} (kiln's own op) only for FusedElementwise
 * (Gelu is ONNX's from opset 20). */
static void test_registry_lists(void **state)
{
    (void)state;
    for (int op = 0; op < KILN_OP_COUNT; op++) {
        const struct kiln_op_info *i = kiln_op_info((enum kiln_op)op);
        assert_non_null(i);
        bool own = op == KILN_OP_FUSED_ELEMENTWISE;
        if (own) {
            assert_int_equal(kiln_op_since(i), 0);
            assert_int_equal(i->opsets[1], 0);
            continue;
        }
        assert_in_range(kiln_op_since(i), 1, KILN_MAX_OPSET);
        for (int k = 1; k < KILN_OPSET_FORMS && i->opsets[k]; k++) {
            assert_true(i->opsets[k] > i->opsets[k - 1]);
            assert_true(i->opsets[k] <= KILN_MAX_OPSET);
        }
    }
    /* spot checks against the ONNX changelog */
    assert_int_equal(kiln_op_since(kiln_op_info(KILN_OP_RESIZE)), 10);
    assert_int_equal(kiln_op_info(KILN_OP_REDUCE_SUM)->opsets[1], 13);
    assert_int_equal(kiln_op_since(kiln_op_info(KILN_OP_TILE)), 6);
    assert_int_equal(kiln_op_since(kiln_op_info(KILN_OP_UPSAMPLE)), 7);
    assert_int_equal(kiln_op_since(kiln_op_info(KILN_OP_GELU)), 20);
    assert_int_equal(kiln_op_info(KILN_OP_SPLIT)->opsets[3], 18);
}

/* Split-1 takes the sizes as an input: [0 1 2 3] split [1, 3] */
static void test_split_v1_input(void **state)
{
    (void)state;
    static const float x[] = {0, 1, 2, 3};
    static const int64_t sizes[] = {1, 3};
    struct tg *t = tg_new("Split", 1, 2, 2);
    tg_in(t, 0, KILN_DTYPE_F32, 1, (int64_t[]){4}, x, 1);
    tg_in(t, 1, KILN_DTYPE_I64, 1, (int64_t[]){2}, sizes, 0);
    float a[1], b[3];
    assert_int_equal(tg_run(t, a, b), KILN_STATUS_OK);
    assert_dims(t, 0, 1, (int64_t[]){1});
    assert_dims(t, 1, 1, (int64_t[]){3});
    assert_close(a, (float[]){0}, 1, 0);
    assert_close(b, (float[]){1, 2, 3}, 3, 0);
    tg_free(t);

    /* opsets 2-12 take them as an attribute only */
    t = tg_new("Split", 11, 2, 2);
    tg_in(t, 0, KILN_DTYPE_F32, 1, (int64_t[]){4}, x, 1);
    tg_in(t, 1, KILN_DTYPE_I64, 1, (int64_t[]){2}, sizes, 0);
    tg_expect_err(t, KILN_STATUS_INVALID_MODEL, "opset 11 takes split as an attribute");
    tg_free(t);
}

/* Tile-1 (tiles and axis inputs) is refused by name; from 6 a third input is an error */
static void test_tile_v1_refused(void **state)
{
    (void)state;
    static const float x[] = {1, 2};
    static const int64_t tiles[] = {2}, axis[] = {0}, reps[] = {2};
    struct tg *t = tg_new("Tile", 5, 3, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 1, (int64_t[]){2}, x, 1);
    tg_in(t, 1, KILN_DTYPE_I64, 0, NULL, tiles, 0);
    tg_in(t, 2, KILN_DTYPE_I64, 0, NULL, axis, 0);
    tg_expect_err(t, KILN_STATUS_UNSUPPORTED, "opset 5");
    if (!strstr(t->d.message, "kiln supports Tile from opset 6") ||
        strcmp(t->d.node, "node0") != 0)
        fail_msg("message '%s' (node '%s')", t->d.message, t->d.node);
    tg_free(t);

    t = tg_new("Tile", 6, 3, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 1, (int64_t[]){2}, x, 1);
    tg_in(t, 1, KILN_DTYPE_I64, 1, (int64_t[]){1}, reps, 0);
    tg_in(t, 2, KILN_DTYPE_I64, 0, NULL, axis, 0);
    tg_expect_err(t, KILN_STATUS_INVALID_MODEL, "Tile takes 2");
    tg_free(t);

    t = tg_new("Tile", 6, 2, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 1, (int64_t[]){2}, x, 1);
    tg_in(t, 1, KILN_DTYPE_I64, 1, (int64_t[]){1}, reps, 0);
    float y[4];
    assert_int_equal(tg_run(t, y, NULL), KILN_STATUS_OK);
    assert_close(y, (float[]){1, 2, 1, 2}, 4, 0);
    tg_free(t);
}

/* Upsample-1 (experimental: height_scale, width_scale) is refused; Upsample-7 runs */
static void test_upsample_v1_refused(void **state)
{
    (void)state;
    static const float x[] = {1, 2, 3, 4};
    struct tg *t = tg_new("Upsample", 6, 1, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 4, (int64_t[]){1, 1, 2, 2}, x, 1);
    tg_float(t, "height_scale", 2);
    tg_float(t, "width_scale", 2);
    tg_expect_err(t, KILN_STATUS_UNSUPPORTED, "kiln supports Upsample from opset 7");
    tg_free(t);

    static const float scales[] = {1, 1, 2, 1};
    t = tg_new("Upsample", 7, 1, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 4, (int64_t[]){1, 1, 2, 2}, x, 1);
    struct kiln_ir_attr *a = tg_attr(t, "scales", KILN_ATTR_FLOATS);
    a->floats = (float *)scales;
    a->n = 4;
    float y[8];
    assert_int_equal(tg_run(t, y, NULL), KILN_STATUS_OK);
    assert_dims(t, 0, 4, (int64_t[]){1, 1, 4, 2});
    assert_close(y, (float[]){1, 2, 1, 2, 3, 4, 3, 4}, 8, 0);
    tg_free(t);
}

/* Before opset 10 Dropout's mask has X's type: refused when read, ignored when not */
static void test_dropout_old_mask(void **state)
{
    (void)state;
    static const float x[] = {1, -2};
    struct tg *t = tg_new("Dropout", 9, 1, 2);
    tg_in(t, 0, KILN_DTYPE_F32, 1, (int64_t[]){2}, x, 1);
    tg_expect_err(t, KILN_STATUS_UNSUPPORTED, "opset 9 gives the mask output 'y1' the type of X");
    tg_free(t);

    t = tg_new("Dropout", 9, 1, 2);
    tg_in(t, 0, KILN_DTYPE_F32, 1, (int64_t[]){2}, x, 1);
    t->n->out[1]->is_output = false; /* nobody reads the mask */
    t->g->n_outputs = 1;
    float y[2];
    assert_int_equal(tg_run(t, y, NULL), KILN_STATUS_OK);
    assert_close(y, x, 2, 0);
    tg_free(t);

    t = tg_new("Dropout", 10, 1, 2);
    tg_in(t, 0, KILN_DTYPE_F32, 1, (int64_t[]){2}, x, 1);
    uint8_t mask[2] = {0, 0};
    assert_int_equal(tg_run(t, y, mask), KILN_STATUS_OK);
    assert_int_equal(t->n->out[1]->dtype, KILN_DTYPE_BOOL);
    assert_int_equal(mask[0], 1);
    assert_int_equal(mask[1], 1);
    tg_free(t);
}

/* Clip without bounds: opset 1 has none, 6-10 default to -FLT_MAX/FLT_MAX (which clip the
 * infinities), 11+ has none again */
static void test_clip_default_bounds(void **state)
{
    (void)state;
    static const float x[] = {-INFINITY, 0.5f, INFINITY};
    static const struct {
        int opset;
        float lo, hi;
    } cases[] = {{1, -INFINITY, INFINITY}, {6, -FLT_MAX, FLT_MAX}, {10, -FLT_MAX, FLT_MAX},
                 {11, -INFINITY, INFINITY}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        struct tg *t = tg_new("Clip", cases[k].opset, 1, 1);
        tg_in(t, 0, KILN_DTYPE_F32, 1, (int64_t[]){3}, x, 1);
        float y[3];
        assert_int_equal(tg_run(t, y, NULL), KILN_STATUS_OK);
        if (y[0] != cases[k].lo || y[1] != 0.5f || y[2] != cases[k].hi)
            fail_msg("opset %d: got %g %g %g", cases[k].opset, (double)y[0], (double)y[1],
                     (double)y[2]);
        tg_free(t);
    }
}

/* Selu's defaults had four decimals before opset 6: y(-10) = gamma * alpha * (e^-10 - 1) */
static void test_selu_default_constants(void **state)
{
    (void)state;
    static const float x[] = {-10};
    static const struct {
        int opset;
        double alpha, gamma;
    } cases[] = {{1, 1.6732, 1.0507}, {6, 1.67326319217681884765625, 1.05070102214813232421875}};
    for (size_t k = 0; k < 2; k++) {
        struct tg *t = tg_new("Selu", cases[k].opset, 1, 1);
        tg_in(t, 0, KILN_DTYPE_F32, 1, (int64_t[]){1}, x, 1);
        float y;
        assert_int_equal(tg_run(t, &y, NULL), KILN_STATUS_OK);
        float want = (float)(cases[k].gamma * cases[k].alpha * expm1(-10.0));
        assert_close(&y, &want, 1, 2e-7f); /* the two differ by 3e-5 */
        tg_free(t);
    }
}

/* Split-18: num_outputs must match the outputs and excludes a split input; the last part is
 * shorter when the axis does not divide (the even split of older opsets must divide) */
static void test_split_num_outputs(void **state)
{
    (void)state;
    static const float x[] = {0, 1, 2, 3, 4};
    static const int64_t sizes[] = {2, 3};
    struct tg *t = tg_new("Split", 18, 1, 2);
    tg_in(t, 0, KILN_DTYPE_F32, 1, (int64_t[]){5}, x, 1);
    tg_int(t, "num_outputs", 2);
    float a[3], b[2];
    assert_int_equal(tg_run(t, a, b), KILN_STATUS_OK);
    assert_dims(t, 0, 1, (int64_t[]){3});
    assert_dims(t, 1, 1, (int64_t[]){2});
    assert_close(b, (float[]){3, 4}, 2, 0);
    tg_free(t);

    t = tg_new("Split", 18, 1, 2);
    tg_in(t, 0, KILN_DTYPE_F32, 1, (int64_t[]){5}, x, 1);
    tg_int(t, "num_outputs", 3);
    tg_expect_err(t, KILN_STATUS_INVALID_MODEL, "num_outputs is 3 but the node has 2 outputs");
    tg_free(t);

    t = tg_new("Split", 18, 1, 2);
    tg_in(t, 0, KILN_DTYPE_F32, 1, (int64_t[]){5}, x, 1);
    tg_expect_err(t, KILN_STATUS_INVALID_MODEL, "needs num_outputs or a split input");
    tg_free(t);

    t = tg_new("Split", 18, 2, 2);
    tg_in(t, 0, KILN_DTYPE_F32, 1, (int64_t[]){5}, x, 1);
    tg_in(t, 1, KILN_DTYPE_I64, 1, (int64_t[]){2}, sizes, 0);
    tg_int(t, "num_outputs", 2);
    tg_expect_err(t, KILN_STATUS_INVALID_MODEL, "both a split input and num_outputs");
    tg_free(t);

    t = tg_new("Split", 17, 1, 2);
    tg_in(t, 0, KILN_DTYPE_F32, 1, (int64_t[]){5}, x, 1);
    tg_expect_err(t, KILN_STATUS_INVALID_MODEL, "does not split evenly");
    tg_free(t);
}

/* Reduce-18 takes axes as an input: an attribute is refused, a run-time axes tensor is refused
 * naming the input (until run-time axes land) */
static void test_reduce_axes_input(void **state)
{
    (void)state;
    static const float x[] = {1, 2, 3, 4, 5, 6};
    static const int64_t axes[] = {1};
    struct tg *t = tg_new("ReduceMean", 18, 2, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){2, 3}, x, 1);
    tg_in(t, 1, KILN_DTYPE_I64, 1, (int64_t[]){1}, axes, 0);
    float y[2];
    assert_int_equal(tg_run(t, y, NULL), KILN_STATUS_OK);
    assert_close(y, (float[]){2, 5}, 2, 0);
    tg_free(t);

    t = tg_new("ReduceMax", 18, 1, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){2, 3}, x, 1);
    tg_ints(t, "axes", 1, axes);
    tg_expect_err(t, KILN_STATUS_INVALID_MODEL, "opset 18 takes axes as an input");
    tg_free(t);

    t = tg_new("ReduceMax", 17, 1, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){2, 3}, x, 1);
    tg_ints(t, "axes", 1, axes);
    assert_int_equal(tg_run(t, y, NULL), KILN_STATUS_OK);
    assert_close(y, (float[]){3, 6}, 2, 0);
    tg_free(t);
}

/* ONNX ops kiln has no place for name the model's opset and the reason; a form kiln lacks
 * (GridSample-20's 5-D input) names the node */
static void test_newer_forms_refused(void **state)
{
    (void)state;
    static const float x[] = {1, 2, 3, 4};
    struct tg *t = tg_new("GridSample", 20, 2, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 5, (int64_t[]){1, 1, 1, 2, 2}, x, 1);
    tg_in(t, 1, KILN_DTYPE_F32, 5, (int64_t[]){1, 1, 1, 1, 3}, x, 1);
    tg_expect_err(t, KILN_STATUS_UNSUPPORTED, "opset 20's N-d form with 3 spatial axes");
    tg_free(t);

    /* the list of unsupported ops is the graph's, not a node's */
    static const struct {
        const char *op;
        int opset;
        const char *part;
    } refused[] = {{"StringSplit", 20, "StringSplit ('node0'; ONNX opset 20: kiln has no string "
                                        "tensors)"},
                   {"SequenceEmpty", 11, "ONNX opset 11: kiln supports tensors only"}};
    for (size_t k = 0; k < sizeof refused / sizeof refused[0]; k++) {
        t = tg_new(refused[k].op, refused[k].opset, 1, 1);
        tg_in(t, 0, KILN_DTYPE_F32, 1, (int64_t[]){4}, x, 1);
        assert_int_equal(tg_infer(t), KILN_STATUS_UNSUPPORTED);
        if (!strstr(t->d.message, refused[k].part))
            fail_msg("message '%s' lacks '%s'", t->d.message, refused[k].part);
        tg_free(t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry_lists),      cmocka_unit_test(test_split_v1_input),
        cmocka_unit_test(test_tile_v1_refused),     cmocka_unit_test(test_upsample_v1_refused),
        cmocka_unit_test(test_dropout_old_mask),    cmocka_unit_test(test_clip_default_bounds),
        cmocka_unit_test(test_selu_default_constants), cmocka_unit_test(test_split_num_outputs),
        cmocka_unit_test(test_reduce_axes_input),   cmocka_unit_test(test_newer_forms_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
