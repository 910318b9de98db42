/* test_ir.c - IR basics: value table, lookup, topological sort, cycle detection, verifier. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "compiler.h"

static struct kiln_ir_node *mk(struct kiln_ir_graph *g, const char *name, const char *op,
                               struct kiln_ir_value *in, struct kiln_ir_value *out)
{
    struct kiln_ir_node *n = kiln_ir_node_new(g, name, op, "", 1, 1);
    n->in[0] = in;
    n->out[0] = out;
    out->producer = n;
    return n;
}

static void test_lookup(void **state)
{
    (void)state;
    struct kiln_ir_graph *g = kiln_ir_graph_new();
    for (int i = 0; i < 1000; i++) {
        char name[32];
        snprintf(name, sizeof name, "v%d", i);
        assert_non_null(kiln_ir_value_new(g, name));
    }
    assert_null(kiln_ir_value_new(g, "v17")); /* duplicate */
    assert_int_equal(kiln_ir_find(g, "v999")->id, 999);
    assert_null(kiln_ir_find(g, "nope"));
    kiln_ir_graph_free(g);
}

static void test_toposort_and_cycle(void **state)
{
    (void)state;
    struct kiln_ir_graph *g = kiln_ir_graph_new();
    struct kiln_ir_value *x = kiln_ir_value_new(g, "x");
    x->is_input = true;
    struct kiln_ir_value *a = kiln_ir_value_new(g, "a"), *b = kiln_ir_value_new(g, "b");
    /* written out of order: b = Relu(a) before a = Relu(x) */
    mk(g, "second", "Relu", a, b);
    mk(g, "first", "Relu", x, a);
    struct kiln_diag d;
    kiln_diag_clear(&d);
    assert_int_equal(kiln_ir_toposort(g, &d), KILN_STATUS_OK);
    assert_string_equal(g->nodes[0]->name, "first");
    assert_int_equal(kiln_ir_verify(g, &d), KILN_STATUS_OK);
    /* close a cycle: first now reads b */
    g->nodes[0]->in[0] = b;
    assert_int_equal(kiln_ir_toposort(g, &d), KILN_STATUS_INVALID_MODEL);
    assert_non_null(strstr(d.message, "cycle"));
    kiln_ir_graph_free(g);
}

static void test_verify_use_before_def(void **state)
{
    (void)state;
    struct kiln_ir_graph *g = kiln_ir_graph_new();
    struct kiln_ir_value *ghost = kiln_ir_value_new(g, "ghost");
    struct kiln_ir_value *y = kiln_ir_value_new(g, "y");
    mk(g, "n", "Relu", ghost, y);
    struct kiln_diag d;
    kiln_diag_clear(&d);
    assert_int_equal(kiln_ir_verify(g, &d), KILN_STATUS_INVALID_MODEL);
    assert_string_equal(d.node, "n");
    assert_non_null(strstr(d.message, "ghost"));
    kiln_ir_graph_free(g);
}

static void test_op_lookup(void **state)
{
    (void)state;
    assert_int_equal(kiln_ir_op_lookup("", "Reshape"), KILN_OP_RESHAPE);
    assert_int_equal(kiln_ir_op_lookup("ai.onnx", "Reshape"), KILN_OP_RESHAPE);
    assert_int_equal(kiln_ir_op_lookup("com.microsoft", "Reshape"), KILN_OP_UNKNOWN);
    assert_int_equal(kiln_ir_op_lookup("", "NoSuchOp"), KILN_OP_UNKNOWN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookup),
        cmocka_unit_test(test_toposort_and_cycle),
        cmocka_unit_test(test_verify_use_before_def),
        cmocka_unit_test(test_op_lookup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
