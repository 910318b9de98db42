/* one_node.h - builds one-node IR graphs by hand for the unit tests (any number of inputs,
 * constants, attributes and outputs), runs them through inference, lowering and the
 * interpreter, and checks shapes, values and inference errors. Static inline: each test
 * executable includes what it uses. */
#ifndef KILN_TEST_ONE_NODE_H
#define KILN_TEST_ONE_NODE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "compiler.h"

#define MAX_ATTRS 6

struct t_graph {
    struct kiln_ir_graph *g;
    struct kiln_ir_node *n;
    struct kiln_diag d;
};

static inline struct t_graph *tg_new2(int64_t opset, const char *op, uint32_t n_in, uint32_t n_out)
{
    struct t_graph *t = calloc(1, sizeof *t);
    t->g = kiln_ir_graph_new();
    t->g->opset = opset;
    t->g->inputs = kiln_arena_alloc(&t->g->arena, 8 * sizeof *t->g->inputs);
    t->g->outputs = kiln_arena_alloc(&t->g->arena, n_out * sizeof *t->g->outputs);
    t->n = kiln_ir_node_new(t->g, "node", op, "", n_in, n_out);
    t->n->attrs = kiln_arena_alloc(&t->g->arena, MAX_ATTRS * sizeof *t->n->attrs);
    for (uint32_t o = 0; o < n_out; o++) {
        char name[16];
        snprintf(name, sizeof name, "y%u", o);
        struct kiln_ir_value *y = kiln_ir_value_new(t->g, name);
        y->producer = t->n;
        y->is_output = true;
        y->rank = -1;
        t->n->out[o] = y;
        t->g->outputs[t->g->n_outputs++] = y;
    }
    kiln_diag_clear(&t->d);
    return t;
}

static inline struct t_graph *tg_new(int64_t opset, const char *op, uint32_t n_in)
{
    return tg_new2(opset, op, n_in, 1);
}

static inline void tg_free(struct t_graph *t)
{
    kiln_ir_graph_free(t->g);
    free(t);
}

static inline struct kiln_ir_value *mkval(struct t_graph *t, uint32_t slot, int dtype, int rank,
                                          const int64_t *dims)
{
    char name[16];
    snprintf(name, sizeof name, "in%u", slot);
    struct kiln_ir_value *v = kiln_ir_value_new(t->g, name);
    v->dtype = dtype;
    v->rank = rank;
    for (int i = 0; i < rank; i++)
        v->dims[i] = dims[i];
    t->n->in[slot] = v;
    return v;
}

static inline void tg_input(struct t_graph *t, uint32_t slot, int dtype, int rank,
                            const int64_t *dims)
{
    struct kiln_ir_value *v = mkval(t, slot, dtype, rank, dims);
    v->is_input = true;
    t->g->inputs[t->g->n_inputs++] = v;
}

static inline void tg_const(struct t_graph *t, uint32_t slot, int dtype, int rank,
                            const int64_t *dims, const void *data)
{
    struct kiln_ir_value *v = mkval(t, slot, dtype, rank, dims);
    uint64_t nb = kiln_ir_value_nbytes(v);
    void *p = kiln_arena_alloc_aligned(&t->g->arena, nb ? nb : 1, 64);
    if (nb && data)
        memcpy(p, data, nb);
    v->data = p;
    v->is_initializer = true;
}

static inline void tg_i64s(struct t_graph *t, uint32_t slot, int64_t count, const int64_t *vals)
{
    tg_const(t, slot, KILN_DTYPE_I64, 1, &count, vals);
}

static inline struct kiln_ir_attr *tg_attr(struct t_graph *t, const char *name,
                                           enum kiln_attr_type ty)
{
    struct kiln_ir_attr *a = &t->n->attrs[t->n->n_attrs++];
    a->name = name;
    a->type = ty;
    return a;
}

static inline void tg_int(struct t_graph *t, const char *name, int64_t v)
{
    tg_attr(t, name, KILN_ATTR_INT)->i = v;
}

static inline void tg_ints(struct t_graph *t, const char *name, size_t n, const int64_t *v)
{
    struct kiln_ir_attr *a = tg_attr(t, name, KILN_ATTR_INTS);
    a->ints = kiln_arena_alloc(&t->g->arena, (n ? n : 1) * sizeof *a->ints);
    memcpy(a->ints, v, n * sizeof *v);
    a->n = n;
}

static inline void tg_str(struct t_graph *t, const char *name, const char *s)
{
    struct kiln_ir_attr *a = tg_attr(t, name, KILN_ATTR_STRING);
    a->s = s;
    a->s_len = strlen(s);
}

static inline enum kiln_status tg_infer(struct t_graph *t)
{
    kiln_ir_count_uses(t->g);
    return kiln_infer(t->g, &t->d);
}

/* Infers, lowers and runs with the graph inputs in order; outputs go to outs[], and when ext
 * is given, ext[o] receives output o's extents in that run (kiln_output_dims). */
static inline enum kiln_status tg_run_ext(struct t_graph *t, const void *const *inputs,
                                          void **outs, int64_t (*ext)[KILN_MAX_RANK])
{
    enum kiln_status st = tg_infer(t);
    if (st)
        return st;
    struct kiln_compiled *c = NULL;
    if ((st = kiln_lower(t->g, &c, &t->d)))
        return st;
    void *arena = aligned_alloc(KILN_ARENA_ALIGN,
                                (c->prog.arena_size + 2 * KILN_ARENA_ALIGN) & ~(uint64_t)63);
    st = kiln_run(&c->prog, arena, inputs, outs);
    for (uint32_t o = 0; ext && !st && o < c->prog.n_outputs; o++)
        kiln_output_dims(&c->prog, arena, o, ext[o]);
    free(arena);
    kiln_compiled_free(c);
    return st;
}

static inline enum kiln_status tg_run_n(struct t_graph *t, const void *const *inputs, void **outs)
{
    return tg_run_ext(t, inputs, outs, NULL);
}

static inline enum kiln_status tg_run(struct t_graph *t, const void *const *inputs, void *out)
{
    return tg_run_n(t, inputs, (void *[]){out});
}

static inline void expect_shape_of(struct t_graph *t, uint32_t o, int rank, const int64_t *dims)
{
    struct kiln_ir_value *y = t->n->out[o];
    assert_int_equal(y->rank, rank);
    for (int i = 0; i < rank; i++)
        assert_int_equal(y->dims[i], dims[i]);
}

static inline void expect_shape(struct t_graph *t, int rank, const int64_t *dims)
{
    expect_shape_of(t, 0, rank, dims);
}

static inline void expect_f32(const float *got, const float *want, int n)
{
    for (int i = 0; i < n; i++)
        assert_float_equal(got[i], want[i], 1e-5);
}

static inline void expect_i64(const int64_t *got, const int64_t *want, int n)
{
    for (int i = 0; i < n; i++)
        assert_int_equal(got[i], want[i]);
}

static inline void expect_error(struct t_graph *t, enum kiln_status st, const char *part)
{
    assert_int_equal(tg_infer(t), st);
    assert_string_equal(t->d.node, "node");
    if (!strstr(t->d.message, part))
        fail_msg("message '%s' lacks '%s'", t->d.message, part);
}

#endif
