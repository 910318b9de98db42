/* test_planner.c - the arena planner: a generic plan checker (no two buffers live at the same
 * step overlap, every arena tensor lies in a buffer that covers its uses, graph outputs never
 * live in the arena, the plan rebuilt from the program alone, as for a bundle, is the
 * planner's) run on hand-built graphs, on every models/NAME.onnx and on the control-flow and
 * run-time-extent models of tests/data; in place, view aliasing and Concat in place on small
 * graphs; and bit-identical results with and without the optimisations on the example models
 * with their reference inputs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>

#include "compiler.h"
#include "npy.h"

static const struct kiln_lower_options no_opts = {true, true, true};

/* ---- the generic checker ---- */

/* Step range of tensor t's uses in p ([UINT32_MAX, 0] when unused). */
static void uses(const struct kiln_program *p, uint32_t t, uint32_t *first, uint32_t *last)
{
    *first = UINT32_MAX, *last = 0;
    for (uint32_t s = 0; s < p->n_nodes; s++)
        for (uint32_t j = 0; j < (uint32_t)p->nodes[s].n_in + p->nodes[s].n_out; j++)
            if (p->io[p->nodes[s].io_first + j] == t) {
                if (*first == UINT32_MAX)
                    *first = s;
                *last = s;
            }
}

/* The plan kiln_plan_from_program rebuilds from the program equals the planner's. */
static void check_rebuilt(const struct kiln_program *p, const struct kiln_plan *want)
{
    struct kiln_diag d;
    kiln_diag_clear(&d);
    struct kiln_plan got;
    assert_int_equal(kiln_plan_from_program(p, want->lower_bound, want->naive, &got, &d),
                     KILN_STATUS_OK);
    assert_int_equal(got.n, want->n);
    for (uint32_t i = 0; i < got.n; i++) {
        const struct kiln_plan_entry *g = &got.entries[i], *w = &want->entries[i];
        if (g->tensor != w->tensor || g->offset != w->offset || g->size != w->size ||
            g->first != w->first || g->last != w->last)
            fail_msg("rebuilt buffer %u: tensor %u offset %llu size %llu steps %u-%u; the "
                     "planner's: tensor %u offset %llu size %llu steps %u-%u",
                     i, g->tensor, (unsigned long long)g->offset, (unsigned long long)g->size,
                     g->first, g->last, w->tensor, (unsigned long long)w->offset,
                     (unsigned long long)w->size, w->first, w->last);
    }
    assert_int_equal(got.lower_bound, want->lower_bound);
    kiln_plan_free(&got);
}

static void check_plan(const struct kiln_compiled *c)
{
    const struct kiln_program *p = &c->prog;
    uint64_t naive = 0;
    for (uint32_t i = 0; i < c->plan.n; i++) {
        const struct kiln_plan_entry *e = &c->plan.entries[i];
        assert_int_equal(e->offset % KILN_ARENA_ALIGN, 0);
        assert_int_equal(e->size % KILN_ARENA_ALIGN, 0);
        assert_true(e->offset + e->size <= p->arena_size);
        assert_true(e->first <= e->last && e->last < p->n_nodes);
        naive += e->size;
        for (uint32_t k = 0; k < i; k++) {
            const struct kiln_plan_entry *f = &c->plan.entries[k];
            bool live = f->first <= e->last && e->first <= f->last;
            bool mem = f->offset < e->offset + e->size && e->offset < f->offset + f->size;
            if (live && mem)
                fail_msg("buffers %u and %u overlap in time and memory", i, k);
        }
        if (e->tensor == UINT32_MAX) {
            assert_int_equal(e->first, e->last);
            assert_int_equal(p->nodes[e->first].scratch_offset, e->offset);
        } else {
            assert_true(e->tensor < p->n_tensors);
        }
    }
    assert_true(c->plan.lower_bound <= p->arena_size);
    assert_true(naive <= c->plan.naive);
    for (uint32_t t = 1; t < p->n_tensors; t++) {
        const struct kiln_tensor_desc *td = &p->tensors[t];
        uint32_t f, l;
        uses(p, t, &f, &l);
        if (td->storage != KILN_STORAGE_ARENA || f == UINT32_MAX)
            continue;
        bool inside = false;
        for (uint32_t i = 0; i < c->plan.n && !inside; i++) {
            const struct kiln_plan_entry *e = &c->plan.entries[i];
            inside = e->tensor != UINT32_MAX && e->offset <= td->offset &&
                     td->offset + td->nbytes <= e->offset + e->size && e->first <= f &&
                     l <= e->last;
        }
        if (!inside)
            fail_msg("tensor %u (%s) lies in no buffer covering its uses", t,
                     kiln_prog_str(p, td->name));
    }
    for (uint32_t s = 0; s < p->n_nodes; s++)
        if (p->nodes[s].scratch_size) {
            bool found = false;
            for (uint32_t i = 0; i < c->plan.n; i++) {
                const struct kiln_plan_entry *e = &c->plan.entries[i];
                found |= e->tensor == UINT32_MAX && e->first == s;
            }
            assert_true(found);
        }
    for (uint32_t k = 0; k < p->n_outputs; k++) {
        assert_int_equal(p->tensors[p->outputs[k]].storage, KILN_STORAGE_OUTPUT);
        assert_int_equal(p->tensors[p->outputs[k]].index, k);
    }
    check_rebuilt(p, &c->plan);
}

