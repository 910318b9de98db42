/* rnn.c - load-time checks of LSTM, GRU and RNN (kernels rnn.c): every operand's element count
 * from the hidden size, directions and layout, and the scratch layout the kernel carves. */
#define KILN_CK_FILE "checks/rnn.c"
#include <math.h>

#include "check.h"
#include "kernels/rnn.h"

static int check_rnn(struct kiln_vctx *v)
{
    const struct kiln_p_rnn *p = v->params;
    desc *x = v->in[0];
    int cell = v->n->op == KILN_OP_LSTM  ? KILN_RNN_CELL_LSTM
               : v->n->op == KILN_OP_GRU ? KILN_RNN_CELL_GRU
                                         : KILN_RNN_CELL_RNN;
    if (p->cell != cell || p->direction < 0 || p->direction > KILN_RNN_BIDIRECTIONAL ||
        (p->layout & ~1) || p->hidden_size < 1 || (p->input_forget & ~1) ||
        (p->linear_before_reset & ~1) || p->reserved || !isfinite(p->clip) || x->rank != 3)
        return BAD("cell %d, direction %d, hidden size %d or input rank %d", p->cell,
                   p->direction, p->hidden_size, x->rank);
    for (int i = 0; i < 6; i++)
        if (kiln_ck_act(v, &p->act[i]))
            return 1;
    uint64_t seq = (uint64_t)x->dims[p->layout], batch = (uint64_t)x->dims[1 - p->layout];
    uint64_t in = (uint64_t)x->dims[2], H = (uint64_t)p->hidden_size;
    uint64_t G = cell == KILN_RNN_CELL_LSTM ? 4 : cell == KILN_RNN_CELL_GRU ? 3 : 1;
    uint64_t nd = p->direction == KILN_RNN_BIDIRECTIONAL ? 2 : 1, gh = G * H;
    if (mulc(mulc(mulc(seq ? seq : 1, batch ? batch : 1), gh + in + H), 16) > (uint64_t)MAX_ELEMS)
        return BAD("too large");
    /* elements of W, R, B, sequence_lens, initial_h, initial_c, P; then Y, Y_h, Y_c */
    uint64_t need[11] = {0, mulc(nd * gh, in), mulc(nd * gh, H), nd * 2 * gh,
                         batch,     nd * batch * H, nd * batch * H, nd * 3 * H,
                         seq * nd * batch * H, nd * batch * H, nd * batch * H};
    for (uint32_t j = 0; j < (uint32_t)v->n->n_in + v->n->n_out; j++) {
        desc *t = v->t[j];
        int k = j < v->n->n_in ? (int)j : 8 + (int)(j - v->n->n_in);
        if (present(t) && (t->dtype != (k == 4 ? KILN_DTYPE_I32 : KILN_DTYPE_F32) ||
                           (k && (uint64_t)numel(t) != need[k])))
            return BAD("operand %d: %s with %lld elements; the kernel uses %llu", k,
                       kiln_dtype_name(t->dtype), L(numel(t)), U(need[k]));
    }
    return kiln_ck_scratch(v, kiln_rnn_scratch_layout(seq, batch, in, H, G, sizeof(float)).total);
}

/* ---- the ops' checks (kiln_oc_<op>, reached through their kernel lists) ---- */

KILN_CHECK(lstm, check_rnn, sizeof(struct kiln_p_rnn));
KILN_CHECK(gru, check_rnn, sizeof(struct kiln_p_rnn));
KILN_CHECK(rnn, check_rnn, sizeof(struct kiln_p_rnn));
