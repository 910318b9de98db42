/* compiler.h - the compiler's entry points used by the CLI, the conformance runner and the
 * tests: ONNX import, shape inference with compile-time evaluation, lowering to a program. */
#ifndef KILN_COMPILER_H
#define KILN_COMPILER_H

#include "ir.h"
#include "plan.h"

/* A user-fixed input shape (--input-shape NAME=1,3,224,224). */
struct kiln_input_shape {
    char name[256];
    int rank;
    int64_t dims[KILN_MAX_RANK];
};

/* A user-fixed input value (--input-value NAME=FILE.npy): the input becomes a constant, so
 * what its value decides (a Reshape target, a Loop's trip count, Slice bounds) is decided at
 * compile time; the model then has one input fewer. */
struct kiln_input_value {
    char name[256];
    const char *path; /* a .npy file of the input's type; its shape fixes symbolic dims */
};

struct kiln_import_options {
    const struct kiln_input_shape *shapes;
    size_t n_shapes;
    const struct kiln_input_value *values;
    size_t n_values;
    /* Bytes the compiler may allocate on behalf of the model (parsing, the graph, folded
     * constants, subgraphs); 0: kiln_default_memory_limit of the file and its external data. */
    uint64_t max_memory;
};

/* Resource limits (docs/robustness.md). The default memory limit is KILN_MEMORY_PER_BYTE
 * times the bytes of the model file and its external data, plus KILN_MEMORY_BASE. */
#define KILN_MEMORY_PER_BYTE 4u
#define KILN_MEMORY_BASE (512ull << 20)
/* Compile-time evaluation materializes no tensor larger than this: a node whose outputs would
 * be is left in the program to run at run time. */
#define KILN_FOLD_MAX_BYTES (64ull << 20)
/* Nor does it run a node whose estimated work (kiln_fold_work) passes this, ~ a second. */
#define KILN_FOLD_MAX_WORK (1ull << 30)
/* Graphs: at most this many nodes in all (subgraphs and model-local functions counted as
 * written), and subgraphs nested at most this deep (the main graph is level 1). Checked on
 * the file's bytes before it is parsed: parsing and every later phase recurse per level. */
#define KILN_MAX_NODES (1u << 19)
#define KILN_MAX_GRAPH_DEPTH 64
/* No tensor may hold more bytes than this (the bundle loader's bound on element counts, 2^60,
 * is of the same order): a shape past it is refused where inference produces it. */
#define KILN_MAX_TENSOR_BYTES (1ull << 60)
static inline uint64_t kiln_default_memory_limit(uint64_t file_bytes)
{
    return file_bytes > (UINT64_MAX - KILN_MEMORY_BASE) / KILN_MEMORY_PER_BYTE
               ? UINT64_MAX
               : KILN_MEMORY_PER_BYTE * file_bytes + KILN_MEMORY_BASE;
}

/* Reads an ONNX model file. External data is resolved against the model's folder and may not
 * leave it. On success *out owns everything (no protobuf object survives). */
enum kiln_status kiln_onnx_load(const char *path, const struct kiln_import_options *opt,
                                struct kiln_ir_graph **out, struct kiln_diag *d);
/* Same, from bytes; base_dir resolves external data (NULL: external data is refused). */
enum kiln_status kiln_onnx_load_buffer(const void *buf, size_t len, const char *path,
                                       const char *base_dir,
                                       const struct kiln_import_options *opt,
                                       struct kiln_ir_graph **out, struct kiln_diag *d);

/* Fixes the input shapes o->shapes names in a loaded graph, with the checks kiln_onnx_load
 * makes (o's values are not applied). */
enum kiln_status kiln_onnx_apply_shapes(struct kiln_ir_graph *g,
                                        const struct kiln_import_options *o, struct kiln_diag *d);

/* A dense tensor read from a file (.pb TensorProto or .npy); data is malloc'd. */
struct kiln_host_tensor {
    int dtype;
    int rank;
    int64_t dims[KILN_MAX_RANK];
    void *data;
    uint64_t nbytes;
    char *name; /* TensorProto name, malloc'd, may be NULL */
};
void kiln_host_tensor_free(struct kiln_host_tensor *t);
/* Reads a serialized TensorProto (the ONNX test data format). */
enum kiln_status kiln_onnx_read_tensor_pb(const char *path, struct kiln_host_tensor *t,
                                          struct kiln_diag *d);

/* Parses "NAME=1,3,224,224" into s (name points into spec). */
enum kiln_status kiln_parse_input_shape(const char *spec, struct kiln_input_shape *s,
                                        struct kiln_diag *d);

/* Applies the fixed input shapes, checks that every input dim is now a number, then infers
 * every node's output types and shapes in order, evaluating nodes whose inputs are all
 * constant with the runtime's kernels. Unknown ops stop inference with an UNSUPPORTED error
 * listing them all (see kiln_unsupported_report). */
enum kiln_status kiln_infer(struct kiln_ir_graph *g, struct kiln_diag *d);

/* Kernel variant for n (by n->kdtype), -1 if the runtime has none. */
int kiln_pick_variant(const struct kiln_ir_node *n);

/* Unsupported ops: writes "Op (node, node, ...); Op2 (...)" into buf; returns their count. */
size_t kiln_unsupported_report(const struct kiln_ir_graph *g, char *buf, size_t size);

/* A program that owns its memory (from lowering). */
struct kiln_compiled {
    struct kiln_program prog;
    /* owned blocks behind prog's pointers */
    void *tensors, *nodes, *io, *inputs, *outputs, *params, *weights, *strings, *blocks;
    struct kiln_plan plan; /* the arena plan, buffer by buffer, and its report; owned */
};

/* Lowers an inferred graph: picks kernel variants, lays out weights, plans the arena (plan.h;
 * the options there turn the plan's optimisations off). */
enum kiln_status kiln_lower(const struct kiln_ir_graph *g, struct kiln_compiled **out,
                            struct kiln_diag *d);
/* Same with options (NULL: the defaults, as kiln_lower). */
enum kiln_status kiln_lower_opts(const struct kiln_ir_graph *g,
                                 const struct kiln_lower_options *opt,
                                 struct kiln_compiled **out, struct kiln_diag *d);
void kiln_compiled_free(struct kiln_compiled *c);

/* Name of program string at offset. */
static inline const char *kiln_prog_str(const struct kiln_program *p, uint32_t off)
{
    return off < p->strings_size ? p->strings + off : "";
}

#endif
