/* test_rnn.c - LSTM, GRU and RNN: a case worked by hand, then each op against a plain-loop
 * double-precision reference of the ONNX equations written here (directions, sequence_lens,
 * layout 1, linear_before_reset, peepholes, input_forget, clip, non-default activations,
 * omitted outputs), and inference errors. Every case goes through kiln_infer + kiln_lower +
 * kiln_run on a one-node graph, with X and sequence_lens fed at run time. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "compiler.h"
#include "kernels/act.h"
#include "kernels/rnn.h"

/* ---- a recurrent-op case ---- */

enum { RNN, GRU, LSTM };

struct rcase {
    int cell;
    int64_t opset;
    const char *direction; /* NULL: attribute absent (forward) */
    int64_t seq, batch, in, hidden;
    int layout;
    int has_b, has_h0, has_c0, has_p;
    const int32_t *lens; /* NULL: no sequence_lens */
    int lbr, input_forget;
    float clip;
    const char *acts[6]; /* NULL-terminated; all NULL: defaults */
    float alpha[4], beta[4];
    int n_alpha, n_beta;
    unsigned out_mask;   /* outputs requested: bit 0 Y, 1 Y_h, 2 Y_c; 0 means all */
    int64_t hidden_attr; /* written as hidden_size when > 0 */
};

static int gates_of(int cell)
{
    return cell == LSTM ? 4 : cell == GRU ? 3 : 1;
}

static float *rnd(size_t n, unsigned seed)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (float)((seed >> 8) & 0xffff) / 65536.0f - 0.5f; /* [-0.5, 0.5) */
    }
    return p;
}

/* ---- the reference: the ONNX equations with plain loops, in double ---- */

static double ref_act(const char *name, double alpha, double beta, double x)
{
    if (!strcmp(name, "Sigmoid")) return 1.0 / (1.0 + exp(-x));
    if (!strcmp(name, "Tanh")) return tanh(x);
    if (!strcmp(name, "Relu")) return x > 0 ? x : 0;
    if (!strcmp(name, "LeakyRelu")) return x >= 0 ? x : alpha * x;
    if (!strcmp(name, "HardSigmoid")) return fmin(1.0, fmax(0.0, alpha * x + beta));
    if (!strcmp(name, "ScaledTanh")) return alpha * tanh(beta * x);
    if (!strcmp(name, "Affine")) return alpha * x + beta;
    if (!strcmp(name, "Softsign")) return x / (1 + fabs(x));
    if (!strcmp(name, "Softplus")) return log(1 + exp(x));
    if (!strcmp(name, "Elu")) return x >= 0 ? x : alpha * (exp(x) - 1);
    if (!strcmp(name, "ThresholdedRelu")) return x > alpha ? x : 0;
    fail_msg("reference has no activation %s", name);
    return 0;
}

struct ref_act_set {
    const char *name[6];
    double alpha[6], beta[6];
};

/* Resolves the case's activations for both directions (defaults, alpha/beta in order). */
static void ref_acts(const struct rcase *rc, struct ref_act_set *s)
{
    static const char *const defs[3][3] = {{"Tanh"}, {"Sigmoid", "Tanh"},
                                           {"Sigmoid", "Tanh", "Tanh"}};
    int nper = rc->cell == LSTM ? 3 : rc->cell == GRU ? 2 : 1, n = 0, ia = 0, ib = 0;
    while (n < 6 && rc->acts[n])
        n++;
    /* slot d * 3 + i is activation i of direction d; list entry d * nper + i feeds it */
    for (int k = 0; k < 6; k++) {
        int d = k / 3, i = k % 3, li = d * nper + i;
        if (i >= nper)
            continue;
        if (n && li >= n) { /* one list for both directions: the first direction's */
            s->name[k] = s->name[i];
            s->alpha[k] = s->alpha[i];
            s->beta[k] = s->beta[i];
            continue;
        }
        const char *nm = n ? rc->acts[li] : defs[rc->cell][i];
        s->name[k] = nm;
        int ua = !strcmp(nm, "LeakyRelu") || !strcmp(nm, "HardSigmoid") ||
                 !strcmp(nm, "ScaledTanh") || !strcmp(nm, "Affine") || !strcmp(nm, "Elu") ||
                 !strcmp(nm, "ThresholdedRelu");
        int ub = !strcmp(nm, "HardSigmoid") || !strcmp(nm, "ScaledTanh") ||
                 !strcmp(nm, "Affine");
        double da = !strcmp(nm, "LeakyRelu") ? 0.01 : !strcmp(nm, "HardSigmoid") ? 0.2 : 1.0;
        double db = !strcmp(nm, "HardSigmoid") ? 0.5 : !strcmp(nm, "ScaledTanh") ? 1.0 : 0.0;
        /* values are consumed in list order by the entries that take them */
        s->alpha[k] = ua && ia < rc->n_alpha ? rc->alpha[ia++] : da;
        s->beta[k] = ub && ib < rc->n_beta ? rc->beta[ib++] : db;
    }
}

