/* ir.h - the compiler's graph: values, nodes, attributes, and the bump arena that owns them.
 * A graph owns everything reachable from it through its arena; freeing the graph frees all.
 * Nodes are kept in topological order once kiln_ir_toposort() has succeeded. */
#ifndef KILN_IR_H
#define KILN_IR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kiln/kiln.h"
#include "kiln/ops.h"

/* ---- bump arena ---- */
struct kiln_arena_chunk;
struct kiln_arena {
    struct kiln_arena_chunk *head;
    size_t total; /* bytes handed out, for reporting */
    /* The compile-time memory limit (kiln_import_options.max_memory): an arena with a budget
     * charges its allocations to that arena (a subgraph's to its root graph's), and the budget
     * arena refuses any that would take its charge past limit (0: none); refused keeps the
     * size of the first one refused, for the message (kiln_arena_explain). */
    struct kiln_arena *budget;
    uint64_t limit, charged, refused;
    /* a default limit grows by this many bytes per byte of external data the model loads */
    uint32_t grow_per_byte;
};
void *kiln_arena_alloc(struct kiln_arena *a, size_t size); /* 16-aligned, zeroed; NULL on OOM */
void *kiln_arena_alloc_aligned(struct kiln_arena *a, size_t size, size_t align);
char *kiln_arena_strdup(struct kiln_arena *a, const char *s);
char *kiln_arena_strndup(struct kiln_arena *a, const char *s, size_t n);
void kiln_arena_free(struct kiln_arena *a);
/* When d holds an out-of-memory error and a's budget refused an allocation, rewrites the
 * message to say that the memory limit was reached (the node d names stays). */
void kiln_arena_explain(const struct kiln_arena *a, struct kiln_diag *d);

/* ---- values ---- */
struct kiln_ir_node;

struct kiln_ir_value {
    const char *name;
    int dtype;                       /* enum kiln_dtype; 0 until known */
    int rank;                        /* -1 until known */
    int64_t dims[KILN_MAX_RANK];     /* -1 for a dim that is not (yet) a number */
    const char *dim_param[KILN_MAX_RANK]; /* symbolic name of a dim, NULL if none */
    float scale;                     /* quantization, per tensor; 0 = none */
    int32_t zero_point;
    const void *data;                /* constant contents (initializer or folded), or NULL */
    struct kiln_ir_node *producer;   /* NULL for graph inputs and initializers */
    struct kiln_ir_graph *owner;     /* graph (or subgraph) whose scope defines the name */
    uint32_t n_uses;                 /* node inputs + graph outputs reading it */
    uint32_t id;
    int declared_dtype;              /* element type the model declares for a graph output */
    bool is_input, is_output, is_initializer;
    /* dims are upper bounds; a run finds the extents from the data (NonZero, Unique, ...,
     * and the ops that consume such values): see runtime/dims.c */
    bool runtime_dims;
};

bool kiln_ir_value_shape_known(const struct kiln_ir_value *v);
int64_t kiln_ir_value_numel(const struct kiln_ir_value *v);  /* -1 if unknown */
uint64_t kiln_ir_value_nbytes(const struct kiln_ir_value *v); /* 0 if unknown */
/* "float32[1,3,224,224]" into buf. */
const char *kiln_ir_value_type_str(const struct kiln_ir_value *v, char *buf, size_t size);

/* ---- attributes ---- */
enum kiln_attr_type {
    KILN_ATTR_UNDEFINED = 0,
    KILN_ATTR_FLOAT = 1, /* numbers match AttributeProto.AttributeType */
    KILN_ATTR_INT = 2,
    KILN_ATTR_STRING = 3,
    KILN_ATTR_TENSOR = 4,
    KILN_ATTR_GRAPH = 5,
    KILN_ATTR_FLOATS = 6,
    KILN_ATTR_INTS = 7,
    KILN_ATTR_STRINGS = 8,
    KILN_ATTR_TENSORS = 9,
    KILN_ATTR_GRAPHS = 10,
    KILN_ATTR_SPARSE_TENSOR = 11,
    KILN_ATTR_SPARSE_TENSORS = 12,
    KILN_ATTR_TYPE_PROTO = 13,
    KILN_ATTR_TYPE_PROTOS = 14,
};

struct kiln_ir_attr {
    const char *name;
    enum kiln_attr_type type;
    int64_t i;
    float f;
    const char *s; /* NUL-terminated copy; s_len holds the real length. STRINGS: the n
                    * strings, each NUL-terminated, back to back (s_len bytes in all) */
    size_t s_len;
    int64_t *ints;
    float *floats;
    size_t n; /* element count of ints/floats */
    struct kiln_ir_value *t; /* TENSOR: a constant value not registered in the graph */
    struct kiln_ir_graph *g; /* GRAPH: a subgraph (If branches, Loop and Scan bodies) */
    const void *pending;     /* importer-private while the subgraph is being read */
};

