/* test_edit.c - the graph-editing API of the passes (passes/edit.h) on small hand-built graphs:
 * what a producer, a sole reader, the same shape and taking over an output mean, including the
 * cases where the two libraries it replaced (the former rewrite.c and fuse_util.c) disagreed,
 * and the constant, attribute, node and Reshape edits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "compiler.h"
#include "edit.h"

static struct kiln_ir_graph *graph(int64_t opset)
{
    struct kiln_ir_graph *g = kiln_ir_graph_new();
    assert_non_null(g);
    g->opset = opset;
    g->inputs = kiln_arena_alloc(&g->arena, 8 * sizeof *g->inputs);
    g->outputs = kiln_arena_alloc(&g->arena, 8 * sizeof *g->outputs);
    return g;
}

/* A value of dtype and shape (rank < 0: unknown). */
static struct kiln_ir_value *val(struct kiln_ir_graph *g, const char *name, int dtype, int rank,
                                 int64_t d0, int64_t d1)
{
    struct kiln_ir_value *v = kiln_ir_value_new(g, name);
    assert_non_null(v);
    v->dtype = dtype;
    v->rank = rank;
    v->dims[0] = d0;
    v->dims[1] = d1;
    return v;
}

static struct kiln_ir_value *input(struct kiln_ir_graph *g, const char *name)
{
    struct kiln_ir_value *v = val(g, name, KILN_DTYPE_F32, 2, 2, 3);
    v->is_input = true;
    g->inputs[g->n_inputs++] = v;
    return v;
}

static void mark_output(struct kiln_ir_graph *g, struct kiln_ir_value *v)
{
    v->is_output = true;
    g->outputs[g->n_outputs++] = v;
}

/* A node of op_type reading a (and b when not NULL) and producing a new float32 [2, 3] value
 * named after the node. */
static struct kiln_ir_node *node(struct kiln_ir_graph *g, const char *name, const char *op_type,
                                 struct kiln_ir_value *a, struct kiln_ir_value *b)
{
    struct kiln_ir_node *n = kiln_ir_node_new(g, name, op_type, "", b ? 2 : 1, 1);
    assert_non_null(n);
    n->in[0] = a;
    if (b)
        n->in[1] = b;
    char out[64];
    snprintf(out, sizeof out, "%s_out", name);
    n->out[0] = val(g, out, KILN_DTYPE_F32, 2, 2, 3);
    n->out[0]->producer = n;
    return n;
}

/* A one-element constant of dtype float32 or float64. */
static struct kiln_ir_value *scalar(struct kiln_ir_graph *g, const char *name, int dtype, double x)
{
    int64_t one = 1;
    struct kiln_ir_value *v = kiln_edit_new_const(g, name, dtype, 1, &one);
    assert_non_null(v);
    kiln_edit_set(v, 0, x);
    return v;
}

/* Each test gets an opset-17 graph with a float32 [2, 3] input x, freed after it. */
static int setup(void **state)
{
    struct kiln_ir_graph *g = graph(17);
    input(g, "x");
    *state = g;
    return 0;
}

static int teardown(void **state)
{
    kiln_ir_graph_free(*state);
    return 0;
}

static void test_producer(void **state)
{
    struct kiln_ir_graph *g = *state;
    struct kiln_ir_value *x = kiln_ir_find(g, "x");
    struct kiln_ir_node *relu = node(g, "relu", "Relu", x, NULL);
    struct kiln_ir_value *y = relu->out[0];
    assert_null(kiln_edit_producer(x)); /* a graph input */
    assert_null(kiln_edit_producer(NULL));
    assert_ptr_equal(kiln_edit_producer(y), relu);
    assert_ptr_equal(kiln_edit_producer_op(y, KILN_OP_RELU), relu);
    assert_null(kiln_edit_producer_op(y, KILN_OP_SIGMOID));
    relu->dead = true;
    assert_null(kiln_edit_producer(y));
    relu->dead = false;
    /* evaluated at compile time while its node is still listed: a constant, not a computation
     * (rewrite.c's kiln_rw_producer returned the node here, fuse_util.c did not) */
    static const float data[6] = {0};
    y->data = data;
    assert_null(kiln_edit_producer(y));
    assert_null(kiln_edit_producer_op(y, KILN_OP_RELU));
}

