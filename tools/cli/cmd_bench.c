/* cmd_bench.c - `kiln bench`: compares configurations of one model (-O levels now; int8, fp16
 * and pruning once they exist) side by side: latency, throughput per batch size, sizes, peak
 * memory and output difference from the first config, as a text or Markdown table, JSON, an
 * SVG plot and a Chrome trace. The measuring is in tools/bench.c. */
#include <errno.h>
#include <unistd.h>

#include "bench.h"
#include "cli.h"

const char kiln_usage_bench[] =
    "kiln bench MODEL.onnx [--configs O0,O2,...] [--input [NAME=]X.npy]... "
    "[--input-range [NAME=]LO,HI]... [--input-shape NAME=D0,...]... [--calib X.npy] "
    "[--eval X.npy Y.npy] [--repeat N] [--warmup N] [--batch B1,B2,...] [--threads N] "
    "[--format text|md|json] [--plot FILE.svg] [--trace FILE.json] [--seed N] [--no-rss]";
const char kiln_help_bench[] =
    "usage: kiln bench MODEL.onnx [--configs O0,O2,...] [options]\n"
    "\n"
    "Compiles the model once per configuration and compares them in one process, configs\n"
    "interleaved run by run so machine noise hits all alike. The first config is the\n"
    "baseline (1.00x): speedup = baseline median / median; sizes = size / baseline size.\n"
    "\n"
    "options:\n"
    "  --configs LIST                comma-separated labels, default O0,O2. A label joins\n"
    "                                features with '+': O0, O1, O2, O3 (the -O level), and\n"
    "                                prune:R (--prune channels:R), and once implemented\n"
    "                                int8, fp16 (O2+int8);\n"
    "                                simd:portable|avx2|avx512 runs the float32 GEMM on\n"
    "                                that micro-kernel (default: KILN_SIMD, else the best\n"
    "                                this CPU has), e.g. O2+simd:portable,O2+simd:avx512\n"
    "  --input [NAME=]X.npy          feed this file (by name or position); other inputs get\n"
    "                                seeded random data of the model's shape and type:\n"
    "                                floats in [-1,1), integers in [0,100), bools 0/1\n"
    "  --input-range [NAME=]LO,HI    draw random values of input NAME (all without NAME=)\n"
    "                                from [LO,HI), e.g. token ids below the vocabulary size\n"
    "  --input-shape NAME=D0,D1,...  fix the shape of input NAME; repeatable\n"
    "  --calib X.npy                 calibration data for int8 configs\n"
    "  --eval X.npy Y.npy            top-1 accuracy of output 0 on images X (the input\n"
    "                                stacked on dim 0) against integer labels Y, per config\n"
    "  --repeat N                    timed runs per config (default: as many as fit about\n"
    "                                3 s, from 5 to 50)\n"
    "  --warmup N                    untimed runs per config first (default 3)\n"
    "  --batch B1,B2,...             throughput at these batch sizes (dim 0 of every input\n"
    "                                when it is symbolic); latency is that of the first\n"
    "  --threads N                   time every config on N threads (default 1; the per-op\n"
    "                                profile runs on one)\n"
    "  --format text|md|json         output on stdout (default text; JSON schema in\n"
    "                                docs/bench-json.md)\n"
    "  --plot FILE.svg               latency, sizes and time per op type as an SVG\n"
    "  --trace FILE.json             per-node timings of one run per config (Chrome trace\n"
    "                                event format: chrome://tracing, Perfetto)\n"
    "  --seed N                      seed of the random inputs (default 1)\n"
    "  --no-rss                      skip the peak-memory measurement (a forked run per config)\n"
    "  -h, --help                    print this help\n";

#define MAX_COUNT 1000000L

struct bench_args {
    const char *model, *configs, *format, *plot, *trace, *calib, *eval_x, *eval_y;
    const char **inputs; /* "[NAME=]FILE.npy" */
    size_t n_inputs;
    struct kiln_bench_range *ranges;
    size_t n_ranges;
    struct cli_shapes shapes;
    int64_t *batches;
    size_t n_batches;
    long repeat, warmup, seed, threads;
    bool no_rss;
};

/* "[NAME=]LO,HI" */
static bool parse_range(char *spec, struct kiln_bench_range *r)
{
    char *eq = strrchr(spec, '=');
    char *nums = spec;
    r->name = NULL;
    if (eq) {
        *eq = '\0';
        r->name = spec;
        nums = eq + 1;
        if (!r->name[0])
            return false;
    }
    char *end;
    r->lo = strtod(nums, &end);
    if (end == nums || *end != ',')
        return false;
    char *hs = end + 1;
    r->hi = strtod(hs, &end);
    return end != hs && !*end && r->hi > r->lo;
}

