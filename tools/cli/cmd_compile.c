/* cmd_compile.c - `kiln compile`: imports an ONNX model, infers shapes, runs the -O pipeline,
 * lowers it and writes one of the deployment forms: a .kiln bundle (default: the model path
 * with .onnx replaced by .kiln), self-contained C sources (--emit c), or the optimized graph as
 * ONNX (--emit onnx). Every file goes to a temporary and is renamed into place, so a failure
 * never leaves a partial output. */
#include <errno.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle.h"
#include "cli.h"
#include "emit_c.h"
#include "onnx_export.h"
#include "pass.h"
#include "prune.h"

const char kiln_usage_compile[] =
    "kiln compile MODEL.onnx [-o OUT] [-O0..-O3] [--report] [--emit kiln|c|onnx] "
    "[--name NAME] [--weights c|bin] [--with-main] [--input-shape NAME=D0,D1,...]... "
    "[--input-value NAME=FILE.npy]... [--prune channels:R|magnitude:S[:global]] "
    "[--prune-norm l1|l2] [--max-memory BYTES]";
const char kiln_help_compile[] =
    "usage: kiln compile MODEL.onnx [-o OUT] [-O0..-O3] [--report] [--emit kiln|c|onnx]\n"
    "                    [--name NAME] [--weights c|bin] [--with-main]\n"
    "                    [--input-shape NAME=D0,D1,...]... [--input-value NAME=FILE.npy]...\n"
    "                    [--prune channels:R|magnitude:S[:global|:per-layer]]\n"
    "                    [--prune-norm l1|l2]\n"
    "                    [--max-memory BYTES]\n"
    "\n"
    "Compiles a model into one of kiln's deployment forms:\n"
    "  --emit kiln   (default) a .kiln bundle: the kernel schedule, parameters, 64-byte aligned\n"
    "                weights and the memory plan in one file that the kiln runtime loads in place\n"
    "                (kiln run OUT.kiln, or kiln_model_load in your program; docs/bundle-format.md)\n"
    "  --emit c      C99 sources in the folder OUT (created if missing): NAME.h, NAME.c, the\n"
    "                kernels the model uses, the weights and NAME.cmake (docs/emit-c.md)\n"
    "  --emit onnx   the optimized graph as an ONNX model; at -O1 it holds standard ops only,\n"
    "                at -O2/-O3 fused nodes use the kiln domain (docs/kiln-domain.md)\n"
    "\n"
    "options:\n"
    "  -o, --output OUT              the file (kiln, onnx) or folder (c) to write; default for a\n"
    "                                bundle: MODEL with .onnx replaced by .kiln\n"
    "  -O0 .. -O3                    optimization level (default -O2; docs/optimization.md)\n"
    "  --report                      print what every optimization pass changed\n"
    "  --name NAME                   C identifier prefixing the emitted C (default: the\n"
    "                                model file's name, made a C identifier)\n"
    "  --weights c|bin               emitted weights as C arrays (default) or NAME.weights.bin\n"
    "  --with-main                   also emit NAME_main.c, a .npy command-line program\n"
    "  --input-shape NAME=D0,D1,...  fix the shape of input NAME (symbolic dims); repeatable\n"
    "  --input-value NAME=FILE.npy   fix the value of input NAME: it becomes a constant, and\n"
    "                                what it decides (a Reshape target, Slice bounds, a Loop's\n"
    "                                trip count) is decided at compile time; repeatable\n"
    "  --prune channels:R            remove the fraction R of the output channels of Conv,\n"
    "                                ConvTranspose and Gemm layers with the smallest weight norm,\n"
    "                                per layer (default) or ranked across layers (:global); the\n"
    "                                graph keeps its inputs and outputs (docs/pruning.md)\n"
    "  --prune magnitude:S           set the fraction S of the smallest weights of Conv,\n"
    "                                ConvTranspose, Gemm and MatMul to zero, per layer or\n"
    "                                with one threshold (:global); a float32 Gemm left at most\n"
    "                                20% non-zero runs on the sparse kernel\n"
    "  --prune-norm l1|l2            the norm that ranks channels (default l1)\n"
    CLI_MAX_MEMORY_HELP
    "  -h, --help                    print this help\n";

/* MODEL.onnx -> MODEL.kiln; any other name gets .kiln appended. */
static char *default_output(const char *model)
{
    size_t n = strlen(model);
    char *out = malloc(n + 6);
    if (!out)
        return NULL;
    memcpy(out, model, n + 1);
    if (n > 5 && strcmp(model + n - 5, ".onnx") == 0)
        n -= 5;
    memcpy(out + n, ".kiln", 6);
    return out;
}

struct compile_args {
    const char *model, *output, *emit, *name, *weights, *prune, *prune_norm;
    int level, report, with_main;
    struct cli_shapes shapes;
    struct cli_values values;
    uint64_t max_memory;
};