static void test_readers(void **state)
{
    struct kiln_ir_graph *g = *state;
    struct kiln_ir_value *x = kiln_ir_find(g, "x");
    struct kiln_ir_node *a = node(g, "a", "Relu", x, NULL);
    struct kiln_ir_node *b = node(g, "b", "Sigmoid", a->out[0], NULL);
    struct kiln_ir_node *m = node(g, "m", "Mul", a->out[0], b->out[0]);
    mark_output(g, m->out[0]);
    kiln_ir_count_uses(g);
    struct kiln_ir_value *v = a->out[0];
    /* two readers: the first in graph order, then the other one */
    assert_ptr_equal(kiln_edit_reader(g, v, NULL), b);
    assert_ptr_equal(kiln_edit_reader(g, v, b), m);
    assert_null(kiln_edit_reader(g, m->out[0], NULL));
    assert_null(kiln_edit_sole_user(g, v));
    assert_ptr_equal(kiln_edit_sole_user(g, b->out[0]), m);
    assert_ptr_equal(kiln_edit_sole_user_op(g, b->out[0], KILN_OP_MUL), m);
    assert_null(kiln_edit_sole_user_op(g, b->out[0], KILN_OP_ADD));
    assert_null(kiln_edit_sole_user_op(g, NULL, KILN_OP_MUL));
    /* a graph output is never a single reader's alone, even with one reader */
    b->out[0]->is_output = true;
    assert_null(kiln_edit_sole_user(g, b->out[0]));
    b->out[0]->is_output = false;
    /* dead readers are not seen */
    b->dead = true;
    assert_ptr_equal(kiln_edit_reader(g, v, NULL), m);
    /* the other operand of a two-input node */
    assert_ptr_equal(kiln_edit_other(m, v), b->out[0]);
    assert_ptr_equal(kiln_edit_other(m, b->out[0]), v);
    assert_null(kiln_edit_other(m, x));
    assert_null(kiln_edit_other(a, x)); /* one input */
}

static void test_same_shape(void **state)
{
    struct kiln_ir_graph *g = *state;
    struct kiln_ir_value *f = val(g, "f", KILN_DTYPE_F32, 2, 2, 3);
    struct kiln_ir_value *f2 = val(g, "f2", KILN_DTYPE_F32, 2, 2, 3);
    struct kiln_ir_value *d = val(g, "d", KILN_DTYPE_F64, 2, 2, 3);
    struct kiln_ir_value *t = val(g, "t", KILN_DTYPE_F32, 2, 3, 2);
    struct kiln_ir_value *r1 = val(g, "r1", KILN_DTYPE_F32, 1, 6, 0);
    struct kiln_ir_value *u1 = val(g, "u1", KILN_DTYPE_F32, -1, 0, 0);
    struct kiln_ir_value *u2 = val(g, "u2", KILN_DTYPE_F32, -1, 0, 0);
    assert_true(kiln_edit_same_shape(f, f2));
    assert_true(kiln_edit_same_type(f, f2));
    /* the shape does not compare the dtype, the type does (rewrite.c's same_shape ignored it,
     * fuse_util.c's same_type compared it: both meanings stay, under their own names) */
    assert_true(kiln_edit_same_shape(f, d));
    assert_false(kiln_edit_same_type(f, d));
    assert_false(kiln_edit_same_shape(f, t));
    assert_false(kiln_edit_same_shape(f, r1));
    /* unknown ranks are never the same shape (rewrite.c said they were) */
    assert_false(kiln_edit_same_shape(u1, u2));
    assert_false(kiln_edit_same_type(u1, u2));
    assert_false(kiln_edit_same_shape(u1, f));
    /* scalars (rank 0) are */
    r1->rank = 0;
    d->rank = 0;
    assert_true(kiln_edit_same_shape(r1, d));
}

