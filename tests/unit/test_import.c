/* test_import.c - the ONNX importer on hostile and broken input, built in memory with the
 * generated protobuf-c structs (no binary fixtures): truncated, corrupt and random bytes,
 * undefined names, cycles, bad dims, unknown ops (which inspect lists and infer refuses),
 * external data inside and outside the model's folder, and --input-shape handling. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "compiler.h"
#include "inspect.h"
#include "onnx.pb-c.h"

/* ---- a tiny model builder: every allocation is remembered and freed by pool_free ---- */

static void *pool[4096];
static size_t n_pool;

static void *mk(size_t size)
{
    void *p = calloc(1, size);
    assert_non_null(p);
    assert_true(n_pool < sizeof pool / sizeof pool[0]);
    pool[n_pool++] = p;
    return p;
}

static void pool_free(void)
{
    while (n_pool)
        free(pool[--n_pool]);
}

static char *str(const char *s)
{
    char *p = mk(strlen(s) + 1);
    memcpy(p, s, strlen(s) + 1);
    return p;
}

/* dims: values >= 0 are numbers; dim_params[i] non-NULL makes dim i symbolic. */
static Onnx__ValueInfoProto *vinfo(const char *name, int elem, int rank, const int64_t *dims,
                                   const char *const *params)
{
    Onnx__ValueInfoProto *v = mk(sizeof *v);
    onnx__value_info_proto__init(v);
    v->name = str(name);
    Onnx__TypeProto *t = mk(sizeof *t);
    onnx__type_proto__init(t);
    Onnx__TypeProto__Tensor *tt = mk(sizeof *tt);
    onnx__type_proto__tensor__init(tt);
    tt->has_elem_type = 1;
    tt->elem_type = elem;
    Onnx__TensorShapeProto *sh = mk(sizeof *sh);
    onnx__tensor_shape_proto__init(sh);
    sh->n_dim = (size_t)rank;
    sh->dim = mk(sizeof *sh->dim * (size_t)(rank + 1));
    for (int i = 0; i < rank; i++) {
        Onnx__TensorShapeProto__Dimension *dm = mk(sizeof *dm);
        onnx__tensor_shape_proto__dimension__init(dm);
        if (params && params[i]) {
            dm->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            dm->dim_param = str(params[i]);
        } else {
            dm->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            dm->dim_value = dims[i];
        }
        sh->dim[i] = dm;
    }
    tt->shape = sh;
    t->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    t->tensor_type = tt;
    v->type = t;
    return v;
}

static Onnx__NodeProto *node(const char *name, const char *op, const char *domain, int n_in,
                             const char *const *ins, int n_out, const char *const *outs)
{
    Onnx__NodeProto *n = mk(sizeof *n);
    onnx__node_proto__init(n);
    n->name = str(name);
    n->op_type = str(op);
    n->domain = str(domain);
    n->n_input = (size_t)n_in;
    n->input = mk(sizeof(char *) * (size_t)(n_in + 1));
    for (int i = 0; i < n_in; i++)
        n->input[i] = str(ins[i]);
    n->n_output = (size_t)n_out;
    n->output = mk(sizeof(char *) * (size_t)(n_out + 1));
    for (int i = 0; i < n_out; i++)
        n->output[i] = str(outs[i]);
    return n;
}

/* A float32 initializer with raw data (data may be NULL for external data). */
static Onnx__TensorProto *init_f32(const char *name, int rank, const int64_t *dims,
                                   const float *data, size_t n)
{
    Onnx__TensorProto *t = mk(sizeof *t);
    onnx__tensor_proto__init(t);
    t->name = str(name);
    t->has_data_type = 1;
    t->data_type = KILN_DTYPE_F32;
    t->n_dims = (size_t)rank;
    t->dims = mk(sizeof(int64_t) * (size_t)(rank + 1));
    memcpy(t->dims, dims, sizeof(int64_t) * (size_t)rank);
    if (data) {
        t->has_raw_data = 1;
        t->raw_data.len = n * sizeof(float);
        t->raw_data.data = mk(n * sizeof(float) + 1);
        memcpy(t->raw_data.data, data, n * sizeof(float));
    }
    return t;
}