static double ref_gate(const struct rcase *rc, const struct ref_act_set *s, int k, double v)
{
    if (rc->clip > 0)
        v = fmax(-rc->clip, fmin(rc->clip, v));
    return ref_act(s->name[k], s->alpha[k], s->beta[k], v);
}

static void reference(const struct rcase *rc, const float *x, const float *w, const float *r,
                      const float *bias, const float *h0, const float *c0, const float *peep,
                      double *y, double *yh, double *yc)
{
    int64_t S = rc->seq, N = rc->batch, I = rc->in, H = rc->hidden, G = gates_of(rc->cell);
    int bidi = rc->direction && !strcmp(rc->direction, "bidirectional");
    int rev_only = rc->direction && !strcmp(rc->direction, "reverse");
    int64_t D = bidi ? 2 : 1;
    struct ref_act_set as;
    ref_acts(rc, &as);
    double pre[4 * 72], hv[72], cv[72], hn[72], gate[4 * 72]; /* hidden up to 72 */
    memset(y, 0, (size_t)(S * D * N * H) * sizeof *y);
    for (int64_t d = 0; d < D; d++) {
        int rev = rev_only || d == 1;
        const struct ref_act_set *a = &as;
        int k0 = (int)d * 3;
        const float *W = w + d * G * H * I, *R = r + d * G * H * H;
        const float *Wb = bias ? bias + d * 2 * G * H : NULL, *Rb = Wb ? Wb + G * H : NULL;
        for (int64_t b = 0; b < N; b++) {
            int64_t soff = (rc->layout ? b * D + d : d * N + b) * H;
            for (int64_t j = 0; j < H; j++) {
                hv[j] = h0 ? h0[soff + j] : 0;
                cv[j] = c0 ? c0[soff + j] : 0;
            }
            int64_t L = rc->lens ? rc->lens[b] : S;
            for (int64_t s = 0; s < L; s++) {
                int64_t t = rev ? L - 1 - s : s;
                const float *xt = x + (rc->layout ? (b * S + t) : (t * N + b)) * I;
                for (int64_t g = 0; g < G * H; g++) { /* x.W^T + Wb, and h.R^T separately */
                    double acc = Wb ? Wb[g] : 0, hr = Rb ? Rb[g] : 0;
                    for (int64_t k = 0; k < I; k++)
                        acc += (double)xt[k] * W[g * I + k];
                    for (int64_t k = 0; k < H; k++)
                        hr += hv[k] * R[g * H + k];
                    pre[g] = acc;
                    gate[g] = hr;
                }
                for (int64_t j = 0; j < H; j++) {
                    if (rc->cell == RNN) {
                        hn[j] = ref_gate(rc, a, k0, pre[j] + gate[j]);
                    } else if (rc->cell == GRU) {
                        double z = ref_gate(rc, a, k0, pre[j] + gate[j]);
                        double rr = ref_gate(rc, a, k0, pre[H + j] + gate[H + j]);
                        double hh;
                        if (rc->lbr) {
                            hh = pre[2 * H + j] + rr * gate[2 * H + j];
                        } else { /* (r (.) h).Rh^T + Rbh */
                            double acc = Rb ? Rb[2 * H + j] : 0;
                            for (int64_t k = 0; k < H; k++) {
                                double rk = ref_gate(rc, a, k0, pre[H + k] + gate[H + k]);
                                acc += rk * hv[k] * R[(2 * H + j) * H + k];
                            }
                            hh = pre[2 * H + j] + acc;
                        }
                        hh = ref_gate(rc, a, k0 + 1, hh);
                        hn[j] = (1 - z) * hh + z * hv[j];
                    } else {
                        const float *P = peep ? peep + d * 3 * H : NULL;
                        double i = ref_gate(rc, a, k0, pre[j] + gate[j] + (P ? P[j] * cv[j] : 0));
                        double f = rc->input_forget
                                       ? 1 - i
                                       : ref_gate(rc, a, k0, pre[2 * H + j] + gate[2 * H + j] +
                                                                (P ? P[2 * H + j] * cv[j] : 0));
                        double cc = ref_gate(rc, a, k0 + 1, pre[3 * H + j] + gate[3 * H + j]);
                        cv[j] = f * cv[j] + i * cc;
                        double o = ref_gate(rc, a, k0, pre[H + j] + gate[H + j] +
                                                           (P ? P[H + j] * cv[j] : 0));
                        hn[j] = o * ref_act(a->name[k0 + 2], a->alpha[k0 + 2], a->beta[k0 + 2],
                                            cv[j]);
                    }
                }
                int64_t yoff = rc->layout ? ((b * S + t) * D + d) * H : ((t * D + d) * N + b) * H;
                for (int64_t j = 0; j < H; j++)
                    y[yoff + j] = hv[j] = hn[j];
            }
            for (int64_t j = 0; j < H; j++) {
                yh[soff + j] = hv[j];
                yc[soff + j] = cv[j];
            }
        }
    }
}