static bool parse_batches(const char *s, struct bench_args *a)
{
    size_t cap = 1;
    for (const char *p = s; *p; p++)
        cap += *p == ',';
    free(a->batches);
    if (!(a->batches = calloc(cap, sizeof *a->batches)))
        return false;
    a->n_batches = 0;
    for (const char *p = s;;) {
        char *end;
        if (*p < '0' || *p > '9')
            return false;
        long long v = strtoll(p, &end, 10);
        if (v < 1 || v > 1000000 || (*end && *end != ','))
            return false;
        a->batches[a->n_batches++] = v;
        if (!*end)
            return true;
        p = end + 1;
    }
}

static int parse_args(int argc, char **argv, struct bench_args *a)
{
    memset(a, 0, sizeof *a);
    a->repeat = 0; /* auto */
    a->warmup = 3;
    a->threads = 1;
    a->seed = 1;
    a->configs = "O0,O2";
    a->format = "text";
    a->inputs = calloc((size_t)argc, sizeof *a->inputs);
    a->ranges = calloc((size_t)argc, sizeof *a->ranges);
    if (!a->inputs || !a->ranges) {
        fprintf(stderr, "kiln: error: out of memory\n");
        return CLI_ERROR;
    }
    const char *u = kiln_usage_bench;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *val = NULL;
        int m, rc = CLI_OK;
        if (cli_is_help(arg)) {
            fputs(kiln_help_bench, stdout);
            return -1;
        }
        if ((m = cli_opt_value(argc, argv, &i, "--input-shape", &val)) > 0)
            rc = cli_add_shape(&a->shapes, val, u);
        else if (m == 0 && (m = cli_opt_value(argc, argv, &i, "--input-range", &val)) > 0) {
            if (!parse_range((char *)val, &a->ranges[a->n_ranges++])) /* argv is writable */
                rc = cli_usage_error(u, "--input-range needs [NAME=]LO,HI with LO < HI, got",
                                     val);
        } else if (m == 0 && (m = cli_opt_value(argc, argv, &i, "--input", &val)) > 0) {
            a->inputs[a->n_inputs++] = val;
        } else if (m == 0 && (m = cli_opt_value(argc, argv, &i, "--configs", &val)) > 0)
            a->configs = val;
        else if (m == 0 && (m = cli_opt_value(argc, argv, &i, "--calib", &val)) > 0)
            a->calib = val;
        else if (m == 0 && (m = cli_opt_value(argc, argv, &i, "--eval", &val)) > 0) {
            a->eval_x = val;
            if (i + 1 >= argc || argv[i + 1][0] == '-')
                rc = cli_usage_error(u, "--eval needs two files: images X.npy and labels Y.npy",
                                     NULL);
            else
                a->eval_y = argv[++i];
        } else if (m == 0 && (m = cli_opt_value(argc, argv, &i, "--repeat", &val)) > 0) {
            if (!cli_parse_count(val, MAX_COUNT, &a->repeat) || a->repeat < 1)
                rc = cli_usage_error(u, "--repeat needs a count from 1 to 1000000, got", val);
        } else if (m == 0 && (m = cli_opt_value(argc, argv, &i, "--warmup", &val)) > 0) {
            if (!cli_parse_count(val, MAX_COUNT, &a->warmup))
                rc = cli_usage_error(u, "--warmup needs a count from 0 to 1000000, got", val);
        } else if (m == 0 && (m = cli_opt_value(argc, argv, &i, "--seed", &val)) > 0) {
            if (!cli_parse_count(val, 2147483647L, &a->seed))
                rc = cli_usage_error(u, "--seed needs a non-negative number, got", val);
        } else if (m == 0 && (m = cli_opt_value(argc, argv, &i, "--batch", &val)) > 0) {
            if (!parse_batches(val, a))
                rc = cli_usage_error(u, "--batch needs sizes from 1 to 1000000 like 1,8,32, got",
                                     val);
        } else if (m == 0 && (m = cli_opt_value(argc, argv, &i, "--threads", &val)) > 0) {
            if (!cli_parse_count(val, CLI_MAX_THREADS, &a->threads) || a->threads < 1)
                rc = cli_usage_error(u, "--threads needs a count from 1 to 64, got", val);
        } else if (m == 0 && (m = cli_opt_value(argc, argv, &i, "--format", &val)) > 0) {
            if (strcmp(val, "text") && strcmp(val, "md") && strcmp(val, "markdown") &&
                strcmp(val, "json"))
                rc = cli_usage_error(u, "--format is text, md or json, got", val);
            a->format = val;
        } else if (m == 0 && (m = cli_opt_value(argc, argv, &i, "--plot", &val)) > 0)
            a->plot = val;
        else if (m == 0 && (m = cli_opt_value(argc, argv, &i, "--trace", &val)) > 0)
            a->trace = val;
        else if (m == 0 && strcmp(arg, "--no-rss") == 0)
            a->no_rss = true;
        else if (m < 0)
            rc = cli_usage_error(u, "missing value for", arg);
        else if (arg[0] == '-' && arg[1])
            rc = cli_usage_error(u, "unknown option", arg);
        else if (a->model)
            rc = cli_usage_error(u, "more than one model given:", arg);
        else
            a->model = arg;
        if (rc != CLI_OK)
            return rc;
    }
    if (!a->model)
        return cli_usage_error(u, "no model given", NULL);
    return CLI_OK;
}