/* ---- hand-built graphs ---- */

static struct kiln_ir_value *input(struct kiln_ir_graph *g, const char *name, int rank,
                                   const int64_t *dims)
{
    struct kiln_ir_value *v = kiln_ir_value_new(g, name);
    v->dtype = KILN_DTYPE_F32;
    v->rank = rank;
    memcpy(v->dims, dims, (size_t)rank * sizeof *dims);
    v->is_input = true;
    struct kiln_ir_value **in = kiln_arena_alloc(&g->arena, (g->n_inputs + 1) * sizeof *in);
    if (g->n_inputs)
        memcpy(in, g->inputs, g->n_inputs * sizeof *in);
    in[g->n_inputs++] = v;
    g->inputs = in;
    return v;
}

static struct kiln_ir_value *ints(struct kiln_ir_graph *g, const char *name, int n,
                                  const int64_t *vals)
{
    struct kiln_ir_value *v = kiln_ir_value_new(g, name);
    v->dtype = KILN_DTYPE_I64;
    v->rank = 1;
    v->dims[0] = n;
    int64_t *d = kiln_arena_alloc(&g->arena, (size_t)n * sizeof *d);
    memcpy(d, vals, (size_t)n * sizeof *d);
    v->data = d;
    v->is_initializer = true;
    return v;
}

/* out = op(ins...), one output; axis >= 0 adds an "axis" attribute. */
static struct kiln_ir_value *op(struct kiln_ir_graph *g, const char *type, const char *out,
                                int axis, int n_in, ...)
{
    struct kiln_ir_node *n = kiln_ir_node_new(g, out, type, "", (uint32_t)n_in, 1);
    va_list ap;
    va_start(ap, n_in);
    for (int i = 0; i < n_in; i++)
        n->in[i] = va_arg(ap, struct kiln_ir_value *);
    va_end(ap);
    if (axis >= 0) {
        n->attrs = kiln_arena_alloc(&g->arena, sizeof *n->attrs);
        n->attrs[0] = (struct kiln_ir_attr){.name = "axis", .type = KILN_ATTR_INT, .i = axis};
        n->n_attrs = 1;
    }
    struct kiln_ir_value *v = kiln_ir_value_new(g, out);
    v->producer = n;
    n->out[0] = v;
    return v;
}

static void output(struct kiln_ir_graph *g, struct kiln_ir_value *v)
{
    struct kiln_ir_value **o = kiln_arena_alloc(&g->arena, (g->n_outputs + 1) * sizeof *o);
    if (g->n_outputs)
        memcpy(o, g->outputs, g->n_outputs * sizeof *o);
    o[g->n_outputs++] = v;
    g->outputs = o;
    v->is_output = true;
}

/* Lowers g with opt (NULL: defaults), checks the plan, runs it on inputs (arena filled with
 * garbage first), writes outputs. */
