/* test_onnx_export.c - the ONNX writer: every example model (models/, and the control-flow
 * models of tests/data/control) optimized at -O1 and -O2, written, read back and run on its
 * reference input gives the same bytes as the optimized graph run directly (and -O1 the same
 * bytes as -O0: cleanup only removes work); un-inferred graphs round-trip attribute by
 * attribute (tensors, strings, subgraphs); the kiln domain; atomic writes. */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "compiler.h"
#include "npy.h"
#include "onnx.pb-c.h"
#include "onnx_export.h"
#include "pass.h"

#ifndef KILN_TEST_DATA
#error "KILN_TEST_DATA must name tests/data"
#endif

static char tmpdir[256];

static int setup(void **state)
{
    (void)state;
    const char *t = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/kiln-export.XXXXXX", t && t[0] ? t : "/tmp");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    DIR *dir = opendir(tmpdir);
    struct dirent *e;
    while (dir && (e = readdir(dir))) {
        char p[600];
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
        unlink(p);
    }
    if (dir)
        closedir(dir);
    return rmdir(tmpdir);
}

/* Number of entries in tmpdir (a failed write must leave none behind). */
static int tmp_entries(void)
{
    DIR *dir = opendir(tmpdir);
    assert_non_null(dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dir)))
        n += e->d_name[0] != '.';
    closedir(dir);
    return n;
}

/* ---- reference inputs and running ---- */

struct inputs {
    struct kiln_host_tensor t[8];
    uint32_t n;
};

static bool exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0;
}

/* DIR/NAME.input.npy, or NAME.input.0.npy, NAME.input.1.npy, ...; false if there are none. */
static bool read_inputs(const char *dir, const char *name, struct inputs *in)
{
    char p[600];
    struct kiln_diag d;
    kiln_diag_clear(&d);
    memset(in, 0, sizeof *in);
    snprintf(p, sizeof p, "%s/%s.input.npy", dir, name);
    if (exists(p)) {
        if (kiln_npy_read(p, &in->t[in->n++], &d))
            fail_msg("%s: %s", p, d.message);
        return true;
    }
    for (;;) {
        snprintf(p, sizeof p, "%s/%s.input.%u.npy", dir, name, in->n);
        if (!exists(p) || in->n == 8)
            return in->n > 0;
        if (kiln_npy_read(p, &in->t[in->n++], &d))
            fail_msg("%s: %s", p, d.message);
    }
}

static void free_inputs(struct inputs *in)
{
    for (uint32_t i = 0; i < in->n; i++)
        kiln_host_tensor_free(&in->t[i]);
}

/* Loads path, gives symbolic input dims the reference inputs' shapes, infers, optimizes. */
static struct kiln_ir_graph *load(const char *path, const struct inputs *in, int level)
{
    struct kiln_ir_graph *g;
    struct kiln_diag d;
    kiln_diag_clear(&d);
    if (kiln_onnx_load(path, NULL, &g, &d))
        fail_msg("%s: load: %s", path, d.message);
    assert_int_equal(g->n_inputs, in->n);
    for (uint32_t i = 0; i < g->n_inputs; i++) {
        struct kiln_ir_value *v = g->inputs[i];
        assert_int_equal(v->rank, in->t[i].rank);
        for (int k = 0; k < v->rank; k++)
            v->dims[k] = in->t[i].dims[k];
    }
    if (kiln_infer(g, &d) || kiln_optimize(g, level, NULL, &d))
        fail_msg("%s -O%d: %s: %s", path, level, d.node, d.message);
    return g;
}

/* Runs g on the inputs; returns every output's bytes back to back (*len bytes). */
static uint8_t *run(const struct kiln_ir_graph *g, const struct inputs *in, size_t *len)
{
    struct kiln_compiled *c;
    struct kiln_diag d;
    kiln_diag_clear(&d);
    if (kiln_lower(g, &c, &d))
        fail_msg("lower: %s: %s", d.node, d.message);
    const struct kiln_program *p = &c->prog;
    const void *ins[8];
    void *outs[16];
    assert_true(p->n_outputs <= 16);
    for (uint32_t i = 0; i < p->n_inputs; i++)
        ins[i] = in->t[i].data;
    size_t total = 0;
    for (uint32_t i = 0; i < p->n_outputs; i++)
        total += p->tensors[p->outputs[i]].nbytes;
    uint8_t *all = calloc(total + 1, 1);
    size_t at = 0;
    for (uint32_t i = 0; i < p->n_outputs; i++) {
        outs[i] = all + at;
        at += p->tensors[p->outputs[i]].nbytes;
    }
    void *arena = aligned_alloc(64, (p->arena_size + 63) / 64 * 64 + 64);
    assert_int_equal(kiln_run(p, arena, ins, outs), KILN_STATUS_OK);
    free(arena);
    kiln_compiled_free(c);
    *len = total;
    return all;
}

