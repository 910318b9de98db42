/* edit.h - the one graph-editing API of the passes: finding producers and readers, matching
 * constants, creating values and nodes, editing attributes and inputs, handing a value to the
 * node that replaces a chain, rewiring readers and re-inferring a rewritten node. Everything new
 * lives in the graph arena and is freed with the graph. Constants are never edited in place: a
 * rewrite makes a new value, because the old one may be shared by other nodes. */
#ifndef KILN_PASS_EDIT_H
#define KILN_PASS_EDIT_H

#include "ops/ops.h"
#include "pass.h"

/* ---- finding ---- */
/* The first live node of g at index *i or after it, moving *i past it; NULL at the end. Passes
 * walk the graph with `for (uint32_t i = 0; (n = kiln_edit_next_live(g, &i));)`, which also
 * visits nodes appended during the walk. */
static inline struct kiln_ir_node *kiln_edit_next_live(const struct kiln_ir_graph *g, uint32_t *i)
{
    while (*i < g->n_nodes) {
        struct kiln_ir_node *n = g->nodes[(*i)++];
        if (!n->dead)
            return n;
    }
    return NULL;
}
/* The live node computing v, or NULL: for graph inputs, for constants (initializers, and values
 * evaluated at compile time even while the node that made them is still listed: a reader sees
 * the data, not the computation) and when v's producer is dead. */
struct kiln_ir_node *kiln_edit_producer(const struct kiln_ir_value *v);
/* kiln_edit_producer(v) when it is of op `op`, else NULL. */
struct kiln_ir_node *kiln_edit_producer_op(const struct kiln_ir_value *v, enum kiln_op op);
/* The first live node other than `except` (may be NULL) that reads v as an input, in graph
 * order; readers inside subgraphs are not seen. */
struct kiln_ir_node *kiln_edit_reader(const struct kiln_ir_graph *g, const struct kiln_ir_value *v,
                                      const struct kiln_ir_node *except);
/* The only node reading v, or NULL when v has several readers, is read from a subgraph only or
 * is a graph output. n_uses must be current: the passes recount after every rewrite. */
struct kiln_ir_node *kiln_edit_sole_user(const struct kiln_ir_graph *g,
                                         const struct kiln_ir_value *v);
/* kiln_edit_sole_user(g, v) when it is of op `op` (NULL for a NULL v). */
struct kiln_ir_node *kiln_edit_sole_user_op(const struct kiln_ir_graph *g,
                                            const struct kiln_ir_value *v, enum kiln_op op);
/* For a two-input node reading v: the other input; NULL if v is not one of them. */
struct kiln_ir_value *kiln_edit_other(const struct kiln_ir_node *n, const struct kiln_ir_value *v);
/* Both shapes known (rank >= 0) and equal: same rank, same dims. The dtype is not compared. */
bool kiln_edit_same_shape(const struct kiln_ir_value *a, const struct kiln_ir_value *b);
/* kiln_edit_same_shape and the same dtype. */
bool kiln_edit_same_type(const struct kiln_ir_value *a, const struct kiln_ir_value *b);

/* ---- constants ---- */
/* v is a constant of dtype `dtype`, which is float32 or float64 (the types the folds rewrite). */
bool kiln_edit_is_float_const(const struct kiln_ir_value *v, int dtype);
/* Element i of a float32/float64 constant as double; kiln_edit_set stores x rounded to v's type. */
double kiln_edit_get(const struct kiln_ir_value *v, int64_t i);
void kiln_edit_set(struct kiln_ir_value *v, int64_t i, double x);
/* v is a float32/float64 constant of one element: *out receives it (rounded to float). */
bool kiln_edit_scalar(const struct kiln_ir_value *v, float *out);
/* v is a one-element constant close to want (1e-4 relative: exporters round constants). */
bool kiln_edit_scalar_is(const struct kiln_ir_value *v, float want);

/* ---- new values ---- */
/* A new value with a name not used in g ("base", "base_1", ...); NULL on OOM. */
struct kiln_ir_value *kiln_edit_new_value(struct kiln_ir_graph *g, const char *base);
/* A new constant (initializer) of dtype and shape, data zeroed in the graph arena and writable
 * through kiln_edit_set; NULL on OOM. */
struct kiln_ir_value *kiln_edit_new_const(struct kiln_ir_graph *g, const char *base, int dtype,
                                          int rank, const int64_t *dims);