static int parse_compile(int argc, char **argv, struct compile_args *a)
{
    int rc = CLI_OK;
    for (int i = 1; i < argc && rc == CLI_OK; i++) {
        const char *arg = argv[i], *val;
        int m, lv;
        if (cli_is_help(arg)) {
            fputs(kiln_help_compile, stdout);
            return -1;
        } else if ((lv = cli_opt_level(argc, argv, &i, &a->level)) != 0) {
            if (lv < 0)
                rc = cli_usage_error(kiln_usage_compile,
                                     "the optimization level is -O0, -O1, -O2 or -O3", NULL);
        } else if (strcmp(arg, "--report") == 0) {
            a->report = 1;
        } else if (strcmp(arg, "--with-main") == 0) {
            a->with_main = 1;
        } else if ((m = cli_opt_value(argc, argv, &i, "--input-shape", &val)) != 0) {
            rc = m < 0 ? cli_usage_error(kiln_usage_compile, "missing value for", arg)
                       : cli_add_shape(&a->shapes, val, kiln_usage_compile);
        } else if ((m = cli_opt_value(argc, argv, &i, "--input-value", &val)) != 0) {
            rc = m < 0 ? cli_usage_error(kiln_usage_compile, "missing value for", arg)
                       : cli_add_value(&a->values, val, kiln_usage_compile);
        } else if ((m = cli_opt_value(argc, argv, &i, "--max-memory", &val)) != 0) {
            if (m < 0 || !cli_parse_bytes(val, &a->max_memory))
                rc = cli_usage_error(kiln_usage_compile,
                                     "--max-memory takes a byte count (K, M, G suffixes), not",
                                     m < 0 ? "" : val);
        } else if ((m = cli_opt_value(argc, argv, &i, "--output", &val)) != 0 ||
                   (m = cli_opt_value(argc, argv, &i, "-o", &val)) != 0 ||
                   (m = cli_opt_value(argc, argv, &i, "--emit", &val)) != 0 ||
                   (m = cli_opt_value(argc, argv, &i, "--name", &val)) != 0 ||
                   (m = cli_opt_value(argc, argv, &i, "--weights", &val)) != 0 ||
                   (m = cli_opt_value(argc, argv, &i, "--prune", &val)) != 0 ||
                   (m = cli_opt_value(argc, argv, &i, "--prune-norm", &val)) != 0) {
            if (m < 0)
                rc = cli_usage_error(kiln_usage_compile, "missing value for", arg);
            else if (strncmp(arg, "--emit", 6) == 0)
                a->emit = val;
            else if (strncmp(arg, "--name", 6) == 0)
                a->name = val;
            else if (strncmp(arg, "--weights", 9) == 0)
                a->weights = val;
            else if (strncmp(arg, "--prune-norm", 12) == 0)
                a->prune_norm = val;
            else if (strncmp(arg, "--prune", 7) == 0)
                a->prune = val;
            else
                a->output = val;
        } else if (arg[0] == '-' && arg[1]) {
            rc = cli_usage_error(kiln_usage_compile, "unknown option", arg);
        } else if (a->model) {
            rc = cli_usage_error(kiln_usage_compile, "more than one model given:", arg);
        } else {
            a->model = arg;
        }
    }
    if (rc == CLI_OK && !a->model)
        rc = cli_usage_error(kiln_usage_compile, "no model given", NULL);
    if (rc == CLI_OK && strcmp(a->emit, "kiln") && strcmp(a->emit, "c") && strcmp(a->emit, "onnx"))
        rc = cli_usage_error(kiln_usage_compile, "--emit takes kiln, c or onnx, not", a->emit);
    if (rc == CLI_OK && a->weights && strcmp(a->weights, "c") && strcmp(a->weights, "bin"))
        rc = cli_usage_error(kiln_usage_compile, "--weights takes c or bin, not", a->weights);
    if (rc == CLI_OK && strcmp(a->emit, "c") && (a->name || a->weights || a->with_main))
        rc = cli_usage_error(kiln_usage_compile, "--name, --weights and --with-main go with",
                             "--emit c");
    if (rc == CLI_OK && strcmp(a->emit, "kiln") && !a->output)
        rc = cli_usage_error(kiln_usage_compile, "-o OUT is required with --emit", a->emit);
    return rc;
}

/* The model's file name without folder and extension, made a C identifier (the default
 * --name). Says so on stderr when that meant changing the name, so the user knows the prefix
 * the emitted symbols carry and how to choose another. */
