/* global_pool.c - an AveragePool or MaxPool whose one window covers the whole input (kernel =
 * the spatial dims, no padding, no dilation) becomes GlobalAveragePool or GlobalMaxPool.
 * Exporters write this for adaptive pooling to 1x1 and for classifier heads pooling a fixed
 * feature map; the window pool walks such a window tap row by tap row, the global pool reduces
 * the plane in independent lanes. */
#include "edit.h"

/* n's window is the whole of its input plane: the pool computes one value per channel. */
static bool whole_plane(const struct kiln_ir_node *n)
{
    const struct kiln_p_pool *p = n->params;
    const struct kiln_ir_value *x = n->in[0];
    if (!p || !x || x->rank != p->nsp + 2 || n->n_out > 1 || (n->n_out && !n->out[0]))
        return false;
    for (int j = 0; j < p->nsp; j++)
        if (p->win.kernel[j] != x->dims[2 + j] || p->win.dilation[j] != 1 ||
            p->win.pad_begin[j] != 0 || p->win.pad_end[j] != 0)
            return false;
    return true;
}

enum kiln_status kiln_pass_global_pool(struct kiln_pass_ctx *c)
{
    struct kiln_ir_graph *g = c->g;
    struct kiln_ir_node *n;
    for (uint32_t i = 0; (n = kiln_edit_next_live(g, &i));) {
        bool avg = n->op == KILN_OP_AVERAGE_POOL;
        if ((!avg && n->op != KILN_OP_MAX_POOL) || !whole_plane(n))
            continue;
        struct kiln_ir_value *x = n->in[0];
        const char *was = n->op_type;
        if (!kiln_edit_become(g, n, avg ? KILN_OP_GLOBAL_AVERAGE_POOL : KILN_OP_GLOBAL_MAX_POOL,
                              avg ? "GlobalAveragePool" : "GlobalMaxPool", 1))
            return kiln_diag_set(c->d, KILN_STATUS_NO_MEMORY, n->name, n->op_type,
                                 "out of memory");
        n->in[0] = x;
        enum kiln_status st = kiln_edit_reinfer(c, n);
        if (st)
            return st;
        kiln_pass_log(c, "%s '%s' covers its whole input: now %s", was, n->name, n->op_type);
    }
    return KILN_STATUS_OK;
}
