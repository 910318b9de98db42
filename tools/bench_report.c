/* bench_report.c - the writers of `kiln bench`: aligned text and Markdown tables (one grid of
 * cells, two renderings), JSON (schema in docs/bench-json.md and docs/bench.schema.json), a
 * self-contained SVG (bars for latency and sizes, stacked per-op time) and Chrome trace events.
 * Ratios are against the first config: speedup = baseline median / median, sizes = size /
 * baseline size. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "inspect.h"

/* ---- formatting helpers ---- */

static const char *kib(double bytes, char *buf, size_t size)
{
    if (bytes < 0)
        snprintf(buf, size, "n/a");
    else if (bytes >= 10 * 1024.0 * 1024.0)
        snprintf(buf, size, "%.1f MiB", bytes / (1024.0 * 1024.0));
    else
        snprintf(buf, size, "%.1f KiB", bytes / 1024.0);
    return buf;
}

/* size / baseline size as "(0.50x)"; "" when either is unknown or the baseline is 0 */
static const char *size_ratio(double v, double base, char *buf, size_t size)
{
    if (v < 0 || base <= 0)
        buf[0] = '\0';
    else
        snprintf(buf, size, " (%.2fx)", v / base);
    return buf;
}

static const char *sqnr_str(double db, char *buf, size_t size)
{
    if (isinf(db) && db > 0)
        snprintf(buf, size, "inf");
    else if (isnan(db))
        snprintf(buf, size, "nan");
    else
        snprintf(buf, size, "%.1f", db);
    return buf;
}

static const char *maxabs_str(double v, char *buf, size_t size)
{
    if (isnan(v))
        snprintf(buf, size, "nan");
    else if (v == 0)
        snprintf(buf, size, "0");
    else
        snprintf(buf, size, "%.2e", v);
    return buf;
}

/* ---- a grid of cells, rendered as aligned text or Markdown ---- */

#define CELL 64

struct grid {
    size_t rows, cols;
    char *cells; /* rows * cols * CELL */
};

static bool grid_init(struct grid *g, size_t rows, size_t cols)
{
    g->rows = rows;
    g->cols = cols;
    g->cells = calloc(rows * cols, CELL);
    return g->cells != NULL;
}

static char *cell(struct grid *g, size_t r, size_t c)
{
    return g->cells + (r * g->cols + c) * CELL;
}

static void grid_print(FILE *f, struct grid *g, bool markdown)
{
    size_t *w = calloc(g->cols, sizeof *w);
    if (!w)
        return;
    for (size_t r = 0; r < g->rows; r++)
        for (size_t c = 0; c < g->cols; c++) {
            size_t l = strlen(cell(g, r, c));
            if (l > w[c])
                w[c] = l;
        }
    for (size_t r = 0; r < g->rows; r++) {
        for (size_t c = 0; c < g->cols; c++) {
            /* the label column reads left to right, numbers line up on the right */
            if (markdown)
                fprintf(f, "| %s ", cell(g, r, c));
            else if (c == 0)
                fprintf(f, "%-*s", (int)w[c], cell(g, r, c));
            else
                fprintf(f, "  %*s", (int)w[c], cell(g, r, c));
        }
        fprintf(f, markdown ? "|\n" : "\n");
        if (markdown && r == 0) {
            for (size_t c = 0; c < g->cols; c++)
                fprintf(f, c == 0 ? "|---" : "|---:");
            fprintf(f, "|\n");
        }
    }
    free(w);
}

static bool any_eval(const struct kiln_bench_result *r)
{
    for (size_t c = 0; c < r->n_rows; c++)
        if (r->rows[c].eval_total)
            return true;
    return false;
}

