/* layernorm_pattern.c - recognises the LayerNorm decomposition exporters write before opset 17
 *   m = ReduceMean(x); d = x - m; v = ReduceMean(d^2 or d*d); y = d / Sqrt(v + eps)
 *   [* gamma] [+ beta]
 * over the last k axes (both ReduceMeans with keepdims, the same axes) and replaces it with one
 * LayerNormalization(x, gamma, beta, axis=-k, epsilon=eps). kiln runs LayerNormalization at any
 * opset (compiler/ops/normalize.c), so the node is valid in the graph's own opset. gamma and
 * beta must be constants covering exactly the normalised axes; without gamma the pass adds a
 * constant of ones (the op requires Scale). */
#include <stdlib.h>
#include <string.h>

#include "edit.h"

/* Axes of a ReduceMean with keepdims: as a bit mask over x's rank; 0 when not constant/known. */
static uint32_t reduce_axes(const struct kiln_ir_node *n, int rank)
{
    const struct kiln_ir_attr *kd = kiln_ir_attr(n, "keepdims");
    if (kd && kd->i == 0)
        return 0;
    const struct kiln_ir_attr *a = kiln_ir_attr(n, "axes");
    int64_t axes[KILN_MAX_RANK];
    size_t count = 0;
    if (a && a->type == KILN_ATTR_INTS && a->n <= KILN_MAX_RANK) {
        count = a->n;
        memcpy(axes, a->ints, count * sizeof *axes);
    } else if (!a && n->n_in > 1 && n->in[1] && n->in[1]->data &&
               n->in[1]->dtype == KILN_DTYPE_I64 &&
               kiln_ir_value_numel(n->in[1]) <= KILN_MAX_RANK) {
        count = (size_t)kiln_ir_value_numel(n->in[1]);
        memcpy(axes, n->in[1]->data, count * sizeof *axes);
    }
    uint32_t mask = 0;
    for (size_t i = 0; i < count; i++) {
        int64_t ax = axes[i] < 0 ? axes[i] + rank : axes[i];
        if (ax < 0 || ax >= rank)
            return 0;
        mask |= 1u << ax;
    }
    return mask;
}

/* gamma/beta: a constant of x's dtype with numel == inner that does not broadcast x over the
 * outer axes (right-aligned dims: 1 on outer axes, x's extent on the normalised ones). */
static bool affine_ok(const struct kiln_ir_value *p, const struct kiln_ir_value *x, int axis)
{
    if (!p || !p->data || p->dtype != x->dtype || p->rank > x->rank)
        return false;
    for (int i = 0; i < p->rank; i++) {
        int xi = x->rank - p->rank + i;
        if (p->dims[i] != (xi < axis ? 1 : x->dims[xi]))
            return false;
    }
    return true;
}

