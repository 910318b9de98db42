/* fold_batchnorm.c - folds a per-output-channel affine map y = s * P(x) + t into the Conv,
 * ConvTranspose or Gemm P that feeds it: inference BatchNormalization (s = scale /
 * sqrt(var + eps), t = B - mean * s), and Mul / Add by a constant that is a scalar or varies
 * along the output channel axis only. The weights and bias become new constants (the old ones
 * may be shared); a missing bias becomes a new input. P's output must have no other reader. */
#include <math.h>
#include <stdlib.h>

#include "edit.h"

/* Output channels of P and whether P is a foldable producer: float constant weights, constant
 * or absent bias, no fused activation (that would sit between P and the affine map). */
static int64_t channels_of(const struct kiln_ir_node *p)
{
    int dt = p->out[0]->dtype;
    struct kiln_ir_value *w = p->in[1], *b = kiln_in(p, 2);
    if (!kiln_edit_is_float_const(w, dt) || (b && !kiln_edit_is_float_const(b, dt)) || !p->params)
        return 0;
    if (p->op == KILN_OP_CONV || p->op == KILN_OP_CONV_TRANSPOSE) {
        const struct kiln_p_conv *pc = p->params;
        return pc->act.kind == KILN_ACT_NONE ? p->out[0]->dims[1] : 0;
    }
    if (p->op == KILN_OP_GEMM) {
        const struct kiln_p_gemm *pg = p->params;
        return pg->act.kind == KILN_ACT_NONE ? p->out[0]->dims[1] : 0;
    }
    return 0;
}

/* The element of constant k applying to channel m of a rank-r output whose channel axis is 1,
 * or false when k varies along another axis or would widen the output. */
static bool per_channel(const struct kiln_ir_value *k, int r, int64_t M)
{
    if (k->rank > r)
        return false;
    for (int i = 0; i < k->rank; i++) {
        int axis = r - k->rank + i;
        if (k->dims[i] != 1 && !(axis == 1 && k->dims[i] == M))
            return false;
    }
    return true;
}

static double chan(const struct kiln_ir_value *k, int64_t m)
{
    return kiln_ir_value_numel(k) == 1 ? kiln_edit_get(k, 0) : kiln_edit_get(k, m);
}

/* Rewrites P so that it computes s * P(x) + t (s NULL: 1; t NULL: 0); M values each. */
static enum kiln_status fold(struct kiln_pass_ctx *c, struct kiln_ir_node *p, int64_t M,
                             const double *s, const double *t)
{
    struct kiln_ir_graph *g = c->g;
    struct kiln_ir_value *w = p->in[1], *b = kiln_in(p, 2);
    int dt = w->dtype;
    char base[300];
    struct kiln_ir_value *nw = w;
    if (s) {
        snprintf(base, sizeof base, "%s_folded", w->name);
        nw = kiln_edit_new_const(g, base, dt, w->rank, w->dims);
        if (!nw)
            goto oom;
        int64_t n = kiln_ir_value_numel(w);
        bool trans_b = p->op == KILN_OP_GEMM && kiln_edit_attr_int(p, "transB", 0);
        int64_t group = kiln_edit_attr_int(p, "group", 1);
        int64_t row = n / w->dims[0], cols = w->dims[w->rank - 1];
        for (int64_t i = 0; i < n; i++) {
            int64_t m;
            if (p->op == KILN_OP_CONV)
                m = i / row; /* W is [M, C/group, k...] */
            else if (p->op == KILN_OP_CONV_TRANSPOSE) {
                /* W is [C, M/group, k...]: input channel ci of group ci / (C/group) */
                int64_t mg = w->dims[1], ci = i / row, j = i % row / (row / mg);
                m = ci / (w->dims[0] / group) * mg + j;
            } else
                m = trans_b ? i / cols : i % cols; /* op(B) is [K, N]: scale column n */
            kiln_edit_set(nw, i, kiln_edit_get(w, i) * s[m]);
        }
    }
    struct kiln_ir_value *nb = b;
    if (p->op == KILN_OP_GEMM) {
        /* C' = s * beta * C + t with beta 1; C may broadcast [1|M, 1|N] */
        double beta = 1.0;
        const struct kiln_ir_attr *ba = kiln_ir_attr(p, "beta");
        if (ba && ba->type == KILN_ATTR_FLOAT)
            beta = ba->f;
        if (b || t) {
            int64_t rows = b && b->rank == 2 ? b->dims[0] : 1;
            int64_t bcols = b && b->rank ? b->dims[b->rank - 1] : 1;
            int64_t dims[2] = {rows, M};
            snprintf(base, sizeof base, "%s_folded_bias", p->name);
            nb = kiln_edit_new_const(g, base, dt, rows > 1 ? 2 : 1, rows > 1 ? dims : dims + 1);
            if (!nb)
                goto oom;
            for (int64_t r = 0; r < rows; r++)
                for (int64_t m = 0; m < M; m++) {
                    double v = b ? beta * kiln_edit_get(b, r * bcols + (bcols > 1 ? m : 0)) : 0;
                    kiln_edit_set(nb, r * M + m, v * (s ? s[m] : 1) + (t ? t[m] : 0));
                }
            if (!kiln_edit_set_float(g, p, "beta", 1.0f))
                goto oom;
        }
    } else if (b || t) {
        snprintf(base, sizeof base, "%s_folded_bias", p->name);
        nb = kiln_edit_new_const(g, base, dt, 1, &M);
        if (!nb)
            goto oom;
        for (int64_t m = 0; m < M; m++)
            kiln_edit_set(nb, m, (b ? kiln_edit_get(b, m) : 0) * (s ? s[m] : 1) + (t ? t[m] : 0));
    }
    if (nb && p->n_in < 3 && !kiln_edit_resize_inputs(g, p, 3))
        goto oom;
    p->in[1] = nw;
    if (nb)
        p->in[2] = nb;
    return kiln_edit_reinfer(c, p);
oom:
    return kiln_diag_set(c->d, KILN_STATUS_NO_MEMORY, p->name, p->op_type, "out of memory");
}

