/* test_bundle.c - the .kiln bundle end to end: every example model through compile -> write ->
 * load -> run, bit-identical to the in-memory program; every single-byte flip and every
 * truncation of a small bundle refused; corruptions behind a valid checksum refused by
 * validation (and, for those that still load, run without leaving their buffers: build with
 * KILN_SANITIZE to check); no allocation in load or run; two threads sharing one model. */
#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bundle.h"
#include "compiler.h"
#include "kiln/params.h"
#include "npy.h"

/* ---- allocation counter: the test links with -Wl,--wrap=malloc,... ---- */
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t s);
void *__real_realloc(void *p, size_t n);
void *__real_aligned_alloc(size_t a, size_t n);
static int counting;
static long n_allocs;
void *__wrap_malloc(size_t n)
{
    if (__atomic_load_n(&counting, __ATOMIC_RELAXED))
        __atomic_add_fetch(&n_allocs, 1, __ATOMIC_RELAXED);
    return __real_malloc(n);
}
void *__wrap_calloc(size_t n, size_t s)
{
    if (__atomic_load_n(&counting, __ATOMIC_RELAXED))
        __atomic_add_fetch(&n_allocs, 1, __ATOMIC_RELAXED);
    return __real_calloc(n, s);
}
void *__wrap_realloc(void *p, size_t n)
{
    if (__atomic_load_n(&counting, __ATOMIC_RELAXED))
        __atomic_add_fetch(&n_allocs, 1, __ATOMIC_RELAXED);
    return __real_realloc(p, n);
}
void *__wrap_aligned_alloc(size_t a, size_t n)
{
    if (__atomic_load_n(&counting, __ATOMIC_RELAXED))
        __atomic_add_fetch(&n_allocs, 1, __ATOMIC_RELAXED);
    return __real_aligned_alloc(a, n);
}

/* ---- a compiled example model with its inputs and a bundle of it ---- */
struct fixture {
    struct kiln_ir_graph *g;
    struct kiln_compiled *c;
    struct kiln_host_tensor in[8];
    const void *ibufs[8];
    uint32_t n_in;
    uint8_t *bundle;
    size_t len;
};

static void fixture_free(struct fixture *f)
{
    for (uint32_t i = 0; i < f->n_in; i++)
        kiln_host_tensor_free(&f->in[i]);
    free(f->bundle);
    kiln_compiled_free(f->c);
    kiln_ir_graph_free(f->g);
    memset(f, 0, sizeof *f);
}

/* Compiles models/<name>.onnx for the shape of models/<name>.input.npy (input 0; any other
 * input gets a fixed byte pattern) and builds its bundle. */
static void fixture_make(struct fixture *f, const char *name)
{
    char path[1024];
    struct kiln_diag d;
    kiln_diag_clear(&d);
    memset(f, 0, sizeof *f);
    snprintf(path, sizeof path, "%s/%s.onnx", KILN_MODELS_DIR, name);
    assert_int_equal(kiln_onnx_load(path, NULL, &f->g, &d), KILN_STATUS_OK);
    f->n_in = f->g->n_inputs;
    assert_true(f->n_in <= 8);
    for (uint32_t i = 0; i < f->n_in; i++) {
        struct kiln_ir_value *v = f->g->inputs[i];
        snprintf(path, sizeof path, "%s/%s.input.npy", KILN_MODELS_DIR, name);
        if (i == 0 && kiln_npy_read(path, &f->in[0], &d) == KILN_STATUS_OK) {
            for (int k = 0; k < v->rank; k++)
                v->dims[k] = f->in[0].dims[k];
        } else {
            for (int k = 0; k < v->rank; k++)
                v->dims[k] = v->dims[k] < 0 ? 1 : v->dims[k];
            uint64_t nb = kiln_ir_value_nbytes(v);
            f->in[i].data = calloc(nb + 1, 1);
            for (uint64_t b = 0; b < nb; b++)
                ((uint8_t *)f->in[i].data)[b] = (uint8_t)(b * 7 % 61);
        }
        f->ibufs[i] = f->in[i].data;
    }
    assert_int_equal(kiln_infer(f->g, &d), KILN_STATUS_OK);
    assert_int_equal(kiln_lower(f->g, &f->c, &d), KILN_STATUS_OK);
    void *b;
    assert_int_equal(kiln_bundle_build(&f->c->prog, f->c->plan_lower_bound, f->c->plan_naive,
                                       &b, &f->len, &d),
                     KILN_STATUS_OK);
    f->bundle = b;
}

