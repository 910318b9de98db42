/* fuse_activation.c - an activation right after a Conv, ConvTranspose, Gemm or MatMul whose
 * output nothing else reads (and is not a graph output) moves into the producer's epilogue:
 * the kiln_act attributes (docs/kiln-domain.md), applied by the kernel while the output is in
 * cache. The ops of kiln/acts.def's rows flagged KILN_ACTF_FUSE (Clip with constant bounds, so
 * Relu6), and SiLU written as x * Sigmoid(x). float32 only: the epilogue computes in float,
 * which would round float64 results. */
#include "edit.h"
#include "ops/fused.h"

static bool is_producer(const struct kiln_ir_node *p)
{
    return p &&
           (p->op == KILN_OP_CONV || p->op == KILN_OP_CONV_TRANSPOSE || p->op == KILN_OP_GEMM ||
            p->op == KILN_OP_MATMUL) &&
           !kiln_ir_attr(p, "kiln_act") && p->out[0] && p->out[0]->dtype == KILN_DTYPE_F32;
}

/* The epilogue kind for activation node n (NONE: not fusable): the acts.def row of its op when
 * flagged KILN_ACTF_FUSE, alpha/beta from its params (struct kiln_p_unary a, b). */
static int act_of(const struct kiln_ir_node *n, float *alpha, float *beta)
{
    const struct kiln_p_unary *u = n->params;
    int kind = kiln_act_of_op(n->op);
    const struct kiln_act_info *a = kiln_act_info_of(kind);
    if (!a || !(a->flags & KILN_ACTF_FUSE) || kiln_runtime_operands(n, 1))
        return KILN_ACT_NONE;
    *alpha = a->alpha_name ? (float)u->a : 0;
    *beta = a->beta_name ? (float)u->b : 0;
    if (kind == KILN_ACT_GELU) { /* a: approximate, b: kiln_fast */
        if (u->b != 0)           /* -O3 already ran: only the Erf form has a fast epilogue */
            return u->a != 0 ? KILN_ACT_NONE : KILN_ACT_FAST_GELU;
        return u->a != 0 ? KILN_ACT_GELU_TANH : KILN_ACT_GELU;
    }
    return kind;
}

enum kiln_status kiln_pass_fuse_activation(struct kiln_pass_ctx *c)
{
    struct kiln_ir_graph *g = c->g;
    kiln_ir_count_uses(g);
    struct kiln_ir_node *n;
    for (uint32_t i = 0; (n = kiln_edit_next_live(g, &i));) {
        if (!n->params || !n->out[0])
            continue;
        float alpha, beta;
        int kind = act_of(n, &alpha, &beta);
        struct kiln_ir_value *v = n->in[0];
        struct kiln_ir_node *p = kiln_edit_producer(v), *mul = NULL;
        if (!kind || !is_producer(p))
            continue;
        if (kind == KILN_ACT_SIGMOID && v->n_uses == 2 && !v->is_output) {
            /* SiLU: Mul(v, Sigmoid(v)) and no other reader of v */
            mul = kiln_edit_sole_user_op(g, n->out[0], KILN_OP_MUL);
            if (!mul || kiln_edit_other(mul, n->out[0]) != v)
                continue;
            kind = KILN_ACT_SILU;
        } else if (kiln_edit_sole_user(g, v) != n) {
            continue;
        }
        struct kiln_ir_node *last = mul ? mul : n;
        const struct kiln_act_info *a = kiln_act_info_of(kind);
        const char *name = a->name;
        if (!kiln_edit_set_string(g, p, "kiln_act", name) ||
            (a->alpha_name && !kiln_edit_set_float(g, p, "kiln_act_alpha", alpha)) ||
            (a->beta_name && !kiln_edit_set_float(g, p, "kiln_act_beta", beta)))
            return kiln_diag_set(c->d, KILN_STATUS_NO_MEMORY, NULL, NULL, "out of memory");
        n->dead = true;
        if (mul)
            mul->dead = true;
        kiln_edit_take_output(p, last->out[0]);
        enum kiln_status st = kiln_edit_reinfer(c, p);
        if (st)
            return st;
        kiln_pass_log(c, "fused %s '%s'%s%s%s into %s '%s' (kiln_act=%s)", n->op_type, n->name,
                      mul ? " + Mul '" : "", mul ? mul->name : "", mul ? "'" : "", p->op_type,
                      p->name, name);
        kiln_ir_count_uses(g);
    }
    return KILN_STATUS_OK;
}
