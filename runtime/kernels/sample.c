/* sample.c - GridSample and RoiAlign: read a [N, C, H, W] feature map at fractional positions;
 * AffineGrid computes the grids GridSample reads.
 * GridSample follows the ONNX reference (and ONNX Runtime): out-of-range coordinates are first
 * clamped or reflected per padding_mode, then every tap is read through the same padding rule.
 * RoiAlign matches ONNX Runtime's bilinear sampling, including its max mode (the largest
 * weighted corner of each sample). Positions are computed in double. */
#include <math.h>

#include "kernels.h"
#include "nn.h"

/* Reflects x into [lo, hi] as many times as needed. */
static double reflect(double x, double lo, double hi)
{
    double rng = hi - lo;
    if (rng <= 0)
        return lo;
    if (x < lo || x > hi) {
        double dx = x < lo ? lo - x : x - hi;
        double k = floor(dx / rng), r = dx - k * rng;
        int even = fmod(k, 2.0) == 0;
        x = (x < lo) == even ? lo + r : hi - r;
    }
    return x;
}

static double clampd(double x, double lo, double hi)
{
    return x < lo ? lo : x > hi ? hi : x;
}

/* Bicubic weights of the four taps around a point at fraction t (A = -0.75, as in PyTorch). */
static void cubic_coeffs(double t, double w[4])
{
    const double A = -0.75;
    double x = t + 1;
    w[0] = ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
    x = t;
    w[1] = ((A + 2) * x - (A + 3)) * x * x + 1;
    x = 1 - t;
    w[2] = ((A + 2) * x - (A + 3)) * x * x + 1;
    x = 2 - t;
    w[3] = ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
}

/* Geometry of one GridSample image plane and its padding rule. */
struct gs_plane {
    int64_t h, w;
    int padding;
    double lo_x, hi_x, lo_y, hi_y; /* reflection bounds */
};

/* Index of pixel (r, c) after the padding rule; -1 for a zero. */
static int64_t gs_at(const struct gs_plane *p, int64_t r, int64_t c)
{
    if (p->padding == KILN_GRID_ZEROS)
        return r >= 0 && r < p->h && c >= 0 && c < p->w ? r * p->w + c : -1;
    if (p->padding == KILN_GRID_REFLECTION) {
        c = (int64_t)reflect((double)c, p->lo_x, p->hi_x);
        r = (int64_t)reflect((double)r, p->lo_y, p->hi_y);
    }
    c = c < 0 ? 0 : c >= p->w ? p->w - 1 : c;
    r = r < 0 ? 0 : r >= p->h ? p->h - 1 : r;
    return r * p->w + c;
}