/* The Conv, ConvTranspose or Gemm computing x, or NULL. */
static struct kiln_ir_node *foldable_producer(const struct kiln_ir_value *x)
{
    struct kiln_ir_node *p = kiln_edit_producer(x);
    return p && (p->op == KILN_OP_CONV || p->op == KILN_OP_CONV_TRANSPOSE || p->op == KILN_OP_GEMM)
               ? p
               : NULL;
}

/* n is BatchNormalization, Mul or Add reading P's output; on success n is gone. */
static enum kiln_status try_fold(struct kiln_pass_ctx *c, struct kiln_ir_node *n, bool *done)
{
    *done = false;
    uint32_t xi = 0;
    if (n->op != KILN_OP_BATCH_NORMALIZATION && n->n_in == 2 && !foldable_producer(n->in[0]))
        xi = 1;
    struct kiln_ir_value *x = n->in[xi];
    struct kiln_ir_node *p = foldable_producer(x);
    if (!p || p->out[0] != x || kiln_edit_sole_user(c->g, x) != n || !n->out[0] ||
        x->dtype != n->out[0]->dtype)
        return KILN_STATUS_OK;
    int64_t M = channels_of(p);
    if (M <= 0)
        return KILN_STATUS_OK;
    int dt = x->dtype;
    double *s = NULL, *t = NULL;
    if (n->op == KILN_OP_BATCH_NORMALIZATION) {
        for (uint32_t i = 1; i < 5; i++)
            if (!kiln_edit_is_float_const(n->in[i], dt))
                return KILN_STATUS_OK;
        const struct kiln_p_batch_norm *pb = n->params;
        s = malloc(2 * (size_t)M * sizeof *s);
        if (!s)
            return kiln_diag_set(c->d, KILN_STATUS_NO_MEMORY, n->name, n->op_type,
                                 "out of memory");
        t = s + M;
        for (int64_t m = 0; m < M; m++) {
            s[m] = kiln_edit_get(n->in[1], m) / sqrt(kiln_edit_get(n->in[4], m) + pb->epsilon);
            t[m] = kiln_edit_get(n->in[2], m) - kiln_edit_get(n->in[3], m) * s[m];
        }
    } else {
        struct kiln_ir_value *k = n->in[1 - xi];
        if (!kiln_edit_is_float_const(k, dt) || !per_channel(k, x->rank, M) ||
            !kiln_edit_same_shape(x, n->out[0]))
            return KILN_STATUS_OK;
        double *v = malloc((size_t)M * sizeof *v);
        if (!v)
            return kiln_diag_set(c->d, KILN_STATUS_NO_MEMORY, n->name, n->op_type,
                                 "out of memory");
        for (int64_t m = 0; m < M; m++)
            v[m] = chan(k, m);
        *(n->op == KILN_OP_MUL ? &s : &t) = v;
    }
    enum kiln_status st = fold(c, p, M, s, t);
    free(s ? s : t);
    if (st)
        return st;
    kiln_pass_log(c, "folded %s '%s' into %s '%s'", n->op_type, n->name, p->op_type, p->name);
    kiln_edit_take_output(p, n->out[0]);
    n->dead = true;
    *done = true;
    return KILN_STATUS_OK;
}

enum kiln_status kiln_pass_fold_batchnorm(struct kiln_pass_ctx *c)
{
    struct kiln_ir_graph *g = c->g;
    /* in topological order, so Conv -> BN -> Mul -> Add folds in one sweep */
    struct kiln_ir_node *n;
    for (uint32_t i = 0; (n = kiln_edit_next_live(g, &i));) {
        if ((n->op != KILN_OP_BATCH_NORMALIZATION && n->op != KILN_OP_MUL && n->op != KILN_OP_ADD))
            continue;
        bool done;
        enum kiln_status st = try_fold(c, n, &done);
        if (st)
            return st;
        if (done)
            kiln_ir_count_uses(g);
    }
    return KILN_STATUS_OK;
}
