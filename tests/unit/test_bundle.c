/* test_bundle.c - the .kiln bundle end to end: every example model through compile -> write ->
 * load -> run, bit-identical to the in-memory program; every single-byte flip and every
 * truncation of a small bundle refused; corruptions behind a valid checksum refused by
 * validation (and, for those that still load, run without leaving their buffers: build with
 * KILN_SANITIZE to check); no allocation in load or run; eight threads sharing loaded models,
 * each with its own arena, for a bounded time. */
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "bundle.h"
#include "compiler.h"
#include "crc32.h"
#include "kiln/params.h"
#include "npy.h"
#include "graph_harness.h"

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
    assert_int_equal(kiln_bundle_build(&f->c->prog, &f->c->plan, &b, &f->len, &d),
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
        /* the plan rebuilt from the loaded program (as `kiln inspect --plan` does) is the
         * planner's, report included */
        struct kiln_plan plan;
        assert_int_equal(
            kiln_plan_from_program(&m.prog, m.plan_lower_bound, m.plan_naive, &plan, &d),
            KILN_STATUS_OK);
        assert_int_equal(plan.n, f.c->plan.n);
        for (uint32_t i = 0; i < plan.n; i++) {
            const struct kiln_plan_entry *g = &plan.entries[i], *w = &f.c->plan.entries[i];
            assert_true(g->tensor == w->tensor && g->offset == w->offset &&
                        g->size == w->size && g->first == w->first && g->last == w->last);
        }
        assert_int_equal(plan.lower_bound, f.c->plan.lower_bound);
        assert_int_equal(plan.naive, f.c->plan.naive);
        kiln_plan_free(&plan);
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

/* Loads b; when it loads, runs it (the run must stay inside its buffers) and returns 1.
 * Input i gets the first have[i] bytes of ibufs[i] (i < n_in), zeros after. */
static int load_and_run_with(const uint8_t *b, size_t len, uint32_t n_in,
                             const void *const *ibufs, const uint64_t *have_bytes)
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
        uint64_t have = i < n_in ? have_bytes[i] : 0;
        memcpy(inbufs[i], ibufs[i], have < io.nbytes ? have : io.nbytes);
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

static int load_and_run(const uint8_t *b, size_t len, const struct fixture *f)
{
    uint64_t have[8];
    for (uint32_t i = 0; i < f->n_in; i++)
        have[i] = kiln_ir_value_nbytes(f->g->inputs[i]);
    return load_and_run_with(b, len, f->n_in, f->ibufs, have);
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
    char mine[32];
    snprintf(mine, sizeof mine, "it is %d.%d", KILN_BUNDLE_VERSION_MAJOR,
             KILN_BUNDLE_VERSION_MINOR);
    assert_non_null(strstr(msg, mine));
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

/* ---- concurrency: one loaded model, many threads, each with its own arena ----
 * libkilnrt's contract (include/kiln/bundle.h, docs/robustness.md): a loaded model is
 * read-only, so any number of threads may run it at once, each with a distinct arena and
 * output buffers. The stress runs 8 threads over several models (two or more threads per
 * model) for a bounded time (KILN_STRESS_MS, default 1000) and checks every output of every
 * run bit for bit against a single-threaded run. CI runs it under ThreadSanitizer too
 * (.ci/run: KILN_TEST_FILTER=test_threads_stress). */
struct worker {
    const struct kiln_model *m;
    const void *const *in;
    void *const *want; /* single-threaded outputs; NULL: this is that run */
    void **out;
    double until; /* CLOCK_MONOTONIC seconds: the last run starts before this */
    long runs, mismatches;
    enum kiln_status st;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *work(void *arg)
{
    struct worker *w = arg;
    const struct kiln_program *p = &w->m->prog;
    void *arena = alloc_arena(p->arena_size);
    w->st = KILN_STATUS_OK;
    do {
        w->st = kiln_model_run(w->m, arena, w->in, w->out);
        w->runs++;
        for (uint32_t k = 0; w->want && k < p->n_outputs; k++)
            w->mismatches +=
                memcmp(w->out[k], w->want[k], p->tensors[p->outputs[k]].nbytes) != 0;
    } while (w->st == KILN_STATUS_OK && w->want && now_s() < w->until);
    free(arena);
    return NULL;
}

static void test_threads_stress(void **state)
{
    (void)state;
    static const char *names[] = {"tiny_resnet", "transformer_encoder", "lstm_seq",
                                  "detector_head"};
    enum { N_MODELS = sizeof names / sizeof names[0], N_THREADS = 8 };
    const char *ms = getenv("KILN_STRESS_MS");
    double secs = (ms ? atof(ms) : 1000.0) / 1000.0;
    struct fixture f[N_MODELS];
    struct kiln_model m[N_MODELS];
    struct worker one[N_MODELS], w[N_THREADS];
    for (int i = 0; i < N_MODELS; i++) {
        fixture_make(&f[i], names[i]);
        struct kiln_diag d;
        kiln_diag_clear(&d);
        assert_int_equal(kiln_model_load(f[i].bundle, f[i].len, &m[i], &d), KILN_STATUS_OK);
        one[i] = (struct worker){.m = &m[i], .in = f[i].ibufs, .out = alloc_outputs(&m[i].prog)};
        work(&one[i]);
        assert_int_equal(one[i].st, KILN_STATUS_OK);
    }
    double until = now_s() + secs;
    pthread_t t[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) {
        int k = i % N_MODELS;
        w[i] = (struct worker){.m = &m[k], .in = f[k].ibufs, .want = one[k].out,
                               .out = alloc_outputs(&m[k].prog), .until = until};
        assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    long runs = 0;
    for (int i = 0; i < N_THREADS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].st, KILN_STATUS_OK);
        assert_int_equal(w[i].mismatches, 0);
        assert_true(w[i].runs >= 1);
        runs += w[i].runs;
        free_outputs(&w[i].m->prog, w[i].out);
    }
    print_message("threads: %d threads, %d models, %ld runs in %.1f s, every output identical "
                  "to the single-threaded run\n",
                  N_THREADS, N_MODELS, runs, secs);
    for (int i = 0; i < N_MODELS; i++) {
        free_outputs(&m[i].prog, one[i].out);
        fixture_free(&f[i]);
    }
}

static void test_every_op_has_a_check(void **state)
{
    (void)state;
    for (uint32_t op = 0; op < KILN_OP_COUNT; op++)
        if (!kiln_validate_op_known(op))
            fail_msg("op %s has no check in runtime/checks/", kiln_op_name(op));
    assert_false(kiln_validate_op_known(KILN_OP_COUNT));
}

/* ---- targeted corruptions of the checks for the newer ops ---- */

/* Builds the bundle of a lowered one-node graph into e (the node is the program's first). */
static void editable_of_graph(struct editable *e, struct tg *t, struct kiln_compiled **c)
{
    assert_int_equal(tg_infer(t), KILN_STATUS_OK);
    assert_int_equal(kiln_lower(t->g, c, &t->d), KILN_STATUS_OK);
    struct fixture f = {0};
    void *b;
    assert_int_equal(kiln_bundle_build(&(*c)->prog, NULL, &b, &f.len, &t->d), KILN_STATUS_OK);
    f.bundle = b;
    editable_make(e, &f);
    free(b);
}

static void expect_refused(struct editable *e, const char *want)
{
    char msg[1024];
    enum kiln_status st = reload(e, msg, sizeof msg);
    if (st == KILN_STATUS_OK || !strstr(msg, want))
        fail_msg("status %d, message '%s' (want '%s')", st, msg, want);
}

/* A Conv the direct depthwise kernel runs reads its weight as written; a bundle that asks for
 * the packed variant of such a node is refused (the kernel would read the plain layout). */
static void test_refuse_packed_depthwise(void **state)
{
    (void)state;
    struct fixture f;
    fixture_make(&f, "dw_cnn_hardswish");
    const struct kiln_program *p = &f.c->prog;
    uint32_t dw = UINT32_MAX;
    for (uint32_t i = 0; i < p->n_nodes && dw == UINT32_MAX; i++) {
        const struct kiln_node_desc *n = &p->nodes[i];
        const struct kiln_p_conv *cp = (const void *)(p->params + n->params_offset);
        if (n->op == op_id("Conv") && cp->group > 1 &&
            p->tensors[p->io[n->io_first + 1]].dims[1] == 1)
            dw = i;
    }
    assert_true(dw != UINT32_MAX);
    struct editable e;
    editable_make(&e, &f);
    e.nodes[dw].variant = (uint16_t)(e.nodes[dw].variant + 2); /* KILN_GEMM_VARIANT_PACKED */
    expect_refused(&e, "read unpacked");
    free(e.b);
    fixture_free(&f);
}

static void test_corrupt_new_ops(void **state)
{
    (void)state;
    char msg[1024];
    /* LSTM: a hidden size that W and R do not have; an unknown gate activation */
    struct fixture f;
    fixture_make(&f, "lstm_seq");
    const struct kiln_program *p = &f.c->prog;
    uint32_t lstm = UINT32_MAX;
    for (uint32_t i = 0; i < p->n_nodes; i++)
        if (p->nodes[i].op == op_id("LSTM"))
            lstm = i;
    assert_true(lstm != UINT32_MAX);
    for (int c = 0; c < 2; c++) {
        struct editable e;
        editable_make(&e, &f);
        assert_int_equal(reload(&e, msg, sizeof msg), KILN_STATUS_OK);
        struct kiln_p_rnn *rp = (void *)(e.params + e.nodes[lstm].params_offset);
        if (c == 0)
            rp->hidden_size += 1;
        else
            rp->act[1].kind = 99;
        expect_refused(&e, c == 0 ? "the kernel uses" : "activation");
        free(e.b);
    }
    fixture_free(&f);

    /* TopK: k larger than the axis */
    struct tg *t = tg_new("TopK", 11, 2, 2);
    int64_t xd[2] = {2, 5}, k = 3;
    tg_input(t, 0, KILN_DTYPE_F32, 2, xd);
    tg_i64s(t, 1, 1, &k);
    struct kiln_compiled *c = NULL;
    struct editable e;
    editable_of_graph(&e, t, &c);
    assert_int_equal(reload(&e, msg, sizeof msg), KILN_STATUS_OK);
    ((struct kiln_p_topk *)(void *)(e.params + e.nodes[0].params_offset))->k = 6;
    expect_refused(&e, "k 6");
    free(e.b);
    kiln_compiled_free(c);
    tg_free(t);

    /* GatherND: indices reshaped from [2, 2] (depth 2) to [4, 1] (depth 1, same bytes) select
     * more than the output holds */
    t = tg_new("GatherND", 13, 2, 1);
    int64_t dd[2] = {2, 3}, id[2] = {2, 2}, ind[4] = {0, 1, 1, 2};
    tg_input(t, 0, KILN_DTYPE_F32, 2, dd);
    tg_input(t, 1, KILN_DTYPE_I64, 2, id);
    editable_of_graph(&e, t, &c);
    (void)ind;
    assert_int_equal(reload(&e, msg, sizeof msg), KILN_STATUS_OK);
    struct kiln_tensor_desc *it = &e.tensors[e.io[e.nodes[0].io_first + 1]];
    it->dims[0] = 4, it->dims[1] = 1;
    expect_refused(&e, "output has");
    free(e.b);
    kiln_compiled_free(c);
    tg_free(t);
}

/* ---- load-time checks of the losses, TfIdfVectorizer, DFT, STFT and Det ---- */

/* One corruption of a one-node program: edit case c of node n (params p); sets *want to the
 * text the refusal must contain, or leaves it NULL when there are no more cases. */
typedef void edit_fn(struct editable *e, struct kiln_node_desc *n, void *p, int c,
                     const char **want);

/* The graph's bundle loads as written, each edit of it is refused with its message, and no
 * single-bit flip makes it leave its buffers. */
static void refuse_edits(struct tg *t, edit_fn *edit)
{
    struct kiln_compiled *c = NULL;
    struct editable e;
    char msg[1024];
    editable_of_graph(&e, t, &c);
    if (reload(&e, msg, sizeof msg) != KILN_STATUS_OK)
        fail_msg("the unedited bundle is refused: %s", msg);
    uint8_t *orig = malloc(e.len);
    memcpy(orig, e.b, e.len);
    for (int k = 0;; k++) {
        const char *want = NULL;
        memcpy(e.b, orig, e.len);
        edit(&e, &e.nodes[0], e.params + e.nodes[0].params_offset, k, &want);
        if (!want)
            break;
        enum kiln_status st = reload(&e, msg, sizeof msg);
        if (st == KILN_STATUS_OK || !strstr(msg, want))
            fail_msg("%s edit %d: status %d, message '%s' (want '%s')", t->n->op_type, k, st,
                     msg, want);
    }
    /* every bit 0 and 7 flipped behind a valid checksum: refused, or runs inside its buffers
     * (on zero inputs; KILN_SANITIZE builds check the buffers) */
    static const uint8_t none[1];
    const void *ibufs[8] = {none, none, none, none, none, none, none, none};
    uint64_t have[8] = {0};
    int ran = 0, refused = 0;
    for (size_t i = 0; i < e.len; i++)
        for (int bit = 0; bit < 8 && (i < 24 || i >= 28); bit += 7) {
            memcpy(e.b, orig, e.len);
            e.b[i] ^= (uint8_t)(1u << bit);
            reseal(e.b, e.len);
            if (load_and_run_with(e.b, e.len, 8, ibufs, have))
                ran++;
            else
                refused++;
        }
    assert_true(ran > 0 && refused > 0);
    free(orig);
    free(e.b);
    kiln_compiled_free(c);
    tg_free(t);
}

/* Tensor j of node n (inputs, then outputs). */
static struct kiln_tensor_desc *node_tensor(struct editable *e, struct kiln_node_desc *n,
                                            uint32_t j)
{
    return &e->tensors[e->io[n->io_first + j]];
}

/* Gives tensor t the shape d0 x d1 (rank 2) keeping its element count. */
static void reshape2(struct kiln_tensor_desc *t, int64_t d0, int64_t d1)
{
    t->rank = 2, t->dims[0] = d0, t->dims[1] = d1, t->dims[2] = 0;
}

static void edit_nll(struct editable *e, struct kiln_node_desc *n, void *pp, int c,
                     const char **want)
{
    struct kiln_p_loss *p = pp;
    struct kiln_tensor_desc *tgt = node_tensor(e, n, 1), *w = node_tensor(e, n, 2);
    switch (c) {
    case 0: p->c = 4; *want = "are not [2, 4, 2]"; break;
    case 1: p->reduction = 3; *want = "reduction 3"; break;
    case 2: p->n = -1; *want = "[n -1"; break;
    case 3: p->has_ignore = 2; *want = "or reduction"; break;
    case 4: tgt->dtype = KILN_DTYPE_F64; *want = "int32/int64 target"; break; /* same bytes */
    case 5: w->dims[0] = 2, w->nbytes = 8; *want = "weight needs 3"; break;
    case 6: p->reduction = KILN_LOSS_NONE; *want = "output has 1 elements"; break;
    case 7: w->dtype = KILN_DTYPE_I32; *want = "type"; break;
    }
}

static void edit_sce(struct editable *e, struct kiln_node_desc *n, void *pp, int c,
                     const char **want)
{
    struct kiln_p_loss *p = pp;
    (void)e;
    switch (c) {
    case 0: n->scratch_size = 8; *want = "scratch"; break;
    case 1: p->n = 3, p->c = 2; *want = "are not"; break;
    case 2: p->reduction = -1; *want = "reduction -1"; break;
    }
}

static void edit_sce_log_prob(struct editable *e, struct kiln_node_desc *n, void *pp, int c,
                              const char **want)
{
    (void)pp;
    switch (c) {
    case 0: reshape2(node_tensor(e, n, 3), 3, 2); *want = "log_prob"; break;
    case 1: node_tensor(e, n, 3)->dtype = KILN_DTYPE_I32; *want = "type"; break;
    }
}

/* pool {3, 5, 3, 5, 5, 5}: n-grams {0, 1, col 3}, {1, 1, col 0}, {2, 2, col 1}, {4, 2, col 2} */
static void edit_tfidf(struct editable *e, struct kiln_node_desc *n, void *pp, int c,
                       const char **want)
{
    struct kiln_p_tfidf *p = pp;
    int64_t *gram = (int64_t *)(void *)(p + 1) + p->pool_len;
    (void)e;
    switch (c) {
    case 0: p->pool_len += 1; *want = "a pool of 7 with 4 n-grams"; break;
    case 1: p->n_grams = (int64_t)1 << 40; *want = "n-grams in 232 bytes"; break;
    case 2: p->n_grams = -1; *want = "n-grams in"; break;
    case 3: n->params_size -= 8; *want = "n-grams in 224 bytes"; break;
    case 4: n->params_size = 40; *want = "params of 40 bytes"; break;
    case 5: gram[3 * 3 + 2] = 4; *want = "n-gram 3: pool[4] + 2 or column 4"; break;
    case 6: gram[3 * 2 + 1] = 5; *want = "n-gram 2: pool[2] + 5"; break;
    case 7: gram[0] = -1; *want = "n-gram 0: pool[-1]"; break;
    case 8: gram[3 * 3] = 7; *want = "n-gram 3: pool[7]"; break;
    case 9: gram[3 * 1 + 1] = 0; *want = "n-gram 1"; break;
    case 10: p->rows = 2; *want = "tokens"; break;
    case 11: p->cols = 5; *want = "float32 outputs"; break;
    case 12: p->mode = 3; *want = "mode 3"; break;
    case 13: p->min_len = 0; *want = "lengths 0..2"; break;
    case 14: p->max_skip = -1; *want = "skip -1"; break;
    case 15: node_tensor(e, n, 0)->dtype = KILN_DTYPE_F64; *want = "int32/int64 tokens"; break;
    }
}

static void edit_dft(struct editable *e, struct kiln_node_desc *n, void *pp, int c,
                     const char **want)
{
    struct kiln_p_dft *p = pp;
    switch (c) {
    case 0: p->n = 0; *want = "0 points"; break;
    case 1: p->bins = p->n + 1; *want = "5 bins"; break;
    case 2: n->scratch_size -= 8; *want = "scratch"; break;
    case 3: p->len = 5; *want = "the input (8 elements)"; break;
    case 4: p->inner = 2; *want = "output (8) is not [1, 4 or 4, 2,"; break;
    case 5: p->complex_in = 2; *want = "flags"; break;
    case 6: p->n = INT64_MAX; *want = "points"; break;
    case 7: node_tensor(e, n, 1)->dtype = KILN_DTYPE_I32; *want = "type"; break;
    }
}

/* signal [1, 8, 1], frame_step 2 (constant: omitted), window [4]: 3 frames of 3 bins */
static void edit_stft(struct editable *e, struct kiln_node_desc *n, void *pp, int c,
                      const char **want)
{
    struct kiln_p_stft *p = pp;
    struct kiln_tensor_desc *w = node_tensor(e, n, 2);
    switch (c) {
    case 0: p->step = 3; *want = "3 frames of 4 samples every 3"; break;
    case 1: p->frame_length = 9; *want = "samples every"; break;
    case 2: p->step = 0; *want = "every 0"; break;
    case 3: p->bins = 5; *want = "5 bins"; break;
    case 4: w->dims[0] = 3, w->nbytes = 12; *want = "window must have 4"; break;
    case 5: e->io[n->io_first + 2] = 0; *want = "window must have 4"; break; /* omitted */
    case 6: n->scratch_size = 8; *want = "scratch"; break;
    case 7: p->batch = 2; *want = "the signal (8 elements)"; break;
    case 8: p->bins = 2; *want = "output (18)"; break;
    case 9: p->has_window = 3; *want = "frames of"; break;
    case 10: w->dtype = KILN_DTYPE_I32; *want = "type"; break;
    }
}

static void edit_det(struct editable *e, struct kiln_node_desc *n, void *pp, int c,
                     const char **want)
{
    struct kiln_tensor_desc *x = node_tensor(e, n, 0), *y = node_tensor(e, n, 1);
    (void)pp;
    switch (c) {
    case 0: x->dims[0] = 3, x->dims[2] = 2; *want = "[..., M, M]"; break; /* [3, 3, 2] */
    case 1: n->scratch_size = 64; *want = "scratch"; break;
    case 2: y->dims[0] = 1, y->nbytes = 4; *want = "output axis 0"; break;
    case 3: reshape2(y, 2, 1); *want = "[..., M, M]"; break;
    case 4: y->dtype = KILN_DTYPE_I32; *want = "type"; break;
    case 5: x->rank = 1, x->dims[0] = 18, x->dims[1] = x->dims[2] = 0; *want = "M, M"; break;
    }
}

static void test_corrupt_extra_ops(void **state)
{
    (void)state;
    /* NegativeLogLikelihoodLoss: x [2, 3, 2], target [2, 2], weight [3], mean */
    struct tg *t = tg_new("NegativeLogLikelihoodLoss", 13, 3, 1);
    tg_input(t, 0, KILN_DTYPE_F32, 3, (int64_t[]){2, 3, 2});
    tg_input(t, 1, KILN_DTYPE_I64, 2, (int64_t[]){2, 2});
    tg_input(t, 2, KILN_DTYPE_F32, 1, (int64_t[]){3});
    refuse_edits(t, edit_nll);
    /* SoftmaxCrossEntropyLoss: x [2, 3], labels [2]; log-probabilities in scratch, or output */
    t = tg_new("SoftmaxCrossEntropyLoss", 13, 2, 1);
    tg_input(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){2, 3});
    tg_input(t, 1, KILN_DTYPE_I32, 1, (int64_t[]){2});
    refuse_edits(t, edit_sce);
    t = tg_new("SoftmaxCrossEntropyLoss", 13, 2, 2);
    tg_input(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){2, 3});
    tg_input(t, 1, KILN_DTYPE_I64, 1, (int64_t[]){2});
    refuse_edits(t, edit_sce_log_prob);
    /* TfIdfVectorizer over [6] tokens, 4 n-grams into 4 columns */
    static const int64_t counts[] = {0, 2}, idx[] = {3, 0, 1, 2}, pool[] = {3, 5, 3, 5, 5, 5};
    t = tg_new("TfIdfVectorizer", 9, 1, 1);
    tg_input(t, 0, KILN_DTYPE_I64, 1, (int64_t[]){6});
    tg_str(t, "mode", "TFIDF");
    tg_int(t, "min_gram_length", 1);
    tg_int(t, "max_gram_length", 2);
    tg_int(t, "max_skip_count", 1);
    tg_ints(t, "ngram_counts", 2, counts);
    tg_ints(t, "ngram_indexes", 4, idx);
    tg_ints(t, "pool_int64s", 6, pool);
    refuse_edits(t, edit_tfidf);
    /* DFT of [1, 4, 2] (complex) along axis 1: [1, 4, 2] */
    t = tg_new("DFT", 17, 1, 1);
    tg_input(t, 0, KILN_DTYPE_F32, 3, (int64_t[]){1, 4, 2});
    refuse_edits(t, edit_dft);
    /* STFT */
    int64_t step = 2;
    t = tg_new("STFT", 17, 3, 1);
    tg_input(t, 0, KILN_DTYPE_F32, 3, (int64_t[]){1, 8, 1});
    tg_const(t, 1, KILN_DTYPE_I64, 0, NULL, &step);
    tg_input(t, 2, KILN_DTYPE_F32, 1, (int64_t[]){4});
    refuse_edits(t, edit_stft);
    /* Det of [2, 3, 3] */
    t = tg_new("Det", 11, 1, 1);
    tg_input(t, 0, KILN_DTYPE_F32, 3, (int64_t[]){2, 3, 3});
    refuse_edits(t, edit_det);
}

