/* cmd_run.c - `kiln run`: compiles a model for the shapes of the given .npy inputs (or loads a
 * .kiln bundle, recognised by its magic), runs it with the interpreter and writes the outputs
 * as .npy. All outputs are first written to
 * temporaries next to their targets and renamed only once every one of them succeeded, so a
 * failure leaves no output file behind. With --repeat it also reports latency. */
#include <errno.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "bundle.h"
#include "cli.h"
#include "driver.h"
#include "npy.h"

const char kiln_usage_run[] =
    "kiln run MODEL.onnx|MODEL.kiln --input [NAME=]X.npy... (--output Y.npy... | --output-dir DIR) "
    "[--input-shape NAME=D0,D1,...]... [--input-value NAME=FILE.npy]... [--repeat N] "
    "[--warmup N] [--threads N] [--profile FILE.json] [--max-memory BYTES]";
const char kiln_help_run[] =
    "usage: kiln run MODEL.onnx|MODEL.kiln --input [NAME=]X.npy...\n"
    "                (--output Y.npy... | --output-dir DIR)\n"
    "                [--input-shape NAME=D0,D1,...]... [--input-value NAME=FILE.npy]...\n"
    "                [--repeat N] [--warmup N] [--threads N] [--profile FILE.json]\n"
    "                [--max-memory BYTES]\n"
    "\n"
    "Runs a model with kiln's interpreter on .npy inputs and writes its outputs as .npy.\n"
    "MODEL may be an ONNX file or a bundle from `kiln compile` (whose shapes are fixed).\n"
    "\n"
    "options:\n"
    "  --input [NAME=]X.npy          an input, by name, or by position when NAME= is omitted;\n"
    "                                symbolic dims of the model take the file's shape\n"
    "  --output Y.npy                an output file, one per graph output, in graph order\n"
    "  --output-dir DIR              write each output to DIR/<output name>.npy (characters\n"
    "                                other than A-Z a-z 0-9 . _ - become '_')\n"
    "  --input-shape NAME=D0,D1,...  fix the shape of input NAME; repeatable\n"
    "  --input-value NAME=FILE.npy   compile with input NAME fixed to this value (a constant:\n"
    "                                what it decides is decided at compile time); the model\n"
    "                                then takes its other inputs only; repeatable\n"
    "  -O0 .. -O3                    optimization level for an ONNX model (default -O2)\n"
    "  --repeat N                    run N times and print median, min and p90 latency (ms)\n"
    "  --warmup N                    untimed runs before timing (default 1 with --repeat)\n"
    "  --threads N                   split GEMMs, convolutions, pooling and large elementwise\n"
    "                                ops between N threads (default 1); outputs are the same\n"
    "                                bit for bit for every N\n"
    "  --profile FILE.json           per-node timings of one more run, in the Chrome trace\n"
    "                                event format (chrome://tracing, Perfetto)\n"
    CLI_MAX_MEMORY_HELP
    "  -h, --help                    print this help\n"
    "\n"
    "Outputs are written only when every step succeeded; no partial files are left.\n";

#define MAX_REPEAT 10000000L

struct run_args {
    const char *model, *outdir, *profile;
    const char **inputs, **outputs;
    int n_inputs, n_outputs;
    struct cli_shapes shapes;
    struct cli_values values;
    long repeat, warmup, threads;
    int level; /* -O level, default 2 */
    uint64_t max_memory; /* 0: the default for the model file */
};

/* Everything that needs freeing, in one place so every exit path is the same. */
struct run_state {
    struct kiln_ir_graph *g;    /* ONNX models */
    struct kiln_compiled *c;
    struct kiln_model model; /* bundles (mapped) */
    bool bundle;
    const struct kiln_program *prog; /* the program run: c->prog or model.prog */
    struct kiln_input_desc *idesc; /* what the .npy files are checked against */
    struct kiln_bound_inputs in;
    void *arena;
    void **obufs;
    char **opaths, **otmps; /* per output: final path and temporary (malloc'd) */
    uint32_t n_out;
    double *times;
};

