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

struct tg {
    struct kiln_ir_graph *g;
    struct kiln_ir_node *n;
    struct kiln_diag d;
    const void *run_in[12];
    uint32_t n_run_in;
    int64_t ext[8][KILN_MAX_RANK]; /* outputs' extents in the last run (kiln_output_dims) */
    int variant0;                  /* the kernel variant of the first node of the last run */
};

static inline struct tg *tg_new(const char *op, int64_t opset, uint32_t n_in, uint32_t n_out)
{
    struct tg *t = calloc(1, sizeof *t);
    assert_non_null(t);
    t->g = kiln_ir_graph_new();
    t->g->opset = opset;
    t->g->inputs = kiln_arena_alloc(&t->g->arena, 12 * sizeof *t->g->inputs);
    t->g->outputs = kiln_arena_alloc(&t->g->arena, 8 * sizeof *t->g->outputs);
    t->n = kiln_ir_node_new(t->g, "node0", op, "", n_in, n_out);
    t->n->attrs = kiln_arena_alloc(&t->g->arena, 16 * sizeof *t->n->attrs);
    for (uint32_t o = 0; o < n_out; o++) {
        char name[16];
        snprintf(name, sizeof name, "y%u", o);
        struct kiln_ir_value *v = kiln_ir_value_new(t->g, name);
        v->producer = t->n;
        v->is_output = true;
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

/* Input i: a graph input fed at run time (runtime=1) or a constant initializer. */
static inline void tg_in(struct tg *t, uint32_t i, int dtype, int rank, const int64_t *dims,
                         const void *data, int runtime)
{
    char name[16];
    snprintf(name, sizeof name, "x%u", i);
    struct kiln_ir_value *v = kiln_ir_value_new(t->g, name);
    v->dtype = dtype;
    v->rank = rank;
    for (int k = 0; k < rank; k++)
        v->dims[k] = dims[k];
    if (runtime) {
        v->is_input = true;
        t->g->inputs[t->g->n_inputs++] = v;
        t->run_in[t->n_run_in++] = data;
    } else {
        v->is_initializer = true;
        v->data = data;
    }
    t->n->in[i] = v;
}

static inline struct kiln_ir_attr *tg_attr(struct tg *t, const char *name,
                                          enum kiln_attr_type type)
{
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
    a->ints = (int64_t *)v;
    a->n = n;
}

/* Infers, lowers and runs; copies output o (up to 3) into outs[o] (NULL: skip). */
static inline enum kiln_status tg_run3(struct tg *t, void *out0, void *out1, void *out2)
{
    void *outs[3] = {out0, out1, out2};
    kiln_ir_count_uses(t->g);
    enum kiln_status st = kiln_infer(t->g, &t->d);
    if (st)
        return st;
    struct kiln_compiled *c;
    assert_int_equal(kiln_lower(t->g, &c, &t->d), KILN_STATUS_OK);
    t->variant0 = c->prog.n_nodes ? c->prog.nodes[0].variant : -1;
    void *arena = aligned_alloc(KILN_ARENA_ALIGN, (c->prog.arena_size + KILN_ARENA_ALIGN) &
                                                      ~(uint64_t)(KILN_ARENA_ALIGN - 1));
    void *obufs[8] = {0};
    for (uint32_t o = 0; o < c->prog.n_outputs; o++) {
        const struct kiln_tensor_desc *td = &c->prog.tensors[c->prog.outputs[o]];
        obufs[o] = calloc(1, td->nbytes ? td->nbytes : 1);
    }
    assert_int_equal(kiln_run(&c->prog, arena, t->run_in, obufs), KILN_STATUS_OK);
    for (uint32_t o = 0; o < c->prog.n_outputs && o < 8; o++)
        kiln_output_dims(&c->prog, arena, o, t->ext[o]);
    for (uint32_t o = 0; o < c->prog.n_outputs; o++) {
        const struct kiln_tensor_desc *td = &c->prog.tensors[c->prog.outputs[o]];
        if (o < 3 && outs[o])
            memcpy(outs[o], obufs[o], td->nbytes);
        free(obufs[o]);
    }
    free(arena);
    kiln_compiled_free(c);
    return KILN_STATUS_OK;
}

static inline enum kiln_status tg_run(struct tg *t, void *out0, void *out1)
{
    return tg_run3(t, out0, out1, NULL);
}

/* Inference must fail with status st and a message containing `part`. */
static inline void tg_expect_err(struct tg *t, enum kiln_status st, const char *part)
{
    kiln_ir_count_uses(t->g);
    assert_int_equal(kiln_infer(t->g, &t->d), st);
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
