/* nn.h - compiler helpers shared by the NN ops: the sliding window of Conv and the pools
 * (kernel_shape/strides/dilations/pads/auto_pad for any opset, output extents), and the shapes
 * of Conv and MatMul, one implementation each for the float ops and their integer forms. The
 * runtime verifies the same shapes at load time (kiln_ck_conv_shape, kiln_ck_matmul_shape). */
#ifndef KILN_OPS_NN_H
#define KILN_OPS_NN_H

#include <stdbool.h>

#include "ops.h"

struct kiln_window {
    int nsp;                   /* spatial dims, 1..3 */
    struct kiln_p_window geom; /* as the kernels' params hold it */
    int64_t out[KILN_MAX_SPATIAL];
};

/* Reads the window attributes of n for input x ([N, C, spatial...]). kernel_from_w: the kernel
 * extent taken from Conv's weights when kernel_shape is absent (NULL: kernel_shape required).
 * ceil_mode rounds the output extent up (pools); dilations are read only if allow_dilations. */
enum kiln_status kiln_window_infer(struct kiln_infer_ctx *c, const struct kiln_ir_node *n,
                                   const struct kiln_ir_value *x, const int64_t *kernel_from_w,
                                   bool ceil_mode, bool allow_dilations, struct kiln_window *w);

/* Reads the per-spatial-axis ints attribute `name` (nsp values, each >= min; def when absent)
 * into out. Shared with ConvTranspose and MaxUnpool, whose geometry differs from Conv's. */
enum kiln_status kiln_window_ints(struct kiln_infer_ctx *c, const struct kiln_ir_node *n,
                                  const char *name, int nsp, int64_t def, int64_t min,
                                  int64_t *out);

/* Conv's shape (Conv, ConvInteger, QLinearConv): x [N, C, spatial...] and weights w
 * [M, C/group, kernel...] of x's rank, the window and the group attribute; the output is
 * [N, M, out...]. */
struct kiln_conv_shape {
    struct kiln_window win;
    int64_t group, c, m;           /* group, input and output channels */
    uint64_t cg, k_size, out_size; /* C/group, kernel and output extents' products */
    int64_t dims[KILN_MAX_RANK];   /* the output's shape (x's rank) */
};
enum kiln_status kiln_conv_shape(struct kiln_infer_ctx *c, const struct kiln_ir_node *n,
                                 const struct kiln_ir_value *x, const struct kiln_ir_value *w,
                                 struct kiln_conv_shape *s);

/* MatMul's shape (MatMul, MatMulInteger, QLinearMatMul), numpy semantics: a 1-D operand is
 * promoted to a matrix and its axis dropped from the output; batch axes broadcast. */
struct kiln_matmul_shape {
    int64_t m, n, k;
    uint64_t rows; /* rows one product takes: M, times the batch when B has no batch axes (the
                    * kernel folds A's batch into M) */
    int rank;
    int64_t dims[KILN_MAX_RANK + 2]; /* the output's shape */
};
enum kiln_status kiln_matmul_shape(struct kiln_infer_ctx *c, const struct kiln_ir_node *n,
                                   const struct kiln_ir_value *a, const struct kiln_ir_value *b,
                                   struct kiln_matmul_shape *s);

#endif