/* ---- structure checks ---- */

static bool any_kiln_domain(const struct kiln_ir_graph *g)
{
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        const struct kiln_ir_node *n = g->nodes[i];
        if (strcmp(n->domain, KILN_ONNX_DOMAIN) == 0)
            return true;
        for (uint32_t a = 0; a < n->n_attrs; a++)
            if (n->attrs[a].g && any_kiln_domain(n->attrs[a].g))
                return true;
    }
    return false;
}

/* The written graph holds exactly the live, not constant-folded nodes of g, in g's order, with
 * their names and ops; inputs and outputs keep their names. */
static void same_structure(const struct kiln_ir_graph *g, const struct kiln_ir_graph *r)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        const struct kiln_ir_node *n = g->nodes[i];
        bool folded = n->n_out > 0;
        for (uint32_t o = 0; o < n->n_out; o++)
            folded &= !n->out[o] || n->out[o]->data;
        if (n->dead || folded)
            continue;
        assert_true(k < r->n_nodes);
        assert_string_equal(r->nodes[k]->name, n->name);
        assert_int_equal(r->nodes[k]->op, n->op);
        k++;
    }
    assert_int_equal(k, r->n_nodes);
    assert_int_equal(g->n_inputs, r->n_inputs);
    for (uint32_t i = 0; i < g->n_inputs; i++)
        assert_string_equal(g->inputs[i]->name, r->inputs[i]->name);
    assert_int_equal(g->n_outputs, r->n_outputs);
    for (uint32_t i = 0; i < g->n_outputs; i++) {
        assert_string_equal(g->outputs[i]->name, r->outputs[i]->name);
        assert_int_equal(g->outputs[i]->dtype, r->outputs[i]->dtype);
    }
}

/* -O1 and -O2 of DIR/NAME.onnx: written, read back, run: bit-identical to the optimized graph
 * run directly; -O1 also bit-identical to -O0 (cleanup removes nodes, it never reorders
 * arithmetic) and free of kiln-domain nodes (it is written with standard_only). */
static void roundtrip_model(const char *dir, const char *name)
{
    char path[600], out[600];
    struct inputs in;
    snprintf(path, sizeof path, "%s/%s.onnx", dir, name);
    if (!read_inputs(dir, name, &in))
        return; /* no reference input: nothing to run */
    struct kiln_ir_graph *g0 = load(path, &in, 0);
    size_t n0;
    uint8_t *r0 = run(g0, &in, &n0);
    kiln_ir_graph_free(g0);
    for (int level = 1; level <= 2; level++) {
        struct kiln_ir_graph *g = load(path, &in, level);
        size_t nd, nw;
        uint8_t *rd = run(g, &in, &nd);
        snprintf(out, sizeof out, "%s/%s.O%d.onnx", tmpdir, name, level);
        struct kiln_onnx_write_options o = {.standard_only = level == 1};
        struct kiln_diag d;
        kiln_diag_clear(&d);
        if (kiln_onnx_write(g, out, &o, &d))
            fail_msg("%s -O%d: write: %s: %s", name, level, d.node, d.message);
        struct kiln_ir_graph *r = load(out, &in, 0);
        same_structure(g, r);
        if (level == 1)
            assert_false(any_kiln_domain(r));
        uint8_t *rw = run(r, &in, &nw);
        assert_int_equal(nd, nw);
        if (memcmp(rd, rw, nd))
            fail_msg("%s -O%d: the written model computes different bytes", name, level);
        if (level == 1 && (nd != n0 || memcmp(rd, r0, nd)))
            fail_msg("%s -O1: differs from -O0", name);
        free(rd), free(rw);
        kiln_ir_graph_free(g), kiln_ir_graph_free(r);
        unlink(out);
    }
    free(r0);
    free_inputs(&in);
}

/* Calls fn for every DIR/NAME.onnx; returns how many. */
static int each_model(const char *dir, void (*fn)(const char *dir, const char *name))
{
    DIR *dd = opendir(dir);
    assert_non_null(dd);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(dd))) {
        size_t l = strlen(e->d_name);
        if (l < 6 || strcmp(e->d_name + l - 5, ".onnx"))
            continue;
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)(l - 5), e->d_name);
        fn(dir, name);
        n++;
    }
    closedir(dd);
    return n;
}

