/* test_elementwise.c - the elementwise op family: inference (types, broadcast shapes, errors)
 * and kernels, hand-checked. Most cases build a one-node graph with constant inputs, so
 * kiln_infer both infers and evaluates the node through the runtime kernel; one case runs
 * the lowered program through the interpreter. */
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
#include "ops/ops.h"

/* ---- one-node graph builder ---- */
static struct kiln_ir_graph *g;
static struct kiln_ir_node *node;
static struct kiln_diag diag;
static int n_vals;

static int setup(void **state)
{
    (void)state;
    g = kiln_ir_graph_new();
    g->opset = 17;
    node = NULL;
    n_vals = 0;
    kiln_diag_clear(&diag);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(g->inputs); /* the test allocates these; the importer uses the arena */
    free(g->outputs);
    kiln_ir_graph_free(g);
    return 0;
}

/* A value of the given type and shape; data NULL makes it a graph input. */
static struct kiln_ir_value *val(int dtype, int rank, const int64_t *dims, const void *data)
{
    char name[16];
    snprintf(name, sizeof name, "v%d", n_vals++);
    struct kiln_ir_value *v = kiln_ir_value_new(g, name);
    v->dtype = dtype;
    v->rank = rank;
    for (int i = 0; i < rank; i++)
        v->dims[i] = dims[i];
    if (data) {
        size_t nb = (size_t)kiln_ir_value_nbytes(v);
        void *p = kiln_arena_alloc(&g->arena, nb ? nb : 1);
        memcpy(p, data, nb);
        v->data = p;
        v->is_initializer = true;
    } else {
        v->is_input = true;
        g->inputs = realloc(g->inputs, (g->n_inputs + 1) * sizeof *g->inputs);
        g->inputs[g->n_inputs++] = v;
    }
    return v;
}

static struct kiln_ir_node *op(const char *type, int n_in, struct kiln_ir_value **in)
{
    node = kiln_ir_node_new(g, "n", type, "", (uint32_t)n_in, 1);
    for (int i = 0; i < n_in; i++)
        node->in[i] = in[i];
    char name[16];
    snprintf(name, sizeof name, "y%d", n_vals++);
    node->out[0] = kiln_ir_value_new(g, name);
    node->out[0]->producer = node;
    node->out[0]->rank = -1;
    g->outputs = realloc(g->outputs, sizeof *g->outputs);
    g->outputs[0] = node->out[0];
    g->n_outputs = 1;
    return node;
}

static struct kiln_ir_attr *attr(const char *name, enum kiln_attr_type t)
{
    struct kiln_ir_attr *a = kiln_arena_alloc(&g->arena, (node->n_attrs + 1) * sizeof *a);
    if (node->n_attrs)
        memcpy(a, node->attrs, node->n_attrs * sizeof *a);
    node->attrs = a;
    a += node->n_attrs++;
    a->name = name;
    a->type = t;
    return a;
}
static void attr_i(const char *name, int64_t v) { attr(name, KILN_ATTR_INT)->i = v; }
static void attr_f(const char *name, float v) { attr(name, KILN_ATTR_FLOAT)->f = v; }
static void attr_s(const char *name, const char *s)
{
    struct kiln_ir_attr *a = attr(name, KILN_ATTR_STRING);
    a->s = s;
    a->s_len = strlen(s);
}

/* Infers (and, with constant inputs, evaluates) the graph; returns the output. */
static struct kiln_ir_value *run(void)
{
    enum kiln_status st = kiln_infer(g, &diag);
    if (st)
        fail_msg("infer failed: %s", diag.message);
    return node->out[0];
}

static void expect_error(enum kiln_status want, const char *needle)
{
    assert_int_equal(kiln_infer(g, &diag), want);
    assert_string_equal(diag.node, "n");
    if (needle && !strstr(diag.message, needle))
        fail_msg("message '%s' lacks '%s'", diag.message, needle);
}

