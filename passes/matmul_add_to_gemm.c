/* matmul_add_to_gemm.c - MatMul of an input by a constant 2-D weight, followed by Add of a
 * constant that varies along the last axis only ([N], [1, N], a scalar...), becomes one Gemm
 * with the constant as C: the bias is added in the GEMM's epilogue instead of a second pass.
 * An input of rank > 2 is flattened exactly to [prod(batch) * M, K] and the result reshaped
 * back (both views, no copies). Not rewritten: non-constant or N-D weights, a bias that varies
 * along another axis or widens the output, integer types, a MatMul output read elsewhere. */
#include <string.h>

#include "edit.h"

/* k is constant, dtype dt, broadcasts to y's shape without widening it, and varies along the
 * last axis only. */
static bool row_bias(const struct kiln_ir_value *k, const struct kiln_ir_value *y, int dt)
{
    if (!kiln_edit_is_float_const(k, dt) || k->rank > y->rank)
        return false;
    for (int i = 0; i < k->rank; i++) {
        bool last = i == k->rank - 1;
        if (k->dims[i] != 1 && !(last && k->dims[i] == y->dims[y->rank - 1]))
            return false;
    }
    return true;
}

static enum kiln_status rewrite(struct kiln_pass_ctx *c, struct kiln_ir_node *mm,
                                struct kiln_ir_node *add, struct kiln_ir_value *k)
{
    struct kiln_ir_graph *g = c->g;
    struct kiln_ir_value *a = mm->in[0], *w = mm->in[1], *y = add->out[0];
    int64_t nk = kiln_ir_value_numel(k);
    char base[300];
    snprintf(base, sizeof base, "%s_bias", mm->name);
    struct kiln_ir_value *bias = kiln_edit_new_const(g, base, k->dtype, 1, &nk);
    if (!bias)
        goto oom;
    memcpy((void *)bias->data, k->data, kiln_ir_value_nbytes(k)); /* [N] or [1] */
    struct kiln_ir_node *r1 = NULL, *r2 = NULL;
    struct kiln_ir_value *a2 = a, *y2 = mm->out[0];
    if (a->rank > 2) {
        /* [b..., M, K] -> [b*M, K]: the rows are contiguous, so this is exact */
        snprintf(base, sizeof base, "%s_2d", a->name);
        a2 = kiln_edit_new_value(g, base);
        if (!a2)
            goto oom;
        a2->dtype = a->dtype;
        a2->rank = 2;
        a2->dims[0] = kiln_ir_value_numel(a) / a->dims[a->rank - 1];
        a2->dims[1] = a->dims[a->rank - 1];
        snprintf(base, sizeof base, "%s_flatten", mm->name);
        r1 = kiln_edit_new_reshape(g, base, a, a2);
        snprintf(base, sizeof base, "%s_unflatten", mm->name);
        r2 = r1 ? kiln_edit_new_reshape(g, base, y2, y) : NULL;
        if (!r2)
            goto oom;
    }
    if (!kiln_edit_become(g, mm, KILN_OP_GEMM, "Gemm", 3))
        goto oom;
    mm->in[0] = a2;
    mm->in[1] = w;
    mm->in[2] = bias;
    add->dead = true;
    if (!r2) /* no reshape back: the Gemm makes the Add's output itself */
        kiln_edit_take_output(mm, y);
    enum kiln_status st;
    if ((r1 && (st = kiln_edit_reinfer(c, r1))) || (st = kiln_edit_reinfer(c, mm)) ||
        (r2 && (st = kiln_edit_reinfer(c, r2))))
        return st;
    kiln_pass_log(c, "MatMul '%s' + Add '%s' became Gemm '%s'%s", mm->name, add->name, mm->name,
                  r1 ? " (batch flattened by two Reshapes)" : "");
    return KILN_STATUS_OK;
oom:
    return kiln_diag_set(c->d, KILN_STATUS_NO_MEMORY, mm->name, mm->op_type, "out of memory");
}

enum kiln_status kiln_pass_matmul_add_to_gemm(struct kiln_pass_ctx *c)
{
    struct kiln_ir_graph *g = c->g;
    uint32_t n_nodes = g->n_nodes; /* nodes this pass adds need no visit */
    for (uint32_t i = 0; i < n_nodes; i++) {
        struct kiln_ir_node *mm = g->nodes[i];
        if (mm->dead || mm->op != KILN_OP_MATMUL)
            continue;
        struct kiln_ir_value *a = mm->in[0], *w = mm->in[1], *y = mm->out[0];
        int dt = y->dtype;
        if (!kiln_edit_is_float_const(w, dt) || w->rank != 2 || a->rank < 2 ||
            kiln_ir_value_numel(a) <= 0 || w->dims[1] <= 0)
            continue;
        struct kiln_ir_node *add = kiln_edit_sole_user(g, y);
        if (!add || add->op != KILN_OP_ADD || !add->out[0] ||
            !kiln_edit_same_shape(y, add->out[0]))
            continue;
        struct kiln_ir_value *k = add->in[0] == y ? add->in[1] : add->in[0];
        if (k == y || !row_bias(k, y, dt))
            continue;
        enum kiln_status st = rewrite(c, mm, add, k);
        if (st)
            return st;
    }
    return KILN_STATUS_OK;
}