/* ---- running a case through the compiler and the interpreter ---- */

struct run {
    struct kiln_ir_graph *g;
    struct kiln_ir_node *n;
    struct kiln_diag d;
    const void *feeds[2];
    uint32_t n_feeds;
};

static struct kiln_ir_value *add_in(struct run *u, uint32_t i, int dtype, int rank,
                                    const int64_t *dims, const void *data, int runtime)
{
    char name[16];
    snprintf(name, sizeof name, "in%u", i);
    struct kiln_ir_value *v = kiln_ir_value_new(u->g, name);
    v->dtype = dtype;
    v->rank = rank;
    memcpy(v->dims, dims, (size_t)rank * sizeof *dims);
    if (runtime) {
        v->is_input = true;
        u->g->inputs[u->g->n_inputs++] = v;
        u->feeds[u->n_feeds++] = data;
    } else {
        v->is_initializer = true;
        v->data = data;
    }
    u->n->in[i] = v;
    return v;
}

static struct kiln_ir_attr *add_attr(struct run *u, const char *name, enum kiln_attr_type type)
{
    struct kiln_ir_attr *a = &u->n->attrs[u->n->n_attrs++];
    a->name = name;
    a->type = type;
    return a;
}

/* Builds the node for rc, with its inputs; outputs follow out_mask. */
static struct run *build(const struct rcase *rc, const float *x, const float *w, const float *r,
                         const float *bias, const float *h0, const float *c0, const float *peep)
{
    static const char *const ops[] = {"RNN", "GRU", "LSTM"};
    struct run *u = calloc(1, sizeof *u);
    int64_t S = rc->seq, N = rc->batch, H = rc->hidden, G = gates_of(rc->cell);
    int64_t D = rc->direction && !strcmp(rc->direction, "bidirectional") ? 2 : 1;
    unsigned mask = rc->out_mask ? rc->out_mask : 7;
    uint32_t n_out = rc->cell == LSTM ? 3 : 2, n_in = rc->cell == LSTM ? 8 : 6;
    u->g = kiln_ir_graph_new();
    u->g->opset = rc->opset;
    u->g->inputs = kiln_arena_alloc(&u->g->arena, 8 * sizeof *u->g->inputs);
    u->g->outputs = kiln_arena_alloc(&u->g->arena, 4 * sizeof *u->g->outputs);
    u->n = kiln_ir_node_new(u->g, "node0", ops[rc->cell], "", n_in, n_out);
    u->n->attrs = kiln_arena_alloc(&u->g->arena, 16 * sizeof *u->n->attrs);
    kiln_diag_clear(&u->d);
    for (uint32_t o = 0; o < n_out; o++) {
        if (!(mask >> o & 1))
            continue;
        char name[8];
        snprintf(name, sizeof name, "out%u", o);
        struct kiln_ir_value *v = kiln_ir_value_new(u->g, name);
        v->producer = u->n;
        v->is_output = true;
        u->n->out[o] = v;
        u->g->outputs[u->g->n_outputs++] = v;
    }
    int64_t xd[3] = {rc->layout ? N : S, rc->layout ? S : N, rc->in};
    int64_t sd[3] = {rc->layout ? N : D, rc->layout ? D : N, H};
    add_in(u, 0, KILN_DTYPE_F32, 3, xd, x, 1);
    add_in(u, 1, KILN_DTYPE_F32, 3, (int64_t[]){D, G * H, rc->in}, w, 0);
    add_in(u, 2, KILN_DTYPE_F32, 3, (int64_t[]){D, G * H, H}, r, 0);
    if (rc->has_b)
        add_in(u, 3, KILN_DTYPE_F32, 2, (int64_t[]){D, 2 * G * H}, bias, 0);
    if (rc->lens)
        add_in(u, 4, KILN_DTYPE_I32, 1, (int64_t[]){N}, rc->lens, 1);
    if (rc->has_h0)
        add_in(u, 5, KILN_DTYPE_F32, 3, sd, h0, 0);
    if (rc->has_c0)
        add_in(u, 6, KILN_DTYPE_F32, 3, sd, c0, 0);
    if (rc->has_p)
        add_in(u, 7, KILN_DTYPE_F32, 2, (int64_t[]){D, 3 * H}, peep, 0);
    if (rc->direction) {
        struct kiln_ir_attr *a = add_attr(u, "direction", KILN_ATTR_STRING);
        a->s = rc->direction;
        a->s_len = strlen(rc->direction);
    }
    add_attr(u, "hidden_size", KILN_ATTR_INT)->i = rc->hidden_attr > 0 ? rc->hidden_attr : H;
    if (rc->layout)
        add_attr(u, "layout", KILN_ATTR_INT)->i = rc->layout;
    if (rc->lbr)
        add_attr(u, "linear_before_reset", KILN_ATTR_INT)->i = 1;
    if (rc->input_forget)
        add_attr(u, "input_forget", KILN_ATTR_INT)->i = 1;
    if (rc->clip > 0)
        add_attr(u, "clip", KILN_ATTR_FLOAT)->f = rc->clip;
    if (rc->acts[0]) { /* packed as the importer packs STRINGS */
        struct kiln_ir_attr *a = add_attr(u, "activations", KILN_ATTR_STRINGS);
        char *p = kiln_arena_alloc(&u->g->arena, 256), *q = p;
        for (a->n = 0; a->n < 6 && rc->acts[a->n]; a->n++) {
            strcpy(q, rc->acts[a->n]);
            q += strlen(q) + 1;
        }
        a->s = p;
        a->s_len = (size_t)(q - p);
    }
    if (rc->n_alpha) {
        struct kiln_ir_attr *a = add_attr(u, "activation_alpha", KILN_ATTR_FLOATS);
        a->floats = (float *)rc->alpha;
        a->n = (size_t)rc->n_alpha;
    }
    if (rc->n_beta) {
        struct kiln_ir_attr *a = add_attr(u, "activation_beta", KILN_ATTR_FLOATS);
        a->floats = (float *)rc->beta;
        a->n = (size_t)rc->n_beta;
    }
    return u;
}

