/* signal.c - the signal-processing ops: DFT, STFT, the Hann/Hamming/Blackman windows and
 * MelWeightMatrix. Transforms gather their points into a double buffer (zero-padded or cut),
 * run one direct DFT on a twiddle table (exact angles from (k*j) mod n, accumulated in double)
 * and store bins back in the tensor's type. Scratch layout per call (doubles):
 *   [ twiddles 2n | points 2n | bins 2*bins ]
 * The windows and the mel matrix are computed in double and stored in any numeric type. */
#include <math.h>

#include "move.h"
#include "nn.h"

#define SIG_PI 3.14159265358979323846

#define SIG_FLOATS(X)                                                                          \
    KILN_NN_FLOATS(X) X(bf16, BF16, uint16_t, float, kiln_bf16_to_f32, kiln_f32_to_bf16)

/* tw[2m], tw[2m+1] = cos, sin of 2*pi*m/n. */
static void sig_twiddles(double *tw, int64_t n)
{
    for (int64_t m = 0; m < n; m++) {
        double ang = 2.0 * SIG_PI * (double)m / (double)n;
        tw[2 * m] = cos(ang);
        tw[2 * m + 1] = sin(ang);
    }
}

/* out[k] = sum_j x[j] * exp(-+2*pi*i*j*k/n) for k < bins (interleaved re, im); the inverse
 * uses the + sign and scales by 1/n. */
static void sig_dft(const double *x, int64_t n, int64_t bins, int inverse, const double *tw,
                    double *out)
{
    double sgn = inverse ? 1.0 : -1.0, scale = inverse ? 1.0 / (double)n : 1.0;
    for (int64_t k = 0; k < bins; k++) {
        double re = 0, im = 0;
        int64_t m = 0, step = k % n;
        for (int64_t j = 0; j < n; j++) {
            double c = tw[2 * m], s = sgn * tw[2 * m + 1];
            re += x[2 * j] * c - x[2 * j + 1] * s;
            im += x[2 * j] * s + x[2 * j + 1] * c;
            m += step;
            if (m >= n)
                m -= n;
        }
        out[2 * k] = re * scale;
        out[2 * k + 1] = im * scale;
    }
}

#define SIG_DEFINE(sfx, DT, T, ACC, LOAD, STORE)                                               \
    static void kiln_k_dft_##sfx(const struct kiln_kernel_args *a)                             \
    {                                                                                          \
        const struct kiln_p_dft *p = a->params;                                                \
        const T *x = a->in[0].data;                                                            \
        T *y = a->out[0].data;                                                                 \
        double *tw = a->scratch, *pts = tw + 2 * p->n, *bins = pts + 2 * p->n;                 \
        int64_t cs = p->complex_in ? 2 : 1, take = p->len < p->n ? p->len : p->n;              \
        sig_twiddles(tw, p->n);                                                                \
        for (int64_t o = 0; o < p->outer; o++)                                                 \
            for (int64_t i = 0; i < p->inner; i++) {                                           \
                const T *xs = x + (o * p->len * p->inner + i) * cs;                            \
                memset(pts, 0, (size_t)(2 * p->n) * sizeof *pts);                              \
                for (int64_t j = 0; j < take; j++) {                                           \
                    pts[2 * j] = (double)LOAD(xs[j * p->inner * cs]);                          \
                    if (p->complex_in)                                                         \
                        pts[2 * j + 1] = (double)LOAD(xs[j * p->inner * cs + 1]);              \
                }                                                                              \
                sig_dft(pts, p->n, p->bins, p->inverse, tw, bins);                             \
                T *ys = y + (o * p->bins * p->inner + i) * 2;                                  \
                for (int64_t k = 0; k < p->bins; k++) {                                        \
                    ys[k * p->inner * 2] = STORE((ACC)bins[2 * k]);                            \
                    ys[k * p->inner * 2 + 1] = STORE((ACC)bins[2 * k + 1]);                    \
                }                                                                              \
            }                                                                                  \
    }                                                                                          \
    static void kiln_k_stft_##sfx(const struct kiln_kernel_args *a)                            \
    {                                                                                          \
        const struct kiln_p_stft *p = a->params;                                               \
        const T *x = a->in[0].data;                                                            \
        const T *win = p->has_window ? a->in[2].data : NULL;                                   \
        T *y = a->out[0].data;                                                                 \
        int64_t fl = p->frame_length, cs = p->complex_in ? 2 : 1;                              \
        double *tw = a->scratch, *pts = tw + 2 * fl, *bins = pts + 2 * fl;                     \
        sig_twiddles(tw, fl);                                                                  \
        for (int64_t b = 0; b < p->batch; b++)                                                 \
            for (int64_t f = 0; f < p->frames; f++) {                                          \
                const T *xs = x + (b * p->length + f * p->step) * cs;                          \
                for (int64_t j = 0; j < fl; j++) {                                             \
                    double w = win ? (double)LOAD(win[j]) : 1.0;                               \
                    pts[2 * j] = (double)LOAD(xs[j * cs]) * w;                                 \
                    pts[2 * j + 1] = p->complex_in ? (double)LOAD(xs[j * cs + 1]) * w : 0.0;   \
                }                                                                              \
                sig_dft(pts, fl, p->bins, 0, tw, bins);                                        \
                T *ys = y + (b * p->frames + f) * p->bins * 2;                                 \
                for (int64_t k = 0; k < 2 * p->bins; k++)                                      \
                    ys[k] = STORE((ACC)bins[k]);                                               \
            }                                                                                  \
    }