int cli_write_file(const char *path, void (*write)(FILE *, const void *), const void *arg)
{
    size_t len = strlen(path) + 16;
    char *tmp = malloc(len);
    if (!tmp) {
        fprintf(stderr, "kiln: error: out of memory\n");
        return CLI_ERROR;
    }
    snprintf(tmp, len, "%s.tmpXXXXXX", path);
    int fd = mkstemp(tmp);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    int rc = CLI_OK;
    if (!f) {
        fprintf(stderr, "kiln: error: %s: cannot create: %s\n", path, strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(tmp);
        }
        free(tmp);
        return CLI_ERROR;
    }
    write(f, arg);
    if (ferror(f) | fclose(f)) {
        fprintf(stderr, "kiln: error: %s: cannot write: %s\n", path, strerror(errno));
        rc = CLI_ERROR;
    } else if (rename(tmp, path) != 0) {
        fprintf(stderr, "kiln: error: %s: cannot rename %s into place: %s\n", path, tmp,
                strerror(errno));
        rc = CLI_ERROR;
    }
    if (rc)
        unlink(tmp);
    free(tmp);
    return rc;
}

static void write_svg(FILE *f, const void *r)
{
    kiln_bench_write_svg(f, r);
}

static void write_trace(FILE *f, const void *arg)
{
    const struct kiln_bench_result *r = arg;
    struct kiln_bench_trace *t = calloc(r->n_rows + 1, sizeof *t);
    if (!t)
        return;
    for (size_t i = 0; i < r->n_rows; i++)
        t[i] = (struct kiln_bench_trace){r->rows[i].cfg.label, r->rows[i].events,
                                         r->rows[i].n_events};
    kiln_bench_write_trace(f, t, r->n_rows);
    free(t);
}

/* One progress line on stderr, rewritten in place; only on a terminal. */
static void show_progress(void *user, const char *phase, uint32_t done, uint32_t total)
{
    (void)user;
    fprintf(stderr, "\r\033[Kkiln bench: %s %u/%u", phase, done, total);
    fflush(stderr);
}

int kiln_cmd_bench(int argc, char **argv)
{
    struct bench_args a;
    struct kiln_bench_config *cfg = NULL;
    size_t n_cfg = 0;
    struct kiln_bench_result res;
    memset(&res, 0, sizeof res);
    int rc = parse_args(argc, argv, &a);
    if (rc != CLI_OK)
        goto out;
    struct kiln_diag d;
    kiln_diag_clear(&d);
    if (kiln_bench_parse_configs(a.configs, &cfg, &n_cfg, &d)) {
        rc = d.status == KILN_STATUS_INVALID_ARG ? cli_usage_error(kiln_usage_bench, d.message,
                                                                   NULL)
                                                 : cli_error(a.model, &d);
        goto out;
    }
    if (a.calib) {
        rc = cli_usage_error(kiln_usage_bench, "--calib is for int8 configs only; none is "
                             "given", NULL);
        goto out;
    }
    bool tty = isatty(STDERR_FILENO);
    struct kiln_bench_options o = {
        .model = a.model,
        .configs = cfg,
        .n_configs = n_cfg,
        .inputs = a.inputs,
        .n_inputs = a.n_inputs,
        .ranges = a.ranges,
        .n_ranges = a.n_ranges,
        .shapes = a.shapes.v,
        .n_shapes = a.shapes.n,
        .batches = a.batches,
        .n_batches = a.n_batches,
        .eval_x = a.eval_x,
        .eval_y = a.eval_y,
        .repeat = (uint32_t)a.repeat,
        .warmup = (uint32_t)a.warmup,
        .threads = (uint32_t)a.threads,
        .seed = (uint64_t)a.seed,
        .measure_rss = !a.no_rss,
        .profile_runs = 5,
        .progress = tty ? show_progress : NULL,
    };
    enum kiln_status st = kiln_bench_run(&o, &res, &d);
    if (tty)
        fprintf(stderr, "\r\033[K");
    if (st) {
        rc = cli_error(a.model, &d);
        goto out;
    }
    if (strcmp(a.format, "json") == 0)
        kiln_bench_write_json(stdout, &res);
    else if (a.format[0] == 'm')
        kiln_bench_write_markdown(stdout, &res);
    else
        kiln_bench_write_text(stdout, &res);
    if (a.plot && (rc = cli_write_file(a.plot, write_svg, &res)))
        goto out;
    if (a.trace && (rc = cli_write_file(a.trace, write_trace, &res)))
        goto out;
    if (fflush(stdout) != 0) {
        fprintf(stderr, "kiln: error: cannot write the results: %s\n", strerror(errno));
        rc = CLI_ERROR;
    }
out:
    kiln_bench_result_free(&res);
    free(cfg);
    free(a.inputs), free(a.ranges), free(a.shapes.v), free(a.batches);
    return rc < 0 ? CLI_OK : rc;
}
