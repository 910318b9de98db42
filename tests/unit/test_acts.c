/* test_acts.c - the activation table (kiln/acts.def) and its scalar math (actmath.h): the edge
 * cases of every activation pinned (large |x|, -0, infinities, NaN, denormals, the ONNX
 * defaults), and the same bits from each evaluator: the standalone unary kernel, the fused
 * epilogue (kiln_act_apply and a MatMul kernel with the activation fused against the unfused
 * MatMul then the unary kernel), a FusedElementwise chain and every SIMD instance of the vector
 * forms (vact.h) on lengths 1-67; the maximum errors of vmath.h's exp, Sigmoid and Tanh over a
 * sweep of float32 (ctest also runs this under each KILN_SIMD value). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <float.h>

#include "compiler.h"
#include "kernels/vact.h"
#include "ops/fused.h"
#include "graph_harness.h"

static bool same_bits(float a, float b)
{
    return memcmp(&a, &b, sizeof a) == 0 || (isnan(a) && isnan(b));
}

static const struct kiln_kernel *kernel_for(uint32_t op, int dtype)
{
    for (uint32_t v = 0; v < kiln_rt_kernel_count(op); v++)
        if (kiln_rt_kernel(op, v)->dtype == dtype)
            return kiln_rt_kernel(op, v);
    return NULL;
}

/* ---- the table ---- */

static void test_table(void **state)
{
    (void)state;
    const struct kiln_act_info *a;
    int n_rnn = 0;
    for (int k = 1; k < KILN_ACT_COUNT; k++) {
        assert_non_null(a = kiln_act_info_of(k));
        assert_int_equal(kiln_fused_act_kind(a->name), k);
        assert_string_equal(kiln_fused_act_name(k), a->name);
        if (a->flags & (KILN_ACTF_RNN | KILN_ACTF_FUSE))
            assert_non_null(a->onnx);
        n_rnn += (a->flags & KILN_ACTF_RNN) != 0;
        enum kiln_op op = a->onnx ? kiln_ir_op_lookup("", a->onnx) : KILN_OP_UNKNOWN;
        /* a row naming an ONNX op is that op's activation (the first row wins: Gelu's Erf form) */
        if (op != KILN_OP_UNKNOWN)
            assert_int_equal(kiln_act_of_op(op), k);
        if (a->flags & KILN_ACTF_FUSE)
            assert_int_not_equal(op, KILN_OP_UNKNOWN);
    }
    assert_int_equal(n_rnn, 11); /* the ONNX LSTM/GRU/RNN spec's list */
    assert_null(kiln_act_info_of(KILN_ACT_NONE));
    assert_null(kiln_act_info_of(KILN_ACT_COUNT));
    assert_int_equal(kiln_act_of_op(KILN_OP_ADD), KILN_ACT_NONE);
    assert_int_equal(kiln_act_of_op(KILN_OP_GELU), KILN_ACT_GELU);
    /* the ONNX defaults */
    a = kiln_act_info_of(KILN_ACT_LEAKY_RELU);
    assert_true(a->alpha == 0.01f && !a->beta_name);
    a = kiln_act_info_of(KILN_ACT_HARD_SIGMOID);
    assert_true(a->alpha == 0.2f && a->beta == 0.5f);
    a = kiln_act_info_of(KILN_ACT_SELU);
    assert_true(a->alpha == 1.67326319217681884765625f && a->beta == 1.05070102214813232421875f);
    assert_string_equal(a->beta_name, "gamma");
    a = kiln_act_info_of(KILN_ACT_CLIP);
    assert_true(a->alpha == -INFINITY && a->beta == INFINITY);
    assert_true(kiln_act_info_of(KILN_ACT_ELU)->alpha == 1.0f);
    assert_true(kiln_act_info_of(KILN_ACT_CELU)->alpha == 1.0f);
}

