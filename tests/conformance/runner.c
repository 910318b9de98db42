/* runner.c - kiln-conformance: runs ONNX backend test folders unchanged (model.onnx and
 * test_data_set_N/{input,output}_K.pb) through import, inference, lowering and the
 * interpreter, and compares with the ONNX runner's tolerances (floats: |a-b| <= atol + rtol|b|,
 * rtol 1e-3, atol 1e-7; integers and bool exact). Prints a line per failure and per skip with
 * its reason, then "N passed, M failed, K skipped". With --floor N, exits 1 below N passes.
 * With --bundle every program also goes through bundle write + kiln_model_load + run, whose
 * outputs must be bit-identical to the in-memory program's. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bundle.h"
#include "compiler.h"
#include "onnx.pb-c.h"

#define RTOL 1e-3
#define ATOL 1e-7

struct counts {
    int passed, failed, skipped;
};

static int verbose, bundle_mode;

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* ---- skip categories (documented in docs/conformance.md) ---- */

static const char *const random_ops[] = {"RandomNormal", "RandomUniform", "RandomNormalLike",
                                         "RandomUniformLike", "Bernoulli", "Multinomial", NULL};
static const char *const string_ops[] = {"StringNormalizer", "RegexFullMatch", "StringConcat",
                                         "StringSplit", NULL};

static int in_list(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(s, *list) == 0)
            return 1;
    return 0;
}

static const char *type_category(const Onnx__TypeProto *t)
{
    if (!t)
        return NULL;
    switch (t->value_case) {
    case ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE:
        return t->tensor_type && t->tensor_type->has_elem_type && t->tensor_type->elem_type == 8
                   ? "string op: string tensors are not supported"
                   : NULL;
    case ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE:
    case ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE:
    case ONNX__TYPE_PROTO__VALUE_MAP_TYPE:
        return "sequence/optional type: only tensors are supported";
    default: return NULL;
    }
}

/* Returns the skip reason for a model, or NULL to run it. */
static const char *skip_reason(const Onnx__ModelProto *m, char *buf, size_t size)
{
    const Onnx__GraphProto *g = m->graph;
    for (size_t i = 0; i < g->n_node; i++) {
        const Onnx__NodeProto *n = g->node[i];
        const char *op = n->op_type ? n->op_type : "";
        if (n->domain && strstr(n->domain, "training")) {
            snprintf(buf, size, "training op: %s (%s)", op, n->domain);
            return buf;
        }
        if (in_list(op, random_ops)) {
            snprintf(buf, size, "random op: %s", op);
            return buf;
        }
        if (in_list(op, string_ops)) {
            snprintf(buf, size, "string op: %s", op);
            return buf;
        }
        if (strncmp(op, "Sequence", 8) == 0 || strncmp(op, "Optional", 8) == 0 ||
            strcmp(op, "SplitToSequence") == 0 || strcmp(op, "ConcatFromSequence") == 0) {
            snprintf(buf, size, "sequence/optional type: %s", op);
            return buf;
        }
    }
    for (size_t i = 0; i < g->n_input; i++) {
        const char *r = type_category(g->input[i]->type);
        if (r)
            return r;
    }
    for (size_t i = 0; i < g->n_output; i++) {
        const char *r = type_category(g->output[i]->type);
        if (r)
            return r;
    }
    return NULL;
}

static double load_as_double(const void *p, int dt, int64_t i)
{
    switch (dt) {
    case KILN_DTYPE_F32: return ((const float *)p)[i];
    case KILN_DTYPE_F64: return ((const double *)p)[i];
    case KILN_DTYPE_F16: return kiln_f16_to_f32(((const uint16_t *)p)[i]);
    case KILN_DTYPE_BF16: return kiln_bf16_to_f32(((const uint16_t *)p)[i]);
    default: return 0;
    }
}

/* Compares; on mismatch writes the reason. */
/* Older ONNX test data stores bfloat16 tensors as uint16 bit patterns. */
static int bf16_as_u16(int model_dtype, int data_dtype)
{
    return model_dtype == KILN_DTYPE_BF16 && data_dtype == KILN_DTYPE_U16;
}