static void set_external(Onnx__TensorProto *t, const char *location)
{
    t->has_data_location = 1;
    t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    t->n_external_data = 1;
    t->external_data = mk(sizeof *t->external_data * 2);
    Onnx__StringStringEntryProto *e = mk(sizeof *e);
    onnx__string_string_entry_proto__init(e);
    e->key = str("location");
    e->value = str(location);
    t->external_data[0] = e;
}

struct model {
    Onnx__ModelProto m;
    Onnx__GraphProto g;
    Onnx__OperatorSetIdProto op;
    Onnx__OperatorSetIdProto *ops[1];
};

static void model_init(struct model *md)
{
    onnx__model_proto__init(&md->m);
    onnx__graph_proto__init(&md->g);
    onnx__operator_set_id_proto__init(&md->op);
    md->op.domain = str("");
    md->op.has_version = 1;
    md->op.version = 13;
    md->ops[0] = &md->op;
    md->m.has_ir_version = 1;
    md->m.ir_version = 8;
    md->m.n_opset_import = 1;
    md->m.opset_import = md->ops;
    md->m.producer_name = str("test_import");
    md->g.name = str("g");
    md->m.graph = &md->g;
    md->g.input = mk(sizeof(void *) * 8);
    md->g.output = mk(sizeof(void *) * 8);
    md->g.node = mk(sizeof(void *) * 8);
    md->g.initializer = mk(sizeof(void *) * 8);
}

static void add_input(struct model *md, Onnx__ValueInfoProto *v) { md->g.input[md->g.n_input++] = v; }
static void add_output(struct model *md, Onnx__ValueInfoProto *v) { md->g.output[md->g.n_output++] = v; }
static void add_node(struct model *md, Onnx__NodeProto *n) { md->g.node[md->g.n_node++] = n; }
static void add_init(struct model *md, Onnx__TensorProto *t)
{
    md->g.initializer[md->g.n_initializer++] = t;
}

static uint8_t *pack(struct model *md, size_t *len)
{
    *len = onnx__model_proto__get_packed_size(&md->m);
    uint8_t *b = mk(*len + 1);
    assert_int_equal(onnx__model_proto__pack(&md->m, b), *len);
    return b;
}

/* x: float32[2,3] -> Identity -> y */
static void identity_model(struct model *md, const char *const *params)
{
    static const int64_t dims[2] = {2, 3};
    model_init(md);
    add_input(md, vinfo("x", KILN_DTYPE_F32, 2, dims, params));
    add_output(md, vinfo("y", KILN_DTYPE_F32, 0, NULL, NULL));
    static const char *const in[] = {"x"}, *const out[] = {"y"};
    add_node(md, node("id", "Identity", "", 1, in, 1, out));
}

static enum kiln_status load(struct model *md, const struct kiln_import_options *opt,
                             struct kiln_ir_graph **g, struct kiln_diag *d)
{
    size_t len;
    uint8_t *b = pack(md, &len);
    kiln_diag_clear(d);
    return kiln_onnx_load_buffer(b, len, "mem.onnx", NULL, opt, g, d);
}

static void expect_msg(const struct kiln_diag *d, const char *word)
{
    if (!strstr(d->message, word))
        fail_msg("message '%s' lacks '%s'", d->message, word);
}

/* ---- tests ---- */

static void test_valid_model(void **state)
{
    (void)state;
    struct model md;
    identity_model(&md, NULL);
    struct kiln_ir_graph *g;
    struct kiln_diag d;
    assert_int_equal(load(&md, NULL, &g, &d), KILN_STATUS_OK);
    assert_int_equal(g->n_inputs, 1);
    assert_int_equal(kiln_infer(g, &d), KILN_STATUS_OK);
    assert_int_equal(g->outputs[0]->dims[1], 3);
    kiln_ir_graph_free(g);
    pool_free();
}

