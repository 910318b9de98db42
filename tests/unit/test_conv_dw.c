/* test_conv_dw.c - the direct depthwise convolution (runtime/kernels/conv_dw.c) against a
 * float64 direct loop on every variant (portable, AVX2, AVX-512 through kiln_conv_dw_f32_isa;
 * ctest also runs this under each KILN_SIMD value): odd channel counts 1-67, spatial sizes
 * 1-67, kernels 1x1 to 5x5 and non-square ones, strides 1-3, dilations, asymmetric and large
 * pads, channel multipliers, 1-D and 3-D, kernels taller than one batch of kernel rows, rows
 * longer than the portable chunk, with bias, residual and every fused activation; no write past
 * the output. Also the Conv kernel's dispatch: depthwise float32 runs without scratch. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kernels/act.h"
#include "kernels/conv_dw.h"
#include "compiler.h"
#include "kernels/kernels.h"

#define TEST_RNG_SEED 0x2545f4914f6cdd1du
#include "test_rng.h"
static int64_t pick(int64_t lo, int64_t hi) /* [lo, hi] */
{
    return lo + (int64_t)(next_u32() % (uint32_t)(hi - lo + 1));
}

struct dcase {
    int nsp;
    int64_t nb, C, group, mg; /* M = group * mg; C/group input channels per group */
    int64_t in[3], k[3], s[3], d[3], pb[3], pe[3];
    int bias, res;
    struct kiln_act act;
};

/* Parameters for each activation kind, so every branch of the epilogue is taken. */
static struct kiln_act act_of(int kind)
{
    struct kiln_act a = {kind, 0, 0, 0};
    switch (kind) {
    case KILN_ACT_CLIP: a.alpha = -0.5f, a.beta = 0.7f; break;
    case KILN_ACT_LEAKY_RELU: a.alpha = 0.1f; break;
    case KILN_ACT_HARD_SIGMOID: a.alpha = 0.2f, a.beta = 0.5f; break;
    case KILN_ACT_AFFINE: a.alpha = 1.5f, a.beta = -0.25f; break;
    case KILN_ACT_THRESHOLDED_RELU: a.alpha = 0.3f; break;
    case KILN_ACT_SCALED_TANH: a.alpha = 1.2f, a.beta = 0.8f; break;
    case KILN_ACT_ELU: a.alpha = 1.0f; break;
    default: break;
    }
    return a;
}

#define SENTINEL 12345.0f

/* Output extent of one spatial dim; 0 when the window does not fit. */
static int64_t out_extent(const struct dcase *c, int i)
{
    int64_t span = c->in[i] + c->pb[i] + c->pe[i] - c->d[i] * (c->k[i] - 1) - 1;
    return span < 0 ? 0 : span / c->s[i] + 1;
}

/* Runs case c on variant isa (-1: the Conv kernel through kiln_rt_kernel, without scratch) and
 * compares with a float64 direct loop; returns the worst error over its bound (<= 1 passes). */
