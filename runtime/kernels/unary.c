/* unary.c - kernels of the one-input elementwise ops: activations (Relu, Sigmoid, Clip, Elu,
 * HardSwish, ...), math functions, rounding, sign and the NaN/Inf tests. One loop template
 * (UN_KERNEL) per dtype list; float16/bfloat16 compute through float. <tgmath.h> picks the
 * float or double libm function from the compute type, so float32 stays in float. */
#include <tgmath.h>

#include "elementwise.h"
#include "vact.h"

/* kiln_k_<op>_<s>: z[k] = EXPR, where EXPR reads the stored element xv and the attributes
 * pa, pb (struct kiln_p_unary a and b), which the statement PRE may replace first. */
#define UN_KERNEL_PRE(op, s, TI, TO, PRE, EXPR)                                                \
    static void kiln_k_##op##_##s(const struct kiln_kernel_args *a)                            \
    {                                                                                          \
        const struct kiln_p_unary *p = a->params;                                              \
        double pa = p ? p->a : 0, pb = p ? p->b : 0;                                           \
        PRE;                                                                                   \
        (void)pa, (void)pb;                                                                    \
        const TI *x = a->in[0].data;                                                           \
        TO *z = a->out[0].data;                                                                \
        const int64_t n = kiln_tensor_numel(&a->out[0]);                                       \
        for (int64_t k = 0; k < n; k++) {                                                      \
            const TI xv = x[k];                                                                \
            z[k] = EXPR;                                                                       \
        }                                                                                      \
    }
#define UN_KERNEL(op, s, TI, TO, EXPR) UN_KERNEL_PRE(op, s, TI, TO, (void)0, EXPR)

/* A float op written once over v (the widened value), with one/zero of v's type and the
 * attributes ca/cb in it: instantiated for the float and double compute types. */
#define FMATH(name, expr)                                                                      \
    static inline float name##_f(float v, double pa, double pb)                               \
    {                                                                                          \
        const float ca = (float)pa, cb = (float)pb, one = 1.0f, zero = 0.0f;                   \
        (void)ca, (void)cb, (void)one, (void)zero;                                             \
        return (float)(expr);                                                                  \
    }                                                                                          \
    static inline double name##_d(double v, double pa, double pb)                             \
    {                                                                                          \
        const double ca = pa, cb = pb, one = 1.0, zero = 0.0;                                  \
        (void)ca, (void)cb, (void)one, (void)zero;                                             \
        return expr;                                                                           \
    }

FMATH(exp, exp(v))
FMATH(log, log(v))
FMATH(sqrt, sqrt(v))
FMATH(reciprocal, one / v)
FMATH(floor, floor(v))
FMATH(ceil, ceil(v))
FMATH(round, rint(v)) /* the default rounding mode: half to even */
FMATH(erf, erf(v))
FMATH(sin, sin(v))
FMATH(cos, cos(v))
FMATH(tan, tan(v))
FMATH(asin, asin(v))
FMATH(acos, acos(v))
FMATH(atan, atan(v))
FMATH(sinh, sinh(v))
FMATH(cosh, cosh(v))
FMATH(asinh, asinh(v))
FMATH(acosh, acosh(v))
FMATH(atanh, atanh(v))
FMATH(abs, fabs(v))
FMATH(neg, -v)
FMATH(sign, v > zero ? one : v < zero ? -one : v) /* NaN stays NaN, like numpy */
/* The activations: the functions of actmath.h, shared with the fused epilogue (act.h) and
 * FusedElementwise; the attributes a, b are its alpha, beta (params.h) */
#define AMATH(name)                                                                            \
    static inline float name##_f(float v, double pa, double pb)                               \
    {                                                                                          \
        return kiln_act_##name##_f(v, (float)pa, (float)pb);                                   \
    }                                                                                          \
    static inline double name##_d(double v, double pa, double pb)                             \
    {                                                                                          \
        return kiln_act_##name##_d(v, pa, pb);                                                 \
    }
AMATH(relu)
AMATH(sigmoid)
AMATH(tanh)
AMATH(leaky_relu)
AMATH(elu)
AMATH(selu)
AMATH(celu)
AMATH(softplus)
AMATH(softsign)
AMATH(hard_sigmoid)
AMATH(hard_swish)
AMATH(thresholded_relu)
AMATH(mish)

/* Gelu (kiln's op, ONNX opset 20): pa approximate (0 "none": the Erf form, 1 "tanh"), pb
 * kiln_fast (the -O3 approximation of fastmath.h, computed in float) */
static inline float gelu_f(float v, double pa, double pb)
{
    if (pb != 0)
        return pa != 0 ? kiln_fast_gelu_tanhf(v) : kiln_act_fast_gelu_f(v, 0, 0);
    return pa != 0 ? kiln_act_gelu_tanh_f(v, 0, 0) : kiln_act_gelu_f(v, 0, 0);
}
static inline double gelu_d(double v, double pa, double pb)
{
    if (pb != 0)
        return gelu_f((float)v, pa, pb);
    return pa != 0 ? kiln_act_gelu_tanh_d(v, 0, 0) : kiln_act_gelu_d(v, 0, 0);
}

