/* reduce.c - load-time checks of the reductions, ArgMax/ArgMin, CumSum, TopK and Einsum
 * (reduce.c, cumsum.c, topk.c, einsum.c kernels): axes, output sizes, sort scratch, and label
 * strides that stay inside every input. */
#define KILN_CK_FILE "checks/reduce.c"
#include "check.h"

/* Reductions: the output has the kept axes' elements (keepdims only changes its rank). */
static int check_reduce(struct kiln_vctx *v)
{
    const struct kiln_p_reduce *p = v->params;
    desc *x = v->in[0], *y = v->out[0];
    int64_t kept = 1;
    if (kiln_ck_dtypes(v, v->kd, x, y, NULL))
        return 1;
    if (p->axes_mask >> x->rank || (p->keepdims & ~1) || (p->select_last_index & ~1) ||
        p->reserved)
        return BAD("axes mask %#x for rank %d", p->axes_mask, x->rank);
    for (int i = 0; i < x->rank; i++)
        kept *= (p->axes_mask >> i) & 1 ? 1 : x->dims[i];
    if (numel(y) != kept)
        return BAD("the output has %lld elements; the kept axes give %lld", L(numel(y)), L(kept));
    return 0;
}

static int check_arg(struct kiln_vctx *v)
{
    const struct kiln_p_reduce *p = v->params;
    desc *x = v->in[0];
    uint32_t m = p->axes_mask;
    if (kiln_ck_dtypes(v, v->kd, x, 0, 0) || kiln_ck_dtypes(v, KILN_DTYPE_I64, v->out[0], 0, 0))
        return 1;
    if (x->rank == 0 || !m || (m & (m - 1)) || m >> x->rank)
        return BAD("needs exactly one axis of %d (mask %#x)", x->rank, m);
    int ax = 0;
    while (!((m >> ax) & 1))
        ax++;
    if (x->dims[ax] < 1 && numel(v->out[0]) > 0)
        return BAD("reduces an empty axis");
    if (numel(v->out[0]) * x->dims[ax] != numel(x))
        return BAD("the output has %lld elements for an input of %lld", L(numel(v->out[0])),
                   L(numel(x)));
    return 0;
}

static int check_cumsum(struct kiln_vctx *v)
{
    const struct kiln_p_cumsum *p = v->params;
    if ((p->exclusive & ~1) || (p->reverse & ~1) || kiln_ck_axis(v, p->axis, v->in[0]->rank))
        return BAD("flags %d, %d", p->exclusive, p->reverse);
    return kiln_ck_ew_unary(v, 0);
}

static int check_topk(struct kiln_vctx *v)
{
    const struct kiln_p_topk *p = v->params;
    desc *x = v->in[0], *y = v->out[0], *ind = opt_out(v, 1);
    if (kiln_ck_axis(v, p->axis, x->rank) || kiln_ck_dtypes(v, v->kd, x, y, NULL) ||
        kiln_ck_dtypes(v, KILN_DTYPE_I64, ind, 0, 0))
        return 1;
    int64_t len = x->dims[p->axis], k = p->k;
    desc *kin = opt_in(v, 1);
    if (k == -1) { /* k computed at run time: the outputs are bounded by the axis */
        if (!kin || kin->dtype != KILN_DTYPE_I64 || numel(kin) != 1 ||
            !(y->flags & KILN_TENSOR_RUNTIME_DIMS) ||
            (ind && !(ind->flags & KILN_TENSOR_RUNTIME_DIMS)))
            return BAD("a run-time k needs one int64 value and outputs of run-time extent");
        k = len;
    }
    if (k < 0 || k > len || (p->largest & ~1) || (p->sorted & ~1))
        return BAD("k %lld for an axis of %lld", L(p->k), L(len));
    if (y->rank != x->rank || (ind && !same_shape(ind, y)))
        return BAD("outputs of another shape");
    for (int i = 0; i < x->rank; i++)
        if (y->dims[i] != (i == p->axis ? k : x->dims[i]))
            return BAD("output axis %d has %lld", i, L(y->dims[i]));
    return numel(x) ? kiln_ck_scratch(v, mulc((uint64_t)len, 2 * sizeof(int64_t))) : 0;
}

static int check_einsum(struct kiln_vctx *v)
{
    const struct kiln_p_einsum *p = v->params;
    if (p->n_in != (int)v->n->n_in || p->n_out < 0 || p->n_out > p->n_labels ||
        p->n_labels > KILN_EINSUM_MAX_LABELS || p->reserved)
        return BAD("%d inputs, %d of %d labels", p->n_in, p->n_out, p->n_labels);
    if (kiln_ck_dtypes(v, v->kd, v->out[0], 0, 0) ||
        kiln_ck_prodc(p->size, p->n_out) != (uint64_t)numel(v->out[0]) ||
        kiln_ck_prodc(p->size + p->n_out, p->n_labels - p->n_out) > (uint64_t)MAX_ELEMS)
        return BAD("the output labels do not give the output's %lld elements", L(numel(v->out[0])));
    for (int i = 0; i < p->n_in; i++)
        if (kiln_ck_dtypes(v, v->kd, v->in[i], 0, 0) ||
            (!kiln_ck_strided_fits(p->size, p->stride[i], p->n_labels, numel(v->in[i])) &&
             BAD("input %d: the label strides leave it", i)))
            return 1;
    return 0;
}

/* ---- the ops' checks (kiln_oc_<op>, reached through their kernel lists) ---- */

KILN_CHECK(reduce_mean, check_reduce, sizeof(struct kiln_p_reduce));
KILN_CHECK(reduce_sum, check_reduce, sizeof(struct kiln_p_reduce));
KILN_CHECK(reduce_max, check_reduce, sizeof(struct kiln_p_reduce));
KILN_CHECK(reduce_min, check_reduce, sizeof(struct kiln_p_reduce));
KILN_CHECK(reduce_prod, check_reduce, sizeof(struct kiln_p_reduce));
KILN_CHECK(reduce_l1, check_reduce, sizeof(struct kiln_p_reduce));
KILN_CHECK(reduce_l2, check_reduce, sizeof(struct kiln_p_reduce));
KILN_CHECK(reduce_log_sum, check_reduce, sizeof(struct kiln_p_reduce));
KILN_CHECK(reduce_log_sum_exp, check_reduce, sizeof(struct kiln_p_reduce));
KILN_CHECK(reduce_sum_square, check_reduce, sizeof(struct kiln_p_reduce));
KILN_CHECK(argmax, check_arg, sizeof(struct kiln_p_reduce));
KILN_CHECK(argmin, check_arg, sizeof(struct kiln_p_reduce));
KILN_CHECK(cumsum, check_cumsum, sizeof(struct kiln_p_cumsum));
KILN_CHECK(topk, check_topk, sizeof(struct kiln_p_topk));
/* Einsum's operands are variadic (every one present) up to kiln's limit */
KILN_CHECK_LOWERED(einsum, check_einsum, ALL, KILN_EINSUM_MAX_IN, 1, 1,
                   sizeof(struct kiln_p_einsum));
