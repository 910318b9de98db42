/* cast.c - Cast and CastLike between kiln's element types (float8 only as a source: the
 * compiler refuses float8 targets). The kernel is picked
 * by the source type and switches once on the destination type; each element goes through
 * the widest value of its class (double for floats, int64/uint64 for integers), so integers
 * convert exactly and floats round once. Float to integer truncates toward zero like C; NaN
 * gives 0 and out-of-range values saturate (ONNX leaves both undefined). Float to bool is
 * x != 0. float16/bfloat16 round to nearest even through float. */
#include <math.h>

#include "elementwise.h"

static inline int64_t f_to_i64(double v)
{
    if (isnan(v))
        return 0;
    if (v >= 9223372036854775808.0)
        return INT64_MAX;
    if (v < -9223372036854775808.0)
        return INT64_MIN;
    return (int64_t)v;
}

static inline int wrap4(uint64_t v, int is_signed)
{
    int low = (int)(v & 0xf);
    return is_signed && low >= 8 ? low - 16 : low;
}

static inline uint64_t f_to_u64(double v)
{
    if (v < 0)
        return (uint64_t)f_to_i64(v); /* negative: wraps like numpy's int64 route */
    if (isnan(v))
        return 0;
    return v >= 18446744073709551616.0 ? UINT64_MAX : (uint64_t)v;
}

/* Source classes: F (load as double), S (int64), U (uint64). The widened value w converts to
 * the destination by CV_<dst class>_<src class>(T, w). */
#define CV_NAT_F(T, w) (T)(w)
#define CV_NAT_S(T, w) (T)(w)
#define CV_NAT_U(T, w) (T)(w)
#define CV_F16_F(T, w) kiln_f32_to_f16((float)(w))
#define CV_F16_S(T, w) kiln_f32_to_f16((float)(w))
#define CV_F16_U(T, w) kiln_f32_to_f16((float)(w))
#define CV_BF16_F(T, w) kiln_f32_to_bf16((float)(w))
#define CV_BF16_S(T, w) kiln_f32_to_bf16((float)(w))
#define CV_BF16_U(T, w) kiln_f32_to_bf16((float)(w))
#define CV_BOOL_F(T, w) (T)((w) != 0)
#define CV_BOOL_S(T, w) (T)((w) != 0)
#define CV_BOOL_U(T, w) (T)((w) != 0)
#define CV_SINT_F(T, w) (T)f_to_i64(w)
#define CV_SINT_S(T, w) (T)(w)
#define CV_SINT_U(T, w) (T)(w)
#define CV_UINT_F(T, w) (T)f_to_u64(w)
#define CV_UINT_S(T, w) (T)(w)
#define CV_UINT_U(T, w) (T)(w)
/* to int4/uint4 (opset 21; ONNX leaves out-of-range values undefined): as ONNX Runtime 1.30
 * does, floats round to the nearest integer (half to even), and the low 4 bits are kept,
 * int4 sign-extended into its byte */
#define CV_SINT4_F(T, w) (T)wrap4((uint64_t)f_to_i64(rint(w)), 1)
#define CV_SINT4_S(T, w) (T)wrap4((uint64_t)(w), 1)
#define CV_SINT4_U(T, w) (T)wrap4((uint64_t)(w), 1)
#define CV_UINT4_F(T, w) (T)wrap4((uint64_t)f_to_i64(rint(w)), 0)
#define CV_UINT4_S(T, w) (T)wrap4((uint64_t)(w), 0)
#define CV_UINT4_U(T, w) (T)wrap4((uint64_t)(w), 0)

