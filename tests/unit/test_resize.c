/* test_resize.c - Resize/Upsample through inference, lowering and the interpreter, on cases
 * small enough to check by hand, plus the inference errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "compiler.h"

struct rcase {
    const char *op;
    int64_t opset;
    const char *mode, *coord, *nearest;
    const float *scales; /* 4 values, or NULL */
    const int64_t *sizes; /* 4 values, or NULL */
};

static void set_str_attr(struct kiln_ir_graph *g, struct kiln_ir_attr *a, const char *name,
                         const char *v)
{
    a->name = kiln_arena_strdup(&g->arena, name);
    a->type = KILN_ATTR_STRING;
    a->s = kiln_arena_strdup(&g->arena, v);
    a->s_len = strlen(v);
}

/* Builds Y = Resize(X[1,1,2,2]) and runs it; returns status, fills y (max 64 floats). */
static enum kiln_status run_case(const struct rcase *rc, const float *x, float *y, int64_t *ydims,
                                 struct kiln_diag *d)
{
    struct kiln_ir_graph *g = kiln_ir_graph_new();
    g->opset = rc->opset;
    struct kiln_ir_value *vx = kiln_ir_value_new(g, "X");
    vx->dtype = KILN_DTYPE_F32;
    vx->rank = 4;
    int64_t xd[4] = {1, 1, 2, 2};
    memcpy(vx->dims, xd, sizeof xd);
    vx->is_input = true;
    g->inputs = kiln_arena_alloc(&g->arena, sizeof *g->inputs);
    g->inputs[g->n_inputs++] = vx;
    bool resize11 = strcmp(rc->op, "Resize") == 0 && rc->opset >= 11;
    struct kiln_ir_node *n = kiln_ir_node_new(g, "r", rc->op, "", resize11 ? 4 : 2, 1);
    n->in[0] = vx;
    struct kiln_ir_value *vs = kiln_ir_value_new(g, "scales");
    vs->dtype = rc->sizes ? KILN_DTYPE_I64 : KILN_DTYPE_F32;
    vs->rank = 1;
    vs->dims[0] = 4;
    vs->data = rc->sizes ? (const void *)rc->sizes : (const void *)rc->scales;
    vs->is_initializer = true;
    n->in[resize11 ? (rc->sizes ? 3 : 2) : 1] = vs;
    n->attrs = kiln_arena_alloc(&g->arena, 3 * sizeof *n->attrs);
    set_str_attr(g, &n->attrs[n->n_attrs++], "mode", rc->mode);
    if (rc->coord)
        set_str_attr(g, &n->attrs[n->n_attrs++], "coordinate_transformation_mode", rc->coord);
    if (rc->nearest)
        set_str_attr(g, &n->attrs[n->n_attrs++], "nearest_mode", rc->nearest);
    struct kiln_ir_value *vy = kiln_ir_value_new(g, "Y");
    n->out[0] = vy;
    vy->producer = n;
    vy->is_output = true;
    g->outputs = kiln_arena_alloc(&g->arena, sizeof *g->outputs);
    g->outputs[g->n_outputs++] = vy;
    struct kiln_compiled *c = NULL;
    enum kiln_status st = kiln_infer(g, d);
    if (!st)
        st = kiln_lower(g, &c, d);
    if (!st) {
        memcpy(ydims, vy->dims, 4 * sizeof *ydims);
        void *arena = aligned_alloc(64, (c->prog.arena_size + 63) / 64 * 64 + 64);
        const void *ins[1] = {x};
        void *outs[1] = {y};
        st = kiln_run(&c->prog, arena, ins, outs);
        free(arena);
    }
    kiln_compiled_free(c);
    kiln_ir_graph_free(g);
    return st;
}

static const float X[4] = {1, 2, 3, 4};

static void test_nearest_upsample(void **state)
{
    (void)state;
    static const float scales[4] = {1, 1, 2, 2};
    struct rcase rc = {"Resize", 13, "nearest", "asymmetric", "floor", scales, NULL};
    float y[64];
    int64_t dims[4];
    struct kiln_diag d;
    kiln_diag_clear(&d);
    assert_int_equal(run_case(&rc, X, y, dims, &d), KILN_STATUS_OK);
    assert_int_equal(dims[2], 4);
    assert_int_equal(dims[3], 4);
    static const float want[16] = {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4};
    for (int i = 0; i < 16; i++)
        assert_float_equal(y[i], want[i], 0);
}

static void test_linear_align_corners(void **state)
{
    (void)state;
    static const int64_t sizes[4] = {1, 1, 3, 3};
    struct rcase rc = {"Resize", 13, "linear", "align_corners", NULL, NULL, sizes};
    float y[64];
    int64_t dims[4];
    struct kiln_diag d;
    kiln_diag_clear(&d);
    assert_int_equal(run_case(&rc, X, y, dims, &d), KILN_STATUS_OK);
    /* corners kept, centre is the mean */
    static const float want[9] = {1, 1.5f, 2, 2, 2.5f, 3, 3, 3.5f, 4};
    for (int i = 0; i < 9; i++)
        assert_float_equal(y[i], want[i], 1e-6);
}

static void test_linear_half_pixel_downsample(void **state)
{
    (void)state;
    static const int64_t sizes[4] = {1, 1, 1, 1};
    struct rcase rc = {"Resize", 13, "linear", NULL, NULL, NULL, sizes};
    float y[64];
    int64_t dims[4];
    struct kiln_diag d;
    kiln_diag_clear(&d);
    assert_int_equal(run_case(&rc, X, y, dims, &d), KILN_STATUS_OK);
    assert_float_equal(y[0], 2.5f, 1e-6); /* the centre of the 2x2 input */
}

static void test_upsample7_attribute_form(void **state)
{
    (void)state;
    static const float scales[4] = {1, 1, 1, 2};
    struct rcase rc = {"Upsample", 9, "nearest", NULL, NULL, scales, NULL};
    float y[64];
    int64_t dims[4];
    struct kiln_diag d;
    kiln_diag_clear(&d);
    assert_int_equal(run_case(&rc, X, y, dims, &d), KILN_STATUS_OK);
    static const float want[8] = {1, 1, 2, 2, 3, 3, 4, 4};
    for (int i = 0; i < 8; i++)
        assert_float_equal(y[i], want[i], 0);
}

static void test_errors(void **state)
{
    (void)state;
    static const float bad[4] = {1, 1, -2, 2};
    struct rcase rc = {"Resize", 13, "nearest", NULL, NULL, bad, NULL};
    float y[64];
    int64_t dims[4];
    struct kiln_diag d;
    kiln_diag_clear(&d);
    assert_int_equal(run_case(&rc, X, y, dims, &d), KILN_STATUS_INVALID_MODEL);
    assert_string_equal(d.node, "r");
    assert_non_null(strstr(d.message, "positive"));
    static const float ok[4] = {1, 1, 2, 2};
    struct rcase rc2 = {"Resize", 13, "bicubic", NULL, NULL, ok, NULL};
    kiln_diag_clear(&d);
    assert_int_equal(run_case(&rc2, X, y, dims, &d), KILN_STATUS_INVALID_MODEL);
    assert_non_null(strstr(d.message, "bicubic"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nearest_upsample),
        cmocka_unit_test(test_linear_align_corners),
        cmocka_unit_test(test_linear_half_pixel_downsample),
        cmocka_unit_test(test_upsample7_attribute_form),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