/* Output buffers of a program (malloc'd, one extra byte so empty tensors get a pointer). */
static void **alloc_outputs(const struct kiln_program *p)
{
    void **o = calloc(p->n_outputs + 1, sizeof *o);
    for (uint32_t k = 0; k < p->n_outputs; k++)
        o[k] = calloc(p->tensors[p->outputs[k]].nbytes + 1, 1);
    return o;
}

static void free_outputs(const struct kiln_program *p, void **o)
{
    for (uint32_t k = 0; o && k < p->n_outputs; k++)
        free(o[k]);
    free(o);
}

static void *alloc_arena(uint64_t size)
{
    return aligned_alloc(KILN_BUNDLE_ALIGN, (size + KILN_BUNDLE_ALIGN) / KILN_BUNDLE_ALIGN *
                                                KILN_BUNDLE_ALIGN);
}

/* ---- round trip of every example model ---- */

static void test_round_trip_models(void **state)
{
    (void)state;
    DIR *dir = opendir(KILN_MODELS_DIR);
    assert_non_null(dir);
    struct dirent *e;
    int models = 0;
    while ((e = readdir(dir))) {
        size_t n = strlen(e->d_name);
        if (n < 6 || strcmp(e->d_name + n - 5, ".onnx") != 0)
            continue;
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)(n - 5), e->d_name);
        struct fixture f;
        fixture_make(&f, name);
        const struct kiln_program *p = &f.c->prog;
        struct kiln_model m;
        struct kiln_diag d;
        kiln_diag_clear(&d);
        assert_int_equal(kiln_model_load(f.bundle, f.len, &m, &d), KILN_STATUS_OK);
        assert_int_equal(kiln_model_n_inputs(&m), p->n_inputs);
        assert_int_equal(kiln_model_n_outputs(&m), p->n_outputs);
        assert_int_equal(kiln_model_arena_size(&m), p->arena_size);
        for (uint32_t i = 0; i < p->n_inputs; i++) {
            struct kiln_io_info io;
            assert_int_equal(kiln_model_input(&m, i, &io), KILN_STATUS_OK);
            assert_string_equal(io.name, f.g->inputs[i]->name);
            assert_int_equal(io.dtype, f.g->inputs[i]->dtype);
            assert_int_equal(io.rank, f.g->inputs[i]->rank);
            assert_int_equal(io.nbytes, kiln_ir_value_nbytes(f.g->inputs[i]));
        }
        /* the weights are used in place */
        assert_ptr_equal(m.prog.weights >= f.bundle && m.prog.weights < f.bundle + f.len, 1);
        void *arena = alloc_arena(p->arena_size);
        void **want = alloc_outputs(p), **got = alloc_outputs(p);
        assert_int_equal(kiln_run(p, arena, f.ibufs, want), KILN_STATUS_OK);
        memset(arena, 0xa5, p->arena_size);
        assert_int_equal(kiln_model_run(&m, arena, f.ibufs, got), KILN_STATUS_OK);
        for (uint32_t k = 0; k < p->n_outputs; k++)
            assert_memory_equal(got[k], want[k], p->tensors[p->outputs[k]].nbytes);
        free_outputs(p, want);
        free_outputs(p, got);
        free(arena);
        fixture_free(&f);
        models++;
    }
    closedir(dir);
    assert_true(models >= 4);
}

/* ---- corruption ---- */

static uint8_t *aligned_copy(const struct fixture *f)
{
    uint8_t *b = aligned_alloc(KILN_BUNDLE_ALIGN, (f->len + 63) / 64 * 64);
    memcpy(b, f->bundle, f->len);
    return b;
}

static void reseal(uint8_t *b, size_t len)
{
    uint32_t crc = kiln_crc32(kiln_crc32(0, b, 24), b + 28, len - 28);
    memcpy(b + offsetof(struct kiln_bundle_header, checksum), &crc, 4);
}