enum kiln_status kiln_pass_layernorm_pattern(struct kiln_pass_ctx *c)
{
    struct kiln_ir_graph *g = c->g;
    kiln_ir_count_uses(g);
    struct kiln_ir_node *r1;
    for (uint32_t i = 0; (r1 = kiln_edit_next_live(g, &i));) {
        if (r1->op != KILN_OP_REDUCE_MEAN)
            continue;
        struct kiln_ir_value *x = r1->in[0];
        if (x->dtype != KILN_DTYPE_F32 && x->dtype != KILN_DTYPE_F64)
            continue;
        int rank = x->rank;
        uint32_t mask = reduce_axes(r1, rank);
        int axis = rank;
        while (axis > 0 && (mask >> (axis - 1) & 1))
            axis--;
        if (!mask || mask != (((1u << rank) - 1) & ~((1u << axis) - 1)))
            continue; /* not exactly the last k axes */
        struct kiln_ir_node *sub = kiln_edit_sole_user_op(g, r1->out[0], KILN_OP_SUB);
        if (!sub || sub->in[0] != x || sub->in[1] != r1->out[0])
            continue;
        struct kiln_ir_value *d = sub->out[0];
        if (!kiln_edit_same_type(d, x) || d->is_output)
            continue;
        /* d is read by the square and by the Div, nothing else */
        struct kiln_ir_node *sq = kiln_edit_reader(g, d, NULL), *div = NULL;
        if (sq && sq->op == KILN_OP_DIV) {
            div = sq;
            sq = kiln_edit_reader(g, d, div);
        } else if (sq) {
            div = kiln_edit_reader(g, d, sq);
        }
        if (!sq || !div || div->op != KILN_OP_DIV || div->in[0] != d)
            continue;
        bool is_pow = sq->op == KILN_OP_POW && sq->in[0] == d && kiln_edit_scalar_is(sq->in[1], 2);
        bool is_mul = sq->op == KILN_OP_MUL && sq->in[0] == d && sq->in[1] == d;
        if ((!is_pow && !is_mul) || d->n_uses != (is_pow ? 2u : 3u))
            continue;
        struct kiln_ir_node *r2 = kiln_edit_sole_user_op(g, sq->out[0], KILN_OP_REDUCE_MEAN);
        if (!r2 || reduce_axes(r2, rank) != mask)
            continue;
        struct kiln_ir_node *add = kiln_edit_sole_user_op(g, r2->out[0], KILN_OP_ADD);
        float eps;
        if (!add || !kiln_edit_scalar(kiln_edit_other(add, r2->out[0]), &eps))
            continue;
        struct kiln_ir_node *sqrt_n = kiln_edit_sole_user_op(g, add->out[0], KILN_OP_SQRT);
        if (!sqrt_n || kiln_edit_sole_user(g, sqrt_n->out[0]) != div ||
            div->in[1] != sqrt_n->out[0])
            continue;
        struct kiln_ir_node *dead[10] = {r1, sub, sq, r2, add, sqrt_n, div};
        int n_dead = 7;
        struct kiln_ir_value *y = div->out[0], *gamma = NULL, *beta = NULL;
        struct kiln_ir_node *mg = kiln_edit_sole_user_op(g, y, KILN_OP_MUL);
        if (mg && affine_ok(kiln_edit_other(mg, y), x, axis) &&
            kiln_edit_same_type(mg->out[0], x)) {
            gamma = kiln_edit_other(mg, y);
            dead[n_dead++] = mg;
            y = mg->out[0];
            struct kiln_ir_node *ab = kiln_edit_sole_user_op(g, y, KILN_OP_ADD);
            if (ab && affine_ok(kiln_edit_other(ab, y), x, axis) &&
                kiln_edit_same_type(ab->out[0], x)) {
                beta = kiln_edit_other(ab, y);
                dead[n_dead++] = ab;
                y = ab->out[0];
            }
        }
        if (!gamma) { /* Scale is required: ones over the normalised axes */
            gamma = kiln_edit_new_const(g, "kiln_ln_ones", x->dtype, rank - axis, x->dims + axis);
            if (!gamma)
                return kiln_diag_set(c->d, KILN_STATUS_NO_MEMORY, NULL, NULL, "out of memory");
            int64_t inner = kiln_ir_value_numel(gamma);
            for (int64_t k = 0; k < inner; k++)
                kiln_edit_set(gamma, k, 1.0);
        }
        struct kiln_ir_node *ln =
            kiln_edit_new_node(g, r1->name, "LayerNormalization", KILN_OP_LAYER_NORMALIZATION,
                               "LayerNormalization", "", beta ? 3 : 2);
        if (!ln || !kiln_edit_set_int(g, ln, "axis", axis - rank) ||
            !kiln_edit_set_float(g, ln, "epsilon", eps))
            return kiln_diag_set(c->d, KILN_STATUS_NO_MEMORY, NULL, NULL, "out of memory");
        ln->in[0] = x;
        ln->in[1] = gamma;
        if (beta)
            ln->in[2] = beta;
        for (int k = 0; k < n_dead; k++)
            dead[k]->dead = true;
        kiln_edit_take_output(ln, y);
        enum kiln_status st = kiln_edit_reinfer(c, ln);
        if (st)
            return st;
        kiln_pass_log(c,
                      "replaced %d nodes from ReduceMean '%s' by LayerNormalization '%s' "
                      "(axis %d, epsilon %g)",
                      n_dead, r1->name, ln->name, axis - rank, (double)eps);
        kiln_ir_count_uses(g);
    }
    return KILN_STATUS_OK;
}
