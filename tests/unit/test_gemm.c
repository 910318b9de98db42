/* test_gemm.c - the shared blocked GEMM (runtime/kernels/gemm_core.c) against a naive float64
 * reference: every float32 micro-kernel variant the CPU supports (portable, AVX2, AVX-512, each
 * called explicitly through kiln_gemm_f32_isa), float64, on odd shapes around the register tiles
 * and cache blocks, transposed and padded operands, alpha, accumulate, a strided C whose padding
 * must stay untouched and scratch of exactly kiln_gemm_scratch_bytes() with a canary after it;
 * the fused epilogue (bias, residual, activation) and operands pre-packed by kiln_gemm_pack_a/b,
 * both bit-identical to the plain product followed by kiln_epilogue_strided_<dtype>().
 * Also the run-time choice: KILN_SIMD (ctest runs this under each value), fallback, select; and
 * the sparse Gemm (kiln_spgemm_f32) on every variant, and its weights' well-formedness check. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kernels/epilogue.h"
#include "kernels/gemm_core.h"

/* ---- shapes ---- */

struct gcase {
    int64_t M, N, K;
    int ta, tb;          /* operand stored transposed */
    int64_t pa, pb, pc;  /* extra leading-dimension padding of A, B, C */
    float alpha;
    int accumulate;
    int epi;  /* EPI_BIAS | EPI_RES, and an activation: acts[epi >> 2] */
    int pack; /* KILN_GEMM_A_PACKED | KILN_GEMM_B_PACKED */
};
#define EPI_BIAS 1
#define EPI_RES 2
/* Relu and Clip: computed in registers by the SIMD write-back; the others in memory */
static const struct kiln_act acts[] = {
    {KILN_ACT_NONE, 0, 0, 0},         {KILN_ACT_RELU, 0, 0, 0},
    {KILN_ACT_CLIP, -0.3f, 0.4f, 0},  {KILN_ACT_LEAKY_RELU, 0.1f, 0, 0},
    {KILN_ACT_SIGMOID, 0, 0, 0},      {KILN_ACT_TANH, 0, 0, 0},
    {KILN_ACT_CLIP, 0.5f, -0.5f, 0},
};
KILN_EPILOGUE_DEFINE(f32, float)
KILN_EPILOGUE_DEFINE(f64, double)

static double act_ref(const struct kiln_act *a, double x)
{
    switch (a->kind) {
    case KILN_ACT_RELU: return x < 0 ? 0 : x;
    case KILN_ACT_CLIP: x = x < a->alpha ? a->alpha : x; return x > a->beta ? a->beta : x;
    case KILN_ACT_LEAKY_RELU: return x < 0 ? a->alpha * x : x;
    case KILN_ACT_SIGMOID: return 1 / (1 + exp(-x));
    case KILN_ACT_TANH: return tanh(x);
    default: return x;
    }
}

#define TEST_RNG_SEED 0x9e3779b97f4a7c15u
#include "test_rng.h"

/* Extents around the tiles (4x8, 6x16, 8x32) and the blocks (MC 64, KC 256, NC 1024). */
static const int64_t Ms[] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  11, 12,
                             13, 16, 17, 23, 25, 33, 63, 64, 65, 70, 129};
static const int64_t Ns[] = {1,  2,  5,  8,  9,  15, 16,   17,   31,  32,
                             33, 47, 48, 64, 65, 100, 1023, 1025, 1090};
static const int64_t Ks[] = {0, 1, 2, 3, 7, 16, 31, 100, 255, 256, 257, 300, 513};
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define N_RANDOM_CASES 220
#define MAX_CASES (N_RANDOM_CASES + 24)

/* Fixed cases (each block boundary crossed on its own), then seeded random combinations with
 * M*N*K kept small enough for the naive reference under the sanitizers. */
