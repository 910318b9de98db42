/* rnn.c - LSTM, GRU and RNN kernels (float32): one recurrence driver per direction (input
 * projection of all timesteps with one GEMM, biases folded in, then per step H.R^T with the
 * GEMM and a per-op cell function over the batch), honouring layout, sequence_lens (steps past a
 * batch entry's length leave its state alone and write zeros to Y) and the optional outputs.
 * Scratch layout in rnn.h; gate activations from act.h. */
#include <math.h>

#include "kernels.h"
#include "act.h"
#include "gemm_core.h"
#include "rnn.h"

/* One direction of one run: weights, the running state and the step being computed. */
struct rnn_dir {
    const struct kiln_p_rnn *p;
    const struct kiln_act *act; /* f, g, h of this direction */
    const float *r;             /* R [G*H, H] */
    const float *rb_h;          /* GRU linear_before_reset: Rb of the h gate (else unused) */
    const float *peep;          /* LSTM P [3H] (i, o, f) or NULL */
    const int32_t *lens;        /* [batch] or NULL: every entry has seq steps */
    float *xw, *hr, *h, *c, *tmp;
    void *gemm;
    int64_t seq, batch, hidden, gh, t;
};

static int rnn_active(const struct rnn_dir *d, int64_t b)
{
    return !d->lens || d->t < d->lens[b];
}

/* Row of the input projection for batch entry b at step t (rows are in X's memory order). */
static const float *rnn_xw(const struct rnn_dir *d, int64_t b)
{
    int64_t row = d->p->layout ? b * d->seq + d->t : d->t * d->batch + b;
    return d->xw + row * d->gh;
}

/* hr[:, g0 : g0 + n] = src . R[g0 : g0 + n]^T for every batch entry (src is [batch, H]). */
static void rnn_hproj(const struct rnn_dir *d, const float *src, int64_t g0, int64_t n)
{
    int64_t H = d->hidden;
    kiln_gemm_f32(d->batch, n, H, 1.0f, src, H, 1, d->r + g0 * H, 1, H, d->hr + g0, d->gh, 0,
                  d->gemm);
}

/* A gate: clip the pre-activation (when clip is set), then the activation. */
static float rnn_gate(const struct rnn_dir *d, int k, float v)
{
    float clip = d->p->clip;
    if (clip > 0.0f)
        v = v < -clip ? -clip : v > clip ? clip : v;
    return kiln_act_apply(&d->act[k], v);
}

/* Ht = f(Xt.W^T + Ht-1.R^T + Wb + Rb) */
static void rnn_step_rnn(struct rnn_dir *d)
{
    int64_t H = d->hidden;
    rnn_hproj(d, d->h, 0, H);
    for (int64_t b = 0; b < d->batch; b++) {
        if (!rnn_active(d, b))
            continue;
        const float *x = rnn_xw(d, b), *r = d->hr + b * d->gh;
        float *h = d->h + b * H;
        for (int64_t j = 0; j < H; j++)
            h[j] = rnn_gate(d, 0, x[j] + r[j]);
    }
}

/* Gates z, r, h (in that order in W and R):
 *   z = f(..z), r = f(..r), h~ = g(Xt.Wh + (r (.) Ht-1).Rh + Rbh + Wbh), or with
 *   linear_before_reset h~ = g(Xt.Wh + r (.) (Ht-1.Rh + Rbh) + Wbh); Ht = (1-z) h~ + z Ht-1.
 * Without linear_before_reset the h-gate product needs r first: a second GEMM on r (.) H. */