static void test_truncated_and_corrupt(void **state)
{
    (void)state;
    struct model md;
    identity_model(&md, NULL);
    size_t len;
    uint8_t *b = pack(&md, &len);
    struct kiln_ir_graph *g;
    struct kiln_diag d;
    /* every proper prefix: refused, never crashes */
    for (size_t n = 0; n < len; n++) {
        kiln_diag_clear(&d);
        enum kiln_status st = kiln_onnx_load_buffer(b, n, "t.onnx", NULL, NULL, &g, &d);
        if (st == KILN_STATUS_OK) /* a prefix that ends between fields may still be a model */
            kiln_ir_graph_free(g);
        else
            assert_null(g);
    }
    kiln_diag_clear(&d);
    assert_int_equal(kiln_onnx_load_buffer(b, len - 3, "t.onnx", NULL, NULL, &g, &d),
                     KILN_STATUS_PARSE);
    /* flipped bytes anywhere: no crash, no leak */
    uint8_t *c = mk(len);
    for (size_t i = 0; i < len; i++) {
        memcpy(c, b, len);
        c[i] ^= 0xff;
        kiln_diag_clear(&d);
        if (kiln_onnx_load_buffer(c, len, "t.onnx", NULL, NULL, &g, &d) == KILN_STATUS_OK)
            kiln_ir_graph_free(g);
    }
    pool_free();
}

static void test_random_bytes(void **state)
{
    (void)state;
    uint32_t seed = 12345;
    uint8_t buf[512];
    for (int it = 0; it < 500; it++) {
        size_t n = 1 + (size_t)(it % 511);
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            buf[i] = (uint8_t)(seed >> 16);
        }
        struct kiln_ir_graph *g;
        struct kiln_diag d;
        kiln_diag_clear(&d);
        assert_int_not_equal(kiln_onnx_load_buffer(buf, n, "r.onnx", NULL, NULL, &g, &d),
                             KILN_STATUS_OK);
        assert_null(g);
        assert_true(d.message[0] != '\0');
    }
}

static void test_empty_and_not_onnx(void **state)
{
    (void)state;
    struct kiln_ir_graph *g;
    struct kiln_diag d;
    kiln_diag_clear(&d);
    assert_int_equal(kiln_onnx_load_buffer("", 0, "e.onnx", NULL, NULL, &g, &d),
                     KILN_STATUS_PARSE);
    expect_msg(&d, "empty");
    /* a valid protobuf of another kind (a TensorProto) is not a model */
    static const int64_t dims[1] = {2};
    static const float v[2] = {1, 2};
    Onnx__TensorProto *t = init_f32("t", 1, dims, v, 2);
    size_t len = onnx__tensor_proto__get_packed_size(t);
    uint8_t *b = mk(len);
    onnx__tensor_proto__pack(t, b);
    kiln_diag_clear(&d);
    assert_int_equal(kiln_onnx_load_buffer(b, len, "t.onnx", NULL, NULL, &g, &d),
                     KILN_STATUS_PARSE);
    expect_msg(&d, "not an ONNX model");
    /* a missing file is an I/O error */
    kiln_diag_clear(&d);
    assert_int_equal(kiln_onnx_load("/nonexistent/m.onnx", NULL, &g, &d), KILN_STATUS_IO);
    pool_free();
}

static void test_undefined_input(void **state)
{
    (void)state;
    struct model md;
    identity_model(&md, NULL);
    static const char *const in[] = {"y", "w_missing"}, *const out[] = {"z"};
    add_node(&md, node("reshape_w", "Reshape", "", 2, in, 1, out));
    md.g.output[0] = vinfo("z", KILN_DTYPE_F32, 0, NULL, NULL);
    struct kiln_ir_graph *g;
    struct kiln_diag d;
    assert_int_equal(load(&md, NULL, &g, &d), KILN_STATUS_INVALID_MODEL);
    assert_string_equal(d.node, "reshape_w");
    expect_msg(&d, "w_missing");
    pool_free();
}