static size_t make_cases(struct gcase *c, size_t cap)
{
    static const struct gcase fixed[] = {
        {1, 1, 1, 0, 0, 0, 0, 0, 1.0f, 0, 0, 0},      {4, 8, 5, 0, 0, 0, 0, 0, 1.0f, 0, 0, 0},
        {6, 16, 9, 0, 0, 0, 0, 0, 1.0f, 0, 0, 0},     {8, 32, 9, 0, 0, 0, 0, 0, 1.0f, 0, 0, 0},
        {24, 96, 40, 0, 0, 0, 0, 0, 1.0f, 1, 0, 0},   {7, 33, 3, 1, 1, 2, 3, 5, -0.5f, 1, 0, 0},
        {65, 40, 20, 0, 1, 0, 0, 0, 2.0f, 0, 0, 0},   {9, 1030, 11, 1, 0, 0, 0, 1, 1.0f, 0, 0, 0},
        {10, 20, 600, 0, 0, 1, 0, 0, 1.0f, 1, 0, 0},  {130, 70, 260, 1, 1, 0, 1, 2, 0.25f, 0, 0, 0},
        {3, 5, 0, 0, 0, 0, 0, 1, 1.0f, 0, 0, 0},      {3, 5, 0, 0, 0, 0, 0, 1, 1.0f, 1, 0, 0},
        /* epilogue and packing across the panel edges (24 rows of A, 32 columns of B) */
        {8, 32, 9, 0, 0, 0, 0, 0, 1.0f, 0, 3 | 1 << 2, 6},
        {25, 33, 17, 1, 1, 1, 2, 3, 1.0f, 1, 3 | 2 << 2, 6},
        {73, 67, 300, 0, 1, 0, 0, 1, 0.5f, 0, 1 | 4 << 2, 2},
        {67, 1, 67, 1, 0, 0, 0, 0, 1.0f, 0, 2 | 3 << 2, 4},
        {1, 128, 513, 0, 1, 0, 0, 0, 1.0f, 1, 1 | 1 << 2, 4},
        {3, 5, 0, 0, 0, 0, 0, 1, 1.0f, 1, 3 | 5 << 2, 6},
        {13, 40, 31, 0, 0, 0, 0, 0, 1.0f, 0, 1 | 6 << 2, 0},
    };
    size_t n = 0;
    for (size_t i = 0; i < NELEM(fixed) && n < cap; i++)
        c[n++] = fixed[i];
    while (n < cap && n < NELEM(fixed) + N_RANDOM_CASES) {
        struct gcase g = {Ms[next_u32() % NELEM(Ms)], Ns[next_u32() % NELEM(Ns)],
                          Ks[next_u32() % NELEM(Ks)], 0, 0, 0, 0, 0, 1.0f, 0, 0, 0};
        if (g.M * g.N * g.K > 3000000)
            continue;
        g.ta = next_u32() & 1, g.tb = next_u32() & 1;
        g.pa = next_u32() % 3, g.pb = next_u32() % 3, g.pc = next_u32() % 4;
        static const float alphas[] = {1.0f, 1.0f, -1.0f, 0.5f, 3.0f};
        g.alpha = alphas[next_u32() % NELEM(alphas)];
        g.accumulate = (next_u32() % 3) == 0;
        if (next_u32() % 2)
            g.epi = (int)(next_u32() % 4) | (int)(next_u32() % NELEM(acts)) << 2;
        g.pack = (int)(next_u32() % 3) * 2; /* none, A or B packed */
        if (next_u32() % 4 == 0)
            g.pack = KILN_GEMM_A_PACKED | KILN_GEMM_B_PACKED;
        c[n++] = g;
    }
    return n;
}

/* ---- one case on one GEMM ---- */

static void run_f32(int isa, const struct gcase *g, const float *A, int64_t a_rs, int64_t a_cs,
                    const float *B, int64_t b_rs, int64_t b_cs, float *C, int64_t ldc,
                    int flags, const struct kiln_gemm_epi *epi, void *scratch)
{
    if (isa < 0 && !flags && !epi)
        kiln_gemm_f32(g->M, g->N, g->K, g->alpha, A, a_rs, a_cs, B, b_rs, b_cs, C, ldc,
                      g->accumulate, scratch);
    else if (isa < 0)
        kiln_gemm_ex_f32(g->M, g->N, g->K, g->alpha, A, a_rs, a_cs, B, b_rs, b_cs, C, ldc,
                         flags | g->accumulate, epi, scratch);
    else
        kiln_gemm_f32_isa((enum kiln_gemm_isa)isa, g->M, g->N, g->K, g->alpha, A, a_rs, a_cs,
                          B, b_rs, b_cs, C, ldc, flags | g->accumulate, epi, scratch);
}