#define SAMPLE_DEFINE(sfx, DT, T, ACC, LOAD, STORE)                                            \
    static double gs_px_##sfx(const T *img, const struct gs_plane *p, int64_t r, int64_t c)    \
    {                                                                                          \
        int64_t i = gs_at(p, r, c);                                                            \
        return i < 0 ? 0 : (double)LOAD(img[i]);                                               \
    }                                                                                          \
    static void kiln_k_grid_sample_##sfx(const struct kiln_kernel_args *a)                     \
    {                                                                                          \
        const struct kiln_p_grid_sample *p = a->params;                                        \
        const struct kiln_tensor *x = &a->in[0];                                               \
        const T *X = x->data, *G = a->in[1].data;                                              \
        T *Y = a->out[0].data;                                                                 \
        int64_t N = x->dims[0], C = x->dims[1];                                                \
        int64_t ho = a->out[0].dims[2], wo = a->out[0].dims[3];                                \
        struct gs_plane pl = {x->dims[2], x->dims[3], p->padding, 0, 0, 0, 0};                 \
        double edge = p->align_corners ? 0 : 0.5;                                              \
        pl.lo_x = -edge, pl.hi_x = (double)pl.w - 1 + edge;                                    \
        pl.lo_y = -edge, pl.hi_y = (double)pl.h - 1 + edge;                                    \
        for (int64_t n = 0; n < N; n++)                                                        \
            for (int64_t o = 0; o < ho * wo; o++) {                                            \
                const T *gp = G + (n * ho * wo + o) * 2;                                       \
                double gx = (double)LOAD(gp[0]), gy = (double)LOAD(gp[1]), xs, ys;             \
                if (p->align_corners) {                                                        \
                    xs = (gx + 1) / 2 * (double)(pl.w - 1);                                    \
                    ys = (gy + 1) / 2 * (double)(pl.h - 1);                                    \
                } else {                                                                       \
                    xs = ((gx + 1) * (double)pl.w - 1) / 2;                                    \
                    ys = ((gy + 1) * (double)pl.h - 1) / 2;                                    \
                }                                                                              \
                if (p->mode == KILN_GRID_NEAREST)                                              \
                    xs = nearbyint(xs), ys = nearbyint(ys);                                    \
                if (xs < pl.lo_x || xs > pl.hi_x || ys < pl.lo_y || ys > pl.hi_y) {            \
                    if (p->padding == KILN_GRID_BORDER) {                                      \
                        xs = clampd(xs, 0, (double)pl.w - 1);                                  \
                        ys = clampd(ys, 0, (double)pl.h - 1);                                  \
                    } else if (p->padding == KILN_GRID_REFLECTION) {                           \
                        xs = reflect(xs, pl.lo_x, pl.hi_x);                                    \
                        ys = reflect(ys, pl.lo_y, pl.hi_y);                                    \
                    }                                                                          \
                }                                                                              \
                double x0 = floor(xs), y0 = floor(ys), fx = xs - x0, fy = ys - y0;             \
                int64_t c0 = (int64_t)x0, r0 = (int64_t)y0;                                    \
                double wx[4], wy[4];                                                           \
                if (p->mode == KILN_GRID_BICUBIC) {                                            \
                    cubic_coeffs(fx, wx);                                                      \
                    cubic_coeffs(fy, wy);                                                      \
                }                                                                              \
                for (int64_t c = 0; c < C; c++) {                                              \
                    const T *img = X + (n * C + c) * pl.h * pl.w;                              \
                    double v = 0;                                                              \
                    if (p->mode == KILN_GRID_NEAREST) {                                        \
                        v = gs_px_##sfx(img, &pl, (int64_t)ys, (int64_t)xs);                   \
                    } else if (p->mode == KILN_GRID_BILINEAR) {                                \
                        v = (1 - fy) * ((1 - fx) * gs_px_##sfx(img, &pl, r0, c0) +             \
                                        fx * gs_px_##sfx(img, &pl, r0, c0 + 1)) +              \
                            fy * ((1 - fx) * gs_px_##sfx(img, &pl, r0 + 1, c0) +               \
                                  fx * gs_px_##sfx(img, &pl, r0 + 1, c0 + 1));                 \
                    } else {                                                                   \
                        for (int i = 0; i < 4; i++)                                            \
                            for (int j = 0; j < 4; j++)                                        \
                                v += wy[i] * wx[j] *                                           \
                                     gs_px_##sfx(img, &pl, r0 - 1 + i, c0 - 1 + j);            \
                    }                                                                          \
                    Y[(n * C + c) * ho * wo + o] = STORE((ACC)v);                              \
                }                                                                              \
            }                                                                                  \
    }                                                                                          \
    static void kiln_k_roi_align_##sfx(const struct kiln_kernel_args *a)                       \
    {                                                                                          \
        const struct kiln_p_roi_align *p = a->params;                                          \
        const struct kiln_tensor *x = &a->in[0];                                               \
        const T *X = x->data, *R = a->in[1].data;                                              \
        const struct kiln_tensor *bt = &a->in[2];                                              \
        T *Y = a->out[0].data;                                                                 \
        int64_t N = x->dims[0], C = x->dims[1], H = x->dims[2], W = x->dims[3];                \
        int64_t nr = a->out[0].dims[0], ph = a->out[0].dims[2], pw = a->out[0].dims[3];        \
        double off = p->half_pixel ? 0.5 : 0, ss = p->spatial_scale;                           \
        for (int64_t r = 0; r < nr; r++) {                                                     \
            int64_t b = bt->dtype == KILN_DTYPE_I32 ? ((const int32_t *)bt->data)[r]           \
                                                     : ((const int64_t *)bt->data)[r];         \
            b = b < 0 ? 0 : b >= N ? N - 1 : b;                                                \
            double sw = (double)LOAD(R[r * 4]) * ss - off;                                     \
            double sh = (double)LOAD(R[r * 4 + 1]) * ss - off;                                 \
            double rw = (double)LOAD(R[r * 4 + 2]) * ss - off - sw;                            \
            double rh = (double)LOAD(R[r * 4 + 3]) * ss - off - sh;                            \
            if (!p->half_pixel) { /* the legacy mode forces at least one pixel */              \
                rw = rw > 1 ? rw : 1;                                                          \
                rh = rh > 1 ? rh : 1;                                                          \
            }                                                                                  \
            double bh = rh / (double)ph, bw = rw / (double)pw;                                 \
            int64_t gh = p->sampling_ratio > 0 ? p->sampling_ratio : (int64_t)ceil(rh / ph);   \
            int64_t gw = p->sampling_ratio > 0 ? p->sampling_ratio : (int64_t)ceil(rw / pw);   \
            double count = gh * gw > 0 ? (double)(gh * gw) : 1;                                \
            for (int64_t c = 0; c < C; c++) {                                                  \
                const T *img = X + (b * C + c) * H * W;                                        \
                T *y = Y + (r * C + c) * ph * pw;                                              \
                for (int64_t oy = 0; oy < ph; oy++)                                            \
                    for (int64_t ox = 0; ox < pw; ox++) {                                      \
                        double acc = 0;                                                        \
                        int any = 0;                                                           \
                        for (int64_t iy = 0; iy < gh; iy++)                                    \
                            for (int64_t ix = 0; ix < gw; ix++) {                              \
                                double yy = sh + oy * bh + (iy + 0.5) * bh / (double)gh;       \
                                double xx = sw + ox * bw + (ix + 0.5) * bw / (double)gw;       \
                                double t[4] = {0, 0, 0, 0}, wt[4] = {0, 0, 0, 0};              \
                                if (!(yy < -1.0 || yy > H || xx < -1.0 || xx > W)) {           \
                                    yy = yy <= 0 ? 0 : yy;                                     \
                                    xx = xx <= 0 ? 0 : xx;                                     \
                                    int64_t yl = (int64_t)yy, xl = (int64_t)xx, yh, xh;        \
                                    if (yl >= H - 1)                                           \
                                        yh = yl = H - 1, yy = (double)yl;                      \
                                    else                                                       \
                                        yh = yl + 1;                                           \
                                    if (xl >= W - 1)                                           \
                                        xh = xl = W - 1, xx = (double)xl;                      \
                                    else                                                       \
                                        xh = xl + 1;                                           \
                                    double ly = yy - yl, lx = xx - xl;                         \
                                    wt[0] = (1 - ly) * (1 - lx), wt[1] = (1 - ly) * lx;        \
                                    wt[2] = ly * (1 - lx), wt[3] = ly * lx;                    \
                                    t[0] = LOAD(img[yl * W + xl]);                             \
                                    t[1] = LOAD(img[yl * W + xh]);                             \
                                    t[2] = LOAD(img[yh * W + xl]);                             \
                                    t[3] = LOAD(img[yh * W + xh]);                             \
                                }                                                              \
                                if (p->mode == 0) {                                            \
                                    acc += wt[0] * t[0] + wt[1] * t[1] + wt[2] * t[2] +        \
                                           wt[3] * t[3];                                       \
                                    continue;                                                  \
                                }                                                              \
                                double m = wt[0] * t[0];                                       \
                                for (int k = 1; k < 4; k++)                                    \
                                    m = wt[k] * t[k] > m ? wt[k] * t[k] : m;                   \
                                acc = !any || m > acc ? m : acc;                               \
                                any = 1;                                                       \
                            }                                                                  \
                        y[oy * pw + ox] = STORE((ACC)(p->mode == 0 ? acc / count : acc));      \
                    }                                                                          \
            }                                                                                  \
        }                                                                                      \
    }

KILN_NN_FLOATS(SAMPLE_DEFINE)

/* AffineGrid's normalised coordinate of index i of len. */
static double grid_coord(int64_t i, int64_t len, int align_corners)
{
    if (align_corners)
        return len > 1 ? -1.0 + 2.0 * (double)i / (double)(len - 1) : -1.0;
    return -1.0 + (2.0 * (double)i + 1.0) / (double)len;
}

/* AffineGrid: out[n, (d,) h, w, :] = theta[n] @ (x_w, y_h, (z_d,) 1), in double */
#define AFFINE_GRID_DEFINE(sfx, DT, T, ACC, LOAD, STORE)                                       \
    static void kiln_k_affine_grid_##sfx(const struct kiln_kernel_args *a)                     \
    {                                                                                          \
        const struct kiln_p_affine_grid *p = a->params;                                        \
        const T *theta = a->in[0].data;                                                        \
        const struct kiln_tensor *y = &a->out[0];                                              \
        T *out = y->data;                                                                      \
        int nsp = y->rank - 2;                                                                 \
        int64_t D = nsp == 3 ? y->dims[1] : 1, H = y->dims[nsp - 1], W = y->dims[nsp];        \
        for (int64_t n = 0; n < y->dims[0]; n++) {                                             \
            const T *t = theta + n * nsp * (nsp + 1);                                          \
            for (int64_t d = 0; d < D; d++)                                                    \
                for (int64_t h = 0; h < H; h++)                                                \
                    for (int64_t w = 0; w < W; w++) {                                          \
                        double pt[4] = {grid_coord(w, W, p->align_corners),                    \
                                        grid_coord(h, H, p->align_corners), 1, 1};             \
                        if (nsp == 3)                                                          \
                            pt[2] = grid_coord(d, D, p->align_corners);                        \
                        for (int r = 0; r < nsp; r++) {                                        \
                            double acc = 0;                                                    \
                            for (int k = 0; k <= nsp; k++)                                     \
                                acc += (double)LOAD(t[r * (nsp + 1) + k]) * pt[k];             \
                            *out++ = STORE((ACC)acc);                                          \
                        }                                                                      \
                    }                                                                          \
        }                                                                                      \
    }
KILN_NN_FLOATS(AFFINE_GRID_DEFINE)

#define KV_GS(sfx, DT, ...) KILN_K(kiln_k_grid_sample_##sfx, DT),
#define KV_RA(sfx, DT, ...) KILN_K(kiln_k_roi_align_##sfx, DT),
KILN_KERNELS(grid_sample, KILN_NN_FLOATS(KV_GS));
KILN_KERNELS(roi_align, KILN_NN_FLOATS(KV_RA));
#define KV_AG(sfx, DT, ...) KILN_K(kiln_k_affine_grid_##sfx, DT),
KILN_KERNELS(affine_grid, KILN_NN_FLOATS(KV_AG));
