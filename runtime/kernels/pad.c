/* pad.c - Pad for every dtype, by element size. Per output axis, a table (in scratch) maps each
 * output coordinate to the input offset it copies, or -1 for the constant value; the modes
 * differ only in how that table is built. Negative pads crop: the mapping is the same shift. */
#include "move.h"

/* Input coordinate that output coordinate i (already shifted by the begin pad) reads along an
 * axis of length n, or -1 for the constant. Reflect and wrap repeat for pads longer than n. */
static int64_t pad_source(int64_t i, int64_t n, int mode)
{
    if (i >= 0 && i < n)
        return i;
    if (mode == KILN_PAD_CONSTANT || n == 0)
        return -1;
    if (mode == KILN_PAD_EDGE)
        return i < 0 ? 0 : n - 1;
    if (mode == KILN_PAD_WRAP) {
        i %= n;
        return i < 0 ? i + n : i;
    }
    if (n == 1)
        return 0;
    int64_t period = 2 * (n - 1);
    i %= period;
    if (i < 0)
        i += period;
    return i >= n ? period - i : i;
}

static void kiln_k_pad(const struct kiln_kernel_args *a)
{
    const struct kiln_p_pad *p = a->params;
    const struct kiln_tensor *x = &a->in[0];
    struct kiln_tensor *y = &a->out[0];
    size_t es = kiln_dtype_size(y->dtype);
    int rank = y->rank;
    int64_t total = kiln_tensor_numel(y);
    uint64_t val = 0;
    if (a->n_in > 2 && a->in[2].data)
        memcpy(&val, a->in[2].data, es); /* constant_value input, same dtype as x */
    else
        kiln_store_value(&val, y->dtype, p->value, (int64_t)p->value);
    if (total == 0)
        return;
    if (rank == 0) {
        memcpy(y->data, x->data, es);
        return;
    }
    int64_t xs[KILN_MAX_RANK], *map[KILN_MAX_RANK], *t = a->scratch;
    kiln_strides(x->dims, rank, xs);
    for (int d = 0; d < rank; d++) {
        map[d] = t;
        for (int64_t o = 0; o < y->dims[d]; o++) {
            int64_t s = pad_source(o - p->begin[d], x->dims[d], p->mode);
            *t++ = s < 0 ? -1 : s * xs[d];
        }
    }
    int64_t inner = y->dims[rank - 1], rows = total / inner, idx[KILN_MAX_RANK] = {0};
    const int64_t *last = map[rank - 1];
    char *dst = y->data;
    const char *src = x->data;
    for (int64_t r = 0; r < rows; r++, dst += inner * (int64_t)es) {
        int64_t off = 0;
        for (int d = 0; d < rank - 1 && off >= 0; d++)
            off = map[d][idx[d]] < 0 ? -1 : off + map[d][idx[d]];
        switch (es) {
#define KILN_PAD_ROW(SZ, T)                                                                    \
    case SZ: {                                                                                 \
        T v, *o = (T *)(void *)dst;                                                            \
        const T *s = (const T *)(const void *)src + (off < 0 ? 0 : off);                      \
        memcpy(&v, &val, SZ);                                                                  \
        for (int64_t j = 0; j < inner; j++)                                                    \
            o[j] = off < 0 || last[j] < 0 ? v : s[last[j]];                                    \
        break;                                                                                 \
    }
            KILN_FOR_ELEM_SIZES(KILN_PAD_ROW)
#undef KILN_PAD_ROW
        default: break; /* the compiler accepts only element sizes 1, 2, 4 and 8 */
        }
        for (int k = rank - 2; k >= 0; k--) {
            if (++idx[k] < y->dims[k])
                break;
            idx[k] = 0;
        }
    }
}

KILN_KERNELS(pad, KILN_K(kiln_k_pad, UNDEFINED));
/* CenterCropPad (opset 18): a Pad whose pads the compiler computed (negative ones crop) */
KILN_KERNELS(center_crop_pad, KILN_K(kiln_k_pad, UNDEFINED));