#define SENTINEL 12345.0f
#define CANARY 0xa5

/* Runs case g on variant isa (-1: through kiln_gemm_f32's own choice; -2: the float64 GEMM on
 * the same values) and checks every element against the float64 reference within a bound on
 * float rounding (4 u per term of the sum of magnitudes), the padding of C untouched and the
 * scratch canary intact. Returns the largest error over the bound (<= 1 passes) and writes
 * the result into out (M x N) when out is not NULL. */
static double check_case(int isa, const struct gcase *g, float *out)
{
    int64_t M = g->M, N = g->N, K = g->K;
    int64_t lda = (g->ta ? M : K) + g->pa, ldb = (g->tb ? K : N) + g->pb, ldc = N + g->pc;
    int64_t arows = g->ta ? K : M, brows = g->tb ? N : K;
    float *A = malloc(sizeof(float) * (size_t)(arows * lda + 1));
    float *B = malloc(sizeof(float) * (size_t)(brows * ldb + 1));
    float *C = malloc(sizeof(float) * (size_t)(M * ldc + 8));
    double *A64 = malloc(sizeof(double) * (size_t)(arows * lda + 1));
    double *B64 = malloc(sizeof(double) * (size_t)(brows * ldb + 1));
    double *C64 = malloc(sizeof(double) * (size_t)(M * ldc + 8));
    uint64_t sbytes = kiln_gemm_scratch_bytes((uint64_t)M, (uint64_t)N, (uint64_t)K,
                                              isa == -2 ? sizeof(double) : sizeof(float));
    void *scratch = NULL;
    assert_int_equal(posix_memalign(&scratch, 64, (size_t)sbytes + 64), 0);
    assert_non_null(A);
    assert_non_null(B);
    assert_non_null(C);
    assert_non_null(A64);
    assert_non_null(B64);
    assert_non_null(C64);
    memset((char *)scratch + sbytes, CANARY, 64);
    for (int64_t i = 0; i < arows * lda + 1; i++)
        A[i] = next_unit();
    for (int64_t i = 0; i < brows * ldb + 1; i++)
        B[i] = next_unit();
    for (int64_t i = 0; i < M * ldc + 8; i++)
        C[i] = SENTINEL;
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++)
            C[i * ldc + j] = g->accumulate ? next_unit() : SENTINEL;
    for (int64_t i = 0; i < arows * lda + 1; i++)
        A64[i] = A[i];
    for (int64_t i = 0; i < brows * ldb + 1; i++)
        B64[i] = B[i];
    for (int64_t i = 0; i < M * ldc + 8; i++)
        C64[i] = C[i];
    int64_t a_rs = g->ta ? 1 : lda, a_cs = g->ta ? lda : 1;
    int64_t b_rs = g->tb ? 1 : ldb, b_cs = g->tb ? ldb : 1;

    /* reference first: C keeps the inputs for it */
    double *ref = malloc(sizeof(double) * (size_t)(M * N + 1)), worst = 0;
    double *bound = malloc(sizeof(double) * (size_t)(M * N + 1));
    assert_non_null(ref);
    assert_non_null(bound);
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double s = 0, mag = 0;
            for (int64_t k = 0; k < K; k++) {
                double p = (double)A[i * a_rs + k * a_cs] * B[k * b_rs + j * b_cs];
                s += p;
                mag += fabs(p);
            }
            double c0 = g->accumulate ? C[i * ldc + j] : 0;
            ref[i * N + j] = c0 + (double)g->alpha * s;
            bound[i * N + j] = 1e-30 + 2.4e-7 * ((double)(K + 2) * fabs(g->alpha) * mag +
                                                  2 * fabs(c0));
        }

    /* the epilogue: into the reference, with the rounding of its two sums and of a float
     * activation in the bound (the activations here are 1-Lipschitz) */
    const struct kiln_act *act = &acts[g->epi >> 2];
    int64_t ldr = N + g->pc;
    float *bias = malloc(sizeof(float) * (size_t)(M + 1));
    float *res = malloc(sizeof(float) * (size_t)(M * ldr + 1));
    double *bias64 = malloc(sizeof(double) * (size_t)(M + 1));
    double *res64 = malloc(sizeof(double) * (size_t)(M * ldr + 1));
    assert_true(bias && res && bias64 && res64);
    for (int64_t i = 0; i < M + 1; i++)
        bias64[i] = bias[i] = next_unit();
    for (int64_t i = 0; i < M * ldr + 1; i++)
        res64[i] = res[i] = next_unit();
    int use_bias = g->epi & EPI_BIAS, use_res = g->epi & EPI_RES;
    struct kiln_gemm_epi epi = {act, use_bias ? bias : NULL, use_res ? res : NULL, ldr};
    struct kiln_gemm_epi epi64 = {act, use_bias ? bias64 : NULL, use_res ? res64 : NULL, ldr};
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double *r = &ref[i * N + j], mag = fabs(*r);
            if (use_bias)
                *r += bias[i], mag += fabs(bias[i]);
            if (use_res)
                *r += res[i * ldr + j], mag += fabs(res[i * ldr + j]);
            *r = act_ref(act, *r);
            bound[i * N + j] += 4.8e-7 * mag + (act->kind ? 2.4e-7 * (1 + fabs(*r)) : 0);
        }

    /* pre-packed operands */
    int flags = g->pack;
    size_t es = isa == -2 ? sizeof(double) : sizeof(float);
    void *Ap = malloc(es * (size_t)(kiln_gemm_packed_a_elems((uint64_t)M, (uint64_t)K) + 1));
    void *Bp = malloc(es * (size_t)(kiln_gemm_packed_b_elems((uint64_t)K, (uint64_t)N) + 1));
    assert_true(Ap && Bp);
    if (isa == -2) {
        kiln_gemm_pack_a_f64(M, K, A64, a_rs, a_cs, Ap);
        kiln_gemm_pack_b_f64(K, N, B64, b_rs, b_cs, Bp);
    } else {
        kiln_gemm_pack_a_f32(M, K, A, a_rs, a_cs, Ap);
        kiln_gemm_pack_b_f32(K, N, B, b_rs, b_cs, Bp);
    }
    int a_packed = flags & KILN_GEMM_A_PACKED, b_packed = flags & KILN_GEMM_B_PACKED;

    if (isa == -2) {
        double *C2 = malloc(sizeof(double) * (size_t)(M * ldc + 8));
        assert_non_null(C2);
        memcpy(C2, C64, sizeof(double) * (size_t)(M * ldc + 8));
        kiln_gemm_ex_f64(M, N, K, g->alpha, a_packed ? Ap : A64, a_rs, a_cs,
                         b_packed ? Bp : B64, b_rs, b_cs, C64, ldc, flags | g->accumulate,
                         g->epi ? &epi64 : NULL, scratch);
        kiln_gemm_f64(M, N, K, g->alpha, A64, a_rs, a_cs, B64, b_rs, b_cs, C2, ldc,
                      g->accumulate, scratch);
        kiln_epilogue_strided_f64(act, epi64.bias, epi64.res, ldr, M, N, C2, ldc);
        for (int64_t i = 0; i < M; i++)
            if (N && memcmp(C64 + i * ldc, C2 + i * ldc, sizeof(double) * (size_t)N) != 0)
                worst = INFINITY; /* fused or packed differs from plain + epilogue */
        free(C2);
        for (int64_t i = 0; i < M * ldc + 8; i++)
            C[i] = (float)C64[i]; /* the padding check below then covers float64 too */
        if (!act->kind) /* activations run in float for every dtype */
            for (int64_t i = 0; i < M * N; i++)
                bound[i] = 1e-30 + 1e-12 * (bound[i] / 2.4e-7);
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                double e = fabs(C64[i * ldc + j] - ref[i * N + j]) / bound[i * N + j];
                worst = e > worst ? e : worst;
            }
    } else {
        float *C2 = malloc(sizeof(float) * (size_t)(M * ldc + 8));
        assert_non_null(C2);
        memcpy(C2, C, sizeof(float) * (size_t)(M * ldc + 8));
        run_f32(isa, g, a_packed ? Ap : A, a_rs, a_cs, b_packed ? Bp : B, b_rs, b_cs, C, ldc,
                flags, g->epi ? &epi : NULL, scratch);
        if (flags || g->epi) {
            run_f32(isa, g, A, a_rs, a_cs, B, b_rs, b_cs, C2, ldc, 0, NULL, scratch);
            kiln_epilogue_strided_f32(act, epi.bias, epi.res, ldr, M, N, C2, ldc);
            for (int64_t i = 0; i < M; i++)
                if (N && memcmp(C + i * ldc, C2 + i * ldc, sizeof(float) * (size_t)N) != 0)
                    worst = INFINITY; /* fused or packed differs from plain + epilogue */
        }
        free(C2);
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                double e = fabs((double)C[i * ldc + j] - ref[i * N + j]) / bound[i * N + j];
                worst = e > worst || isnan(e) ? (isnan(e) ? INFINITY : e) : worst;
                if (out)
                    out[i * N + j] = C[i * ldc + j];
            }
    }
    free(bias);
    free(res);
    free(bias64);
    free(res64);
    free(Ap);
    free(Bp);
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = N; j < ldc; j++)
            if (C[i * ldc + j] != SENTINEL)
                worst = INFINITY; /* wrote into the padding of C */
    for (int64_t i = M * ldc; i < M * ldc + 8; i++)
        if (C[i] != SENTINEL)
            worst = INFINITY; /* wrote past C */
    for (int i = 0; i < 64; i++)
        if (((unsigned char *)scratch)[sbytes + i] != CANARY)
            worst = INFINITY; /* wrote past the scratch the compiler reserves */
    free(A);
    free(B);
    free(C);
    free(A64);
    free(B64);
    free(C64);
    free(ref);
    free(bound);
    free(scratch);
    return worst;
}

