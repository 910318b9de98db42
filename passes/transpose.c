/* transpose.c - layout rewrites around Transpose: two adjacent Transposes become one (or none
 * when they cancel), an identity Transpose is removed, and a Transpose swapping the two axes
 * of a 2-D operand of Gemm or 2-D MatMul becomes Gemm's transA/transB. A Transpose of a
 * constant needs nothing here: inference evaluates it and cleanup drops the node. */
#include "edit.h"

/* perm of a Transpose (the attribute, or reversed axes when absent); false if malformed. */
static bool perm_of(const struct kiln_ir_node *t, int64_t *perm)
{
    int r = t->in[0]->rank;
    const struct kiln_ir_attr *a = kiln_ir_attr(t, "perm");
    if (a && (!a->ints || a->n != (size_t)r))
        return false;
    for (int k = 0; k < r; k++)
        perm[k] = a ? a->ints[k] : r - 1 - k;
    return true;
}

static bool is_identity(const int64_t *perm, int r)
{
    for (int k = 0; k < r; k++)
        if (perm[k] != k)
            return false;
    return true;
}

static enum kiln_status compose(struct kiln_pass_ctx *c, struct kiln_ir_node *t2)
{
    int64_t p1[KILN_MAX_RANK], p2[KILN_MAX_RANK], p[KILN_MAX_RANK];
    int r = t2->in[0]->rank;
    if (!perm_of(t2, p2))
        return KILN_STATUS_OK;
    struct kiln_ir_node *t1 = kiln_edit_producer_op(t2->in[0], KILN_OP_TRANSPOSE);
    if (t1 && kiln_edit_sole_user(c->g, t1->out[0]) == t2 && perm_of(t1, p1)) {
        for (int k = 0; k < r; k++) /* t2 axis k is t1 axis p2[k], which is x axis p1[p2[k]] */
            p[k] = p1[p2[k]];
        t2->in[0] = t1->in[0];
        t1->dead = true;
        if (is_identity(p, r) && kiln_edit_bypass(c->g, t2)) {
            kiln_pass_log(c, "removed Transpose '%s' and '%s' (they cancel)", t1->name,
                          t2->name);
            return KILN_STATUS_OK;
        }
        if (!kiln_edit_set_ints(c->g, t2, "perm", p, (size_t)r))
            return kiln_diag_set(c->d, KILN_STATUS_NO_MEMORY, t2->name, t2->op_type,
                                 "out of memory");
        kiln_pass_log(c, "merged Transpose '%s' into Transpose '%s'", t1->name, t2->name);
        return kiln_edit_reinfer(c, t2);
    }
    if (is_identity(p2, r) && kiln_edit_bypass(c->g, t2))
        kiln_pass_log(c, "removed Transpose '%s' (identity permutation)", t2->name);
    return KILN_STATUS_OK;
}

/* A 2-D swap feeding Gemm/MatMul operand i becomes transA/transB. */
static enum kiln_status into_gemm(struct kiln_pass_ctx *c, struct kiln_ir_node *t)
{
    struct kiln_ir_graph *g = c->g;
    struct kiln_ir_value *y = t->out[0];
    struct kiln_ir_node *u = kiln_edit_sole_user(g, y);
    if (!u || t->in[0]->rank != 2 || (u->op != KILN_OP_GEMM && u->op != KILN_OP_MATMUL))
        return KILN_STATUS_OK;
    uint32_t i = u->in[0] == y ? 0 : 1;
    if (u->in[i] != y || u->in[1 - i] == y)
        return KILN_STATUS_OK;
    if (u->op == KILN_OP_MATMUL) {
        /* 2-D MatMul is Gemm without C (optional from opset 11), float types only */
        struct kiln_ir_value *a = u->in[0], *b = u->in[1];
        int dt = u->out[0]->dtype;
        if (g->opset < 11 || a->rank != 2 || b->rank != 2 ||
            (dt != KILN_DTYPE_F32 && dt != KILN_DTYPE_F64) ||
            !kiln_edit_become(g, u, KILN_OP_GEMM, "Gemm", 2))
            return KILN_STATUS_OK;
        u->in[0] = a;
        u->in[1] = b;
    }
    const char *attr = i ? "transB" : "transA";
    if (!kiln_edit_set_int(g, u, attr, !kiln_edit_attr_int(u, attr, 0)))
        return kiln_diag_set(c->d, KILN_STATUS_NO_MEMORY, u->name, u->op_type, "out of memory");
    u->in[i] = t->in[0];
    t->dead = true;
    kiln_pass_log(c, "folded Transpose '%s' into %s of Gemm '%s'", t->name, attr, u->name);
    return kiln_edit_reinfer(c, u);
}

enum kiln_status kiln_pass_transpose(struct kiln_pass_ctx *c)
{
    struct kiln_ir_graph *g = c->g;
    struct kiln_ir_node *t;
    for (uint32_t i = 0; (t = kiln_edit_next_live(g, &i));) {
        if (t->op != KILN_OP_TRANSPOSE)
            continue;
        enum kiln_status st = compose(c, t);
        if (!st && !t->dead)
            st = into_gemm(c, t);
        if (st)
            return st;
        kiln_ir_count_uses(g);
    }
    return KILN_STATUS_OK;
}