/* The standalone ops read their attribute defaults from the table. */
static void test_op_defaults(void **state)
{
    (void)state;
    static const struct {
        const char *op;
        int64_t opset;
        double a, b;
    } defaults[] = {
        {"LeakyRelu", 16, 0.01f, 0},
        {"HardSigmoid", 6, 0.2f, 0.5f},
        {"Elu", 6, 1, 0},
        {"Celu", 12, 1, 0},
        {"ThresholdedRelu", 10, 1, 0},
        {"Selu", 6, 1.67326319217681884765625f, 1.05070102214813232421875f},
        {"Selu", 1, 1.6732f, 1.0507f},
    };
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++) {
        struct tg *t = tg_new(defaults[i].op, defaults[i].opset, 1, 1);
        tg_input(t, 0, KILN_DTYPE_F32, 1, (int64_t[]){3});
        assert_int_equal(tg_infer(t), KILN_STATUS_OK);
        const struct kiln_p_unary *p = t->n->params;
        assert_true(p->a == defaults[i].a && p->b == defaults[i].b);
        tg_free(t);
    }
}

/* ---- edge cases of the scalar math ---- */

static void test_edges_float(void **state)
{
    (void)state;
    const float inf = INFINITY, nan = NAN;
    /* Relu keeps -0 and NaN (numpy's maximum) */
    assert_true(signbit(kiln_act_relu_f(-0.0f, 0, 0)) && kiln_act_relu_f(-0.0f, 0, 0) == 0);
    assert_true(isnan(kiln_act_relu_f(nan, 0, 0)) && kiln_act_relu_f(-inf, 0, 0) == 0);
    assert_true(kiln_act_relu_f(inf, 0, 0) == inf);
    assert_true(signbit(kiln_act_leaky_relu_f(-0.0f, 0.1f, 0)));
    assert_true(isnan(kiln_act_leaky_relu_f(nan, 0.1f, 0)));
    /* Sigmoid: no overflow, and the tiny results below 0 kept (denormal at -100) */
    assert_true(kiln_act_sigmoid_f(100, 0, 0) == 1 && kiln_act_sigmoid_f(inf, 0, 0) == 1);
    assert_true(kiln_act_sigmoid_f(-inf, 0, 0) == 0 && kiln_act_sigmoid_f(-0.0f, 0, 0) == 0.5f);
    float s = kiln_act_sigmoid_f(-100, 0, 0);
    assert_true(s > 0 && fabs(s - exp(-100.0)) < 1e-45);
    assert_true(kiln_act_sigmoid_f(-87, 0, 0) > 0);
    assert_true(isnan(kiln_act_sigmoid_f(nan, 0, 0)));
    /* SiLU is x times the rounded sigmoid, so the unfused Mul(x, Sigmoid(x)) agrees */
    for (float x = -120; x < 120; x += 0.37f)
        assert_true(same_bits(kiln_act_silu_f(x, 0, 0), x * kiln_act_sigmoid_f(x, 0, 0)));
    assert_true(kiln_act_silu_f(-100, 0, 0) < 0);
    /* Softplus: x above 0 never overflows; exp(x) below 0 kept */
    assert_true(kiln_act_softplus_f(100, 0, 0) == 100 && kiln_act_softplus_f(1e30f, 0, 0) == 1e30f);
    assert_true(kiln_act_softplus_f(inf, 0, 0) == inf && kiln_act_softplus_f(-inf, 0, 0) == 0);
    assert_true(kiln_act_softplus_f(-100, 0, 0) > 0);
    assert_float_equal(kiln_act_softplus_f(0, 0, 0), log(2.0), 1e-7);
    assert_float_equal(kiln_act_softplus_f(20, 0, 0), 20 + log1p(exp(-20.0)), 2e-6);
    assert_true(isnan(kiln_act_softplus_f(nan, 0, 0)));
    /* Tanh and Softsign saturate */
    assert_true(kiln_act_tanh_f(inf, 0, 0) == 1 && kiln_act_tanh_f(-inf, 0, 0) == -1);
    assert_true(signbit(kiln_act_tanh_f(-0.0f, 0, 0)) && isnan(kiln_act_tanh_f(nan, 0, 0)));
    assert_true(kiln_act_softsign_f(1e30f, 0, 0) == 1 && kiln_act_softsign_f(-1e30f, 0, 0) == -1);
    /* Elu, Selu, Celu by expm1: exact near 0, the -alpha asymptote at -inf, NaN propagating */
    assert_float_equal(kiln_act_elu_f(-1e-7f, 1, 0), expm1((double)-1e-7f), 1e-14);
    assert_true(kiln_act_elu_f(-inf, 0.5f, 0) == -0.5f && signbit(kiln_act_elu_f(-0.0f, 1, 0)));
    assert_true(isnan(kiln_act_elu_f(nan, 1, 0)) && kiln_act_elu_f(inf, 1, 0) == inf);
    const float sa = 1.67326319217681884765625f, sg = 1.05070102214813232421875f;
    assert_true(kiln_act_selu_f(1, sa, sg) == sg && kiln_act_selu_f(-inf, sa, sg) == -sg * sa);
    assert_float_equal(kiln_act_selu_f(-1e-7f, sa, sg), sg * sa * expm1((double)-1e-7f), 1e-13);
    assert_true(isnan(kiln_act_selu_f(nan, sa, sg)));
    assert_true(isnan(kiln_act_celu_f(nan, 1, 0))); /* fmax/fmin would have made it 0 */
    assert_true(kiln_act_celu_f(-inf, 2, 0) == -2 && kiln_act_celu_f(3, 2, 0) == 3);
    assert_float_equal(kiln_act_celu_f(-1, 2, 0), 2 * expm1(-0.5), 1e-7);
    /* HardSigmoid and HardSwish clamp by comparison, so NaN propagates */
    assert_true(isnan(kiln_act_hard_sigmoid_f(nan, 0.2f, 0.5f)));
    assert_true(kiln_act_hard_sigmoid_f(inf, 0.2f, 0.5f) == 1);
    assert_true(kiln_act_hard_sigmoid_f(-inf, 0.2f, 0.5f) == 0);
    assert_true(kiln_act_hard_swish_f(3, 0, 0) == 3 && kiln_act_hard_swish_f(-3, 0, 0) == 0);
    assert_true(kiln_act_hard_swish_f(inf, 0, 0) == inf &&
                signbit(kiln_act_hard_swish_f(-0.0f, 0, 0)));
    assert_true(isnan(kiln_act_hard_swish_f(nan, 0, 0)));
    /* ThresholdedRelu compares: NaN is not above alpha (ONNX's where(x > alpha, x, 0)) */
    assert_true(kiln_act_thresholded_relu_f(nan, 1, 0) == 0);
    assert_true(kiln_act_thresholded_relu_f(1, 1, 0) == 0 &&
                kiln_act_thresholded_relu_f(inf, 1, 0) == inf);
    /* Clip: min(max(x, lo), hi), so hi wins when lo > hi; NaN passes */
    assert_true(kiln_act_clip_f(0, 2, 1) == 1 && kiln_act_clip_f(5, 2, 1) == 1);
    assert_true(isnan(kiln_act_clip_f(nan, 0, 6)) && kiln_act_clip_f(-inf, 0, 6) == 0);
    /* Gelu's forms: the tails exact, computed in double */
    assert_true(kiln_act_gelu_f(30, 0, 0) == 30 && kiln_act_gelu_f(-30, 0, 0) == 0);
    assert_true(kiln_act_gelu_tanh_f(30, 0, 0) == 30 && kiln_act_gelu_tanh_f(-30, 0, 0) == 0);
    assert_true(kiln_act_gelu_f(inf, 0, 0) == inf && isnan(kiln_act_gelu_f(nan, 0, 0)));
    assert_float_equal(kiln_act_gelu_f(1, 0, 0), 0.8413447460685429, 1e-7);
    assert_float_equal(kiln_act_gelu_tanh_f(1, 0, 0), 0.8411919906082768, 1e-7);
    /* the -O3 approximations propagate NaN too */
    assert_true(isnan(kiln_fast_expf(nan)) && isnan(kiln_act_fast_sigmoid_f(nan, 0, 0)));
    assert_true(isnan(kiln_act_fast_tanh_f(nan, 0, 0)) && isnan(kiln_act_fast_gelu_f(nan, 0, 0)));
    assert_true(kiln_fast_expf(-inf) > 0 && kiln_fast_expf(inf) > 1e38f);
    /* the recurrent ops' own */
    assert_true(kiln_act_affine_f(1.5f, 2, 0.5f) == 3.5f);
    assert_float_equal(kiln_act_scaled_tanh_f(1, 2, 0.5f), 2 * tanh(0.5), 1e-7);
}