static int parse_args(int argc, char **argv, struct run_args *r)
{
    memset(r, 0, sizeof *r);
    r->warmup = -1;
    r->threads = 1;
    r->level = 2;
    r->inputs = calloc((size_t)argc, sizeof *r->inputs);
    r->outputs = calloc((size_t)argc, sizeof *r->outputs);
    if (!r->inputs || !r->outputs) {
        fprintf(stderr, "kiln: error: out of memory\n");
        return CLI_ERROR;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = NULL;
        int m, rc = CLI_OK;
        if (cli_is_help(a)) {
            fputs(kiln_help_run, stdout);
            return -1;
        }
        int lv = cli_opt_level(argc, argv, &i, &r->level);
        if (lv < 0)
            return cli_usage_error(kiln_usage_run,
                                   "the optimization level is -O0, -O1, -O2 or -O3", NULL);
        if (lv > 0)
            continue;
        if ((m = cli_opt_value(argc, argv, &i, "--input-shape", &val)) > 0)
            rc = cli_add_shape(&r->shapes, val, kiln_usage_run);
        else if (m == 0 && (m = cli_opt_value(argc, argv, &i, "--input-value", &val)) > 0)
            rc = cli_add_value(&r->values, val, kiln_usage_run);
        else if (m == 0 && (m = cli_opt_value(argc, argv, &i, "--input", &val)) > 0)
            r->inputs[r->n_inputs++] = val;
        else if (m == 0 && (m = cli_opt_value(argc, argv, &i, "--output-dir", &val)) > 0)
            r->outdir = val;
        else if (m == 0 && (m = cli_opt_value(argc, argv, &i, "--profile", &val)) > 0)
            r->profile = val;
        else if (m == 0 && (m = cli_opt_value(argc, argv, &i, "--output", &val)) > 0)
            r->outputs[r->n_outputs++] = val;
        else if (m == 0 && (m = cli_opt_value(argc, argv, &i, "--repeat", &val)) > 0) {
            if (!cli_parse_count(val, MAX_REPEAT, &r->repeat) || r->repeat < 1)
                rc = cli_usage_error(kiln_usage_run, "--repeat needs a count from 1 to 10000000, "
                                     "got", val);
        } else if (m == 0 && (m = cli_opt_value(argc, argv, &i, "--max-memory", &val)) > 0) {
            if (!cli_parse_bytes(val, &r->max_memory))
                rc = cli_usage_error(kiln_usage_run, "--max-memory takes a byte count (K, M, G "
                                     "suffixes), not", val);
        } else if (m == 0 && (m = cli_opt_value(argc, argv, &i, "--warmup", &val)) > 0) {
            if (!cli_parse_count(val, MAX_REPEAT, &r->warmup))
                rc = cli_usage_error(kiln_usage_run, "--warmup needs a count from 0 to 10000000, "
                                     "got", val);
        } else if (m == 0 && (m = cli_opt_value(argc, argv, &i, "--threads", &val)) > 0) {
            if (!cli_parse_count(val, CLI_MAX_THREADS, &r->threads) || r->threads < 1)
                rc = cli_usage_error(kiln_usage_run, "--threads needs a count from 1 to 64, got",
                                     val);
        } else if (m < 0)
            rc = cli_usage_error(kiln_usage_run, "missing value for", a);
        else if (a[0] == '-' && a[1])
            rc = cli_usage_error(kiln_usage_run, "unknown option", a);
        else if (r->model)
            rc = cli_usage_error(kiln_usage_run, "more than one model given:", a);
        else
            r->model = a;
        if (rc != CLI_OK)
            return rc;
    }
    if (!r->model)
        return cli_usage_error(kiln_usage_run, "no model given", NULL);
    if (r->n_outputs && r->outdir)
        return cli_usage_error(kiln_usage_run, "give either --output or --output-dir, not both",
                               NULL);
    if (!r->n_outputs && !r->outdir && !r->repeat && !r->profile)
        return cli_usage_error(kiln_usage_run, "no --output or --output-dir given", NULL);
    if (r->warmup < 0)
        r->warmup = r->repeat ? 1 : 0;
    return CLI_OK;
}