#define MODELS_DIR KILN_TEST_DATA "/../../models"
#define CONTROL_DIR KILN_TEST_DATA "/control"

static void test_models_roundtrip(void **state)
{
    (void)state;
    assert_true(each_model(MODELS_DIR, roundtrip_model) >= 10);
}

static void test_control_flow_roundtrip(void **state)
{
    (void)state;
    assert_true(each_model(CONTROL_DIR, roundtrip_model) >= 5);
}

/* ---- un-inferred graphs: every attribute comes back as it was ---- */

static void same_value_data(const struct kiln_ir_value *a, const struct kiln_ir_value *b)
{
    assert_int_equal(a->dtype, b->dtype);
    assert_int_equal(a->rank, b->rank);
    for (int k = 0; k < a->rank; k++)
        assert_int_equal(a->dims[k], b->dims[k]);
    assert_int_equal(!a->data, !b->data);
    if (a->data)
        assert_memory_equal(a->data, b->data, kiln_ir_value_nbytes(a) ? kiln_ir_value_nbytes(a)
                                                                       : 1);
}

static void same_graph(const struct kiln_ir_graph *a, const struct kiln_ir_graph *b);

static void same_attr(const struct kiln_ir_attr *x, const struct kiln_ir_attr *y)
{
    assert_string_equal(x->name, y->name);
    assert_int_equal(x->type, y->type);
    switch (x->type) {
    case KILN_ATTR_INT: assert_int_equal(x->i, y->i); break;
    case KILN_ATTR_FLOAT: assert_memory_equal(&x->f, &y->f, sizeof x->f); break;
    case KILN_ATTR_STRING:
    case KILN_ATTR_STRINGS:
        assert_int_equal(x->s_len, y->s_len);
        assert_int_equal(x->n, y->n);
        if (x->s_len)
            assert_memory_equal(x->s, y->s, x->s_len);
        break;
    case KILN_ATTR_INTS:
        assert_int_equal(x->n, y->n);
        if (x->n)
            assert_memory_equal(x->ints, y->ints, x->n * sizeof *x->ints);
        break;
    case KILN_ATTR_FLOATS:
        assert_int_equal(x->n, y->n);
        if (x->n)
            assert_memory_equal(x->floats, y->floats, x->n * sizeof *x->floats);
        break;
    case KILN_ATTR_TENSOR:
        assert_string_equal(x->t->name, y->t->name);
        same_value_data(x->t, y->t);
        break;
    case KILN_ATTR_GRAPH: same_graph(x->g, y->g); break;
    default: fail_msg("attribute '%s' of type %d", x->name, x->type);
    }
}

static void same_graph(const struct kiln_ir_graph *a, const struct kiln_ir_graph *b)
{
    assert_int_equal(a->n_nodes, b->n_nodes);
    assert_int_equal(a->opset, b->opset);
    for (uint32_t i = 0; i < a->n_nodes; i++) {
        const struct kiln_ir_node *x = a->nodes[i], *y = b->nodes[i];
        assert_string_equal(x->name, y->name);
        assert_string_equal(x->op_type, y->op_type);
        assert_int_equal(x->n_in, y->n_in);
        assert_int_equal(x->n_implicit, y->n_implicit);
        assert_int_equal(x->n_out, y->n_out);
        for (uint32_t j = 0; j < x->n_in; j++) {
            assert_int_equal(!x->in[j], !y->in[j]);
            if (!x->in[j])
                continue;
            assert_string_equal(x->in[j]->name, y->in[j]->name);
            if (!x->in[j]->producer) /* initializers and inputs: same type, same bytes */
                same_value_data(x->in[j], y->in[j]);
        }
        for (uint32_t j = 0; j < x->n_out; j++)
            assert_string_equal(x->out[j] ? x->out[j]->name : "", y->out[j] ? y->out[j]->name : "");
        assert_int_equal(x->n_attrs, y->n_attrs);
        for (uint32_t k = 0; k < x->n_attrs; k++)
            same_attr(&x->attrs[k], &y->attrs[k]);
    }
    assert_int_equal(a->n_inputs, b->n_inputs);
    for (uint32_t i = 0; i < a->n_inputs; i++) {
        assert_string_equal(a->inputs[i]->name, b->inputs[i]->name);
        assert_int_equal(a->inputs[i]->dtype, b->inputs[i]->dtype);
        assert_int_equal(a->inputs[i]->rank, b->inputs[i]->rank);
    }
    assert_int_equal(a->n_outputs, b->n_outputs);
    for (uint32_t i = 0; i < a->n_outputs; i++)
        assert_string_equal(a->outputs[i]->name, b->outputs[i]->name);
}

