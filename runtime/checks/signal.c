/* signal.c - load-time checks of DFT and STFT (kernels signal.c); the windows and
 * MelWeightMatrix run only at compile time (compile_time.c). */
#define KILN_CK_FILE "checks/signal.c"
#include "check.h"

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

/* ---- the ops' checks (kiln_oc_<op>, reached through their kernel lists) ---- */

KILN_CHECK(dft, check_dft, sizeof(struct kiln_p_dft));
KILN_CHECK(stft, check_stft, sizeof(struct kiln_p_stft));
