/* reverse_sequence.c - ReverseSequence, by element size: for batch entry b with length L, the
 * first L time steps are reversed and the rest copied. L is clamped to [0, time steps] so that
 * a bad length never reads or writes outside the tensors (the compiler rejects it when the
 * lengths are constant). */
#include "indexing.h"

static void kiln_k_reverse_sequence(const struct kiln_kernel_args *a)
{
    const struct kiln_p_reverse_sequence *p = a->params;
    const struct kiln_tensor *x = &a->in[0], *lens = &a->in[1];
    struct kiln_tensor *y = &a->out[0];
    size_t es = kiln_dtype_size(y->dtype);
    int64_t st[KILN_MAX_RANK];
    kiln_strides(x->dims, x->rank, st);
    int64_t nb = x->dims[p->batch_axis], nt = x->dims[p->time_axis];
    int64_t bs = st[p->batch_axis], ts = st[p->time_axis];
    size_t inner = (size_t)st[1] * es; /* the axes after the first two */
    for (int64_t b = 0; b < nb; b++) {
        int64_t L = kiln_ix_load(lens->data, lens->dtype, b);
        L = L < 0 ? 0 : L > nt ? nt : L;
        for (int64_t t = 0; t < nt; t++) {
            int64_t src = t < L ? L - 1 - t : t;
            memcpy((char *)y->data + (size_t)(b * bs + t * ts) * es,
                   (const char *)x->data + (size_t)(b * bs + src * ts) * es, inner);
        }
    }
}

KILN_KERNELS(reverse_sequence, KILN_K(kiln_k_reverse_sequence, UNDEFINED));