static void run_free(struct run *u)
{
    kiln_ir_graph_free(u->g);
    free(u);
}

/* Infers, lowers and runs; outs[o] receives output o if it was requested. */
static enum kiln_status execute(struct run *u, float *outs[3])
{
    kiln_ir_count_uses(u->g);
    enum kiln_status st = kiln_infer(u->g, &u->d);
    if (st)
        return st;
    struct kiln_compiled *c;
    assert_int_equal(kiln_lower(u->g, &c, &u->d), KILN_STATUS_OK);
    uint64_t asz = (c->prog.arena_size + KILN_ARENA_ALIGN) & ~(uint64_t)(KILN_ARENA_ALIGN - 1);
    void *arena = aligned_alloc(KILN_ARENA_ALIGN, asz);
    void *obufs[3] = {0};
    for (uint32_t o = 0; o < u->g->n_outputs; o++) {
        for (uint32_t k = 0; k < 3; k++)
            if (u->n->out[k] == u->g->outputs[o])
                obufs[o] = outs[k];
    }
    assert_int_equal(kiln_run(&c->prog, arena, u->feeds, obufs), KILN_STATUS_OK);
    free(arena);
    kiln_compiled_free(c);
    return KILN_STATUS_OK;
}

static void assert_close(const float *got, const double *want, int64_t n, const char *what)
{
    for (int64_t i = 0; i < n; i++)
        if (!(fabs(got[i] - want[i]) <= 2e-5 * (1 + fabs(want[i]))))
            fail_msg("%s[%lld]: got %.7g, want %.7g", what, (long long)i, (double)got[i],
                     want[i]);
}

