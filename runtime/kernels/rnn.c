/* rnn.c - LSTM, GRU and RNN kernels (float32): one recurrence driver per direction (input
 * projection of all timesteps with one GEMM, biases folded in, then per step H.R^T with the
 * GEMM on R transposed once per direction, and a per-op cell function over the batch whose
 * gate passes are loops the compiler vectorises), honouring layout, sequence_lens (steps past a
 * batch entry's length leave its state alone and write zeros to Y) and the optional outputs.
 * Scratch layout in rnn.h; the gate activations from vact.h. */
#include <math.h>

#include "kernels.h"
#include "vact.h"
#include "gemm_core.h"
#include "rnn.h"

/* ---- the recurrent product and the gate passes ----
 * The recurrent product of small batches (vecmat below) is one instance per SIMD variant
 * (target attributes, chosen with the GEMM's variant, so KILN_SIMD picks both) in libkilnrt;
 * plain C in emitted C. Without fused multiply-adds, so every instance gives the same bits.
 * The gate activations are vact.h's vector forms, on the same variant. */
#if defined(__x86_64__) && !defined(KILN_EMITTED) && defined(__GNUC__)
#define RNN_DISPATCH 1
#endif

static inline float rnn_clip(float v, float lim)
{
    return v < -lim ? -lim : v > lim ? lim : v;
}

/* c[0..n) = a[0..K) . B, B(k, j) = B[k*ldb + j]: the recurrent product of one batch entry.
 * With one row the GEMM's register tile computes rows it then drops and packs B every step, so
 * small batches take this: 32 columns at a time accumulated in registers over k in order,
 * without fused multiply-adds (the portable GEMM's sums, for K <= KILN_GEMM_KC). */
#define RNN_VECMAT_COLS(w)                                                                     \
    {                                                                                          \
        float acc[w];                                                                          \
        for (int64_t jj = 0; jj < (w); jj++)                                                   \
            acc[jj] = 0.0f;                                                                    \
        for (int64_t k = 0; k < K; k++) {                                                      \
            const float *b = B + k * ldb + j0;                                                 \
            float ak = a[k];                                                                   \
            for (int64_t jj = 0; jj < (w); jj++)                                               \
                acc[jj] += ak * b[jj];                                                         \
        }                                                                                      \
        for (int64_t jj = 0; jj < (w); jj++)                                                   \
            c[j0 + jj] = acc[jj];                                                              \
    }
#define RNN_GATE_FNS(sfx, ATTR)                                                                \
    static ATTR void vecmat_##sfx(const float *restrict a, int64_t K, const float *restrict B, \
                                  int64_t ldb, int64_t n, float *restrict c)                   \
    {                                                                                          \
        int64_t j0 = 0;                                                                        \
        for (; j0 + 32 <= n; j0 += 32)                                                         \
            RNN_VECMAT_COLS(32)                                                                \
        for (; j0 + 8 <= n; j0 += 8)                                                           \
            RNN_VECMAT_COLS(8)                                                                 \
        for (; j0 < n; j0++)                                                                   \
            RNN_VECMAT_COLS(1)                                                                 \
    }
RNN_GATE_FNS(portable, )
#ifdef RNN_DISPATCH
RNN_GATE_FNS(avx2, __attribute__((target("avx2"))))
RNN_GATE_FNS(avx512, __attribute__((target("avx512f"))))
#endif

/* v[0..n) = act(clip(v)) for activation a (clipped when clip > 0 and gate is set: the cell
 * activation h(Ct) is not clipped). */
static void rnn_act_n(const struct kiln_act *a, float *v, int64_t n, float clip, int gate)
{
    if (gate && clip > 0.0f)
        for (int64_t j = 0; j < n; j++)
            v[j] = rnn_clip(v[j], clip);
    kiln_vact_map(a, v, v, n);
}