/* ---- blocks: a hand-built program with a Loop and one with an If ---- */

struct hand {
    struct kiln_tensor_desc tensors[16];
    struct kiln_node_desc nodes[4];
    struct kiln_block_desc blocks[4];
    uint32_t io[32], inputs[1], outputs[1];
    uint64_t params[16];
    _Alignas(64) uint8_t weights[128];
    struct kiln_program p;
};

static uint32_t variant_for(uint32_t op, int dtype)
{
    for (uint32_t v = 0; v < kiln_rt_kernel_count(op); v++)
        if (kiln_rt_kernel(op, v)->dtype == dtype)
            return v;
    return UINT32_MAX;
}

static void hand_tensor(struct hand *h, uint32_t i, int dtype, int rank, int64_t d0, int storage,
                        uint64_t off)
{
    struct kiln_tensor_desc *t = &h->tensors[i];
    memset(t, 0, sizeof *t);
    t->dtype = (uint8_t)dtype, t->rank = (uint8_t)rank, t->storage = (uint8_t)storage;
    t->dims[0] = rank ? d0 : 0;
    t->offset = off;
    t->nbytes = (uint64_t)(rank ? d0 : 1) * kiln_dtype_size(dtype);
}

static void hand_program(struct hand *h, uint32_t n_tensors, uint32_t n_nodes,
                         uint32_t n_block_nodes, uint32_t n_blocks, uint64_t arena)
{
    h->p = (struct kiln_program){
        .n_tensors = n_tensors, .n_nodes = n_nodes, .n_inputs = 1, .n_outputs = 1,
        .tensors = h->tensors, .nodes = h->nodes, .io = h->io, .inputs = h->inputs,
        .outputs = h->outputs, .params = (const uint8_t *)h->params,
        .params_size = sizeof h->params, .weights = h->weights, .weights_size = sizeof h->weights,
        .strings = "", .strings_size = 1, .arena_size = arena, .n_blocks = n_blocks,
        .n_block_nodes = n_block_nodes, .blocks = h->blocks};
}