static void check_all(int isa, const char *what)
{
    static struct gcase cases[MAX_CASES];
    size_t n = make_cases(cases, NELEM(cases));
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        double w = check_case(isa, &cases[i], NULL);
        if (!(w <= 1.0)) {
            const struct gcase *g = &cases[i];
            print_error("%s: M=%lld N=%lld K=%lld ta=%d tb=%d pads=%lld,%lld,%lld alpha=%g "
                        "acc=%d epi=%d pack=%d: error %.3g x the bound\n", what,
                        (long long)g->M, (long long)g->N, (long long)g->K, g->ta, g->tb,
                        (long long)g->pa, (long long)g->pb, (long long)g->pc, g->alpha,
                        g->accumulate, g->epi, g->pack, w);
            bad++;
        }
    }
    print_message("%s: %zu shapes, %d failed\n", what, n, bad);
    assert_int_equal(bad, 0);
}

static void check_isa(enum kiln_gemm_isa isa)
{
    if (!kiln_gemm_isa_supported(isa)) {
        print_message("%s: not supported on this CPU (or build), skipped\n",
                      kiln_gemm_isa_name(isa));
        skip();
    }
    check_all((int)isa, kiln_gemm_isa_name(isa));
}

static void test_portable(void **state)
{
    (void)state;
    check_isa(KILN_GEMM_ISA_PORTABLE);
}