static void test_cycle(void **state)
{
    (void)state;
    struct model md;
    identity_model(&md, NULL);
    md.g.n_node = 0;
    /* a uses t2 before b defines it from t1, which a defines: a cycle */
    static const char *const ain[] = {"t2"}, *const aout[] = {"t1"};
    static const char *const bin[] = {"t1"}, *const bout[] = {"t2"};
    static const char *const cin[] = {"t2"}, *const cout[] = {"y"};
    add_node(&md, node("a", "Identity", "", 1, ain, 1, aout));
    add_node(&md, node("b", "Identity", "", 1, bin, 1, bout));
    add_node(&md, node("c", "Identity", "", 1, cin, 1, cout));
    struct kiln_ir_graph *g;
    struct kiln_diag d;
    assert_int_equal(load(&md, NULL, &g, &d), KILN_STATUS_INVALID_MODEL);
    expect_msg(&d, "cycle");
    assert_true(strcmp(d.node, "a") == 0 || strcmp(d.node, "b") == 0);
    pool_free();
}

static void test_bad_dims(void **state)
{
    (void)state;
    struct model md;
    static const int64_t neg[2] = {2, -3};
    model_init(&md);
    add_input(&md, vinfo("x", KILN_DTYPE_F32, 2, neg, NULL));
    add_output(&md, vinfo("x", KILN_DTYPE_F32, 0, NULL, NULL));
    struct kiln_ir_graph *g;
    struct kiln_diag d;
    assert_int_equal(load(&md, NULL, &g, &d), KILN_STATUS_INVALID_MODEL);
    expect_msg(&d, "negative");
    expect_msg(&d, "'x'");
    pool_free();
    /* an initializer with a negative dim */
    identity_model(&md, NULL);
    add_init(&md, init_f32("w", 2, neg, NULL, 0));
    assert_int_equal(load(&md, NULL, &g, &d), KILN_STATUS_INVALID_MODEL);
    expect_msg(&d, "negative");
    expect_msg(&d, "'w'");
    pool_free();
    /* dims whose product overflows */
    static const int64_t huge[3] = {INT64_C(1) << 40, INT64_C(1) << 40, 4};
    identity_model(&md, NULL);
    add_init(&md, init_f32("big", 3, huge, NULL, 0));
    assert_int_equal(load(&md, NULL, &g, &d), KILN_STATUS_INVALID_MODEL);
    expect_msg(&d, "overflow");
    pool_free();
    /* raw data that does not match the shape */
    static const int64_t two[1] = {2};
    static const float one[1] = {1};
    identity_model(&md, NULL);
    add_init(&md, init_f32("short", 1, two, one, 1));
    assert_int_equal(load(&md, NULL, &g, &d), KILN_STATUS_INVALID_MODEL);
    expect_msg(&d, "short");
    pool_free();
}

static void test_unknown_op(void **state)
{
    (void)state;
    struct model md;
    identity_model(&md, NULL);
    static const char *const in[] = {"y"}, *const o1[] = {"z1"}, *const o2[] = {"z2"},
                             *const o3[] = {"z3"};
    add_node(&md, node("custom_a", "FancyOp", "com.example", 1, in, 1, o1));
    add_node(&md, node("custom_b", "FancyOp", "com.example", 1, in, 1, o2));
    add_node(&md, node("warp", "NotAnOnnxOp", "", 1, in, 1, o3));
    add_output(&md, vinfo("z1", KILN_DTYPE_F32, 0, NULL, NULL));
    add_output(&md, vinfo("z2", KILN_DTYPE_F32, 0, NULL, NULL));
    add_output(&md, vinfo("z3", KILN_DTYPE_F32, 0, NULL, NULL));
    struct kiln_ir_graph *g;
    struct kiln_diag d;
    assert_int_equal(load(&md, NULL, &g, &d), KILN_STATUS_OK);
    /* inspect lists them with their nodes */
    struct kiln_summary s;
    assert_int_equal(kiln_summary_compute(g, false, NULL, &s, &d), KILN_STATUS_OK);
    assert_int_equal(s.n_nodes, 4);
    assert_int_equal(s.n_unsupported, 2);
    assert_true(s.ops[0].unsupported && s.ops[0].count == 2);
    assert_string_equal(s.ops[0].op_type, "FancyOp");
    assert_string_equal(s.ops[0].domain, "com.example");
    assert_string_equal(s.ops[0].nodes[0], "custom_a");
    assert_string_equal(s.ops[0].nodes[1], "custom_b");
    char *text = NULL;
    size_t tlen = 0;
    FILE *f = open_memstream(&text, &tlen);
    kiln_summary_print_text(&s, f);
    fclose(f);
    assert_non_null(strstr(text, "com.example::FancyOp: 'custom_a', 'custom_b'"));
    assert_non_null(strstr(text, "NotAnOnnxOp: 'warp'"));
    free(text);
    kiln_summary_free(&s);
    /* infer refuses, naming every node */
    kiln_diag_clear(&d);
    assert_int_equal(kiln_infer(g, &d), KILN_STATUS_UNSUPPORTED);
    expect_msg(&d, "'custom_a', 'custom_b'");
    expect_msg(&d, "'warp'");
    kiln_ir_graph_free(g);
    pool_free();
}