/* float kernels of an FMATH op: the compute type C picks name_f or name_d (by size, not
 * _Generic, so that the file stays C99 for the C emitter; the test is a constant) */
#define DEF_FMATH(op, s, DT, T, C, LD, ST)                                                     \
    UN_KERNEL(op, s, T, T,                                                                     \
              ST(sizeof(C) == sizeof(double) ? (C)op##_d(LD(xv), pa, pb)                       \
                                             : (C)op##_f((float)LD(xv), pa, pb)))
#define FLOAT_OPS(X)                                                                           \
    X(exp) X(log) X(sqrt) X(reciprocal) X(floor) X(ceil) X(round) X(erf) X(sin) X(cos) X(tan)  \
    X(asin) X(acos) X(atan) X(sinh) X(cosh) X(asinh) X(acosh) X(atanh) X(abs) X(neg) X(sign)   \
    X(gelu)
#define INST_FLOAT_OP(op) KILN_EW_FLOATS(DEF_FMATH, op)
FLOAT_OPS(INST_FLOAT_OP)

/* The activations of acts.def: float32 through vact.h's vector forms (which give the bits of
 * the scalar ones: the same result on every SIMD path and in the fused epilogues), the other
 * dtypes element by element. */
#define ACT_OPS(X)                                                                             \
    X(relu, RELU) X(sigmoid, SIGMOID) X(tanh, TANH) X(leaky_relu, LEAKY_RELU) X(elu, ELU)      \
    X(selu, SELU) X(celu, CELU) X(softplus, SOFTPLUS) X(softsign, SOFTSIGN)                    \
    X(hard_sigmoid, HARD_SIGMOID) X(hard_swish, HARD_SWISH)                                    \
    X(thresholded_relu, THRESHOLDED_RELU) X(mish, MISH)
#define DEF_AMATH(op, s, DT, T, C, LD, ST) DEF_AMATH_##s(op, s, DT, T, C, LD, ST)
#define DEF_AMATH_f64 DEF_FMATH
#define DEF_AMATH_f16 DEF_FMATH
#define DEF_AMATH_bf16 DEF_FMATH
#define DEF_AMATH_f32(op, s, DT, T, C, LD, ST)                                                 \
    static void kiln_k_##op##_f32(const struct kiln_kernel_args *a)                            \
    {                                                                                          \
        const struct kiln_p_unary *p = a->params;                                              \
        struct kiln_act act = {ACT_KIND_##op, p ? (float)p->a : 0.0f, p ? (float)p->b : 0.0f,  \
                               0};                                                             \
        kiln_vact_map(&act, a->in[0].data, a->out[0].data, kiln_tensor_numel(&a->out[0]));    \
    }
#define INST_ACT_OP(op, KIND)                                                                  \
    enum { ACT_KIND_##op = KILN_ACT_##KIND };                                                  \
    KILN_EW_FLOATS(DEF_AMATH, op)
ACT_OPS(INST_ACT_OP)

/* integer forms, computed in the element's own type */
#define DEF_RELU_S(op, s, DT, T, C, LD, ST) UN_KERNEL(op, s, T, T, xv < 0 ? (T)0 : xv)
#define DEF_NEG_S(op, s, DT, T, C, LD, ST) UN_KERNEL(op, s, T, T, (T)-xv)
#define DEF_ABS_S(op, s, DT, T, C, LD, ST) UN_KERNEL(op, s, T, T, xv < 0 ? (T)-xv : xv)
#define DEF_ABS_U(op, s, DT, T, C, LD, ST) UN_KERNEL(op, s, T, T, xv)
#define DEF_SIGN_S(op, s, DT, T, C, LD, ST) UN_KERNEL(op, s, T, T, (T)((xv > 0) - (xv < 0)))
#define DEF_SIGN_U(op, s, DT, T, C, LD, ST) UN_KERNEL(op, s, T, T, (T)(xv > 0))
KILN_EW_SINTS(DEF_RELU_S, relu)
KILN_EW_SINTS(DEF_NEG_S, neg)
KILN_EW_SINTS(DEF_ABS_S, abs)
KILN_EW_UINTS(DEF_ABS_U, abs)
KILN_EW_SINTS(DEF_SIGN_S, sign)
KILN_EW_UINTS(DEF_SIGN_U, sign)

/* Clip = min(max(x, lo), hi) as ONNX defines it (hi wins when lo > hi; NaN passes through);
 * Shrink. Both compare in double so that an integer input never converts an infinite bound. */
static inline double clip_d(double v, double lo, double hi)
{
    v = v < lo ? lo : v;
    return v > hi ? hi : v;
}
static inline double shrink_d(double v, double lambd, double bias)
{
    return v < -lambd ? v + bias : v > lambd ? v - bias : 0.0;
}
/* Clip's bounds: the params' (folded constants, or none), or inputs 1 and 2 when the compiler
 * passed them (computed at run time; one element each, of x's type). */
#define CLIP_BOUNDS(T, LD)                                                                     \
    do {                                                                                       \
        if (a->n_in > 1 && a->in[1].data)                                                      \
            pa = (double)LD(*(const T *)a->in[1].data);                                        \
        if (a->n_in > 2 && a->in[2].data)                                                      \
            pb = (double)LD(*(const T *)a->in[2].data);                                        \
    } while (0)
#define DEF_CLIP(op, s, DT, T, C, LD, ST)                                                      \
    UN_KERNEL_PRE(op, s, T, T, CLIP_BOUNDS(T, LD),                                             \
                  ((double)LD(xv) < pa || (double)LD(xv) > pb)                                 \
                      ? ST((C)clip_d((double)LD(xv), pa, pb))                                  \
                      : xv)
#define DEF_SHRINK(op, s, DT, T, C, LD, ST)                                                    \
    UN_KERNEL(op, s, T, T, ST((C)shrink_d((double)LD(xv), pa, pb)))
KILN_EW_NUMERIC(DEF_CLIP, clip)
KILN_EW_NUMERIC(DEF_SHRINK, shrink)

/* to bool: IsNaN, IsInf (pa: detect_positive, pb: detect_negative), Not */
#define DEF_ISNAN(op, s, DT, T, C, LD, ST) UN_KERNEL(op, s, T, uint8_t, (uint8_t)isnan(LD(xv)))
#define DEF_ISINF(op, s, DT, T, C, LD, ST)                                                     \
    UN_KERNEL(op, s, T, uint8_t, (uint8_t)(isinf(LD(xv)) && (LD(xv) > 0 ? pa != 0 : pb != 0)))
#define DEF_NOT(op, s, DT, T, C, LD, ST) UN_KERNEL(op, s, T, uint8_t, (uint8_t)!xv)
KILN_EW_FLOATS(DEF_ISNAN, isnan)
KILN_EW_FLOATS(DEF_ISINF, isinf)
KILN_EW_BOOL(DEF_NOT, not)
/* BitwiseNot (opset 18), in the element's own type */
#define DEF_BITNOT(op, s, DT, T, C, LD, ST) UN_KERNEL(op, s, T, T, (T)~xv)
KILN_EW_INTS(DEF_BITNOT, bitwise_not)

/* ---- registration ---- */
#define REG_FLOATS(op) KILN_KERNELS(op, KILN_EW_FLOATS(KILN_EW_REG, op));
REG_FLOATS(sigmoid)
REG_FLOATS(tanh)
REG_FLOATS(leaky_relu)
REG_FLOATS(exp)
REG_FLOATS(log)
REG_FLOATS(sqrt)
REG_FLOATS(reciprocal)
REG_FLOATS(floor)
REG_FLOATS(ceil)
REG_FLOATS(round)
REG_FLOATS(erf)
REG_FLOATS(sin)
REG_FLOATS(cos)
REG_FLOATS(tan)
REG_FLOATS(asin)
REG_FLOATS(acos)
REG_FLOATS(atan)
REG_FLOATS(sinh)
REG_FLOATS(cosh)
REG_FLOATS(asinh)
REG_FLOATS(acosh)
REG_FLOATS(atanh)
REG_FLOATS(elu)
REG_FLOATS(selu)
REG_FLOATS(celu)
REG_FLOATS(softplus)
REG_FLOATS(softsign)
REG_FLOATS(hard_sigmoid)
REG_FLOATS(hard_swish)
REG_FLOATS(thresholded_relu)
REG_FLOATS(isnan)
REG_FLOATS(isinf)
REG_FLOATS(gelu)
REG_FLOATS(mish)
KILN_KERNELS(bitwise_not, KILN_EW_INTS(KILN_EW_REG, bitwise_not));
KILN_KERNELS(relu, KILN_EW_SIGNED(KILN_EW_REG, relu));
KILN_KERNELS(neg, KILN_EW_SIGNED(KILN_EW_REG, neg));
KILN_KERNELS(abs, KILN_EW_NUMERIC(KILN_EW_REG, abs));
KILN_KERNELS(sign, KILN_EW_NUMERIC(KILN_EW_REG, sign));
KILN_KERNELS(clip, KILN_EW_NUMERIC(KILN_EW_REG, clip));
KILN_KERNELS(shrink, KILN_EW_NUMERIC(KILN_EW_REG, shrink));
KILN_KERNELS(not, KILN_EW_BOOL(KILN_EW_REG, not));