/* Speed: config, nodes, compile, median (speedup), min, p90, p99, items/s per batch size. */
static bool speed_grid(const struct kiln_bench_result *r, struct grid *g)
{
    size_t cols = 8 + r->n_batches;
    if (!grid_init(g, r->n_rows + 1, cols))
        return false;
    const struct kiln_bench_stats *base = &r->rows[0].batches[0].lat;
    /* one unit per table, from the baseline: microseconds for sub-millisecond models */
    bool us = base->median < 1.0;
    double k_unit = us ? 1000.0 : 1.0;
    const char *unit = us ? "us" : "ms";
    const char *head[] = {"config", "nodes", "compile ms", "median", "speedup", "min", "p90",
                          "p99"};
    for (size_t c = 0; c < 8; c++)
        snprintf(cell(g, 0, c), CELL, "%s%s%s", head[c], c >= 3 && c != 4 ? " " : "",
                 c >= 3 && c != 4 ? unit : "");
    for (size_t b = 0; b < r->n_batches; b++)
        snprintf(cell(g, 0, 8 + b), CELL, "items/s b=%lld", (long long)r->batches[b]);
    for (size_t i = 0; i < r->n_rows; i++) {
        const struct kiln_bench_row *row = &r->rows[i];
        const struct kiln_bench_stats *s = &row->batches[0].lat;
        size_t k = i + 1;
        snprintf(cell(g, k, 0), CELL, "%s", row->cfg.label);
        snprintf(cell(g, k, 1), CELL, "%u", row->n_nodes);
        snprintf(cell(g, k, 2), CELL, "%.2f", row->compile_ms);
        snprintf(cell(g, k, 3), CELL, "%.3f", s->median * k_unit);
        snprintf(cell(g, k, 4), CELL, "%.2fx", s->median > 0 ? base->median / s->median : 0);
        snprintf(cell(g, k, 5), CELL, "%.3f", s->min * k_unit);
        snprintf(cell(g, k, 6), CELL, "%.3f", s->p90 * k_unit);
        snprintf(cell(g, k, 7), CELL, "%.3f", s->p99 * k_unit);
        for (size_t b = 0; b < r->n_batches; b++) {
            const struct kiln_bench_batch_result *br = &row->batches[b];
            if (br->ok)
                snprintf(cell(g, k, 8 + b), CELL, br->items_per_s < 100 ? "%.2f" : "%.0f",
                         br->items_per_s);
            else
                snprintf(cell(g, k, 8 + b), CELL, "n/a [%zu]", b);
        }
    }
    return true;
}

/* Size and accuracy: arena, weights, kernel code, peak RSS (with ratios), output difference. */
static bool size_grid(const struct kiln_bench_result *r, struct grid *g)
{
    bool ev = any_eval(r);
    size_t cols = 8 + ev;
    if (!grid_init(g, r->n_rows + 1, cols))
        return false;
    const char *head[] = {"config", "arena", "weights", "kernel code", "peak RSS",
                          "max abs err", "SQNR dB", "top-1 agree", "accuracy"};
    for (size_t c = 0; c < cols; c++)
        snprintf(cell(g, 0, c), CELL, "%s", head[c]);
    const struct kiln_bench_row *b0 = &r->rows[0];
    for (size_t i = 0; i < r->n_rows; i++) {
        const struct kiln_bench_row *row = &r->rows[i];
        size_t k = i + 1;
        char a[32], q[32];
        snprintf(cell(g, k, 0), CELL, "%s", row->cfg.label);
        snprintf(cell(g, k, 1), CELL, "%s%s", kib((double)row->arena_bytes, a, sizeof a),
                 size_ratio((double)row->arena_bytes, (double)b0->arena_bytes, q, sizeof q));
        snprintf(cell(g, k, 2), CELL, "%s%s", kib((double)row->weights_bytes, a, sizeof a),
                 size_ratio((double)row->weights_bytes, (double)b0->weights_bytes, q, sizeof q));
        snprintf(cell(g, k, 3), CELL, "%s%s", kib((double)row->code_bytes, a, sizeof a),
                 size_ratio((double)row->code_bytes, (double)b0->code_bytes, q, sizeof q));
        if (row->peak_rss_bytes < 0)
            snprintf(cell(g, k, 4), CELL, "n/a");
        else
            snprintf(cell(g, k, 4), CELL, "%.1f MiB%s",
                     (double)row->peak_rss_bytes / (1024.0 * 1024.0),
                     size_ratio((double)row->peak_rss_bytes, (double)b0->peak_rss_bytes, q,
                                sizeof q));
        maxabs_str(row->max_abs, cell(g, k, 5), CELL);
        sqnr_str(row->sqnr_db, cell(g, k, 6), CELL);
        if (row->top1_total)
            snprintf(cell(g, k, 7), CELL, "%.1f%% (%lld/%lld)",
                     100.0 * (double)row->top1_same / (double)row->top1_total,
                     (long long)row->top1_same, (long long)row->top1_total);
        else
            snprintf(cell(g, k, 7), CELL, "-");
        if (ev)
            snprintf(cell(g, k, 8), CELL, "%.2f%% (%lld/%lld)",
                     100.0 * (double)row->eval_correct / (double)(row->eval_total ? row->eval_total
                                                                                  : 1),
                     (long long)row->eval_correct, (long long)row->eval_total);
    }
    return true;
}

