/* rnn.h - the scratch layout of the recurrent kernels (LSTM, GRU, RNN), shared by the compiler
 * (which sizes n->scratch_size with it) and runtime/kernels/rnn.c (which carves the buffers).
 * Like gemm_core.h it is included by the compiler: keep it free of runtime-internal headers. */
#ifndef KILN_RT_RNN_H
#define KILN_RT_RNN_H

#include <stdint.h>

#include "gemm_core.h"

/* Byte offsets into the kernel's scratch, each 64-aligned; gemm first because the GEMM packs
 * need the arena's 64-byte alignment.
 *
 *   gemm | xw [seq*batch, G*H] | hr [batch, G*H] | h [batch, H] | c [batch, H] | tmp [batch, H]
 *   | rt [H, G*H]
 *
 * xw: the input projection X.W^T of every timestep of one direction; hr: H.R^T of one step;
 * h, c: the running state; tmp: GRU's r (.) H before it meets R_h, LSTM's h(Ct); rt: R of one
 * direction transposed, so that every step's GEMM packs its B by contiguous rows. */
struct kiln_rnn_scratch {
    uint64_t gemm, xw, hr, h, c, tmp, rt, total;
};

static inline struct kiln_rnn_scratch kiln_rnn_scratch_layout(uint64_t seq, uint64_t batch,
                                                              uint64_t input, uint64_t hidden,
                                                              uint64_t gates, uint64_t esize)
{
    struct kiln_rnn_scratch s;
    uint64_t g1 = kiln_gemm_scratch_bytes(seq * batch, gates * hidden, input, esize);
    uint64_t g2 = kiln_gemm_scratch_bytes(batch, gates * hidden, hidden, esize);
    s.gemm = 0;
    s.xw = kiln_gemm_round_up(g1 > g2 ? g1 : g2, 64);
    s.hr = s.xw + kiln_gemm_round_up(seq * batch * gates * hidden * esize, 64);
    s.h = s.hr + kiln_gemm_round_up(batch * gates * hidden * esize, 64);
    s.c = s.h + kiln_gemm_round_up(batch * hidden * esize, 64);
    s.tmp = s.c + kiln_gemm_round_up(batch * hidden * esize, 64);
    s.rt = s.tmp + kiln_gemm_round_up(batch * hidden * esize, 64);
    s.total = s.rt + kiln_gemm_round_up(hidden * gates * hidden * esize, 64);
    return s;
}

#endif