SIG_FLOATS(SIG_DEFINE)

/* Element k of the cosine-sum window a0 - a1 cos(2 pi k / N) + a2 cos(4 pi k / N). */
static void kiln_k_window_fn(const struct kiln_kernel_args *a)
{
    const struct kiln_p_window_fn *p = a->params;
    struct kiln_tensor *y = &a->out[0];
    static const double coef[3][3] = {
        {0.5, 0.5, 0.0}, {25.0 / 46.0, 21.0 / 46.0, 0.0}, {0.42, 0.5, 0.08}};
    const double *c = coef[p->kind];
    int64_t size = y->dims[0];
    double den = (double)(p->periodic ? size : size - 1);
    size_t es = kiln_dtype_size(y->dtype);
    for (int64_t k = 0; k < size; k++) {
        double t = den > 0 ? 2.0 * SIG_PI * (double)k / den : 0.0;
        double v = c[0] - c[1] * cos(t) + c[2] * cos(2.0 * t);
        kiln_store_value((char *)y->data + (size_t)k * es, y->dtype, v, (int64_t)v);
    }
}

/* Spectrogram bin of mel point i (of num_mel_bins + 2 equally spaced on the mel scale). */
static int64_t mel_point(const struct kiln_p_mel *p, int64_t i)
{
    double lo = 2595.0 * log10(1.0 + p->lower_hz / 700.0);
    double hi = 2595.0 * log10(1.0 + p->upper_hz / 700.0);
    double mel = lo + (hi - lo) / (double)(p->num_mel_bins + 2) * (double)i;
    double hz = 700.0 * (pow(10.0, mel / 2595.0) - 1.0);
    double bin = floor((double)(p->dft_length + 1) * hz / (double)p->sample_rate);
    return bin > -1e15 && bin < 1e15 ? (int64_t)bin : -1;
}

/* MelWeightMatrix [dft_length/2 + 1, num_mel_bins]: triangle i rises from point i to point
 * i+1 and falls to point i+2, peak 1. Points outside the matrix are skipped. */
static void kiln_k_mel_weight_matrix(const struct kiln_kernel_args *a)
{
    const struct kiln_p_mel *p = a->params;
    struct kiln_tensor *y = &a->out[0];
    int64_t rows = y->dims[0], nm = p->num_mel_bins;
    size_t es = kiln_dtype_size(y->dtype);
    memset(y->data, 0, (size_t)(rows * nm) * es);
#define MEL_SET(j, i, v)                                                                       \
    do {                                                                                       \
        if ((j) >= 0 && (j) < rows)                                                            \
            kiln_store_value((char *)y->data + (size_t)((j) * nm + (i)) * es, y->dtype, (v),   \
                             (int64_t)(v));                                                    \
    } while (0)
    for (int64_t i = 0; i < nm; i++) {
        int64_t lo = mel_point(p, i), mid = mel_point(p, i + 1), hi = mel_point(p, i + 2);
        if (mid == lo)
            MEL_SET(mid, i, 1.0);
        else
            for (int64_t j = lo; j <= mid; j++)
                MEL_SET(j, i, (double)(j - lo) / (double)(mid - lo));
        for (int64_t j = mid; j < hi; j++)
            MEL_SET(j, i, (double)(hi - j) / (double)(hi - mid));
    }
#undef MEL_SET
}

#define KV_DFT(sfx, DT, ...) KILN_K(kiln_k_dft_##sfx, DT),
#define KV_STFT(sfx, DT, ...) KILN_K(kiln_k_stft_##sfx, DT),
KILN_KERNELS(dft, SIG_FLOATS(KV_DFT));
KILN_KERNELS(stft, SIG_FLOATS(KV_STFT));
KILN_KERNELS(hann_window, KILN_K(kiln_k_window_fn, UNDEFINED));
KILN_KERNELS(hamming_window, KILN_K(kiln_k_window_fn, UNDEFINED));
KILN_KERNELS(blackman_window, KILN_K(kiln_k_window_fn, UNDEFINED));
KILN_KERNELS(mel_weight_matrix, KILN_K(kiln_k_mel_weight_matrix, UNDEFINED));
