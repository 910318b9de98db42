/* test_limits.c - the compiler's resource limits (docs/robustness.md): compile-time folding
 * leaves a node whose outputs or work are too large to run at run time, the graph's memory
 * limit refuses an allocation with a message naming the node and the limit, element counts
 * saturate instead of overflowing, and parsing is charged against the limit too. */
#include "graph_harness.h"

/* ConstantOfShape with a constant shape: folded when small, left to run time when its output
 * passes KILN_FOLD_MAX_BYTES. */
static void test_fold_size_limit(void **state)
{
    (void)state;
    int64_t small[1] = {1000}, big[1] = {(int64_t)(KILN_FOLD_MAX_BYTES / 4) + 16};
    struct tg *t = tg_new("ConstantOfShape", 13, 1, 1);
    tg_i64s(t, 0, 1, small);
    assert_int_equal(tg_infer(t), KILN_STATUS_OK);
    assert_non_null(t->n->out[0]->data);
    tg_free(t);
    t = tg_new("ConstantOfShape", 13, 1, 1);
    tg_i64s(t, 0, 1, big);
    assert_int_equal(tg_infer(t), KILN_STATUS_OK);
    assert_null(t->n->out[0]->data); /* left to run time */
    assert_int_equal(t->n->out[0]->dims[0], big[0]);
    tg_free(t);
}

/* MatMul of constants: 64x64 folds; 1024x1024 (2^30 multiply-adds plus its elements) does not. */
static void test_fold_work_limit(void **state)
{
    (void)state;
    for (int k = 0; k < 2; k++) {
        int64_t n = k ? 1024 : 64, dims[2] = {n, n};
        float *ones = malloc((size_t)(n * n) * sizeof *ones);
        for (int64_t i = 0; i < n * n; i++)
            ones[i] = 1.0f;
        struct tg *t = tg_new("MatMul", 13, 2, 1);
        tg_const(t, 0, KILN_DTYPE_F32, 2, dims, ones);
        tg_const(t, 1, KILN_DTYPE_F32, 2, dims, ones);
        assert_int_equal(tg_infer(t), KILN_STATUS_OK);
        if (k) {
            assert_null(t->n->out[0]->data);
        } else {
            assert_non_null(t->n->out[0]->data);
            assert_true(((const float *)t->n->out[0]->data)[0] == 64.0f);
        }
        free(ones);
        tg_free(t);
    }
}

/* A graph limited to 1 MiB cannot fold a 4 MiB constant: the error names the node, the limit
 * and --max-memory. */
static void test_memory_limit_names_node(void **state)
{
    (void)state;
    int64_t shape[1] = {1 << 20};
    struct tg *t = tg_new("ConstantOfShape", 13, 1, 1);
    tg_i64s(t, 0, 1, shape);
    t->g->arena.limit = t->g->arena.charged + (1u << 20);
    kiln_diag_clear(&t->d);
    assert_int_equal(tg_infer(t), KILN_STATUS_NO_MEMORY);
    kiln_arena_explain(&t->g->arena, &t->d);
    assert_string_equal(t->d.node, "node0");
    assert_non_null(strstr(t->d.message, "the compile-time memory limit of"));
    assert_non_null(strstr(t->d.message, "--max-memory"));
    tg_free(t);
}

/* A subgraph's allocations are charged to its root graph's limit and returned when freed. */
static void test_subgraph_charges_root(void **state)
{
    (void)state;
    struct kiln_ir_graph *g = kiln_ir_graph_new();
    g->arena.limit = 1u << 20;
    struct kiln_ir_graph *sub = kiln_ir_subgraph_new(g);
    assert_non_null(kiln_arena_alloc(&sub->arena, 600000));
    assert_true(g->arena.charged >= 600000);
    assert_null(kiln_arena_alloc(&g->arena, 600000));
    assert_int_equal(g->arena.refused, 600000);
    kiln_arena_free(&sub->arena);
    assert_non_null(kiln_arena_alloc(&g->arena, 600000));
    kiln_ir_graph_free(g);
}

static void test_numel_saturates(void **state)
{
    (void)state;
    struct kiln_ir_value v = {
        .dtype = KILN_DTYPE_F32, .rank = 3, .dims = {1ll << 40, 1ll << 40, 1ll << 40}};
    assert_true(kiln_ir_value_numel(&v) == INT64_MAX);
    assert_true(kiln_ir_value_nbytes(&v) == UINT64_MAX);
    v.rank = 1;
    v.dims[0] = 1ll << 62; /* the count fits, its bytes do not */
    assert_true(kiln_ir_value_nbytes(&v) == UINT64_MAX);
}

/* Parsing a model under a limit smaller than protobuf-c needs for it. */
static void test_parse_limit(void **state)
{
    (void)state;
    char path[1024];
    snprintf(path, sizeof path, "%s/../../models/tiny_resnet.onnx", KILN_TEST_DATA);
    struct kiln_import_options o = {NULL, 0, NULL, 0, 4096};
    struct kiln_ir_graph *g = NULL;
    struct kiln_diag d;
    kiln_diag_clear(&d);
    assert_int_equal(kiln_onnx_load(path, &o, &g, &d), KILN_STATUS_NO_MEMORY);
    assert_null(g);
    assert_non_null(strstr(d.message, "parsing the model needs more than"));
    o.max_memory = 0; /* the default for the file */
    kiln_diag_clear(&d);
    assert_int_equal(kiln_onnx_load(path, &o, &g, &d), KILN_STATUS_OK);
    assert_true(g->arena.limit >= KILN_MEMORY_BASE);
    kiln_ir_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fold_size_limit),
        cmocka_unit_test(test_fold_work_limit),
        cmocka_unit_test(test_memory_limit_names_node),
        cmocka_unit_test(test_subgraph_charges_root),
        cmocka_unit_test(test_numel_saturates),
        cmocka_unit_test(test_parse_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