static int compare(const struct kiln_tensor_desc *td, const void *got,
                   const struct kiln_host_tensor *want_in, const char *name, char *why,
                   size_t size)
{
    struct kiln_host_tensor want_bf16 = *want_in;
    if (bf16_as_u16(td->dtype, want_in->dtype))
        want_bf16.dtype = KILN_DTYPE_BF16;
    const struct kiln_host_tensor *want = &want_bf16;
    if (td->dtype != want->dtype) {
        snprintf(why, size, "output '%s': dtype %s, expected %s", name, kiln_dtype_name(td->dtype),
                 kiln_dtype_name(want->dtype));
        return 0;
    }
    int same_shape = td->rank == want->rank;
    for (int i = 0; same_shape && i < td->rank; i++)
        same_shape = td->dims[i] == want->dims[i];
    if (!same_shape) {
        char a[128] = "", b[128] = "";
        size_t oa = 0, ob = 0;
        for (int i = 0; i < td->rank && oa < sizeof a; i++)
            oa += (size_t)snprintf(a + oa, sizeof a - oa, "%s%lld", i ? "," : "",
                                   (long long)td->dims[i]);
        for (int i = 0; i < want->rank && ob < sizeof b; i++)
            ob += (size_t)snprintf(b + ob, sizeof b - ob, "%s%lld", i ? "," : "",
                                   (long long)want->dims[i]);
        snprintf(why, size, "output '%s': shape [%s], expected [%s]", name, a, b);
        return 0;
    }
    int64_t n = 1;
    for (int i = 0; i < want->rank; i++)
        n *= want->dims[i];
    if (kiln_dtype_is_float(want->dtype)) {
        for (int64_t i = 0; i < n; i++) {
            double x = load_as_double(got, want->dtype, i), y = load_as_double(want->data, want->dtype, i);
            if (isnan(x) && isnan(y))
                continue;
            if (isinf(y) && x == y)
                continue;
            if (!(fabs(x - y) <= ATOL + RTOL * fabs(y))) {
                snprintf(why, size, "output '%s': element %lld is %.9g, expected %.9g", name,
                         (long long)i, x, y);
                return 0;
            }
        }
        return 1;
    }
    size_t es = kiln_dtype_size(want->dtype);
    for (int64_t i = 0; i < n; i++) {
        if (memcmp((const char *)got + i * es, (const char *)want->data + i * es, es) != 0) {
            long long x = 0, y = 0;
            memcpy(&x, (const char *)got + i * es, es < 8 ? es : 8);
            memcpy(&y, (const char *)want->data + i * es, es < 8 ? es : 8);
            snprintf(why, size, "output '%s': element %lld differs (bits %llx, expected %llx)",
                     name, (long long)i, (unsigned long long)x, (unsigned long long)y);
            return 0;
        }
    }
    return 1;
}

/* Writes c as a bundle, loads it and runs it; 1 when every output is bit-identical to the
 * in-memory run's (obufs), else 0 with the reason. */
static int same_through_bundle(const struct kiln_compiled *c, void *arena, const void **ibufs,
                               void *const *obufs, int nout, char *why, size_t size)
{
    struct kiln_diag d;
    kiln_diag_clear(&d);
    void *buf = NULL, **bouts = calloc((size_t)nout + 1, sizeof *bouts);
    size_t len = 0;
    struct kiln_model m;
    int ok = 0;
    if (!bouts)
        snprintf(why, size, "out of memory");
    else if (kiln_bundle_build(&c->prog, &c->plan, &buf, &len, &d) ||
             kiln_model_load(buf, len, &m, &d))
        snprintf(why, size, "bundle: %s%s%s%s", d.node[0] ? d.node : "", d.node[0] ? " (" : "",
                 d.node[0] ? d.op : "", d.node[0] ? "): " : "");
    if (d.status)
        snprintf(why + strlen(why), size - strlen(why), "%s", d.message);
    if (!bouts || d.status)
        goto out;
    ok = 1;
    for (int i = 0; i < nout && ok; i++) {
        struct kiln_io_info io;
        ok = !kiln_model_output(&m, (uint32_t)i, &io) && (bouts[i] = calloc(1, io.nbytes + 1));
    }
    if (!ok || kiln_model_run(&m, arena, ibufs, bouts)) {
        snprintf(why, size, "bundle: out of memory or kiln_model_run failed");
        ok = 0;
    }
    for (int i = 0; i < nout && ok; i++) {
        struct kiln_io_info io;
        kiln_model_output(&m, (uint32_t)i, &io);
        if (io.nbytes && memcmp(bouts[i], obufs[i], io.nbytes) != 0) {
            snprintf(why, size, "bundle: output '%s' differs from the in-memory program's",
                     io.name);
            ok = 0;
        }
    }
out:
    for (int i = 0; bouts && i < nout; i++)
        free(bouts[i]);
    free(bouts);
    free(buf);
    return ok;
}