/* Runs rc with seeded random weights and compares every requested output with the reference. */
static void check_case(const struct rcase *rc)
{
    int64_t S = rc->seq, N = rc->batch, I = rc->in, H = rc->hidden, G = gates_of(rc->cell);
    int64_t D = rc->direction && !strcmp(rc->direction, "bidirectional") ? 2 : 1;
    float *x = rnd((size_t)(S * N * I), 1), *w = rnd((size_t)(D * G * H * I), 2);
    float *r = rnd((size_t)(D * G * H * H), 3), *bias = rnd((size_t)(D * 2 * G * H), 4);
    float *h0 = rnd((size_t)(D * N * H), 5), *c0 = rnd((size_t)(D * N * H), 6);
    float *peep = rnd((size_t)(D * 3 * H), 7);
    for (int64_t i = 0; i < S * N * I; i++)
        x[i] *= 4; /* reach the activations' non-linear range */
    int64_t ny = S * D * N * H, ns = D * N * H;
    double *ry = calloc((size_t)ny, sizeof *ry), *rh = calloc((size_t)ns, sizeof *rh),
           *rcs = calloc((size_t)ns, sizeof *rcs);
    reference(rc, x, w, r, rc->has_b ? bias : NULL, rc->has_h0 ? h0 : NULL,
              rc->has_c0 ? c0 : NULL, rc->has_p ? peep : NULL, ry, rh, rcs);
    float *got[3] = {malloc((size_t)ny * 4), malloc((size_t)ns * 4), malloc((size_t)ns * 4)};
    for (int64_t i = 0; i < ny; i++) /* canary: every requested element must be written */
        got[0][i] = NAN;
    struct run *u = build(rc, x, w, r, bias, h0, c0, peep);
    assert_int_equal(execute(u, got), KILN_STATUS_OK);
    unsigned mask = rc->out_mask ? rc->out_mask : 7;
    int64_t ydims[4] = {rc->layout ? N : S, rc->layout ? S : D, rc->layout ? D : N, H};
    if (mask & 1) {
        for (int k = 0; k < 4; k++)
            assert_int_equal(u->n->out[0]->dims[k], ydims[k]);
        assert_close(got[0], ry, ny, "Y");
    }
    if (mask & 2)
        assert_close(got[1], rh, ns, "Y_h");
    if ((mask & 4) && rc->cell == LSTM)
        assert_close(got[2], rcs, ns, "Y_c");
    run_free(u);
    for (int k = 0; k < 3; k++)
        free(got[k]);
    free(ry), free(rh), free(rcs);
    free(x), free(w), free(r), free(bias), free(h0), free(c0), free(peep);
}

/* ---- worked by hand ---- */

/* RNN, one step, input 2, hidden 2, initial state 0 (so R does not matter):
 * Y = tanh(W.x + Wb + Rb) = tanh([0.1+0.4+0.05+0.1, 0.3-0.8-0.05+0]) = tanh([0.65, -0.55]). */