static void test_edges_double(void **state)
{
    (void)state;
    /* float64 tensors compute in double: tails far beyond float's range */
    double s = kiln_act_sigmoid_d(-700, 0, 0);
    assert_true(s > 0 && fabs(s / exp(-700.0) - 1) < 1e-15);
    assert_true(kiln_act_sigmoid_d(800, 0, 0) == 1);
    assert_true(kiln_act_softplus_d(1000, 0, 0) == 1000 && kiln_act_softplus_d(-700, 0, 0) > 0);
    assert_true(kiln_act_elu_d(-1e-300, 1, 0) == -1e-300);
    assert_true(signbit(kiln_act_relu_d(-0.0, 0, 0)) && isnan(kiln_act_celu_d(NAN, 1, 0)));
    assert_float_equal(kiln_act_gelu_d(1, 0, 0), 0.5 * (1 + erf(1 / sqrt(2.0))), 1e-16);
    /* the float64 unary kernel uses them */
    double x[3] = {-700, 1000, -1e-300}, y[3];
    struct kiln_p_unary p = {1, 0, 0};
    struct kiln_tensor t[2] = {{.data = x, .dims = {3}, .rank = 1, .dtype = KILN_DTYPE_F64},
                               {.data = y, .dims = {3}, .rank = 1, .dtype = KILN_DTYPE_F64}};
    struct kiln_kernel_args args = {&p, t, t + 1, 1, 1, NULL, 0, NULL};
    kernel_for(KILN_OP_SOFTPLUS, KILN_DTYPE_F64)->fn(&args);
    assert_true(y[0] > 0 && y[1] == 1000);
    kernel_for(KILN_OP_ELU, KILN_DTYPE_F64)->fn(&args);
    assert_true(y[2] == -1e-300);
}