/* y = x + 1 three times: Loop(M = 3, cond omitted, x) with body (i, cond, v) -> (cond, v + 1). */
static void hand_loop(struct hand *h)
{
    memset(h, 0, sizeof *h);
    hand_tensor(h, 1, KILN_DTYPE_F32, 1, 2, KILN_STORAGE_INPUT, 0);     /* x */
    hand_tensor(h, 2, KILN_DTYPE_I64, 0, 0, KILN_STORAGE_WEIGHT, 0);    /* M */
    hand_tensor(h, 3, KILN_DTYPE_F32, 1, 2, KILN_STORAGE_OUTPUT, 0);    /* y */
    hand_tensor(h, 4, KILN_DTYPE_I64, 0, 0, KILN_STORAGE_ARENA, 0);     /* body i */
    hand_tensor(h, 5, KILN_DTYPE_BOOL, 0, 0, KILN_STORAGE_ARENA, 8);    /* body cond */
    hand_tensor(h, 6, KILN_DTYPE_F32, 1, 2, KILN_STORAGE_ARENA, 16);    /* body v */
    hand_tensor(h, 7, KILN_DTYPE_F32, 1, 2, KILN_STORAGE_ARENA, 32);    /* body v + 1 */
    hand_tensor(h, 8, KILN_DTYPE_F32, 1, 2, KILN_STORAGE_WEIGHT, 64);   /* ones */
    int64_t three = 3;
    float ones[2] = {1, 1};
    memcpy(h->weights, &three, 8);
    memcpy(h->weights + 64, ones, 8);
    struct kiln_p_loop lp = {.body = 0, .n_carried = 1, .n_scan = 0, .max_trip = -1};
    memcpy(h->params, &lp, sizeof lp); /* 24 bytes; the Add params follow at 24 */
    uint32_t io[] = {2, 0, 1, 3, /* Loop */ 6, 8, 7, /* Add */ 4, 5, 6, 5, 7 /* body io */};
    memcpy(h->io, io, sizeof io);
    h->nodes[0] = (struct kiln_node_desc){.op = (uint16_t)op_id("Loop"), .n_in = 3, .n_out = 1,
                                          .io_first = 0, .params_size = sizeof lp};
    h->nodes[1] = (struct kiln_node_desc){
        .op = (uint16_t)op_id("Add"), .variant = (uint16_t)variant_for(op_id("Add"), 1),
        .n_in = 2, .n_out = 1, .io_first = 4, .params_offset = 24,
        .params_size = sizeof(struct kiln_p_binary)};
    h->blocks[0] = (struct kiln_block_desc){.first_node = 1, .n_nodes = 1, .io_first = 7,
                                            .n_in = 3, .n_out = 2};
    h->inputs[0] = 1, h->outputs[0] = 3;
    hand_program(h, 9, 1, 1, 1, 64);
}

