/* gelu_pattern.c - recognises the GELU decompositions exporters write and replaces each with
 * one Gelu node (kiln's op; ONNX's from opset 20):
 *   Erf form   x * 0.5 * (1 + Erf(x / sqrt(2)))                      -> Gelu(approximate=none)
 *   Tanh form  0.5 * x * (1 + Tanh(sqrt(2/pi) * (x + 0.044715 x^3)))  -> Gelu(approximate=tanh)
 * The 0.5 may multiply x first, the (1 + ...) factor first, or the product last (the orders
 * torch writes); x / sqrt(2) may be x * (1/sqrt(2)); x^3 may be Pow(x, 3) or x * x * x. Every
 * intermediate must have a single reader, so nothing else sees the removed values. */
#include "edit.h"

#define MAX_DEAD 12

struct match {
    struct kiln_ir_value *x, *y;
    struct kiln_ir_node *dead[MAX_DEAD];
    int n_dead;
};

static void kill(struct match *m, struct kiln_ir_node *n)
{
    if (m->n_dead < MAX_DEAD)
        m->dead[m->n_dead++] = n;
}

/* Mul(a, b) with one operand v: the other one */
static struct kiln_ir_value *mul_other(const struct kiln_ir_node *n, const struct kiln_ir_value *v)
{
    return n && n->op == KILN_OP_MUL ? kiln_edit_other(n, v) : NULL;
}

/* From t (the Erf or Tanh output): (1 + t), times x and 0.5 in any of the three orders. */
static bool match_tail(const struct kiln_ir_graph *g, struct kiln_ir_value *t, struct match *m)
{
    struct kiln_ir_node *add = kiln_edit_sole_user_op(g, t, KILN_OP_ADD);
    if (!add || !kiln_edit_scalar_is(kiln_edit_other(add, t), 1.0f))
        return false;
    struct kiln_ir_value *a = add->out[0];
    struct kiln_ir_node *u = kiln_edit_sole_user_op(g, a, KILN_OP_MUL);
    struct kiln_ir_value *o = mul_other(u, a);
    if (!o)
        return false;
    kill(m, add);
    kill(m, u);
    struct kiln_ir_node *h = kiln_edit_producer_op(o, KILN_OP_MUL);
    if (o == m->x) { /* (x * (1 + t)) * 0.5 */
        struct kiln_ir_node *m2 = kiln_edit_sole_user_op(g, u->out[0], KILN_OP_MUL);
        if (!m2 || !kiln_edit_scalar_is(kiln_edit_other(m2, u->out[0]), 0.5f))
            return false;
        kill(m, m2);
        m->y = m2->out[0];
    } else if (kiln_edit_scalar_is(o, 0.5f)) { /* x * ((1 + t) * 0.5) */
        struct kiln_ir_node *m2 = kiln_edit_sole_user_op(g, u->out[0], KILN_OP_MUL);
        if (!m2 || kiln_edit_other(m2, u->out[0]) != m->x)
            return false;
        kill(m, m2);
        m->y = m2->out[0];
    } else if (h && kiln_edit_sole_user(g, o) == u && /* (x * 0.5) * (1 + t) */
               kiln_edit_scalar_is(mul_other(h, m->x), 0.5f)) {
        kill(m, h);
        m->y = u->out[0];
    } else {
        return false;
    }
    return kiln_edit_same_type(m->y, m->x);
}

/* Erf(x / sqrt(2)) or Erf(x * 1/sqrt(2)) */
static bool match_erf(const struct kiln_ir_graph *g, struct kiln_ir_node *erf, struct match *m)
{
    struct kiln_ir_node *d = kiln_edit_producer(erf->in[0]);
    if (!d || kiln_edit_sole_user(g, erf->in[0]) != erf || d->n_in != 2)
        return false;
    if (d->op == KILN_OP_DIV && kiln_edit_scalar_is(d->in[1], 1.41421356f))
        m->x = d->in[0];
    else if (d->op == KILN_OP_MUL && kiln_edit_scalar_is(d->in[1], 0.70710678f))
        m->x = d->in[0];
    else if (d->op == KILN_OP_MUL && kiln_edit_scalar_is(d->in[0], 0.70710678f))
        m->x = d->in[1];
    else
        return false;
    kill(m, d);
    kill(m, erf);
    return match_tail(g, erf->out[0], m);
}