static struct kiln_compiled *compile_run(struct kiln_ir_graph *g,
                                         const struct kiln_lower_options *opt,
                                         const void *const *ins, void *const *outs, int fill)
{
    struct kiln_diag d;
    kiln_diag_clear(&d);
    struct kiln_compiled *c = NULL;
    if (kiln_lower_opts(g, opt, &c, &d))
        fail_msg("lowering failed: %s", d.message);
    check_plan(c);
    size_t asz = (c->prog.arena_size + 63) / 64 * 64 + 64;
    void *arena = aligned_alloc(64, asz);
    assert_non_null(arena);
    memset(arena, fill, asz);
    assert_int_equal(kiln_run(&c->prog, arena, ins, outs), KILN_STATUS_OK);
    free(arena);
    return c;
}

static uint32_t tensor_named(const struct kiln_program *p, const char *name)
{
    for (uint32_t t = 1; t < p->n_tensors; t++)
        if (strcmp(kiln_prog_str(p, p->tensors[t].name), name) == 0)
            return t;
    fail_msg("no tensor %s", name);
    return 0;
}

static struct kiln_ir_graph *infer(struct kiln_ir_graph *g)
{
    struct kiln_diag d;
    kiln_diag_clear(&d);
    kiln_ir_count_uses(g);
    if (kiln_infer(g, &d))
        fail_msg("inference failed: %s", d.message);
    return g;
}

static const int64_t D16[2] = {1, 16};
static float xin[32];

static void setup_input(void)
{
    for (int i = 0; i < 32; i++)
        xin[i] = (float)(i - 13) * 0.25f;
}

/* Exp -> Relu -> Relu -> Neg: the Relus run in place over Exp's buffer */
static void test_inplace_chain(void **state)
{
    (void)state;
    setup_input();
    struct kiln_ir_graph *g = kiln_ir_graph_new();
    g->opset = 13;
    struct kiln_ir_value *x = input(g, "X", 2, D16);
    struct kiln_ir_value *a = op(g, "Exp", "a", -1, 1, x);
    struct kiln_ir_value *b = op(g, "Relu", "b", -1, 1, a);
    struct kiln_ir_value *c2 = op(g, "Relu", "c", -1, 1, b);
    output(g, op(g, "Neg", "Y", -1, 1, c2));
    infer(g);
    float y[16], y0[16];
    const void *ins[1] = {xin};
    void *outs[1] = {y}, *outs0[1] = {y0};
    struct kiln_compiled *c = compile_run(g, NULL, ins, outs, 0xA5);
    struct kiln_compiled *c0 = compile_run(g, &no_opts, ins, outs0, 0x5A);
    const struct kiln_program *p = &c->prog;
    uint64_t off = p->tensors[tensor_named(p, "a")].offset;
    assert_int_equal(p->tensors[tensor_named(p, "b")].offset, off);
    assert_int_equal(p->tensors[tensor_named(p, "c")].offset, off);
    assert_int_equal(c->plan.n, 1);
    assert_int_equal(c->plan.entries[0].first, 0);
    assert_int_equal(c->plan.entries[0].last, 3);
    assert_int_not_equal(c0->prog.tensors[tensor_named(&c0->prog, "b")].offset,
                         c0->prog.tensors[tensor_named(&c0->prog, "c")].offset);
    for (int i = 0; i < 16; i++)
        assert_float_equal(y[i], -expf(xin[i]), 1e-6);
    assert_memory_equal(y, y0, sizeof y);
    kiln_compiled_free(c), kiln_compiled_free(c0);
    kiln_ir_graph_free(g);
}

/* a = Relu(X), b = Relu(a), Y = Add(a, b): b must not take a's buffer (a is read later) */
static void test_no_inplace_when_used_later(void **state)
{
    (void)state;
    setup_input();
    struct kiln_ir_graph *g = kiln_ir_graph_new();
    g->opset = 13;
    struct kiln_ir_value *x = input(g, "X", 2, D16);
    struct kiln_ir_value *a = op(g, "Neg", "a", -1, 1, x);
    struct kiln_ir_value *b = op(g, "Relu", "b", -1, 1, a);
    output(g, op(g, "Add", "Y", -1, 2, a, b));
    infer(g);
    float y[16];
    const void *ins[1] = {xin};
    void *outs[1] = {y};
    struct kiln_compiled *c = compile_run(g, NULL, ins, outs, 0xA5);
    const struct kiln_program *p = &c->prog;
    assert_int_not_equal(p->tensors[tensor_named(p, "a")].offset,
                         p->tensors[tensor_named(p, "b")].offset);
    for (int i = 0; i < 16; i++)
        assert_float_equal(y[i], -xin[i] + (xin[i] < 0 ? -xin[i] : 0), 1e-6);
    kiln_compiled_free(c);
    kiln_ir_graph_free(g);
}