/* y = c ? a : b with two node-less branches that output the weights a = 5, b = 7. */
static void hand_if(struct hand *h)
{
    memset(h, 0, sizeof *h);
    hand_tensor(h, 1, KILN_DTYPE_BOOL, 0, 0, KILN_STORAGE_INPUT, 0);   /* c */
    hand_tensor(h, 2, KILN_DTYPE_F32, 1, 1, KILN_STORAGE_OUTPUT, 0);   /* y */
    hand_tensor(h, 3, KILN_DTYPE_F32, 1, 1, KILN_STORAGE_WEIGHT, 0);   /* a */
    hand_tensor(h, 4, KILN_DTYPE_F32, 1, 1, KILN_STORAGE_WEIGHT, 64);  /* b */
    hand_tensor(h, 5, KILN_DTYPE_F32, 1, 1, KILN_STORAGE_ARENA, 0);    /* t */
    float a = 5, b = 7;
    memcpy(h->weights, &a, 4);
    memcpy(h->weights + 64, &b, 4);
    struct kiln_p_if ip = {0, 1};
    memcpy(h->params, &ip, sizeof ip);
    uint32_t io[] = {1, 2, /* If */ 3, 4, /* branch outputs */ 1, 5 /* spare If */};
    memcpy(h->io, io, sizeof io);
    h->nodes[0] = (struct kiln_node_desc){.op = (uint16_t)op_id("If"), .n_in = 1, .n_out = 1,
                                          .params_size = sizeof ip};
    h->nodes[1] = h->nodes[0]; /* only used by the corruptions: an If inside a block */
    h->nodes[1].io_first = 4;
    h->blocks[0] = (struct kiln_block_desc){.first_node = 1, .n_nodes = 0, .io_first = 2,
                                            .n_out = 1};
    h->blocks[1] = (struct kiln_block_desc){.first_node = 1, .n_nodes = 0, .io_first = 3,
                                            .n_out = 1};
    h->inputs[0] = 1, h->outputs[0] = 2;
    hand_program(h, 6, 1, 1, 2, 64);
}

