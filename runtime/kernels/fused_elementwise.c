/* fused_elementwise.c - FusedElementwise: runs its bytecode program (params.h, validated by the
 * compiler) over blocks of elements: each instruction sweeps a block of registers, so the inner
 * loops are plain array loops and the intermediates of the fused chain never leave the stack.
 * Each op computes what its standalone kernel does for float32: the activations with the
 * standalone kernels' functions (vact.h's vector forms, which give actmath.h's bits), the
 * arithmetic as loops over whole blocks that the compiler vectorises, one instance per SIMD
 * variant (target attributes, chosen with the GEMM's variant; plain C in emitted C). */
#include <math.h>

#include "kernels.h"
#include "vact.h"

#define FEW_BLOCK 64

static inline float few_apply(int op, float a, float b)
{
    switch (op) {
    case KILN_FEW_ADD: return a + b;
    case KILN_FEW_SUB: return a - b;
    case KILN_FEW_MUL: return a * b;
    case KILN_FEW_DIV: return a / b;
    case KILN_FEW_MAX: return a < b || isnan(b) ? b : a; /* Max/Min propagate NaN */
    case KILN_FEW_MIN: return a > b || isnan(b) ? b : a;
    case KILN_FEW_POW: return (float)pow((double)a, (double)b);
    case KILN_FEW_LEAKY_RELU: return kiln_act_leaky_relu_f(a, b, 0);
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
    default: return a;
    }
}

/* The activation kind of a FusedElementwise opcode, or NONE. */
static int few_act(int op)
{
    switch (op) {
    case KILN_FEW_RELU: return KILN_ACT_RELU;
    case KILN_FEW_SIGMOID: return KILN_ACT_SIGMOID;
    case KILN_FEW_TANH: return KILN_ACT_TANH;
    case KILN_FEW_GELU: return KILN_ACT_GELU;
    case KILN_FEW_FAST_SIGMOID: return KILN_ACT_FAST_SIGMOID;
    case KILN_FEW_FAST_TANH: return KILN_ACT_FAST_TANH;
    case KILN_FEW_FAST_GELU: return KILN_ACT_FAST_GELU;
    default: return KILN_ACT_NONE;
    }
}

/* t[j] = EXPR of a = ra[j], b = rb[j] over the whole block: a constant trip count and no
 * aliasing (t is a temporary), so the loop vectorises */
#define FEW_LOOP(EXPR)                                                                         \
    for (int j = 0; j < FEW_BLOCK; j++) {                                                      \
        float a = ra[j], b = rb[j];                                                            \
        (void)b;                                                                               \
        t[j] = (EXPR);                                                                         \
    }                                                                                          \
    break;

/* One instance per SIMD variant: the program over one block of registers. */
#define FEW_PROGRAM(sfx, ATTR)                                                                 \
    static ATTR void few_program_##sfx(const struct kiln_p_fused_elementwise *p,                \
                                       float reg[][FEW_BLOCK], float cst[][FEW_BLOCK])          \
    {                                                                                          \
        float t[FEW_BLOCK];                                                                    \
        for (int i = 0; i < p->n_code; i++) {                                                  \
            const uint8_t *ins = p->code[i];                                                   \
            const float *ra =                                                                  \
                ins[2] >= KILN_FEW_CONST ? cst[ins[2] - KILN_FEW_CONST] : reg[ins[2]];         \
            const float *rb =                                                                  \
                ins[3] >= KILN_FEW_CONST ? cst[ins[3] - KILN_FEW_CONST] : reg[ins[3]];         \
            float *rd = reg[ins[1]];                                                           \
            int kind = few_act(ins[0]);                                                        \
            if (kind != KILN_ACT_NONE) {                                                       \
                struct kiln_act act = {kind, 0.0f, 0.0f, 0};                                   \
                kiln_vact_map(&act, ra, rd, FEW_BLOCK);                                        \
                continue;                                                                      \
            }                                                                                  \
            switch (ins[0]) {                                                                  \
            case KILN_FEW_ADD: FEW_LOOP(a + b)                                                 \
            case KILN_FEW_SUB: FEW_LOOP(a - b)                                                 \
            case KILN_FEW_MUL: FEW_LOOP(a * b)                                                 \
            case KILN_FEW_DIV: FEW_LOOP(a / b)                                                 \
            case KILN_FEW_MAX: FEW_LOOP(a < b || b != b ? b : a)                               \
            case KILN_FEW_MIN: FEW_LOOP(a > b || b != b ? b : a)                               \
            case KILN_FEW_LEAKY_RELU: FEW_LOOP(a < 0 ? b * a : a)                              \
            case KILN_FEW_NEG: FEW_LOOP(-a)                                                    \
            case KILN_FEW_ABS: FEW_LOOP(fabsf(a))                                              \
            case KILN_FEW_RECIP: FEW_LOOP(1.0f / a)                                            \
            default: FEW_LOOP(few_apply(ins[0], a, b))                                         \
            }                                                                                  \
            memcpy(rd, t, sizeof t);                                                           \
        }                                                                                      \
    }

FEW_PROGRAM(portable, )
#if defined(__x86_64__) && !defined(KILN_EMITTED) && defined(__GNUC__)
#define FEW_DISPATCH 1
FEW_PROGRAM(avx2, __attribute__((target("avx2"))))
FEW_PROGRAM(avx512, __attribute__((target("avx512f"))))
#endif

static void kiln_k_fused_elementwise_f32(const struct kiln_kernel_args *a)
{
    const struct kiln_p_fused_elementwise *p = a->params;
    float reg[KILN_FEW_MAX_REGS][FEW_BLOCK], cst[KILN_FEW_MAX_CONSTS][FEW_BLOCK];
    for (int c = 0; c < KILN_FEW_MAX_CONSTS; c++)
        for (int j = 0; j < FEW_BLOCK; j++)
            cst[c][j] = p->consts[c];
    void (*run)(const struct kiln_p_fused_elementwise *, float[][FEW_BLOCK],
                float[][FEW_BLOCK]) = few_program_portable;
#ifdef FEW_DISPATCH
    enum kiln_gemm_isa isa = kiln_gemm_isa_active();
    run = isa == KILN_GEMM_ISA_AVX512 ? few_program_avx512
          : isa == KILN_GEMM_ISA_AVX2 ? few_program_avx2
                                      : few_program_portable;
#endif
    const int64_t n = kiln_tensor_numel(&a->out[0]);
    float *y = a->out[0].data;
    int out = p->code[p->n_code - 1][1];
    for (int64_t k0 = 0; k0 < n; k0 += FEW_BLOCK) {
        int len = n - k0 < FEW_BLOCK ? (int)(n - k0) : FEW_BLOCK;
        for (int i = 0; i < p->n_in; i++) {
            const float *x = (const float *)a->in[i].data + k0;
            memcpy(reg[i], x, (size_t)len * sizeof(float));
            /* the lanes past the end compute on zeros and are dropped */
            for (int j = len; j < FEW_BLOCK; j++)
                reg[i][j] = 0.0f;
        }
        run(p, reg, cst);
        memcpy(y + k0, reg[out], (size_t)len * sizeof(float));
    }
}

KILN_KERNELS(fused_elementwise, KILN_K(kiln_k_fused_elementwise_f32, F32));