static const int64_t d1[] = {1}, d2[] = {2}, d3[] = {3}, d4[] = {4}, d5[] = {5}, d6[] = {6};
static const int64_t d23[] = {2, 3}, d21[] = {2, 1};

static void check_f32(const struct kiln_ir_value *y, const float *want, int n)
{
    assert_non_null(y->data);
    const float *got = y->data;
    for (int i = 0; i < n; i++)
        if (!(fabsf(got[i] - want[i]) <= 1e-6f * (1 + fabsf(want[i]))) &&
            !(isnan(got[i]) && isnan(want[i])))
            fail_msg("element %d: got %.9g, want %.9g", i, got[i], want[i]);
}

/* ---- binary ---- */

static void test_add_broadcasts(void **state)
{
    (void)state;
    const float a[6] = {1, 2, 3, 4, 5, 6}, row[3] = {10, 20, 30}, col[2] = {100, 200};
    const float s = 0.5f;
    /* scalar */
    op("Add", 2, (struct kiln_ir_value *[]){val(KILN_DTYPE_F32, 2, d23, a),
                                            val(KILN_DTYPE_F32, 0, NULL, &s)});
    struct kiln_ir_value *y = run();
    assert_int_equal(y->rank, 2);
    check_f32(y, (float[]){1.5f, 2.5f, 3.5f, 4.5f, 5.5f, 6.5f}, 6);
    /* row */
    op("Add", 2, (struct kiln_ir_value *[]){val(KILN_DTYPE_F32, 2, d23, a),
                                            val(KILN_DTYPE_F32, 1, d3, row)});
    check_f32(run(), (float[]){11, 22, 33, 14, 25, 36}, 6);
    /* column, operands swapped */
    op("Add", 2, (struct kiln_ir_value *[]){val(KILN_DTYPE_F32, 2, d21, col),
                                            val(KILN_DTYPE_F32, 2, d23, a)});
    check_f32(run(), (float[]){101, 102, 103, 204, 205, 206}, 6);
    /* outer sum: [2,1] + [3] -> [2,3] */
    op("Sub", 2, (struct kiln_ir_value *[]){val(KILN_DTYPE_F32, 2, d21, col),
                                            val(KILN_DTYPE_F32, 1, d3, row)});
    y = run();
    assert_int_equal(y->dims[0], 2);
    assert_int_equal(y->dims[1], 3);
    check_f32(y, (float[]){90, 80, 70, 190, 180, 170}, 6);
}

static void test_mul_4d(void **state)
{
    (void)state;
    /* [2,1,3,1] * [1,2,1,2] -> [2,2,3,2]: y[i,j,k,l] = a[i,k] * b[j,l] */
    const int64_t da[] = {2, 1, 3, 1}, db[] = {1, 2, 1, 2};
    const int32_t a[6] = {1, 2, 3, 4, 5, 6}, b[4] = {1, 10, 100, 1000};
    op("Mul", 2, (struct kiln_ir_value *[]){val(KILN_DTYPE_I32, 4, da, a),
                                            val(KILN_DTYPE_I32, 4, db, b)});
    struct kiln_ir_value *y = run();
    assert_int_equal(y->rank, 4);
    const int32_t *z = y->data;
    int idx = 0;
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++)
            for (int k = 0; k < 3; k++)
                for (int l = 0; l < 2; l++)
                    assert_int_equal(z[idx++], a[i * 3 + k] * b[j * 2 + l]);
    assert_int_equal(z[0], 1);
    assert_int_equal(z[23], 6000);
}