/* x^3 as Pow(x, 3), (x * x) * x or x * (x * x); *x_out receives x */
static bool match_cube(const struct kiln_ir_graph *g, struct kiln_ir_value *p,
                       const struct kiln_ir_node *user, struct match *m,
                       struct kiln_ir_value **x_out)
{
    struct kiln_ir_node *n = kiln_edit_producer(p);
    if (!n || kiln_edit_sole_user(g, p) != user || n->n_in != 2)
        return false;
    if (n->op == KILN_OP_POW && kiln_edit_scalar_is(n->in[1], 3.0f)) {
        *x_out = n->in[0];
        kill(m, n);
        return true;
    }
    if (n->op != KILN_OP_MUL)
        return false;
    for (int k = 0; k < 2; k++) {
        struct kiln_ir_node *sq = kiln_edit_producer_op(n->in[k], KILN_OP_MUL);
        struct kiln_ir_value *x = n->in[1 - k];
        if (sq && sq->in[0] == x && sq->in[1] == x && kiln_edit_sole_user(g, n->in[k]) == n) {
            *x_out = x;
            kill(m, n);
            kill(m, sq);
            return true;
        }
    }
    return false;
}

/* Tanh(sqrt(2/pi) * (x + 0.044715 * x^3)), each product in either operand order */
static bool match_tanh(const struct kiln_ir_graph *g, struct kiln_ir_node *tanh_n, struct match *m)
{
    struct kiln_ir_value *u = tanh_n->in[0];
    struct kiln_ir_node *mu = kiln_edit_producer_op(u, KILN_OP_MUL);
    if (!mu || kiln_edit_sole_user(g, u) != tanh_n)
        return false;
    struct kiln_ir_value *v = kiln_edit_scalar_is(mu->in[0], 0.79788456f)   ? mu->in[1]
                              : kiln_edit_scalar_is(mu->in[1], 0.79788456f) ? mu->in[0]
                                                                            : NULL;
    struct kiln_ir_node *av = kiln_edit_producer_op(v, KILN_OP_ADD);
    if (!av || kiln_edit_sole_user(g, v) != mu)
        return false;
    kill(m, tanh_n);
    kill(m, mu);
    kill(m, av);
    for (int k = 0; k < 2; k++) {
        struct kiln_ir_value *w = av->in[k], *x = av->in[1 - k], *cube_x = NULL;
        struct kiln_ir_node *mw = kiln_edit_producer_op(w, KILN_OP_MUL);
        if (!mw || kiln_edit_sole_user(g, w) != av)
            continue;
        struct kiln_ir_value *p = kiln_edit_scalar_is(mw->in[0], 0.044715f)   ? mw->in[1]
                                  : kiln_edit_scalar_is(mw->in[1], 0.044715f) ? mw->in[0]
                                                                              : NULL;
        int keep = m->n_dead;
        if (p && match_cube(g, p, mw, m, &cube_x) && cube_x == x) {
            kill(m, mw);
            m->x = x;
            return match_tail(g, tanh_n->out[0], m);
        }
        m->n_dead = keep;
    }
    return false;
}

enum kiln_status kiln_pass_gelu_pattern(struct kiln_pass_ctx *c)
{
    struct kiln_ir_graph *g = c->g;
    kiln_ir_count_uses(g);
    struct kiln_ir_node *n;
    for (uint32_t i = 0; (n = kiln_edit_next_live(g, &i));) {
        if ((n->op != KILN_OP_ERF && n->op != KILN_OP_TANH) || !n->out[0] ||
            n->out[0]->dtype != KILN_DTYPE_F32)
            continue;
        struct match m = {0};
        bool tanh_form = n->op == KILN_OP_TANH;
        if (!(tanh_form ? match_tanh(g, n, &m) : match_erf(g, n, &m)) || m.n_dead >= MAX_DEAD)
            continue;
        struct kiln_ir_node *gelu =
            kiln_edit_new_node(g, n->name, "Gelu", KILN_OP_GELU, "Gelu", "kiln", 1);
        if (!gelu || (tanh_form && !kiln_edit_set_string(g, gelu, "approximate", "tanh")))
            return kiln_diag_set(c->d, KILN_STATUS_NO_MEMORY, NULL, NULL, "out of memory");
        gelu->in[0] = m.x;
        for (int k = 0; k < m.n_dead; k++)
            m.dead[k]->dead = true;
        kiln_edit_take_output(gelu, m.y);
        enum kiln_status st = kiln_edit_reinfer(c, gelu);
        if (st)
            return st;
        kiln_pass_log(c, "replaced %d nodes around %s '%s' by Gelu '%s'%s", m.n_dead, n->op_type,
                      n->name, gelu->name, tanh_form ? " (approximate=tanh)" : "");
        kiln_ir_count_uses(g);
    }
    return KILN_STATUS_OK;
}