/* One direction of one run: weights, the running state and the step being computed. */
struct rnn_dir {
    const struct kiln_p_rnn *p;
    const struct kiln_act *act; /* f, g, h of this direction */
    const float *rt;            /* R^T [H, G*H] */
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

/* Batches up to this take vecmat_*() per entry instead of the GEMM: per k and 32 columns it
 * spends 2 loads, 1 broadcast and 2 multiply-adds on a row, the GEMM's AVX-512 tile 2, 8 and 16
 * on 8 rows whatever the batch (AVX2: 6 rows), plus packing R^T every step (lstm_op17, batch 1:
 * 51 -> 22 us a run) */
#define RNN_VECMAT_BATCH 4

/* hr[:, g0 : g0 + n] = src . R[g0 : g0 + n]^T for every batch entry (src is [batch, H]); B is
 * R^T, whose rows the GEMM packs by contiguous copies. */
static void rnn_hproj(const struct rnn_dir *d, const float *src, int64_t g0, int64_t n)
{
    int64_t H = d->hidden;
    if (d->batch <= RNN_VECMAT_BATCH && H <= KILN_GEMM_KC) {
        void (*vm)(const float *, int64_t, const float *, int64_t, int64_t, float *) =
            vecmat_portable;
#ifdef RNN_DISPATCH
        enum kiln_gemm_isa isa = kiln_gemm_isa_active();
        vm = isa == KILN_GEMM_ISA_AVX512 ? vecmat_avx512
             : isa == KILN_GEMM_ISA_AVX2 ? vecmat_avx2
                                         : vm;
#endif
        for (int64_t b = 0; b < d->batch; b++)
            vm(src + b * H, H, d->rt + g0, d->gh, n, d->hr + b * d->gh + g0);
        return;
    }
    kiln_gemm_f32(d->batch, n, H, 1.0f, src, H, 1, d->rt + g0, d->gh, 1, d->hr + g0, d->gh, 0,
                  d->gemm);
}

/* g[j] = x[j] + g[j]: the input projection meets the recurrent one */
static void rnn_add(float *restrict g, const float *restrict x, int64_t n)
{
    for (int64_t j = 0; j < n; j++)
        g[j] = x[j] + g[j];
}

/* Ht = f(Xt.W^T + Ht-1.R^T + Wb + Rb) */
static void rnn_step_rnn(struct rnn_dir *d)
{
    int64_t H = d->hidden;
    rnn_hproj(d, d->h, 0, H);
    for (int64_t b = 0; b < d->batch; b++) {
        if (!rnn_active(d, b))
            continue;
        float *g = d->hr + b * d->gh, *h = d->h + b * H;
        rnn_add(g, rnn_xw(d, b), H);
        rnn_act_n(&d->act[0], g, H, d->p->clip, 1);
        for (int64_t j = 0; j < H; j++)
            h[j] = g[j];
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
        const float *h = d->h + b * H;
        float *g = d->hr + b * d->gh, *rh = d->tmp + b * H;
        rnn_add(g, rnn_xw(d, b), 2 * H);
        rnn_act_n(&d->act[0], g, 2 * H, d->p->clip, 1); /* z, r, kept in place */
        for (int64_t j = 0; j < H; j++)
            rh[j] = g[H + j] * h[j];
    }
    if (!lbr)
        rnn_hproj(d, d->tmp, 2 * H, H);
    for (int64_t b = 0; b < d->batch; b++) {
        if (!rnn_active(d, b))
            continue;
        const float *x = rnn_xw(d, b) + 2 * H, *rb = d->rb_h;
        float *g = d->hr + b * d->gh, *h = d->h + b * H, *hh = d->tmp + b * H;
        const float *z = g, *r = g + H, *gr = g + 2 * H;
        if (!lbr)
            for (int64_t j = 0; j < H; j++)
                hh[j] = x[j] + gr[j];
        else if (rb)
            for (int64_t j = 0; j < H; j++)
                hh[j] = x[j] + r[j] * (gr[j] + rb[j]);
        else
            for (int64_t j = 0; j < H; j++)
                hh[j] = x[j] + r[j] * (gr[j] + 0.0f);
        rnn_act_n(&d->act[1], hh, H, d->p->clip, 1);
        for (int64_t j = 0; j < H; j++)
            h[j] = (1.0f - z[j]) * hh[j] + z[j] * h[j];
    }
}

/* Gates i, o, f, c (in that order in W and R; peepholes P in the order i, o, f):
 *   i = f(.. + Pi (.) Ct-1), f = f(.. + Pf (.) Ct-1) or 1 - i with input_forget, c~ = g(..),
 *   Ct = f (.) Ct-1 + i (.) c~, o = f(.. + Po (.) Ct), Ht = o (.) h(Ct).
 * Without peepholes o does not wait for Ct: one pass of f over i, o, f. */
static void rnn_step_lstm(struct rnn_dir *d)
{
    int64_t H = d->hidden;
    float clip = d->p->clip;
    int ifg = d->p->input_forget;
    rnn_hproj(d, d->h, 0, 4 * H);
    const float *pi = d->peep, *po = pi ? pi + H : NULL, *pf = pi ? pi + 2 * H : NULL;
    for (int64_t b = 0; b < d->batch; b++) {
        if (!rnn_active(d, b))
            continue;
        float *g = d->hr + b * d->gh, *h = d->h + b * H, *c = d->c + b * H;
        float *gi = g, *go = g + H, *gf = g + 2 * H, *gc = g + 3 * H, *hc = d->tmp + b * H;
        rnn_add(g, rnn_xw(d, b), 4 * H);
        if (pi) {
            for (int64_t j = 0; j < H; j++) {
                gi[j] += pi[j] * c[j];
                gf[j] += pf[j] * c[j];
            }
            rnn_act_n(&d->act[0], gi, H, clip, 1);
            if (!ifg)
                rnn_act_n(&d->act[0], gf, H, clip, 1);
        } else {
            rnn_act_n(&d->act[0], gi, ifg ? H : 3 * H, clip, 1);
        }
        rnn_act_n(&d->act[1], gc, H, clip, 1);
        if (ifg)
            for (int64_t j = 0; j < H; j++)
                gf[j] = 1.0f - gi[j];
        for (int64_t j = 0; j < H; j++)
            hc[j] = c[j] = gf[j] * c[j] + gi[j] * gc[j];
        if (pi) {
            for (int64_t j = 0; j < H; j++)
                go[j] += po[j] * c[j];
        }
        if (pi || ifg)
            rnn_act_n(&d->act[0], go, H, clip, 1);
        rnn_act_n(&d->act[2], hc, H, clip, 0);
        for (int64_t j = 0; j < H; j++)
            h[j] = go[j] * hc[j];
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
    float *rt = (float *)(s + sl.rt);
    struct rnn_dir d = {.p = p, .lens = a->n_in > 4 ? a->in[4].data : NULL,
                        .xw = (float *)(s + sl.xw), .hr = (float *)(s + sl.hr),
                        .h = (float *)(s + sl.h), .c = (float *)(s + sl.c),
                        .tmp = (float *)(s + sl.tmp), .rt = rt,
                        .gemm = s + sl.gemm, .seq = seq,
                        .batch = batch, .hidden = H, .gh = gh};
    for (int64_t dir = 0; dir < ndir; dir++) {
        int reverse = p->direction == KILN_RNN_REVERSE || dir == 1;
        d.act = &p->act[dir * 3];
        /* R^T once per direction, so that the steps read (and the GEMM packs) contiguous
         * rows; by blocks of 16 rows of R walked side by side, each read and write sequential */
        const float *r = R + dir * gh * H;
        for (int64_t j0 = 0; j0 < gh; j0 += 16) {
            int64_t nj = gh - j0 < 16 ? gh - j0 : 16;
            for (int64_t k = 0; k < H; k++)
                for (int64_t j = 0; j < nj; j++)
                    rt[k * gh + j0 + j] = r[(j0 + j) * H + k];
        }
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
            float *bsum = d.hr; /* Wb + Rb once, in the step buffer not yet in use */
            for (int64_t j = 0; j < gh; j++)
                bsum[j] = wb[j] + (j < rb_end ? rb[j] : 0.0f);
            for (int64_t row = 0; row < seq * batch; row++)
                rnn_add(d.xw + row * gh, bsum, gh);
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