static void rnn_step_gru(struct rnn_dir *d)
{
    int64_t H = d->hidden;
    int lbr = d->p->linear_before_reset;
    rnn_hproj(d, d->h, 0, lbr ? 3 * H : 2 * H);
    for (int64_t b = 0; b < d->batch; b++) {
        if (!rnn_active(d, b))
            continue;
        const float *x = rnn_xw(d, b), *h = d->h + b * H;
        float *r = d->hr + b * d->gh, *rh = d->tmp + b * H;
        for (int64_t j = 0; j < H; j++) {
            r[j] = rnn_gate(d, 0, x[j] + r[j]);                 /* z, kept in place */
            r[H + j] = rnn_gate(d, 0, x[H + j] + r[H + j]);     /* r */
            rh[j] = r[H + j] * h[j];
        }
    }
    if (!lbr)
        rnn_hproj(d, d->tmp, 2 * H, H);
    for (int64_t b = 0; b < d->batch; b++) {
        if (!rnn_active(d, b))
            continue;
        const float *x = rnn_xw(d, b), *r = d->hr + b * d->gh;
        float *h = d->h + b * H;
        for (int64_t j = 0; j < H; j++) {
            float z = r[j], rr = r[H + j], pre = x[2 * H + j];
            pre += lbr ? rr * (r[2 * H + j] + (d->rb_h ? d->rb_h[j] : 0.0f)) : r[2 * H + j];
            float hh = rnn_gate(d, 1, pre);
            h[j] = (1.0f - z) * hh + z * h[j];
        }
    }
}

/* Gates i, o, f, c (in that order in W and R; peepholes P in the order i, o, f):
 *   i = f(.. + Pi (.) Ct-1), f = f(.. + Pf (.) Ct-1) or 1 - i with input_forget, c~ = g(..),
 *   Ct = f (.) Ct-1 + i (.) c~, o = f(.. + Po (.) Ct), Ht = o (.) h(Ct). */
static void rnn_step_lstm(struct rnn_dir *d)
{
    int64_t H = d->hidden;
    rnn_hproj(d, d->h, 0, 4 * H);
    const float *pi = d->peep, *po = pi ? pi + H : NULL, *pf = pi ? pi + 2 * H : NULL;
    for (int64_t b = 0; b < d->batch; b++) {
        if (!rnn_active(d, b))
            continue;
        const float *x = rnn_xw(d, b), *r = d->hr + b * d->gh;
        float *h = d->h + b * H, *c = d->c + b * H;
        for (int64_t j = 0; j < H; j++) {
            float cp = c[j];
            float ig = rnn_gate(d, 0, x[j] + r[j] + (pi ? pi[j] * cp : 0.0f));
            float fg = d->p->input_forget
                           ? 1.0f - ig
                           : rnn_gate(d, 0, x[2 * H + j] + r[2 * H + j] + (pf ? pf[j] * cp : 0.0f));
            float cc = rnn_gate(d, 1, x[3 * H + j] + r[3 * H + j]);
            float cn = fg * cp + ig * cc;
            float og = rnn_gate(d, 0, x[H + j] + r[H + j] + (po ? po[j] * cn : 0.0f));
            c[j] = cn;
            h[j] = og * kiln_act_apply(&d->act[2], cn);
        }
    }
}

static void (*const rnn_steps[])(struct rnn_dir *) = {
    [KILN_RNN_CELL_RNN] = rnn_step_rnn,
    [KILN_RNN_CELL_GRU] = rnn_step_gru,
    [KILN_RNN_CELL_LSTM] = rnn_step_lstm,
};

static const float *rnn_opt_in(const struct kiln_kernel_args *a, uint32_t i)
{
    return a->n_in > i ? a->in[i].data : NULL;
}

static float *rnn_opt_out(const struct kiln_kernel_args *a, uint32_t i)
{
    return a->n_out > i ? a->out[i].data : NULL;
}