static void test_avx2(void **state)
{
    (void)state;
    check_isa(KILN_GEMM_ISA_AVX2);
}

static void test_avx512(void **state)
{
    (void)state;
    check_isa(KILN_GEMM_ISA_AVX512);
}

static void test_f64(void **state)
{
    (void)state;
    check_all(-2, "f64");
}

/* A row's result does not depend on the other rows of A: the SIMD variants compute the last
 * rows of a block in shorter tiles (1, 2, 4 rows) with the same arithmetic per element. */
static void test_rows_independent(void **state)
{
    (void)state;
    enum { N = 45, K = 37, MAXM = 11 };
    float A[MAXM * K], B[K * N], C[MAXM * N], row[N];
    void *scratch = NULL;
    assert_int_equal(posix_memalign(&scratch, 64, (size_t)kiln_gemm_scratch_bytes(
                                                      MAXM, N, K, sizeof(float))),
                     0);
    for (int i = 0; i < MAXM * K; i++)
        A[i] = next_unit();
    for (int i = 0; i < K * N; i++)
        B[i] = next_unit();
    for (int isa = 0; isa < KILN_GEMM_ISA_COUNT; isa++)
        for (int64_t M = 1; M <= MAXM; M++) {
            kiln_gemm_f32_isa((enum kiln_gemm_isa)isa, M, N, K, 1.0f, A, K, 1, B, N, 1, C, N, 0,
                              NULL, scratch);
            for (int64_t i = 0; i < M; i++) {
                kiln_gemm_f32_isa((enum kiln_gemm_isa)isa, 1, N, K, 1.0f, A + i * K, K, 1, B, N,
                                  1, row, N, 0, NULL, scratch);
                assert_memory_equal(row, C + i * N, sizeof row);
            }
        }
    free(scratch);
}