static void test_summary_counts_and_json(void **state)
{
    (void)state;
    struct model md;
    identity_model(&md, NULL);
    md.g.n_node = 0;
    md.g.n_output = 0;
    /* y = Reshape(x, shape) with shape an initializer (2 int64 elements) and an extra
     * float initializer w[4] used by nobody but counted as a parameter */
    Onnx__TensorProto *shape = mk(sizeof *shape);
    onnx__tensor_proto__init(shape);
    shape->name = str("shape");
    shape->has_data_type = 1;
    shape->data_type = KILN_DTYPE_I64;
    shape->n_dims = 1;
    shape->dims = mk(sizeof(int64_t));
    shape->dims[0] = 2;
    shape->n_int64_data = 2;
    shape->int64_data = mk(2 * sizeof(int64_t));
    shape->int64_data[0] = 3;
    shape->int64_data[1] = 2;
    add_init(&md, shape);
    static const int64_t four[1] = {4};
    static const float w[4] = {1, 2, 3, 4};
    add_init(&md, init_f32("w", 1, four, w, 4));
    static const char *const in[] = {"x", "shape"}, *const mid[] = {"t"};
    static const char *const in2[] = {"t"}, *const out[] = {"odd \"name\"\n"};
    add_node(&md, node("r", "Reshape", "", 2, in, 1, mid));
    add_node(&md, node("i", "Identity", "", 1, in2, 1, out));
    add_output(&md, vinfo("odd \"name\"\n", KILN_DTYPE_F32, 0, NULL, NULL));
    struct kiln_ir_graph *g;
    struct kiln_diag d;
    assert_int_equal(load(&md, NULL, &g, &d), KILN_STATUS_OK);
    assert_int_equal(kiln_infer(g, &d), KILN_STATUS_OK);
    struct kiln_summary s;
    assert_int_equal(kiln_summary_compute(g, true, NULL, &s, &d), KILN_STATUS_OK);
    assert_int_equal(s.params, 6);
    assert_int_equal(s.param_bytes, 2 * 8 + 4 * 4);
    assert_int_equal(s.activation_bytes, 6 * 4); /* t; the graph output is not counted */
    assert_int_equal(s.macs, 0);
    char *text = NULL;
    size_t tlen = 0;
    FILE *f = open_memstream(&text, &tlen);
    kiln_summary_print_json(&s, f);
    fclose(f);
    assert_non_null(strstr(text, "\"name\": \"odd \\\"name\\\"\\n\""));
    assert_non_null(strstr(text, "\"shape\": [3, 2]"));
    assert_non_null(strstr(text, "\"parameters\": 6,"));
    assert_null(strchr(text, '\t'));
    free(text);
    kiln_summary_free(&s);
    kiln_ir_graph_free(g);
    pool_free();
}

