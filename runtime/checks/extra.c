/* extra.c - load-time checks of NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss,
 * TfIdfVectorizer, DFT, STFT and Det (kernels loss.c, tfidf.c, signal.c, det.c). */
#define KILN_CK_FILE "checks/extra.c"
#include "check.h"

/* NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss: the input is [n, c, d], the target
 * [n, d] int32/int64, the weight c values; the output [n, d] (none) or one value. Targets are
 * data, so the kernels bound them themselves; SoftmaxCrossEntropyLoss writes the
 * log-probabilities into its second output or, without it, into scratch. */
static int check_loss(struct kiln_vctx *v)
{
    const struct kiln_p_loss *p = v->params;
    desc *x = v->in[0], *t = v->in[1], *w = opt_in(v, 2), *y = v->out[0], *lp = opt_out(v, 1);
    int sce = v->n->op == OP_SOFTMAX_CROSS_ENTROPY_LOSS;
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

/* TfIdfVectorizer: variable-size params (struct kiln_p_tfidf, int64 pool[pool_len], int64
 * {start, len, col} per n-gram, double weight per n-gram) whose counts must give exactly
 * params_size; every n-gram inside the pool and its column inside the output row. */
static int check_tfidf(struct kiln_vctx *v)
{
    const struct kiln_p_tfidf *p = v->params;
    desc *x = v->in[0], *y = v->out[0];
    uint64_t slots = (v->n->params_size - sizeof *p) / 8; /* int64 slots after the struct */
    if (p->mode < KILN_TFIDF_TF || p->mode > KILN_TFIDF_TFIDF || p->min_len < 1 ||
        p->max_len < p->min_len || p->max_skip < 0 || p->rows < 0 || p->row_len < 0 ||
        p->cols < 0 || p->pool_len < 0 || p->n_grams < 0 || (uint64_t)p->pool_len > slots ||
        (uint64_t)p->n_grams > slots / 4 ||
        sizeof *p + 8 * ((uint64_t)p->pool_len + 4 * (uint64_t)p->n_grams) != v->n->params_size)
        return BAD("mode %d, n-gram lengths %d..%d, skip %d, or a pool of %lld with %lld "
                   "n-grams in %u bytes of params",
                   p->mode, p->min_len, p->max_len, p->max_skip, L(p->pool_len), L(p->n_grams),
                   v->n->params_size);
    if ((x->dtype != KILN_DTYPE_I32 && x->dtype != KILN_DTYPE_I64) ||
        mulc((uint64_t)p->rows, (uint64_t)p->row_len) != (uint64_t)numel(x) ||
        kiln_ck_dtypes(v, KILN_DTYPE_F32, y, 0, 0) ||
        mulc((uint64_t)p->rows, (uint64_t)p->cols) != (uint64_t)numel(y))
        return BAD("needs %lld x %lld int32/int64 tokens and %lld x %lld float32 outputs",
                   L(p->rows), L(p->row_len), L(p->rows), L(p->cols));
    const int64_t *gram = (const int64_t *)(const void *)(p + 1) + p->pool_len;
    for (int64_t k = 0; k < p->n_grams; k++) {
        int64_t start = gram[3 * k], len = gram[3 * k + 1], col = gram[3 * k + 2];
        if (start < 0 || start > p->pool_len || len < 1 || len > p->pool_len - start ||
            col < 0 || col >= p->cols)
            return BAD("n-gram %lld: pool[%lld] + %lld or column %lld out of range", L(k),
                       L(start), L(len), L(col));
    }
    return 0;
}

/* DFT: the input is [outer, len, inner, 1 or 2], the output [outer, bins, inner, 2]; n points
 * per transform (the kernel steps twiddles modulo n), bins <= n; scratch for the twiddles,
 * the points and the bins (doubles). */
static int check_dft(struct kiln_vctx *v)
{
    const struct kiln_p_dft *p = v->params;
    desc *x = v->in[0], *y = v->out[0];
    if (p->outer < 0 || p->len < 0 || p->inner < 0 || p->n < 1 || p->n > MAX_ELEMS ||
        p->bins < 1 || p->bins > p->n || (p->complex_in & ~1) || (p->inverse & ~1))
        return BAD("[%lld, %lld, %lld], %lld points, %lld bins or flags do not fit",
                   L(p->outer), L(p->len), L(p->inner), L(p->n), L(p->bins));
    if (kiln_ck_dtypes(v, v->kd, x, y, NULL))
        return 1;
    uint64_t oi = mulc((uint64_t)p->outer, (uint64_t)p->inner);
    if (mulc(mulc(oi, (uint64_t)p->len), p->complex_in ? 2 : 1) != (uint64_t)numel(x) ||
        mulc(mulc(oi, (uint64_t)p->bins), 2) != (uint64_t)numel(y))
        return BAD("the input (%lld elements) or output (%lld) is not [%lld, %lld or %lld, "
                   "%lld, 1 or 2]",
                   L(numel(x)), L(numel(y)), L(p->outer), L(p->len), L(p->bins), L(p->inner));
    return kiln_ck_scratch(v, mulc((uint64_t)(4 * p->n + 2 * p->bins), sizeof(double)));
}

/* STFT: signal [batch, length, 1 or 2]; frames of frame_length samples every step stay inside
 * it; the window (when used) has a value per sample; output [batch, frames, bins, 2]. */
static int check_stft(struct kiln_vctx *v)
{
    const struct kiln_p_stft *p = v->params;
    desc *x = v->in[0], *y = v->out[0], *w = opt_in(v, 2);
    int64_t fl = p->frame_length;
    if (p->batch < 0 || p->length < 0 || p->frames < 0 || p->step < 1 || fl < 1 ||
        fl > MAX_ELEMS || p->bins < 1 || p->bins > fl || (p->complex_in & ~1) ||
        (p->has_window & ~1) ||
        (p->frames && (fl > p->length ||
                       mulc((uint64_t)(p->frames - 1), (uint64_t)p->step) >
                           (uint64_t)(p->length - fl))))
        return BAD("%lld frames of %lld samples every %lld, %lld bins, for a signal of %lld",
                   L(p->frames), L(fl), L(p->step), L(p->bins), L(p->length));
    if (kiln_ck_dtypes(v, v->kd, x, y, w))
        return 1;
    if (p->has_window && (!w || numel(w) < fl))
        return BAD("the window must have %lld values", L(fl));
    uint64_t bf = mulc((uint64_t)p->batch, (uint64_t)p->frames);
    if (mulc(mulc((uint64_t)p->batch, (uint64_t)p->length), p->complex_in ? 2 : 1) !=
            (uint64_t)numel(x) ||
        mulc(mulc(bf, (uint64_t)p->bins), 2) != (uint64_t)numel(y))
        return BAD("the signal (%lld elements) or output (%lld) does not fit [%lld, %lld]",
                   L(numel(x)), L(numel(y)), L(p->batch), L(p->length));
    return kiln_ck_scratch(v, mulc((uint64_t)(4 * fl + 2 * p->bins), sizeof(double)));
}

/* Det: [..., M, M] in, the leading axes out; one M x M double matrix of scratch. */
static int check_det(struct kiln_vctx *v)
{
    desc *x = v->in[0], *y = v->out[0];
    int r = x->rank;
    if (kiln_ck_dtypes(v, v->kd, x, y, NULL))
        return 1;
    if (r < 2 || x->dims[r - 1] != x->dims[r - 2] || y->rank != r - 2)
        return BAD("the input must be [..., M, M] and the output its leading axes");
    for (int i = 0; i < r - 2; i++)
        if (y->dims[i] != x->dims[i])
            return BAD("output axis %d has %lld, the input %lld", i, L(y->dims[i]),
                       L(x->dims[i]));
    uint64_t m = (uint64_t)x->dims[r - 1];
    return kiln_ck_scratch(v, mulc(mulc(m, m), sizeof(double)));
}

/* ---- the ops' checks (kiln_oc_<op>, reached through their kernel lists) ---- */

KILN_CHECK(nll_loss, check_loss, 2, 3, 1, 1, sizeof(struct kiln_p_loss));
KILN_CHECK(softmax_cross_entropy_loss, check_loss, 2, 3, 1, 2, sizeof(struct kiln_p_loss));
KILN_CHECK(tfidf_vectorizer, check_tfidf, 1, 1, 1, 1, PVAR | sizeof(struct kiln_p_tfidf));
KILN_CHECK(dft, check_dft, 1, 3, 1, 1, sizeof(struct kiln_p_dft));
KILN_CHECK(stft, check_stft, 1, 4, 1, 1, sizeof(struct kiln_p_stft));
KILN_CHECK(det, check_det, 1, 1, 1, 1, 0);
