/* pass.h - the optimization pipeline: what a pass receives and how it reports what it changed
 * (passes edit the graph through edit.h). Passes run on an inferred graph (every value typed
 * and shaped) and must leave it inferred, topologically sorted and verifiable: the
 * pipeline checks that after every pass in debug builds. The list is passes/passes.def. */
#ifndef KILN_PASS_H
#define KILN_PASS_H

#include <stdio.h>

#include "driver.h"

/* What one pass did: node counts and a line per rewrite ("fused Conv 'c1' + Relu 'r1'"). */
struct kiln_pass_stats {
    const char *name;
    uint32_t nodes_before, nodes_after;
    char *log; /* NUL-separated lines, n_lines of them; malloc'd */
    size_t log_len, log_cap;
    uint32_t n_lines;
};

struct kiln_pass_report {
    struct kiln_pass_stats *passes;
    uint32_t n;
    uint32_t nodes_before, nodes_after; /* the whole pipeline */
};

struct kiln_pass_ctx {
    struct kiln_ir_graph *g;
    struct kiln_diag *d;
    int level;                    /* -O level the pipeline runs at */
    struct kiln_pass_stats *stats; /* may be NULL */
};

typedef enum kiln_status (*kiln_pass_fn)(struct kiln_pass_ctx *c);

#define KILN_PASS(name, level, fn, what) enum kiln_status fn(struct kiln_pass_ctx *c);
#include "passes.def"
#undef KILN_PASS

/* kiln_optimize and kiln_pass_report_free are declared in driver.h */
/* "pass      nodes  before -> after" and each logged rewrite, indented. */
void kiln_pass_report_print(FILE *f, const struct kiln_pass_report *r);

/* Appends a line to the current pass's log. */
void kiln_pass_log(struct kiln_pass_ctx *c, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Live (not dead) nodes of g. */
uint32_t kiln_pass_live_nodes(const struct kiln_ir_graph *g);
/* Removes dead nodes from g->nodes, re-sorts, recounts uses: the pipeline's step after every
 * pass. */
enum kiln_status kiln_pass_compact(struct kiln_pass_ctx *c);

#endif
