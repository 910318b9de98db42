/* fused_elementwise.c - FusedElementwise: runs its bytecode program (params.h, validated by the
 * compiler) over blocks of elements: each instruction sweeps a block of registers, so the inner
 * loops are plain array loops and the intermediates of the fused chain never leave the stack.
 * Each op computes what its standalone kernel does for float32: the activations with the
 * standalone kernels' functions (actmath.h). */
#include <math.h>

#include "actmath.h"
#include "kernels.h"

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

static void kiln_k_fused_elementwise_f32(const struct kiln_kernel_args *a)
{
    const struct kiln_p_fused_elementwise *p = a->params;
    float reg[KILN_FEW_MAX_REGS][FEW_BLOCK], cst[KILN_FEW_MAX_CONSTS][FEW_BLOCK];
    for (int c = 0; c < KILN_FEW_MAX_CONSTS; c++)
        for (int j = 0; j < FEW_BLOCK; j++)
            cst[c][j] = p->consts[c];
    const int64_t n = kiln_tensor_numel(&a->out[0]);
    float *y = a->out[0].data;
    int out = p->code[p->n_code - 1][1];
    for (int64_t k0 = 0; k0 < n; k0 += FEW_BLOCK) {
        int len = n - k0 < FEW_BLOCK ? (int)(n - k0) : FEW_BLOCK;
        for (int i = 0; i < p->n_in; i++) {
            const float *x = (const float *)a->in[i].data + k0;
            for (int j = 0; j < len; j++)
                reg[i][j] = x[j];
        }
        for (int i = 0; i < p->n_code; i++) {
            const uint8_t *ins = p->code[i];
            const float *ra = ins[2] >= KILN_FEW_CONST ? cst[ins[2] - KILN_FEW_CONST] : reg[ins[2]];
            const float *rb = ins[3] >= KILN_FEW_CONST ? cst[ins[3] - KILN_FEW_CONST] : reg[ins[3]];
            float *rd = reg[ins[1]];
            for (int j = 0; j < len; j++)
                rd[j] = few_apply(ins[0], ra[j], rb[j]);
        }
        for (int j = 0; j < len; j++)
            y[k0 + j] = reg[out][j];
    }
}

KILN_KERNELS(fused_elementwise, KILN_K(kiln_k_fused_elementwise_f32, F32));
