/* test_threads.c - work split between the threads of a pool (runtime/kernels/threads.c) gives
 * the same bits as one thread: the GEMM on every float32 variant (kiln_gemm_f32_isa_mt against
 * kiln_gemm_f32_isa) and float64, on shapes 1-67 and across the cache blocks, packed operands,
 * accumulate and the fused epilogue, with scratch of exactly the node's size and with more; then
 * Conv (im2col + GEMM, grouped, strided, dilated, 1-D, pointwise, depthwise on the direct
 * kernel), Gemm, MatMul and the pools run by kiln_run_opts on pools of 1-4 threads against
 * kiln_run. ctest runs it under each KILN_SIMD value. Also the pool's API. */
#include "graph_harness.h"

#include "kernels/act.h"
#include "kernels/gemm_core.h"
#include "kernels/threads.h"

#define TEST_RNG_SEED 0x853c49e6748fea9bu
#include "test_rng.h"

#define MAX_THREADS 4
static struct kiln_threads *pools[MAX_THREADS + 1]; /* pools[n]: n threads; pools[1] NULL */

static int setup(void **state)
{
    (void)state;
    for (int n = 2; n <= MAX_THREADS; n++)
        if (kiln_threads_create(n, &pools[n]))
            return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int n = 2; n <= MAX_THREADS; n++)
        kiln_threads_destroy(pools[n]);
    return 0;
}

static int64_t pick(int64_t lo, int64_t hi)
{
    return lo + (int64_t)(next_u32() % (uint32_t)(hi - lo + 1));
}

static float *rndf(size_t n)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    for (size_t i = 0; i < n; i++)
        p[i] = next_unit();
    return p;
}

/* ---- the pool ---- */

struct seen {
    int hits[8], n_seen, nested;
    struct kiln_threads *t;
};

static void nested_part(void *ctx, int i, int n)
{
    struct seen *s = ctx;
    s->hits[4 + i] += n; /* parts of a nested job run in order on the part that asked */
}

static void record_part(void *ctx, int i, int n)
{
    struct seen *s = ctx;
    s->hits[i] += 1;
    s->n_seen = n;
    if (s->nested && i == 1) {
        struct seen inner = {{0}, 0, 0, NULL};
        kiln_par_run(s->t, 3, nested_part, &inner);
        for (int k = 0; k < 3; k++)
            s->hits[4 + k] = inner.hits[4 + k];
    }
}

static void test_pool_api(void **state)
{
    (void)state;
    struct kiln_threads *t = (struct kiln_threads *)1;
    assert_int_equal(kiln_threads_create(0, &t), KILN_STATUS_INVALID_ARG);
    assert_null(t);
    assert_int_equal(kiln_threads_create(65, &t), KILN_STATUS_INVALID_ARG);
    assert_int_equal(kiln_threads_create(2, NULL), KILN_STATUS_INVALID_ARG);
    assert_int_equal(kiln_threads_create(1, &t), KILN_STATUS_OK);
    assert_int_equal(kiln_threads_count(t), 1);
    kiln_threads_destroy(t);
    kiln_threads_destroy(NULL);
    assert_int_equal(kiln_threads_count(NULL), 1);
    assert_int_equal(kiln_threads_count(pools[3]), 3);
    for (int round = 0; round < 50; round++) { /* the pool is reused job after job */
        struct seen s = {{0}, 0, 0, pools[3]};
        kiln_par_run(pools[3], 1 + round % 3, record_part, &s);
        for (int i = 0; i < 4; i++)
            assert_int_equal(s.hits[i], i < 1 + round % 3);
    }
    struct seen s = {{0}, 0, 1, pools[3]};
    kiln_par_run(pools[3], 3, record_part, &s);
    assert_int_equal(s.hits[0] + s.hits[1] + s.hits[2], 3);
    assert_int_equal(s.hits[4] + s.hits[5] + s.hits[6], 9); /* 3 parts, each told n = 3 */
    int64_t lo, hi, next = 0;
    for (int i = 0; i < 3; i++) { /* 7 units of 32 over 3 parts: 3, 2, 2 units, clipped */
        kiln_par_range(210, 32, i, 3, &lo, &hi);
        assert_int_equal(lo, next);
        assert_int_equal(hi - lo, i == 0 ? 96 : i == 1 ? 64 : 50);
        next = hi;
    }
}

/* ---- the GEMM ---- */

static const struct kiln_act acts[] = {
    {KILN_ACT_NONE, 0, 0, 0}, {KILN_ACT_RELU, 0, 0, 0}, {KILN_ACT_CLIP, -0.3f, 0.4f, 0},
    {KILN_ACT_SIGMOID, 0, 0, 0}};

struct gshape {
    int64_t M, N, K;
    int flags, epi; /* epi: bit 0 bias, bit 1 residual, bits 2-3 the activation */
};