static int count_pb(const char *dir, const char *prefix)
{
    int n = 0;
    char p[4096];
    for (;;) {
        snprintf(p, sizeof p, "%s/%s_%d.pb", dir, prefix, n);
        if (!is_file(p))
            return n;
        n++;
    }
}

/* Runs one data set; returns 1 pass, 0 fail (why filled). */
static int run_dataset(const char *model_path, const char *ds, char *why, size_t size)
{
    struct kiln_diag d;
    kiln_diag_clear(&d);
    int nin = count_pb(ds, "input"), nout = count_pb(ds, "output");
    struct kiln_host_tensor *ins = calloc((size_t)nin + 1, sizeof *ins);
    struct kiln_host_tensor *outs = calloc((size_t)nout + 1, sizeof *outs);
    struct kiln_ir_graph *g = NULL;
    struct kiln_compiled *c = NULL;
    void *arena = NULL;
    void **obufs = NULL;
    const void **ibufs = NULL;
    int ok = 0;
    char p[4096];
    for (int i = 0; i < nin; i++) {
        snprintf(p, sizeof p, "%s/input_%d.pb", ds, i);
        if (kiln_onnx_read_tensor_pb(p, &ins[i], &d)) {
            snprintf(why, size, "%s: %s", p, d.message);
            goto out;
        }
    }
    for (int i = 0; i < nout; i++) {
        snprintf(p, sizeof p, "%s/output_%d.pb", ds, i);
        if (kiln_onnx_read_tensor_pb(p, &outs[i], &d)) {
            snprintf(why, size, "%s: %s", p, d.message);
            goto out;
        }
    }
    /* kiln compiles static shapes: when inference names a graph input that must be known at
     * compile time (a Reshape target, Resize scales, Slice bounds, ...), the test's value for
     * it is bound as a constant and the model is compiled again. */
    int frozen[64] = {0};
    for (int attempt = 0; attempt <= nin; attempt++) {
        kiln_diag_clear(&d);
        kiln_ir_graph_free(g);
        g = NULL;
        if (kiln_onnx_load(model_path, NULL, &g, &d))
            goto diag;
        if ((int)g->n_inputs != nin || nin > 64) {
            snprintf(why, size, "model has %u inputs, test data %d", g->n_inputs, nin);
            goto out;
        }
        for (int i = 0; i < nin; i++) {
            struct kiln_ir_value *v = g->inputs[i];
            if (bf16_as_u16(v->dtype, ins[i].dtype))
                ins[i].dtype = KILN_DTYPE_BF16;
            if (v->rank != ins[i].rank || v->dtype != ins[i].dtype) {
                snprintf(why, size, "input '%s': test data has another rank or dtype", v->name);
                goto out;
            }
            for (int k = 0; k < v->rank; k++)
                v->dims[k] = ins[i].dims[k];
        }
        char names[64][128];
        for (int i = 0; i < nin; i++)
            snprintf(names[i], sizeof names[i], "%s", g->inputs[i]->name);
        for (int i = nin - 1; i >= 0; i--)
            if (frozen[i] && kiln_ir_freeze_input(g, (uint32_t)i, ins[i].data, &d))
                goto diag;
        if (!kiln_infer(g, &d))
            break;
        /* d.value: the value inference needs constant; a graph input is bound by name */
        int hit = -1;
        for (int i = 0; d.value_is_input && i < nin; i++)
            if (!frozen[i] && strcmp(names[i], d.value) == 0)
                hit = i;
        if (hit >= 0) {
            frozen[hit] = 1;
            continue;
        }
        /* the value is computed from inputs (Shape -> Cast -> Range): bind every integer and
         * scalar input once */
        int any = 0;
        if (d.value[0])
            for (int i = 0; i < nin; i++)
                if (!frozen[i] && (ins[i].rank == 0 || ins[i].dtype == KILN_DTYPE_I64 ||
                                   ins[i].dtype == KILN_DTYPE_I32))
                    any = frozen[i] = 1;
        if (!any)
            goto diag;
    }
    if (kiln_lower(g, &c, &d))
        goto diag;
    if ((int)c->prog.n_outputs != nout) {
        snprintf(why, size, "model has %u outputs, test data %d", c->prog.n_outputs, nout);
        goto out;
    }
    arena = aligned_alloc(KILN_ARENA_ALIGN, (c->prog.arena_size + KILN_ARENA_ALIGN) & ~(uint64_t)(KILN_ARENA_ALIGN - 1));
    obufs = calloc((size_t)nout + 1, sizeof *obufs);
    ibufs = calloc((size_t)nin + 1, sizeof *ibufs);
    if (!arena || !obufs || !ibufs) {
        snprintf(why, size, "out of memory");
        goto out;
    }
    for (int i = 0, k = 0; i < nin; i++)
        if (!frozen[i])
            ibufs[k++] = ins[i].data;
    for (int i = 0; i < nout; i++) {
        const struct kiln_tensor_desc *td = &c->prog.tensors[c->prog.outputs[i]];
        obufs[i] = calloc(1, td->nbytes ? td->nbytes : 1); /* tails past run-time extents stay 0 */
        if (!obufs[i]) {
            snprintf(why, size, "out of memory");
            goto out;
        }
    }
    if (kiln_run(&c->prog, arena, ibufs, obufs)) {
        snprintf(why, size, "kiln_run failed");
        goto out;
    }
    struct kiln_tensor_desc got[64]; /* the outputs with this run's extents */
    if (nout > 64) {
        snprintf(why, size, "%d outputs; the runner compares up to 64", nout);
        goto out;
    }
    for (int i = 0; i < nout; i++) {
        got[i] = c->prog.tensors[c->prog.outputs[i]];
        kiln_output_dims(&c->prog, arena, (uint32_t)i, got[i].dims);
    }
    if (bundle_mode && !same_through_bundle(c, arena, ibufs, (void *const *)obufs, nout, why, size))
        goto out;
    ok = 1;
    for (int i = 0; i < nout && ok; i++) {
        ok = compare(&got[i], obufs[i], &outs[i], kiln_prog_str(&c->prog, got[i].name), why,
                     size);
    }
    goto out;
diag:
    if (d.node[0])
        snprintf(why, size, "node '%s' (%s): %s", d.node, d.op, d.message);
    else
        snprintf(why, size, "%s", d.message);
out:
    for (int i = 0; obufs && i < nout; i++)
        free(obufs[i]);
    free(obufs);
    free(ibufs);
    free(arena);
    kiln_compiled_free(c);
    kiln_ir_graph_free(g);
    for (int i = 0; i < nin; i++)
        kiln_host_tensor_free(&ins[i]);
    for (int i = 0; i < nout; i++)
        kiln_host_tensor_free(&outs[i]);
    free(ins);
    free(outs);
    return ok;
}