static void test_int_div_mod(void **state)
{
    (void)state;
    const int32_t a[4] = {-7, 7, -7, 7}, b[4] = {2, -2, 3, -3};
    op("Div", 2, (struct kiln_ir_value *[]){val(KILN_DTYPE_I32, 1, d4, a),
                                            val(KILN_DTYPE_I32, 1, d4, b)});
    const int32_t *z = run()->data;
    assert_int_equal(z[0], -3); /* toward zero */
    assert_int_equal(z[1], -3);
    /* fmod = 0: the sign of the divisor, like Python */
    op("Mod", 2, (struct kiln_ir_value *[]){val(KILN_DTYPE_I32, 1, d4, a),
                                            val(KILN_DTYPE_I32, 1, d4, b)});
    z = run()->data;
    assert_int_equal(z[0], 1);
    assert_int_equal(z[1], -1);
    assert_int_equal(z[2], 2);
    assert_int_equal(z[3], -2);
    /* fmod = 1: the sign of the dividend, like C */
    op("Mod", 2, (struct kiln_ir_value *[]){val(KILN_DTYPE_I32, 1, d4, a),
                                            val(KILN_DTYPE_I32, 1, d4, b)});
    attr_i("fmod", 1);
    z = run()->data;
    assert_int_equal(z[0], -1);
    assert_int_equal(z[1], 1);
    assert_int_equal(z[2], -1);
    assert_int_equal(z[3], 1);
    /* float fmod */
    const double fa[2] = {5.5, -5.5}, fb[2] = {2, 2};
    op("Mod", 2, (struct kiln_ir_value *[]){val(KILN_DTYPE_F64, 1, d2, fa),
                                            val(KILN_DTYPE_F64, 1, d2, fb)});
    attr_i("fmod", 1);
    const double *zd = run()->data;
    assert_true(zd[0] == 1.5 && zd[1] == -1.5);
    /* unsigned wraps */
    const uint8_t ua[2] = {250, 3}, ub[2] = {10, 5};
    op("Add", 2, (struct kiln_ir_value *[]){val(KILN_DTYPE_U8, 1, d2, ua),
                                            val(KILN_DTYPE_U8, 1, d2, ub)});
    const uint8_t *zu = run()->data;
    assert_int_equal(zu[0], 4);
    assert_int_equal(zu[1], 8);
}

static void test_pow_mixed(void **state)
{
    (void)state;
    const float base[3] = {2, 3, -2};
    const int64_t ex[3] = {3, 2, 3};
    op("Pow", 2, (struct kiln_ir_value *[]){val(KILN_DTYPE_F32, 1, d3, base),
                                            val(KILN_DTYPE_I64, 1, d3, ex)});
    struct kiln_ir_value *y = run();
    assert_int_equal(y->dtype, KILN_DTYPE_F32);
    check_f32(y, (float[]){8, 9, -8}, 3);
    const int32_t ib[2] = {4, 9};
    const float half = 0.5f;
    op("Pow", 2, (struct kiln_ir_value *[]){val(KILN_DTYPE_I32, 1, d2, ib),
                                            val(KILN_DTYPE_F32, 0, NULL, &half)});
    const int32_t *z = run()->data;
    assert_int_equal(z[0], 2);
    assert_int_equal(z[1], 3);
}