static double run_case(int isa, const struct dcase *c)
{
    int nsp = c->nsp;
    int64_t M = c->group * c->mg, cg = c->C / c->group;
    struct kiln_p_conv p = {.nsp = nsp, .group = (int32_t)c->group, .act = c->act};
    struct kiln_tensor xt = {.rank = nsp + 2, .dtype = KILN_DTYPE_F32};
    struct kiln_tensor wt = xt, yt = xt, bt = {.rank = 1, .dtype = KILN_DTYPE_F32};
    xt.dims[0] = c->nb, xt.dims[1] = c->C;
    wt.dims[0] = M, wt.dims[1] = cg;
    yt.dims[0] = c->nb, yt.dims[1] = M;
    bt.dims[0] = M;
    for (int i = 0; i < nsp; i++) {
        p.win.kernel[i] = c->k[i], p.win.stride[i] = c->s[i], p.win.dilation[i] = c->d[i];
        p.win.pad_begin[i] = c->pb[i], p.win.pad_end[i] = c->pe[i];
        xt.dims[2 + i] = c->in[i];
        wt.dims[2 + i] = c->k[i];
        yt.dims[2 + i] = out_extent(c, i);
    }
    struct kiln_nn_geom g;
    kiln_nn_geom(&g, nsp, &p.win, &xt, &yt);
    size_t nx = (size_t)(c->nb * c->C * g.in_size), nw = (size_t)(M * cg * g.k_size);
    size_t ny = (size_t)(c->nb * M * g.out_size);
    float *x = malloc(nx * sizeof *x), *w = malloc(nw * sizeof *w), *b = malloc((size_t)M * 4);
    float *r = malloc((ny + 1) * sizeof *r), *y = malloc((ny + 16) * sizeof *y);
    assert_true(x && w && b && r && y);
    for (size_t i = 0; i < nx; i++)
        x[i] = next_unit();
    for (size_t i = 0; i < nw; i++)
        w[i] = next_unit();
    for (int64_t i = 0; i < M; i++)
        b[i] = next_unit();
    for (size_t i = 0; i < ny; i++)
        r[i] = next_unit();
    for (size_t i = 0; i < ny + 16; i++)
        y[i] = SENTINEL;
    xt.data = x, wt.data = w, yt.data = y, bt.data = b;

    if (isa >= 0) {
        struct kiln_conv_dw dc = {&g,
                                  c->nb,
                                  c->C,
                                  M,
                                  c->group,
                                  x,
                                  w,
                                  c->bias ? b : NULL,
                                  c->res ? r : NULL,
                                  y,
                                  &p.act};
        kiln_conv_dw_f32_isa((enum kiln_gemm_isa)isa, &dc);
    } else {
        struct kiln_tensor rt = yt;
        rt.data = r;
        struct kiln_tensor in[4] = {xt, wt, bt, rt};
        if (!c->bias)
            in[2].data = NULL;
        struct kiln_kernel_args a = {&p, in, &yt, c->res ? 4 : 3, 1, NULL, 0, NULL};
        const struct kiln_kernel *k = kiln_rt_kernel(KILN_OP_CONV, 0);
        assert_int_equal(k->dtype, KILN_DTYPE_F32);
        k->fn(&a);
    }

    double worst = 0;
    int64_t o[3] = {g.out[0], g.out[1], g.out[2]};
    for (int64_t n = 0; n < c->nb; n++)
        for (int64_t m = 0; m < M; m++)
            for (int64_t o0 = 0; o0 < o[0]; o0++)
                for (int64_t o1 = 0; o1 < o[1]; o1++)
                    for (int64_t o2 = 0; o2 < o[2]; o2++) {
                        double s = 0, mag = 0;
                        int64_t taps = 0;
                        for (int64_t ci = 0; ci < cg; ci++)
                            for (int64_t k0 = 0; k0 < g.k[0]; k0++)
                                for (int64_t k1 = 0; k1 < g.k[1]; k1++)
                                    for (int64_t k2 = 0; k2 < g.k[2]; k2++) {
                                        int64_t i0 = o0 * g.s[0] - g.pb[0] + k0 * g.d[0];
                                        int64_t i1 = o1 * g.s[1] - g.pb[1] + k1 * g.d[1];
                                        int64_t i2 = o2 * g.s[2] - g.pb[2] + k2 * g.d[2];
                                        if (i0 < 0 || i0 >= g.in[0] || i1 < 0 ||
                                            i1 >= g.in[1] || i2 < 0 || i2 >= g.in[2])
                                            continue;
                                        int64_t xc = n * c->C + m / c->mg * cg + ci;
                                        double pr =
                                            (double)x[((xc * g.in[0] + i0) * g.in[1] + i1) *
                                                          g.in[2] + i2] *
                                            w[(((m * cg + ci) * g.k[0] + k0) * g.k[1] + k1) *
                                                  g.k[2] + k2];
                                        s += pr;
                                        mag += fabs(pr);
                                        taps++;
                                    }
                        int64_t yi = (((n * M + m) * o[0] + o0) * o[1] + o1) * o[2] + o2;
                        double extra = 0;
                        if (c->bias)
                            s += b[m], extra += fabs(b[m]);
                        if (c->res)
                            s += r[yi], extra += fabs(r[yi]);
                        /* float rounding of the sum, then the activation's own (float) error */
                        double bound = 2.4e-7 * ((double)(taps + 2) * mag + 2 * extra) + 1e-30;
                        double got = y[yi], best = INFINITY;
                        for (int t = -1; t <= 1; t++) { /* around a jump of the activation */
                            double want = kiln_act_apply(&p.act, (float)(s + t * bound));
                            double e = fabs(got - want) / (4 * bound + 4e-6 * (1 + fabs(want)));
                            best = e < best ? e : best;
                        }
                        if (isnan(got) && !isnan(s))
                            best = INFINITY;
                        worst = best > worst ? best : worst;
                    }
    for (size_t i = ny; i < ny + 16; i++)
        if (y[i] != SENTINEL)
            worst = INFINITY; /* wrote past the output */
    free(x), free(w), free(b), free(r), free(y);
    return worst;
}