static void run_case(const char *dir, const char *name, struct counts *cnt)
{
    char model[4096], why[1024];
    snprintf(model, sizeof model, "%s/model.onnx", dir);
    FILE *f = fopen(model, "rb");
    if (!f) {
        printf("FAIL %s: cannot open model.onnx\n", name);
        cnt->failed++;
        return;
    }
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)len + 1);
    size_t got = buf ? fread(buf, 1, (size_t)len, f) : 0;
    fclose(f);
    Onnx__ModelProto *m = buf && got == (size_t)len ? onnx__model_proto__unpack(NULL, got, buf) : NULL;
    free(buf);
    if (!m || !m->graph) {
        printf("FAIL %s: model.onnx does not parse\n", name);
        cnt->failed++;
        if (m)
            onnx__model_proto__free_unpacked(m, NULL);
        return;
    }
    const char *skip = skip_reason(m, why, sizeof why);
    if (skip) {
        printf("SKIP %s: %s\n", name, skip);
        cnt->skipped++;
        onnx__model_proto__free_unpacked(m, NULL);
        return;
    }
    onnx__model_proto__free_unpacked(m, NULL);
    int sets = 0, ok = 1;
    for (int i = 0; ok; i++) {
        char ds[4096];
        snprintf(ds, sizeof ds, "%s/test_data_set_%d", dir, i);
        if (!is_dir(ds))
            break;
        sets++;
        if (!run_dataset(model, ds, why, sizeof why)) {
            printf("FAIL %s: %s%s\n", name, sets > 1 ? "data set " : "", why);
            ok = 0;
        }
    }
    if (!sets) {
        printf("FAIL %s: no test_data_set_* folder\n", name);
        ok = 0;
    }
    if (ok) {
        cnt->passed++;
        if (verbose)
            printf("PASS %s\n", name);
    } else {
        cnt->failed++;
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_path(const char *path, const char *filter, struct counts *cnt)
{
    char model[4096];
    snprintf(model, sizeof model, "%s/model.onnx", path);
    if (is_file(model)) {
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        if (!filter || strstr(base, filter))
            run_case(path, base, cnt);
        return;
    }
    DIR *dir = opendir(path);
    if (!dir) {
        fprintf(stderr, "kiln-conformance: error: %s: not a test folder\n", path);
        cnt->failed++;
        return;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(dir))) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            names = realloc(names, cap * sizeof *names);
        }
        names[n++] = strdup(e->d_name);
    }
    closedir(dir);
    qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        char sub[4096];
        snprintf(sub, sizeof sub, "%s/%s", path, names[i]);
        snprintf(model, sizeof model, "%s/model.onnx", sub);
        if (is_file(model) && (!filter || strstr(names[i], filter)))
            run_case(sub, names[i], cnt);
        free(names[i]);
    }
    free(names);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: kiln-conformance [--floor N] [--filter TEXT] [--bundle] [--verbose] DIR...\n"
               "  Runs ONNX backend test folders (a test folder, or a folder of them).\n"
               "  --floor N      exit 1 when fewer than N tests pass\n"
               "  --filter TEXT  only tests whose name contains TEXT\n"
               "  --bundle       also run every program through bundle write + load, and\n"
               "                 require outputs bit-identical to the in-memory program's\n"
               "  --verbose      also print passing tests\n");
}

