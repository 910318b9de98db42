/* graph_harness.h - the one-node graph harness of the op unit tests: build a graph around one
 * node (graph inputs fed at run time or constant initializers, attributes), then infer, lower
 * and run it like a real model and compare outputs. Functions are static inline so each test
 * file uses what it needs without unused-function warnings. */
#ifndef KILN_TEST_GRAPH_HARNESS_H
#define KILN_TEST_GRAPH_HARNESS_H

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

#define TG_MAX_IO 16    /* graph inputs and outputs of a harness graph */
#define TG_MAX_ATTRS 16 /* attributes of its node */

struct tg {
    struct kiln_ir_graph *g;
    struct kiln_ir_node *n;
    struct kiln_diag d;
    const void *run_in[TG_MAX_IO]; /* data of the inputs tg_in declared as fed at run time */
    uint32_t n_run_in;
    int64_t ext[TG_MAX_IO][KILN_MAX_RANK]; /* outputs' extents in the last run */
    int variant0;                          /* the kernel variant of the first node of that run */
};

/* A graph of one node `op` (named "node0") with n_in input slots and n_out outputs y0, y1... */
static inline struct tg *tg_new(const char *op, int64_t opset, uint32_t n_in, uint32_t n_out)
{
    assert_true(n_out <= TG_MAX_IO);
    struct tg *t = calloc(1, sizeof *t);
    assert_non_null(t);
    t->g = kiln_ir_graph_new();
    t->g->opset = opset;
    t->g->inputs = kiln_arena_alloc(&t->g->arena, TG_MAX_IO * sizeof *t->g->inputs);
    t->g->outputs = kiln_arena_alloc(&t->g->arena, TG_MAX_IO * sizeof *t->g->outputs);
    t->n = kiln_ir_node_new(t->g, "node0", op, "", n_in, n_out);
    t->n->attrs = kiln_arena_alloc(&t->g->arena, TG_MAX_ATTRS * sizeof *t->n->attrs);
    for (uint32_t o = 0; o < n_out; o++) {
        char name[16];
        snprintf(name, sizeof name, "y%u", o);
        struct kiln_ir_value *v = kiln_ir_value_new(t->g, name);
        v->producer = t->n;
        v->is_output = true;
        v->rank = -1;
        t->n->out[o] = v;
        t->g->outputs[t->g->n_outputs++] = v;
    }
    kiln_diag_clear(&t->d);
    return t;
}

static inline void tg_free(struct tg *t)
{
    kiln_ir_graph_free(t->g);
    free(t);
}

static inline struct kiln_ir_value *tg_value(struct tg *t, uint32_t slot, int dtype, int rank,
                                             const int64_t *dims)
{
    char name[16];
    snprintf(name, sizeof name, "x%u", slot);
    struct kiln_ir_value *v = kiln_ir_value_new(t->g, name);
    v->dtype = dtype;
    v->rank = rank;
    for (int k = 0; k < rank; k++)
        v->dims[k] = dims[k];
    t->n->in[slot] = v;
    return v;
}

/* Input `slot`: a graph input whose data the run is given (tg_feed). */
static inline void tg_input(struct tg *t, uint32_t slot, int dtype, int rank, const int64_t *dims)
{
    assert_true(t->g->n_inputs < TG_MAX_IO);
    struct kiln_ir_value *v = tg_value(t, slot, dtype, rank, dims);
    v->is_input = true;
    t->g->inputs[t->g->n_inputs++] = v;
}

/* Input `slot`: a constant initializer holding a copy of data (zeros when data is NULL). */
static inline void tg_const(struct tg *t, uint32_t slot, int dtype, int rank, const int64_t *dims,
                            const void *data)
{
    struct kiln_ir_value *v = tg_value(t, slot, dtype, rank, dims);
    uint64_t nb = kiln_ir_value_nbytes(v);
    void *p = kiln_arena_alloc_aligned(&t->g->arena, nb ? nb : 1, 64);
    assert_non_null(p);
    memset(p, 0, nb ? nb : 1);
    if (nb && data)
        memcpy(p, data, nb);
    v->data = p;
    v->is_initializer = true;
}

/* Input i with its data: a graph input fed at run time (runtime=1) or a constant initializer. */
static inline void tg_in(struct tg *t, uint32_t i, int dtype, int rank, const int64_t *dims,
                         const void *data, int runtime)
{
    if (!runtime) {
        tg_const(t, i, dtype, rank, dims, data);
        return;
    }
    tg_input(t, i, dtype, rank, dims);
    t->run_in[t->n_run_in++] = data;
}

/* An int64 vector constant (axes, shapes, pads...). */
static inline void tg_i64s(struct tg *t, uint32_t slot, int64_t count, const int64_t *vals)
{
    tg_const(t, slot, KILN_DTYPE_I64, 1, &count, vals);
}

