/* bench.h - `kiln bench` as a library: configurations ("O0,O2,O2+int8"), interleaved timing with
 * an injectable clock, latency statistics, output comparison (max abs error, SQNR, top-1),
 * per-op profiles, and the writers (text, Markdown, JSON, SVG, Chrome trace). The CLI in
 * tools/cli/cmd_bench.c only parses options and calls kiln_bench_run + a writer; the tests
 * call the pieces directly. */
#ifndef KILN_BENCH_H
#define KILN_BENCH_H

#include <stdbool.h>
#include <stdio.h>

#include "compiler.h"

/* ---- configurations ---- */

/* One column of the comparison: "O2", "O2+int8", "O1+prune:0.5", "O2+simd:portable". */
struct kiln_bench_config {
    char label[64];
    int opt_level;  /* -O level, 0..3 */
    bool int8, fp16;
    double prune;   /* fraction of channels removed (--prune channels:R), 0: none */
    int simd;       /* float32 GEMM variant (enum kiln_gemm_isa) + 1; 0: the process default */
};

/* Parses a comma-separated list of labels; a label joins features with '+': O0..O3 (default
 * O0), int8, fp16, prune:FRACTION, simd:portable|avx2|avx512 (the float32 GEMM's micro-kernel,
 * switched process-wide before each of the config's runs; UNSUPPORTED when this CPU lacks it).
 * *out is malloc'd. INVALID_ARG for a malformed, unknown or
 * repeated label or feature; UNSUPPORTED, naming the feature, for one kiln does not have yet. */
enum kiln_status kiln_bench_parse_configs(const char *list, struct kiln_bench_config **out,
                                          size_t *n, struct kiln_diag *d);

/* ---- clock and statistics ---- */

/* Monotonic time in nanoseconds; user is the clock's own state. */
typedef uint64_t (*kiln_bench_clock_fn)(void *user);
uint64_t kiln_bench_clock_monotonic(void *user); /* CLOCK_MONOTONIC */

/* Latency statistics in ms. median: the middle sample, or the mean of the two middle ones for
 * an even count; p90/p99: nearest rank (the smallest sample with at least p% of the samples
 * at or below it, i.e. sorted[ceil(p/100 * n) - 1]). */
struct kiln_bench_stats {
    double min, median, p90, p99, max, mean;
    uint32_t n;
};
void kiln_bench_stats_compute(const double *samples, size_t n, struct kiln_bench_stats *s);
/* Nearest-rank percentile of n sorted samples (p in (0, 100]). */
double kiln_bench_percentile(const double *sorted, size_t n, double p);

/* Runs items 0..n_items-1 one after the other, round by round (so drift and noise hit every
 * item alike): `warmup` untimed rounds, then `repeat` timed ones. samples_ms[item * repeat + r]
 * gets round r of item. progress (may be NULL) is called after each round. */
struct kiln_bench_timer {
    kiln_bench_clock_fn clock; /* NULL: monotonic */
    void *clock_user;
    enum kiln_status (*run)(void *user, size_t item);
    void *user;
    void (*progress)(void *user, uint32_t round, uint32_t rounds);
    void *progress_user;
};
enum kiln_status kiln_bench_time_interleaved(const struct kiln_bench_timer *t, size_t n_items,
                                             uint32_t warmup, uint32_t repeat,
                                             double *samples_ms);

/* ---- output comparison ---- */

/* Signal-to-quantization-noise ratio of x against ref in dB: 10 log10(sum ref^2 / sum
 * (ref - x)^2). INFINITY when x == ref exactly; -INFINITY when ref is all zeros but x is not. */
double kiln_bench_sqnr_db(const double *ref, const double *x, size_t n);
double kiln_bench_max_abs_diff(const double *ref, const double *x, size_t n);
/* Index of the largest element (the first one on ties); NaN never wins. */
size_t kiln_bench_argmax(const double *v, size_t n);
/* Widens n elements of a tensor to double (false for a dtype that is not a number). */
bool kiln_bench_to_f64(const void *data, int dtype, size_t n, double *out);

/* ---- the benchmark ---- */

/* --input-range [NAME=]LO,HI: random values of that input are drawn from [LO, HI). */
struct kiln_bench_range {
    const char *name; /* NULL: every input */
    double lo, hi;
};

struct kiln_bench_options {
    const char *model;
    const struct kiln_bench_config *configs; /* the first is the baseline */
    size_t n_configs;
    const char *const *inputs; /* "[NAME=]FILE.npy", bound by kiln_inputs_bind (driver.h) */
    size_t n_inputs;
    const struct kiln_bench_range *ranges;
    size_t n_ranges;
    const struct kiln_input_shape *shapes;
    size_t n_shapes;
    const int64_t *batches; /* NULL/0: the model's own batch only */
    size_t n_batches;
    const char *eval_x, *eval_y; /* both or neither */
    uint32_t repeat, warmup; /* repeat 0: as many runs as fit about 3 s, from 5 to 50 */
    uint32_t threads;        /* timed runs on a pool of this many threads; 0 or 1: one */
    uint64_t seed;
    bool measure_rss;   /* fork a child per config for its peak resident memory */
    uint32_t profile_runs; /* hooked runs per config for the per-op breakdown; 0: none */
    kiln_bench_clock_fn clock; /* NULL: monotonic */
    void *clock_user;
    /* progress: called between phases and rounds (may be NULL) */
    void (*progress)(void *user, const char *phase, uint32_t done, uint32_t total);
    void *progress_user;
};

