/* inspect.h - a model summary for `kiln inspect`: inputs and outputs, op histogram, parameter
 * count, MACs, activation bytes and the ops kiln does not support. Computed from an inferred
 * graph, or from the imported graph alone when inference failed (then MACs and activation
 * sizes are unknown). Printers for text and JSON. */
#ifndef KILN_INSPECT_H
#define KILN_INSPECT_H

#include <stdio.h>

#include "compiler.h"

struct kiln_summary_op {
    const char *op_type, *domain; /* point into the graph */
    uint32_t count;
    bool unsupported;
    const char **nodes; /* unsupported ops only: the node names (count of them), malloc'd */
};

/* A layer whose constant float weight (input 1 of Conv, ConvTranspose, Gemm, MatMul) has
 * zeros: how many, and whether kiln stores it sparse (kiln_gemm_sparse_weight). */
struct kiln_summary_sparse {
    const char *name, *op_type; /* point into the graph */
    uint64_t weights, zeros;
    bool sparse_kernel;
};

/* Pointers into the graph: it must outlive the summary. */
struct kiln_summary {
    const struct kiln_ir_graph *g;
    bool inferred;           /* shapes, MACs and activations are known */
    const char *note;        /* why inference failed (caller's string), or NULL */
    uint32_t n_nodes;
    struct kiln_summary_op *ops; /* sorted by count, descending, then name */
    uint32_t n_ops, n_unsupported;
    uint64_t params;        /* elements of initializers and Constant outputs */
    uint64_t param_bytes;
    uint64_t macs;          /* sum of the ops' macs hooks (inferred only) */
    uint64_t activation_bytes; /* non-constant values produced by nodes, graph outputs
                                * excluded (inferred only) */
    uint64_t layer_weights, layer_zeros; /* every layer with a constant float weight */
    struct kiln_summary_sparse *sparse;  /* those layers with zeros, in graph order */
    uint32_t n_sparse;
};

/* inferred: kiln_infer succeeded on g. note: kept as is (e.g. the inference error). */
enum kiln_status kiln_summary_compute(const struct kiln_ir_graph *g, bool inferred,
                                      const char *note, struct kiln_summary *s,
                                      struct kiln_diag *d);
void kiln_summary_free(struct kiln_summary *s);

void kiln_summary_print_text(const struct kiln_summary *s, FILE *f);
void kiln_summary_print_json(const struct kiln_summary *s, FILE *f);
/* Writes s as a JSON string literal (quotes included), escaping as RFC 8259 requires. */
void kiln_json_string(FILE *f, const char *s);

/* Prints the plan of p (from the planner, or kiln_plan_from_program for a loaded bundle) as a
 * table or JSON: each buffer, then the tensors it holds when several share it or it is a
 * control node's scratch (its blocks' tensors); the report when lower_bound is not 0. */
enum kiln_status kiln_plan_print(const struct kiln_program *p, const struct kiln_plan *plan,
                                 bool json, FILE *f, struct kiln_diag *d);

#endif