static void write_notes(FILE *f, const struct kiln_bench_result *r, bool markdown)
{
    for (size_t b = 0; b < r->n_batches; b++)
        for (size_t i = 0; i < r->n_rows; i++)
            if (!r->rows[i].batches[b].ok) {
                fprintf(f, "%s[%zu] batch %lld: %s\n", markdown ? "\n" : "", b,
                        (long long)r->batches[b], r->rows[i].batches[b].note);
                break;
            }
}

static void write_tables(FILE *f, const struct kiln_bench_result *r, bool markdown)
{
    const char *item = markdown ? "- " : "";
    fprintf(f, "%skiln bench %s\n\n", markdown ? "### " : "", r->model);
    fprintf(f, "%sinputs: %s (seed %llu)\n", item, r->inputs_desc, (unsigned long long)r->seed);
    fprintf(f, "%stiming: %u runs per config after %u warm-up, configs interleaved run by "
            "run; %u thread%s; baseline %s (1.00x)\n\n",
            item, r->repeat, r->warmup, r->threads, r->threads == 1 ? "" : "s",
            r->rows[0].cfg.label);
    struct grid g = {0};
    if (speed_grid(r, &g))
        grid_print(f, &g, markdown);
    free(g.cells);
    write_notes(f, r, markdown);
    fprintf(f, "\n");
    if (size_grid(r, &g))
        grid_print(f, &g, markdown);
    free(g.cells);
    char all[32];
    fprintf(f, "\n%skernel code: machine code of the distinct kernel functions the program "
            "calls (ELF symbol sizes in this kiln executable; all kernels of the runtime: %s)\n"
            "%speak RSS: a forked process that loads, compiles and runs the config once\n"
            "%smax abs err, SQNR and top-1 agreement: outputs against %s\n",
            item, kib((double)r->all_kernels_code_bytes, all, sizeof all), item, item,
            r->rows[0].cfg.label);
}

void kiln_bench_write_text(FILE *f, const struct kiln_bench_result *r)
{
    write_tables(f, r, false);
}

void kiln_bench_write_markdown(FILE *f, const struct kiln_bench_result *r)
{
    write_tables(f, r, true);
}

/* ---- JSON ---- */

/* JSON has no inf or nan: those become null (documented per field). */
static void json_num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.9g", v);
    else
        fprintf(f, "null");
}

static void json_ratio(FILE *f, double v, double base)
{
    if (v < 0 || base <= 0)
        fprintf(f, "null");
    else
        json_num(f, v / base);
}

static void json_bytes(FILE *f, int64_t v)
{
    if (v < 0)
        fprintf(f, "null");
    else
        fprintf(f, "%lld", (long long)v);
}