static void test_external_data(void **state)
{
    (void)state;
    char dir[] = "/tmp/kiln_test_import_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char p[512], model_path[512];
    static const float w[3] = {1.5f, -2.0f, 4.25f};
    snprintf(p, sizeof p, "%s/w.bin", dir);
    FILE *f = fopen(p, "wb");
    assert_int_equal(fwrite(w, sizeof w, 1, f), 1);
    fclose(f);
    snprintf(model_path, sizeof model_path, "%s/m.onnx", dir);
    static const int64_t three[1] = {3};
    static const char *const locs[] = {"w.bin", "../w.bin", "/etc/passwd", "sub/../../w.bin",
                                       "nope.bin"};
    static const enum kiln_status want[] = {KILN_STATUS_OK, KILN_STATUS_INVALID_MODEL,
                                            KILN_STATUS_INVALID_MODEL, KILN_STATUS_INVALID_MODEL,
                                            KILN_STATUS_IO};
    for (size_t k = 0; k < sizeof locs / sizeof locs[0]; k++) {
        struct model md;
        identity_model(&md, NULL);
        Onnx__TensorProto *t = init_f32("w", 1, three, NULL, 0);
        set_external(t, locs[k]);
        add_init(&md, t);
        add_output(&md, vinfo("w", KILN_DTYPE_F32, 0, NULL, NULL));
        size_t len;
        uint8_t *b = pack(&md, &len);
        f = fopen(model_path, "wb");
        assert_int_equal(fwrite(b, len, 1, f), 1);
        fclose(f);
        struct kiln_ir_graph *g;
        struct kiln_diag d;
        kiln_diag_clear(&d);
        enum kiln_status st = kiln_onnx_load(model_path, NULL, &g, &d);
        if (st != want[k])
            fail_msg("location '%s': status %d, want %d (%s)", locs[k], st, want[k], d.message);
        if (st == KILN_STATUS_OK) {
            const struct kiln_ir_value *v = kiln_ir_find(g, "w");
            assert_memory_equal(v->data, w, sizeof w);
            kiln_ir_graph_free(g);
        } else {
            expect_msg(&d, "initializer 'w'");
        }
        /* from memory without a folder: external data is refused */
        if (k == 0) {
            kiln_diag_clear(&d);
            assert_int_equal(kiln_onnx_load_buffer(b, len, "mem.onnx", NULL, NULL, &g, &d),
                             KILN_STATUS_UNSUPPORTED);
        }
        pool_free();
    }
    unlink(p);
    unlink(model_path);
    rmdir(dir);
}

static void test_input_shape_parsing(void **state)
{
    (void)state;
    struct kiln_input_shape s;
    struct kiln_diag d;
    kiln_diag_clear(&d);
    assert_int_equal(kiln_parse_input_shape("x=1,3,224,224", &s, &d), KILN_STATUS_OK);
    assert_string_equal(s.name, "x");
    assert_int_equal(s.rank, 4);
    assert_int_equal(s.dims[3], 224);
    assert_int_equal(kiln_parse_input_shape("a=b=2", &s, &d), KILN_STATUS_OK);
    assert_string_equal(s.name, "a=b"); /* the last '=' splits: names may hold '=' */
    assert_int_equal(kiln_parse_input_shape("scalar=", &s, &d), KILN_STATUS_OK);
    assert_int_equal(s.rank, 0);
    static const char *const bad[] = {"x", "=1,2", "x=1,a", "x=-1", "x=1,,2",
                                      "x=1,2,3,4,5,6,7,8,9", "x=99999999999999999999"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        kiln_diag_clear(&d);
        if (kiln_parse_input_shape(bad[k], &s, &d) == KILN_STATUS_OK)
            fail_msg("'%s' was accepted", bad[k]);
        expect_msg(&d, "--input-shape");
    }
}