/* Inputs X, W, R, [B, sequence_lens, initial_h, initial_c, P]; outputs [Y, Y_h, Y_c]. */
static void kiln_k_rnn_f32(const struct kiln_kernel_args *a)
{
    const struct kiln_p_rnn *p = a->params;
    const struct kiln_tensor *X = &a->in[0];
    int64_t seq = X->dims[p->layout ? 1 : 0], batch = X->dims[p->layout ? 0 : 1];
    int64_t in = X->dims[2], H = p->hidden_size;
    int64_t gates = p->cell == KILN_RNN_CELL_LSTM ? 4 : p->cell == KILN_RNN_CELL_GRU ? 3 : 1;
    int64_t gh = gates * H, ndir = p->direction == KILN_RNN_BIDIRECTIONAL ? 2 : 1;
    const float *W = a->in[1].data, *R = a->in[2].data, *B = rnn_opt_in(a, 3);
    const float *h0 = rnn_opt_in(a, 5), *c0 = rnn_opt_in(a, 6), *P = rnn_opt_in(a, 7);
    float *Y = rnn_opt_out(a, 0), *Yh = rnn_opt_out(a, 1), *Yc = rnn_opt_out(a, 2);
    struct kiln_rnn_scratch sl = kiln_rnn_scratch_layout((uint64_t)seq, (uint64_t)batch,
                                                         (uint64_t)in, (uint64_t)H,
                                                         (uint64_t)gates, sizeof(float));
    char *s = a->scratch;
    struct rnn_dir d = {.p = p, .lens = a->n_in > 4 ? a->in[4].data : NULL,
                        .xw = (float *)(s + sl.xw), .hr = (float *)(s + sl.hr),
                        .h = (float *)(s + sl.h), .c = (float *)(s + sl.c),
                        .tmp = (float *)(s + sl.tmp), .gemm = s + sl.gemm, .seq = seq,
                        .batch = batch, .hidden = H, .gh = gh};
    for (int64_t dir = 0; dir < ndir; dir++) {
        int reverse = p->direction == KILN_RNN_REVERSE || dir == 1;
        d.act = &p->act[dir * 3];
        d.r = R + dir * gh * H;
        d.peep = P ? P + dir * 3 * H : NULL;
        kiln_gemm_f32(seq * batch, gh, in, 1.0f, X->data, in, 1, W + dir * gh * in, 1, in, d.xw,
                      gh, 0, d.gemm);
        /* Fold Wb + Rb into the projection; GRU with linear_before_reset keeps Rb of its h gate
         * apart, since the reset gate scales it. */
        d.rb_h = NULL;
        if (B) {
            const float *wb = B + dir * 2 * gh, *rb = wb + gh;
            int64_t rb_end = gh;
            if (p->cell == KILN_RNN_CELL_GRU && p->linear_before_reset) {
                d.rb_h = rb + 2 * H;
                rb_end = 2 * H;
            }
            for (int64_t row = 0; row < seq * batch; row++)
                for (int64_t j = 0; j < gh; j++)
                    d.xw[row * gh + j] += wb[j] + (j < rb_end ? rb[j] : 0.0f);
        }
        /* initial state; [ndir, batch, H] or batch-first [batch, ndir, H] */
        for (int64_t b = 0; b < batch; b++) {
            int64_t off = (p->layout ? b * ndir + dir : dir * batch + b) * H;
            for (int64_t j = 0; j < H; j++) {
                d.h[b * H + j] = h0 ? h0[off + j] : 0.0f;
                d.c[b * H + j] = c0 ? c0[off + j] : 0.0f;
                d.tmp[b * H + j] = 0.0f; /* rows of finished entries still enter the GEMM */
            }
        }
        for (int64_t step = 0; step < seq; step++) {
            d.t = reverse ? seq - 1 - step : step;
            rnn_steps[p->cell](&d);
            for (int64_t b = 0; Y && b < batch; b++) {
                int64_t off = p->layout ? ((b * seq + d.t) * ndir + dir) * H
                                        : ((d.t * ndir + dir) * batch + b) * H;
                int act = rnn_active(&d, b);
                for (int64_t j = 0; j < H; j++)
                    Y[off + j] = act ? d.h[b * H + j] : 0.0f;
            }
        }
        for (int64_t b = 0; b < batch; b++) {
            int64_t off = (p->layout ? b * ndir + dir : dir * batch + b) * H;
            for (int64_t j = 0; j < H; j++) {
                if (Yh)
                    Yh[off + j] = d.h[b * H + j];
                if (Yc)
                    Yc[off + j] = d.c[b * H + j];
            }
        }
    }
}

KILN_KERNELS(lstm, KILN_K(kiln_k_rnn_f32, F32));
KILN_KERNELS(gru, KILN_K(kiln_k_rnn_f32, F32));
KILN_KERNELS(rnn, KILN_K(kiln_k_rnn_f32, F32));