static enum kiln_status validate_msg(const struct kiln_program *p, char *msg, size_t size)
{
    struct kiln_diag d;
    kiln_diag_clear(&d);
    enum kiln_status st = kiln_program_validate(p, 12, &d);
    snprintf(msg, size, "%s", d.message);
    return st;
}

static void test_blocks(void **state)
{
    (void)state;
    static struct hand h;
    char msg[1024];
    float x[2] = {1.5f, -2}, y[2] = {0, 0};
    void *arena = alloc_arena(64);
    const void *in[1] = {x};
    void *out[1] = {y};
    hand_loop(&h);
    assert_int_equal(validate_msg(&h.p, msg, sizeof msg), KILN_STATUS_OK);
    assert_int_equal(kiln_run(&h.p, arena, in, out), KILN_STATUS_OK);
    assert_true(y[0] == 4.5f && y[1] == 1);
    /* through a bundle: the BLOCKS section maps back to the same program */
    void *bb;
    size_t len;
    struct kiln_diag d;
    kiln_diag_clear(&d);
    assert_int_equal(kiln_bundle_build(&h.p, NULL, &bb, &len, &d), KILN_STATUS_OK);
    struct kiln_model m;
    assert_int_equal(kiln_model_load(bb, len, &m, &d), KILN_STATUS_OK);
    assert_int_equal(m.prog.n_nodes, 1);
    assert_int_equal(m.prog.n_block_nodes, 1);
    assert_int_equal(m.prog.n_blocks, 1);
    y[0] = y[1] = 0;
    assert_int_equal(kiln_model_run(&m, arena, in, out), KILN_STATUS_OK);
    assert_true(y[0] == 4.5f && y[1] == 1);
    /* every byte flip behind a valid checksum is refused or runs inside its buffers */
    uint8_t *b = aligned_alloc(64, (len + 63) / 64 * 64);
    uint64_t have = sizeof x;
    int refused = 0;
    const struct kiln_bundle_section *ws = section(bb, KILN_SECTION_WEIGHTS);
    uint64_t trip =
        section(bb, KILN_SECTION_PARAMS)->offset + offsetof(struct kiln_p_loop, max_trip);
    for (size_t i = 0; i < len; i++) {
        if ((i >= 24 && i < 28) || (i >= ws->offset && i < ws->offset + ws->size) ||
            (i >= trip && i < trip + 8))
            continue; /* the checksum; trip counts (M, max_trip): flipped, they only loop long */
        memcpy(b, bb, len);
        b[i] ^= 0x81;
        reseal(b, len);
        refused += !load_and_run_with(b, len, 1, in, &have);
    }
    assert_true(refused > 0);
    free(b);
    free(bb);
    /* corruptions of the program: each refused with its message */
    for (int c = 0; c < 8; c++) {
        const char *want = NULL;
        hand_loop(&h);
        struct kiln_p_loop *lp = (void *)h.params;
        switch (c) {
        case 0: h.blocks[0].n_in = 2, h.blocks[0].io_first = 8; want = "inputs"; break;
        case 1: lp->body = 1; want = "block 1 of 1"; break;
        case 2: h.blocks[0].first_node = 0; want = "block 0: nodes"; break;
        case 3: h.blocks[0].n_nodes = 2; want = "block 0: nodes"; break;
        case 4: h.io[10] = 4; want = "condition"; break; /* body outputs an int64 condition */
        case 5: h.tensors[6].storage = KILN_STORAGE_WEIGHT; want = "read-only"; break;
        case 6: lp->n_scan = 1; want = "scan"; break;
        case 7: h.io[9] = 99; want = "tensor index"; break;
        }
        enum kiln_status st = validate_msg(&h.p, msg, sizeof msg);
        if (st == KILN_STATUS_OK || !strstr(msg, want))
            fail_msg("loop corruption %d: status %d, message '%s' (want '%s')", c, st, msg, want);
    }
    /* If: both branches; then recursion and a block run twice */
    uint8_t cond = 1;
    float r = 0;
    const void *cin[1] = {&cond};
    void *rout[1] = {&r};
    hand_if(&h);
    h.p.n_block_nodes = 0;
    assert_int_equal(validate_msg(&h.p, msg, sizeof msg), KILN_STATUS_OK);
    assert_int_equal(kiln_run(&h.p, arena, cin, rout), KILN_STATUS_OK);
    assert_true(r == 5);
    cond = 0;
    assert_int_equal(kiln_run(&h.p, arena, cin, rout), KILN_STATUS_OK);
    assert_true(r == 7);
    for (int c = 0; c < 3; c++) {
        const char *want = NULL;
        hand_if(&h); /* node 1 (an If writing t) is block 0's only node */
        h.blocks[0].n_nodes = 1;
        struct kiln_p_if *ip = (void *)h.params;
        switch (c) {
        case 0: /* node 1 runs blocks 2 and 2 ... */
            h.nodes[1].params_offset = 8;
            ((struct kiln_p_if *)(void *)((uint8_t *)h.params + 8))->then_block = 0;
            ((struct kiln_p_if *)(void *)((uint8_t *)h.params + 8))->else_block = 1;
            want = "run by nodes";
            break;
        case 1: /* the main If runs only block 1; block 0 contains a node running itself */
            ip->then_block = 1;
            h.nodes[1].params_offset = 8;
            ((struct kiln_p_if *)(void *)((uint8_t *)h.params + 8))->then_block = 0;
            ((struct kiln_p_if *)(void *)((uint8_t *)h.params + 8))->else_block = 0;
            want = "runs itself";
            break;
        case 2: h.blocks[1].first_node = 1, h.blocks[1].n_nodes = 1; want = "share nodes"; break;
        }
        enum kiln_status st = validate_msg(&h.p, msg, sizeof msg);
        if (st == KILN_STATUS_OK || !strstr(msg, want))
            fail_msg("if corruption %d: status %d, message '%s' (want '%s')", c, st, msg, want);
    }
    free(arena);
}

