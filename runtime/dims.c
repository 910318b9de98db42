/* dims.c - run-time extents (KILN_TENSOR_RUNTIME_DIMS): how a run finds the extents of tensors
 * whose size depends on the data. The ops that create them (NonZero, Compress, Unique,
 * NonMaxSuppression, a Loop that may stop early) have kernels that set their output views'
 * dims; for the ops that may consume them, the rule here derives the outputs' extents from the
 * inputs' before the kernel runs (the kernels of those ops read every size from the views).
 * The compiler accepts a run-time-shaped input only where a rule exists (kiln_rt_dims_rule),
 * so the two cannot disagree. */
#include "dims.h"

#include "kiln/ops.h"
#include "kiln/params.h"

/* the range test below relies on ops.def starting with Add */
typedef char kiln_op_add_is_first[KILN_OP_ADD == 0 ? 1 : -1];

int kiln_rt_dims_rule(uint32_t op)
{
    /* ADD .. CAST are the broadcasting elementwise ops (arithmetic, comparisons, logic,
     * variadic, Where, the unary math and activations, Cast): op ids are fixed by the bundle
     * format, so this range cannot change under us. */
    if (op <= KILN_OP_CAST) /* KILN_OP_ADD is 0 */
        return KILN_DIMS_BROADCAST;
    switch (op) {
    case KILN_OP_IDENTITY:
    case KILN_OP_DROPOUT:
    case KILN_OP_CAST_LIKE:
    case KILN_OP_GELU:
    case KILN_OP_MISH:
    case KILN_OP_BITWISE_NOT: return KILN_DIMS_SAME;
    case KILN_OP_BITWISE_AND:
    case KILN_OP_BITWISE_OR:
    case KILN_OP_BITWISE_XOR: return KILN_DIMS_BROADCAST;
    case KILN_OP_GATHER: return KILN_DIMS_GATHER;
    case KILN_OP_CONCAT: return KILN_DIMS_CONCAT;
    case KILN_OP_GATHER_ND: return KILN_DIMS_GATHER_ND;
    case KILN_OP_SQUEEZE:
    case KILN_OP_UNSQUEEZE: return KILN_DIMS_UNIT_AXES;
    case KILN_OP_TRANSPOSE: return KILN_DIMS_TRANSPOSE;
    case KILN_OP_REDUCE_MEAN:
    case KILN_OP_REDUCE_SUM:
    case KILN_OP_REDUCE_MAX:
    case KILN_OP_REDUCE_MIN:
    case KILN_OP_REDUCE_PROD:
    case KILN_OP_REDUCE_L1:
    case KILN_OP_REDUCE_L2:
    case KILN_OP_REDUCE_LOG_SUM:
    case KILN_OP_REDUCE_LOG_SUM_EXP:
    case KILN_OP_REDUCE_SUM_SQUARE:
    case KILN_OP_ARGMAX:
    case KILN_OP_ARGMIN: return KILN_DIMS_REDUCE;
    case KILN_OP_NON_ZERO:
    case KILN_OP_COMPRESS:
    case KILN_OP_UNIQUE:
    case KILN_OP_NON_MAX_SUPPRESSION:
    case KILN_OP_TOPK: /* with a k computed at run time */
    case KILN_OP_LOOP: return KILN_DIMS_KERNEL;
    default: return KILN_DIMS_NONE;
    }
}

int kiln_rt_dims_takes(uint32_t op)
{
    switch (kiln_rt_dims_rule(op)) {
    case KILN_DIMS_BROADCAST:
    case KILN_DIMS_SAME:
    case KILN_DIMS_GATHER:
    case KILN_DIMS_TRANSPOSE:
    case KILN_DIMS_REDUCE:
    case KILN_DIMS_CONCAT:
    case KILN_DIMS_GATHER_ND:
    case KILN_DIMS_UNIT_AXES: return 1;
    case KILN_DIMS_KERNEL: /* the producers whose kernels read input sizes from the views */
        return op == KILN_OP_NON_ZERO || op == KILN_OP_COMPRESS ||
               op == KILN_OP_NON_MAX_SUPPRESSION;
    default: return 0;
    }
}

/* Numpy broadcasting of the present inputs, right-aligned to rank r. */
static int broadcast(const struct kiln_tensor *in, uint32_t n_in, int r, int64_t *dims)
{
    for (int i = 0; i < r; i++)
        dims[i] = 1;
    for (uint32_t k = 0; k < n_in; k++) {
        const struct kiln_tensor *t = &in[k];
        if (!t->data || t->rank > r)
            continue;
        for (int i = 0; i < t->rank; i++) {
            int64_t *d = &dims[r - t->rank + i], e = t->dims[i];
            if (e == *d || e == 1)
                continue;
            if (*d != 1)
                return 1;
            *d = e;
        }
    }
    return 0;
}

/* Squeeze / Unsqueeze: the axes they remove or insert are the size-1 axes of the input
 * (Squeeze) or output (Unsqueeze) bounds; the compiler allows run-time extents through them
 * only when no other axis has bound 1, so the rest map in order. */