/* Loads b; when it loads, runs it (the run must stay inside its buffers) and returns 1. */
static int load_and_run(const uint8_t *b, size_t len, const struct fixture *f)
{
    struct kiln_model m;
    struct kiln_diag d;
    kiln_diag_clear(&d);
    enum kiln_status st = kiln_model_load(b, len, &m, &d);
    if (st != KILN_STATUS_OK) {
        if (!d.message[0])
            fail_msg("refused (status %d) without a message", st);
        return 0;
    }
    void *arena = m.prog.arena_size < (1u << 30) ? alloc_arena(m.prog.arena_size) : NULL;
    if (!arena)
        return 1; /* loaded, but asks for an arena this test does not provide */
    const void *in[8];
    void *inbufs[8] = {0};
    for (uint32_t i = 0; i < m.prog.n_inputs && i < 8; i++) {
        struct kiln_io_info io;
        kiln_model_input(&m, i, &io);
        inbufs[i] = calloc(io.nbytes + 1, 1);
        uint64_t have = i < f->n_in ? kiln_ir_value_nbytes(f->g->inputs[i]) : 0;
        memcpy(inbufs[i], f->ibufs[i], have < io.nbytes ? have : io.nbytes);
        in[i] = inbufs[i];
    }
    void **out = alloc_outputs(&m.prog);
    assert_true(m.prog.n_inputs <= 8);
    assert_int_equal(kiln_model_run(&m, arena, in, out), KILN_STATUS_OK);
    free_outputs(&m.prog, out);
    for (int i = 0; i < 8; i++)
        free(inbufs[i]);
    free(arena);
    return 1;
}

static void test_flip_every_byte(void **state)
{
    (void)state;
    struct fixture f;
    fixture_make(&f, "mlp");
    uint8_t *b = aligned_copy(&f);
    for (size_t i = 0; i < f.len; i++) {
        b[i] ^= 0xff;
        struct kiln_model m;
        struct kiln_diag d;
        kiln_diag_clear(&d);
        if (kiln_model_load(b, f.len, &m, &d) == KILN_STATUS_OK)
            fail_msg("flipping byte %zu was not detected", i);
        b[i] ^= 0xff;
    }
    free(b);
    fixture_free(&f);
}

static void test_truncate_every_length(void **state)
{
    (void)state;
    struct fixture f;
    fixture_make(&f, "mlp");
    uint8_t *b = aligned_copy(&f);
    for (size_t len = 0; len < f.len; len++) {
        struct kiln_model m;
        struct kiln_diag d;
        kiln_diag_clear(&d);
        if (kiln_model_load(b, len, &m, &d) == KILN_STATUS_OK)
            fail_msg("a bundle truncated to %zu bytes loaded", len);
    }
    free(b);
    fixture_free(&f);
}

/* Every byte flip behind a rewritten checksum: refused by validation, or (weights, names,
 * activation parameters) loaded and run without leaving any buffer. */
static void flip_resealed(const char *name)
{
    struct fixture f;
    fixture_make(&f, name);
    uint8_t *b = aligned_copy(&f);
    const struct kiln_bundle_header *h = (const void *)f.bundle;
    const struct kiln_bundle_section *s = (const void *)(f.bundle + h->section_table_offset);
    uint64_t wlo = 0, whi = 0;
    for (uint32_t i = 0; i < h->n_sections; i++)
        if (s[i].type == KILN_SECTION_WEIGHTS)
            wlo = s[i].offset, whi = s[i].offset + s[i].size;
    int refused = 0, ran = 0;
    for (size_t i = 0; i < f.len; i++) {
        if (i >= 24 && i < 28)
            continue; /* the checksum itself */
        if (i >= wlo + 64 && i < whi)
            continue; /* weight values cannot break anything; sample the first 64 bytes */
        for (int bit = 0; bit < 8; bit += 7) {
            b[i] ^= (uint8_t)(1u << bit);
            reseal(b, f.len);
            if (load_and_run(b, f.len, &f))
                ran++;
            else
                refused++;
            memcpy(b, f.bundle, f.len);
        }
    }
    assert_true(refused > 0 && ran > 0);
    free(b);
    fixture_free(&f);
}

static void test_flip_resealed_mlp(void **state)
{
    (void)state;
    flip_resealed("mlp");
}

static void test_flip_resealed_cnn(void **state)
{
    (void)state;
    flip_resealed("digits_cnn");
}

/* The program of a loaded copy, writable so a test can corrupt one field. */
struct editable {
    uint8_t *b;
    size_t len;
    struct kiln_tensor_desc *tensors;
    struct kiln_node_desc *nodes;
    uint32_t *io, *inputs;
    uint8_t *params;
    char *strings;
    struct kiln_bundle_plan *plan;
};