/* ---- one activation, every evaluator ---- */

/* inputs: the tails, around 0 (both zeros, denormals), the overflow points of exp */
static const float inputs[] = {
    -INFINITY, -1e30f, -1000,  -100,    -88.8f, -87.3f, -20,    -6,     -3,       -1.5f,
    -1,        -0.5f,  -1e-7f, -1e-40f, -0.0f,  0,      1e-40f, 1e-7f,  0.5f,     1,
    1.5f,      3,      6,      20,      88.8f,  100,    1000,   1e30f,  INFINITY, NAN,
    0.1f,      -0.1f,  2.5f,   -2.5f,   7,      -7,     0.25f,  -0.25f, 0.9f,     -0.9f,
};
#define N_IN (int)(sizeof inputs / sizeof inputs[0])

/* An ONNX op with its unary params and the epilogue kind it fuses to (FusedElementwise opcode,
 * -1 when FusedElementwise has no such instruction). */
static const struct {
    uint32_t op;
    double a, b;
    int kind, few;
} cases[] = {
    {KILN_OP_RELU, 0, 0, KILN_ACT_RELU, KILN_FEW_RELU},
    {KILN_OP_SIGMOID, 0, 0, KILN_ACT_SIGMOID, KILN_FEW_SIGMOID},
    {KILN_OP_TANH, 0, 0, KILN_ACT_TANH, KILN_FEW_TANH},
    {KILN_OP_LEAKY_RELU, 0.01f, 0, KILN_ACT_LEAKY_RELU, KILN_FEW_LEAKY_RELU},
    {KILN_OP_LEAKY_RELU, 0.3f, 0, KILN_ACT_LEAKY_RELU, KILN_FEW_LEAKY_RELU},
    {KILN_OP_GELU, 0, 0, KILN_ACT_GELU, KILN_FEW_GELU},
    {KILN_OP_GELU, 0, 1, KILN_ACT_FAST_GELU, KILN_FEW_FAST_GELU},
    {KILN_OP_GELU, 1, 0, KILN_ACT_GELU_TANH, -1},
    {KILN_OP_CLIP, 0, 6, KILN_ACT_CLIP, -1},
    {KILN_OP_CLIP, -1.5f, 2.5f, KILN_ACT_CLIP, -1},
    {KILN_OP_HARD_SIGMOID, 0.2f, 0.5f, KILN_ACT_HARD_SIGMOID, -1},
    {KILN_OP_HARD_SWISH, 0, 0, KILN_ACT_HARD_SWISH, -1},
    {KILN_OP_THRESHOLDED_RELU, 1, 0, KILN_ACT_THRESHOLDED_RELU, -1},
    {KILN_OP_ELU, 1, 0, KILN_ACT_ELU, -1},
    {KILN_OP_ELU, 0.5f, 0, KILN_ACT_ELU, -1},
    {KILN_OP_SOFTSIGN, 0, 0, KILN_ACT_SOFTSIGN, -1},
    {KILN_OP_SOFTPLUS, 0, 0, KILN_ACT_SOFTPLUS, -1},
    {KILN_OP_MISH, 0, 0, KILN_ACT_MISH, -1},
    {KILN_OP_SELU, 1.67326319217681884765625f, 1.05070102214813232421875f, KILN_ACT_SELU, -1},
    {KILN_OP_CELU, 1, 0, KILN_ACT_CELU, -1},
    {KILN_OP_CELU, 2.5f, 0, KILN_ACT_CELU, -1},
};

