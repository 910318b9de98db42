/* resize.c - Resize and Upsample: separable N-d resampling (nearest, N-linear, cubic) with
 * every coordinate transformation of the ONNX spec. Per axis, each output index gets its input
 * taps and weights once per call (in scratch); each output element then sums the product of
 * its axes' taps. Edge taps are clamped, as the spec's edge padding does. float32 linear and
 * nearest over the last two axes take a tabled, row-cached fast path (resize_f32_fast). */
#include <math.h>
#include <string.h>

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
                       int64_t out_int, int *outside)
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
    case KILN_RESIZE_HALF_PIXEL_SYMMETRIC: {
        /* half_pixel about the input's centre, shifted by what rounding the length cut off */
        double adjust = (double)out_int / out_len, centre = (double)in_len / 2;
        return centre * (1 - adjust) + (x + 0.5) / scale - 0.5;
    }
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
                     int64_t out_len, struct resize_tap *t)
{
    double x = to_input(p, axis, (double)xo, in_len, out_len, &t->outside);
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
            make_tap(p, i, o, x->dims[i], y->dims[i], t++);
    }
}

/* ---- float32 fast path: (bi)linear or nearest over the last two axes, every other axis an
 * identity. The general kernel above costs ~100 ns per output element (taps looked up per
 * element, a mixed-radix walk, double accumulation); here each output column's two source
 * columns and weights are tabled once per call, each output row's once per call, input rows
 * are interpolated horizontally once into a two-row cache and the output row is a
 * vectorizable blend of the two. Taps come from make_tap, so every coordinate transformation,
 * nearest mode and exclude_outside match the general path; float weights instead of double
 * move results by a few ulps. */
struct resize_lin {
    int32_t i0, i1;
    float w0, w1;
};

/* Axis i is an identity when every output index takes exactly its own input element. */
static int identity_axis(const struct kiln_p_resize *p, int axis, int64_t in_len, int64_t out_len)
{
    if (in_len != out_len)
        return 0;
    for (int64_t o = 0; o < out_len; o++) {
        struct resize_tap t;
        make_tap(p, axis, o, in_len, out_len, &t);
        double w = 0;
        for (int k = 0; k < t.n; k++) {
            if (t.w[k] != 0 && t.idx[k] != o)
                return 0;
            w += t.idx[k] == o ? t.w[k] : 0;
        }
        if (t.outside || w != 1)
            return 0;
    }
    return 1;
}

/* Tables axis' taps as (i0, i1, w0, w1) plus its outside flags; returns whether any is
 * outside the input (tf_crop_and_resize). */
static int table_axis(const struct kiln_p_resize *p, int axis, int64_t in_len, int64_t out_len,
                      struct resize_lin *lin, unsigned char *outside)
{
    int any = 0;
    for (int64_t o = 0; o < out_len; o++) {
        struct resize_tap t;
        make_tap(p, axis, o, in_len, out_len, &t);
        lin[o].i0 = (int32_t)t.idx[0];
        lin[o].w0 = (float)t.w[0];
        lin[o].i1 = (int32_t)t.idx[t.n > 1];
        lin[o].w1 = t.n > 1 ? (float)t.w[1] : 0.0f;
        outside[o] = (unsigned char)t.outside;
        any |= t.outside;
    }
    return any;
}

static void lerp_row(float *restrict h, const float *restrict xr,
                     const struct resize_lin *restrict col, int64_t n)
{
    for (int64_t o = 0; o < n; o++)
        h[o] = xr[col[o].i0] * col[o].w0 + xr[col[o].i1] * col[o].w1;
}

static void blend_rows(float *restrict y, const float *restrict a, const float *restrict b,
                       float wa, float wb, int64_t n)
{
    for (int64_t o = 0; o < n; o++)
        y[o] = a[o] * wa + b[o] * wb;
}

static void pick_row(float *restrict y, const float *restrict xr,
                     const struct resize_lin *restrict col, int64_t n)
{
    for (int64_t o = 0; o < n; o++)
        y[o] = xr[col[o].i0];
}

/* The cached horizontal interpolation of input row r, computed into a slot not holding
 * `keep` (the other row the current output row needs) when it is not cached. */
static const float *cached_row(float *buf[2], int64_t tag[2], int64_t r, int64_t keep,
                               const float *xp, int64_t in_w, const struct resize_lin *col,
                               int64_t out_w)
{
    for (int s = 0; s < 2; s++)
        if (tag[s] == r)
            return buf[s];
    int s = tag[0] == keep ? 1 : 0;
    lerp_row(buf[s], xp + r * in_w, col, out_w);
    tag[s] = r;
    return buf[s];
}