static struct kiln_bundle_section *section(uint8_t *b, uint32_t type)
{
    struct kiln_bundle_header *h = (void *)b;
    struct kiln_bundle_section *s = (void *)(b + h->section_table_offset);
    for (uint32_t i = 0; i < h->n_sections; i++)
        if (s[i].type == type)
            return &s[i];
    return NULL;
}

static void editable_make(struct editable *e, const struct fixture *f)
{
    e->b = aligned_copy(f);
    e->len = f->len;
    e->tensors = (void *)(e->b + section(e->b, KILN_SECTION_TENSORS)->offset);
    e->nodes = (void *)(e->b + section(e->b, KILN_SECTION_NODES)->offset);
    e->io = (void *)(e->b + section(e->b, KILN_SECTION_NODE_IO)->offset);
    e->inputs = (void *)(e->b + section(e->b, KILN_SECTION_INPUTS)->offset);
    e->params = e->b + section(e->b, KILN_SECTION_PARAMS)->offset;
    e->strings = (void *)(e->b + section(e->b, KILN_SECTION_STRINGS)->offset);
    e->plan = (void *)(e->b + section(e->b, KILN_SECTION_PLAN)->offset);
}

/* Reseals and loads; returns the status and copies the message. */
static enum kiln_status reload(struct editable *e, char *msg, size_t size)
{
    reseal(e->b, e->len);
    struct kiln_model m;
    struct kiln_diag d;
    kiln_diag_clear(&d);
    enum kiln_status st = kiln_model_load(e->b, e->len, &m, &d);
    snprintf(msg, size, "%s", d.message);
    return st;
}

static uint32_t op_id(const char *onnx)
{
    for (uint32_t op = 0; op < KILN_OP_COUNT; op++)
        if (strcmp(kiln_op_name(op), onnx) == 0)
            return op;
    return UINT32_MAX;
}

/* One corruption per row: each must be refused with a message containing `want`. */
static void test_corrupt_with_valid_checksum(void **state)
{
    (void)state;
    struct fixture f;
    fixture_make(&f, "digits_cnn");
    const struct kiln_program *p = &f.c->prog;
    uint32_t conv = UINT32_MAX, pool = UINT32_MAX, gemm = UINT32_MAX;
    for (uint32_t i = 0; i < p->n_nodes; i++) {
        if (p->nodes[i].op == op_id("Conv") && conv == UINT32_MAX)
            conv = i;
        if (p->nodes[i].op == op_id("MaxPool") && pool == UINT32_MAX)
            pool = i;
        if ((p->nodes[i].op == op_id("Gemm") || p->nodes[i].op == op_id("MatMul")) &&
            gemm == UINT32_MAX)
            gemm = i;
    }
    assert_true(conv != UINT32_MAX && gemm != UINT32_MAX);
    uint32_t arena_t = 0, weight_t = 0;
    for (uint32_t t = 0; t < p->n_tensors; t++) {
        if (p->tensors[t].storage == KILN_STORAGE_ARENA && !arena_t)
            arena_t = t;
        if (p->tensors[t].storage == KILN_STORAGE_WEIGHT && !weight_t)
            weight_t = t;
    }
    assert_true(arena_t && weight_t);
    char msg[1024];
    for (int c = 0;; c++) {
        struct editable e;
        editable_make(&e, &f);
        const char *want = NULL;
        struct kiln_node_desc *cn = &e.nodes[conv];
        struct kiln_p_conv *cp = (void *)(e.params + cn->params_offset);
        switch (c) {
        case 0: e.tensors[arena_t].offset = p->arena_size; want = "leave the arena"; break;
        case 1: e.tensors[weight_t].offset += 64 * 1024 * 1024; want = "weights"; break;
        case 2: e.tensors[arena_t].nbytes += 4; want = "bytes for"; break;
        case 3: e.tensors[arena_t].dims[0] = -1; want = "dimension"; break;
        case 4: e.tensors[arena_t].name = (uint32_t)p->strings_size; want = "name"; break;
        case 5: e.strings[p->strings_size - 1] = 'x'; want = "NUL"; break;
        case 6: cn->variant = 99; want = "kernel variant"; break;
        case 7: cn->op = 0xfff; want = "unknown op"; break;
        case 8: e.io[cn->io_first] = p->n_tensors; want = "tensor index"; break;
        case 9: cn->params_offset = (uint32_t)p->params_size; want = "params"; break;
        case 10: cn->params_size = 8; want = "params"; break;
        case 11: cn->scratch_size = 64; want = "scratch"; break;
        case 12: cn->scratch_offset = p->arena_size; want = "scratch"; break;
        case 13: cp->group = 0; want = "group"; break;
        case 14: cp->win.stride[0] = 3; want = "outputs, the window gives"; break;
        case 15: cp->win.pad_begin[1] = -1; want = "pads"; break;
        case 16: cp->nsp = 3; want = "spatial axes"; break;
        case 17: cp->act.kind = 77; want = "activation"; break;
        case 18: e.io[cn->io_first + cn->n_in] = e.io[cn->io_first + 1]; want = "written"; break;
        case 19: cn->n_in = 1; want = "inputs"; break;
        case 20: e.nodes[gemm].scratch_size = 8; want = "scratch"; break;
        case 21: e.tensors[e.inputs[0]].index = 1; want = "input"; break;
        case 22: e.plan->arena_size = 0; want = "arena"; break;
        case 23: cn->io_first = 0xffffff00u; want = "inputs and outputs"; break;
        case 24: /* element type of a conv operand changed, sizes kept consistent */
            e.tensors[e.io[cn->io_first + 1]].dtype = KILN_DTYPE_I32;
            want = "type";
            break;
        case 25:
            if (pool == UINT32_MAX)
                continue;
            ((struct kiln_p_pool *)(void *)(e.params + e.nodes[pool].params_offset))
                ->win.kernel[0] = 0;
            want = "kernel";
            break;
        default: want = NULL;
        }
        if (!want) {
            free(e.b);
            break;
        }
        enum kiln_status st = reload(&e, msg, sizeof msg);
        if (st == KILN_STATUS_OK || !strstr(msg, want))
            fail_msg("corruption %d: status %d, message '%s' (want '%s')", c, st, msg, want);
        free(e.b);
    }
    fixture_free(&f);
}