static void test_constants(void **state)
{
    struct kiln_ir_graph *g = *state;
    struct kiln_ir_value *s32 = scalar(g, "s32", KILN_DTYPE_F32, 0.1);
    struct kiln_ir_value *s64 = scalar(g, "s64", KILN_DTYPE_F64, 0.1);
    assert_true(kiln_edit_is_float_const(s32, KILN_DTYPE_F32));
    assert_false(kiln_edit_is_float_const(s32, KILN_DTYPE_F64));
    assert_false(kiln_edit_is_float_const(NULL, KILN_DTYPE_F32));
    /* kiln_edit_set rounds to the value's type; get widens */
    assert_true(kiln_edit_get(s32, 0) == (double)0.1f);
    assert_true(kiln_edit_get(s64, 0) == 0.1);
    float f = 0;
    assert_true(kiln_edit_scalar(s32, &f) && f == 0.1f);
    f = 0;
    assert_true(kiln_edit_scalar(s64, &f) && f == 0.1f);
    /* 1e-4 relative */
    struct kiln_ir_value *h = scalar(g, "h", KILN_DTYPE_F32, 0.70710678);
    assert_true(kiln_edit_scalar_is(h, 0.7071f));
    assert_false(kiln_edit_scalar_is(h, 0.7070f));
    assert_false(kiln_edit_scalar_is(NULL, 0.5f));
    /* not scalars: two elements, an integer, a computed value */
    int64_t two = 2;
    struct kiln_ir_value *v2 = kiln_edit_new_const(g, "v2", KILN_DTYPE_F32, 1, &two);
    assert_false(kiln_edit_scalar(v2, &f));
    int64_t iv = 7;
    struct kiln_ir_value *i1 = kiln_edit_new_ints(g, "i1", &iv, 1);
    assert_int_equal(((const int64_t *)i1->data)[0], 7);
    assert_false(kiln_edit_scalar(i1, &f));
    assert_false(kiln_edit_is_float_const(i1, KILN_DTYPE_I64));
    assert_false(kiln_edit_scalar(kiln_ir_find(g, "x"), &f));
    /* new constants: zeroed, aligned, initializers, unique names */
    int64_t dims[2] = {2, 3};
    struct kiln_ir_value *c = kiln_edit_new_const(g, "x", KILN_DTYPE_F32, 2, dims);
    assert_string_equal(c->name, "x_1");
    assert_true(c->is_initializer && c->rank == 2 && c->dims[1] == 3);
    assert_int_equal((uintptr_t)c->data % 64, 0);
    for (int k = 0; k < 6; k++)
        assert_true(((const float *)c->data)[k] == 0.0f);
    assert_string_equal(kiln_edit_new_value(g, "x")->name, "x_2");
    assert_string_equal(kiln_edit_new_value(g, "fresh")->name, "fresh");
}

static void test_attributes(void **state)
{
    struct kiln_ir_graph *g = *state;
    struct kiln_ir_node *n = node(g, "n", "Conv", kiln_ir_find(g, "x"), NULL);
    assert_int_equal(kiln_edit_attr_int(n, "group", 1), 1); /* absent: the default */
    assert_true(kiln_edit_set_int(g, n, "group", 2));
    assert_true(kiln_edit_set_float(g, n, "alpha", 0.5f));
    assert_int_equal(n->n_attrs, 2);
    assert_int_equal(kiln_edit_attr_int(n, "group", 1), 2);
    assert_int_equal(kiln_edit_attr_int(n, "alpha", 9), 9); /* not an integer */
    /* setting an existing attribute replaces it in its place, with its new type */
    assert_true(kiln_edit_set_string(g, n, "group", "relu"));
    assert_int_equal(n->n_attrs, 2);
    assert_string_equal(n->attrs[0].name, "group");
    assert_int_equal(n->attrs[0].type, KILN_ATTR_STRING);
    assert_int_equal(n->attrs[0].i, 0);
    assert_int_equal(n->attrs[0].s_len, 4);
    assert_string_equal(kiln_ir_attr(n, "group")->s, "relu");
    /* arrays are copied */
    int64_t pads[4] = {1, 2, 3, 4};
    float fs[2] = {0.25f, 4.0f};
    assert_true(kiln_edit_set_ints(g, n, "pads", pads, 4));
    assert_true(kiln_edit_set_floats(g, n, "scales", fs, 2));
    pads[0] = 99, fs[0] = 99;
    const struct kiln_ir_attr *a = kiln_ir_attr(n, "pads");
    assert_true(a->type == KILN_ATTR_INTS && a->n == 4 && a->ints[0] == 1 && a->ints[3] == 4);
    a = kiln_ir_attr(n, "scales");
    assert_true(a->type == KILN_ATTR_FLOATS && a->n == 2 && a->floats[0] == 0.25f);
    assert_true(kiln_edit_set_ints(g, n, "pads", NULL, 0));
    assert_int_equal(kiln_ir_attr(n, "pads")->n, 0);
    assert_int_equal(n->n_attrs, 4);
}