static void default_name(const char *model, char *out, size_t size)
{
    const char *base = strrchr(model, '/');
    base = base ? base + 1 : model;
    const char *dot = strrchr(base, '.');
    size_t stem = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    size_t n = 0;
    if (!((*base >= 'a' && *base <= 'z') || (*base >= 'A' && *base <= 'Z')))
        out[n++] = 'm';
    for (const char *c = base; *c && *c != '.' && n + 1 < size; c++)
        out[n++] = (char)((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                                  (*c >= '0' && *c <= '9')
                              ? *c
                              : '_');
    out[n] = '\0';
    if (strlen(out) != stem || strncmp(out, base, stem) != 0)
        fprintf(stderr,
                "kiln: note: '%.*s' is not a C identifier: the emitted C uses the prefix '%s' "
                "(choose one with --name NAME)\n",
                (int)stem, base, out);
}

/* g: the optimized graph (--emit onnx), c: the program (the other formats). */
static enum kiln_status emit(const struct compile_args *a, struct kiln_ir_graph *g,
                             const struct kiln_compiled *c, const char *out_path,
                             struct kiln_diag *d)
{
    enum kiln_status st = KILN_STATUS_OK;
    if (g) {
        struct kiln_onnx_write_options wo = {.standard_only = a->level <= 1};
        if ((st = kiln_onnx_write(g, out_path, &wo, d)))
            return st;
        printf("wrote %s: optimized ONNX at -O%d, %u nodes\n", out_path, a->level,
               kiln_pass_live_nodes(g));
        return KILN_STATUS_OK;
    }
    if (strcmp(a->emit, "c") == 0) {
        char name[80];
        bool created = false;
        if (a->name)
            snprintf(name, sizeof name, "%s", a->name);
        else
            default_name(a->model, name, sizeof name);
        if (mkdir(out_path, 0777) == 0)
            created = true; /* removed again if the emitter fails (it leaves no files) */
        else if (errno != EEXIST)
            st = kiln_diag_set(d, KILN_STATUS_IO, NULL, NULL, "cannot create the folder: %s",
                               strerror(errno));
        if (!st) {
            struct kiln_emit_c_options eo = {name, out_path,
                                             a->weights && strcmp(a->weights, "bin") == 0
                                                 ? KILN_EMIT_WEIGHTS_BIN
                                                 : KILN_EMIT_WEIGHTS_C,
                                             a->with_main};
            st = kiln_emit_c(c, &eo, d);
            if (st && created)
                rmdir(out_path);
        }
        if (!st)
            printf("wrote %s/%s.h and %s.c: weights %llu bytes, arena %llu bytes\n", out_path,
                   name, name, (unsigned long long)c->prog.weights_size,
                   (unsigned long long)c->prog.arena_size);
        return st;
    }
    void *buf = NULL;
    size_t len = 0;
    st = kiln_bundle_build(&c->prog, &c->plan, &buf, &len, d);
    if (!st && !(st = kiln_bundle_save(out_path, buf, len, d)))
        printf("wrote %s: %zu bytes (weights %llu, %u nodes, arena %llu bytes)\n", out_path, len,
               (unsigned long long)c->prog.weights_size, c->prog.n_nodes,
               (unsigned long long)c->prog.arena_size);
    free(buf);
    return st;
}

int kiln_cmd_compile(int argc, char **argv)
{
    struct compile_args a = {.emit = "kiln", .level = 2};
    int rc = parse_compile(argc, argv, &a);
    if (rc != CLI_OK) {
        free(a.shapes.v), free(a.values.v);
        return rc < 0 ? CLI_OK : rc;
    }
    char *out_path = a.output ? strdup(a.output) : default_output(a.model);
    struct kiln_diag d;
    kiln_diag_clear(&d);
    struct kiln_pass_report report;
    memset(&report, 0, sizeof report);
    struct kiln_compile_options co = {.model = a.model, .level = a.level, .report = &report};
    struct kiln_prune_options po;
    struct kiln_prune_report prep;
    memset(&prep, 0, sizeof prep);
    if (a.prune || a.prune_norm) {
        if (kiln_prune_parse(a.prune ? a.prune : "", a.prune_norm, &po, &d)) {
            rc = cli_usage_error(kiln_usage_compile, d.message, NULL);
            free(out_path), free(a.shapes.v), free(a.values.v);
            return rc;
        }
        co.prune = &po;
        co.prune_report = &prep;
    }
    co.import = (struct kiln_import_options){a.shapes.v, a.shapes.n, a.values.v, a.values.n,
                                             a.max_memory};
    bool onnx = strcmp(a.emit, "onnx") == 0; /* the graph, not a program */
    struct kiln_ir_graph *g = NULL;
    struct kiln_compiled *c = NULL;
    if (!out_path) {
        fprintf(stderr, "kiln: error: out of memory\n");
        rc = CLI_ERROR;
    } else {
        enum kiln_status st = kiln_compile_model(&co, onnx ? &g : NULL, onnx ? NULL : &c, &d);
        if (a.report && co.prune && !st)
            kiln_prune_report_print(stdout, &prep);
        if (a.report && report.passes) /* also when lowering failed after the passes */
            kiln_pass_report_print(stdout, &report);
        if (st)
            rc = cli_error(a.model, &d);
        else if (emit(&a, g, c, out_path, &d))
            rc = cli_error(d.file[0] ? d.file : (d.status == KILN_STATUS_IO ? out_path : a.model),
                           &d);
    }
    kiln_pass_report_free(&report);
    kiln_prune_report_free(&prep);
    kiln_compiled_free(c);
    kiln_ir_graph_free(g);
    free(out_path);
    free(a.shapes.v), free(a.values.v);
    return rc;
}
