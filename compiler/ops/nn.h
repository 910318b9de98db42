/* nn.h - compiler helpers shared by the windowed NN ops (Conv, MaxPool, AveragePool): parsing
 * kernel_shape/strides/dilations/pads/auto_pad for any opset and computing output extents. */
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

#endif
