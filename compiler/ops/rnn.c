/* rnn.c - the recurrent ops LSTM, GRU and RNN (opsets 1..17; before 7 output_sequence only said
 * whether Y may be omitted, so it is ignored): one inference routine for all three (they differ
 * in the number of gates, the optional inputs and the default activations), checking every
 * weight shape against X and hidden_size, resolving the activation list with its alpha/beta
 * defaults, and sizing the kernel's scratch. Kernels in runtime/kernels/rnn.c. */
#include <stdio.h>
#include <string.h>

#include "fused.h"
#include "ops.h"
#include "../../runtime/kernels/rnn.h"

enum { IN_X, IN_W, IN_R, IN_B, IN_SEQ_LENS, IN_H0, IN_C0, IN_P };

/* ONNX Runtime matches activation names case-insensitively; models in the wild rely on it. */
static bool same_name(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char x = *a >= 'A' && *a <= 'Z' ? (char)(*a - 'A' + 'a') : *a;
        char y = *b >= 'A' && *b <= 'Z' ? (char)(*b - 'A' + 'a') : *b;
        if (x != y)
            return false;
    }
    return *a == *b;
}

/* Fills p->act from the activations / activation_alpha / activation_beta attributes. nper is
 * the op's activation count per direction; defaults are given by name. alpha and beta values
 * are consumed in order by the activations that take them (as ONNX Runtime does). */
static enum kiln_status parse_acts(struct kiln_infer_ctx *c, const struct kiln_ir_node *n,
                                   struct kiln_p_rnn *p, int nper, int ndir,
                                   const char *const *defaults)
{
    const char *names[6];
    int count = nper;
    for (int k = 0; k < nper; k++)
        names[k] = defaults[k];
    const struct kiln_ir_attr *a = kiln_ir_attr(n, "activations");
    if (a) {
        if (a->type != KILN_ATTR_STRINGS)
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                 "attribute 'activations' must be a list of strings");
        if (a->n != (size_t)nper && a->n != (size_t)(nper * ndir))
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                 "activations lists %zu functions; %s takes %d per direction "
                                 "(%d directions)",
                                 a->n, n->op_type, nper, ndir);
        count = (int)a->n;
        const char *s = a->s;
        for (int k = 0; k < count; k++, s += strlen(s) + 1)
            names[k] = s;
    }
    const float *alpha, *beta;
    size_t n_alpha, n_beta, ia = 0, ib = 0;
    enum kiln_status st;
    if ((st = kiln_attr_floats(c, n, "activation_alpha", &alpha, &n_alpha)) ||
        (st = kiln_attr_floats(c, n, "activation_beta", &beta, &n_beta)))
        return st;
    for (int k = 0; k < count; k++) {
        /* the rows of kiln/acts.def the ONNX spec lists for the recurrent ops */
        int j = 1;
        const struct kiln_act_info *ai;
        while ((ai = kiln_act_info_of(j)) &&
               !((ai->flags & KILN_ACTF_RNN) && same_name(ai->onnx, names[k])))
            j++;
        if (!ai) {
            char list[256] = "";
            for (int i = 1; (ai = kiln_act_info_of(i)); i++)
                if (ai->flags & KILN_ACTF_RNN)
                    snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
                             *list ? ", " : "", ai->onnx);
            return kiln_op_error(c, n, KILN_STATUS_UNSUPPORTED,
                                 "unknown activation '%s'; the recurrent ops accept %s", names[k],
                                 list);
        }
        struct kiln_act *o = &p->act[(k / nper) * 3 + k % nper];
        o->kind = j;
        o->alpha = ai->alpha_name && ia < n_alpha ? alpha[ia++] : ai->alpha;
        o->beta = ai->beta_name && ib < n_beta ? beta[ib++] : ai->beta;
    }
    if (count < nper * ndir) /* one list for both directions */
        memcpy(&p->act[3], &p->act[0], 3 * sizeof p->act[0]);
    return KILN_STATUS_OK;
}