static void test_versions_and_sections(void **state)
{
    (void)state;
    struct fixture f;
    fixture_make(&f, "mlp");
    char msg[1024];
    struct editable e;
    /* a newer major version is refused naming both versions */
    editable_make(&e, &f);
    ((struct kiln_bundle_header *)(void *)e.b)->version_major = 2;
    ((struct kiln_bundle_header *)(void *)e.b)->version_minor = 3;
    assert_int_equal(reload(&e, msg, sizeof msg), KILN_STATUS_UNSUPPORTED);
    assert_non_null(strstr(msg, "2.3"));
    assert_non_null(strstr(msg, "1.0"));
    free(e.b);
    /* a newer minor version with an unknown optional section loads */
    editable_make(&e, &f);
    ((struct kiln_bundle_header *)(void *)e.b)->version_minor = 7;
    struct kiln_bundle_section *meta = section(e.b, KILN_SECTION_METADATA);
    meta->type = 200;
    assert_int_equal(reload(&e, msg, sizeof msg), KILN_STATUS_OK);
    /* ... but an unknown required one is refused */
    meta->flags = KILN_SECTION_REQUIRED;
    assert_int_equal(reload(&e, msg, sizeof msg), KILN_STATUS_UNSUPPORTED);
    assert_non_null(strstr(msg, "200"));
    free(e.b);
    /* a missing required section, a duplicated one, overlapping ones */
    editable_make(&e, &f);
    section(e.b, KILN_SECTION_PLAN)->type = KILN_SECTION_STRINGS;
    assert_int_equal(reload(&e, msg, sizeof msg), KILN_STATUS_PARSE);
    free(e.b);
    editable_make(&e, &f);
    section(e.b, KILN_SECTION_PARAMS)->offset = section(e.b, KILN_SECTION_NODES)->offset;
    assert_int_equal(reload(&e, msg, sizeof msg), KILN_STATUS_PARSE);
    assert_non_null(strstr(msg, "overlap"));
    free(e.b);
    /* unaligned buffer */
    uint8_t *b = aligned_alloc(64, (f.len + 127) / 64 * 64);
    memcpy(b + 8, f.bundle, f.len);
    struct kiln_model m;
    struct kiln_diag d;
    kiln_diag_clear(&d);
    assert_int_equal(kiln_model_load(b + 8, f.len, &m, &d), KILN_STATUS_INVALID_ARG);
    assert_non_null(strstr(d.message, "aligned"));
    free(b);
    fixture_free(&f);
}