static void run_unary(uint32_t op, double a, double b, const float *x, float *y, int n)
{
    struct kiln_p_unary p = {a, b, 0};
    struct kiln_tensor t[2] = {{.data = (void *)x, .dims = {n}, .rank = 1, .dtype = KILN_DTYPE_F32},
                               {.data = y, .dims = {n}, .rank = 1, .dtype = KILN_DTYPE_F32}};
    struct kiln_kernel_args args = {&p, t, t + 1, 1, 1, NULL, 0, NULL};
    const struct kiln_kernel *k = kernel_for(op, KILN_DTYPE_F32);
    assert_non_null(k);
    k->fn(&args);
}

/* MatMul [n, 1] x [1, 1] = 1: each output is its input times 1, then the epilogue */
static void run_matmul(const struct kiln_act *act, const float *x, float *y, int n)
{
    static uint8_t scratch[1 << 16] __attribute__((aligned(64)));
    float one = 1;
    struct kiln_p_matmul p = {*act};
    struct kiln_tensor t[3] = {
        {.data = (void *)x, .dims = {n, 1}, .rank = 2, .dtype = KILN_DTYPE_F32},
        {.data = &one, .dims = {1, 1}, .rank = 2, .dtype = KILN_DTYPE_F32},
        {.data = y, .dims = {n, 1}, .rank = 2, .dtype = KILN_DTYPE_F32},
    };
    struct kiln_kernel_args args = {&p, t, t + 2, 2, 1, scratch, sizeof scratch, NULL};
    kernel_for(KILN_OP_MATMUL, KILN_DTYPE_F32)->fn(&args);
}

/* FusedElementwise: r1 = x * 1, r2 = op(r1, alpha) */
static void run_few(int op, float alpha, const float *x, float *y, int n)
{
    struct kiln_p_fused_elementwise p = {.n_code = 2, .n_in = 1};
    memcpy(p.code[0], (uint8_t[]){KILN_FEW_MUL, 1, 0, KILN_FEW_CONST}, 4);
    memcpy(p.code[1], (uint8_t[]){(uint8_t)op, 2, 1, KILN_FEW_CONST + 1}, 4);
    p.consts[0] = 1, p.consts[1] = alpha;
    struct kiln_tensor t[2] = {{.data = (void *)x, .dims = {n}, .rank = 1, .dtype = KILN_DTYPE_F32},
                               {.data = y, .dims = {n}, .rank = 1, .dtype = KILN_DTYPE_F32}};
    struct kiln_kernel_args args = {&p, t, t + 1, 1, 1, NULL, 0, NULL};
    kernel_for(KILN_OP_FUSED_ELEMENTWISE, KILN_DTYPE_F32)->fn(&args);
}

static void test_same_bits(void **state)
{
    (void)state;
    float ref[N_IN], got[N_IN], mm[N_IN], mm_ref[N_IN];
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const char *op = kiln_op_name(cases[c].op);
        struct kiln_act act = {cases[c].kind, (float)cases[c].a, (float)cases[c].b, 0};
        const struct kiln_act_info *ai = kiln_act_info_of(act.kind);
        if (act.kind == KILN_ACT_GELU_TANH || act.kind == KILN_ACT_FAST_GELU)
            act.alpha = act.beta = 0; /* Gelu's attributes pick the kind, not parameters */
        run_unary(cases[c].op, cases[c].a, cases[c].b, inputs, ref, N_IN);
        /* the epilogue, element by element and through MatMul against the unfused MatMul */
        for (int i = 0; i < N_IN; i++)
            if (!same_bits(kiln_act_apply(&act, inputs[i]), ref[i]))
                fail_msg("%s (%s) at %g: epilogue %a, kernel %a", op, ai->name, inputs[i],
                         kiln_act_apply(&act, inputs[i]), ref[i]);
        struct kiln_act none = {KILN_ACT_NONE, 0, 0, 0};
        run_matmul(&none, inputs, mm, N_IN);
        run_unary(cases[c].op, cases[c].a, cases[c].b, mm, mm_ref, N_IN);
        run_matmul(&act, inputs, got, N_IN);
        for (int i = 0; i < N_IN; i++)
            if (!same_bits(got[i], mm_ref[i]))
                fail_msg("%s at %g: fused MatMul %a, unfused %a", op, inputs[i], got[i], mm_ref[i]);
        /* FusedElementwise */
        if (cases[c].few < 0)
            continue;
        run_few(cases[c].few, (float)cases[c].a, inputs, got, N_IN);
        for (int i = 0; i < N_IN; i++)
            if (!same_bits(got[i], ref[i]))
                fail_msg("%s at %g: FusedElementwise %a, kernel %a", op, inputs[i], got[i], ref[i]);
    }
}