/* ---- the run-time choice ---- */

/* ---- the sparse Gemm (kiln_spgemm_f32) ---- */

/* B [K, N] with about `density` of its entries non-zero, compressed as S = B^T by rows. */
static uint32_t *sparse_b(int64_t K, int64_t N, double density, float *B)
{
    uint64_t nnz = 0;
    for (int64_t i = 0; i < K * N; i++) {
        B[i] = (next_u32() % 1000) < density * 1000 ? next_unit() : 0.0f;
        nnz += B[i] != 0.0f;
    }
    uint32_t *S = malloc(kiln_spgemm_words((uint64_t)N, nnz) * 4);
    assert_non_null(S);
    kiln_spgemm_encode(B, K, N, 0, nnz, S);
    assert_int_equal(kiln_spgemm_check(S, kiln_spgemm_words((uint64_t)N, nnz), (uint64_t)N,
                                       (uint64_t)K),
                     0);
    return S;
}

/* Every variant against the float64 reference: rows below, at and past the 16 lanes (and the
 * scalar path under 4 rows), A transposed, alpha, accumulate, empty rows of S. */
static void test_sparse(void **state)
{
    (void)state;
    static const int64_t Ms[] = {1, 2, 3, 4, 5, 15, 16, 17, 19, 35, 64};
    static const int64_t NKs[][2] = {{1, 1}, {7, 13}, {33, 100}, {64, 257}, {130, 31}};
    static const double dens[] = {0.0, 0.1, 0.3, 1.0};
    for (int isa = 0; isa < KILN_GEMM_ISA_COUNT; isa++) {
        if (!kiln_gemm_isa_supported((enum kiln_gemm_isa)isa))
            continue;
        for (size_t mi = 0; mi < NELEM(Ms); mi++)
            for (size_t s = 0; s < NELEM(NKs); s++)
                for (size_t di = 0; di < NELEM(dens); di++) {
                    int64_t M = Ms[mi], N = NKs[s][0], K = NKs[s][1];
                    int ta = (int)((mi + s + di) % 2), acc = (int)((mi + di) % 2);
                    float alpha = acc ? 0.75f : 1.0f;
                    float *A = malloc((size_t)(M * K) * 4), *B = malloc((size_t)(K * N) * 4);
                    float *C = malloc((size_t)(M * N) * 4), *C0 = malloc((size_t)(M * N) * 4);
                    void *scratch = malloc(kiln_spgemm_scratch_bytes((uint64_t)K));
                    assert_true(A && B && C && C0 && scratch);
                    for (int64_t i = 0; i < M * K; i++)
                        A[i] = next_unit();
                    for (int64_t i = 0; i < M * N; i++)
                        C[i] = C0[i] = next_unit();
                    uint32_t *S = sparse_b(K, N, dens[di], B);
                    int64_t a_rs = ta ? 1 : K, a_cs = ta ? M : 1;
                    kiln_spgemm_f32_isa((enum kiln_gemm_isa)isa, M, N, K, alpha, A, a_rs, a_cs, S,
                                        C, N, acc, scratch);
                    for (int64_t i = 0; i < M; i++)
                        for (int64_t j = 0; j < N; j++) {
                            double r = 0;
                            for (int64_t k = 0; k < K; k++)
                                r += (double)A[i * a_rs + k * a_cs] * B[k * N + j];
                            r = alpha * r + (acc ? C0[i * N + j] : 0);
                            if (fabs(C[i * N + j] - r) > 1e-4 * (1 + fabs(r)))
                                fail_msg("%s sparse M=%lld N=%lld K=%lld density %.1f: C[%lld,%lld]"
                                         " = %g, want %g",
                                         kiln_gemm_isa_name((enum kiln_gemm_isa)isa), (long long)M,
                                         (long long)N, (long long)K, dens[di], (long long)i,
                                         (long long)j, C[i * N + j], r);
                        }
                    free(A), free(B), free(C), free(C0), free(scratch), free(S);
                }
    }
}