/* ---- nodes ---- */
struct kiln_ir_node {
    const char *name;    /* never NULL; imported nodes without a name get "<op>_<index>" */
    const char *op_type; /* as written in the model */
    const char *domain;  /* "" for the default domain */
    enum kiln_op op;
    struct kiln_ir_value **in; /* NULL entries: omitted optional inputs */
    uint32_t n_in;             /* including n_implicit */
    /* Outer-scope values that the node's subgraphs read: the last n_implicit entries of in[],
     * so ordering, liveness and lowering see them as ordinary inputs. */
    uint32_t n_implicit;
    struct kiln_ir_value **out; /* NULL entries: omitted optional outputs */
    uint32_t n_out;
    struct kiln_ir_attr *attrs;
    uint32_t n_attrs;
    /* Filled by shape inference (the op's infer hook) for lowering: */
    void *params; /* the kernel's parameter struct (include/kiln/params.h) */
    uint32_t params_size;
    uint64_t scratch_size; /* bytes of per-call scratch the kernel needs */
    int kdtype;            /* element type that selects the kernel variant */
    /* bit j: input j, an operand ONNX allows to be computed at run time, was constant and
     * folded into params, so lowering omits it like ops.def's compile-time inputs (Clip's
     * bounds); an operand that is not constant is passed to the kernel */
    uint32_t folded_in;
    uint32_t id;
    bool dead;
};

struct kiln_ir_graph {
    struct kiln_arena arena;
    struct kiln_ir_node **nodes;
    uint32_t n_nodes, cap_nodes;
    struct kiln_ir_value **values;
    uint32_t n_values, cap_values;
    struct kiln_ir_value **inputs; /* real inputs (initializers excluded) */
    uint32_t n_inputs;
    struct kiln_ir_value **outputs;
    uint32_t n_outputs;
    /* name -> value hash (open addressing) */
    struct kiln_ir_value **map;
    uint32_t map_cap;
    int64_t opset;           /* default-domain opset version */
    int64_t ir_version;
    const char *path;        /* file the graph came from, for messages */
    /* Subgraphs: a subgraph has its own names, nodes, inputs and outputs; its values take ids
     * from the root graph (ids are unique across all scopes) and are also listed there. */
    struct kiln_ir_graph *parent, *root;
    struct kiln_ir_graph **subs; /* owned subgraphs, freed with this graph */
    uint32_t n_subs;
    const char *producer;    /* producer_name + version */
    /* An If branch that shape inference refused for the input shapes being compiled, while the
     * If's condition is a run-time value: why (a message naming the refused node). Lowering
     * compiles the branch as "fails the run with this message"; NULL otherwise. */
    const char *refused;
    const char *graph_name;
};

struct kiln_ir_graph *kiln_ir_graph_new(void);
/* A subgraph of parent (owned and freed by parent). */
struct kiln_ir_graph *kiln_ir_subgraph_new(struct kiln_ir_graph *parent);
/* True if v is defined in g or one of g's ancestors' scopes visible from g. */
bool kiln_ir_in_scope_of(const struct kiln_ir_graph *g, const struct kiln_ir_graph *owner);
void kiln_ir_graph_free(struct kiln_ir_graph *g);

/* Looks a value up by name in g's scope, then in its ancestors'; NULL if absent. */
struct kiln_ir_value *kiln_ir_find(const struct kiln_ir_graph *g, const char *name);
/* Creates a new value; NULL if the name exists already or on OOM. */
struct kiln_ir_value *kiln_ir_value_new(struct kiln_ir_graph *g, const char *name);
/* A value outside the graph's name table (attribute tensors, temporaries). */
struct kiln_ir_value *kiln_ir_value_detached(struct kiln_ir_graph *g, const char *name);
struct kiln_ir_node *kiln_ir_node_new(struct kiln_ir_graph *g, const char *name,
                                      const char *op_type, const char *domain, uint32_t n_in,
                                      uint32_t n_out);

/* ONNX op type -> enum (default domain, or "kiln": the exporter's domain for nodes with fused
 * attributes names the same ops); KILN_OP_UNKNOWN if kiln has no entry. */
enum kiln_op kiln_ir_op_lookup(const char *domain, const char *op_type);

/* Topologically sorts g->nodes; on a cycle, names a node on it. */
enum kiln_status kiln_ir_toposort(struct kiln_ir_graph *g, struct kiln_diag *d);
/* Structural checks: every input defined before use, single producer, no cycle, graph outputs
 * defined, known dtypes consistent with producers. Run after import and after every pass. */
enum kiln_status kiln_ir_verify(const struct kiln_ir_graph *g, struct kiln_diag *d);
/* Turns graph input `index` into a constant holding a copy of data (its dims must already be
 * fixed): a compile-time specialisation for inputs that decide shapes. */
enum kiln_status kiln_ir_freeze_input(struct kiln_ir_graph *g, uint32_t index, const void *data,
                                      struct kiln_diag *d);
/* Recomputes n_uses of every value. */
void kiln_ir_count_uses(struct kiln_ir_graph *g);

/* ---- attribute access (with the node's name in any error) ---- */
const struct kiln_ir_attr *kiln_ir_attr(const struct kiln_ir_node *n, const char *name);

#endif
