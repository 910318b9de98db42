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

/* ---- passes-a: fold_batchnorm, matmul_add_to_gemm, fold_pad, transpose, reshape_chain ---- */

/* The op of the live node called name (KILN_OP_COUNT + 1 if there is none). */
static enum kiln_op op_of(const struct kiln_ir_graph *g, const char *name)
{
    for (uint32_t i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i]->dead && strcmp(g->nodes[i]->name, name) == 0)
            return g->nodes[i]->op;
    return KILN_OP_COUNT + 1;
}

static int64_t attr_int_of(const struct kiln_ir_graph *g, const char *node, const char *attr)
{
    for (uint32_t i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i]->dead && strcmp(g->nodes[i]->name, node) == 0) {
            const struct kiln_ir_attr *a = kiln_ir_attr(g->nodes[i], attr);
            return a ? a->i : -1;
        }
    return -2;
}

/* Lines of pass `pass` in r that contain `text`. */
static uint32_t log_lines(const struct kiln_pass_report *r, const char *pass, const char *text)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < r->n; i++) {
        if (strcmp(r->passes[i].name, pass) != 0)
            continue;
        const char *line = r->passes[i].log;
        for (uint32_t k = 0; k < r->passes[i].n_lines; k++, line += strlen(line) + 1)
            n += strstr(line, text) != NULL;
    }
    return n;
}

static void test_fold_batchnorm(void **state)
{
    (void)state;
    struct kiln_pass_report r;
    struct kiln_ir_graph *g = load("fold_bn", 2, &r);
    assert_int_equal(count_op(g, KILN_OP_BATCH_NORMALIZATION), 0);
    assert_int_equal(count_op(g, KILN_OP_MUL) + count_op(g, KILN_OP_ADD), 0);
    assert_int_equal(kiln_pass_live_nodes(g), 4); /* conv1, convt, gemm3, gemm4 */
    assert_int_equal(log_lines(&r, "fold_batchnorm", "into Conv 'conv1'"), 3); /* BN Mul Add */
    assert_int_equal(log_lines(&r, "fold_batchnorm", "BatchNormalization 'bn2' into ConvTranspose"),
                     1);
    assert_int_equal(log_lines(&r, "fold_batchnorm", "into Gemm 'gemm4'"), 2);
    assert_int_equal(attr_int_of(g, "conv1", "group"), -1);
    kiln_pass_report_free(&r);
    kiln_ir_graph_free(g);
    same_as_O0("fold_bn", 2, 1e-5f);
}

static void test_fold_batchnorm_negative(void **state)
{
    (void)state;
    struct kiln_ir_graph *g = load("fold_bn_neg", 2, NULL);
    assert_true(has_node(g, "bn_shared")); /* the Conv output has a second reader */
    assert_true(has_node(g, "bn_var"));    /* scale is a graph input */
    assert_true(has_node(g, "mul_axis"));  /* varies along the width */
    assert_true(has_node(g, "mul_rows"));  /* varies along Gemm's M axis */
    assert_int_equal(kiln_pass_live_nodes(g), 9);
    kiln_ir_graph_free(g);
    same_as_O0("fold_bn_neg", 2, 0);
}

static void test_matmul_add_to_gemm(void **state)
{
    (void)state;
    struct kiln_pass_report r;
    struct kiln_ir_graph *g = load("matmul_gemm", 2, &r);
    assert_int_equal(op_of(g, "mm2d"), KILN_OP_GEMM);
    assert_false(has_node(g, "add2d"));
    assert_int_equal(op_of(g, "mm3d"), KILN_OP_GEMM); /* flattened between two Reshapes */
    assert_true(has_node(g, "mm3d_flatten") && has_node(g, "mm3d_unflatten"));
    assert_false(has_node(g, "add3d"));
    assert_int_equal(op_of(g, "mm_var"), KILN_OP_MATMUL); /* weight not constant */
    assert_true(has_node(g, "add_var"));
    assert_int_equal(op_of(g, "mm_rows"), KILN_OP_MATMUL); /* bias varies along M */
    assert_true(has_node(g, "add_rows"));
    assert_int_equal(log_lines(&r, "matmul_add_to_gemm", "became Gemm"), 2);
    kiln_pass_report_free(&r);
    kiln_ir_graph_free(g);
    same_as_O0("matmul_gemm", 2, 1e-6f);
}