/* float8 sources widen through float (dtype.c) */
#define F8_WIDEN(DT)                                                                           \
    static inline double widen_##DT(uint8_t v)                                                 \
    {                                                                                          \
        return kiln_f8_to_f32(v, KILN_DTYPE_##DT);                                             \
    }
F8_WIDEN(F8E4M3FN)
F8_WIDEN(F8E4M3FNUZ)
F8_WIDEN(F8E5M2)
F8_WIDEN(F8E5M2FNUZ)

/* SRC(X): X(short, DTYPE, storage_t, class, widen) */
#define SRC_TYPES(X)                                                                           \
    X(f32, F32, float, F, (double))                                                            \
    X(f64, F64, double, F, (double))                                                           \
    X(f16, F16, uint16_t, F, (double)kiln_f16_to_f32)                                          \
    X(bf16, BF16, uint16_t, F, (double)kiln_bf16_to_f32)                                       \
    X(i8, I8, int8_t, S, (int64_t))                                                            \
    X(i16, I16, int16_t, S, (int64_t))                                                         \
    X(i32, I32, int32_t, S, (int64_t))                                                         \
    X(i64, I64, int64_t, S, (int64_t))                                                         \
    X(u8, U8, uint8_t, U, (uint64_t))                                                          \
    X(u16, U16, uint16_t, U, (uint64_t))                                                       \
    X(u32, U32, uint32_t, U, (uint64_t))                                                       \
    X(u64, U64, uint64_t, U, (uint64_t))                                                       \
    X(b8, BOOL, uint8_t, U, (uint64_t))                                                        \
    X(i4, I4, int8_t, S, (int64_t))                                                            \
    X(u4, U4, uint8_t, U, (uint64_t))                                                          \
    X(f8e4m3fn, F8E4M3FN, uint8_t, F, widen_F8E4M3FN)                                          \
    X(f8e4m3fnuz, F8E4M3FNUZ, uint8_t, F, widen_F8E4M3FNUZ)                                    \
    X(f8e5m2, F8E5M2, uint8_t, F, widen_F8E5M2)                                                \
    X(f8e5m2fnuz, F8E5M2FNUZ, uint8_t, F, widen_F8E5M2FNUZ)
/* DST(Y, src...): Y(src..., DTYPE, storage_t, class) */
#define DST_TYPES(Y, ...)                                                                      \
    Y(__VA_ARGS__, F32, float, NAT)                                                            \
    Y(__VA_ARGS__, F64, double, NAT)                                                           \
    Y(__VA_ARGS__, F16, uint16_t, F16)                                                         \
    Y(__VA_ARGS__, BF16, uint16_t, BF16)                                                       \
    Y(__VA_ARGS__, I8, int8_t, SINT)                                                           \
    Y(__VA_ARGS__, I16, int16_t, SINT)                                                         \
    Y(__VA_ARGS__, I32, int32_t, SINT)                                                         \
    Y(__VA_ARGS__, I64, int64_t, SINT)                                                         \
    Y(__VA_ARGS__, U8, uint8_t, UINT)                                                          \
    Y(__VA_ARGS__, U16, uint16_t, UINT)                                                        \
    Y(__VA_ARGS__, U32, uint32_t, UINT)                                                        \
    Y(__VA_ARGS__, U64, uint64_t, UINT)                                                        \
    Y(__VA_ARGS__, BOOL, uint8_t, BOOL)                                                        \
    Y(__VA_ARGS__, I4, int8_t, SINT4)                                                          \
    Y(__VA_ARGS__, U4, uint8_t, UINT4)

#define CAST_CASE(T, K, WIDEN, DDT, TD, DK)                                                    \
    case KILN_DTYPE_##DDT: {                                                                   \
        TD *z = a->out[0].data;                                                                \
        for (int64_t k = 0; k < n; k++)                                                        \
            z[k] = CV_##DK##_##K(TD, WIDEN(x[k]));                                             \
        break;                                                                                 \
    }
#define CAST_KERNEL(s, DT, T, K, WIDEN)                                                        \
    static void kiln_k_cast_##s(const struct kiln_kernel_args *a)                              \
    {                                                                                          \
        const T *x = a->in[0].data;                                                            \
        const int64_t n = kiln_tensor_numel(&a->out[0]);                                       \
        switch (a->out[0].dtype) {                                                             \
            DST_TYPES(CAST_CASE, T, K, WIDEN)                                                  \
        default: break; /* the compiler only emits kiln's types */                            \
        }                                                                                      \
    }
SRC_TYPES(CAST_KERNEL)

#define CAST_REG(s, DT, T, K, WIDEN) KILN_K(kiln_k_cast_##s, DT),
KILN_KERNELS(cast, SRC_TYPES(CAST_REG));
KILN_KERNELS(cast_like, SRC_TYPES(CAST_REG));
