/* pass.h - the optimization pipeline: what a pass receives, how it reports what it changed,
 * and the graph-editing helpers passes share. Passes run on an inferred graph (every value
 * typed and shaped) and must leave it inferred, topologically sorted and verifiable: the
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

/* ---- graph editing ---- */
/* Live (not dead) nodes of g. */
uint32_t kiln_pass_live_nodes(const struct kiln_ir_graph *g);
/* Makes every reader of `from` (node inputs in every scope, subgraph outputs) read `to`.
 * Graph outputs of the main graph keep their value (their names are the model's API): returns
 * false, changing nothing, when `from` is one. */
bool kiln_pass_replace_uses(struct kiln_ir_graph *g, struct kiln_ir_value *from,
                            struct kiln_ir_value *to);
/* Re-runs the op's inference on a rewritten node (inputs changed, attributes edited). */
enum kiln_status kiln_pass_reinfer(struct kiln_pass_ctx *c, struct kiln_ir_node *n);
/* Removes dead nodes from g->nodes, re-sorts, recounts uses. */
enum kiln_status kiln_pass_compact(struct kiln_pass_ctx *c);
/* A new value with a name not used in g ("base", "base_1", ...). */
struct kiln_ir_value *kiln_pass_new_value(struct kiln_ir_graph *g, const char *base);
/* The only node reading v, or NULL when v has several readers or is a graph output. */
struct kiln_ir_node *kiln_pass_sole_user(const struct kiln_ir_graph *g,
                                         const struct kiln_ir_value *v);

#endif