static int n_attr_kinds[KILN_ATTR_TYPE_PROTOS + 1];

static void count_attr_kinds(const struct kiln_ir_graph *g)
{
    for (uint32_t i = 0; i < g->n_nodes; i++)
        for (uint32_t k = 0; k < g->nodes[i]->n_attrs; k++) {
            const struct kiln_ir_attr *a = &g->nodes[i]->attrs[k];
            n_attr_kinds[a->type]++;
            if (a->g)
                count_attr_kinds(a->g);
        }
}

static void raw_roundtrip(const char *dir, const char *name)
{
    char path[600], out[600];
    snprintf(path, sizeof path, "%s/%s.onnx", dir, name);
    snprintf(out, sizeof out, "%s/%s.raw.onnx", tmpdir, name);
    struct kiln_ir_graph *g, *r;
    struct kiln_diag d;
    kiln_diag_clear(&d);
    if (kiln_onnx_load(path, NULL, &g, &d) || kiln_onnx_write(g, out, NULL, &d) ||
        kiln_onnx_load(out, NULL, &r, &d))
        fail_msg("%s: %s: %s", name, d.node, d.message);
    same_graph(g, r);
    count_attr_kinds(g);
    kiln_ir_graph_free(g), kiln_ir_graph_free(r);
    unlink(out);
}

static void test_uninferred_roundtrip(void **state)
{
    (void)state;
    memset(n_attr_kinds, 0, sizeof n_attr_kinds);
    each_model(MODELS_DIR, raw_roundtrip);
    each_model(CONTROL_DIR, raw_roundtrip);
    each_model(KILN_TEST_DATA "/passes", raw_roundtrip);
    /* the models exercise these kinds (a model change that loses one should add a case) */
    static const enum kiln_attr_type kinds[] = {KILN_ATTR_INT,    KILN_ATTR_FLOAT,
                                                KILN_ATTR_INTS,   KILN_ATTR_TENSOR,
                                                KILN_ATTR_GRAPH};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        if (!n_attr_kinds[kinds[k]])
            fail_msg("no model has an attribute of type %d", kinds[k]);
}

/* Lists of floats and strings (no example model has them): added to a node and read back. */
static void test_list_attributes(void **state)
{
    (void)state;
    struct kiln_ir_graph *g, *r;
    struct kiln_diag d;
    kiln_diag_clear(&d);
    assert_int_equal(kiln_onnx_load(MODELS_DIR "/mlp.onnx", NULL, &g, &d), KILN_STATUS_OK);
    struct kiln_ir_node *n = g->nodes[0];
    struct kiln_ir_attr *a = kiln_arena_alloc(&g->arena, (n->n_attrs + 3) * sizeof *a);
    memcpy(a, n->attrs, n->n_attrs * sizeof *a);
    static float fl[] = {1.5f, -0.0f, 3e-38f};
    static const char strs[] = "tanh\0\0Sigmoid"; /* "tanh", "", "Sigmoid" */
    a[n->n_attrs++] = (struct kiln_ir_attr){.name = "x_floats", .type = KILN_ATTR_FLOATS,
                                            .floats = fl, .n = 3};
    a[n->n_attrs++] = (struct kiln_ir_attr){.name = "x_strings", .type = KILN_ATTR_STRINGS,
                                            .s = strs, .s_len = sizeof strs, .n = 3};
    a[n->n_attrs++] = (struct kiln_ir_attr){.name = "x_empty", .type = KILN_ATTR_INTS};
    n->attrs = a;
    char path[600];
    snprintf(path, sizeof path, "%s/attrs.onnx", tmpdir);
    assert_int_equal(kiln_onnx_write(g, path, NULL, &d), KILN_STATUS_OK);
    assert_int_equal(kiln_onnx_load(path, NULL, &r, &d), KILN_STATUS_OK);
    same_graph(g, r);
    const struct kiln_ir_attr *s = kiln_ir_attr(r->nodes[0], "x_strings");
    assert_string_equal(s->s + 6, "Sigmoid");
    /* attributes the importer does not keep cannot be written back */
    a[n->n_attrs - 1].type = KILN_ATTR_TENSORS;
    assert_int_equal(kiln_onnx_write(g, path, NULL, &d), KILN_STATUS_UNSUPPORTED);
    assert_non_null(strstr(d.message, "x_empty"));
    unlink(path);
    kiln_ir_graph_free(g), kiln_ir_graph_free(r);
}