static void test_compare_logic_shift(void **state)
{
    (void)state;
    const float a[3] = {1, 2, 3}, b = 2;
    const char *ops[] = {"Less", "LessOrEqual", "Greater", "GreaterOrEqual", "Equal"};
    const uint8_t want[5][3] = {{1, 0, 0}, {1, 1, 0}, {0, 0, 1}, {0, 1, 1}, {0, 1, 0}};
    for (int i = 0; i < 5; i++) {
        op(ops[i], 2, (struct kiln_ir_value *[]){val(KILN_DTYPE_F32, 1, d3, a),
                                                 val(KILN_DTYPE_F32, 0, NULL, &b)});
        struct kiln_ir_value *y = run();
        assert_int_equal(y->dtype, KILN_DTYPE_BOOL);
        assert_memory_equal(y->data, want[i], 3);
    }
    const uint8_t p[4] = {0, 0, 1, 1}, q[4] = {0, 1, 0, 1};
    const char *lops[] = {"And", "Or", "Xor"};
    const uint8_t lwant[3][4] = {{0, 0, 0, 1}, {0, 1, 1, 1}, {0, 1, 1, 0}};
    for (int i = 0; i < 3; i++) {
        op(lops[i], 2, (struct kiln_ir_value *[]){val(KILN_DTYPE_BOOL, 1, d4, p),
                                                  val(KILN_DTYPE_BOOL, 1, d4, q)});
        assert_memory_equal(run()->data, lwant[i], 4);
    }
    op("Not", 1, (struct kiln_ir_value *[]){val(KILN_DTYPE_BOOL, 1, d4, p)});
    assert_memory_equal(run()->data, ((uint8_t[]){1, 1, 0, 0}), 4);
    const uint8_t x[3] = {16, 4, 1}, s[3] = {1, 2, 3};
    op("BitShift", 2, (struct kiln_ir_value *[]){val(KILN_DTYPE_U8, 1, d3, x),
                                                 val(KILN_DTYPE_U8, 1, d3, s)});
    attr_s("direction", "RIGHT");
    assert_memory_equal(run()->data, ((uint8_t[]){8, 1, 0}), 3);
    op("BitShift", 2, (struct kiln_ir_value *[]){val(KILN_DTYPE_U8, 1, d3, x),
                                                 val(KILN_DTYPE_U8, 1, d3, s)});
    attr_s("direction", "LEFT");
    assert_memory_equal(run()->data, ((uint8_t[]){32, 16, 8}), 3);
}

static void test_prelu_variadic_where(void **state)
{
    (void)state;
    const float x[6] = {-1, 2, -3, 4, -5, 6}, slope[3] = {0.5f, 1, 2};
    op("PRelu", 2, (struct kiln_ir_value *[]){val(KILN_DTYPE_F32, 2, d23, x),
                                              val(KILN_DTYPE_F32, 1, d3, slope)});
    check_f32(run(), (float[]){-0.5f, 2, -6, 4, -5, 6}, 6);
    /* Max/Min/Sum/Mean of [3], [1] and [2,1] -> [2,3] */
    const float a[3] = {1, 5, 3}, b = 2, c[2] = {0, 4};
    const char *ops[] = {"Max", "Min", "Sum", "Mean"};
    const float want[4][6] = {{2, 5, 3, 4, 5, 4},
                              {0, 0, 0, 1, 2, 2},
                              {3, 7, 5, 7, 11, 9},
                              {1, 7 / 3.0f, 5 / 3.0f, 7 / 3.0f, 11 / 3.0f, 3}};
    for (int i = 0; i < 4; i++) {
        op(ops[i], 3, (struct kiln_ir_value *[]){val(KILN_DTYPE_F32, 1, d3, a),
                                                 val(KILN_DTYPE_F32, 1, d1, &b),
                                                 val(KILN_DTYPE_F32, 2, d21, c)});
        check_f32(run(), want[i], 6);
    }
    const float nan_in[2] = {NAN, 1}, one[2] = {0, 2};
    op("Max", 2, (struct kiln_ir_value *[]){val(KILN_DTYPE_F32, 1, d2, nan_in),
                                            val(KILN_DTYPE_F32, 1, d2, one)});
    check_f32(run(), (float[]){NAN, 2}, 2);
    const int16_t ia[2] = {-3, 7};
    op("Max", 1, (struct kiln_ir_value *[]){val(KILN_DTYPE_I16, 1, d2, ia)});
    assert_memory_equal(run()->data, ia, sizeof ia);
    /* Where: condition [2,1], x [3], y scalar */
    const uint8_t cond[2] = {1, 0};
    const int64_t wx[3] = {1, 2, 3}, wy = -1;
    op("Where", 3, (struct kiln_ir_value *[]){val(KILN_DTYPE_BOOL, 2, d21, cond),
                                              val(KILN_DTYPE_I64, 1, d3, wx),
                                              val(KILN_DTYPE_I64, 0, NULL, &wy)});
    struct kiln_ir_value *y = run();
    assert_int_equal(y->dtype, KILN_DTYPE_I64);
    assert_memory_equal(y->data, ((int64_t[]){1, 2, 3, -1, -1, -1}), 6 * sizeof(int64_t));
}