/* Requires optional input i, when present, to have the given shape and the dtype of X. */
static enum kiln_status check_shape(struct kiln_infer_ctx *c, const struct kiln_ir_node *n,
                                    uint32_t i, const char *what, int rank, const int64_t *dims)
{
    struct kiln_ir_value *v = kiln_in(n, i);
    if (!v)
        return KILN_STATUS_OK;
    enum kiln_status st;
    if ((st = kiln_need_input(c, n, i, &v)))
        return st;
    if (i != IN_SEQ_LENS && (st = kiln_check_same_dtype(c, n, IN_X, i)))
        return st;
    bool ok = v->rank == rank;
    for (int k = 0; ok && k < rank; k++)
        ok = v->dims[k] == dims[k];
    if (!ok) {
        char got[160];
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "%s '%s' is %s; expected %d dims [%lld, %lld%s%lld]", what, v->name,
                             kiln_ir_value_type_str(v, got, sizeof got), rank,
                             (long long)dims[0], (long long)dims[1], rank > 2 ? ", " : "",
                             rank > 2 ? (long long)dims[2] : 0LL);
    }
    return KILN_STATUS_OK;
}

static enum kiln_status infer_rnn(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    static const int f32_only[] = {KILN_DTYPE_F32, 0};
    static const char *const def_lstm[] = {"Sigmoid", "Tanh", "Tanh"};
    static const char *const def_gru[] = {"Sigmoid", "Tanh"};
    static const char *const def_rnn[] = {"Tanh"};
    int cell = n->op == KILN_OP_LSTM ? KILN_RNN_CELL_LSTM
               : n->op == KILN_OP_GRU ? KILN_RNN_CELL_GRU
                                      : KILN_RNN_CELL_RNN;
    int gates = cell == KILN_RNN_CELL_LSTM ? 4 : cell == KILN_RNN_CELL_GRU ? 3 : 1;
    int nper = cell == KILN_RNN_CELL_LSTM ? 3 : cell == KILN_RNN_CELL_GRU ? 2 : 1;
    const char *const *defaults = cell == KILN_RNN_CELL_LSTM ? def_lstm
                                  : cell == KILN_RNN_CELL_GRU ? def_gru
                                                              : def_rnn;
    struct kiln_ir_value *x, *w, *r;
    enum kiln_status st;
    if ((st = kiln_need_input(c, n, IN_X, &x)) || (st = kiln_need_input(c, n, IN_W, &w)) ||
        (st = kiln_need_input(c, n, IN_R, &r)) || (st = kiln_check_dtype(c, n, IN_X, f32_only)))
        return st;

    const char *dir;
    int64_t hidden, layout = 0, input_forget = 0, lbr = 0;
    float clip;
    if ((st = kiln_attr_string(c, n, "direction", "forward", &dir)) ||
        (st = kiln_attr_int(c, n, "hidden_size", -1, &hidden)) ||
        (st = kiln_attr_float(c, n, "clip", 0.0f, &clip)) ||
        (c->g->opset >= 14 && (st = kiln_attr_int(c, n, "layout", 0, &layout))) ||
        (cell == KILN_RNN_CELL_LSTM && (st = kiln_attr_int(c, n, "input_forget", 0,
                                                           &input_forget))) ||
        (cell == KILN_RNN_CELL_GRU && (st = kiln_attr_int(c, n, "linear_before_reset", 0,
                                                          &lbr))))
        return st;
    int direction = strcmp(dir, "forward") == 0   ? KILN_RNN_FORWARD
                    : strcmp(dir, "reverse") == 0 ? KILN_RNN_REVERSE
                    : strcmp(dir, "bidirectional") == 0 ? KILN_RNN_BIDIRECTIONAL
                                                        : -1;
    if (direction < 0)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "direction '%s' is not forward, reverse or bidirectional", dir);
    if (layout != 0 && layout != 1)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "layout %lld is not 0 or 1",
                             (long long)layout);
    int64_t ndir = direction == KILN_RNN_BIDIRECTIONAL ? 2 : 1;

    if (x->rank != 3 || w->rank != 3 || r->rank != 3)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "X, W and R must have rank 3; they have rank %d, %d and %d",
                             x->rank, w->rank, r->rank);
    int64_t seq = x->dims[layout ? 1 : 0], batch = x->dims[layout ? 0 : 1], in = x->dims[2];
    if (hidden < 0) {
        if (w->dims[1] % gates)
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                 "W's second dimension %lld is not a multiple of %d gates",
                                 (long long)w->dims[1], gates);
        hidden = w->dims[1] / gates;
    }
    if (hidden <= 0 || hidden > INT32_MAX)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "hidden_size %lld is invalid",
                             (long long)hidden);
    int64_t gh = gates * hidden;
    int64_t dw[3] = {ndir, gh, in}, dr[3] = {ndir, gh, hidden}, db[2] = {ndir, 2 * gh};
    int64_t dl[1] = {batch}, dp[2] = {ndir, 3 * hidden};
    int64_t ds[3] = {layout ? batch : ndir, layout ? ndir : batch, hidden};
    if (w->dims[0] != ndir || w->dims[1] != gh || w->dims[2] != in)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "W is [%lld, %lld, %lld]; with %lld direction(s), hidden_size %lld "
                             "and %d gates over input size %lld it must be [%lld, %lld, %lld]",
                             (long long)w->dims[0], (long long)w->dims[1], (long long)w->dims[2],
                             (long long)ndir, (long long)hidden, gates, (long long)in,
                             (long long)ndir, (long long)gh, (long long)in);
    if ((st = check_shape(c, n, IN_W, "W", 3, dw)) || (st = check_shape(c, n, IN_R, "R", 3, dr)) ||
        (st = check_shape(c, n, IN_B, "B", 2, db)) ||
        (st = check_shape(c, n, IN_SEQ_LENS, "sequence_lens", 1, dl)) ||
        (st = check_shape(c, n, IN_H0, "initial_h", 3, ds)) ||
        (cell == KILN_RNN_CELL_LSTM && ((st = check_shape(c, n, IN_C0, "initial_c", 3, ds)) ||
                                        (st = check_shape(c, n, IN_P, "P", 2, dp)))))
        return st;
    static const int i32_only[] = {KILN_DTYPE_I32, 0};
    if (kiln_in(n, IN_SEQ_LENS) && (st = kiln_check_dtype(c, n, IN_SEQ_LENS, i32_only)))
        return st;

    struct kiln_p_rnn *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    p->cell = cell;
    p->direction = direction;
    p->layout = (int32_t)layout;
    p->hidden_size = (int32_t)hidden;
    p->input_forget = input_forget != 0;
    p->linear_before_reset = lbr != 0;
    p->clip = clip > 0.0f ? clip : 0.0f;
    if ((st = parse_acts(c, n, p, nper, (int)ndir, defaults)))
        return st;
    n->scratch_size = kiln_rnn_scratch_layout((uint64_t)seq, (uint64_t)batch, (uint64_t)in,
                                              (uint64_t)hidden, (uint64_t)gates,
                                              kiln_dtype_size(x->dtype))
                          .total;

    int64_t dy[4] = {layout ? batch : seq, layout ? seq : ndir, layout ? ndir : batch, hidden};
    if ((st = kiln_set_output(c, n, 0, x->dtype, 4, dy)) ||
        (st = kiln_set_output(c, n, 1, x->dtype, 3, ds)))
        return st;
    return kiln_set_output(c, n, 2, x->dtype, 3, ds); /* Y_c; absent for GRU and RNN */
}

