/* fuse_residual.c - Add(y, r) where y comes from a Conv, Gemm or MatMul that nothing else
 * reads and r has y's exact shape and dtype (no broadcasting) becomes the producer's residual
 * input: kiln_residual=1 and r as its last input, added in the kernel's epilogue before any
 * activation (runtime/kernels/epilogue.h). A Relu after the Add then fuses into the same
 * epilogue through fuse_activation, which runs next. */
#include "edit.h"

/* Index of the residual input for an op that has one in its kernel; 0 for none. */
static uint32_t residual_index(enum kiln_op op)
{
    switch (op) {
    case KILN_OP_CONV: return 3;
    case KILN_OP_GEMM: return 3;
    case KILN_OP_MATMUL: return 2;
    default: return 0;
    }
}

enum kiln_status kiln_pass_fuse_residual(struct kiln_pass_ctx *c)
{
    struct kiln_ir_graph *g = c->g;
    kiln_ir_count_uses(g);
    struct kiln_ir_node *add;
    for (uint32_t i = 0; (add = kiln_edit_next_live(g, &i));) {
        if (add->op != KILN_OP_ADD || add->n_in != 2)
            continue;
        for (int k = 0; k < 2; k++) {
            struct kiln_ir_value *y = add->in[k], *r = add->in[1 - k];
            struct kiln_ir_node *p = kiln_edit_producer(y);
            uint32_t ri = p ? residual_index(p->op) : 0;
            if (!ri || kiln_ir_attr(p, "kiln_residual") || kiln_ir_attr(p, "kiln_act") ||
                kiln_edit_sole_user(g, y) != add || r == y ||
                (y->dtype != KILN_DTYPE_F32 && y->dtype != KILN_DTYPE_F64) ||
                !kiln_edit_same_type(r, y) || !kiln_edit_same_type(add->out[0], y))
                continue;
            /* y's only reader is the Add, so r cannot depend on p: no cycle. Absent optional
             * inputs before the residual one (a Conv's bias) stay NULL. */
            if (!kiln_edit_resize_inputs(g, p, ri + 1) ||
                !kiln_edit_set_int(g, p, "kiln_residual", 1))
                return kiln_diag_set(c->d, KILN_STATUS_NO_MEMORY, NULL, NULL, "out of memory");
            p->in[ri] = r;
            add->dead = true;
            kiln_edit_take_output(p, add->out[0]);
            enum kiln_status st = kiln_edit_reinfer(c, p);
            if (st)
                return st;
            kiln_pass_log(c, "fused Add '%s' into %s '%s' as its residual input '%s'", add->name,
                          p->op_type, p->name, r->name);
            kiln_ir_count_uses(g);
            break;
        }
    }
    return KILN_STATUS_OK;
}