static void test_nodes(void **state)
{
    struct kiln_ir_graph *g = *state;
    struct kiln_ir_value *x = kiln_ir_find(g, "x");
    struct kiln_ir_node *mm = node(g, "mm", "MatMul", x, x);
    assert_true(kiln_edit_set_int(g, mm, "unused", 1));
    struct kiln_ir_value *y = mm->out[0];
    /* become: a new op with NULL inputs and no attributes; the output stays */
    assert_true(kiln_edit_become(g, mm, KILN_OP_GEMM, "Gemm", 3));
    assert_int_equal(mm->op, KILN_OP_GEMM);
    assert_string_equal(mm->op_type, "Gemm");
    assert_int_equal(mm->n_in, 3);
    assert_true(!mm->in[0] && !mm->in[1] && !mm->in[2]);
    assert_int_equal(mm->n_attrs, 0);
    assert_ptr_equal(mm->out[0], y);
    /* resize: the first inputs kept, new ones NULL */
    mm->in[0] = x;
    assert_true(kiln_edit_resize_inputs(g, mm, 1));
    assert_int_equal(mm->n_in, 1);
    assert_true(kiln_edit_resize_inputs(g, mm, 4));
    assert_int_equal(mm->n_in, 4);
    assert_ptr_equal(mm->in[0], x);
    assert_true(!mm->in[1] && !mm->in[2] && !mm->in[3]);
    /* a new node: "<base>/<suffix>", empty inputs, an empty output slot, appended */
    uint32_t before = g->n_nodes;
    struct kiln_ir_node *f = kiln_edit_new_node(
        g, "root", "FusedElementwise", KILN_OP_FUSED_ELEMENTWISE, "FusedElementwise", "kiln", 2);
    assert_non_null(f);
    assert_int_equal(g->n_nodes, before + 1);
    assert_ptr_equal(g->nodes[before], f);
    assert_string_equal(f->name, "root/FusedElementwise");
    assert_string_equal(f->domain, "kiln");
    assert_int_equal(f->op, KILN_OP_FUSED_ELEMENTWISE);
    assert_true(f->n_in == 2 && !f->in[0] && !f->in[1]);
    assert_true(f->n_out == 1 && !f->out[0]);
}

/* take_output: by produces y in y's producer's place; nothing dies, and by's own previous
 * output, when by made it, is orphaned. */
static void test_take_output(void **state)
{
    struct kiln_ir_graph *g = *state;
    struct kiln_ir_value *x = kiln_ir_find(g, "x");
    struct kiln_ir_node *conv = node(g, "conv", "Conv", x, NULL);
    struct kiln_ir_node *relu = node(g, "relu", "Relu", conv->out[0], NULL);
    struct kiln_ir_value *v = conv->out[0], *y = relu->out[0];
    mark_output(g, y);
    kiln_ir_count_uses(g);
    assert_int_equal(v->n_uses, 1);
    relu->dead = true; /* the caller's part */
    kiln_edit_take_output(conv, y);
    assert_ptr_equal(conv->out[0], y);
    assert_ptr_equal(y->producer, conv);
    assert_true(y->is_output && g->outputs[0] == y); /* the model's output keeps its name */
    /* the orphan: no producer, no readers (fuse_util.c left its count as it was) */
    assert_null(v->producer);
    assert_int_equal(v->n_uses, 0);
    assert_false(conv->dead);

    /* a new node has no previous output (rewrite.c's version dereferenced it) */
    struct kiln_ir_node *g1 =
        kiln_edit_new_node(g, "conv", "Gelu", KILN_OP_GELU, "Gelu", "kiln", 1);
    conv->dead = true;
    kiln_edit_take_output(g1, y);
    assert_ptr_equal(y->producer, g1);
    /* the node being replaced is not killed by the call (rewrite.c's version killed it) */
    struct kiln_ir_node *a = node(g, "a", "Relu", x, NULL);
    struct kiln_ir_node *b = node(g, "b", "Relu", a->out[0], NULL);
    struct kiln_ir_value *bo = b->out[0];
    kiln_edit_take_output(a, bo);
    assert_false(b->dead);
    assert_ptr_equal(bo->producer, a);

    /* a previous output slot that another node produces is not touched (rewrite.c orphaned
     * it) */
    struct kiln_ir_node *p = node(g, "p", "Relu", x, NULL);
    struct kiln_ir_node *q = node(g, "q", "Relu", x, NULL);
    struct kiln_ir_value *po = p->out[0];
    po->n_uses = 1;
    q->out[0] = po; /* q's slot names p's value */
    struct kiln_ir_value *w = val(g, "w", KILN_DTYPE_F32, 2, 2, 3);
    kiln_edit_take_output(q, w);
    assert_ptr_equal(po->producer, p);
    assert_int_equal(po->n_uses, 1);
    assert_ptr_equal(w->producer, q);
    /* taking the output it already has changes nothing */
    kiln_edit_take_output(q, w);
    assert_ptr_equal(q->out[0], w);
    assert_ptr_equal(w->producer, q);
}