/* Every step of every direction: batch x G*H outputs over input + hidden terms. */
static uint64_t macs_rnn(const struct kiln_ir_node *n)
{
    const struct kiln_p_rnn *p = n->params;
    const struct kiln_ir_value *x = n->in[IN_X], *w = n->in[IN_W];
    if (!p || x->rank != 3 || w->rank != 3)
        return 0;
    return (uint64_t)(x->dims[0] * x->dims[1]) * (uint64_t)(w->dims[0] * w->dims[1]) *
           (uint64_t)(x->dims[2] + p->hidden_size);
}

#define RNN_NOTES "float32; directions, layout, sequence_lens (runtime), clip, all spec activations"
const struct kiln_op_info kiln_opi_lstm = {
    .infer = infer_rnn, .macs = macs_rnn, .dtypes = "float32",
    .notes = RNN_NOTES "; peepholes, input_forget", .opsets = {1, 7, 14}};
const struct kiln_op_info kiln_opi_gru = {
    .infer = infer_rnn, .macs = macs_rnn, .dtypes = "float32",
    .notes = RNN_NOTES "; linear_before_reset 0 and 1", .opsets = {1, 3, 7, 14}};
const struct kiln_op_info kiln_opi_rnn = {
    .infer = infer_rnn, .macs = macs_rnn, .dtypes = "float32", .notes = RNN_NOTES,
    .opsets = {1, 7, 14}};