/* SiLU fused into the epilogue against the unfused Sigmoid then Mul. */
static void test_silu_same_bits(void **state)
{
    (void)state;
    float s[N_IN], want[N_IN];
    run_unary(KILN_OP_SIGMOID, 0, 0, inputs, s, N_IN);
    for (int i = 0; i < N_IN; i++)
        want[i] = inputs[i] * s[i];
    struct kiln_act act = {KILN_ACT_SILU, 0, 0, 0};
    for (int i = 0; i < N_IN; i++)
        assert_true(same_bits(kiln_act_apply(&act, inputs[i]), want[i]));
}

/* ---- the vector forms (vact.h) ---- */

typedef void (*map_fn)(const struct kiln_act *a, const float *x, float *y, int64_t n);
static const struct {
    const char *name, *cpu; /* cpu: the __builtin_cpu_supports feature it needs */
    map_fn fn;
} maps[] = {
    {"portable", NULL, kv1_act_map},
#ifdef KILN_V_AVX2
    {"avx2", "avx2", kv8_act_map},
#endif
#ifdef KILN_V_AVX512
    {"avx512", "avx512f", kv16_act_map},
#endif
};

static bool map_runs(size_t m)
{
    if (!maps[m].cpu)
        return true;
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    return strcmp(maps[m].cpu, "avx2") == 0 ? __builtin_cpu_supports("avx2")
                                            : __builtin_cpu_supports("avx512f");
#else
    return false;
#endif
}

/* Every row of acts.def, with its defaults and one other parameter pair, through every SIMD
 * instance this CPU runs and through kiln_vact_map (the KILN_SIMD variant), on lengths 1-67
 * (whole vectors and the scalar tail), misaligned, out of place and in place: the bits of the
 * scalar kiln_act_apply in every lane. */
static void test_vector_same_bits(void **state)
{
    (void)state;
    enum { N = 67 + 1 };
    float x[N_IN + 200], y[N_IN + 200 + 1], io[N + 1];
    int nx = 0;
    for (int i = 0; i < N_IN; i++)
        x[nx++] = inputs[i];
    for (int i = 0; i < 200; i++) /* a sweep through the approximations' reduction steps */
        x[nx++] = -25.0f + 0.2513f * (float)i;
    for (int k = 1; k < KILN_ACT_COUNT; k++) {
        const struct kiln_act_info *ai = kiln_act_info_of(k);
        const float params[2][2] = {{ai->alpha, ai->beta}, {0.3f, 2.5f}};
        for (int p = 0; p < 2; p++) {
            struct kiln_act act = {k, params[p][0], params[p][1], 0};
            for (size_t m = 0; m <= sizeof maps / sizeof maps[0]; m++) {
                if (m < sizeof maps / sizeof maps[0] && !map_runs(m))
                    continue;
                map_fn fn = m < sizeof maps / sizeof maps[0] ? maps[m].fn : kiln_vact_map;
                const char *name = m < sizeof maps / sizeof maps[0] ? maps[m].name : "dispatch";
                fn(&act, x, y + 1, nx);
                for (int i = 0; i < nx; i++)
                    if (!same_bits(y[1 + i], kiln_act_apply(&act, x[i])))
                        fail_msg("%s %s (%g, %g) at %a: vector %a, scalar %a", name, ai->name,
                                 act.alpha, act.beta, x[i], y[1 + i], kiln_act_apply(&act, x[i]));
                for (int n = 1; n < N; n++) {
                    int at = (n * 7) % (nx - n);
                    memcpy(io + 1, x + at, (size_t)n * sizeof *io);
                    fn(&act, io + 1, io + 1, n);
                    for (int i = 0; i < n; i++)
                        if (!same_bits(io[1 + i], kiln_act_apply(&act, x[at + i])))
                            fail_msg("%s %s in place, length %d, lane %d: %a for %a", name,
                                     ai->name, n, i, io[1 + i], x[at + i]);
                }
            }
        }
    }
}

