/* loss.c - NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss. Both end in one NLL
 * reduction over log-probabilities viewed as [n, c, d]; SoftmaxCrossEntropyLoss first takes
 * the LogSoftmax along C with the Softmax family's column code (softmax.h), into its log_prob
 * output or, when that is not requested, into scratch. Sums accumulate in double. */
#include "nn.h"
#include "softmax.h"

/* Target k as int64 (int32 or int64 tensor). */
static int64_t loss_target(const struct kiln_tensor *t, int64_t k)
{
    return t->dtype == KILN_DTYPE_I32 ? ((const int32_t *)t->data)[k]
                                      : ((const int64_t *)t->data)[k];
}

/* Whether target t selects a class: not ignore_index and inside [0, c). Out-of-range targets
 * are invalid models that the compiler rejects when the target is constant; at run time they
 * are treated as ignored so that no read leaves the input. */
static int loss_applies(const struct kiln_p_loss *p, int64_t t)
{
    return !(p->has_ignore && t == p->ignore_index) && t >= 0 && t < p->c;
}

/* out: [n, d] for reduction none, else one value; mean divides by the sum of the applied
 * weights (NaN when every target is ignored, as 0/0 would give). */
#define LOSS_DEFINE(sfx, DT, T, ACC, LOAD, STORE)                                              \
    KILN_SOFTMAX_COLUMN(sfx, T, ACC, LOAD, STORE)                                              \
    static void nll_##sfx(const struct kiln_p_loss *p, const T *lp,                            \
                          const struct kiln_tensor *tgt, const T *w, T *out)                   \
    {                                                                                          \
        double total = 0, wsum = 0;                                                            \
        for (int64_t i = 0; i < p->n; i++)                                                     \
            for (int64_t j = 0; j < p->d; j++) {                                               \
                int64_t t = loss_target(tgt, i * p->d + j);                                    \
                double l = 0, wt = 0;                                                          \
                if (loss_applies(p, t)) {                                                      \
                    wt = w ? (double)LOAD(w[t]) : 1.0;                                         \
                    l = -(double)LOAD(lp[(i * p->c + t) * p->d + j]) * wt;                     \
                }                                                                              \
                if (p->reduction == KILN_LOSS_NONE)                                            \
                    out[i * p->d + j] = STORE((ACC)l);                                         \
                total += l;                                                                    \
                wsum += wt;                                                                    \
            }                                                                                  \
        if (p->reduction == KILN_LOSS_SUM)                                                     \
            out[0] = STORE((ACC)total);                                                        \
        else if (p->reduction == KILN_LOSS_MEAN)                                               \
            out[0] = STORE((ACC)(wsum != 0 ? total / wsum : NAN));                             \
    }                                                                                          \
    static void kiln_k_nll_loss_##sfx(const struct kiln_kernel_args *a)                        \
    {                                                                                          \
        nll_##sfx(a->params, a->in[0].data, &a->in[1], a->n_in > 2 ? a->in[2].data : NULL,     \
                  a->out[0].data);                                                             \
    }                                                                                          \
    static void kiln_k_sce_loss_##sfx(const struct kiln_kernel_args *a)                        \
    {                                                                                          \
        const struct kiln_p_loss *p = a->params;                                               \
        const T *x = a->in[0].data;                                                            \
        T *lp = a->n_out > 1 && a->out[1].data ? a->out[1].data : a->scratch;                  \
        for (int64_t i = 0; i < p->n; i++)                                                     \
            for (int64_t j = 0; j < p->d; j++)                                                 \
                kiln_softmax_col_##sfx(x + i * p->c * p->d + j, lp + i * p->c * p->d + j,      \
                                       p->c, p->d, KILN_LOG_SOFTMAX);                          \
        nll_##sfx(p, lp, &a->in[1], a->n_in > 2 ? a->in[2].data : NULL, a->out[0].data);       \
    }

KILN_NN_FLOATS(LOSS_DEFINE)

#define KV_NLL(sfx, DT, ...) KILN_K(kiln_k_nll_loss_##sfx, DT),
#define KV_SCE(sfx, DT, ...) KILN_K(kiln_k_sce_loss_##sfx, DT),
KILN_KERNELS(nll_loss, KILN_NN_FLOATS(KV_NLL));
KILN_KERNELS(softmax_cross_entropy_loss, KILN_NN_FLOATS(KV_SCE));