static void test_replace_and_bypass(void **state)
{
    struct kiln_ir_graph *g = *state;
    struct kiln_ir_value *x = kiln_ir_find(g, "x");
    struct kiln_ir_node *id = node(g, "id", "Identity", x, NULL), *r1, *add, *id2;
    r1 = node(g, "r1", "Relu", id->out[0], NULL);
    add = node(g, "add", "Add", id->out[0], r1->out[0]);
    /* every reader of the copy reads its input; the copy dies */
    assert_true(kiln_edit_bypass(g, id));
    assert_true(id->dead);
    assert_true(r1->in[0] == x && add->in[0] == x && add->in[1] == r1->out[0]);
    /* a graph output keeps its value and so its producer */
    id2 = node(g, "id2", "Identity", add->out[0], NULL);
    mark_output(g, id2->out[0]);
    assert_false(kiln_edit_bypass(g, id2));
    assert_false(id2->dead);
    assert_false(kiln_edit_replace_uses(g, id2->out[0], add->out[0]));
    assert_true(kiln_edit_replace_uses(g, r1->out[0], x));
    assert_ptr_equal(add->in[1], x);
}

static void test_reshape_and_reinfer(void **state)
{
    (void)state;
    for (int64_t opset = 4; opset <= 5; opset++) {
        struct kiln_ir_graph *g = graph(opset);
        struct kiln_ir_value *x = input(g, "x");
        struct kiln_ir_value *y = val(g, "y", KILN_DTYPE_F32, 1, 6, 0);
        mark_output(g, y);
        struct kiln_ir_node *r = kiln_edit_new_reshape(g, "flat", x, y);
        assert_non_null(r);
        assert_ptr_equal(r->out[0], y);
        assert_ptr_equal(y->producer, r);
        assert_ptr_equal(r->in[0], x);
        if (opset >= 5) { /* the shape is a constant input */
            assert_int_equal(r->n_in, 2);
            assert_string_equal(r->in[1]->name, "flat_shape");
            assert_int_equal(r->in[1]->dtype, KILN_DTYPE_I64);
            assert_int_equal(((const int64_t *)r->in[1]->data)[0], 6);
        } else { /* an attribute */
            assert_int_equal(r->n_in, 1);
            const struct kiln_ir_attr *a = kiln_ir_attr(r, "shape");
            assert_true(a && a->n == 1 && a->ints[0] == 6);
        }
        /* reinfer computes the node's params and output type from its inputs */
        y->dtype = 0;
        y->rank = -1;
        struct kiln_diag d;
        kiln_diag_clear(&d);
        struct kiln_pass_ctx c = {.g = g, .d = &d, .level = 2};
        assert_int_equal(kiln_edit_reinfer(&c, r), KILN_STATUS_OK);
        assert_int_equal(y->dtype, KILN_DTYPE_F32);
        assert_int_equal(y->rank, 1);
        assert_int_equal(y->dims[0], 6);
        assert_int_equal(r->kdtype, KILN_DTYPE_F32);
        kiln_ir_graph_free(g);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_producer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_shape, setup, teardown),
        cmocka_unit_test_setup_teardown(test_constants, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attributes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nodes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_take_output, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replace_and_bypass, setup, teardown),
        cmocka_unit_test(test_reshape_and_reinfer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