/* Add(a, b) with b broadcast: the output may take a's buffer, never b's ([1,1] vs [1,16]) */
static void test_inplace_broadcast_operand(void **state)
{
    (void)state;
    setup_input();
    struct kiln_ir_graph *g = kiln_ir_graph_new();
    g->opset = 13;
    static const int64_t d11[2] = {1, 1};
    struct kiln_ir_value *x = input(g, "X", 2, D16);
    struct kiln_ir_value *s = input(g, "S", 2, d11);
    struct kiln_ir_value *a = op(g, "Neg", "a", -1, 1, x);
    struct kiln_ir_value *b = op(g, "Neg", "b", -1, 1, s);
    struct kiln_ir_value *z = op(g, "Add", "z", -1, 2, b, a);
    output(g, op(g, "Exp", "Y", -1, 1, z));
    infer(g);
    float y[16], sv = 0.5f;
    const void *ins[2] = {xin, &sv};
    void *outs[1] = {y};
    struct kiln_compiled *c = compile_run(g, NULL, ins, outs, 0xA5);
    const struct kiln_program *p = &c->prog;
    assert_int_equal(p->tensors[tensor_named(p, "z")].offset,
                     p->tensors[tensor_named(p, "a")].offset);
    for (int i = 0; i < 16; i++)
        assert_float_equal(y[i], expf(-xin[i] - sv), 1e-6);
    kiln_compiled_free(c);
    kiln_ir_graph_free(g);
}

/* Reshape between two arena tensors leaves the schedule; as a graph output it stays a copy;
 * of a graph input it points at the input */
static void test_reshape_alias(void **state)
{
    (void)state;
    setup_input();
    static const int64_t shape44[2] = {4, 4}, shape16[1] = {16};
    struct kiln_ir_graph *g = kiln_ir_graph_new();
    g->opset = 13;
    struct kiln_ir_value *x = input(g, "X", 2, D16);
    struct kiln_ir_value *xr = op(g, "Reshape", "xr", -1, 2, x, ints(g, "s0", 2, shape44));
    struct kiln_ir_value *a = op(g, "Neg", "a", -1, 1, xr);
    struct kiln_ir_value *r = op(g, "Reshape", "r", -1, 2, a, ints(g, "s1", 1, shape16));
    output(g, op(g, "Exp", "Y", -1, 1, r));
    struct kiln_ir_value *a2 = op(g, "Relu", "a2", -1, 1, a);
    output(g, op(g, "Reshape", "Y2", -1, 2, a2, ints(g, "s2", 1, shape16)));
    infer(g);
    float y[16], y2[16], y0[16], y20[16];
    const void *ins[1] = {xin};
    void *outs[2] = {y, y2}, *outs0[2] = {y0, y20};
    struct kiln_compiled *c = compile_run(g, NULL, ins, outs, 0xA5);
    struct kiln_compiled *c0 = compile_run(g, &no_opts, ins, outs0, 0x5A);
    const struct kiln_program *p = &c->prog;
    assert_int_equal(c0->prog.n_nodes, 6);
    assert_int_equal(p->n_nodes, 4); /* Neg, Exp, Relu, and the copy into Y2 */
    uint32_t txr = tensor_named(p, "xr");
    assert_int_equal(p->tensors[txr].storage, KILN_STORAGE_INPUT);
    assert_int_equal(p->tensors[txr].index, 0);
    assert_int_equal(p->tensors[tensor_named(p, "r")].offset,
                     p->tensors[tensor_named(p, "a")].offset);
    assert_int_equal(p->nodes[p->n_nodes - 1].op, KILN_OP_RESHAPE);
    for (int i = 0; i < 16; i++) {
        assert_float_equal(y[i], expf(-xin[i]), 1e-6);
        assert_float_equal(y2[i], xin[i] > 0 ? 0 : -xin[i], 1e-6);
    }
    assert_memory_equal(y, y0, sizeof y);
    assert_memory_equal(y2, y20, sizeof y2);
    kiln_compiled_free(c), kiln_compiled_free(c0);
    kiln_ir_graph_free(g);
}