/* ---- the kiln domain ---- */

/* Adds attribute `name` (a string) to n. */
static void add_attr(struct kiln_ir_graph *g, struct kiln_ir_node *n, const char *name,
                     const char *s)
{
    struct kiln_ir_attr *a = kiln_arena_alloc(&g->arena, (n->n_attrs + 1) * sizeof *a);
    memcpy(a, n->attrs, n->n_attrs * sizeof *a);
    a[n->n_attrs] = (struct kiln_ir_attr){.name = name, .type = KILN_ATTR_STRING, .s = s,
                                          .s_len = strlen(s)};
    n->attrs = a;
    n->n_attrs++;
}

static struct kiln_ir_node *find_op(const struct kiln_ir_graph *g, enum kiln_op op)
{
    for (uint32_t i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i]->dead && g->nodes[i]->op == op)
            return g->nodes[i];
    return NULL;
}

/* The written model's opset imports (domain -> version), read with protobuf-c directly. */
static int64_t opset_of(const char *path, const char *domain)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static uint8_t buf[1 << 20];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, buf);
    assert_non_null(m);
    assert_int_equal(m->ir_version, 8);
    assert_string_equal(m->producer_name, "kiln");
    int64_t v = -1;
    for (size_t i = 0; i < m->n_opset_import; i++)
        if (strcmp(m->opset_import[i]->domain ? m->opset_import[i]->domain : "", domain) == 0)
            v = m->opset_import[i]->version;
    onnx__model_proto__free_unpacked(m, NULL);
    return v;
}

static void test_kiln_domain(void **state)
{
    (void)state;
    char path[600];
    struct inputs in;
    assert_true(read_inputs(MODELS_DIR, "tiny_resnet", &in));
    /* -O1: no pass has put a node in the kiln domain; this test adds the only one */
    struct kiln_ir_graph *g = load(MODELS_DIR "/tiny_resnet.onnx", &in, 1);
    struct kiln_ir_node *relu = find_op(g, KILN_OP_RELU);
    assert_non_null(relu);
    const char *relu_name = relu->name;
    add_attr(g, relu, "kiln_note", "written by test_kiln_domain");
    size_t nd, nw;
    uint8_t *rd = run(g, &in, &nd);

    /* standard_only refuses it, naming the node, and leaves nothing */
    snprintf(path, sizeof path, "%s/kiln.onnx", tmpdir);
    struct kiln_onnx_write_options std = {.standard_only = true};
    struct kiln_diag d;
    kiln_diag_clear(&d);
    assert_int_equal(kiln_onnx_write(g, path, &std, &d), KILN_STATUS_UNSUPPORTED);
    assert_string_equal(d.node, relu_name);
    assert_non_null(strstr(d.message, "kiln"));
    assert_int_equal(tmp_entries(), 0);

    /* otherwise: domain "kiln", opset ("kiln", 1), read back as the same op */
    kiln_diag_clear(&d);
    assert_int_equal(kiln_onnx_write(g, path, NULL, &d), KILN_STATUS_OK);
    assert_int_equal(opset_of(path, "kiln"), 1);
    assert_int_equal(opset_of(path, ""), g->opset);
    struct kiln_ir_graph *r = load(path, &in, 0);
    same_structure(g, r);
    uint32_t n_kiln = 0;
    for (uint32_t i = 0; i < r->n_nodes; i++) {
        const struct kiln_ir_node *n = r->nodes[i];
        if (strcmp(n->domain, KILN_ONNX_DOMAIN))
            continue;
        n_kiln++;
        assert_string_equal(n->name, relu_name);
        assert_int_equal(n->op, KILN_OP_RELU);
        const struct kiln_ir_attr *a = kiln_ir_attr(n, "kiln_note");
        assert_non_null(a);
        assert_string_equal(a->s, "written by test_kiln_domain");
    }
    assert_int_equal(n_kiln, 1);
    uint8_t *rw = run(r, &in, &nw);
    assert_int_equal(nd, nw);
    assert_memory_equal(rd, rw, nd);

    /* and a standard model imports no kiln opset */
    relu->n_attrs--;
    kiln_diag_clear(&d);
    assert_int_equal(kiln_onnx_write(g, path, &std, &d), KILN_STATUS_OK);
    assert_int_equal(opset_of(path, "kiln"), -1);
    unlink(path);
    free(rd), free(rw);
    kiln_ir_graph_free(g), kiln_ir_graph_free(r);
    free_inputs(&in);
}