static void json_stats(FILE *f, const struct kiln_bench_stats *s)
{
    const char *names[] = {"min", "median", "p90", "p99", "max", "mean"};
    const double v[] = {s->min, s->median, s->p90, s->p99, s->max, s->mean};
    fprintf(f, "{\"n\": %u", s->n);
    for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) {
        fprintf(f, ", \"%s\": ", names[k]);
        json_num(f, v[k]);
    }
    fprintf(f, "}");
}

static void json_row(FILE *f, const struct kiln_bench_result *r, size_t i)
{
    const struct kiln_bench_row *row = &r->rows[i], *b0 = &r->rows[0];
    const struct kiln_bench_stats *s = &row->batches[0].lat;
    fprintf(f, "    {\"label\": ");
    kiln_json_string(f, row->cfg.label);
    fprintf(f, ", \"opt_level\": %d, \"int8\": %s, \"fp16\": %s, \"prune\": ",
            row->cfg.opt_level, row->cfg.int8 ? "true" : "false",
            row->cfg.fp16 ? "true" : "false");
    json_num(f, row->cfg.prune);
    fprintf(f, ",\n     \"nodes\": %u, \"compile_ms\": ", row->n_nodes);
    json_num(f, row->compile_ms);
    fprintf(f, ",\n     \"latency_ms\": ");
    json_stats(f, s);
    fprintf(f, ", \"speedup\": ");
    json_num(f, s->median > 0 ? b0->batches[0].lat.median / s->median : NAN);
    fprintf(f, ",\n     \"throughput\": [");
    for (size_t b = 0; b < r->n_batches; b++) {
        const struct kiln_bench_batch_result *br = &row->batches[b];
        fprintf(f, "%s{\"batch\": %lld, \"items_per_s\": ", b ? ", " : "",
                (long long)br->batch);
        if (br->ok) {
            json_num(f, br->items_per_s);
            fprintf(f, ", \"latency_ms\": ");
            json_stats(f, &br->lat);
            fprintf(f, ", \"note\": null}");
        } else {
            fprintf(f, "null, \"latency_ms\": null, \"note\": ");
            kiln_json_string(f, br->note);
            fprintf(f, "}");
        }
    }
    fprintf(f, "],\n     \"arena_bytes\": %llu, \"weights_bytes\": %llu, \"code_bytes\": ",
            (unsigned long long)row->arena_bytes, (unsigned long long)row->weights_bytes);
    json_bytes(f, row->code_bytes);
    fprintf(f, ", \"peak_rss_bytes\": ");
    json_bytes(f, row->peak_rss_bytes);
    fprintf(f, ",\n     \"ratios\": {\"arena\": ");
    json_ratio(f, (double)row->arena_bytes, (double)b0->arena_bytes);
    fprintf(f, ", \"weights\": ");
    json_ratio(f, (double)row->weights_bytes, (double)b0->weights_bytes);
    fprintf(f, ", \"code\": ");
    json_ratio(f, (double)row->code_bytes, (double)b0->code_bytes);
    fprintf(f, ", \"peak_rss\": ");
    json_ratio(f, (double)row->peak_rss_bytes, (double)b0->peak_rss_bytes);
    fprintf(f, "},\n     \"max_abs_error\": ");
    json_num(f, row->max_abs);
    fprintf(f, ", \"sqnr_db\": ");
    json_num(f, row->sqnr_db);
    fprintf(f, ", \"identical\": %s, \"top1_agreement\": ",
            row->max_abs == 0 ? "true" : "false");
    if (row->top1_total)
        fprintf(f, "{\"same\": %lld, \"total\": %lld}", (long long)row->top1_same,
                (long long)row->top1_total);
    else
        fprintf(f, "null");
    fprintf(f, ",\n     \"outputs\": [");
    for (uint32_t k = 0; row->diffs && k < r->n_outputs; k++) {
        const struct kiln_bench_output_diff *df = &row->diffs[k];
        fprintf(f, "%s{\"name\": ", k ? ", " : "");
        kiln_json_string(f, df->name);
        fprintf(f, ", \"max_abs_error\": ");
        json_num(f, df->max_abs);
        fprintf(f, ", \"sqnr_db\": ");
        json_num(f, df->sqnr_db);
        fprintf(f, ", \"top1_same\": %lld, \"top1_total\": %lld}", (long long)df->top1_same,
                (long long)df->top1_total);
    }
    fprintf(f, "],\n     \"accuracy\": ");
    if (row->eval_total)
        fprintf(f, "{\"correct\": %lld, \"total\": %lld, \"top1\": %.9g}",
                (long long)row->eval_correct, (long long)row->eval_total,
                (double)row->eval_correct / (double)row->eval_total);
    else
        fprintf(f, "null");
    fprintf(f, ",\n     \"op_times_ms\": [");
    for (size_t k = 0; k < row->n_ops; k++) {
        fprintf(f, "%s{\"op\": ", k ? ", " : "");
        kiln_json_string(f, row->ops[k].op);
        fprintf(f, ", \"ms\": ");
        json_num(f, row->ops[k].ms);
        fprintf(f, ", \"nodes\": %u}", row->ops[k].nodes);
    }
    fprintf(f, "]}");
}

