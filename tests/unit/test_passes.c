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
#include "edit.h"

#ifndef KILN_TEST_DATA
#error "KILN_TEST_DATA must name tests/data"
#endif

static struct kiln_ir_graph *load(const char *name, int level, struct kiln_pass_report *r)
{
    char path[512];
    /* "../../../models/NAME" loads an example model */
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
    const void *ins[16];
    void *outs[16];
    assert_true(p->n_inputs <= 16 && p->n_outputs <= 16);
    size_t total = 0;
    for (uint32_t i = 0; i < p->n_inputs; i++) {
        const struct kiln_tensor_desc *t = &p->tensors[p->inputs[i]];
        float *x = malloc(t->nbytes + 4);
        for (uint64_t k = 0; k < t->nbytes / 4; k++)
            x[k] = (float)((int)(k * 7919 % 23) - 11) / 4.0f;
        if (t->dtype == KILN_DTYPE_I64) /* token ids, masks: small valid indices */
            for (uint64_t k = 0; k < t->nbytes / 8; k++)
                ((int64_t *)x)[k] = (int64_t)(k % 2);
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

static void test_global_pool(void **state)
{
    (void)state;
    struct kiln_pass_report r;
    struct kiln_ir_graph *g = load("global_pool", 2, &r);
    assert_int_equal(op_of(g, "avg_all"), KILN_OP_GLOBAL_AVERAGE_POOL);
    assert_int_equal(op_of(g, "max_all"), KILN_OP_GLOBAL_MAX_POOL);
    assert_int_equal(op_of(g, "avg_part"), KILN_OP_AVERAGE_POOL); /* one column short */
    assert_int_equal(op_of(g, "avg_pad"), KILN_OP_AVERAGE_POOL);  /* padded */
    assert_int_equal(op_of(g, "max_ind"), KILN_OP_MAX_POOL);      /* Indices */
    assert_int_equal(log_lines(&r, "global_pool", "covers its whole input"), 2);
    kiln_pass_report_free(&r);
    kiln_ir_graph_free(g);
    same_as_O0("global_pool", 2, 1e-6f);
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

/* ---- passes-b: fusion and pattern passes (fuse_activation, fuse_residual, layernorm_pattern,
 * gelu_pattern, fuse_elementwise, approximate) ---- */
#include "../../runtime/kernels/fastmath.h"
#include "kiln/params.h"

static struct kiln_ir_node *find_producer(const struct kiln_ir_graph *g, const char *value)
{
    struct kiln_ir_value *v = kiln_ir_find(g, value);
    assert_non_null(v);
    assert_non_null(v->producer);
    assert_false(v->producer->dead);
    return v->producer;
}

static const char *act_of(const struct kiln_ir_node *n)
{
    const struct kiln_ir_attr *a = kiln_ir_attr(n, "kiln_act");
    return a ? a->s : "";
}

static int64_t int_attr(const struct kiln_ir_node *n, const char *name)
{
    const struct kiln_ir_attr *a = kiln_ir_attr(n, name);
    return a ? a->i : 0;
}

static void test_fuse_activation(void **state)
{
    (void)state;
    struct kiln_ir_graph *g = load("fuse_act", 2, NULL);
    static const struct {
        const char *out, *op_type, *act;
    } want[] = {
        {"y1", "Conv", "relu"},          {"y2", "Conv", "clip"},
        {"y3", "Conv", "silu"},          {"y4", "Conv", "hard_swish"},
        {"y5", "ConvTranspose", "leaky_relu"}, {"y6", "Gemm", "hard_sigmoid"},
        {"y7", "MatMul", "tanh"},        {"y8", "MatMul", "gelu"},
        {"y9", "Gemm", "sigmoid"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        struct kiln_ir_node *p = find_producer(g, want[i].out);
        if (strcmp(p->op_type, want[i].op_type) || strcmp(act_of(p), want[i].act))
            fail_msg("%s: produced by %s with kiln_act '%s'; expected %s with '%s'",
                     want[i].out, p->op_type, act_of(p), want[i].op_type, want[i].act);
    }
    const struct kiln_p_conv *clip = find_producer(g, "y2")->params;
    assert_true(clip->act.kind == KILN_ACT_CLIP && clip->act.alpha == 0 && clip->act.beta == 6);
    const struct kiln_p_gemm *hs = find_producer(g, "y6")->params;
    assert_true(hs->act.kind == KILN_ACT_HARD_SIGMOID && fabsf(hs->act.alpha - 0.3f) < 1e-7f &&
                fabsf(hs->act.beta - 0.4f) < 1e-7f);
    const struct kiln_p_conv *lr = find_producer(g, "y5")->params;
    assert_true(lr->act.kind == KILN_ACT_LEAKY_RELU && fabsf(lr->act.alpha - 0.1f) < 1e-7f);
    assert_int_equal(kiln_pass_live_nodes(g), 9);
    kiln_ir_graph_free(g);
    same_as_O0("fuse_act", 2, 1e-5f);
}

static void test_fuse_activation_negative(void **state)
{
    (void)state;
    struct kiln_ir_graph *g = load("fuse_act_neg", 2, NULL);
    /* graph output, float64; relu_two has no Conv to join (c2 has a second reader) and goes
     * into a FusedElementwise with that reader instead */
    assert_true(has_node(g, "relu_out") && has_node(g, "relu_f64"));
    assert_string_equal(act_of(find_producer(g, "c1")), "");
    assert_string_equal(act_of(find_producer(g, "c2")), "");
    assert_string_equal(act_of(find_producer(g, "c3")), "");
    kiln_ir_graph_free(g);
}

static void test_fuse_residual(void **state)
{
    (void)state;
    struct kiln_pass_report r;
    struct kiln_ir_graph *g = load("fuse_residual", 2, &r);
    struct kiln_ir_node *conv = find_producer(g, "y1"), *gemm = find_producer(g, "y2");
    struct kiln_ir_node *mm = find_producer(g, "y3");
    assert_int_equal(conv->op, KILN_OP_CONV); /* Add and Relu both in its epilogue */
    assert_int_equal(int_attr(conv, "kiln_residual"), 1);
    assert_string_equal(act_of(conv), "relu");
    assert_int_equal(conv->n_in, 4);
    assert_string_equal(conv->in[3]->name, "x");
    assert_int_equal(gemm->op, KILN_OP_GEMM);
    assert_int_equal(int_attr(gemm, "kiln_residual"), 1);
    assert_string_equal(gemm->in[3]->name, "other");
    assert_int_equal(mm->op, KILN_OP_MATMUL);
    assert_int_equal(mm->n_in, 3);
    assert_string_equal(mm->in[2]->name, "m");
    /* Add of a [1,4,1,1] constant broadcasts, so it is no residual: fold_batchnorm (an earlier
     * pass) moves it into the Conv's bias instead */
    struct kiln_ir_node *y4 = find_producer(g, "y4");
    assert_int_equal(y4->op, KILN_OP_CONV);
    assert_int_equal(int_attr(y4, "kiln_residual"), 0);
    assert_int_equal(count_op(g, KILN_OP_ADD), 0);
    assert_int_equal(count_op(g, KILN_OP_RELU), 0);
    kiln_pass_report_free(&r);
    kiln_ir_graph_free(g);
    same_as_O0("fuse_residual", 2, 1e-5f);
}

static void test_layernorm_pattern(void **state)
{
    (void)state;
    struct kiln_ir_graph *g = load("layernorm", 2, NULL);
    struct kiln_ir_node *a = find_producer(g, "y1"), *b = find_producer(g, "y2");
    assert_int_equal(a->op, KILN_OP_LAYER_NORMALIZATION);
    assert_int_equal(int_attr(a, "axis"), -1);
    assert_int_equal(a->n_in, 3);
    assert_int_equal(b->op, KILN_OP_LAYER_NORMALIZATION);
    assert_int_equal(int_attr(b, "axis"), -2);
    assert_int_equal(b->n_in, 2);
    assert_true(fabsf(kiln_ir_attr(b, "epsilon")->f - 1e-5f) < 1e-12f);
    /* over axis 1 of a rank-3 tensor: not a LayerNorm */
    assert_int_equal(count_op(g, KILN_OP_LAYER_NORMALIZATION), 2);
    assert_true(has_node(g, "c_mean") && has_node(g, "c_sub") && has_node(g, "c_var"));
    assert_int_not_equal(find_producer(g, "y3")->op, KILN_OP_LAYER_NORMALIZATION);
    kiln_ir_graph_free(g);
    same_as_O0("layernorm", 2, 1e-5f);
}

static void test_gelu_pattern(void **state)
{
    (void)state;
    /* level 2 also runs fuse_elementwise: the unmatched chain may become one program */
    struct kiln_ir_graph *g = load("gelu", 2, NULL);
    for (int i = 1; i <= 5; i++) {
        char name[8], x[8];
        snprintf(name, sizeof name, "y%d", i);
        snprintf(x, sizeof x, "x%c", 'a' + i - 1);
        struct kiln_ir_node *n = find_producer(g, name);
        if (n->op != KILN_OP_GELU || n->in[0] != kiln_ir_find(g, x))
            fail_msg("%s is made by %s '%s', not by Gelu(x)", name, n->op_type, n->name);
        const struct kiln_ir_attr *ap = kiln_ir_attr(n, "approximate");
        assert_true(i <= 3 ? ap == NULL : ap && strcmp(ap->s, "tanh") == 0);
    }
    assert_int_equal(count_op(g, KILN_OP_GELU), 5);
    assert_int_equal(count_op(g, KILN_OP_ERF) + count_op(g, KILN_OP_FUSED_ELEMENTWISE), 1);
    assert_int_equal(count_op(g, KILN_OP_TANH) + count_op(g, KILN_OP_POW), 0);
    kiln_ir_graph_free(g);
    same_as_O0("gelu", 2, 1e-5f);
}

static void test_fuse_elementwise(void **state)
{
    (void)state;
    struct kiln_ir_graph *g = load("fuse_ew", 2, NULL);
    struct kiln_ir_node *f = find_producer(g, "out1");
    assert_int_equal(f->op, KILN_OP_FUSED_ELEMENTWISE);
    assert_int_equal(f->n_in, 2);
    const struct kiln_p_fused_elementwise *p = f->params;
    assert_int_equal(p->n_code, 6); /* Mul Add Tanh Sub, Clip as Max + Min */
    assert_int_equal(count_op(g, KILN_OP_FUSED_ELEMENTWISE), 1);
    /* graph output out2 keeps Exp; Sigmoid with two readers; broadcasting Add */
    assert_true(has_node(g, "ex_exp") && has_node(g, "ex_neg"));
    assert_true(has_node(g, "two_sig") && has_node(g, "two_mul") && has_node(g, "two_add"));
    assert_true(has_node(g, "bc_add") && has_node(g, "bc_relu"));
    kiln_ir_graph_free(g);
    same_as_O0("fuse_ew", 2, 1e-5f);
}

/* A FusedElementwise whose program reads a register before writing it is refused. */
static void test_fused_elementwise_invalid(void **state)
{
    (void)state;
    struct kiln_ir_graph *g = load("fuse_ew", 2, NULL);
    struct kiln_ir_node *f = find_producer(g, "out1");
    const struct kiln_ir_attr *a = kiln_ir_attr(f, "kiln_program");
    a->ints[2] = 9; /* first instruction's operand: a temporary nobody wrote */
    struct kiln_diag d;
    kiln_diag_clear(&d);
    struct kiln_pass_ctx c = {.g = g, .d = &d, .level = 2};
    assert_int_equal(kiln_edit_reinfer(&c, f), KILN_STATUS_INVALID_MODEL);
    assert_non_null(strstr(d.message, "instruction 0"));
    kiln_ir_graph_free(g);
}

/* Maximum error of each approximation over [-10, 10] (exp: [-87, 88]); the bounds in
 * docs/optimization.md. */
static void test_fastmath_bounds(void **state)
{
    (void)state;
    double e_exp = 0, e_sig = 0, e_tanh = 0, e_gelu = 0, e_gelu_t = 0;
    for (int i = 0; i <= 2000000; i++) {
        float x = -10.0f + 20.0f * (float)i / 2000000.0f;
        double sg = 1 / (1 + exp(-(double)x));
        double ge = 0.5 * x * (1 + erf(x / sqrt(2.0)));
        float xe = -87.0f + 175.0f * (float)i / 2000000.0f; /* exp: its whole clamped range */
        e_exp = fmax(e_exp, fabs(kiln_fast_expf(xe) - exp((double)xe)) / exp((double)xe));
        e_sig = fmax(e_sig, fabs(kiln_fast_sigmoidf(x) - sg));
        e_tanh = fmax(e_tanh, fabs(kiln_fast_tanhf(x) - tanh((double)x)));
        e_gelu = fmax(e_gelu, fabs(kiln_fast_geluf(x) - ge));
        double xd = x;
        double gt = 0.5 * xd * (1 + tanh(0.7978845608028654 * (xd + 0.044715 * xd * xd * xd)));
        e_gelu_t = fmax(e_gelu_t, fabs(kiln_fast_gelu_tanhf(x) - gt));
    }
    print_message("fast exp rel %.3g, sigmoid abs %.3g, tanh abs %.3g, gelu abs %.3g, gelu "
                  "tanh form abs %.3g\n",
                  e_exp, e_sig, e_tanh, e_gelu, e_gelu_t);
    assert_true(e_exp <= 3e-7);
    assert_true(e_sig <= 3e-7);
    assert_true(e_tanh <= 6e-7);
    assert_true(e_gelu <= 2e-6);
    assert_true(e_gelu_t <= 2e-6);
}

static void test_approximate_O3(void **state)
{
    (void)state;
    struct kiln_ir_graph *g = load("fuse_act", 3, NULL);
    assert_string_equal(act_of(find_producer(g, "y3")), "fast_silu");
    assert_string_equal(act_of(find_producer(g, "y7")), "fast_tanh");
    assert_string_equal(act_of(find_producer(g, "y8")), "fast_gelu");
    assert_string_equal(act_of(find_producer(g, "y9")), "fast_sigmoid");
    assert_string_equal(act_of(find_producer(g, "y1")), "relu"); /* exact already */
    kiln_ir_graph_free(g);
    g = load("gelu", 3, NULL);
    assert_int_equal(int_attr(find_producer(g, "y1"), "kiln_fast"), 1);
    kiln_ir_graph_free(g);
    g = load("fuse_ew", 3, NULL);
    const struct kiln_p_fused_elementwise *p = find_producer(g, "out1")->params;
    assert_int_equal(p->code[2][0], KILN_FEW_FAST_TANH);
    kiln_ir_graph_free(g);
    /* the bounds of docs/optimization.md (2e-6 absolute at most), scaled by 1 + |y| */
    same_as_O0("fuse_act", 3, 2e-6f);
    same_as_O0("gelu", 3, 2e-6f);
    same_as_O0("fuse_ew", 3, 2e-6f);
}

#define MODEL(name) "../../../models/" name

/* GELU is a Gelu node, or was fused into a producer's epilogue (after MatMul+Add -> Gemm). */
static uint32_t count_gelu(const struct kiln_ir_graph *g)
{
    uint32_t n = count_op(g, KILN_OP_GELU);
    for (uint32_t i = 0; i < g->n_nodes; i++)
        n += !g->nodes[i]->dead && strncmp(act_of(g->nodes[i]), "gelu", 4) == 0;
    return n;
}

static void test_transformer_models(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        uint32_t ln, gelu;
    } models[] = {{MODEL("transformer_encoder"), 4, 2}, {MODEL("bert_tiny"), 5, 2}};
    for (size_t i = 0; i < 2; i++) {
        struct kiln_ir_graph *g = load(models[i].name, 2, NULL);
        assert_int_equal(count_op(g, KILN_OP_LAYER_NORMALIZATION), models[i].ln);
        assert_int_equal(count_gelu(g), models[i].gelu);
        assert_int_equal(count_op(g, KILN_OP_ERF) + count_op(g, KILN_OP_POW) +
                             count_op(g, KILN_OP_SQRT) + count_op(g, KILN_OP_REDUCE_MEAN),
                         0);
        kiln_ir_graph_free(g);
        same_as_O0(models[i].name, 2, 1e-5f);
        same_as_O0(models[i].name, 3, 1e-5f);
    }
}

static void test_tiny_resnet(void **state)
{
    (void)state;
    struct kiln_ir_graph *g = load(MODEL("tiny_resnet"), 2, NULL);
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        const struct kiln_ir_node *n = g->nodes[i];
        if (!n->dead && n->op == KILN_OP_RELU && n->in[0]->producer &&
            n->in[0]->producer->op == KILN_OP_CONV)
            fail_msg("Relu '%s' still follows Conv '%s'", n->name, n->in[0]->producer->name);
    }
    /* once BatchNormalization folds into the Convs, every Relu joins an epilogue */
    if (count_op(g, KILN_OP_BATCH_NORMALIZATION) == 0)
        assert_int_equal(count_op(g, KILN_OP_RELU), 0);
    kiln_ir_graph_free(g);
    same_as_O0(MODEL("tiny_resnet"), 2, 1e-5f);
}

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
        cmocka_unit_test(test_global_pool),
        cmocka_unit_test(test_transpose),
        cmocka_unit_test(test_reshape_chain),
        /* passes-b */
        cmocka_unit_test(test_fuse_activation),
        cmocka_unit_test(test_fuse_activation_negative),
        cmocka_unit_test(test_fuse_residual),
        cmocka_unit_test(test_layernorm_pattern),
        cmocka_unit_test(test_gelu_pattern),
        cmocka_unit_test(test_fuse_elementwise),
        cmocka_unit_test(test_fused_elementwise_invalid),
        cmocka_unit_test(test_fastmath_bounds),
        cmocka_unit_test(test_approximate_O3),
        cmocka_unit_test(test_transformer_models),
        cmocka_unit_test(test_tiny_resnet),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