static void test_rnn_by_hand(void **state)
{
    (void)state;
    float x[2] = {1, 2}, w[4] = {0.1f, 0.2f, 0.3f, -0.4f}, r[4] = {9, 9, 9, 9};
    float b[4] = {0.05f, -0.05f, 0.1f, 0.0f}, y[2], yh[2];
    struct rcase rc = {.cell = RNN, .opset = 14, .seq = 1, .batch = 1, .in = 2, .hidden = 2,
                       .has_b = 1};
    struct run *u = build(&rc, x, w, r, b, NULL, NULL, NULL);
    assert_int_equal(execute(u, (float *[3]){y, yh, NULL}), KILN_STATUS_OK);
    assert_float_equal(y[0], 0.5716699661, 1e-6);
    assert_float_equal(y[1], -0.5005202112, 1e-6);
    assert_float_equal(yh[0], y[0], 0);
    assert_float_equal(yh[1], y[1], 0);
    run_free(u);
}

/* ---- against the reference ---- */

static const int32_t lens3[3] = {4, 1, 2}; /* batch 3 of a 4-step sequence */

static void test_rnn_cases(void **state)
{
    (void)state;
    check_case(&(struct rcase){.cell = RNN, .opset = 7, .seq = 3, .batch = 2, .in = 3,
                               .hidden = 4});
    check_case(&(struct rcase){.cell = RNN, .opset = 14, .direction = "bidirectional", .seq = 4,
                               .batch = 3, .in = 5, .hidden = 3, .has_b = 1, .has_h0 = 1,
                               .lens = lens3});
    check_case(&(struct rcase){.cell = RNN, .opset = 14, .direction = "reverse", .seq = 4,
                               .batch = 3, .in = 2, .hidden = 2, .has_b = 1, .lens = lens3,
                               .layout = 1, .acts = {"Relu"}});
}

static void test_gru_cases(void **state)
{
    (void)state;
    for (int lbr = 0; lbr < 2; lbr++) {
        check_case(&(struct rcase){.cell = GRU, .opset = 7, .seq = 3, .batch = 2, .in = 3,
                                   .hidden = 4, .has_b = 1, .lbr = lbr});
        check_case(&(struct rcase){.cell = GRU, .opset = 14, .direction = "bidirectional",
                                   .seq = 4, .batch = 3, .in = 3, .hidden = 5, .has_b = 1,
                                   .has_h0 = 1, .lbr = lbr, .lens = lens3, .layout = 1});
    }
    /* the spec's whole-list form for two directions, with alpha/beta consumed in order */
    check_case(&(struct rcase){.cell = GRU, .opset = 13, .direction = "bidirectional", .seq = 3,
                               .batch = 2, .in = 2, .hidden = 3, .has_b = 1,
                               .acts = {"HardSigmoid", "Softsign", "Sigmoid", "ScaledTanh"},
                               .alpha = {0.3f, 0.8f}, .beta = {0.4f, 1.5f}, .n_alpha = 2,
                               .n_beta = 2, .clip = 1.5f});
}

static void test_lstm_cases(void **state)
{
    (void)state;
    check_case(&(struct rcase){.cell = LSTM, .opset = 7, .seq = 3, .batch = 2, .in = 3,
                               .hidden = 4});
    check_case(&(struct rcase){.cell = LSTM, .opset = 14, .direction = "bidirectional", .seq = 4,
                               .batch = 3, .in = 4, .hidden = 3, .has_b = 1, .has_h0 = 1,
                               .has_c0 = 1, .lens = lens3});
    check_case(&(struct rcase){.cell = LSTM, .opset = 14, .seq = 4, .batch = 3, .in = 2,
                               .hidden = 2, .has_b = 1, .has_p = 1, .has_c0 = 1, .layout = 1,
                               .lens = lens3});
    check_case(&(struct rcase){.cell = LSTM, .opset = 11, .direction = "reverse", .seq = 3,
                               .batch = 2, .in = 2, .hidden = 3, .has_b = 1, .has_p = 1,
                               .input_forget = 1});
    check_case(&(struct rcase){.cell = LSTM, .opset = 11, .seq = 3, .batch = 2, .in = 3,
                               .hidden = 2, .has_b = 1, .clip = 0.5f,
                               .acts = {"Sigmoid", "LeakyRelu", "Affine"}, .alpha = {0.2f, 0.7f},
                               .beta = {0.1f}, .n_alpha = 2, .n_beta = 1});
    /* subsets of the outputs: only Y_c; only Y_h and Y_c (Y omitted) */
    check_case(&(struct rcase){.cell = LSTM, .opset = 13, .seq = 2, .batch = 2, .in = 2,
                               .hidden = 2, .has_b = 1, .out_mask = 4});
    check_case(&(struct rcase){.cell = LSTM, .opset = 13, .direction = "bidirectional", .seq = 4,
                               .batch = 3, .in = 2, .hidden = 2, .lens = lens3, .out_mask = 6});
}