/* one unit in the last place of float r (denormal spacing below FLT_MIN) */
static double ulp_of(double r)
{
    int e;
    r = fabs(r);
    if (r < FLT_MIN)
        return ldexp(1, -149);
    frexp(r, &e);
    return ldexp(1, e - 24);
}

/* The maximum errors of vmath.h against libm's double results, in units in the last place of
 * the float result, over every 4099th float and densely over [-20, 20] (docs/optimization.md,
 * "Vector math", quotes them): Sigmoid and Tanh within 3 ulp everywhere (denormal results
 * included), exp within 1.5 ulp over [-87.3, 88]; and the edge cases. */
static void test_vector_math_error(void **state)
{
    (void)state;
    double ws = 0, wt = 0, we = 0;
    float xs = 0, xt = 0, xe = 0;
    for (uint64_t b = 0; b < 0x100000000u + 160000u; b += b < 0x100000000u ? 4099 : 1) {
        float x;
        if (b < 0x100000000u) {
            uint32_t u = (uint32_t)b;
            memcpy(&x, &u, sizeof x);
        } else {
            x = -20.0f + (float)(b - 0x100000000u) / 4000.0f;
        }
        if (isnan(x))
            continue;
        double d = x, e = exp(-fabs(d));
        double s = d >= 0 ? 1 / (1 + e) : e / (1 + e), t = tanh(d);
        double es = fabs(kiln_act_sigmoid_f(x, 0, 0) - s) / ulp_of(s);
        double et = fabs(kiln_act_tanh_f(x, 0, 0) - t) / ulp_of(t);
        if (es > ws)
            ws = es, xs = x;
        if (et > wt)
            wt = et, xt = x;
        if (d >= -87.3 && d <= 88) {
            double ee = fabs(kv1_exp(x) - exp(d)) / ulp_of(exp(d));
            if (ee > we)
                we = ee, xe = x;
        }
    }
    print_message("max error: sigmoid %.3f ulp (at %a), tanh %.3f ulp (at %a), exp %.3f ulp "
                  "(at %a)\n",
                  ws, xs, wt, xt, we, xe);
    if (ws > 3 || wt > 3 || we > 1.5)
        fail_msg("over the documented bounds");
    /* edges: NaN passes, the limits exact, -0 kept, tiny inputs exact */
    const float inf = INFINITY, tiny = 1e-40f;
    assert_true(isnan(kv1_exp(NAN)) && kv1_exp(-inf) == 0 && kv1_exp(-200) == 0);
    assert_true(kv1_exp(0) == 1 && kv1_exp(-0.0f) == 1);
    assert_true(kiln_act_sigmoid_f(-1e30f, 0, 0) == 0 && kiln_act_sigmoid_f(1e30f, 0, 0) == 1);
    assert_true(kiln_act_sigmoid_f(tiny, 0, 0) == 0.5f && kiln_act_sigmoid_f(-tiny, 0, 0) == 0.5f);
    assert_true(kiln_act_tanh_f(tiny, 0, 0) == tiny && kiln_act_tanh_f(-tiny, 0, 0) == -tiny);
    assert_true(kiln_act_tanh_f(1e30f, 0, 0) == 1 && kiln_act_tanh_f(-1e30f, 0, 0) == -1);
    assert_true(kiln_act_tanh_f(0, 0, 0) == 0 && !signbit(kiln_act_tanh_f(0, 0, 0)));
    assert_true(signbit(kiln_act_silu_f(-0.0f, 0, 0)) && kiln_act_silu_f(inf, 0, 0) == inf);
    assert_true(isnan(kiln_act_silu_f(-inf, 0, 0))); /* -inf * 0, as Mul(x, Sigmoid(x)) */
}

/* What FusedElementwise's opcode computes, element by element (params.h): the reference its
 * vectorised blocks are held to. */