static void test_fold_pad(void **state)
{
    (void)state;
    struct kiln_pass_report r;
    struct kiln_ir_graph *g = load("fold_pad", 2, &r);
    assert_false(has_node(g, "pad_conv"));
    assert_false(has_node(g, "pad_avg"));
    assert_int_equal(attr_int_of(g, "avg", "count_include_pad"), 1);
    assert_true(has_node(g, "pad_one"));     /* value 1 */
    assert_true(has_node(g, "pad_reflect")); /* not constant mode */
    assert_true(has_node(g, "pad_max"));     /* MaxPool pads with -inf */
    assert_true(has_node(g, "pad_shared"));  /* read twice */
    assert_true(has_node(g, "pad_chan"));    /* channel axis */
    assert_int_equal(count_op(g, KILN_OP_PAD), 5);
    assert_int_equal(log_lines(&r, "fold_pad", "folded Pad"), 2);
    kiln_pass_report_free(&r);
    kiln_ir_graph_free(g);
    same_as_O0("fold_pad", 2, 0);
}

static void test_transpose(void **state)
{
    (void)state;
    struct kiln_pass_report r;
    struct kiln_ir_graph *g = load("transpose", 2, &r);
    assert_false(has_node(g, "t_cancel_a") || has_node(g, "t_cancel_b"));
    assert_false(has_node(g, "t_comp_a"));
    assert_true(has_node(g, "t_comp_b"));
    assert_false(has_node(g, "t_mm"));
    assert_int_equal(op_of(g, "mm"), KILN_OP_GEMM);
    assert_int_equal(attr_int_of(g, "mm", "transA"), 1);
    assert_false(has_node(g, "t_gemm"));
    assert_int_equal(attr_int_of(g, "gemm", "transB"), 1);
    assert_true(has_node(g, "t_out"));                 /* a graph output */
    assert_int_equal(op_of(g, "mm_out"), KILN_OP_MATMUL);
    assert_true(has_node(g, "t_3d"));                  /* 3-D: not a Gemm operand */
    assert_int_equal(count_op(g, KILN_OP_TRANSPOSE), 3);
    assert_int_equal(log_lines(&r, "transpose", "cancel"), 1);
    kiln_pass_report_free(&r);
    kiln_ir_graph_free(g);
    same_as_O0("transpose", 2, 0);
}

static void test_reshape_chain(void **state)
{
    (void)state;
    struct kiln_pass_report r;
    struct kiln_ir_graph *g = load("reshape_chain", 2, &r);
    assert_false(has_node(g, "flatten") || has_node(g, "unsqueeze"));
    assert_int_equal(op_of(g, "reshape"), KILN_OP_RESHAPE);
    assert_false(has_node(g, "reshape_same"));
    assert_true(has_node(g, "reshape_mid") && has_node(g, "unsqueeze_mid")); /* mid read twice */
    assert_int_equal(op_of(g, "unsqueeze_mid"), KILN_OP_UNSQUEEZE);
    assert_int_equal(count_op(g, KILN_OP_RESHAPE) + count_op(g, KILN_OP_UNSQUEEZE) +
                         count_op(g, KILN_OP_FLATTEN),
                     3);
    assert_int_equal(log_lines(&r, "reshape_chain", "into one Reshape"), 2);
    kiln_pass_report_free(&r);
    kiln_ir_graph_free(g);
    same_as_O0("reshape_chain", 2, 0);
}

/* ---- end of passes-a ---- */

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cleanup),
        cmocka_unit_test(test_O0_changes_nothing),
        /* passes-a */
        cmocka_unit_test(test_fold_batchnorm),
        cmocka_unit_test(test_fold_batchnorm_negative),
        cmocka_unit_test(test_matmul_add_to_gemm),
        cmocka_unit_test(test_fold_pad),
        cmocka_unit_test(test_transpose),
        cmocka_unit_test(test_reshape_chain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