/* One product on variant isa: serially, then split over 2-4 threads in scratch of `extra`
 * times the node's size; returns how many of the threaded runs split it. */
static int check_gemm_f32(enum kiln_gemm_isa isa, const struct gshape *g, uint64_t extra)
{
    int64_t M = g->M, N = g->N, K = g->K, ldc = N + 3;
    int a_packed = g->flags & KILN_GEMM_A_PACKED, b_packed = g->flags & KILN_GEMM_B_PACKED;
    float *A = rndf((size_t)(M * K)), *B = rndf((size_t)(K * N)), *bias = rndf((size_t)M);
    float *res = rndf((size_t)(M * N)), *C0 = rndf((size_t)(M * ldc));
    float *PA = NULL, *PB = NULL;
    if (a_packed) {
        PA = malloc(kiln_gemm_packed_a_elems((uint64_t)M, (uint64_t)K) * sizeof *PA + 4);
        kiln_gemm_pack_a_f32(M, K, A, K, 1, PA);
    }
    if (b_packed) {
        PB = malloc(kiln_gemm_packed_b_elems((uint64_t)K, (uint64_t)N) * sizeof *PB + 4);
        kiln_gemm_pack_b_f32(K, N, B, N, 1, PB);
    }
    struct kiln_gemm_epi epi = {&acts[(g->epi >> 2) & 3], g->epi & 1 ? bias : NULL,
                                g->epi & 2 ? res : NULL, N};
    uint64_t sb = kiln_gemm_scratch_bytes((uint64_t)M, (uint64_t)N, (uint64_t)K, 4) * extra;
    void *scratch = aligned_alloc(64, (sb + 63) / 64 * 64);
    size_t cbytes = (size_t)(M * ldc) * sizeof(float);
    float *want = malloc(cbytes), *got = malloc(cbytes);
    memcpy(want, C0, cbytes);
    kiln_gemm_f32_isa(isa, M, N, K, 0.75f, a_packed ? PA : A, K, 1, b_packed ? PB : B, N, 1, want,
                      ldc, g->flags, &epi, scratch);
    int split = 0;
    for (int n = 2; n <= MAX_THREADS; n++) {
        memcpy(got, C0, cbytes);
        split += kiln_gemm_f32_isa_mt(isa, M, N, K, 0.75f, a_packed ? PA : A, K, 1,
                                      b_packed ? PB : B, N, 1, got, ldc, g->flags, &epi, scratch,
                                      sb, pools[n]);
        if (memcmp(got, want, cbytes) != 0)
            fail_msg("%s %lldx%lldx%lld flags %d epi %d on %d threads: not bit-identical",
                     kiln_gemm_isa_name(isa), (long long)M, (long long)N, (long long)K, g->flags,
                     g->epi, n);
    }
    free(A), free(B), free(bias), free(res), free(C0), free(PA), free(PB);
    free(scratch), free(want), free(got);
    return split;
}

static void test_gemm_split(void **state)
{
    (void)state;
    static const struct gshape fixed[] = {
        {67, 67, 67, 0, 0},
        {1, 1100, 40, KILN_GEMM_B_PACKED, 1},                        /* a row: split by columns */
        {150, 5, 300, KILN_GEMM_A_PACKED, 3},                        /* few columns: by rows */
        {64, 3136, 147, KILN_GEMM_A_PACKED, 5},                      /* a conv's shape, NC blocks */
        {33, 1030, 257, KILN_GEMM_ACCUMULATE, 2},                    /* KC and NC blocks */
        {49, 65, 513, KILN_GEMM_A_PACKED | KILN_GEMM_B_PACKED, 15}, /* both packed, sigmoid */
    };
    for (int isa = 0; isa < KILN_GEMM_ISA_COUNT; isa++) {
        int splits = 0, runs = 0;
        for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++, runs++)
            splits += check_gemm_f32((enum kiln_gemm_isa)isa, &fixed[i], 1);
        for (int c = 0; c < 60; c++, runs++) {
            static const int flag_sets[] = {0, KILN_GEMM_A_PACKED, KILN_GEMM_B_PACKED,
                                            KILN_GEMM_ACCUMULATE | KILN_GEMM_A_PACKED};
            struct gshape g = {pick(1, 67), pick(1, 67), pick(1, 67), flag_sets[c % 4],
                               (int)pick(0, 15)};
            /* the node's scratch, and four times it (room to split small products) */
            splits += check_gemm_f32((enum kiln_gemm_isa)isa, &g, c % 2 ? 4 : 1);
        }
        /* most products split: a split that never happens would test nothing */
        if (splits < runs)
            fail_msg("%s: only %d of %d threaded products split", kiln_gemm_isa_name(isa),
                     splits, 3 * runs);
    }
}

