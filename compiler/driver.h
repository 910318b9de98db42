/* driver.h - the one way every command and tool turns an ONNX model into a program (load with
 * fixed input shapes and values, infer, optimize, lower), and the one way .npy files are bound
 * to a model's inputs (kiln run, kiln bench). The pass pipeline is reached through
 * kiln_optimize, declared here and defined in passes/pipeline.c, so that compiler/ needs no
 * passes/ header. */
#ifndef KILN_DRIVER_H
#define KILN_DRIVER_H

#include "compiler.h"
#include "kiln/bundle.h"

struct kiln_pass_report; /* passes/pass.h */

/* Runs every pass of passes/passes.def whose level is <= level (0: none) on an inferred graph.
 * report may be NULL; otherwise free it with kiln_pass_report_free. */
enum kiln_status kiln_optimize(struct kiln_ir_graph *g, int level, struct kiln_pass_report *report,
                               struct kiln_diag *d);
void kiln_pass_report_free(struct kiln_pass_report *r);

/* Pruning (passes/prune.c), run on the inferred graph before the -O pipeline. */
enum kiln_prune_mode {
    KILN_PRUNE_NONE = 0,
    KILN_PRUNE_CHANNELS,  /* structured: whole output channels of Conv/ConvTranspose/Gemm */
    KILN_PRUNE_MAGNITUDE, /* unstructured: the smallest weights of Conv/ConvTranspose/Gemm/MatMul
                           * become zero */
};
struct kiln_prune_options {
    int mode;     /* enum kiln_prune_mode */
    double ratio; /* fraction of the candidate channels (weights) removed, 0 < ratio < 1 */
    bool global;  /* rank channels across layers (scores normalised per group), else per group */
    int norm;     /* 1 or 2: the norm of a channel's weights that ranks it */
};
struct kiln_prune_report; /* passes/prune.h */
/* Parses "channels:R" or "magnitude:S", each optionally followed by ":global" or ":per-layer",
 * and a norm "l1"/"l2" (NULL: l1) into *o. */
enum kiln_status kiln_prune_parse(const char *spec, const char *norm,
                                  struct kiln_prune_options *o, struct kiln_diag *d);
/* Prunes g (inferred) as o says and leaves it inferred; report may be NULL, else free it with
 * kiln_prune_report_free. */
enum kiln_status kiln_prune(struct kiln_ir_graph *g, const struct kiln_prune_options *o,
                            struct kiln_prune_report *report, struct kiln_diag *d);
void kiln_prune_report_free(struct kiln_prune_report *r);

struct kiln_compile_options {
    const char *model;           /* the ONNX file, loaded unless graph is given */
    struct kiln_ir_graph *graph; /* or a graph from kiln_onnx_load, taken over (even on error) */
    /* Loading model: as kiln_onnx_load. With graph: its shapes are applied to it (the same
     * checks); values must be empty (they are frozen while loading). */
    struct kiln_import_options import;
    int level;                              /* -O level, 0..3 */
    struct kiln_pass_report *report;        /* NULL, or what the passes did: filled once the
                                             * pipeline ran through (also when lowering fails
                                             * after it), zeroed otherwise */
    const struct kiln_lower_options *lower; /* NULL: the defaults */
    const struct kiln_prune_options *prune; /* NULL: no pruning */
    struct kiln_prune_report *prune_report; /* NULL, or what pruning did (zeroed otherwise) */
};

/* Loads (or takes) the graph, infers it, optimizes it at o->level and, when out is not NULL,
 * lowers it into *out. graph: NULL, or receives the optimized graph (the caller frees it; with
 * out, the program does not point into it). On error *graph and *out are NULL and d says why. */
enum kiln_status kiln_compile_model(const struct kiln_compile_options *o,
                                    struct kiln_ir_graph **graph, struct kiln_compiled **out,
                                    struct kiln_diag *d);

/* ---- binding input files ---- */

/* A model input as a file is checked against: dims < 0 are symbolic, rank < 0 unknown. */
struct kiln_input_desc {
    const char *name; /* points into the graph or the bundle */
    int dtype, rank;
    int64_t dims[KILN_MAX_RANK];
    char type[256]; /* "float32[N,6]", as messages show it */
};
/* "float32[2,6]": a tensor's element type and shape as messages show them. */
void kiln_tensor_type_str(int dtype, int rank, const int64_t *dims, char *buf, size_t size);
void kiln_input_desc_from_value(const struct kiln_ir_value *v, struct kiln_input_desc *e);
void kiln_input_desc_from_io(const struct kiln_io_info *io, struct kiln_input_desc *e);

/* The files bound to a model's inputs; free with kiln_bound_inputs_free. */
struct kiln_bound_inputs {
    uint32_t n;                       /* the model's inputs */
    struct kiln_host_tensor *tensors; /* [n]: the file's contents, data NULL when not given */
    const char **paths;               /* [n]: the file (points into the arguments) or NULL */
    /* one per bound input: its file's shape. As kiln_import_options.shapes they fix the
     * model's symbolic dims (and an unknown rank) the way --input-shape does. */
    struct kiln_input_shape *shapes;
    size_t n_shapes;
};

/* Binds "[NAME=]FILE.npy" arguments to the n_in inputs in: first those whose NAME is an input
 * (an argument naming none is taken as a path when that file exists, since file names may
 * hold '='), then the others by position. Reads each file and checks its element type and
 * shape against the input; symbolic dims take the file's. require_all: an input without a file
 * is an error. Errors about a file name it in d->file; the others leave d->file empty (the
 * caller names the model). */
enum kiln_status kiln_inputs_bind(const struct kiln_input_desc *in, uint32_t n_in,
                                  const char *const *args, size_t n_args, bool require_all,
                                  struct kiln_bound_inputs *out, struct kiln_diag *d);
void kiln_bound_inputs_free(struct kiln_bound_inputs *b);

#endif