int main(int argc, char **argv)
{
    long floor_ = -1;
    const char *filter = NULL;
    struct counts cnt = {0, 0, 0};
    int ndirs = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--floor") == 0 && i + 1 < argc) {
            char *end;
            floor_ = strtol(argv[++i], &end, 10);
            if (*end || floor_ < 0) {
                fprintf(stderr, "kiln-conformance: error: --floor takes a count\n");
                return 2;
            }
        } else if (strcmp(argv[i], "--filter") == 0 && i + 1 < argc) {
            filter = argv[++i];
        } else if (strcmp(argv[i], "--bundle") == 0) {
            bundle_mode = 1;
        } else if (strcmp(argv[i], "--verbose") == 0 || strcmp(argv[i], "-v") == 0) {
            verbose = 1;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "kiln-conformance: error: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        } else {
            ndirs++;
        }
    }
    if (!ndirs) {
        usage(stderr);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--floor") == 0 || strcmp(argv[i], "--filter") == 0) {
            i++;
            continue;
        }
        if (argv[i][0] != '-')
            run_path(argv[i], filter, &cnt);
    }
    printf("%d passed, %d failed, %d skipped\n", cnt.passed, cnt.failed, cnt.skipped);
    if (floor_ >= 0 && cnt.passed < floor_) {
        printf("kiln-conformance: %d passed is below the floor of %ld\n", cnt.passed, floor_);
        return 1;
    }
    return 0;
}
