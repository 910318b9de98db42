/* loss.c - load-time checks of NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss
 * (kernels loss.c). */
#define KILN_CK_FILE "checks/loss.c"
#include "check.h"

/* NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss: the input is [n, c, d], the target
 * [n, d] int32/int64, the weight c values; the output [n, d] (none) or one value. Targets are
 * data, so the kernels bound them themselves; SoftmaxCrossEntropyLoss writes the
 * log-probabilities into its second output or, without it, into scratch. */
static int check_loss(struct kiln_vctx *v)
{
    const struct kiln_p_loss *p = v->params;
    desc *x = v->in[0], *t = v->in[1], *w = opt_in(v, 2), *y = v->out[0], *lp = opt_out(v, 1);
    int sce = v->n->op == KILN_OP_SOFTMAX_CROSS_ENTROPY_LOSS;
    if (p->n < 0 || p->c < 0 || p->d < 0 || p->reduction < KILN_LOSS_NONE ||
        p->reduction > KILN_LOSS_MEAN || (p->has_ignore & ~1))
        return BAD("[n %lld, c %lld, d %lld] or reduction %d", L(p->n), L(p->c), L(p->d),
                   p->reduction);
    if (kiln_ck_dtypes(v, v->kd, x, w, y) || kiln_ck_dtypes(v, v->kd, lp, 0, 0))
        return 1;
    uint64_t nd = mulc((uint64_t)p->n, (uint64_t)p->d);
    if (mulc(nd, (uint64_t)p->c) != (uint64_t)numel(x) ||
        (t->dtype != KILN_DTYPE_I32 && t->dtype != KILN_DTYPE_I64) || (uint64_t)numel(t) != nd)
        return BAD("the input (%lld elements) and the int32/int64 target (%lld) are not "
                   "[%lld, %lld, %lld] and [%lld, %lld]",
                   L(numel(x)), L(numel(t)), L(p->n), L(p->c), L(p->d), L(p->n), L(p->d));
    if (w && numel(w) != p->c)
        return BAD("the weight needs %lld values (one per class)", L(p->c));
    if ((uint64_t)numel(y) != (p->reduction == KILN_LOSS_NONE ? nd : 1))
        return BAD("the output has %lld elements for reduction %d", L(numel(y)), p->reduction);
    if (!sce)
        return 0;
    if (p->c < 1 && nd)
        return BAD("the softmax needs at least one class");
    if (lp)
        return same_shape(lp, x) ? 0 : BAD("the log_prob output must have the input's shape");
    return kiln_ck_scratch(v, mulc((uint64_t)numel(x), kiln_dtype_size(v->kd)));
}

/* ---- the ops' checks (kiln_oc_<op>, reached through their kernel lists) ---- */

KILN_CHECK(nll_loss, check_loss, sizeof(struct kiln_p_loss));
KILN_CHECK(softmax_cross_entropy_loss, check_loss, sizeof(struct kiln_p_loss));