static void test_gemm_f64_split(void **state)
{
    (void)state;
    static const struct gshape shapes[] = {{70, 300, 20, 0, 3}, {200, 9, 301, 0, 1},
                                           {67, 1037, 5, KILN_GEMM_ACCUMULATE, 0}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const struct gshape *g = &shapes[s];
        int64_t M = g->M, N = g->N, K = g->K;
        double *A = malloc((size_t)(M * K) * 8), *B = malloc((size_t)(K * N) * 8);
        double *bias = malloc((size_t)M * 8), *want = malloc((size_t)(M * N) * 8);
        double *got = malloc((size_t)(M * N) * 8);
        for (int64_t i = 0; i < M * K; i++)
            A[i] = next_unit();
        for (int64_t i = 0; i < K * N; i++)
            B[i] = next_unit();
        for (int64_t i = 0; i < M; i++)
            bias[i] = next_unit();
        for (int64_t i = 0; i < M * N; i++)
            want[i] = next_unit();
        struct kiln_gemm_epi epi = {&acts[(g->epi >> 2) & 3], g->epi & 1 ? bias : NULL, NULL, N};
        uint64_t sb = kiln_gemm_scratch_bytes((uint64_t)M, (uint64_t)N, (uint64_t)K, 8);
        void *scratch = aligned_alloc(64, (sb + 63) / 64 * 64);
        memcpy(got, want, (size_t)(M * N) * 8);
        kiln_gemm_ex_f64(M, N, K, 1.5, A, K, 1, B, N, 1, want, N, g->flags, &epi, scratch);
        for (int n = 2; n <= MAX_THREADS; n++) {
            double *c = malloc((size_t)(M * N) * 8);
            memcpy(c, got, (size_t)(M * N) * 8);
            kiln_gemm_mt_f64(M, N, K, 1.5, A, K, 1, B, N, 1, c, N, g->flags, &epi, scratch, sb,
                             pools[n]);
            assert_memory_equal(c, want, (size_t)(M * N) * 8);
            free(c);
        }
        free(A), free(B), free(bias), free(want), free(got), free(scratch);
    }
}

/* ---- nodes through kiln_run_opts ---- */

/* Compiles the one-node graph, runs it with kiln_run and on pools of 1-4 threads; every
 * output must have the same bytes. inputs: the graph inputs in order. */
static void check_node(struct tg *t, const void *const *inputs)
{
    assert_int_equal(tg_infer(t), KILN_STATUS_OK);
    struct kiln_compiled *c = NULL;
    assert_int_equal(kiln_lower(t->g, &c, &t->d), KILN_STATUS_OK);
    const struct kiln_program *p = &c->prog;
    uint64_t asz = (p->arena_size + 63) / 64 * 64;
    void *arena = aligned_alloc(64, asz ? asz : 64);
    uint64_t nb = p->tensors[p->outputs[0]].nbytes;
    void *want = malloc(nb), *got = malloc(nb);
    assert_int_equal(kiln_run(p, arena, inputs, (void *[]){want}), KILN_STATUS_OK);
    for (int n = 1; n <= MAX_THREADS; n++) {
        struct kiln_run_opts o = {pools[n], NULL, NULL};
        memset(got, 0x5a, nb);
        assert_int_equal(kiln_run_opts(p, arena, inputs, (void *[]){got}, &o), KILN_STATUS_OK);
        if (memcmp(got, want, nb) != 0)
            fail_msg("%s on %d threads: not bit-identical to one thread", t->n->op_type, n);
    }
    free(want), free(got), free(arena);
    kiln_compiled_free(c);
    tg_free(t);
}

struct conv_case {
    int nsp;
    int64_t nb, C, M, group, in[2], k[2], s[2], d[2], pads[4];
    int bias, w_const;
};

static void check_conv(const struct conv_case *cc)
{
    int rank = cc->nsp + 2;
    int64_t xd[4] = {cc->nb, cc->C, cc->in[0], cc->in[1]};
    int64_t wd[4] = {cc->M, cc->C / cc->group, cc->k[0], cc->k[1]};
    size_t nx = (size_t)(cc->nb * cc->C), nw = (size_t)(wd[0] * wd[1]);
    for (int i = 0; i < cc->nsp; i++)
        nx *= (size_t)cc->in[i], nw *= (size_t)cc->k[i];
    float *x = rndf(nx), *w = rndf(nw), *b = rndf((size_t)cc->M);
    struct tg *t = tg_new("Conv", 11, cc->bias ? 3 : 2, 1);
    tg_input(t, 0, KILN_DTYPE_F32, rank, xd);
    if (cc->w_const)
        tg_const(t, 1, KILN_DTYPE_F32, rank, wd, w);
    else
        tg_input(t, 1, KILN_DTYPE_F32, rank, wd);
    if (cc->bias)
        tg_const(t, 2, KILN_DTYPE_F32, 1, &cc->M, b);
    tg_ints(t, "strides", (size_t)cc->nsp, cc->s);
    tg_ints(t, "dilations", (size_t)cc->nsp, cc->d);
    tg_ints(t, "pads", (size_t)(2 * cc->nsp), cc->pads);
    tg_int(t, "group", cc->group);
    check_node(t, cc->w_const ? (const void *[]){x} : (const void *[]){x, w});
    free(x), free(w), free(b);
}