/* A node of 102 tensors (an If capturing 100 outer values; Sum and Max of 100 in its
 * branches): the interpreter's views go to arena space reserved at load, not stored in the
 * bundle; load and run allocate nothing and match the in-memory program in both branches. */
static void test_many_tensors(void **state)
{
    (void)state;
    struct kiln_ir_graph *g;
    struct kiln_compiled *c;
    struct kiln_diag d;
    kiln_diag_clear(&d);
    assert_int_equal(kiln_onnx_load(KILN_CONTROL_DIR "/if_capture100.onnx", NULL, &g, &d),
                     KILN_STATUS_OK);
    assert_int_equal(kiln_infer(g, &d), KILN_STATUS_OK);
    assert_int_equal(kiln_lower(g, &c, &d), KILN_STATUS_OK);
    const struct kiln_program *p = &c->prog;
    assert_true(p->views_offset > 0 && p->views_per_level == 102 && p->view_levels == 2);
    assert_int_equal(p->arena_size, p->views_offset + 2 * 102 * sizeof(struct kiln_tensor));
    void *bb;
    size_t len;
    assert_int_equal(kiln_bundle_build(p, &c->plan, &bb, &len, &d), KILN_STATUS_OK);
    assert_int_equal(section(bb, KILN_SECTION_PLAN)->size, sizeof(struct kiln_bundle_plan));
    const struct kiln_bundle_plan *plan =
        (const void *)((const uint8_t *)bb + section(bb, KILN_SECTION_PLAN)->offset);
    assert_int_equal(plan->arena_size, p->views_offset);
    struct kiln_model m;
    n_allocs = 0;
    __atomic_store_n(&counting, 1, __ATOMIC_SEQ_CST);
    enum kiln_status st = kiln_model_load(bb, len, &m, &d);
    __atomic_store_n(&counting, 0, __ATOMIC_SEQ_CST);
    assert_int_equal(st, KILN_STATUS_OK);
    assert_int_equal(kiln_model_arena_size(&m), p->arena_size);
    void *arena = alloc_arena(p->arena_size);
    float x[4] = {0.5f, -1.25f, 2, 3.5f}, want[4], got[4];
    for (uint8_t cond = 0; cond < 2; cond++) {
        const void *in[2] = {&cond, x};
        void *out[1] = {want};
        assert_int_equal(kiln_run(p, arena, in, out), KILN_STATUS_OK);
        out[0] = got;
        __atomic_store_n(&counting, 1, __ATOMIC_SEQ_CST);
        st = kiln_model_run(&m, arena, in, out);
        __atomic_store_n(&counting, 0, __ATOMIC_SEQ_CST);
        assert_int_equal(st, KILN_STATUS_OK);
        assert_memory_equal(got, want, sizeof got);
    }
    assert_int_equal(n_allocs, 0);
    /* a program whose producer did not reserve the views is refused at run time */
    struct kiln_program bare = *p;
    bare.views_offset = 0;
    const void *in[2] = {&(uint8_t){1}, x};
    void *out[1] = {got};
    assert_int_equal(kiln_run(&bare, arena, in, out), KILN_STATUS_INTERNAL);
    free(arena);
    free(bb);
    kiln_compiled_free(c);
    kiln_ir_graph_free(g);
}