/* An error about file (a message built here, not from a diag). */
static int run_fail(const char *file, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static int run_fail(const char *file, const char *fmt, ...)
{
    struct kiln_diag d;
    kiln_diag_clear(&d);
    d.status = KILN_STATUS_INVALID_ARG;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d.message, sizeof d.message, fmt, ap);
    va_end(ap);
    return cli_error(file, &d);
}

/* DIR/<name>.npy with every character outside [A-Za-z0-9._-] (and a leading '.') as '_'. */
static char *output_path(const char *dir, const char *name, uint32_t k, char *const *prev,
                         uint32_t n_prev)
{
    char base[208];
    size_t n = 0;
    for (const char *p = name; *p && n < 200; p++) {
        char ch = *p;
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || (ch == '.' && n);
        base[n++] = ok ? ch : '_';
    }
    base[n] = '\0';
    if (!n)
        snprintf(base, sizeof base, "output_%u", k);
    size_t len = strlen(dir) + sizeof base + 32;
    char *path = malloc(len);
    if (!path)
        return NULL;
    snprintf(path, len, "%s/%s.npy", dir, base);
    for (uint32_t j = 0; j < n_prev; j++)
        if (strcmp(prev[j], path) == 0) { /* two names sanitised alike: keep both */
            snprintf(path, len, "%s/%s_%u.npy", dir, base, k);
            break;
        }
    return path;
}