static void print_dims(const char *name, const int64_t *v, int n)
{
    fprintf(stderr, " %s", name);
    for (int i = 0; i < n; i++)
        fprintf(stderr, " %lld", (long long)v[i]);
}

static void describe(const struct dcase *c, int isa, double e)
{
    fprintf(stderr, "FAIL isa %d: nsp %d nb %lld C %lld group %lld mg %lld", isa, c->nsp,
            (long long)c->nb, (long long)c->C, (long long)c->group, (long long)c->mg);
    print_dims("in", c->in, c->nsp);
    print_dims("k", c->k, c->nsp);
    print_dims("s", c->s, c->nsp);
    print_dims("d", c->d, c->nsp);
    print_dims("pads begin", c->pb, c->nsp);
    print_dims("end", c->pe, c->nsp);
    fprintf(stderr, " bias %d res %d act %d: error %g of the bound\n", c->bias, c->res,
            c->act.kind, e);
}

/* Every variant the CPU runs (one it lacks would repeat a lower one). */
static void check_all(const struct dcase *c)
{
    for (int isa = 0; isa < KILN_GEMM_ISA_COUNT; isa++) {
        if (!kiln_gemm_isa_supported((enum kiln_gemm_isa)isa))
            continue;
        double e = run_case(isa, c);
        if (!(e <= 1.0)) {
            describe(c, isa, e);
            fail();
        }
    }
}

static struct dcase dw2(int64_t C, int64_t mg, int64_t h, int64_t w, int64_t kh, int64_t kw,
                        int64_t s, int64_t pad)
{
    struct dcase c = {2, 1, C, C, mg, {h, w, 0}, {kh, kw, 0}, {s, s, 0}, {1, 1, 0},
                      {pad, pad, 0}, {pad, pad, 0}, 1, 0, {KILN_ACT_NONE, 0, 0, 0}};
    return c;
}

static void test_fixed(void **state)
{
    (void)state;
    /* the shapes of real networks: 3x3 and 5x5, strides 1 and 2, with each activation */
    int64_t shapes[][8] = {
        {8, 1, 56, 56, 3, 3, 1, 1},  {7, 1, 57, 55, 3, 3, 2, 1}, {5, 1, 14, 14, 5, 5, 1, 2},
        {9, 1, 15, 29, 5, 5, 2, 2},  {3, 1, 7, 7, 3, 3, 1, 1},   {2, 1, 1, 1, 3, 3, 1, 1},
        {4, 2, 33, 40, 3, 3, 1, 1},  {3, 3, 20, 37, 3, 3, 2, 0}, {1, 1, 67, 67, 1, 1, 1, 0},
        {2, 1, 9, 70, 3, 7, 3, 3},   {1, 1, 3, 50, 1, 11, 2, 6}, {2, 1, 40, 5, 35, 2, 1, 0},
        {1, 4, 6, 16, 3, 3, 1, 5},   {3, 1, 12, 17, 4, 2, 2, 1}, {67, 1, 5, 5, 3, 3, 1, 1},
        /* narrow planes (the padded-buffer path): a keyword spotter's 25x5, tall ones that take
         * several bands, 7x7 kernels, a pad wider than the row */
        {64, 1, 25, 5, 3, 3, 1, 1},  {3, 2, 400, 7, 3, 3, 1, 1}, {2, 1, 300, 31, 7, 7, 1, 3},
        {5, 1, 9, 2, 3, 3, 1, 4},    {4, 1, 31, 30, 5, 5, 1, 0},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        for (int kind = KILN_ACT_NONE; kind <= KILN_ACT_FAST_GELU; kind += 3) {
            int64_t *v = shapes[i];
            struct dcase c = dw2(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]);
            c.act = act_of(kind + (int)(i % 3));
            c.res = (int)(i & 1);
            c.bias = kind % 2 == 0;
            check_all(&c);
        }
    /* dilations, asymmetric pads, a pad larger than the kernel */
    struct dcase c = dw2(5, 1, 23, 31, 3, 3, 1, 0);
    c.d[0] = 2, c.d[1] = 3, c.pb[0] = 2, c.pe[0] = 0, c.pb[1] = 0, c.pe[1] = 4;
    check_all(&c);
    c = dw2(3, 2, 10, 19, 2, 3, 2, 0);
    c.pb[1] = 7, c.pe[1] = 1, c.pb[0] = 3, c.pe[0] = 5, c.act = act_of(KILN_ACT_HARD_SWISH);
    check_all(&c);
    /* 1-D over a row longer than the portable chunk, and 3-D */
    c = (struct dcase){1, 2, 3, 3, 1, {600}, {7}, {1}, {2}, {4}, {5}, 1, 1,
                       act_of(KILN_ACT_CLIP)};
    check_all(&c);
    c = (struct dcase){3, 1, 4, 4, 2, {5, 6, 7}, {2, 3, 3}, {1, 2, 1}, {2, 1, 1}, {1, 0, 1},
                       {0, 1, 1}, 1, 1, act_of(KILN_ACT_RELU)};
    check_all(&c);
    /* more than one input channel per group (the kernel allows it; the dispatch keeps such
     * convs on the GEMM) */
    c = dw2(6, 2, 11, 13, 3, 3, 1, 1);
    c.group = 3;
    check_all(&c);
}