/* Malformed compressed weights are refused (the load check's test). */
static void test_sparse_check(void **state)
{
    (void)state;
    /* N 2, K 3, nnz 2: rows {col 0}, {col 2} */
    uint32_t w[] = {2, 3, 2, 0, 1, 2, 0, 2, 0x3f800000u, 0x40000000u};
    uint64_t n = NELEM(w);
    assert_int_equal(kiln_spgemm_check(w, n, 2, 3), 0);
    assert_int_not_equal(kiln_spgemm_check(w, n, 3, 3), 0); /* wrong N */
    assert_int_not_equal(kiln_spgemm_check(w, n - 1, 2, 3), 0); /* truncated */
    w[7] = 3; /* column out of range */
    assert_int_not_equal(kiln_spgemm_check(w, n, 2, 3), 0);
    w[7] = 2, w[4] = 3; /* rows not non-decreasing */
    assert_int_not_equal(kiln_spgemm_check(w, n, 2, 3), 0);
    w[4] = 1, w[5] = 1; /* rowptr[N] != nnz */
    assert_int_not_equal(kiln_spgemm_check(w, n, 2, 3), 0);
}

/* Runs first (before any GEMM of this process): the variant in use is KILN_SIMD's (ctest runs
 * this file under every value) or, unset or unknown, the best supported one. */
static void test_env_choice(void **state)
{
    (void)state;
    const char *env = getenv("KILN_SIMD");
    int want = kiln_gemm_isa_parse(env);
    enum kiln_gemm_isa expect =
        kiln_gemm_isa_fallback(want < 0 ? KILN_GEMM_ISA_COUNT - 1 : (enum kiln_gemm_isa)want);
    print_message("KILN_SIMD=%s -> %s\n", env ? env : "(unset)", kiln_gemm_isa_name(expect));
    assert_int_equal(kiln_gemm_isa_active(), expect);
    assert_true(kiln_gemm_isa_supported(expect));
    /* and kiln_gemm_f32 runs it: bit-identical to the explicit call */
    struct gcase g = {13, 37, 45, 0, 1, 1, 0, 2, 1.0f, 0, 0, 0};
    float *a = malloc(sizeof(float) * 13 * 37), *b = malloc(sizeof(float) * 13 * 37);
    assert_non_null(a);
    assert_non_null(b);
    uint64_t seed = rng;
    assert_true(check_case(-1, &g, a) <= 1.0);
    rng = seed;
    assert_true(check_case((int)expect, &g, b) <= 1.0);
    assert_memory_equal(a, b, sizeof(float) * 13 * 37);
    free(a);
    free(b);
}

