/* pipeline.c - runs the passes of passes.def in order at a -O level, records what each did,
 * checks the graph after every pass in debug builds, and compacts the graph after each (the
 * editing API the passes use is edit.h). */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "pass.h"

static const struct {
    const char *name;
    int level;
    kiln_pass_fn fn;
} pipeline[] = {
#define KILN_PASS(name, level, fn, what) {#name, level, fn},
#include "passes.def"
#undef KILN_PASS
};

#define N_PASSES (sizeof pipeline / sizeof pipeline[0])

uint32_t kiln_pass_live_nodes(const struct kiln_ir_graph *g)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < g->n_nodes; i++)
        n += !g->nodes[i]->dead;
    return n;
}

void kiln_pass_log(struct kiln_pass_ctx *c, const char *fmt, ...)
{
    struct kiln_pass_stats *s = c->stats;
    if (!s)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    size_t len = strlen(line) + 1;
    if (s->log_len + len > s->log_cap) {
        size_t cap = s->log_cap ? s->log_cap * 2 : 1024;
        while (cap < s->log_len + len)
            cap *= 2;
        char *p = realloc(s->log, cap);
        if (!p)
            return; /* the report loses a line; the optimization itself is unaffected */
        s->log = p;
        s->log_cap = cap;
    }
    memcpy(s->log + s->log_len, line, len);
    s->log_len += len;
    s->n_lines++;
}

enum kiln_status kiln_pass_compact(struct kiln_pass_ctx *c)
{
    struct kiln_ir_graph *g = c->g;
    uint32_t m = 0;
    for (uint32_t i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i]->dead)
            g->nodes[m++] = g->nodes[i];
    g->n_nodes = m;
    enum kiln_status st = kiln_ir_toposort(g, c->d);
    if (!st)
        kiln_ir_count_uses(g);
    return st;
}

void kiln_pass_report_free(struct kiln_pass_report *r)
{
    if (!r)
        return;
    for (uint32_t i = 0; i < r->n; i++)
        free(r->passes[i].log);
    free(r->passes);
    memset(r, 0, sizeof *r);
}

void kiln_pass_report_print(FILE *f, const struct kiln_pass_report *r)
{
    fprintf(f, "%-14s %s\n", "pass", "nodes");
    for (uint32_t i = 0; i < r->n; i++) {
        const struct kiln_pass_stats *s = &r->passes[i];
        fprintf(f, "%-14s %u -> %u\n", s->name, s->nodes_before, s->nodes_after);
        const char *line = s->log;
        for (uint32_t k = 0; k < s->n_lines; k++) {
            fprintf(f, "    %s\n", line);
            line += strlen(line) + 1;
        }
    }
    fprintf(f, "%-14s %u -> %u\n", "total", r->nodes_before, r->nodes_after);
}

/* The rewriting passes match and re-infer static shapes. Nodes that read or write values whose
 * extents depend on the data (and the graph outputs they produce) are set aside while those
 * passes run, and the static values they read are pinned like graph outputs, so that no pass
 * sees, fuses away or renames anything that region uses. */
struct aside {
    struct kiln_ir_node **nodes; /* set-aside nodes, in order */
    uint32_t n_nodes;
    struct kiln_ir_value **pinned; /* values marked is_output here */
    uint32_t n_pinned;
    struct kiln_ir_value **outputs; /* the graph's outputs */
    uint32_t n_outputs;
};

static bool touches_runtime_dims(const struct kiln_ir_node *n)
{
    for (uint32_t j = 0; j < n->n_in; j++)
        if (n->in[j] && n->in[j]->runtime_dims)
            return true;
    for (uint32_t o = 0; o < n->n_out; o++)
        if (n->out[o] && n->out[o]->runtime_dims)
            return true;
    return false;
}