/* Seeded random shapes. */
static void test_random(void **state)
{
    (void)state;
    int done = 0;
    while (done < 160) {
        struct dcase c = {0};
        c.nsp = (next_u32() % 8) == 0 ? 1 : 2;
        c.nb = 1 + (next_u32() % 5 == 0);
        c.C = pick(1, 67);
        c.group = c.C;
        c.mg = next_u32() % 4 == 0 ? pick(2, 3) : 1;
        for (int i = 0; i < c.nsp; i++) {
            c.in[i] = next_u32() % 3 == 0 ? pick(1, 9) : pick(1, 67);
            c.k[i] = pick(1, 5);
            c.s[i] = pick(1, 3);
            c.d[i] = next_u32() % 4 == 0 ? 2 : 1;
            c.pb[i] = pick(0, 3);
            c.pe[i] = pick(0, 3);
        }
        int64_t work = c.nb * c.C * c.mg;
        for (int i = 0; i < c.nsp; i++) {
            int64_t o = out_extent(&c, i);
            work *= o * c.k[i];
            if (o < 1)
                work = 0;
        }
        if (work == 0 || work > 1500000)
            continue;
        c.bias = next_u32() & 1;
        c.res = next_u32() & 1;
        c.act = act_of((int)(next_u32() % (KILN_ACT_FAST_GELU + 1)));
        check_all(&c);
        done++;
    }
}

/* The Conv kernel sends depthwise float32 to the direct kernel and needs no scratch for it;
 * float64 and many outputs per input channel keep the im2col + GEMM scratch. */
static void test_dispatch(void **state)
{
    (void)state;
    struct kiln_p_conv p = {.nsp = 2, .group = 8};
    for (int i = 0; i < 2; i++)
        p.win.kernel[i] = 3, p.win.stride[i] = p.win.dilation[i] = 1;
    assert_true(kiln_conv_direct(&p, 1, 1, 4));
    assert_int_equal(kiln_conv_scratch_bytes(&p, 1, 1, 9, 100, 4), 0);
    assert_true(kiln_conv_scratch_bytes(&p, 1, 1, 9, 100, 8) > 0);
    assert_true(kiln_conv_scratch_bytes(&p, 2, 1, 18, 100, 4) > 0);
    assert_true(kiln_conv_scratch_bytes(&p, 1, KILN_CONV_DIRECT_MAX_MG + 1, 9, 100, 4) > 0);
    struct dcase c = dw2(6, 2, 13, 9, 3, 3, 2, 1);
    c.res = 1, c.act = act_of(KILN_ACT_LEAKY_RELU);
    double e = run_case(-1, &c);
    if (!(e <= 1.0)) {
        describe(&c, -1, e);
        fail();
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixed),
        cmocka_unit_test(test_random),
        cmocka_unit_test(test_dispatch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
