/* act.h - the fused activation epilogue shared by Conv, Gemm and MatMul, and the gate
 * activations of LSTM/GRU/RNN. The optimisation passes fold a following Relu/Clip/... into the
 * producer's struct kiln_act; the kernels then apply it while the output is still in cache.
 * Computed in float for every dtype with the same functions as the standalone kernels
 * (actmath.h), so a fused float32 activation gives the unfused graph's bits. */
#ifndef KILN_RT_ACT_H
#define KILN_RT_ACT_H

#include "actmath.h"
#include "kiln/params.h"

/* One element; NONE (or an unknown kind) is the identity. Code that wants the switch out of
 * its loop (SIMD) may switch on a->kind once and call the kind's kiln_act_<name>_f(x, alpha,
 * beta) of actmath.h per element: the same bits. */
static inline float kiln_act_apply(const struct kiln_act *a, float x)
{
    switch (a->kind) {
#define KILN_ACT(E, lname, ...)                                                                    \
    case KILN_ACT_##E:                                                                             \
        return kiln_act_##lname##_f(x, a->alpha, a->beta);
#include "kiln/acts.def"
#undef KILN_ACT
    default: return x;
    }
}

#endif