/* Concat of two [1,16] producers along axis 1: they write into their slices, Concat is gone */
static void test_concat_inplace(void **state)
{
    (void)state;
    setup_input();
    struct kiln_ir_graph *g = kiln_ir_graph_new();
    g->opset = 13;
    struct kiln_ir_value *x = input(g, "X", 2, D16);
    struct kiln_ir_value *a = op(g, "Relu", "a", -1, 1, x);
    struct kiln_ir_value *b = op(g, "Neg", "b", -1, 1, x);
    struct kiln_ir_value *cc = op(g, "Concat", "cc", 1, 2, a, b);
    output(g, op(g, "Exp", "Y", -1, 1, cc));
    infer(g);
    float y[32], y0[32];
    const void *ins[1] = {xin};
    void *outs[1] = {y}, *outs0[1] = {y0};
    struct kiln_compiled *c = compile_run(g, NULL, ins, outs, 0xA5);
    struct kiln_compiled *c0 = compile_run(g, &no_opts, ins, outs0, 0x5A);
    const struct kiln_program *p = &c->prog;
    assert_int_equal(p->n_nodes, 3);
    assert_int_equal(c0->prog.n_nodes, 4);
    uint64_t off = p->tensors[tensor_named(p, "cc")].offset;
    assert_int_equal(p->tensors[tensor_named(p, "a")].offset, off);
    assert_int_equal(p->tensors[tensor_named(p, "b")].offset, off + 64);
    for (int i = 0; i < 16; i++) {
        assert_float_equal(y[i], expf(xin[i] > 0 ? xin[i] : 0), 1e-6);
        assert_float_equal(y[16 + i], expf(-xin[i]), 1e-6);
    }
    assert_memory_equal(y, y0, sizeof y);
    kiln_compiled_free(c), kiln_compiled_free(c0);
    kiln_ir_graph_free(g);
}

/* Concat along axis 1 of [2,8] inputs: slices are not contiguous, so Concat stays; an input
 * read again later keeps Concat too */
static void test_concat_not_inplace(void **state)
{
    (void)state;
    setup_input();
    static const int64_t d28[2] = {2, 8};
    struct kiln_ir_graph *g = kiln_ir_graph_new();
    g->opset = 13;
    struct kiln_ir_value *x = input(g, "X", 2, d28);
    struct kiln_ir_value *a = op(g, "Relu", "a", -1, 1, x);
    struct kiln_ir_value *b = op(g, "Neg", "b", -1, 1, x);
    output(g, op(g, "Concat", "Y", 1, 2, a, b));
    struct kiln_ir_value *x2 = input(g, "X2", 2, D16);
    struct kiln_ir_value *a2 = op(g, "Relu", "a2", -1, 1, x2);
    struct kiln_ir_value *b2 = op(g, "Neg", "b2", -1, 1, x2);
    struct kiln_ir_value *c2 = op(g, "Concat", "c2", 1, 2, a2, b2);
    output(g, op(g, "Exp", "Y2", -1, 1, c2));
    output(g, op(g, "Exp", "Y3", -1, 1, b2));
    infer(g);
    float y[32], y2[32], y3[16];
    const void *ins[2] = {xin, xin};
    void *outs[3] = {y, y2, y3};
    struct kiln_compiled *c = compile_run(g, NULL, ins, outs, 0xA5);
    const struct kiln_program *p = &c->prog;
    int concats = 0;
    for (uint32_t s = 0; s < p->n_nodes; s++)
        concats += p->nodes[s].op == KILN_OP_CONCAT;
    assert_int_equal(concats, 2);
    for (int r = 0; r < 2; r++)
        for (int i = 0; i < 8; i++) {
            assert_float_equal(y[r * 16 + i], xin[r * 8 + i] > 0 ? xin[r * 8 + i] : 0, 1e-7);
            assert_float_equal(y[r * 16 + 8 + i], -xin[r * 8 + i], 1e-7);
        }
    for (int i = 0; i < 16; i++)
        assert_float_equal(y3[i], expf(-xin[i]), 1e-6);
    kiln_compiled_free(c);
    kiln_ir_graph_free(g);
}

/* ---- the example models ---- */