static float few_ref(int op, float a, float b)
{
    switch (op) {
    case KILN_FEW_ADD: return a + b;
    case KILN_FEW_SUB: return a - b;
    case KILN_FEW_MUL: return a * b;
    case KILN_FEW_DIV: return a / b;
    case KILN_FEW_MAX: return a < b || isnan(b) ? b : a;
    case KILN_FEW_MIN: return a > b || isnan(b) ? b : a;
    case KILN_FEW_POW: return (float)pow((double)a, (double)b);
    case KILN_FEW_LEAKY_RELU: return a < 0 ? b * a : a;
    case KILN_FEW_NEG: return -a;
    case KILN_FEW_ABS: return fabsf(a);
    case KILN_FEW_EXP: return expf(a);
    case KILN_FEW_LOG: return logf(a);
    case KILN_FEW_SQRT: return sqrtf(a);
    case KILN_FEW_RECIP: return 1.0f / a;
    case KILN_FEW_RELU: return kiln_act_relu_f(a, 0, 0);
    case KILN_FEW_SIGMOID: return kiln_act_sigmoid_f(a, 0, 0);
    case KILN_FEW_TANH: return kiln_act_tanh_f(a, 0, 0);
    case KILN_FEW_ERF: return erff(a);
    case KILN_FEW_GELU: return kiln_act_gelu_f(a, 0, 0);
    case KILN_FEW_FLOOR: return floorf(a);
    case KILN_FEW_CEIL: return ceilf(a);
    case KILN_FEW_FAST_EXP: return kiln_fast_expf(a);
    case KILN_FEW_FAST_SIGMOID: return kiln_act_fast_sigmoid_f(a, 0, 0);
    case KILN_FEW_FAST_TANH: return kiln_act_fast_tanh_f(a, 0, 0);
    case KILN_FEW_FAST_GELU: return kiln_act_fast_gelu_f(a, 0, 0);
    default: fail_msg("opcode %d has no reference", op);
    }
    return 0;
}

/* Every FusedElementwise opcode on two inputs (the edge values against each other) over
 * lengths 1-67 and across block boundaries, on the KILN_SIMD variant: the reference's bits. */
static void test_fused_elementwise_ops(void **state)
{
    (void)state;
    enum { LEN = 200 };
    float a[LEN], b[LEN], y[LEN];
    for (int i = 0; i < LEN; i++) {
        a[i] = i < N_IN ? inputs[i] : -30.0f + 0.31f * (float)i;
        b[i] = inputs[(i * 7 + 3) % N_IN];
    }
    static const int lens[] = {1, 2, 3, 5, 7, 8, 15, 16, 17, 31, 33, 63, 64, 65, 67, 129, LEN};
    for (int op = 0; op < KILN_FEW_OP_COUNT; op++)
        for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++) {
            int n = lens[l];
            struct kiln_p_fused_elementwise p = {.n_code = 1, .n_in = 2};
            memcpy(p.code[0], (uint8_t[]){(uint8_t)op, 2, 0, 1}, 4);
            struct kiln_tensor t[3] = {
                {.data = a, .dims = {n}, .rank = 1, .dtype = KILN_DTYPE_F32},
                {.data = b, .dims = {n}, .rank = 1, .dtype = KILN_DTYPE_F32},
                {.data = y, .dims = {n}, .rank = 1, .dtype = KILN_DTYPE_F32},
            };
            struct kiln_kernel_args args = {&p, t, t + 2, 2, 1, NULL, 0, NULL};
            kernel_for(KILN_OP_FUSED_ELEMENTWISE, KILN_DTYPE_F32)->fn(&args);
            for (int i = 0; i < n; i++)
                if (!same_bits(y[i], few_ref(op, a[i], b[i])))
                    fail_msg("opcode %d, length %d, at %d: %a op %a = %a, want %a", op, n, i, a[i],
                             b[i], y[i], few_ref(op, a[i], b[i]));
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_op_defaults),
        cmocka_unit_test(test_edges_float),
        cmocka_unit_test(test_edges_double),
        cmocka_unit_test(test_same_bits),
        cmocka_unit_test(test_silu_same_bits),
        cmocka_unit_test(test_vector_same_bits),
        cmocka_unit_test(test_vector_math_error),
        cmocka_unit_test(test_fused_elementwise_ops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
