/* dims.h - internal to kiln: the rules by which a run finds the extents of tensors whose size
 * depends on the data (see dims.c). Shared by the interpreter and the compiler, which accepts
 * a run-time-shaped input only for ops with a rule. */
#ifndef KILN_RT_DIMS_H
#define KILN_RT_DIMS_H

#include "kiln/kiln.h"

enum kiln_dims_rule {
    KILN_DIMS_NONE = 0,  /* the op cannot take run-time extents */
    KILN_DIMS_BROADCAST, /* outputs: numpy broadcast of the present inputs */
    KILN_DIMS_SAME,      /* outputs: input 0's extents */
    KILN_DIMS_GATHER,    /* Gather: data[:axis] + indices + data[axis+1:] */
    KILN_DIMS_TRANSPOSE, /* Transpose: input 0's extents permuted */
    KILN_DIMS_REDUCE,    /* Reduce*, ArgMax/ArgMin: reduced axes 1 or dropped (keepdims) */
    KILN_DIMS_CONCAT,    /* Concat: input 0's extents, the axis summed */
    KILN_DIMS_GATHER_ND, /* GatherND: indices[:-1] + data[batch_dims + indices[-1]:] */
    KILN_DIMS_UNIT_AXES, /* Squeeze / Unsqueeze: size-1 axes removed or inserted */
    KILN_DIMS_KERNEL,    /* the kernel sets its output views' dims (data-dependent ops) */
};

int kiln_rt_dims_rule(uint32_t op);
/* Whether op's kernel reads every input size from the views, so its inputs may have run-time
 * extents (the ops with a rule other than KERNEL, and NonZero, Compress, NMS). */
int kiln_rt_dims_takes(uint32_t op);

/* Sets the dims of node n's output views (whose dims hold their upper bounds on entry) from
 * its input views, by the op's rule. Returns 0, or 1 when the inputs' extents do not fit the
 * op (they do not broadcast) or a result would pass an output's bound. */
int kiln_rt_out_dims(const struct kiln_program *p, const struct kiln_node_desc *n,
                     const struct kiln_tensor *in, struct kiln_tensor *out);

#endif