static void test_crc32_known_value(void **state)
{
    (void)state;
    assert_int_equal(kiln_crc32(0, "123456789", 9), 0xcbf43926u); /* the CRC-32 check value */
    assert_int_equal(kiln_crc32(kiln_crc32(0, "1234", 4), "56789", 5), 0xcbf43926u);
}

/* Both implementations (the PCLMULQDQ one falls back to the table without the instruction)
 * against the definition, bit by bit, over every length up to 300 at 16 alignments, chained
 * in pieces, and over a long buffer. */
static uint32_t crc32_bitwise(uint32_t crc, const uint8_t *b, size_t n)
{
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc ^= b[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
    }
    return ~crc;
}

static void test_crc32_paths(void **state)
{
    (void)state;
    size_t big = 100000;
    uint8_t *buf = malloc(big + 16);
    for (size_t i = 0; i < big + 16; i++)
        buf[i] = (uint8_t)((i * 2654435761u) >> 13);
    for (size_t off = 0; off < 16; off++)
        for (size_t n = 0; n <= 300; n++) {
            uint32_t want = crc32_bitwise(0x12345678u, buf + off, n);
            assert_int_equal(kiln_crc32_portable(0x12345678u, buf + off, n), want);
            assert_int_equal(kiln_crc32_clmul(0x12345678u, buf + off, n), want);
            assert_int_equal(kiln_crc32(0x12345678u, buf + off, n), want);
        }
    uint32_t want = crc32_bitwise(0, buf + 3, big);
    assert_int_equal(kiln_crc32_portable(0, buf + 3, big), want);
    assert_int_equal(kiln_crc32_clmul(0, buf + 3, big), want);
    uint32_t part = kiln_crc32_clmul(0, buf + 3, 777);
    assert_int_equal(kiln_crc32_clmul(part, buf + 3 + 777, big - 777), want);
    print_message("crc32: PCLMULQDQ path %s on this CPU\n",
                  kiln_crc32_clmul_supported() ? "used" : "not available");
    free(buf);
}