/* A new int64 vector constant holding vals[0..n). */
struct kiln_ir_value *kiln_edit_new_ints(struct kiln_ir_graph *g, const char *base,
                                         const int64_t *vals, int64_t n);

/* ---- attributes ---- */
/* Integer attribute `name` of n, or def when absent or not an integer. */
int64_t kiln_edit_attr_int(const struct kiln_ir_node *n, const char *name, int64_t def);
/* Set (replace, keeping its place, or append) an attribute; arrays and strings are copied into
 * the arena. false on OOM. */
bool kiln_edit_set_int(struct kiln_ir_graph *g, struct kiln_ir_node *n, const char *name,
                       int64_t v);
bool kiln_edit_set_float(struct kiln_ir_graph *g, struct kiln_ir_node *n, const char *name,
                         float v);
bool kiln_edit_set_string(struct kiln_ir_graph *g, struct kiln_ir_node *n, const char *name,
                          const char *v);
bool kiln_edit_set_ints(struct kiln_ir_graph *g, struct kiln_ir_node *n, const char *name,
                        const int64_t *v, size_t count);
bool kiln_edit_set_floats(struct kiln_ir_graph *g, struct kiln_ir_node *n, const char *name,
                          const float *v, size_t count);

/* ---- nodes ---- */
/* A new node of kiln op `op` (type name op_type) named "<base>/<suffix>", with n_in NULL inputs
 * and one output slot, still empty (kiln_edit_take_output fills it), appended to g: the pipeline
 * re-sorts after the pass. domain "kiln" for kiln's own ops. NULL on OOM. */
struct kiln_ir_node *kiln_edit_new_node(struct kiln_ir_graph *g, const char *base,
                                        const char *suffix, enum kiln_op op, const char *op_type,
                                        const char *domain, uint32_t n_in);
/* Turns n into op (ONNX name op_type, default domain) with no attributes and n_in NULL inputs;
 * its outputs stay. false on OOM. */
bool kiln_edit_become(struct kiln_ir_graph *g, struct kiln_ir_node *n, enum kiln_op op,
                      const char *op_type, uint32_t n_in);
/* Gives n exactly n_in inputs: the first ones kept, new ones NULL. false on OOM. */
bool kiln_edit_resize_inputs(struct kiln_ir_graph *g, struct kiln_ir_node *n, uint32_t n_in);
/* Makes `by` produce y (as its output 0) in place of y's producer, which the caller marks dead
 * together with the rest of the chain `by` replaces. y keeps its name and readers, so a graph
 * output stays one. by's previous output 0, when it has one and produced it, is orphaned: no
 * producer and n_uses 0 (its readers must all be dying). */
void kiln_edit_take_output(struct kiln_ir_node *by, struct kiln_ir_value *y);
/* Makes every reader of `from` (node inputs in every scope, subgraph outputs) read `to`.
 * Graph outputs of the main graph keep their value (their names are the model's API): returns
 * false, changing nothing, when `from` is one. */
bool kiln_edit_replace_uses(struct kiln_ir_graph *g, struct kiln_ir_value *from,
                            struct kiln_ir_value *to);
/* Removes n, whose output 0 equals its input 0 (a copy, an identity view), by making its
 * readers read the input; false, changing nothing, when the output is a graph output. */
bool kiln_edit_bypass(struct kiln_ir_graph *g, struct kiln_ir_node *n);
/* Re-runs the op's inference on a rewritten node (inputs changed, attributes edited). */
enum kiln_status kiln_edit_reinfer(struct kiln_pass_ctx *c, struct kiln_ir_node *n);

/* ---- Reshape ---- */
/* Gives the Reshape n input x and y's dims as its target: a new constant input (opset >= 5)
 * or the shape attribute (before). false on OOM. */
bool kiln_edit_reshape_to(struct kiln_ir_graph *g, struct kiln_ir_node *n, struct kiln_ir_value *x,
                          const struct kiln_ir_value *y);
/* A new Reshape node reading x and producing y (whose dtype and dims must be set: they are the
 * target shape), with its shape as a constant input (opset >= 5) or attribute; not inferred
 * yet (kiln_edit_reinfer it once x is typed). NULL on OOM. */
struct kiln_ir_node *kiln_edit_new_reshape(struct kiln_ir_graph *g, const char *name,
                                           struct kiln_ir_value *x, struct kiln_ir_value *y);

#endif