/* The folder `sub` of the source tree (models: $KILN_MODELS_DIR when set). */
static const char *source_dir(const char *sub)
{
    static char dir[1024];
    const char *env = getenv("KILN_MODELS_DIR");
    if (env && strcmp(sub, "models") == 0)
        return env;
    snprintf(dir, sizeof dir, "%s", __FILE__);
    char *cut = strstr(dir, "tests/unit/test_planner.c");
    if (!cut)
        return sub;
    snprintf(cut, sizeof dir - (size_t)(cut - dir), "%s", sub);
    return dir;
}

/* Every NAME.onnx in dir: the plan checks out with and without the optimisations, and with its
 * reference input (NAME.input.npy) both give bit-identical outputs. */
static void check_models(const char *dir)
{
    DIR *dd = opendir(dir);
    if (!dd)
        fail_msg("cannot open %s", dir);
    struct dirent *de;
    int n_models = 0;
    while ((de = readdir(dd))) {
        size_t len = strlen(de->d_name);
        if (len < 6 || strcmp(de->d_name + len - 5, ".onnx") != 0)
            continue;
        char path[2048], npy[2048];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        snprintf(npy, sizeof npy, "%s/%.*s.input.npy", dir, (int)(len - 5), de->d_name);
        struct kiln_diag d;
        kiln_diag_clear(&d);
        struct kiln_ir_graph *g = NULL;
        if (kiln_onnx_load(path, NULL, &g, &d) || kiln_infer(g, &d))
            fail_msg("%s: %s", path, d.message);
        struct kiln_host_tensor in = {0};
        bool have_input = g->n_inputs == 1 && kiln_npy_read(npy, &in, &d) == KILN_STATUS_OK;
        const void *ins[1] = {in.data};
        void *outs[8] = {0}, *outs0[8] = {0};
        assert_true(g->n_outputs <= 8);
        for (uint32_t k = 0; k < g->n_outputs; k++) {
            uint64_t nb = kiln_ir_value_nbytes(g->outputs[k]);
            outs[k] = calloc(1, nb + 1);
            outs0[k] = calloc(1, nb + 1);
        }
        struct kiln_compiled *c, *c0;
        if (have_input) {
            c = compile_run(g, NULL, ins, outs, 0xA5);
            c0 = compile_run(g, &no_opts, ins, outs0, 0x5A);
            for (uint32_t k = 0; k < g->n_outputs; k++)
                if (memcmp(outs[k], outs0[k], kiln_ir_value_nbytes(g->outputs[k])))
                    fail_msg("%s: output %u differs with the plan optimisations", path, k);
        } else {
            assert_int_equal(kiln_lower(g, &c, &d), KILN_STATUS_OK);
            assert_int_equal(kiln_lower_opts(g, &no_opts, &c0, &d), KILN_STATUS_OK);
            check_plan(c), check_plan(c0);
        }
        assert_true(c->prog.arena_size <= c0->prog.arena_size);
        assert_true(c->plan.naive == c0->plan.naive);
        for (uint32_t k = 0; k < g->n_outputs; k++)
            free(outs[k]), free(outs0[k]);
        kiln_host_tensor_free(&in);
        kiln_compiled_free(c), kiln_compiled_free(c0);
        kiln_ir_graph_free(g);
        n_models++;
    }
    closedir(dd);
    assert_true(n_models >= 1);
}

static void test_models(void **state)
{
    (void)state;
    check_models(source_dir("models"));
}

/* If, Loop and Scan: blocks live in their control node's scratch */
static void test_control_models(void **state)
{
    (void)state;
    check_models(source_dir("tests/data/control"));
}

/* tensors whose extents a run sets (NonZero, Unique, NMS) */
static void test_runtime_dims_models(void **state)
{
    (void)state;
    check_models(source_dir("tests/data/dyn"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inplace_chain),
        cmocka_unit_test(test_no_inplace_when_used_later),
        cmocka_unit_test(test_inplace_broadcast_operand),
        cmocka_unit_test(test_reshape_alias),
        cmocka_unit_test(test_concat_inplace),
        cmocka_unit_test(test_concat_not_inplace),
        cmocka_unit_test(test_models),
        cmocka_unit_test(test_control_models),
        cmocka_unit_test(test_runtime_dims_models),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