void kiln_bench_write_json(FILE *f, const struct kiln_bench_result *r)
{
    fprintf(f, "{\n  \"schema\": \"kiln-bench/1\",\n  \"model\": ");
    kiln_json_string(f, r->model);
    fprintf(f, ",\n  \"inputs\": ");
    kiln_json_string(f, r->inputs_desc);
    fprintf(f, ",\n  \"seed\": %llu, \"repeat\": %u, \"warmup\": %u, \"threads\": %u, "
            "\"profile_runs\": %u, \"interleaved\": true,\n  \"import_ms\": ",
            (unsigned long long)r->seed, r->repeat, r->warmup, r->threads, r->profile_runs);
    json_num(f, r->import_ms);
    fprintf(f, ",\n  \"batches\": [");
    for (size_t b = 0; b < r->n_batches; b++)
        fprintf(f, "%s%lld", b ? ", " : "", (long long)r->batches[b]);
    fprintf(f, "],\n  \"baseline\": ");
    kiln_json_string(f, r->n_rows ? r->rows[0].cfg.label : "");
    fprintf(f, ",\n  \"code_size_method\": \"elf-symbols: machine code of the distinct kernel "
            "functions the program calls, from the kiln executable's symbol table\",\n"
            "  \"all_kernels_code_bytes\": ");
    json_bytes(f, r->all_kernels_code_bytes);
    fprintf(f, ",\n  \"configs\": [\n");
    for (size_t i = 0; i < r->n_rows; i++) {
        json_row(f, r, i);
        fprintf(f, "%s\n", i + 1 < r->n_rows ? "," : "");
    }
    fprintf(f, "  ]\n}\n");
}

/* ---- Chrome trace ---- */

void kiln_bench_write_trace(FILE *f, const struct kiln_bench_trace *t, size_t n)
{
    fprintf(f, "{\"displayTimeUnit\": \"ms\", \"traceEvents\": [\n");
    bool first = true;
    for (size_t p = 0; p < n; p++) {
        fprintf(f, "%s{\"name\": \"process_name\", \"ph\": \"M\", \"pid\": %zu, \"tid\": 0, "
                "\"args\": {\"name\": ", first ? "" : ",\n", p + 1);
        kiln_json_string(f, t[p].process);
        fprintf(f, "}}");
        first = false;
        for (size_t k = 0; k < t[p].n; k++) {
            const struct kiln_bench_event *e = &t[p].events[k];
            fprintf(f, ",\n{\"name\": ");
            kiln_json_string(f, e->name);
            fprintf(f, ", \"cat\": ");
            kiln_json_string(f, e->op ? e->op : "?");
            fprintf(f, ", \"ph\": \"X\", \"ts\": %.3f, \"dur\": %.3f, \"pid\": %zu, "
                    "\"tid\": 0}", e->ts_us, e->dur_us, p + 1);
        }
    }
    fprintf(f, "\n]}\n");
}

