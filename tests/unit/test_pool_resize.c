/* test_pool_resize.c - the float32 fast paths of Resize (runtime/kernels/resize.c) and of the
 * window and global pools (runtime/kernels/pool.c) on awkward shapes (sizes 1-67, up and down
 * scaling, pads, strides, dilations, ceil_mode): Resize float32 against the general kernel run
 * in float64, the pools against a float64 reference written here, each with an explicit bound. */
#include "graph_harness.h"

#include <math.h>

#define TEST_RNG_SEED 0x243f6a8885a308d3u
#include "test_rng.h"

/* ---- Resize ---- */

struct rsz {
    const char *mode, *coord, *nearest;
    int exclude_outside;
};

/* Resizes x ([2, 3, ih, iw], float32 or float64 as dtype) to [2, 3, oh, ow]; roi is used by
 * tf_crop_and_resize. */
static void run_resize(const struct rsz *r, int dtype, const int64_t *in, const int64_t *out,
                       const void *x, void *y)
{
    static const float roi[8] = {0, 0, -0.2f, 0.1f, 1, 1, 0.9f, 1.3f};
    struct tg *t = tg_new("Resize", 13, 4, 1);
    tg_input(t, 0, dtype, 4, in);
    int crop = strcmp(r->coord, "tf_crop_and_resize") == 0;
    tg_const(t, 1, KILN_DTYPE_F32, 1, (int64_t[]){crop ? 8 : 0}, roi);
    tg_const(t, 2, KILN_DTYPE_F32, 1, (int64_t[]){0}, NULL);
    tg_i64s(t, 3, 4, out);
    tg_str(t, "mode", r->mode);
    tg_str(t, "coordinate_transformation_mode", r->coord);
    if (r->nearest)
        tg_str(t, "nearest_mode", r->nearest);
    tg_int(t, "exclude_outside", r->exclude_outside);
    if (crop)
        tg_attr(t, "extrapolation_value", KILN_ATTR_FLOAT)->f = 7.5f;
    enum kiln_status st = tg_feed(t, (const void *[]){x}, y);
    if (st)
        fail_msg("Resize %s/%s: %s", r->mode, r->coord, t->d.message);
    tg_free(t);
}