static enum kiln_status set_aside(struct kiln_ir_graph *g, struct aside *a, struct kiln_diag *d)
{
    uint32_t nn = g->n_nodes, nv = 0;
    for (uint32_t i = 0; i < nn; i++)
        nv += g->nodes[i]->n_in;
    a->nodes = malloc((nn + 1) * sizeof *a->nodes);
    a->pinned = malloc((nv + 1) * sizeof *a->pinned);
    a->outputs = malloc((g->n_outputs + 1) * sizeof *a->outputs);
    if (!a->nodes || !a->pinned || !a->outputs)
        return kiln_diag_set(d, KILN_STATUS_NO_MEMORY, NULL, NULL, "out of memory");
    uint32_t kept = 0;
    for (uint32_t i = 0; i < nn; i++) {
        struct kiln_ir_node *n = g->nodes[i];
        if (!touches_runtime_dims(n)) {
            g->nodes[kept++] = n;
            continue;
        }
        a->nodes[a->n_nodes++] = n;
        for (uint32_t j = 0; j < n->n_in; j++) {
            struct kiln_ir_value *v = n->in[j];
            if (v && !v->is_output && !v->runtime_dims) {
                v->is_output = true;
                a->pinned[a->n_pinned++] = v;
            }
        }
    }
    g->n_nodes = kept;
    memcpy(a->outputs, g->outputs, g->n_outputs * sizeof *a->outputs);
    a->n_outputs = g->n_outputs;
    uint32_t ko = 0;
    for (uint32_t i = 0; i < g->n_outputs; i++) {
        const struct kiln_ir_value *v = g->outputs[i];
        if (!v->runtime_dims && !(v->producer && touches_runtime_dims(v->producer)))
            g->outputs[ko++] = g->outputs[i];
    }
    g->n_outputs = ko;
    kiln_ir_count_uses(g);
    return KILN_STATUS_OK;
}

static enum kiln_status put_back(struct kiln_ir_graph *g, struct aside *a, struct kiln_diag *d)
{
    enum kiln_status st = KILN_STATUS_OK;
    for (uint32_t i = 0; i < a->n_pinned; i++)
        a->pinned[i]->is_output = false;
    if (a->outputs) {
        memcpy(g->outputs, a->outputs, a->n_outputs * sizeof *a->outputs);
        g->n_outputs = a->n_outputs;
    }
    if (a->n_nodes) {
        uint32_t need = g->n_nodes + a->n_nodes;
        if (need > g->cap_nodes) {
            struct kiln_ir_node **p = realloc(g->nodes, need * sizeof *p);
            if (!p)
                st = kiln_diag_set(d, KILN_STATUS_NO_MEMORY, NULL, NULL, "out of memory");
            else
                g->nodes = p, g->cap_nodes = need;
        }
        if (!st) {
            memcpy(g->nodes + g->n_nodes, a->nodes, a->n_nodes * sizeof *a->nodes);
            g->n_nodes = need;
            st = kiln_ir_toposort(g, d);
        }
    }
    kiln_ir_count_uses(g);
    free(a->nodes), free(a->pinned), free(a->outputs);
    memset(a, 0, sizeof *a);
    return st;
}

enum kiln_status kiln_optimize(struct kiln_ir_graph *g, int level, struct kiln_pass_report *report,
                               struct kiln_diag *d)
{
    if (report) {
        memset(report, 0, sizeof *report);
        report->passes = calloc(N_PASSES, sizeof *report->passes);
        if (!report->passes)
            return kiln_diag_set(d, KILN_STATUS_NO_MEMORY, NULL, NULL, "out of memory");
        report->nodes_before = report->nodes_after = kiln_pass_live_nodes(g);
    }
    kiln_ir_count_uses(g);
    struct aside aside = {0};
    bool aside_done = false;
    enum kiln_status st = KILN_STATUS_OK;
    for (size_t i = 0; i < N_PASSES && !st; i++) {
        if (pipeline[i].level > level)
            continue;
        if (pipeline[i].level > 1 && !aside_done) { /* after the cleanup */
            aside_done = true;
            if ((st = set_aside(g, &aside, d)))
                break;
        }
        struct kiln_pass_stats *s = report ? &report->passes[report->n++] : NULL;
        struct kiln_pass_ctx c = {.g = g, .d = d, .level = level, .stats = s};
        if (s) {
            s->name = pipeline[i].name;
            s->nodes_before = kiln_pass_live_nodes(g) + aside.n_nodes;
        }
        st = pipeline[i].fn(&c);
        if (!st)
            st = kiln_pass_compact(&c);
#ifndef NDEBUG
        if (!st)
            st = kiln_ir_verify(g, d);
#endif
        if (s)
            s->nodes_after = kiln_pass_live_nodes(g) + aside.n_nodes;
    }
    enum kiln_status st2 = put_back(g, &aside, d);
    if (st || st2)
        return st ? st : st2;
#ifndef NDEBUG
    if ((st = kiln_ir_verify(g, d)))
        return st;
#endif
    if (report)
        report->nodes_after = kiln_pass_live_nodes(g);
    return KILN_STATUS_OK;
}