/* ---- SVG ---- */

static void xml_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default:
            if ((unsigned char)*s >= 0x20 || *s == '\t')
                fputc(*s, f);
        }
    }
}

static const char *const palette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                      "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
#define N_COLORS (sizeof palette / sizeof palette[0])

#define SVG_W 960
#define LABEL_W 150
#define BAR_H 18
#define BAR_GAP 6

static void svg_label(FILE *f, double x, double y, const char *anchor, const char *style,
                      const char *text)
{
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\"%s>", x, y, anchor, style);
    xml_text(f, text);
    fprintf(f, "</text>\n");
}

/* A titled panel of one horizontal bar per config: values[i] (< 0: no bar), text[i] beside it. */
static double svg_bars(FILE *f, double x0, double y, double width, const char *title,
                       const struct kiln_bench_result *r, const double *values,
                       char (*text)[64], const char *color)
{
    svg_label(f, x0, y + 14, "start", " class=\"h\"", title);
    y += 24;
    double max = 0;
    for (size_t i = 0; i < r->n_rows; i++)
        if (values[i] > max)
            max = values[i];
    double bw = width - LABEL_W - 150;
    for (size_t i = 0; i < r->n_rows; i++) {
        svg_label(f, x0 + LABEL_W - 8, y + BAR_H - 5, "end", "", r->rows[i].cfg.label);
        double w = max > 0 && values[i] > 0 ? bw * values[i] / max : 0;
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>\n",
                x0 + LABEL_W, y, w, BAR_H, color);
        svg_label(f, x0 + LABEL_W + w + 6, y + BAR_H - 5, "start", "", text[i]);
        y += BAR_H + BAR_GAP;
    }
    return y + 10;
}

/* Op types in the order of their largest time over the configs. */
static size_t svg_op_order(const struct kiln_bench_result *r, const char **ops, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n_rows; i++)
        for (size_t k = 0; k < r->rows[i].n_ops; k++) {
            const char *op = r->rows[i].ops[k].op;
            size_t j = 0;
            while (j < n && strcmp(ops[j], op) != 0)
                j++;
            if (j == n && n < cap)
                ops[n++] = op;
        }
    return n; /* rows' ops are sorted by time: the baseline's order first */
}

static size_t color_of(const char *const *ops, size_t n_ops, const char *op)
{
    for (size_t j = 0; j < n_ops && j < N_COLORS - 1; j++)
        if (strcmp(ops[j], op) == 0)
            return j;
    return N_COLORS - 1; /* "other" */
}