static int unit_axes(const struct kiln_tensor_desc *in_bound, const struct kiln_tensor *in,
                     const struct kiln_tensor *out, int64_t *dims)
{
    int k = 0, r = out->rank;
    if (r > in->rank) { /* Unsqueeze */
        for (int i = 0; i < r; i++) {
            if (out->dims[i] == 1)
                dims[i] = 1;
            else if (k < in->rank)
                dims[i] = in->dims[k++];
            else
                return 1;
        }
        return k != in->rank;
    }
    for (int j = 0; j < in->rank; j++) { /* Squeeze */
        if (in_bound->dims[j] == 1)
            continue;
        if (k >= r)
            return 1;
        dims[k++] = in->dims[j];
    }
    return k != r;
}

int kiln_rt_out_dims(const struct kiln_program *prog, const struct kiln_node_desc *n,
                     const struct kiln_tensor *in, struct kiln_tensor *out)
{
    uint32_t op = n->op, params_size = n->params_size, n_in = n->n_in, n_out = n->n_out;
    const void *params = prog->params + n->params_offset;
    int64_t dims[KILN_MAX_RANK];
    int r = n_out ? out[0].rank : 0;
    switch (kiln_rt_dims_rule(op)) {
    case KILN_DIMS_KERNEL: return 0; /* the kernel sets them */
    case KILN_DIMS_BROADCAST:
        /* not the pre-opset-7 `broadcast=1, axis` form (the compiler never emits it here) */
        if ((params_size == sizeof(struct kiln_p_binary) &&
             ((const struct kiln_p_binary *)params)->b_trailing) ||
            broadcast(in, n_in, r, dims))
            return 1;
        break;
    case KILN_DIMS_SAME:
        if (!n_in || in[0].rank != r)
            return 1;
        for (int i = 0; i < r; i++)
            dims[i] = in[0].dims[i];
        break;
    case KILN_DIMS_GATHER: {
        const struct kiln_p_axis *p = params;
        int ax = params_size == sizeof *p ? (int)p->axis : -1, ri = n_in > 1 ? in[1].rank : 0;
        if (n_in < 2 || ax < 0 || ax >= in[0].rank || in[0].rank - 1 + ri != r)
            return 1;
        for (int i = 0; i < r; i++)
            dims[i] = i < ax ? in[0].dims[i]
                      : i < ax + ri ? in[1].dims[i - ax]
                                    : in[0].dims[i - ri + 1];
        break;
    }
    case KILN_DIMS_TRANSPOSE: {
        const struct kiln_p_transpose *p = params;
        if (params_size != sizeof *p || !n_in || in[0].rank != r)
            return 1;
        for (int i = 0; i < r; i++) {
            if (p->perm[i] < 0 || p->perm[i] >= r)
                return 1;
            dims[i] = in[0].dims[p->perm[i]];
        }
        break;
    }
    case KILN_DIMS_REDUCE: { /* reduced axes become 1 (keepdims) or go */
        const struct kiln_p_reduce *p = params;
        int k = 0;
        if (params_size != sizeof *p || !n_in)
            return 1;
        for (int i = 0; i < in[0].rank; i++) {
            int red = (p->axes_mask >> i) & 1;
            if (red && !p->keepdims)
                continue;
            if (k >= r)
                return 1;
            dims[k++] = red ? 1 : in[0].dims[i];
        }
        if (k != r)
            return 1;
        break;
    }
    case KILN_DIMS_CONCAT: { /* input 0's extents, the axis summed over the inputs */
        const struct kiln_p_axis *p = params;
        int ax = params_size == sizeof *p ? (int)p->axis : -1;
        if (!n_in || ax < 0 || ax >= r)
            return 1;
        for (int i = 0; i < r; i++)
            dims[i] = i == ax ? 0 : in[0].dims[i];
        for (uint32_t k = 0; k < n_in; k++) {
            if (in[k].rank != r)
                return 1;
            for (int i = 0; i < r; i++)
                if (i != ax && in[k].dims[i] != dims[i])
                    return 1;
            dims[ax] += in[k].dims[ax];
        }
        break;
    }
    case KILN_DIMS_GATHER_ND: { /* indices[:-1] + data[batch_dims + L:], L = indices[-1] */
        const struct kiln_p_gather_nd *p = params;
        int b = params_size == sizeof *p ? (int)p->batch_dims : -1;
        int ri = n_in > 1 ? in[1].rank : 0, L = ri ? (int)in[1].dims[ri - 1] : -1;
        if (b < 0 || ri < 1 || L < 0 || b + L > in[0].rank || ri - 1 + in[0].rank - b - L != r)
            return 1;
        for (int i = 0; i < r; i++)
            dims[i] = i < ri - 1 ? in[1].dims[i] : in[0].dims[b + L + i - (ri - 1)];
        break;
    }
    case KILN_DIMS_UNIT_AXES:
        if (!n_in || unit_axes(&prog->tensors[prog->io[n->io_first]], &in[0], &out[0], dims))
            return 1;
        break;
    default: return 1;
    }
    for (uint32_t j = 0; j < n_out; j++) {
        if (out[j].rank != r)
            return 1;
        for (int i = 0; i < r; i++) {
            if (dims[i] > out[j].dims[i]) /* past the buffer's bound */
                return 1;
            out[j].dims[i] = dims[i];
        }
    }
    return 0;
}
