/* unique.c - Unique (opset 11). Its output sizes depend on the input's values: with a constant
 * input, inference runs the kernel's algorithm (runtime/kernels/unique.h) to size the outputs
 * and the node folds; otherwise outputs 0, 1 and 3 get the bound "every slice unique" and the
 * kernel sets their extent in each run (runtime/dims.c). */
#include "ops.h"
#include "../../runtime/kernels/unique.h"

static enum kiln_status infer_unique(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    struct kiln_ir_value *x;
    enum kiln_status st;
    int64_t sorted, axis = 0;
    bool flat = !kiln_ir_attr(n, "axis");
    if ((st = kiln_need_input_of(c, n, 0, kiln_dtypes_all, &x)) ||
        (st = kiln_attr_int(c, n, "sorted", 1, &sorted)))
        return st;
    if (!flat && ((st = kiln_attr_int(c, n, "axis", 0, &axis)) ||
                  (st = kiln_norm_axis(c, n, axis, x->rank, &axis))))
        return st;
    struct kiln_p_unique *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    p->sorted = sorted != 0;
    p->axis = flat ? 0 : (int32_t)axis;
    p->outer = p->inner = 1;
    p->len = kiln_ir_value_numel(x);
    if (!flat) {
        p->len = x->dims[axis];
        for (int i = 0; i < x->rank; i++)
            if (i < axis)
                p->outer *= x->dims[i];
            else if (i > axis)
                p->inner *= x->dims[i];
    }
    n->scratch_size = (uint64_t)(5 * (p->len ? p->len : 1)) * sizeof(int64_t);
    int64_t u = p->len; /* bound: every slice unique */
    if (x->data) {
        int64_t *work = kiln_arena_alloc(&c->g->arena, n->scratch_size);
        if (!work)
            return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
        u = kiln_unique_run(p, x->data, x->dtype, work);
    }
    enum kiln_status (*set)(struct kiln_infer_ctx *, struct kiln_ir_node *, uint32_t, int, int,
                            const int64_t *) = x->data ? kiln_set_output : kiln_set_output_bound;
    int64_t dims[KILN_MAX_RANK];
    for (int i = 0; i < x->rank; i++)
        dims[i] = i == axis ? u : x->dims[i];
    if ((st = flat ? set(c, n, 0, x->dtype, 1, &u) : set(c, n, 0, x->dtype, x->rank, dims)) ||
        (st = set(c, n, 1, KILN_DTYPE_I64, 1, &u)) ||
        (st = kiln_set_output(c, n, 2, KILN_DTYPE_I64, 1, &p->len)))
        return st;
    return set(c, n, 3, KILN_DTYPE_I64, 1, &u);
}

const struct kiln_op_info kiln_opi_unique = {
    .infer = infer_unique, .dtypes = "any numeric, bool",
    .notes = "folded when the input is constant; else run-time extents (bound: every slice unique)",
    .opsets = {11}};