static void test_input_shape_apply(void **state)
{
    (void)state;
    static const char *const params[2] = {"N", NULL};
    struct model md;
    struct kiln_ir_graph *g;
    struct kiln_diag d;
    struct kiln_input_shape s;
    /* symbolic dim without --input-shape: infer names the input and the dim */
    identity_model(&md, params);
    assert_int_equal(load(&md, NULL, &g, &d), KILN_STATUS_OK);
    kiln_diag_clear(&d);
    assert_int_equal(kiln_infer(g, &d), KILN_STATUS_UNSUPPORTED);
    expect_msg(&d, "'x'");
    expect_msg(&d, "'N'");
    expect_msg(&d, "--input-shape");
    kiln_ir_graph_free(g);
    /* fixed with --input-shape */
    kiln_diag_clear(&d);
    assert_int_equal(kiln_parse_input_shape("x=5,3", &s, &d), KILN_STATUS_OK);
    struct kiln_import_options opt = {&s, 1, NULL, 0, 0};
    assert_int_equal(load(&md, &opt, &g, &d), KILN_STATUS_OK);
    assert_int_equal(kiln_infer(g, &d), KILN_STATUS_OK);
    assert_int_equal(g->outputs[0]->dims[0], 5);
    kiln_ir_graph_free(g);
    /* unknown input name */
    kiln_diag_clear(&d);
    assert_int_equal(kiln_parse_input_shape("nope=5,3", &s, &d), KILN_STATUS_OK);
    assert_int_equal(load(&md, &opt, &g, &d), KILN_STATUS_INVALID_ARG);
    expect_msg(&d, "'nope'");
    expect_msg(&d, "'x'"); /* lists the real inputs */
    /* wrong rank */
    kiln_diag_clear(&d);
    assert_int_equal(kiln_parse_input_shape("x=5,3,1", &s, &d), KILN_STATUS_OK);
    assert_int_equal(load(&md, &opt, &g, &d), KILN_STATUS_INVALID_ARG);
    expect_msg(&d, "3 dimensions");
    /* contradicting a fixed dim */
    kiln_diag_clear(&d);
    assert_int_equal(kiln_parse_input_shape("x=5,4", &s, &d), KILN_STATUS_OK);
    assert_int_equal(load(&md, &opt, &g, &d), KILN_STATUS_INVALID_ARG);
    expect_msg(&d, "fixes it at 3");
    pool_free();
}

/* ---- model-local functions are inlined on import ---- */

static Onnx__AttributeProto *attr_float(const char *name, float v, const char *ref)
{
    Onnx__AttributeProto *a = mk(sizeof *a);
    onnx__attribute_proto__init(a);
    a->name = str(name);
    a->has_type = 1;
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
    a->has_f = 1;
    a->f = v;
    if (ref)
        a->ref_attr_name = str(ref);
    return a;
}

static void set_attrs(Onnx__NodeProto *n, Onnx__AttributeProto *a)
{
    n->n_attribute = 1;
    n->attribute = mk(sizeof *n->attribute * 2);
    n->attribute[0] = a;
}

static Onnx__FunctionProto *function(const char *name, const char *in, const char *out,
                                     Onnx__NodeProto **body, size_t n_body)
{
    Onnx__FunctionProto *f = mk(sizeof *f);
    onnx__function_proto__init(f);
    f->name = str(name);
    f->domain = str("custom");
    f->n_input = 1;
    f->input = mk(sizeof(char *) * 2);
    f->input[0] = str(in);
    f->n_output = 1;
    f->output = mk(sizeof(char *) * 2);
    f->output[0] = str(out);
    f->n_node = n_body;
    f->node = body;
    return f;
}

