/* test_passes.c - the optimization pipeline on tiny graphs (the .onnx files in tests/data/passes,
 * generate.py there): what each pass removes or rewrites, what it must leave alone, and that
 * the optimized program computes the same outputs as the unoptimized one. */
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
#include "pass.h"

#ifndef KILN_TEST_DATA
#error "KILN_TEST_DATA must name tests/data"
#endif

static struct kiln_ir_graph *load(const char *name, int level, struct kiln_pass_report *r)
{
    char path[512];
    snprintf(path, sizeof path, "%s/passes/%s.onnx", KILN_TEST_DATA, name);
    struct kiln_ir_graph *g = NULL;
    struct kiln_diag d;
    kiln_diag_clear(&d);
    if (kiln_onnx_load(path, NULL, &g, &d) || kiln_infer(g, &d) ||
        kiln_optimize(g, level, r, &d))
        fail_msg("%s: %s: %s", path, d.node, d.message);
    return g;
}

static uint32_t count_op(const struct kiln_ir_graph *g, enum kiln_op op)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < g->n_nodes; i++)
        n += !g->nodes[i]->dead && g->nodes[i]->op == op;
    return n;
}

static bool has_node(const struct kiln_ir_graph *g, const char *name)
{
    for (uint32_t i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i]->dead && strcmp(g->nodes[i]->name, name) == 0)
            return true;
    return false;
}

/* Runs g once on deterministic inputs; returns the outputs concatenated as floats. */
static float *run(struct kiln_ir_graph *g, size_t *n_out)
{
    struct kiln_compiled *c;
    struct kiln_diag d;
    kiln_diag_clear(&d);
    if (kiln_lower(g, &c, &d))
        fail_msg("lower: %s", d.message);
    const struct kiln_program *p = &c->prog;
    const void *ins[8];
    void *outs[8];
    size_t total = 0;
    for (uint32_t i = 0; i < p->n_inputs; i++) {
        const struct kiln_tensor_desc *t = &p->tensors[p->inputs[i]];
        float *x = malloc(t->nbytes + 4);
        for (uint64_t k = 0; k < t->nbytes / 4; k++)
            x[k] = (float)((int)(k * 7919 % 23) - 11) / 4.0f;
        ins[i] = x;
    }
    for (uint32_t i = 0; i < p->n_outputs; i++)
        total += p->tensors[p->outputs[i]].nbytes / 4;
    float *all = calloc(total + 1, sizeof *all);
    size_t at = 0;
    for (uint32_t i = 0; i < p->n_outputs; i++) {
        outs[i] = all + at;
        at += p->tensors[p->outputs[i]].nbytes / 4;
    }
    void *arena = aligned_alloc(64, (p->arena_size + 63) / 64 * 64 + 64);
    assert_int_equal(kiln_run(p, arena, ins, outs), KILN_STATUS_OK);
    free(arena);
    for (uint32_t i = 0; i < p->n_inputs; i++)
        free((void *)ins[i]);
    kiln_compiled_free(c);
    *n_out = total;
    return all;
}

/* The model at level gives the same outputs as at -O0 (within tol). */
static void same_as_O0(const char *name, int level, float tol)
{
    struct kiln_ir_graph *g0 = load(name, 0, NULL), *g2 = load(name, level, NULL);
    size_t n0, n2;
    float *a = run(g0, &n0), *b = run(g2, &n2);
    assert_int_equal(n0, n2);
    for (size_t i = 0; i < n0; i++)
        if (!(fabsf(a[i] - b[i]) <= tol * (1 + fabsf(a[i]))))
            fail_msg("%s -O%d: output element %zu is %g, -O0 gives %g", name, level, i, b[i],
                     a[i]);
    free(a), free(b);
    kiln_ir_graph_free(g0), kiln_ir_graph_free(g2);
}

static void test_cleanup(void **state)
{
    (void)state;
    struct kiln_pass_report r;
    struct kiln_ir_graph *g = load("cleanup", 1, &r);
    assert_int_equal(count_op(g, KILN_OP_SHAPE) + count_op(g, KILN_OP_GATHER) +
                         count_op(g, KILN_OP_CONCAT) + count_op(g, KILN_OP_UNSQUEEZE),
                     0);                                  /* the shape chain folded away */
    assert_false(has_node(g, "dead_sigmoid"));           /* unused */
    assert_false(has_node(g, "id_in"));                  /* Identity rewired */
    assert_false(has_node(g, "dropout"));                /* inference Dropout */
    assert_true(has_node(g, "id_out"));                  /* produces a graph output: kept */
    assert_int_equal(count_op(g, KILN_OP_RELU), 1);      /* the duplicate merged */
    assert_int_equal(r.nodes_before, 12);
    assert_int_equal(r.nodes_after, kiln_pass_live_nodes(g));
    assert_true(r.n >= 1 && r.passes[0].n_lines >= 3);
    kiln_pass_report_free(&r);
    kiln_ir_graph_free(g);
    same_as_O0("cleanup", 1, 0);
}

static void test_O0_changes_nothing(void **state)
{
    (void)state;
    struct kiln_pass_report r;
    struct kiln_ir_graph *g = load("cleanup", 0, &r);
    assert_int_equal(r.n, 0);
    assert_int_equal(kiln_pass_live_nodes(g), 12);
    kiln_pass_report_free(&r);
    kiln_ir_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cleanup),
        cmocka_unit_test(test_O0_changes_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