/* One node's run in a profiled run: a Chrome trace "X" event. */
struct kiln_bench_event {
    char name[96];
    const char *op; /* static (kiln_op_name) */
    double ts_us, dur_us; /* from the start of the run */
};
/* Time per op type over the main schedule (a control-flow node includes its blocks). */
struct kiln_bench_op_time {
    const char *op;
    double ms;      /* per run: the median over the profiled runs */
    uint32_t nodes; /* nodes of this op in the schedule */
};

struct kiln_bench_batch_result {
    int64_t batch;
    bool ok;
    char note[256]; /* why this batch size has no figure */
    struct kiln_bench_stats lat;
    double items_per_s; /* batch / median latency */
};

struct kiln_bench_output_diff {
    char name[128];
    double max_abs, sqnr_db;
    int64_t top1_same, top1_total; /* rows of a score vector [K] or [N,K]; total 0: not one */
};

struct kiln_bench_row {
    struct kiln_bench_config cfg;
    double compile_ms; /* kiln_infer + kiln_optimize + kiln_lower at the first batch size */
    uint32_t n_nodes;
    uint64_t arena_bytes, weights_bytes;
    int64_t code_bytes;     /* machine code of the kernels the program calls; -1 unknown */
    int64_t peak_rss_bytes; /* -1: not measured */
    struct kiln_bench_batch_result *batches; /* n_batches of the result */
    struct kiln_bench_output_diff *diffs;    /* n_outputs of the result */
    double max_abs, sqnr_db;   /* worst over the outputs */
    int64_t top1_same, top1_total; /* over the outputs' score rows (or the eval set) */
    int64_t eval_correct, eval_total; /* total 0: no --eval */
    struct kiln_bench_op_time *ops;
    size_t n_ops;
    struct kiln_bench_event *events; /* the last profiled run */
    size_t n_events;
};

struct kiln_bench_result {
    char model[512];
    char inputs_desc[1024]; /* "'x' float32[1,3,32,32] random in [-1,1) (seed 1)" */
    uint32_t repeat, warmup, threads, profile_runs;
    uint64_t seed;
    double import_ms;
    int64_t all_kernels_code_bytes; /* every kernel of the runtime; -1 unknown */
    int64_t *batches;
    size_t n_batches;
    uint32_t n_outputs;
    struct kiln_bench_row *rows;
    size_t n_rows;
};

/* Compiles every config, times them interleaved, compares outputs with the first config,
 * profiles, and fills r (free with kiln_bench_result_free, also after a failure). */
enum kiln_status kiln_bench_run(const struct kiln_bench_options *o, struct kiln_bench_result *r,
                                struct kiln_diag *d);
void kiln_bench_result_free(struct kiln_bench_result *r);

/* Profiles one run of p with the per-node hook: *events (malloc'd, *n of them, at most cap;
 * nodes of blocks included, nested in their control-flow node), and the total in ms. op_ms
 * (NULL, or KILN_OP_COUNT entries) accumulates the time of the main schedule's nodes by op. */
enum kiln_status kiln_bench_profile_run(const struct kiln_program *p, void *arena,
                                        const void *const inputs[], void *const outputs[],
                                        kiln_bench_clock_fn clock, void *clock_user,
                                        size_t cap, struct kiln_bench_event **events, size_t *n,
                                        double *op_ms, double *total_ms);

/* Code sizes of functions of this executable (addresses as integers) from its ELF symbol
 * table: sizes[i] is -1 when unknown (stripped binary, not ELF, not a function start). */
void kiln_bench_function_sizes(const uintptr_t *addr, size_t n, int64_t *sizes);

/* ---- writers ---- */
void kiln_bench_write_text(FILE *f, const struct kiln_bench_result *r);
void kiln_bench_write_markdown(FILE *f, const struct kiln_bench_result *r);
void kiln_bench_write_json(FILE *f, const struct kiln_bench_result *r);
/* latency and sizes per config as bars, per-op time as stacked bars; self-contained SVG */
void kiln_bench_write_svg(FILE *f, const struct kiln_bench_result *r);
/* Chrome trace event format: {"traceEvents": [...]} with one process per (name, events). */
struct kiln_bench_trace {
    const char *process;
    const struct kiln_bench_event *events;
    size_t n;
};
void kiln_bench_write_trace(FILE *f, const struct kiln_bench_trace *t, size_t n);

#endif
