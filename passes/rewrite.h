/* rewrite.h - helpers of the rewriting passes (fold_batchnorm, matmul_add_to_gemm, fold_pad,
 * transpose, reshape_chain): new constant values owned by the graph arena, attribute and
 * input-list edits, float constants read and written as double, and turning a node into
 * another op. Constants are never edited in place: a rewrite makes a new value, because the
 * old one may be shared by other nodes. */
#ifndef KILN_PASS_REWRITE_H
#define KILN_PASS_REWRITE_H

#include "pass.h"

/* A new constant (initializer) value of dtype and shape, data zeroed in the graph arena and
 * writable through kiln_rw_set; NULL on OOM. */
struct kiln_ir_value *kiln_rw_new_const(struct kiln_ir_graph *g, const char *base, int dtype,
                                        int rank, const int64_t *dims);
/* A new int64 vector constant. */
struct kiln_ir_value *kiln_rw_new_ints(struct kiln_ir_graph *g, const char *base,
                                       const int64_t *vals, int64_t n);

/* A constant of dtype float32 or float64 (the types the folds rewrite). */
bool kiln_rw_is_float_const(const struct kiln_ir_value *v, int dtype);
double kiln_rw_get(const struct kiln_ir_value *v, int64_t i);
void kiln_rw_set(struct kiln_ir_value *v, int64_t i, double x);

/* Set (add or overwrite) an attribute; false on OOM. */
bool kiln_rw_set_int(struct kiln_ir_graph *g, struct kiln_ir_node *n, const char *name,
                     int64_t v);
bool kiln_rw_set_float(struct kiln_ir_graph *g, struct kiln_ir_node *n, const char *name, float v);
bool kiln_rw_set_ints(struct kiln_ir_graph *g, struct kiln_ir_node *n, const char *name,
                      const int64_t *v, size_t count);
/* Integer attribute or def. */
int64_t kiln_rw_attr_int(const struct kiln_ir_node *n, const char *name, int64_t def);

/* Gives n exactly n_in inputs (new entries NULL); false on OOM. */
bool kiln_rw_resize_inputs(struct kiln_ir_graph *g, struct kiln_ir_node *n, uint32_t n_in);
/* Turns n into op (ONNX name op_type) with no attributes and n_in NULL inputs. */
bool kiln_rw_become(struct kiln_ir_graph *g, struct kiln_ir_node *n, enum kiln_op op,
                    const char *op_type, uint32_t n_in);
/* The producer of v when it is live and has op `op`, else NULL. */
struct kiln_ir_node *kiln_rw_producer(const struct kiln_ir_value *v, enum kiln_op op);
/* Makes `by` produce n's output 0 in place of n (which dies): the value keeps its name, so a
 * graph output stays one. by's old output 0 is left without producer or readers. */
void kiln_rw_take_output(struct kiln_ir_node *by, struct kiln_ir_node *n);
/* Gives the Reshape n input x and y's dims as its target: a new constant input (opset >= 5)
 * or the shape attribute (before). false on OOM. */
bool kiln_rw_reshape_to(struct kiln_ir_graph *g, struct kiln_ir_node *n, struct kiln_ir_value *x,
                        const struct kiln_ir_value *y);
/* A new Reshape node reading x and producing y (whose dtype and dims must be set: they are the
 * target shape), with its shape as a constant input (opset >= 5) or attribute; not inferred
 * yet (kiln_pass_reinfer it once x is typed). NULL on OOM. */
struct kiln_ir_node *kiln_rw_new_reshape(struct kiln_ir_graph *g, const char *name,
                                         struct kiln_ir_value *x, struct kiln_ir_value *y);
/* Same dims (and rank). */
bool kiln_rw_same_shape(const struct kiln_ir_value *a, const struct kiln_ir_value *b);

#endif
