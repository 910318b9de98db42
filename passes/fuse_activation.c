/* fuse_activation.c - an activation right after a Conv, ConvTranspose, Gemm or MatMul whose
 * output nothing else reads (and is not a graph output) moves into the producer's epilogue:
 * the kiln_act attributes (docs/kiln-domain.md), applied by the kernel while the output is in
 * cache. Relu, Clip with constant bounds (Relu6), LeakyRelu, Sigmoid, HardSigmoid, HardSwish,
 * Tanh, Gelu, and SiLU written as x * Sigmoid(x). float32 only: the epilogue computes in float,
 * which would round float64 results. */
#include "fuse.h"

static bool is_producer(const struct kiln_ir_node *p)
{
    return p &&
           (p->op == KILN_OP_CONV || p->op == KILN_OP_CONV_TRANSPOSE || p->op == KILN_OP_GEMM ||
            p->op == KILN_OP_MATMUL) &&
           !kiln_ir_attr(p, "kiln_act") && p->out[0] && p->out[0]->dtype == KILN_DTYPE_F32;
}

/* The epilogue kind for activation node n (NONE: not fusable); alpha/beta from its params. */
static int act_of(const struct kiln_ir_node *n, float *alpha, float *beta)
{
    const struct kiln_p_unary *u = n->params;
    *alpha = *beta = 0;
    switch (n->op) {
    case KILN_OP_RELU: return KILN_ACT_RELU;
    case KILN_OP_SIGMOID: return KILN_ACT_SIGMOID;
    case KILN_OP_TANH: return KILN_ACT_TANH;
    case KILN_OP_HARD_SWISH: return KILN_ACT_HARD_SWISH;
    case KILN_OP_CLIP: *alpha = (float)u->a, *beta = (float)u->b; return KILN_ACT_CLIP;
    case KILN_OP_LEAKY_RELU: *alpha = (float)u->a; return KILN_ACT_LEAKY_RELU;
    case KILN_OP_HARD_SIGMOID:
        *alpha = (float)u->a, *beta = (float)u->b;
        return KILN_ACT_HARD_SIGMOID;
    case KILN_OP_GELU:
        if (u->b != 0) /* -O3 already ran: only the Erf form has a fast epilogue */
            return u->a != 0 ? KILN_ACT_NONE : KILN_ACT_FAST_GELU;
        return u->a != 0 ? KILN_ACT_GELU_TANH : KILN_ACT_GELU;
    default: return KILN_ACT_NONE;
    }
}

enum kiln_status kiln_pass_fuse_activation(struct kiln_pass_ctx *c)
{
    struct kiln_ir_graph *g = c->g;
    kiln_ir_count_uses(g);
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        struct kiln_ir_node *n = g->nodes[i];
        if (n->dead || !n->params || !n->out[0])
            continue;
        float alpha, beta;
        int kind = act_of(n, &alpha, &beta);
        struct kiln_ir_value *v = n->in[0];
        struct kiln_ir_node *p = kiln_fuse_producer(v), *mul = NULL;
        if (!kind || !is_producer(p))
            continue;
        if (kind == KILN_ACT_SIGMOID && v->n_uses == 2 && !v->is_output) {
            /* SiLU: Mul(v, Sigmoid(v)) and no other reader of v */
            mul = kiln_fuse_sole_user_op(g, n->out[0], KILN_OP_MUL);
            if (!mul || kiln_fuse_other(mul, n->out[0]) != v)
                continue;
            kind = KILN_ACT_SILU;
        } else if (kiln_pass_sole_user(g, v) != n) {
            continue;
        }
        struct kiln_ir_node *last = mul ? mul : n;
        const char *name = kiln_fused_act_name(kind);
        if (!kiln_fuse_set_string(g, p, "kiln_act", name) ||
            ((kind == KILN_ACT_CLIP || kind == KILN_ACT_LEAKY_RELU ||
              kind == KILN_ACT_HARD_SIGMOID) &&
             !kiln_fuse_set_float(g, p, "kiln_act_alpha", alpha)) ||
            ((kind == KILN_ACT_CLIP || kind == KILN_ACT_HARD_SIGMOID) &&
             !kiln_fuse_set_float(g, p, "kiln_act_beta", beta)))
            return kiln_diag_set(c->d, KILN_STATUS_NO_MEMORY, NULL, NULL, "out of memory");
        n->dead = true;
        if (mul)
            mul->dead = true;
        kiln_fuse_take_output(p, last->out[0]);
        enum kiln_status st = kiln_pass_reinfer(c, p);
        if (st)
            return st;
        kiln_pass_log(c, "fused %s '%s'%s%s%s into %s '%s' (kiln_act=%s)", n->op_type, n->name,
                      mul ? " + Mul '" : "", mul ? mul->name : "", mul ? "'" : "", p->op_type,
                      p->name, name);
        kiln_ir_count_uses(g);
    }
    return KILN_STATUS_OK;
}
