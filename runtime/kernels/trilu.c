/* trilu.c - Trilu and EyeLike, by element size: both keep or set elements relative to the
 * k-th diagonal of the last two axes. Trilu copies each row's kept span and zeroes the rest
 * (zero is all-zero bytes in every dtype); EyeLike writes a one of the output's dtype on the
 * diagonal. */
#include "move.h"

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static void kiln_k_trilu(const struct kiln_kernel_args *a)
{
    const struct kiln_p_diag *p = a->params;
    const struct kiln_tensor *x = &a->in[0];
    struct kiln_tensor *y = &a->out[0];
    size_t es = kiln_dtype_size(y->dtype);
    int r = x->rank;
    int64_t rows = x->dims[r - 2], cols = x->dims[r - 1];
    int64_t mats = kiln_numel(x->dims, r - 2);
    for (int64_t m = 0; m < mats; m++)
        for (int64_t i = 0; i < rows; i++) {
            size_t at = (size_t)((m * rows + i) * cols) * es;
            const char *s = (const char *)x->data + at;
            char *d = (char *)y->data + at;
            /* kept columns: [lo, hi) */
            int64_t lo = p->upper ? clamp64(i + p->k, 0, cols) : 0;
            int64_t hi = p->upper ? cols : clamp64(i + p->k + 1, 0, cols);
            memset(d, 0, (size_t)lo * es);
            if (hi > lo && d != s)
                memmove(d + lo * (int64_t)es, s + lo * (int64_t)es, (size_t)(hi - lo) * es);
            memset(d + hi * (int64_t)es, 0, (size_t)(cols - hi) * es);
        }
}

static void kiln_k_eye_like(const struct kiln_kernel_args *a)
{
    const struct kiln_p_diag *p = a->params;
    struct kiln_tensor *y = &a->out[0];
    size_t es = kiln_dtype_size(y->dtype);
    int64_t rows = y->dims[0], cols = y->dims[1];
    memset(y->data, 0, (size_t)(rows * cols) * es);
    for (int64_t i = 0; i < rows; i++)
        if (i + p->k >= 0 && i + p->k < cols)
            kiln_store_value((char *)y->data + (size_t)(i * cols + i + p->k) * es, y->dtype, 1.0,
                             1);
}

KILN_KERNELS(trilu, KILN_K(kiln_k_trilu, UNDEFINED));
KILN_KERNELS(eye_like, KILN_K(kiln_k_eye_like, UNDEFINED));