static int plan_outputs(const struct run_args *r, struct run_state *s)
{
    const struct kiln_program *p = s->prog;
    s->n_out = p->n_outputs;
    s->opaths = calloc(s->n_out + 1, sizeof *s->opaths);
    s->otmps = calloc(s->n_out + 1, sizeof *s->otmps);
    s->obufs = calloc(s->n_out + 1, sizeof *s->obufs);
    if (!s->opaths || !s->otmps || !s->obufs)
        return run_fail(r->model, "out of memory");
    if (!r->outdir && !r->n_outputs)
        return CLI_OK; /* timing only */
    if (!r->outdir && (uint32_t)r->n_outputs != s->n_out) {
        char names[2048];
        size_t o = 0;
        names[0] = '\0';
        for (uint32_t k = 0; k < s->n_out && o < sizeof names; k++)
            o += (size_t)snprintf(names + o, sizeof names - o, "%s'%s'", k ? ", " : "",
                                  kiln_prog_str(p, p->tensors[p->outputs[k]].name));
        return run_fail(r->model, "%d --output file%s given, but the model has %u output%s (%s);"
                        " give one per output in this order, or use --output-dir",
                        r->n_outputs, r->n_outputs == 1 ? "" : "s", s->n_out,
                        s->n_out == 1 ? "" : "s", names);
    }
    if (r->outdir) {
        struct stat sb;
        if (stat(r->outdir, &sb) != 0 || !S_ISDIR(sb.st_mode))
            return run_fail(r->outdir, "--output-dir: not an existing directory");
    }
    for (uint32_t k = 0; k < s->n_out; k++) {
        const struct kiln_tensor_desc *td = &p->tensors[p->outputs[k]];
        const char *name = kiln_prog_str(p, td->name);
        s->opaths[k] = r->outdir ? output_path(r->outdir, name, k, s->opaths, k)
                                 : strdup(r->outputs[k]);
        if (!s->opaths[k])
            return run_fail(r->model, "out of memory");
        for (uint32_t j = 0; j < k; j++)
            if (strcmp(s->opaths[j], s->opaths[k]) == 0)
                return run_fail(s->opaths[k], "outputs '%s' and '%s' would both be written "
                                "here", kiln_prog_str(p, p->tensors[p->outputs[j]].name), name);
        if (td->dtype == KILN_DTYPE_BF16) /* refuse before running, not after */
            return run_fail(s->opaths[k], "output '%s' is bfloat16, which .npy cannot hold",
                            name);
    }
    return CLI_OK;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void write_trace(FILE *f, const void *t)
{
    kiln_bench_write_trace(f, t, 1);
}

/* --profile: one more run through the per-node hook, written as Chrome trace events. */
static int write_profile(const struct run_args *r, const struct kiln_program *p,
                         struct run_state *s, const void **ibufs)
{
    struct kiln_bench_event *ev;
    size_t n;
    size_t cap = 4 * ((size_t)p->n_nodes + p->n_block_nodes) + 64;
    enum kiln_status st = kiln_bench_profile_run(p, s->arena, ibufs, s->obufs, NULL, NULL, cap,
                                                 &ev, &n, NULL, NULL);
    if (st)
        return run_fail(r->model, "the interpreter failed: %s", kiln_status_name(st));
    struct kiln_bench_trace t = {r->model, ev, n};
    int rc = cli_write_file(r->profile, write_trace, &t);
    free(ev);
    return rc;
}

/* The node a failed run stopped at: the last node started and not finished. */
struct last_node {
    uint32_t started;
    int open;
};

static void track_node(void *user, uint32_t node_index, int after)
{
    struct last_node *t = user;
    t->started = node_index;
    t->open = !after;
}

/* kiln_run failed this run (st): runs once more with a hook to name the node where it
 * stopped: run-time extents that stopped fitting (INVALID_ARG), or an If branch the compiler
 * refused for these input shapes (UNSUPPORTED). */
static int node_fail(const char *model, const struct kiln_program *p, void *arena,
                     const void *const *ibufs, void *const *obufs, enum kiln_status st)
{
    struct last_node t = {0, 0};
    kiln_run_hooked(p, arena, ibufs, obufs, track_node, &t);
    const struct kiln_node_desc *n = t.open ? &p->nodes[t.started] : NULL;
    const char *why = n ? kiln_node_refusal(p, t.started) : NULL;
    if (why)
        return run_fail(model, "node '%s' (%s): %s", kiln_prog_str(p, n->name),
                        kiln_op_name(n->op), why);
    if (st != KILN_STATUS_INVALID_ARG)
        return run_fail(model, "the interpreter failed: %s", kiln_status_name(st));
    if (!n)
        return run_fail(model, "the interpreter failed: extents that depend on the input data "
                               "do not fit an op in this run");
    return run_fail(model, "node '%s' (%s): the extents its inputs have in this run (they depend "
                           "on the input data) do not fit the op: they do not broadcast",
                    kiln_prog_str(p, n->name), kiln_op_name(n->op));
}

static int execute(const struct run_args *r, struct run_state *s)
{
    const struct kiln_program *p = s->prog;
    uint64_t limit = cli_memory_limit(r->max_memory, r->model);
    if (p->arena_size > limit)
        return run_fail(r->model, "the model's arena needs %llu bytes, more than the memory limit "
                        "of %llu bytes; --max-memory BYTES raises it (docs/robustness.md)",
                        (unsigned long long)p->arena_size, (unsigned long long)limit);
    uint64_t asz = (p->arena_size + KILN_ARENA_ALIGN - 1) / KILN_ARENA_ALIGN * KILN_ARENA_ALIGN;
    s->arena = aligned_alloc(KILN_ARENA_ALIGN, asz ? asz : KILN_ARENA_ALIGN);
    if (!s->arena)
        return run_fail(r->model, "out of memory for the arena (%llu bytes)",
                        (unsigned long long)p->arena_size);
    for (uint32_t k = 0; k < s->n_out; k++) {
        uint64_t nb = p->tensors[p->outputs[k]].nbytes;
        if (!(s->obufs[k] = malloc(nb ? nb : 1)))
            return run_fail(r->model, "out of memory for output %u (%llu bytes)", k,
                            (unsigned long long)nb);
    }
    const void **ibufs = calloc(s->in.n + 1, sizeof *ibufs);
    if (!ibufs)
        return run_fail(r->model, "out of memory");
    for (uint32_t i = 0; i < s->in.n; i++)
        ibufs[i] = s->in.tensors[i].data;
    long timed = r->repeat ? r->repeat : 1;
    if (r->repeat && !(s->times = malloc((size_t)timed * sizeof *s->times))) {
        free(ibufs);
        return run_fail(r->model, "out of memory");
    }
    int rc = CLI_OK;
    struct kiln_run_opts opts = {NULL, NULL, NULL};
    if (r->threads > 1 && kiln_threads_create((int)r->threads, &opts.threads)) {
        free(ibufs);
        return run_fail(r->model, "cannot start %ld threads", r->threads);
    }
    for (long i = 0; i < r->warmup + timed && rc == CLI_OK; i++) {
        double t0 = now_ms();
        enum kiln_status st =
            s->bundle ? kiln_model_run_opts(&s->model, s->arena, ibufs, s->obufs, &opts)
                      : kiln_run_opts(p, s->arena, ibufs, s->obufs, &opts);
        double t1 = now_ms();
        if (st)
            rc = node_fail(r->model, p, s->arena, ibufs, s->obufs, st);
        else if (s->times && i >= r->warmup)
            s->times[i - r->warmup] = t1 - t0;
    }
    kiln_threads_destroy(opts.threads);
    if (rc == CLI_OK && r->profile)
        rc = write_profile(r, p, s, ibufs);
    free(ibufs);
    if (rc == CLI_OK && s->times) {
        struct kiln_bench_stats st;
        kiln_bench_stats_compute(s->times, (size_t)timed, &st);
        printf("latency over %ld run%s (%ld warmup): median %.4f ms, min %.4f ms, p90 %.4f ms\n",
               timed, timed == 1 ? "" : "s", r->warmup, st.median, st.min, st.p90);
    }
    return rc;
}

/* Writes every output to a temporary, then renames them all; on failure removes them. */
static int commit_outputs(struct run_state *s)
{
    const struct kiln_program *p = s->prog;
    if (!s->opaths[0] && s->n_out)
        return CLI_OK; /* timing only */
    int rc = CLI_OK;
    for (uint32_t k = 0; k < s->n_out && rc == CLI_OK; k++) {
        const struct kiln_tensor_desc *td = &p->tensors[p->outputs[k]];
        int64_t dims[KILN_MAX_RANK]; /* this run's extents (some may depend on the data) */
        kiln_output_dims(p, s->arena, k, dims);
        char tmp[4096];
        struct kiln_diag d;
        kiln_diag_clear(&d);
        if (kiln_npy_write_tmp(s->opaths[k], td->dtype, td->rank, dims, s->obufs[k], tmp,
                               sizeof tmp, &d))
            rc = cli_error(s->opaths[k], &d);
        else if (!(s->otmps[k] = strdup(tmp))) {
            unlink(tmp);
            rc = run_fail(s->opaths[k], "out of memory");
        }
    }
    for (uint32_t k = 0; k < s->n_out && rc == CLI_OK; k++) {
        if (rename(s->otmps[k], s->opaths[k]) != 0)
            rc = run_fail(s->opaths[k], "cannot rename %s into place: %s", s->otmps[k],
                          strerror(errno));
        else {
            free(s->otmps[k]);
            s->otmps[k] = NULL;
        }
    }
    for (uint32_t k = 0; k < s->n_out; k++)
        if (s->otmps[k])
            unlink(s->otmps[k]);
    return rc;
}

static void state_free(struct run_state *s)
{
    kiln_bound_inputs_free(&s->in);
    free(s->idesc);
    for (uint32_t k = 0; k < s->n_out; k++) {
        if (s->obufs)
            free(s->obufs[k]);
        if (s->opaths)
            free(s->opaths[k]);
        if (s->otmps)
            free(s->otmps[k]);
    }
    free(s->obufs), free(s->opaths), free(s->otmps);
    free(s->times);
    free(s->arena);
    kiln_compiled_free(s->c);
    kiln_ir_graph_free(s->g);
    kiln_model_unmap(&s->model);
}

int kiln_cmd_run(int argc, char **argv)
{
    struct run_args r;
    struct run_state s;
    memset(&s, 0, sizeof s);
    int rc = parse_args(argc, argv, &r);
    if (rc != CLI_OK)
        goto out;
    struct kiln_diag d;
    kiln_diag_clear(&d);
    struct kiln_import_options opt = {r.shapes.v, r.shapes.n, r.values.v, r.values.n,
                                      r.max_memory};
    s.bundle = kiln_file_is_bundle(r.model);
    if (s.bundle && (r.shapes.n || r.values.n)) {
        rc = cli_usage_error(kiln_usage_run, r.shapes.n ? "--input-shape does not apply to a "
                                                          "bundle (kiln compile fixed its shapes)"
                                                        : "--input-value does not apply to a "
                                                          "bundle (kiln compile fixed its values)",
                             NULL);
        goto out;
    }
    if (s.bundle ? kiln_bundle_open(r.model, &s.model, &d)
                 : kiln_onnx_load(r.model, &opt, &s.g, &d)) {
        rc = cli_error(r.model, &d);
        goto out;
    }
    uint32_t n_ins = s.bundle ? kiln_model_n_inputs(&s.model) : s.g->n_inputs;
    if (!(s.idesc = calloc(n_ins + 1, sizeof *s.idesc))) {
        rc = run_fail(r.model, "out of memory");
        goto out;
    }
    for (uint32_t i = 0; i < n_ins; i++) {
        struct kiln_io_info io;
        if (!s.bundle)
            kiln_input_desc_from_value(s.g->inputs[i], &s.idesc[i]);
        else if (kiln_model_input(&s.model, i, &io) == KILN_STATUS_OK)
            kiln_input_desc_from_io(&io, &s.idesc[i]);
        else {
            rc = run_fail(r.model, "internal error: no description of input %u", i);
            goto out;
        }
    }
    if (kiln_inputs_bind(s.idesc, n_ins, r.inputs, (size_t)r.n_inputs, true, &s.in, &d)) {
        rc = cli_error(r.model, &d);
        goto out;
    }
    if (!s.bundle) { /* the files' shapes fix the symbolic dims, then the one pipeline */
        struct kiln_compile_options co = {.model = r.model, .graph = s.g, .level = r.level};
        co.import.shapes = s.in.shapes;
        co.import.n_shapes = s.in.n_shapes;
        s.g = NULL; /* taken over */
        if (kiln_compile_model(&co, NULL, &s.c, &d)) {
            rc = cli_error(r.model, &d);
            goto out;
        }
    }
    s.prog = s.bundle ? &s.model.prog : &s.c->prog;
    const struct kiln_program *p = s.prog;
    if (p->n_inputs != n_ins) {
        rc = run_fail(r.model, "internal error: %u program inputs for %u model inputs",
                      p->n_inputs, n_ins);
        goto out;
    }
    for (uint32_t i = 0; i < n_ins; i++)
        if (p->tensors[p->inputs[i]].nbytes != s.in.tensors[i].nbytes) {
            rc = run_fail(s.in.paths[i], "internal error: input size mismatch");
            goto out;
        }
    if ((rc = plan_outputs(&r, &s)) || (rc = execute(&r, &s)) || (rc = commit_outputs(&s)))
        goto out;
out:
    state_free(&s);
    free(r.inputs), free(r.outputs), free(r.shapes.v), free(r.values.v);
    return rc < 0 ? CLI_OK : rc;
}