static void test_legacy_axis_broadcast(void **state)
{
    (void)state;
    g->opset = 6;
    /* A [2,3,2] + B [3] at axis 1: B varies along the middle axis */
    const int64_t da[] = {2, 3, 2};
    const float a[12] = {0}, b[3] = {1, 2, 3};
    op("Add", 2, (struct kiln_ir_value *[]){val(KILN_DTYPE_F32, 3, da, a),
                                            val(KILN_DTYPE_F32, 1, d3, b)});
    attr_i("broadcast", 1);
    attr_i("axis", 1);
    check_f32(run(), (float[]){1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3}, 12);
}

/* ---- unary ---- */

static void test_unary_float(void **state)
{
    (void)state;
    const float x[5] = {-2, -0.5f, 0, 0.5f, 3};
    struct {
        const char *op;
        float want[5];
    } cases[] = {
        {"Relu", {0, 0, 0, 0.5f, 3}},
        {"LeakyRelu", {-0.02f, -0.005f, 0, 0.5f, 3}},
        {"Abs", {2, 0.5f, 0, 0.5f, 3}},
        {"Neg", {2, 0.5f, -0.0f, -0.5f, -3}},
        {"Sign", {-1, -1, 0, 1, 1}},
        {"Floor", {-2, -1, 0, 0, 3}},
        {"Ceil", {-2, -0.0f, 0, 1, 3}},
        {"Sigmoid", {0.11920292f, 0.37754067f, 0.5f, 0.62245933f, 0.95257413f}},
        {"HardSigmoid", {0.1f, 0.4f, 0.5f, 0.6f, 1}},
        {"HardSwish", {-2 * (1 / 6.0f), -0.5f * (5 / 12.0f), 0, 0.5f * (7 / 12.0f), 3}},
        {"Elu", {expf(-2) - 1, expf(-0.5f) - 1, 0, 0.5f, 3}},
        {"Softsign", {-2 / 3.0f, -1 / 3.0f, 0, 1 / 3.0f, 0.75f}},
        {"Softplus", {logf(1 + expf(-2)), logf(1 + expf(-0.5f)), logf(2), logf(1 + expf(0.5f)),
                      logf(1 + expf(3))}},
        {"ThresholdedRelu", {0, 0, 0, 0, 3}},
        {"Shrink", {-2, 0, 0, 0, 3}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        op(cases[i].op, 1, (struct kiln_ir_value *[]){val(KILN_DTYPE_F32, 1, d5, x)});
        check_f32(run(), cases[i].want, 5);
    }
    /* Selu defaults */
    op("Selu", 1, (struct kiln_ir_value *[]){val(KILN_DTYPE_F32, 1, d5, x)});
    const float al = 1.67326319217681884765625f, ga = 1.05070102214813232421875f;
    check_f32(run(), (float[]){ga * al * (expf(-2) - 1), ga * al * (expf(-0.5f) - 1), 0,
                               ga * 0.5f, ga * 3},
              5);
}

static void test_round_half_even(void **state)
{
    (void)state;
    const float x[6] = {0.5f, 1.5f, 2.5f, -0.5f, -2.5f, 2.6f};
    op("Round", 1, (struct kiln_ir_value *[]){val(KILN_DTYPE_F32, 1, d6, x)});
    check_f32(run(), (float[]){0, 2, 2, -0.0f, -2, 3}, 6);
    /* float16 through float */
    uint16_t h[2] = {kiln_f32_to_f16(2.5f), kiln_f32_to_f16(3.5f)};
    op("Round", 1, (struct kiln_ir_value *[]){val(KILN_DTYPE_F16, 1, d2, h)});
    const uint16_t *z = run()->data;
    assert_true(kiln_f16_to_f32(z[0]) == 2.0f && kiln_f16_to_f32(z[1]) == 4.0f);
}

static void test_clip_int_and_isinf(void **state)
{
    (void)state;
    const int8_t x[4] = {-100, -1, 5, 100}, lo = -2, hi = 10;
    op("Clip", 3, (struct kiln_ir_value *[]){val(KILN_DTYPE_I8, 1, d4, x),
                                             val(KILN_DTYPE_I8, 0, NULL, &lo),
                                             val(KILN_DTYPE_I8, 0, NULL, &hi)});
    assert_memory_equal(run()->data, ((int8_t[]){-2, -1, 5, 10}), 4);
    /* max only (min omitted) */
    op("Clip", 3, (struct kiln_ir_value *[]){val(KILN_DTYPE_I8, 1, d4, x), NULL,
                                             val(KILN_DTYPE_I8, 0, NULL, &hi)});
    assert_memory_equal(run()->data, ((int8_t[]){-100, -1, 5, 10}), 4);
    /* opset 6 attributes */
    g->opset = 6;
    const float fx[3] = {-5, 0.25f, 5};
    op("Clip", 1, (struct kiln_ir_value *[]){val(KILN_DTYPE_F32, 1, d3, fx)});
    attr_f("min", -1);
    attr_f("max", 1);
    check_f32(run(), (float[]){-1, 0.25f, 1}, 3);
    g->opset = 17;
    const double inf[4] = {INFINITY, -INFINITY, NAN, 1};
    op("IsInf", 1, (struct kiln_ir_value *[]){val(KILN_DTYPE_F64, 1, d4, inf)});
    attr_i("detect_negative", 0);
    assert_memory_equal(run()->data, ((uint8_t[]){1, 0, 0, 0}), 4);
    op("IsNaN", 1, (struct kiln_ir_value *[]){val(KILN_DTYPE_F64, 1, d4, inf)});
    assert_memory_equal(run()->data, ((uint8_t[]){0, 0, 1, 0}), 4);
    const int32_t ix[3] = {-4, 0, 9};
    op("Abs", 1, (struct kiln_ir_value *[]){val(KILN_DTYPE_I32, 1, d3, ix)});
    assert_memory_equal(run()->data, ((int32_t[]){4, 0, 9}), sizeof ix);
    op("Sign", 1, (struct kiln_ir_value *[]){val(KILN_DTYPE_I32, 1, d3, ix)});
    assert_memory_equal(run()->data, ((int32_t[]){-1, 0, 1}), sizeof ix);
}

/* ---- Cast ---- */

static void test_cast(void **state)
{
    (void)state;
    const float x[5] = {1.0f / 3, -2.7f, 65504.0f, 0, 1e-8f};
    op("Cast", 1, (struct kiln_ir_value *[]){val(KILN_DTYPE_F32, 1, d5, x)});
    attr_i("to", KILN_DTYPE_F16);
    struct kiln_ir_value *h = run();
    assert_int_equal(h->dtype, KILN_DTYPE_F16);
    const uint16_t *hz = h->data;
    assert_int_equal(hz[0], 0x3555); /* 1/3 rounded to nearest even */
    assert_int_equal(hz[2], 0x7bff); /* max half */
    /* and back: exact */
    op("Cast", 1, (struct kiln_ir_value *[]){h});
    attr_i("to", KILN_DTYPE_F32);
    const float *back = run()->data;
    assert_true(back[0] == kiln_f16_to_f32(0x3555));
    assert_true(fabsf(back[1] + 2.7f) < 1e-3f);
    assert_true(back[2] == 65504.0f);
    /* to int: truncation toward zero; to bool: x != 0 */
    op("Cast", 1, (struct kiln_ir_value *[]){val(KILN_DTYPE_F32, 1, d5, x)});
    attr_i("to", KILN_DTYPE_I32);
    assert_memory_equal(run()->data, ((int32_t[]){0, -2, 65504, 0, 0}), 5 * sizeof(int32_t));
    op("Cast", 1, (struct kiln_ir_value *[]){val(KILN_DTYPE_F32, 1, d5, x)});
    attr_i("to", KILN_DTYPE_BOOL);
    assert_memory_equal(run()->data, ((uint8_t[]){1, 1, 1, 0, 1}), 5);
    /* int64 -> uint8 wraps, int64 -> double exact */
    const int64_t big[2] = {257, -1};
    op("Cast", 1, (struct kiln_ir_value *[]){val(KILN_DTYPE_I64, 1, d2, big)});
    attr_i("to", KILN_DTYPE_U8);
    assert_memory_equal(run()->data, ((uint8_t[]){1, 255}), 2);
    /* CastLike takes the second input's type */
    const double like = 0;
    op("CastLike", 2, (struct kiln_ir_value *[]){val(KILN_DTYPE_I64, 1, d2, big),
                                                 val(KILN_DTYPE_F64, 0, NULL, &like)});
    const double *dz = run()->data;
    assert_true(dz[0] == 257.0 && dz[1] == -1.0);
    /* bfloat16 */
    const float bx = 1.00390625f; /* halfway between two bfloat16: ties to even */
    op("Cast", 1, (struct kiln_ir_value *[]){val(KILN_DTYPE_F32, 0, NULL, &bx)});
    attr_i("to", KILN_DTYPE_BF16);
    assert_int_equal(*(const uint16_t *)run()->data, 0x3f80);
}

/* ---- through the interpreter (not folded) ---- */

static void test_interpreter_path(void **state)
{
    (void)state;
    const float b[3] = {1, 2, 3};
    op("Mul", 2, (struct kiln_ir_value *[]){val(KILN_DTYPE_F32, 2, d23, NULL),
                                            val(KILN_DTYPE_F32, 1, d3, b)});
    assert_int_equal(kiln_infer(g, &diag), KILN_STATUS_OK);
    assert_null(node->out[0]->data);
    struct kiln_compiled *c;
    assert_int_equal(kiln_lower(g, &c, &diag), KILN_STATUS_OK);
    const float x[6] = {1, 1, 1, 2, 2, 2};
    float y[6];
    void *arena = aligned_alloc(KILN_ARENA_ALIGN, c->prog.arena_size + KILN_ARENA_ALIGN);
    const void *ins[1] = {x};
    void *outs[1] = {y};
    assert_int_equal(kiln_run(&c->prog, arena, ins, outs), KILN_STATUS_OK);
    float want[6] = {1, 2, 3, 2, 4, 6};
    assert_memory_equal(y, want, sizeof y);
    free(arena);
    kiln_compiled_free(c);
}

/* ---- inference errors ---- */

static void test_errors(void **state)
{
    (void)state;
    const int32_t i[3] = {0};
    op("Add", 2, (struct kiln_ir_value *[]){val(KILN_DTYPE_F32, 1, d3, NULL),
                                            val(KILN_DTYPE_I32, 1, d3, i)});
    expect_error(KILN_STATUS_INVALID_MODEL, "same type");
}

static void test_error_shapes(void **state)
{
    (void)state;
    const float f[4] = {0};
    op("Add", 2, (struct kiln_ir_value *[]){val(KILN_DTYPE_F32, 2, d23, NULL),
                                            val(KILN_DTYPE_F32, 1, d4, f)});
    expect_error(KILN_STATUS_INVALID_MODEL, "broadcast");
}

static void test_error_and_float(void **state)
{
    (void)state;
    op("And", 2, (struct kiln_ir_value *[]){val(KILN_DTYPE_F32, 1, d3, NULL),
                                            val(KILN_DTYPE_F32, 1, d3, NULL)});
    expect_error(KILN_STATUS_INVALID_MODEL, "bool");
}

static void test_error_mod_float_fmod0(void **state)
{
    (void)state;
    op("Mod", 2, (struct kiln_ir_value *[]){val(KILN_DTYPE_F32, 1, d3, NULL),
                                            val(KILN_DTYPE_F32, 1, d3, NULL)});
    expect_error(KILN_STATUS_INVALID_MODEL, "fmod");
}

/* Clip's bounds computed at run time reach the kernel (a constant one is still folded); a
 * bound must hold one value. */
static void test_clip_runtime_bounds(void **state)
{
    (void)state;
    int32_t x[5] = {-7, -1, 0, 4, 9}, lo = -2, hi = 3, y[5];
    struct tg *t = tg_new("Clip", 13, 3, 1);
    tg_in(t, 0, KILN_DTYPE_I32, 1, d5, x, 1);
    tg_in(t, 1, KILN_DTYPE_I32, 0, NULL, &lo, 1);
    tg_in(t, 2, KILN_DTYPE_I32, 0, NULL, &hi, 0);
    assert_int_equal(tg_run(t, y, NULL), KILN_STATUS_OK);
    assert_int_equal(t->n->folded_in, 1u << 2);
    assert_memory_equal(y, ((int32_t[]){-2, -1, 0, 3, 3}), sizeof y);
    tg_free(t);
    float xf[3] = {-5, 0.5f, 7}, lof = 0, hif = 1, yf[3];
    t = tg_new("Clip", 13, 3, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 1, d3, xf, 1);
    tg_in(t, 1, KILN_DTYPE_F32, 1, d1, &lof, 1);
    tg_in(t, 2, KILN_DTYPE_F32, 0, NULL, &hif, 1);
    assert_int_equal(tg_run(t, yf, NULL), KILN_STATUS_OK);
    assert_memory_equal(yf, ((float[]){0, 0.5f, 1}), sizeof yf);
    tg_free(t);
    t = tg_new("Clip", 13, 2, 1);
    tg_in(t, 0, KILN_DTYPE_F32, 1, d3, xf, 1);
    tg_in(t, 1, KILN_DTYPE_F32, 1, d2, xf, 1);
    tg_expect_err(t, KILN_STATUS_INVALID_MODEL, "must hold one value");
    tg_free(t);
}

static void test_error_prelu_slope(void **state)
{
    (void)state;
    op("PRelu", 2, (struct kiln_ir_value *[]){val(KILN_DTYPE_F32, 1, d3, NULL),
                                              val(KILN_DTYPE_F32, 2, d23, NULL)});
    expect_error(KILN_STATUS_INVALID_MODEL, "slope");
}

static void test_error_cast_string(void **state)
{
    (void)state;
    op("Cast", 1, (struct kiln_ir_value *[]){val(KILN_DTYPE_F32, 1, d3, NULL)});
    attr_i("to", 8);
    expect_error(KILN_STATUS_UNSUPPORTED, "string");
}

static void test_error_legacy_no_broadcast(void **state)
{
    (void)state;
    g->opset = 6;
    op("Mul", 2, (struct kiln_ir_value *[]){val(KILN_DTYPE_F32, 2, d23, NULL),
                                            val(KILN_DTYPE_F32, 1, d3, NULL)});
    expect_error(KILN_STATUS_INVALID_MODEL, "broadcast is 0");
}

static void test_error_sqrt_int(void **state)
{
    (void)state;
    op("Sqrt", 1, (struct kiln_ir_value *[]){val(KILN_DTYPE_I32, 1, d3, NULL)});
    expect_error(KILN_STATUS_INVALID_MODEL, "int32");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_add_broadcasts),     T(test_mul_4d),
        T(test_int_div_mod),        T(test_pow_mixed),
        T(test_compare_logic_shift), T(test_prelu_variadic_where),
        T(test_legacy_axis_broadcast), T(test_unary_float),
        T(test_round_half_even),    T(test_clip_int_and_isinf),
        T(test_cast),               T(test_interpreter_path),
        T(test_errors),             T(test_error_shapes),
        T(test_error_and_float),    T(test_error_mod_float_fmod0),
        T(test_clip_runtime_bounds), T(test_error_prelu_slope),
        T(test_error_cast_string),  T(test_error_legacy_no_broadcast),
        T(test_error_sqrt_int),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
