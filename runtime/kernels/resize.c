/* resize.c - Resize and Upsample: separable N-d resampling (nearest, N-linear, cubic) with
 * every coordinate transformation of the ONNX spec. Per axis, each output index gets its input
 * taps and weights once per call (in scratch); each output element then sums the product of
 * its axes' taps. Edge taps are clamped, as the spec's edge padding does. */
#include <math.h>

#include "kernels.h"

struct resize_tap {
    int64_t idx[4];
    double w[4];
    int32_t n;       /* taps in use */
    int32_t outside; /* tf_crop_and_resize: the point is outside the input -> extrapolation */
};

/* the compiler sizes the scratch with KILN_RESIZE_TAP_BYTES (a C99 static assertion: the C
 * emitter builds this file as C99) */
typedef char kiln_resize_tap_fits[sizeof(struct resize_tap) <= KILN_RESIZE_TAP_BYTES ? 1 : -1];

/* Output coordinate -> input coordinate (the spec's coordinate_transformation_mode). */
static double to_input(const struct kiln_p_resize *p, int axis, double x, int64_t in_len,
                       int *outside)
{
    double scale = p->scales[axis];
    double out_len = scale * (double)in_len; /* the spec uses the unrounded length */
    *outside = 0;
    switch (p->coord) {
    case KILN_RESIZE_PYTORCH_HALF_PIXEL:
        return out_len > 1 ? (x + 0.5) / scale - 0.5 : 0.0;
    case KILN_RESIZE_ALIGN_CORNERS:
        return out_len == 1 ? 0.0 : x * (double)(in_len - 1) / (out_len - 1);
    case KILN_RESIZE_ASYMMETRIC:
        return x / scale;
    case KILN_RESIZE_TF_HALF_PIXEL_FOR_NN:
        return (x + 0.5) / scale;
    case KILN_RESIZE_TF_CROP_AND_RESIZE: {
        double s = p->roi_start[axis], e = p->roi_end[axis], r;
        if (out_len == 1)
            r = (e - s) * (double)(in_len - 1) / 2;
        else
            r = x * (e - s) * (double)(in_len - 1) / (out_len - 1);
        r += s * (double)(in_len - 1);
        *outside = r < 0 || r > (double)(in_len - 1);
        return r;
    }
    default: /* half_pixel */
        return (x + 0.5) / scale - 0.5;
    }
}

static void cubic_weights(double r, double A, double *w)
{
    double s = r + 1, t = 1 - r, u = 2 - r;
    w[0] = ((A * s - 5 * A) * s + 8 * A) * s - 4 * A;
    w[1] = ((A + 2) * r - (A + 3)) * r * r + 1;
    w[2] = ((A + 2) * t - (A + 3)) * t * t + 1;
    w[3] = ((A * u - 5 * A) * u + 8 * A) * u - 4 * A;
}

static int64_t clamp_idx(int64_t i, int64_t len)
{
    return i < 0 ? 0 : i >= len ? len - 1 : i;
}

static void make_tap(const struct kiln_p_resize *p, int axis, int64_t xo, int64_t in_len,
                     struct resize_tap *t)
{
    double x = to_input(p, axis, (double)xo, in_len, &t->outside);
    double f = floor(x), r = x - f;
    int64_t fi = (int64_t)f;
    if (p->mode == KILN_RESIZE_NEAREST) {
        int64_t pick;
        if (r == 0)
            pick = fi;
        else if (p->nearest == KILN_RESIZE_FLOOR)
            pick = fi;
        else if (p->nearest == KILN_RESIZE_CEIL)
            pick = fi + 1;
        else if (p->nearest == KILN_RESIZE_ROUND_PREFER_CEIL)
            pick = r < 0.5 ? fi : fi + 1;
        else
            pick = r <= 0.5 ? fi : fi + 1;
        t->n = 1;
        t->idx[0] = clamp_idx(pick, in_len);
        t->w[0] = 1;
        return;
    }
    /* an exact hit is taken as the upper tap of the cell below, ratio 1 (as the spec does) */
    if (r == 0) {
        fi -= 1;
        r = 1;
    }
    int64_t raw[4];
    if (p->mode == KILN_RESIZE_LINEAR) {
        t->n = 2;
        raw[0] = fi;
        raw[1] = fi + 1;
        t->w[0] = 1 - r;
        t->w[1] = r;
    } else {
        t->n = 4;
        for (int k = 0; k < 4; k++)
            raw[k] = fi - 1 + k;
        cubic_weights(r, p->cubic_a, t->w);
    }
    double sum = 0;
    for (int k = 0; k < t->n; k++) {
        if (p->exclude_outside && (raw[k] < 0 || raw[k] >= in_len))
            t->w[k] = 0;
        sum += t->w[k];
        t->idx[k] = clamp_idx(raw[k], in_len);
    }
    if (p->exclude_outside && sum != 0)
        for (int k = 0; k < t->n; k++)
            t->w[k] /= sum;
}

/* Fills the per-axis taps; returns the first tap of each axis in axis_taps. */
static void build_taps(const struct kiln_kernel_args *a, struct resize_tap **axis_taps)
{
    const struct kiln_p_resize *p = a->params;
    const struct kiln_tensor *x = &a->in[0], *y = &a->out[0];
    struct resize_tap *t = a->scratch;
    for (int i = 0; i < y->rank; i++) {
        axis_taps[i] = t;
        for (int64_t o = 0; o < y->dims[i]; o++)
            make_tap(p, i, o, x->dims[i], t++);
    }
}