/* Awkward sizes around the GEMM's register tiles and the vector widths of the gate passes:
 * hidden and input 1-67, seq 1-20, batch 1-5, every direction, with and without
 * sequence_lens, each cell. The SIMD variant is the process's (KILN_SIMD: CTest runs this file
 * once per variant). */
static void test_awkward_sizes(void **state)
{
    (void)state;
    static const int64_t sizes[] = {1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 64, 67};
    static const char *const dirs[] = {NULL, "reverse", "bidirectional"};
    const int ns = (int)(sizeof sizes / sizeof sizes[0]);
    unsigned seed = 12345u;
    for (int k = 0; k < 48; k++) {
        seed = seed * 1103515245u + 12345u;
        unsigned r = seed >> 4;
        int32_t lens[5];
        struct rcase rc = {.cell = k % 3, .opset = 14, .direction = dirs[(k / 3) % 3],
                           .seq = 1 + (int64_t)(r % 20), .batch = 1 + (int64_t)((r >> 5) % 5),
                           .in = sizes[(r >> 8) % (unsigned)ns],
                           .hidden = sizes[(k * 7 + (int)(r >> 12)) % ns], .has_b = k % 4 != 0,
                           .has_h0 = k % 2, .layout = (k / 9) % 2};
        if (rc.cell == LSTM) {
            rc.has_c0 = k % 5 != 0;
            rc.has_p = k % 4 == 2;
        }
        rc.lbr = rc.cell == GRU && (k / 2) % 2;
        if (k % 4 == 1) { /* sequence_lens in 1..seq, the first entry full */
            for (int64_t b = 0; b < rc.batch; b++)
                lens[b] = b ? 1 + (int32_t)((r >> (b + 16)) % (unsigned)rc.seq)
                            : (int32_t)rc.seq;
            rc.lens = lens;
        }
        check_case(&rc);
    }
}

/* The vectorisable Sigmoid and Tanh of the gate passes (rnn.h) against double precision: the
 * maximum relative error over a dense sweep, and the edge values. */
/* the gate functions: vact.h's vector forms, whose lanes are these */
static float gate_sigmoid(float x)
{
    return kiln_act_sigmoid_f(x, 0, 0);
}
static float gate_tanh(float x)
{
    return kiln_act_tanh_f(x, 0, 0);
}

static void test_gate_math(void **state)
{
    (void)state;
    double worst_s = 0, worst_t = 0;
    for (double v = -120; v <= 120; v += 1.0 / 1024) {
        float x = (float)v;
        double s = 1 / (1 + exp(-(double)x)), t = tanh((double)x);
        double es = fabs(gate_sigmoid(x) - s) / s;
        double et = t == 0 ? fabs(gate_tanh(x)) : fabs(gate_tanh(x) - t) / fabs(t);
        if (s > 1e-37 && es > worst_s) /* below ~1e-38 the exponent is clamped */
            worst_s = es;
        worst_t = et > worst_t ? et : worst_t;
    }
    for (float x = 1e-30f; x < 1.0f; x *= 1.37f) { /* small |x|: no cancellation */
        double et = fabs(gate_tanh(-x) - tanh(-(double)x)) / tanh((double)x);
        worst_t = et > worst_t ? et : worst_t;
    }
    if (worst_s > 4e-7 || worst_t > 4e-7)
        fail_msg("max relative error: sigmoid %.3g, tanh %.3g", worst_s, worst_t);
    assert_true(gate_sigmoid(0.0f) == 0.5f && gate_tanh(0.0f) == 0.0f);
    assert_true(signbit(gate_tanh(-0.0f)));
    assert_true(gate_sigmoid(INFINITY) == 1.0f && gate_sigmoid(-INFINITY) < 1e-37f);
    assert_true(gate_tanh(INFINITY) == 1.0f && gate_tanh(-INFINITY) == -1.0f);
    assert_true(isnan(gate_sigmoid(NAN)) && isnan(gate_tanh(NAN)));
}

