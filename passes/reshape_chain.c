/* reshape_chain.c - collapses chains of Reshape, Flatten, Squeeze and Unsqueeze into one
 * Reshape whose constant shape is the chain's final (static) shape, and removes such a node
 * when its output has its input's shape. Views cost no copy, but each is a node to schedule,
 * and exporters write long chains around attention heads and classifier flattening. */
#include "edit.h"

static bool is_view(const struct kiln_ir_node *n)
{
    return n && !n->dead &&
           (n->op == KILN_OP_RESHAPE || n->op == KILN_OP_FLATTEN || n->op == KILN_OP_SQUEEZE ||
            n->op == KILN_OP_UNSQUEEZE);
}

/* Turns n into Reshape(x, out's dims); the shape is an input from opset 5, an attribute before. */
static enum kiln_status to_reshape(struct kiln_pass_ctx *c, struct kiln_ir_node *n,
                                   struct kiln_ir_value *x)
{
    struct kiln_ir_graph *g = c->g;
    struct kiln_ir_value *y = n->out[0];
    bool zero = false;
    for (int k = 0; k < y->rank; k++)
        zero = zero || y->dims[k] == 0;
    if (zero && g->opset < 14)
        return KILN_STATUS_OK; /* a 0 in the shape would copy the input dim (no allowzero) */
    if (!kiln_edit_become(g, n, KILN_OP_RESHAPE, "Reshape", 0) ||
        !kiln_edit_reshape_to(g, n, x, y) || (zero && !kiln_edit_set_int(g, n, "allowzero", 1)))
        return kiln_diag_set(c->d, KILN_STATUS_NO_MEMORY, n->name, n->op_type, "out of memory");
    return kiln_edit_reinfer(c, n);
}

enum kiln_status kiln_pass_reshape_chain(struct kiln_pass_ctx *c)
{
    struct kiln_ir_graph *g = c->g;
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        struct kiln_ir_node *n = g->nodes[i];
        if (!is_view(n) || !n->out[0])
            continue;
        /* nodes are in topological order: an earlier chain has already become one node */
        struct kiln_ir_node *p = kiln_edit_producer(n->in[0]);
        if (is_view(p) && kiln_edit_sole_user(g, p->out[0]) == n) {
            const char *was = n->op_type;
            enum kiln_status st = to_reshape(c, n, p->in[0]);
            if (st)
                return st;
            if (n->in[0] == p->in[0]) {
                p->dead = true;
                kiln_pass_log(c, "merged %s '%s' and %s '%s' into one Reshape", p->op_type,
                              p->name, was, n->name);
            }
        }
        if (kiln_edit_same_shape(n->in[0], n->out[0]) && kiln_edit_bypass(g, n)) {
            kiln_pass_log(c, "removed %s '%s' (output shape equals input shape)", n->op_type,
                          n->name);
        }
        kiln_ir_count_uses(g);
    }
    return KILN_STATUS_OK;
}