static void test_kiln_only_ops(void **state)
{
    (void)state;
    struct kiln_ir_graph *g = kiln_ir_graph_new();
    struct kiln_ir_node *gelu = kiln_ir_node_new(g, "g", "Gelu", "", 1, 1);
    struct kiln_ir_node *fe = kiln_ir_node_new(g, "f", "FusedElementwise", "", 1, 1);
    struct kiln_ir_node *relu = kiln_ir_node_new(g, "r", "Relu", "", 1, 1);
    struct kiln_ir_node *kd = kiln_ir_node_new(g, "k", "Relu", "kiln", 1, 1);
    assert_true(kiln_onnx_node_is_kiln(gelu, 17));
    assert_false(kiln_onnx_node_is_kiln(gelu, 20));
    assert_true(kiln_onnx_node_is_kiln(fe, 17));
    assert_true(kiln_onnx_node_is_kiln(fe, 21));
    assert_false(kiln_onnx_node_is_kiln(relu, 17));
    assert_true(kiln_onnx_node_is_kiln(kd, 17));
    assert_int_equal(kd->op, KILN_OP_RELU); /* the importer's lookup reads the kiln domain */
    assert_int_equal(kiln_ir_op_lookup("kiln", "Conv"), KILN_OP_CONV);
    assert_int_equal(kiln_ir_op_lookup("com.example", "Conv"), KILN_OP_UNKNOWN);
    relu->attrs = kiln_arena_alloc(&g->arena, sizeof *relu->attrs);
    relu->attrs[0] = (struct kiln_ir_attr){.name = "kiln_act", .type = KILN_ATTR_STRING,
                                           .s = "Relu", .s_len = 4};
    relu->n_attrs = 1;
    assert_true(kiln_onnx_node_is_kiln(relu, 17));
    kiln_ir_graph_free(g);
}

/* ---- atomic writes ---- */

static void test_write_errors(void **state)
{
    (void)state;
    struct inputs in;
    assert_true(read_inputs(MODELS_DIR, "mlp", &in));
    struct kiln_ir_graph *g = load(MODELS_DIR "/mlp.onnx", &in, 1);
    char path[600];
    struct kiln_diag d;

    /* into a missing directory: an IO error naming the file, nothing created */
    snprintf(path, sizeof path, "%s/missing/mlp.onnx", tmpdir);
    kiln_diag_clear(&d);
    assert_int_equal(kiln_onnx_write(g, path, NULL, &d), KILN_STATUS_IO);
    assert_non_null(strstr(d.message, "missing/mlp.onnx"));
    assert_int_equal(tmp_entries(), 0);

    /* a failed write over an existing file keeps the old file */
    snprintf(path, sizeof path, "%s/mlp.onnx", tmpdir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs("old", f);
    fclose(f);
    struct kiln_ir_node *n = g->nodes[0];
    add_attr(g, n, "kiln_note", "x");
    struct kiln_onnx_write_options std = {.standard_only = true};
    kiln_diag_clear(&d);
    assert_int_equal(kiln_onnx_write(g, path, &std, &d), KILN_STATUS_UNSUPPORTED);
    assert_int_equal(tmp_entries(), 1);
    char buf[8] = "";
    f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fread(buf, 1, sizeof buf, f), 3);
    fclose(f);
    assert_string_equal(buf, "old");

    /* and a good write replaces it */
    kiln_diag_clear(&d);
    assert_int_equal(kiln_onnx_write(g, path, NULL, &d), KILN_STATUS_OK);
    assert_int_equal(tmp_entries(), 1);
    struct kiln_ir_graph *r;
    assert_int_equal(kiln_onnx_load(path, NULL, &r, &d), KILN_STATUS_OK);
    kiln_ir_graph_free(r);
    unlink(path);
    kiln_ir_graph_free(g);
    free_inputs(&in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_models_roundtrip),
        cmocka_unit_test(test_control_flow_roundtrip),
        cmocka_unit_test(test_uninferred_roundtrip),
        cmocka_unit_test(test_list_attributes),
        cmocka_unit_test(test_kiln_domain),
        cmocka_unit_test(test_kiln_only_ops),
        cmocka_unit_test(test_write_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