/* kiln_model_map: a bundle file runs as the buffer does; a missing, empty or corrupt file is
 * refused with the file named and nothing left mapped. */
static void test_model_map(void **state)
{
    (void)state;
    struct fixture f;
    fixture_make(&f, "tiny_resnet");
    char path[] = "/tmp/kiln_test_map_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *fp = fdopen(fd, "wb");
    assert_int_equal(fwrite(f.bundle, 1, f.len, fp), f.len);
    fclose(fp);
    struct kiln_model m;
    struct kiln_diag d;
    kiln_diag_clear(&d);
    assert_int_equal(kiln_model_map(path, &m, &d), KILN_STATUS_OK);
    assert_int_equal(m.size, f.len);
    const struct kiln_program *p = &f.c->prog;
    void *arena = alloc_arena(m.prog.arena_size), *arena2 = alloc_arena(p->arena_size);
    void **out = alloc_outputs(p), **want = alloc_outputs(p);
    assert_int_equal(kiln_model_run(&m, arena, f.ibufs, out), KILN_STATUS_OK);
    assert_int_equal(kiln_run(p, arena2, f.ibufs, want), KILN_STATUS_OK);
    for (uint32_t k = 0; k < p->n_outputs; k++)
        assert_memory_equal(out[k], want[k], p->tensors[p->outputs[k]].nbytes);
    kiln_model_unmap(&m);
    assert_null(m.base);
    kiln_model_unmap(&m); /* a zeroed model is left alone */

    /* one flipped weight byte: the checksum refuses it, with the file named */
    fp = fopen(path, "r+b");
    assert_int_equal(fseek(fp, (long)f.len - 1, SEEK_SET), 0);
    fputc(f.bundle[f.len - 1] ^ 1, fp);
    fclose(fp);
    kiln_diag_clear(&d);
    assert_int_equal(kiln_model_map(path, &m, &d), KILN_STATUS_PARSE);
    assert_string_equal(d.file, path);
    assert_non_null(strstr(d.message, "checksum"));
    assert_null(m.base);
    /* empty */
    fp = fopen(path, "wb");
    fclose(fp);
    kiln_diag_clear(&d);
    assert_int_equal(kiln_model_map(path, &m, &d), KILN_STATUS_PARSE);
    unlink(path);
    kiln_diag_clear(&d);
    assert_int_equal(kiln_model_map(path, &m, &d), KILN_STATUS_IO);
    assert_string_equal(d.file, path);
    assert_non_null(strstr(d.message, "cannot open"));
    free_outputs(p, out);
    free_outputs(p, want);
    free(arena);
    free(arena2);
    fixture_free(&f);
}

int main(void)
{
    /* KILN_TEST_FILTER=NAME runs only the tests matching NAME (the TSan run of the stress) */
    if (getenv("KILN_TEST_FILTER"))
        cmocka_set_test_filter(getenv("KILN_TEST_FILTER"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32_known_value),
        cmocka_unit_test(test_crc32_paths),
        cmocka_unit_test(test_model_map),
        cmocka_unit_test(test_every_op_has_a_check),
        cmocka_unit_test(test_round_trip_models),
        cmocka_unit_test(test_flip_every_byte),
        cmocka_unit_test(test_truncate_every_length),
        cmocka_unit_test(test_flip_resealed_mlp),
        cmocka_unit_test(test_flip_resealed_cnn),
        cmocka_unit_test(test_corrupt_with_valid_checksum),
        cmocka_unit_test(test_versions_and_sections),
        cmocka_unit_test(test_no_allocation),
        cmocka_unit_test(test_threads_stress),
        cmocka_unit_test(test_corrupt_new_ops),
        cmocka_unit_test(test_refuse_packed_depthwise),
        cmocka_unit_test(test_corrupt_extra_ops),
        cmocka_unit_test(test_blocks),
        cmocka_unit_test(test_many_tensors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