/* The activations act.h gained for these ops, including those no case above reaches. */
static void test_new_activations(void **state)
{
    (void)state;
    struct kiln_act a = {KILN_ACT_AFFINE, 2.0f, 0.5f, 0};
    assert_float_equal(kiln_act_apply(&a, 1.5f), 3.5f, 0);
    a = (struct kiln_act){KILN_ACT_THRESHOLDED_RELU, 1.0f, 0, 0};
    assert_true(kiln_act_apply(&a, 1.0f) == 0.0f && kiln_act_apply(&a, 1.5f) == 1.5f);
    a = (struct kiln_act){KILN_ACT_SCALED_TANH, 2.0f, 0.5f, 0};
    assert_float_equal(kiln_act_apply(&a, 1.0f), 2 * tanh(0.5), 1e-6);
    a = (struct kiln_act){KILN_ACT_ELU, 0.5f, 0, 0};
    assert_float_equal(kiln_act_apply(&a, -1.0f), 0.5 * (exp(-1.0) - 1), 1e-6);
    assert_float_equal(kiln_act_apply(&a, 2.0f), 2.0f, 0);
    a.kind = KILN_ACT_SOFTSIGN;
    assert_float_equal(kiln_act_apply(&a, -3.0f), -0.75f, 1e-7);
    a.kind = KILN_ACT_SOFTPLUS;
    assert_float_equal(kiln_act_apply(&a, 0.0f), log(2.0), 1e-6);
    assert_float_equal(kiln_act_apply(&a, 100.0f), 100.0f, 0); /* no overflow to inf */
}

/* ---- inference errors ---- */

static void expect_error(const struct rcase *rc, const char *needle)
{
    float buf[256] = {0};
    struct run *u = build(rc, buf, buf, buf, buf, buf, buf, buf);
    float *outs[3] = {buf, buf, buf};
    assert_int_not_equal(execute(u, outs), KILN_STATUS_OK);
    if (!strstr(u->d.message, needle))
        fail_msg("error '%s' does not mention '%s'", u->d.message, needle);
    run_free(u);
}

static void test_errors(void **state)
{
    (void)state;
    /* hidden_size 3 but W was built for 2: W's gate dimension is wrong */
    expect_error(&(struct rcase){.cell = LSTM, .opset = 13, .seq = 2, .batch = 1, .in = 2,
                                 .hidden = 2, .hidden_attr = 3},
                 "hidden_size 3");
    expect_error(&(struct rcase){.cell = GRU, .opset = 13, .seq = 2, .batch = 1, .in = 2,
                                 .hidden = 2, .acts = {"Sigmoid", "Swish"}},
                 "unknown activation 'Swish'");
    expect_error(&(struct rcase){.cell = LSTM, .opset = 13, .seq = 2, .batch = 1, .in = 2,
                                 .hidden = 2, .acts = {"Sigmoid", "Tanh"}},
                 "activations lists 2");
    expect_error(&(struct rcase){.cell = RNN, .opset = 13, .direction = "sideways", .seq = 2,
                                 .batch = 1, .in = 2, .hidden = 2},
                 "direction 'sideways'");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rnn_by_hand),
        cmocka_unit_test(test_rnn_cases),
        cmocka_unit_test(test_gru_cases),
        cmocka_unit_test(test_lstm_cases),
        cmocka_unit_test(test_awkward_sizes),
        cmocka_unit_test(test_gate_math),
        cmocka_unit_test(test_new_activations),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