static void test_conv_split(void **state)
{
    (void)state;
    static const struct conv_case cases[] = {
        /* 3 -> 17 channels, 3x3, padded: the stem shape; weights packed */
        {2, 1, 3, 17, 1, {37, 41}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1, 1},
        /* odd channels, stride 2, asymmetric pads, two images, weights an input */
        {2, 2, 17, 33, 1, {45, 39}, {3, 3}, {2, 2}, {1, 1}, {1, 0, 2, 1}, 1, 0},
        /* grouped, dilated */
        {2, 1, 15, 21, 3, {31, 33}, {3, 3}, {1, 1}, {2, 2}, {2, 2, 2, 2}, 0, 1},
        /* pointwise: the GEMM reads the input in place */
        {2, 1, 65, 31, 1, {23, 29}, {1, 1}, {1, 1}, {1, 1}, {0, 0, 0, 0}, 1, 1},
        /* 1-D */
        {1, 1, 7, 9, 1, {1000, 1}, {5, 1}, {1, 1}, {1, 1}, {2, 2, 0, 0}, 1, 1},
        /* depthwise on the direct kernel: 3x3 stride 1, 5x5 stride 2 with multiplier 2 */
        {2, 1, 67, 67, 67, {29, 31}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1, 1},
        {2, 2, 33, 66, 33, {41, 37}, {5, 5}, {2, 2}, {1, 1}, {2, 1, 2, 2}, 1, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_conv(&cases[i]);
}

static void test_gemm_nodes_split(void **state)
{
    (void)state;
    /* Gemm, transB, constant B (packed at compile time) and a bias row */
    float *a = rndf(67 * 300), *bw = rndf(65 * 300), *c = rndf(65);
    struct tg *t = tg_new("Gemm", 13, 3, 1);
    tg_input(t, 0, KILN_DTYPE_F32, 2, (int64_t[]){67, 300});
    tg_const(t, 1, KILN_DTYPE_F32, 2, (int64_t[]){65, 300}, bw);
    tg_const(t, 2, KILN_DTYPE_F32, 1, (int64_t[]){65}, c);
    tg_int(t, "transB", 1);
    check_node(t, (const void *[]){a});
    /* MatMul, batched A against a constant 2-D B; then both batched inputs */
    float *x = rndf(3 * 37 * 64), *y = rndf(3 * 64 * 129);
    t = tg_new("MatMul", 13, 2, 1);
    tg_input(t, 0, KILN_DTYPE_F32, 3, (int64_t[]){3, 37, 64});
    tg_const(t, 1, KILN_DTYPE_F32, 2, (int64_t[]){64, 129}, y);
    check_node(t, (const void *[]){x});
    t = tg_new("MatMul", 13, 2, 1);
    tg_input(t, 0, KILN_DTYPE_F32, 3, (int64_t[]){3, 37, 64});
    tg_input(t, 1, KILN_DTYPE_F32, 3, (int64_t[]){3, 64, 129});
    check_node(t, (const void *[]){x, y});
    free(a), free(bw), free(c), free(x), free(y);
}

static void test_pool_split(void **state)
{
    (void)state;
    static const char *const ops[] = {"MaxPool", "AveragePool", "LpPool", "GlobalAveragePool",
                                      "GlobalMaxPool"};
    int64_t xd[4] = {2, 37, 29, 31};
    float *x = rndf(2 * 37 * 29 * 31);
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        struct tg *t = tg_new(ops[i], 18, 1, 1);
        tg_input(t, 0, KILN_DTYPE_F32, 4, xd);
        if (strncmp(ops[i], "Global", 6) != 0) {
            tg_ints(t, "kernel_shape", 2, (int64_t[]){3, 5});
            tg_ints(t, "strides", 2, (int64_t[]){2, 1});
            tg_ints(t, "pads", 4, (int64_t[]){1, 2, 1, 2});
        }
        if (strcmp(ops[i], "AveragePool") == 0)
            tg_int(t, "count_include_pad", 1);
        check_node(t, (const void *[]){x});
    }
    free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pool_api),
        cmocka_unit_test(test_gemm_split),
        cmocka_unit_test(test_gemm_f64_split),
        cmocka_unit_test(test_conv_split),
        cmocka_unit_test(test_gemm_nodes_split),
        cmocka_unit_test(test_pool_split),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