/* Runs the fast path when the node fits it; returns 0 (nothing done) otherwise. */
static int resize_f32_fast(const struct kiln_kernel_args *a)
{
    const struct kiln_p_resize *p = a->params;
    const struct kiln_tensor *x = &a->in[0], *y = &a->out[0];
    int rank = y->rank;
    if (rank < 2 || (p->mode != KILN_RESIZE_LINEAR && p->mode != KILN_RESIZE_NEAREST))
        return 0;
    int64_t in_h = x->dims[rank - 2], in_w = x->dims[rank - 1];
    int64_t out_h = y->dims[rank - 2], out_w = y->dims[rank - 1];
    if (in_h < 1 || in_w < 1 || out_h < 1 || out_w < 1 || in_h > INT32_MAX || in_w > INT32_MAX)
        return 0;
    int64_t planes = 1;
    for (int i = 0; i < rank - 2; i++) {
        if (!identity_axis(p, i, x->dims[i], y->dims[i]))
            return 0;
        planes *= y->dims[i];
    }
    /* scratch (KILN_RESIZE_TAP_BYTES per output index of each axis) holds 16 bytes per row and
     * 25 per column */
    struct resize_lin *col = a->scratch, *row = col + out_w;
    float *buf[2] = {(float *)(row + out_h), (float *)(row + out_h) + out_w};
    unsigned char *col_out = (unsigned char *)(buf[1] + out_w), *row_out = col_out + out_w;
    int any_out = table_axis(p, rank - 1, in_w, out_w, col, col_out);
    any_out |= table_axis(p, rank - 2, in_h, out_h, row, row_out);
    const float *xs = x->data;
    float *ys = y->data;
    float extrap = p->extrapolation;
    for (int64_t pl = 0; pl < planes; pl++) {
        const float *xp = xs + pl * in_h * in_w;
        float *yp = ys + pl * out_h * out_w;
        int64_t tag[2] = {-1, -1};
        for (int64_t oh = 0; oh < out_h; oh++) {
            float *yr = yp + oh * out_w;
            const struct resize_lin *r = &row[oh];
            if (p->mode == KILN_RESIZE_NEAREST) {
                if (oh > 0 && r->i0 == r[-1].i0 && !any_out)
                    memcpy(yr, yr - out_w, (size_t)out_w * sizeof *yr);
                else
                    pick_row(yr, xp + r->i0 * in_w, col, out_w);
            } else {
                /* a zero-weight row (an exact hit) is not interpolated at all */
                int64_t r0 = r->w0 != 0 ? r->i0 : r->i1, r1 = r->w1 != 0 ? r->i1 : r0;
                const float *h0 = cached_row(buf, tag, r0, r1, xp, in_w, col, out_w);
                const float *h1 = cached_row(buf, tag, r1, r0, xp, in_w, col, out_w);
                blend_rows(yr, h0, h1, r->w0, r->w1, out_w);
            }
            if (any_out)
                for (int64_t ow = 0; ow < out_w; ow++)
                    if (row_out[oh] || col_out[ow])
                        yr[ow] = extrap;
        }
    }
    return 1;
}

/* Input byte offset and weight of combination `combo` (mixed radix over the axes' tap counts). */
#define RESIZE_KERNEL(sfx, T, LD, ST, FAST)                                                    \
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
        FAST                                                                                   \
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

RESIZE_KERNEL(f32, float, LD_PLAIN, ST_FLOAT, if (resize_f32_fast(a)) return;)
RESIZE_KERNEL(f64, double, LD_PLAIN, ST_FLOAT, )
RESIZE_KERNEL(f16, uint16_t, LD_F16, ST_F16, )
RESIZE_KERNEL(bf16, uint16_t, LD_BF16, ST_BF16, )
RESIZE_KERNEL(u8, uint8_t, LD_PLAIN, ST_U8, )
RESIZE_KERNEL(i8, int8_t, LD_PLAIN, ST_I8, )
RESIZE_KERNEL(i32, int32_t, LD_PLAIN, ST_I32, )

#define RESIZE_VARIANTS                                                                        \
    KILN_K(kiln_k_resize_f32, F32), KILN_K(kiln_k_resize_f64, F64),                            \
        KILN_K(kiln_k_resize_f16, F16), KILN_K(kiln_k_resize_bf16, BF16),                      \
        KILN_K(kiln_k_resize_u8, U8), KILN_K(kiln_k_resize_i8, I8),                            \
        KILN_K(kiln_k_resize_i32, I32)
KILN_KERNELS(resize, RESIZE_VARIANTS);
KILN_KERNELS(upsample, RESIZE_VARIANTS);