void kiln_bench_write_svg(FILE *f, const struct kiln_bench_result *r)
{
    size_t n = r->n_rows;
    double *vals = calloc(n + 1, sizeof *vals);
    char(*text)[64] = calloc(n + 1, sizeof *text);
    const char *ops[256];
    if (!vals || !text) {
        free(vals), free(text);
        return;
    }
    size_t n_ops = svg_op_order(r, ops, 256);
    bool profiled = n_ops > 0;
    double panel = (double)n * (BAR_H + BAR_GAP) + 34;
    double height = 70 + panel * 4 + (profiled ? panel + 80 : 0);
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%.0f\" "
            "viewBox=\"0 0 %d %.0f\" font-family=\"sans-serif\" font-size=\"12\">\n"
            "<style>.h{font-weight:bold;font-size:13px}.t{font-size:15px;font-weight:bold}"
            "</style>\n<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n",
            SVG_W, height, SVG_W, height);
    char title[700];
    snprintf(title, sizeof title, "kiln bench %s", r->model);
    svg_label(f, 10, 22, "start", " class=\"t\"", title);
    snprintf(title, sizeof title, "%u runs per config after %u warm-up, interleaved; %u "
             "thread%s; baseline %s", r->repeat, r->warmup, r->threads,
             r->threads == 1 ? "" : "s", r->rows[0].cfg.label);
    svg_label(f, 10, 40, "start", "", title);
    double y = 56;
    double base = r->rows[0].batches[0].lat.median;
    for (size_t i = 0; i < n; i++) {
        const struct kiln_bench_stats *s = &r->rows[i].batches[0].lat;
        vals[i] = s->median;
        snprintf(text[i], 64, "%.4f ms (%.2fx)", s->median, s->median > 0 ? base / s->median : 0);
    }
    y = svg_bars(f, 10, y, SVG_W, "median latency (ms; speedup vs baseline)", r, vals, text,
                 palette[0]);
    const char *size_titles[] = {"arena (KiB)", "weights (KiB)", "kernel code (KiB)"};
    for (int m = 0; m < 3; m++) {
        for (size_t i = 0; i < n; i++) {
            const struct kiln_bench_row *row = &r->rows[i];
            double v = m == 0 ? (double)row->arena_bytes
                       : m == 1 ? (double)row->weights_bytes
                                : (double)row->code_bytes;
            double b = m == 0 ? (double)r->rows[0].arena_bytes
                       : m == 1 ? (double)r->rows[0].weights_bytes
                                : (double)r->rows[0].code_bytes;
            vals[i] = v;
            char q[32];
            if (v < 0)
                snprintf(text[i], 64, "n/a");
            else
                snprintf(text[i], 64, "%.1f%s", v / 1024.0, size_ratio(v, b, q, sizeof q));
        }
        y = svg_bars(f, 10, y, SVG_W, size_titles[m], r, vals, text, palette[1 + m]);
    }
    if (profiled) {
        svg_label(f, 10, y + 14, "start", " class=\"h\"",
                  "time per op type (ms per run, from the per-node hook)");
        y += 24;
        double max = 0;
        for (size_t i = 0; i < n; i++) {
            double t = 0;
            for (size_t k = 0; k < r->rows[i].n_ops; k++)
                t += r->rows[i].ops[k].ms;
            if (t > max)
                max = t;
        }
        double bw = SVG_W - LABEL_W - 150;
        for (size_t i = 0; i < n; i++) {
            const struct kiln_bench_row *row = &r->rows[i];
            svg_label(f, 10 + LABEL_W - 8, y + BAR_H - 5, "end", "", row->cfg.label);
            double x = 10 + LABEL_W, t = 0;
            for (size_t k = 0; k < row->n_ops; k++) {
                double w = max > 0 ? bw * row->ops[k].ms / max : 0;
                fprintf(f, "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%d\" "
                        "fill=\"%s\"><title>",
                        x, y, w, BAR_H, palette[color_of(ops, n_ops, row->ops[k].op)]);
                xml_text(f, row->ops[k].op);
                fprintf(f, ": %.4f ms, %u node%s</title></rect>\n", row->ops[k].ms,
                        row->ops[k].nodes, row->ops[k].nodes == 1 ? "" : "s");
                x += w;
                t += row->ops[k].ms;
            }
            char tt[64];
            snprintf(tt, sizeof tt, "%.4f ms", t);
            svg_label(f, x + 6, y + BAR_H - 5, "start", "", tt);
            y += BAR_H + BAR_GAP;
        }
        /* legend */
        double lx = 10 + LABEL_W;
        y += 8;
        for (size_t j = 0; j < n_ops && j < N_COLORS; j++) {
            /* the last colour stands for every op past the first N_COLORS - 1 */
            const char *name = j == N_COLORS - 1 && n_ops > N_COLORS - 1 ? "other" : ops[j];
            double w = 28 + 7.0 * (double)strlen(name); /* about 7 px per character */
            if (lx + w > SVG_W) {
                lx = 10 + LABEL_W;
                y += 18;
            }
            fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" fill=\"%s\"/>\n",
                    lx, y, palette[j]);
            svg_label(f, lx + 16, y + 10, "start", "", name);
            lx += w;
        }
    }
    fprintf(f, "</svg>\n");
    free(vals);
    free(text);
}