/* y = Scale(x, alpha=3) where Scale(X) = AddOne(X * alpha) and AddOne(A) = A + 1 */
static void function_model(struct model *md, bool recursive)
{
    static const int64_t dims[2] = {2, 3};
    model_init(md);
    add_input(md, vinfo("x", KILN_DTYPE_F32, 2, dims, NULL));
    add_output(md, vinfo("y", KILN_DTYPE_F32, 0, NULL, NULL));
    static const char *const in[] = {"x"}, *const out[] = {"y"};
    Onnx__NodeProto *call = node("call", "Scale", "custom", 1, in, 1, out);
    set_attrs(call, attr_float("alpha", 3.0f, NULL));
    add_node(md, call);

    Onnx__NodeProto **sbody = mk(sizeof *sbody * 4);
    static const char *const c_out[] = {"a"}, *const m_in[] = {"X", "a"}, *const m_out[] = {"t"};
    static const char *const i_in[] = {"t"}, *const i_out[] = {"Y"};
    sbody[0] = node("c", "Constant", "", 0, NULL, 1, c_out);
    set_attrs(sbody[0], attr_float("value_float", 0.0f, "alpha"));
    sbody[1] = node("m", "Mul", "", 2, m_in, 1, m_out);
    sbody[2] = node("inner", recursive ? "Scale" : "AddOne", "custom", 1, i_in, 1, i_out);
    Onnx__NodeProto **abody = mk(sizeof *abody * 3);
    static const char *const one_out[] = {"one"}, *const add_in[] = {"A", "one"},
                             *const add_out[] = {"B"};
    abody[0] = node("k", "Constant", "", 0, NULL, 1, one_out);
    set_attrs(abody[0], attr_float("value_float", 1.0f, NULL));
    abody[1] = node("add", "Add", "", 2, add_in, 1, add_out);
    md->m.n_functions = 2;
    md->m.functions = mk(sizeof *md->m.functions * 3);
    md->m.functions[0] = function("Scale", "X", "Y", sbody, 3);
    md->m.functions[1] = function("AddOne", "A", "B", abody, 2);
}

static void test_functions_inlined(void **state)
{
    (void)state;
    struct model md;
    function_model(&md, false);
    struct kiln_ir_graph *g;
    struct kiln_diag d;
    assert_int_equal(load(&md, NULL, &g, &d), KILN_STATUS_OK);
    assert_int_equal(g->n_nodes, 4); /* Constant, Mul, Constant, Add */
    bool saw_nested = false;
    for (uint32_t i = 0; i < g->n_nodes; i++)
        saw_nested |= strcmp(g->nodes[i]->name, "call/inner/add") == 0;
    assert_true(saw_nested);
    assert_int_equal(kiln_infer(g, &d), KILN_STATUS_OK);
    struct kiln_compiled *c;
    assert_int_equal(kiln_lower(g, &c, &d), KILN_STATUS_OK);
    float x[6] = {0, 1, 2, -1, 0.5f, 10}, y[6];
    void *arena = aligned_alloc(64, (c->prog.arena_size + 64) / 64 * 64);
    const void *ins[1] = {x};
    void *outs[1] = {y};
    assert_int_equal(kiln_run(&c->prog, arena, ins, outs), KILN_STATUS_OK);
    for (int i = 0; i < 6; i++)
        assert_float_equal(y[i], 3 * x[i] + 1, 1e-6);
    free(arena);
    kiln_compiled_free(c);
    kiln_ir_graph_free(g);
    pool_free();
}

static void test_recursive_function_refused(void **state)
{
    (void)state;
    struct model md;
    function_model(&md, true);
    struct kiln_ir_graph *g;
    struct kiln_diag d;
    assert_int_equal(load(&md, NULL, &g, &d), KILN_STATUS_INVALID_MODEL);
    expect_msg(&d, "recursive");
    pool_free();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_model),
        cmocka_unit_test(test_truncated_and_corrupt),
        cmocka_unit_test(test_random_bytes),
        cmocka_unit_test(test_empty_and_not_onnx),
        cmocka_unit_test(test_undefined_input),
        cmocka_unit_test(test_cycle),
        cmocka_unit_test(test_bad_dims),
        cmocka_unit_test(test_unknown_op),
        cmocka_unit_test(test_summary_counts_and_json),
        cmocka_unit_test(test_external_data),
        cmocka_unit_test(test_input_shape_parsing),
        cmocka_unit_test(test_input_shape_apply),
        cmocka_unit_test(test_functions_inlined),
        cmocka_unit_test(test_recursive_function_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