static void test_names_and_fallback(void **state)
{
    (void)state;
    assert_string_equal(kiln_gemm_isa_name(KILN_GEMM_ISA_PORTABLE), "portable");
    assert_string_equal(kiln_gemm_isa_name(KILN_GEMM_ISA_AVX2), "avx2");
    assert_string_equal(kiln_gemm_isa_name(KILN_GEMM_ISA_AVX512), "avx512");
    assert_null(kiln_gemm_isa_name(KILN_GEMM_ISA_COUNT));
    assert_int_equal(kiln_gemm_isa_parse("avx2"), KILN_GEMM_ISA_AVX2);
    assert_int_equal(kiln_gemm_isa_parse("avx512"), KILN_GEMM_ISA_AVX512);
    assert_int_equal(kiln_gemm_isa_parse("portable"), KILN_GEMM_ISA_PORTABLE);
    assert_int_equal(kiln_gemm_isa_parse("AVX2"), -1);
    assert_int_equal(kiln_gemm_isa_parse(""), -1);
    assert_int_equal(kiln_gemm_isa_parse(NULL), -1);
    assert_true(kiln_gemm_isa_supported(KILN_GEMM_ISA_PORTABLE));
    assert_false(kiln_gemm_isa_supported(KILN_GEMM_ISA_COUNT));
    for (int i = 0; i < KILN_GEMM_ISA_COUNT; i++) {
        enum kiln_gemm_isa f = kiln_gemm_isa_fallback((enum kiln_gemm_isa)i);
        assert_true((int)f <= i);
        assert_true(kiln_gemm_isa_supported(f));
        if (kiln_gemm_isa_supported((enum kiln_gemm_isa)i))
            assert_int_equal(f, i);
        print_message("%s: %s\n", kiln_gemm_isa_name((enum kiln_gemm_isa)i),
                      kiln_gemm_isa_supported((enum kiln_gemm_isa)i) ? "supported" : "no");
    }
}

/* kiln_gemm_isa_select switches what kiln_gemm_f32 runs (kiln bench's simd: configs), and the
 * variants agree within rounding on a conv-like product (im2col shapes). */
static void test_select(void **state)
{
    (void)state;
    enum kiln_gemm_isa before = kiln_gemm_isa_active();
    struct gcase g = {32, 196, 288, 0, 0, 0, 0, 0, 1.0f, 0, 0, 0};
    float *got[KILN_GEMM_ISA_COUNT] = {0};
    uint64_t seed = rng;
    for (int i = 0; i < KILN_GEMM_ISA_COUNT; i++) {
        enum kiln_gemm_isa s = kiln_gemm_isa_select((enum kiln_gemm_isa)i);
        assert_int_equal(s, kiln_gemm_isa_fallback((enum kiln_gemm_isa)i));
        assert_int_equal(kiln_gemm_isa_active(), s);
        got[i] = malloc(sizeof(float) * 32 * 196);
        assert_non_null(got[i]);
        rng = seed;
        assert_true(check_case(-1, &g, got[i]) <= 1.0);
        if (s != (enum kiln_gemm_isa)i) /* fell back: the same variant as the one below */
            assert_memory_equal(got[i], got[s], sizeof(float) * 32 * 196);
    }
    /* a different summation order shows: SIMD results are not the portable bits */
    for (int i = 1; i < KILN_GEMM_ISA_COUNT; i++)
        if (kiln_gemm_isa_supported((enum kiln_gemm_isa)i))
            assert_true(memcmp(got[0], got[i], sizeof(float) * 32 * 196) != 0);
    for (int i = 0; i < KILN_GEMM_ISA_COUNT; i++)
        free(got[i]);
    assert_int_equal(kiln_gemm_isa_select(before), before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_env_choice),
        cmocka_unit_test(test_names_and_fallback),
        cmocka_unit_test(test_portable),
        cmocka_unit_test(test_avx2),
        cmocka_unit_test(test_avx512),
        cmocka_unit_test(test_f64),
        cmocka_unit_test(test_rows_independent),
        cmocka_unit_test(test_select),
        cmocka_unit_test(test_sparse),
        cmocka_unit_test(test_sparse_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