/* ---- no allocation, threads ---- */

static void test_no_allocation(void **state)
{
    (void)state;
    struct fixture f;
    fixture_make(&f, "tiny_resnet");
    const struct kiln_program *p = &f.c->prog;
    void *arena = alloc_arena(p->arena_size);
    void **out = alloc_outputs(p);
    struct kiln_model m;
    struct kiln_diag d;
    kiln_diag_clear(&d);
    n_allocs = 0;
    __atomic_store_n(&counting, 1, __ATOMIC_SEQ_CST);
    enum kiln_status st = kiln_model_load(f.bundle, f.len, &m, &d);
    for (int i = 0; i < 5 && st == KILN_STATUS_OK; i++)
        st = kiln_model_run(&m, arena, f.ibufs, out);
    __atomic_store_n(&counting, 0, __ATOMIC_SEQ_CST);
    assert_int_equal(st, KILN_STATUS_OK);
    assert_int_equal(n_allocs, 0);
    /* the counter works */
    __atomic_store_n(&counting, 1, __ATOMIC_SEQ_CST);
    void *volatile probe = malloc(16);
    free(probe);
    __atomic_store_n(&counting, 0, __ATOMIC_SEQ_CST);
    assert_int_equal(n_allocs, 1);
    free_outputs(p, out);
    free(arena);
    fixture_free(&f);
}

struct worker {
    const struct kiln_model *m;
    const void *const *in;
    void **out;
    int runs;
    enum kiln_status st;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    void *arena = alloc_arena(w->m->prog.arena_size);
    w->st = KILN_STATUS_OK;
    for (int i = 0; i < w->runs && w->st == KILN_STATUS_OK; i++)
        w->st = kiln_model_run(w->m, arena, w->in, w->out);
    free(arena);
    return NULL;
}

static void test_two_threads(void **state)
{
    (void)state;
    struct fixture f;
    fixture_make(&f, "tiny_resnet");
    const struct kiln_program *p = &f.c->prog;
    struct kiln_model m;
    struct kiln_diag d;
    kiln_diag_clear(&d);
    assert_int_equal(kiln_model_load(f.bundle, f.len, &m, &d), KILN_STATUS_OK);
    struct worker one = {&m, f.ibufs, alloc_outputs(p), 1, 0};
    work(&one);
    assert_int_equal(one.st, KILN_STATUS_OK);
    struct worker w[2] = {{&m, f.ibufs, alloc_outputs(p), 20, 0},
                          {&m, f.ibufs, alloc_outputs(p), 20, 0}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
    for (int i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].st, KILN_STATUS_OK);
        for (uint32_t k = 0; k < p->n_outputs; k++)
            assert_memory_equal(w[i].out[k], one.out[k], p->tensors[p->outputs[k]].nbytes);
        free_outputs(p, w[i].out);
    }
    free_outputs(p, one.out);
    fixture_free(&f);
}

static void test_every_op_has_a_check(void **state)
{
    (void)state;
    for (uint32_t op = 0; op < KILN_OP_COUNT; op++)
        if (!kiln_validate_op_known(op))
            fail_msg("op %s has no check in runtime/validate.c", kiln_op_name(op));
    assert_false(kiln_validate_op_known(KILN_OP_COUNT));
}

static void test_crc32_known_value(void **state)
{
    (void)state;
    assert_int_equal(kiln_crc32(0, "123456789", 9), 0xcbf43926u); /* the CRC-32 check value */
    assert_int_equal(kiln_crc32(kiln_crc32(0, "1234", 4), "56789", 5), 0xcbf43926u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32_known_value),
        cmocka_unit_test(test_every_op_has_a_check),
        cmocka_unit_test(test_round_trip_models),
        cmocka_unit_test(test_flip_every_byte),
        cmocka_unit_test(test_truncate_every_length),
        cmocka_unit_test(test_flip_resealed_mlp),
        cmocka_unit_test(test_flip_resealed_cnn),
        cmocka_unit_test(test_corrupt_with_valid_checksum),
        cmocka_unit_test(test_versions_and_sections),
        cmocka_unit_test(test_no_allocation),
        cmocka_unit_test(test_two_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
