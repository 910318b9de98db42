/* fuse.h - helpers shared by the fusion and pattern passes (fuse_*.c, *_pattern.c,
 * approximate.c): matching constants and single-reader chains, setting attributes, and moving
 * a value from the node that produced it to the node that replaces a fused chain. */
#ifndef KILN_PASS_FUSE_H
#define KILN_PASS_FUSE_H

#include "ops/fused.h"
#include "ops/ops.h"
#include "pass.h"

/* The live node producing v, or NULL (inputs, constants). */
struct kiln_ir_node *kiln_fuse_producer(const struct kiln_ir_value *v);
/* The live node producing v when it is of type op. */
struct kiln_ir_node *kiln_fuse_producer_op(const struct kiln_ir_value *v, enum kiln_op op);
/* The only live reader of v when it is of type op (v is not a graph output). n_uses must be
 * current: the passes recount after every rewrite. */
struct kiln_ir_node *kiln_fuse_sole_user_op(const struct kiln_ir_graph *g,
                                            const struct kiln_ir_value *v, enum kiln_op op);
/* v is a constant float32/float64 tensor of one element: *out receives it. */
bool kiln_fuse_scalar(const struct kiln_ir_value *v, float *out);
/* v is a one-element constant close to want (1e-4 relative: exporters round constants). */
bool kiln_fuse_scalar_is(const struct kiln_ir_value *v, float want);
/* For a two-input node reading v: the other input; NULL if v is not one of them. */
struct kiln_ir_value *kiln_fuse_other(const struct kiln_ir_node *n, const struct kiln_ir_value *v);
/* Same dtype, rank and dims. */
bool kiln_fuse_same_type(const struct kiln_ir_value *a, const struct kiln_ir_value *b);

/* Sets (replaces or appends) an attribute of n; memory from the graph's arena. */
bool kiln_fuse_set_int(struct kiln_ir_graph *g, struct kiln_ir_node *n, const char *name,
                       int64_t v);
bool kiln_fuse_set_float(struct kiln_ir_graph *g, struct kiln_ir_node *n, const char *name,
                         float v);
bool kiln_fuse_set_string(struct kiln_ir_graph *g, struct kiln_ir_node *n, const char *name,
                          const char *v);
bool kiln_fuse_set_ints(struct kiln_ir_graph *g, struct kiln_ir_node *n, const char *name,
                        const int64_t *v, size_t count);
bool kiln_fuse_set_floats(struct kiln_ir_graph *g, struct kiln_ir_node *n, const char *name,
                          const float *v, size_t count);

/* A new node of kiln op `op` (type name from ops.def) named "<base>/<suffix>", with n_in inputs
 * and one output, appended to g (the pipeline re-sorts after the pass). domain "kiln" for
 * kiln's own ops. */
struct kiln_ir_node *kiln_fuse_new_node(struct kiln_ir_graph *g, const char *base,
                                        const char *suffix, enum kiln_op op, const char *op_type,
                                        const char *domain, uint32_t n_in);
/* Makes n produce y as its output 0 (y's old producer is being removed by the caller); n's
 * previous output value is left without a producer and unused. */
void kiln_fuse_take_output(struct kiln_ir_node *n, struct kiln_ir_value *y);
/* Replaces n's inputs by the count values of in (arena copy). */
bool kiln_fuse_set_inputs(struct kiln_ir_graph *g, struct kiln_ir_node *n,
                          struct kiln_ir_value *const *in, uint32_t count);

#endif