static void test_resize_fast_matches_general(void **state)
{
    (void)state;
    static const char *coords[] = {"half_pixel",   "pytorch_half_pixel",   "align_corners",
                                   "asymmetric",   "tf_half_pixel_for_nn", "tf_crop_and_resize"};
    static const char *nearests[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
    /* ih, iw, oh, ow: unit, up, down, mixed, primes up to 67 */
    static const int64_t hw[][4] = {{1, 1, 1, 1},   {1, 1, 5, 7},    {3, 5, 1, 1},
                                    {7, 9, 13, 67}, {67, 33, 2, 5},  {5, 67, 11, 3},
                                    {17, 19, 34, 38}, {16, 16, 8, 8}, {23, 7, 31, 3},
                                    {2, 3, 67, 61}};
    struct rsz cases[6 * 2 + 6 * 4];
    int nc = 0;
    for (int c = 0; c < 6; c++) {
        for (int ex = 0; ex < 2; ex++)
            cases[nc++] = (struct rsz){"linear", coords[c], NULL, ex};
        for (int k = 0; k < 4; k++)
            cases[nc++] = (struct rsz){"nearest", coords[c], nearests[k], 0};
    }
    for (size_t s = 0; s < sizeof hw / sizeof hw[0]; s++) {
        int64_t in[4] = {2, 3, hw[s][0], hw[s][1]}, out[4] = {2, 3, hw[s][2], hw[s][3]};
        int64_t nin = 6 * in[2] * in[3], nout = 6 * out[2] * out[3];
        float *x = malloc((size_t)nin * sizeof *x), *y = malloc((size_t)nout * sizeof *y);
        double *xd = malloc((size_t)nin * sizeof *xd), *yd = malloc((size_t)nout * sizeof *yd);
        for (int64_t i = 0; i < nin; i++)
            xd[i] = x[i] = next_unit();
        for (int c = 0; c < nc; c++) {
            run_resize(&cases[c], KILN_DTYPE_F32, in, out, x, y);
            run_resize(&cases[c], KILN_DTYPE_F64, in, out, xd, yd);
            /* nearest copies elements: exact; linear sums two products of |x| < 1 per axis
             * with float weights: a few float ulps of 1 */
            double bound = strcmp(cases[c].mode, "nearest") == 0 ? 0 : 2e-6;
            for (int64_t i = 0; i < nout; i++)
                if (!(fabs((double)y[i] - yd[i]) <= bound))
                    fail_msg("Resize %s/%s/%s ex %d, %lldx%lld -> %lldx%lld: element %lld is "
                             "%.9g, general path %.9g",
                             cases[c].mode, cases[c].coord,
                             cases[c].nearest ? cases[c].nearest : "-", cases[c].exclude_outside,
                             (long long)in[2], (long long)in[3], (long long)out[2],
                             (long long)out[3], (long long)i, y[i], yd[i]);
        }
        free(x);
        free(y);
        free(xd);
        free(yd);
    }
}

/* ---- pools ---- */

struct pcase {
    int64_t c, ih, iw;
    int64_t k[2], s[2], d[2], pads[4]; /* pads: top, left, bottom, right */
    int ceil_mode, include_pad;
};

/* The output extent of one axis (the ONNX formula, ceil_mode windows starting in the padding
 * dropped). */
static int64_t pool_extent(int64_t in, int64_t k, int64_t s, int64_t d, int64_t pb, int64_t pe,
                           int ceil_mode)
{
    int64_t span = in + pb + pe - (d * (k - 1) + 1);
    if (span < 0)
        return 0;
    int64_t o = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
    if (ceil_mode && (o - 1) * s >= in + pb)
        o--;
    return o;
}

/* max (is_max) or average of each window in double, from the ONNX definitions */
static void pool_reference(const struct pcase *p, int is_max, const float *x, int64_t oh,
                           int64_t ow, double *y)
{
    for (int64_t c = 0; c < p->c; c++)
        for (int64_t i = 0; i < oh; i++)
            for (int64_t j = 0; j < ow; j++) {
                double acc = is_max ? -INFINITY : 0;
                int64_t cnt = 0, padded = 0;
                for (int64_t a = 0; a < p->k[0]; a++)
                    for (int64_t b = 0; b < p->k[1]; b++) {
                        int64_t r = i * p->s[0] - p->pads[0] + a * p->d[0];
                        int64_t q = j * p->s[1] - p->pads[1] + b * p->d[1];
                        padded += r < p->ih + p->pads[2] && q < p->iw + p->pads[3];
                        if (r < 0 || r >= p->ih || q < 0 || q >= p->iw)
                            continue;
                        double v = x[(c * p->ih + r) * p->iw + q];
                        acc = is_max ? fmax(acc, v) : acc + v;
                        cnt++;
                    }
                if (!is_max)
                    acc = acc / (double)(p->include_pad ? padded : cnt);
                y[(c * oh + i) * ow + j] = acc;
            }
}

/* Runs op on x into y (room for oh * ow per channel: the output shape is checked first). */
static void run_pool(const struct pcase *p, const char *op, int64_t oh, int64_t ow,
                     const float *x, float *y)
{
    struct tg *t = tg_new(op, 19, 1, 1);
    tg_input(t, 0, KILN_DTYPE_F32, 4, (int64_t[]){1, p->c, p->ih, p->iw});
    tg_ints(t, "kernel_shape", 2, p->k);
    tg_ints(t, "strides", 2, p->s);
    tg_ints(t, "dilations", 2, p->d);
    tg_ints(t, "pads", 4, p->pads);
    tg_int(t, "ceil_mode", p->ceil_mode);
    if (strcmp(op, "AveragePool") == 0)
        tg_int(t, "count_include_pad", p->include_pad);
    if (tg_infer(t))
        fail_msg("%s: %s", op, t->d.message);
    assert_dims(t, 0, 4, (int64_t[]){1, p->c, oh, ow});
    if (tg_feed(t, (const void *[]){x}, y))
        fail_msg("%s: %s", op, t->d.message);
    tg_free(t);
}

static void test_window_pools_match_reference(void **state)
{
    (void)state;
    static const int64_t sizes[] = {1, 2, 3, 5, 8, 17, 33, 67};
    int ncase = 0;
    for (int si = 0; si < 8; si++)
        for (int sj = 0; sj < 8; sj++)
            for (int v = 0; v < 6; v++) {
                int64_t k = 2 + v % 2, s = 1 + (v / 2) % 2, pad = v / 4 ? k / 2 : v % 3 == 0;
                struct pcase p = {3,
                                  sizes[si],
                                  sizes[sj] + (v == 5),
                                  {k, k + (v == 3)},
                                  {s, s},
                                  {1, 1 + (v == 4 && sizes[sj] > 5)},
                                  {pad, pad, v % 2 ? 0 : pad, pad},
                                  (si + sj + v) % 2,
                                  v % 2};
                int64_t oh = pool_extent(p.ih, p.k[0], p.s[0], p.d[0], p.pads[0], p.pads[2],
                                         p.ceil_mode);
                int64_t ow = pool_extent(p.iw, p.k[1], p.s[1], p.d[1], p.pads[1], p.pads[3],
                                         p.ceil_mode);
                if (oh < 1 || ow < 1)
                    continue; /* window larger than the padded input */
                ncase++;
                int64_t nin = p.c * p.ih * p.iw, nout = p.c * oh * ow;
                float *x = malloc((size_t)nin * sizeof *x), *y = malloc((size_t)nout * sizeof *y);
                double *want = malloc((size_t)nout * sizeof *want);
                for (int64_t i = 0; i < nin; i++)
                    x[i] = next_unit();
                for (int is_max = 0; is_max < 2; is_max++) {
                    run_pool(&p, is_max ? "MaxPool" : "AveragePool", oh, ow, x, y);
                    pool_reference(&p, is_max, x, oh, ow, want);
                    double bound = is_max ? 0 : 1e-6; /* max picks an element */
                    for (int64_t i = 0; i < nout; i++)
                        if (!(fabs((double)y[i] - want[i]) <= bound))
                            fail_msg("%s %lldx%lld k %lldx%lld s %lld pads %lld,%lld,%lld,%lld "
                                     "dil %lld ceil %d incl %d: element %lld is %.9g, want %.9g",
                                     is_max ? "MaxPool" : "AveragePool", (long long)p.ih,
                                     (long long)p.iw, (long long)p.k[0], (long long)p.k[1],
                                     (long long)p.s[0], (long long)p.pads[0],
                                     (long long)p.pads[1], (long long)p.pads[2],
                                     (long long)p.pads[3], (long long)p.d[1], p.ceil_mode,
                                     p.include_pad, (long long)i, y[i], want[i]);
                }
                free(x);
                free(y);
                free(want);
            }
    assert_true(ncase > 300);
}

static void test_global_pools_match_reference(void **state)
{
    (void)state;
    static const int64_t sizes[] = {1, 2, 7, 15, 16, 17, 31, 33, 67};
    for (int si = 0; si < 9; si++)
        for (int sj = 0; sj < 9; sj++) {
            int64_t c = 5, h = sizes[si], w = sizes[sj], n = h * w;
            float *x = malloc((size_t)(c * n) * sizeof *x), y[5];
            for (int64_t i = 0; i < c * n; i++)
                x[i] = next_unit() + 0.5f;
            for (int is_max = 0; is_max < 2; is_max++) {
                struct tg *t = tg_new(is_max ? "GlobalMaxPool" : "GlobalAveragePool", 13, 1, 1);
                tg_input(t, 0, KILN_DTYPE_F32, 4, (int64_t[]){1, c, h, w});
                if (tg_feed(t, (const void *[]){x}, y))
                    fail_msg("%s", t->d.message);
                tg_free(t);
                for (int64_t ch = 0; ch < c; ch++) {
                    double acc = is_max ? -INFINITY : 0;
                    for (int64_t i = 0; i < n; i++)
                        acc = is_max ? fmax(acc, x[ch * n + i]) : acc + x[ch * n + i];
                    if (!is_max)
                        acc /= (double)n;
                    /* the mean of n values in [-0.5, 1.5): float rounding of the partial sums */
                    double bound = is_max ? 0 : 1e-6;
                    if (!(fabs((double)y[ch] - acc) <= bound))
                        fail_msg("%s %lldx%lld channel %lld: %.9g, want %.9g",
                                 is_max ? "GlobalMaxPool" : "GlobalAveragePool", (long long)h,
                                 (long long)w, (long long)ch, y[ch], acc);
                }
            }
            free(x);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resize_fast_matches_general),
        cmocka_unit_test(test_window_pools_match_reference),
        cmocka_unit_test(test_global_pools_match_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