static inline struct kiln_ir_attr *tg_attr(struct tg *t, const char *name,
                                          enum kiln_attr_type type)
{
    assert_true(t->n->n_attrs < TG_MAX_ATTRS);
    struct kiln_ir_attr *a = &t->n->attrs[t->n->n_attrs++];
    a->name = name;
    a->type = type;
    return a;
}
static inline void tg_int(struct tg *t, const char *name, int64_t v)
{
    tg_attr(t, name, KILN_ATTR_INT)->i = v;
}
static inline void tg_float(struct tg *t, const char *name, float v)
{
    tg_attr(t, name, KILN_ATTR_FLOAT)->f = v;
}
static inline void tg_str(struct tg *t, const char *name, const char *s)
{
    struct kiln_ir_attr *a = tg_attr(t, name, KILN_ATTR_STRING);
    a->s = s;
    a->s_len = strlen(s);
}
static inline void tg_ints(struct tg *t, const char *name, size_t n, const int64_t *v)
{
    struct kiln_ir_attr *a = tg_attr(t, name, KILN_ATTR_INTS);
    a->ints = kiln_arena_alloc(&t->g->arena, (n ? n : 1) * sizeof *a->ints);
    memcpy(a->ints, v, n * sizeof *v);
    a->n = n;
}

static inline enum kiln_status tg_infer(struct tg *t)
{
    kiln_ir_count_uses(t->g);
    return kiln_infer(t->g, &t->d);
}

/* Infers, lowers and runs with the graph inputs in order; output o goes to outs[o] (a NULL
 * entry, or outs NULL: not kept). Records the outputs' extents in t->ext and the first node's
 * kernel variant in t->variant0. The first failing step's status is returned. */
static inline enum kiln_status tg_feed_n(struct tg *t, const void *const *inputs, void **outs)
{
    enum kiln_status st = tg_infer(t);
    if (st)
        return st;
    struct kiln_compiled *c = NULL;
    if ((st = kiln_lower(t->g, &c, &t->d)))
        return st;
    t->variant0 = c->prog.n_nodes ? c->prog.nodes[0].variant : -1;
    void *arena = aligned_alloc(KILN_ARENA_ALIGN, (c->prog.arena_size + KILN_ARENA_ALIGN) &
                                                      ~(uint64_t)(KILN_ARENA_ALIGN - 1));
    void *bufs[TG_MAX_IO] = {0}, *scratch[TG_MAX_IO] = {0};
    for (uint32_t o = 0; o < c->prog.n_outputs && o < TG_MAX_IO; o++) {
        const struct kiln_tensor_desc *td = &c->prog.tensors[c->prog.outputs[o]];
        bufs[o] = outs && outs[o] ? outs[o] : (scratch[o] = calloc(1, td->nbytes ? td->nbytes : 1));
    }
    st = kiln_run(&c->prog, arena, inputs, bufs);
    for (uint32_t o = 0; !st && o < c->prog.n_outputs && o < TG_MAX_IO; o++)
        kiln_output_dims(&c->prog, arena, o, t->ext[o]);
    for (uint32_t o = 0; o < TG_MAX_IO; o++)
        free(scratch[o]);
    free(arena);
    kiln_compiled_free(c);
    return st;
}

/* tg_feed_n for one output. */
static inline enum kiln_status tg_feed(struct tg *t, const void *const *inputs, void *out)
{
    return tg_feed_n(t, inputs, (void *[TG_MAX_IO]){out});
}

/* Runs with the data tg_in gave; outputs 0-2 go to out0..out2 (NULL: not kept). */
static inline enum kiln_status tg_run3(struct tg *t, void *out0, void *out1, void *out2)
{
    return tg_feed_n(t, t->run_in, (void *[TG_MAX_IO]){out0, out1, out2});
}

static inline enum kiln_status tg_run(struct tg *t, void *out0, void *out1)
{
    return tg_run3(t, out0, out1, NULL);
}

/* Inference must fail with status st, naming the node, with a message containing `part`. */
static inline void tg_expect_err(struct tg *t, enum kiln_status st, const char *part)
{
    assert_int_equal(tg_infer(t), st);
    assert_string_equal(t->d.node, t->n->name);
    if (!strstr(t->d.message, part))
        fail_msg("message '%s' lacks '%s'", t->d.message, part);
}

static inline void assert_dims(const struct tg *t, uint32_t o, int rank, const int64_t *dims)
{
    const struct kiln_ir_value *v = t->n->out[o];
    assert_int_equal(v->rank, rank);
    for (int i = 0; i < rank; i++)
        assert_int_equal(v->dims[i], dims[i]);
}

static inline void expect_i64(const int64_t *got, const int64_t *want, int n)
{
    for (int i = 0; i < n; i++)
        assert_int_equal(got[i], want[i]);
}

static inline void assert_close(const float *got, const float *want, size_t n, float tol)
{
    for (size_t i = 0; i < n; i++)
        if (!(fabsf(got[i] - want[i]) <= tol * (1.0f + fabsf(want[i]))))
            fail_msg("element %zu: got %g, want %g", i, (double)got[i], (double)want[i]);
}

static inline float *rnd(size_t n, unsigned seed)
{
    float *p = malloc(n * sizeof *p);
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (float)((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
    return p;
}

#endif