/* Input byte offset and weight of combination `combo` (mixed radix over the axes' tap counts). */
#define RESIZE_KERNEL(sfx, T, LD, ST)                                                          \
    static void kiln_k_resize_##sfx(const struct kiln_kernel_args *a)                          \
    {                                                                                          \
        const struct kiln_p_resize *p = a->params;                                             \
        const struct kiln_tensor *x = &a->in[0];                                               \
        const struct kiln_tensor *y = &a->out[0];                                              \
        const T *xs = x->data;                                                                 \
        T *ys = y->data;                                                                       \
        int rank = y->rank;                                                                    \
        struct resize_tap *taps[KILN_MAX_RANK];                                                \
        int64_t xstr[KILN_MAX_RANK], pos[KILN_MAX_RANK] = {0};                                 \
        build_taps(a, taps);                                                                   \
        kiln_strides(x->dims, rank, xstr);                                                     \
        int64_t total = kiln_numel(y->dims, rank);                                             \
        for (int64_t o = 0; o < total; o++) {                                                  \
            const struct resize_tap *tp[KILN_MAX_RANK];                                        \
            int outside = 0, ncombo = 1;                                                       \
            for (int i = 0; i < rank; i++) {                                                   \
                tp[i] = &taps[i][pos[i]];                                                      \
                outside |= tp[i]->outside;                                                     \
                ncombo *= tp[i]->n;                                                            \
            }                                                                                  \
            double acc = 0;                                                                    \
            if (outside) {                                                                     \
                acc = p->extrapolation;                                                        \
            } else {                                                                           \
                for (int c = 0; c < ncombo; c++) {                                             \
                    int rem = c;                                                               \
                    int64_t off = 0;                                                           \
                    double w = 1;                                                              \
                    for (int i = rank - 1; i >= 0; i--) {                                      \
                        int k = rem % tp[i]->n;                                                \
                        rem /= tp[i]->n;                                                       \
                        off += tp[i]->idx[k] * xstr[i];                                        \
                        w *= tp[i]->w[k];                                                      \
                    }                                                                          \
                    if (w != 0)                                                                \
                        acc += w * (double)LD(xs, off);                                        \
                }                                                                              \
            }                                                                                  \
            ST(ys, o, acc);                                                                    \
            for (int i = rank - 1; i >= 0; i--) {                                              \
                if (++pos[i] < y->dims[i])                                                     \
                    break;                                                                     \
                pos[i] = 0;                                                                    \
            }                                                                                  \
        }                                                                                      \
    }

#define LD_PLAIN(p, i) ((p)[i])
#define ST_FLOAT(p, i, v) ((p)[i] = (v))
#define LD_F16(p, i) kiln_f16_to_f32((p)[i])
#define ST_F16(p, i, v) ((p)[i] = kiln_f32_to_f16((float)(v)))
#define LD_BF16(p, i) kiln_bf16_to_f32((p)[i])
#define ST_BF16(p, i, v) ((p)[i] = kiln_f32_to_bf16((float)(v)))
/* integers: round half away from zero and saturate */
#define ST_INT(T, lo, hi)                                                                      \
    static inline void st_##T(T *p, int64_t i, double v)                                       \
    {                                                                                          \
        v = round(v);                                                                          \
        p[i] = v < (double)(lo) ? (T)(lo) : v > (double)(hi) ? (T)(hi) : (T)v;                 \
    }
ST_INT(uint8_t, 0, UINT8_MAX)
ST_INT(int8_t, INT8_MIN, INT8_MAX)
ST_INT(int32_t, INT32_MIN, INT32_MAX)
#define ST_U8(p, i, v) st_uint8_t(p, i, v)
#define ST_I8(p, i, v) st_int8_t(p, i, v)
#define ST_I32(p, i, v) st_int32_t(p, i, v)

RESIZE_KERNEL(f32, float, LD_PLAIN, ST_FLOAT)
RESIZE_KERNEL(f64, double, LD_PLAIN, ST_FLOAT)
RESIZE_KERNEL(f16, uint16_t, LD_F16, ST_F16)
RESIZE_KERNEL(bf16, uint16_t, LD_BF16, ST_BF16)
RESIZE_KERNEL(u8, uint8_t, LD_PLAIN, ST_U8)
RESIZE_KERNEL(i8, int8_t, LD_PLAIN, ST_I8)
RESIZE_KERNEL(i32, int32_t, LD_PLAIN, ST_I32)

#define RESIZE_VARIANTS                                                                        \
    KILN_K(kiln_k_resize_f32, F32), KILN_K(kiln_k_resize_f64, F64),                            \
        KILN_K(kiln_k_resize_f16, F16), KILN_K(kiln_k_resize_bf16, BF16),                      \
        KILN_K(kiln_k_resize_u8, U8), KILN_K(kiln_k_resize_i8, I8),                            \
        KILN_K(kiln_k_resize_i32, I32)
KILN_KERNELS(resize, RESIZE_VARIANTS);
KILN_KERNELS(upsample, RESIZE_VARIANTS);
