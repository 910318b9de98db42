/* binary.c - kernels of the broadcasting elementwise ops with two or more inputs: arithmetic
 * (Add ... Mod, Pow, PRelu, BitShift), comparisons, logic, the variadic Max/Min/Sum/Mean and
 * Where. One row template (bin_core) serves every op and dtype; float16/bfloat16 compute
 * through float. Integer division and modulo by zero give 0 instead of trapping, so constant
 * folding of a bad model cannot crash the compiler. */
#include <math.h>

#include "elementwise.h"

/* Defines `static void name##_core(x, y, out, flag)`: out = F(x, y) with numpy broadcasting.
 * F(LD, ST, C, a, b) maps two stored elements to a stored result; `flag` is visible to it. */
#define BIN_CORE(name, TA, TB, TO, C, LD, ST, F)                                               \
    static void name##_core(const struct kiln_tensor *ta, const struct kiln_tensor *tb,        \
                            const struct kiln_tensor *to, int32_t flag)                        \
    {                                                                                          \
        (void)flag;                                                                            \
        const struct kiln_tensor *ops[2] = {ta, tb};                                           \
        struct kiln_ew e;                                                                      \
        kiln_ew_init(&e, to, ops, 2);                                                          \
        const TA *x = ta->data;                                                                \
        const TB *y = tb->data;                                                                \
        TO *z = to->data;                                                                      \
        const int64_t n = e.len, sx = e.inner[0], sy = e.inner[1];                             \
        for (int64_t r = 0; r < e.rows; r++, z += n) {                                         \
            const TA *xr = x + e.off[0];                                                       \
            const TB *yr = y + e.off[1];                                                       \
            if (sx == 1 && sy == 1) {                                                          \
                for (int64_t k = 0; k < n; k++)                                                \
                    z[k] = F(LD, ST, C, xr[k], yr[k]);                                         \
            } else if (sx == 0 && sy == 1) {                                                   \
                const TA xv = xr[0];                                                           \
                (void)xv;                                                                      \
                for (int64_t k = 0; k < n; k++)                                                \
                    z[k] = F(LD, ST, C, xv, yr[k]);                                            \
            } else if (sx == 1 && sy == 0) {                                                   \
                const TB yv = yr[0];                                                           \
                (void)yv;                                                                      \
                for (int64_t k = 0; k < n; k++)                                                \
                    z[k] = F(LD, ST, C, xr[k], yv);                                            \
            } else {                                                                           \
                for (int64_t k = 0; k < n; k++)                                                \
                    z[k] = F(LD, ST, C, xr[k * sx], yr[k * sy]);                               \
            }                                                                                  \
            kiln_ew_next(&e);                                                                  \
        }                                                                                      \
    }

/* B viewed with p->b_trailing size-1 axes appended: the pre-opset-7 `axis` broadcast. */
static struct kiln_tensor operand_b(const struct kiln_kernel_args *a)
{
    const struct kiln_p_binary *p = a->params;
    struct kiln_tensor t = a->in[1];
    for (int32_t i = 0; p && i < p->b_trailing && t.rank < KILN_MAX_RANK; i++)
        t.dims[t.rank++] = 1;
    return t;
}

/* A two-input kernel kiln_k_<op>_<s> over bin_core. */
#define BIN_KERNEL(op, s, TA, TO, C, LD, ST, F)                                                \
    BIN_CORE(kiln_k_##op##_##s, TA, TA, TO, C, LD, ST, F)                                      \
    static void kiln_k_##op##_##s(const struct kiln_kernel_args *a)                            \
    {                                                                                          \
        const struct kiln_p_binary *p = a->params;                                             \
        struct kiln_tensor b = operand_b(a);                                                   \
        kiln_k_##op##_##s##_core(&a->in[0], &b, &a->out[0], p ? p->flag : 0);                  \
    }

/* Instantiators for the dtype lists: result of the input's type, or bool. */
#define DEF_SAME(op, s, DT, T, C, LD, ST) BIN_KERNEL(op, s, T, T, C, LD, ST, OP_##op)
#define DEF_SAME_INT(op, s, DT, T, C, LD, ST) BIN_KERNEL(op, s, T, T, C, LD, ST, OP_##op##_int)
#define DEF_SAME_UINT(op, s, DT, T, C, LD, ST) BIN_KERNEL(op, s, T, T, C, LD, ST, OP_##op##_uint)
#define DEF_BOOL(op, s, DT, T, C, LD, ST) BIN_KERNEL(op, s, T, uint8_t, C, LD, ST, OP_##op)

/* ---- the operations: F(LD, ST, C, a, b) ---- */
#define OP_add(LD, ST, C, a, b) ST((C)(LD(a) + LD(b)))
#define OP_sub(LD, ST, C, a, b) ST((C)(LD(a) - LD(b)))
#define OP_mul(LD, ST, C, a, b) ST((C)(LD(a) * LD(b)))
#define OP_div(LD, ST, C, a, b) ST(LD(a) / LD(b))
#define OP_div_int(LD, ST, C, a, b) ((b) ? (C)((a) / (b)) : (C)0)
/* floats: C fmod (the only form ONNX allows for floats) */
#define OP_mod(LD, ST, C, a, b) ST((C)fmod(LD(a), LD(b)))
/* signed ints: fmod=1 keeps the dividend's sign (C %), fmod=0 the divisor's (Python) */
#define OP_mod_int(LD, ST, C, a, b) ((b) ? (C)smod((int64_t)(a), (int64_t)(b), flag) : (C)0)
#define OP_mod_uint(LD, ST, C, a, b) ((b) ? (C)((a) % (b)) : (C)0)
#define OP_prelu(LD, ST, C, a, b) (LD(a) < 0 ? ST((C)(LD(a) * LD(b))) : (a))
#define OP_prelu_uint(LD, ST, C, a, b) (a)
/* flag: 0 left, 1 right; shifting by the width or more gives 0 */
#define OP_bitshift_uint(LD, ST, C, a, b)                                                      \
    ((b) >= sizeof(C) * 8 ? (C)0 : flag ? (C)((a) >> (b)) : (C)((a) << (b)))
/* Max/Min propagate NaN like numpy */
#define OP_max(LD, ST, C, a, b) ((isnan(LD(a)) || LD(a) > LD(b)) ? (a) : (b))
#define OP_min(LD, ST, C, a, b) ((isnan(LD(a)) || LD(a) < LD(b)) ? (a) : (b))
#define OP_max_int(LD, ST, C, a, b) ((a) > (b) ? (a) : (b))
#define OP_min_int(LD, ST, C, a, b) ((a) < (b) ? (a) : (b))
#define OP_equal(LD, ST, C, a, b) (uint8_t)(LD(a) == LD(b))
#define OP_less(LD, ST, C, a, b) (uint8_t)(LD(a) < LD(b))
#define OP_less_or_equal(LD, ST, C, a, b) (uint8_t)(LD(a) <= LD(b))
#define OP_greater(LD, ST, C, a, b) (uint8_t)(LD(a) > LD(b))
#define OP_greater_or_equal(LD, ST, C, a, b) (uint8_t)(LD(a) >= LD(b))
#define OP_and(LD, ST, C, a, b) (uint8_t)((a) && (b))
#define OP_or(LD, ST, C, a, b) (uint8_t)((a) || (b))
#define OP_xor(LD, ST, C, a, b) (uint8_t)(!(a) != !(b))
/* BitwiseAnd/Or/Xor (opset 18) */
#define OP_bitwise_and(LD, ST, C, a, b) (C)((a) & (b))
#define OP_bitwise_or(LD, ST, C, a, b) (C)((a) | (b))
#define OP_bitwise_xor(LD, ST, C, a, b) (C)((a) ^ (b))

static inline int64_t smod(int64_t a, int64_t b, int32_t fmod_flag)
{
    if (b == -1)
        return 0; /* also avoids INT64_MIN % -1 */
    int64_t r = a % b;
    if (!fmod_flag && r != 0 && ((r < 0) != (b < 0)))
        r += b;
    return r;
}

KILN_EW_NUMERIC(DEF_SAME, add)
KILN_EW_NUMERIC(DEF_SAME, sub)
KILN_EW_NUMERIC(DEF_SAME, mul)
KILN_EW_FLOATS(DEF_SAME, div)
KILN_EW_INTS(DEF_SAME_INT, div)
KILN_EW_FLOATS(DEF_SAME, mod)
KILN_EW_SINTS(DEF_SAME_INT, mod)
KILN_EW_UINTS(DEF_SAME_UINT, mod)
KILN_EW_SIGNED(DEF_SAME, prelu)
KILN_EW_UINTS(DEF_SAME_UINT, prelu)
KILN_EW_UINTS(DEF_SAME_UINT, bitshift)
KILN_EW_ALL(DEF_BOOL, equal)
KILN_EW_NUMERIC(DEF_BOOL, less)
KILN_EW_NUMERIC(DEF_BOOL, less_or_equal)
KILN_EW_NUMERIC(DEF_BOOL, greater)
KILN_EW_NUMERIC(DEF_BOOL, greater_or_equal)
KILN_EW_BOOL(DEF_BOOL, and)
KILN_EW_BOOL(DEF_BOOL, or)
KILN_EW_BOOL(DEF_BOOL, xor)
KILN_EW_INTS(DEF_SAME, bitwise_and)
KILN_EW_INTS(DEF_SAME, bitwise_or)
KILN_EW_INTS(DEF_SAME, bitwise_xor)

KILN_KERNELS(add, KILN_EW_NUMERIC(KILN_EW_REG, add));
KILN_KERNELS(sub, KILN_EW_NUMERIC(KILN_EW_REG, sub));
KILN_KERNELS(mul, KILN_EW_NUMERIC(KILN_EW_REG, mul));
KILN_KERNELS(div, KILN_EW_NUMERIC(KILN_EW_REG, div));
KILN_KERNELS(mod, KILN_EW_NUMERIC(KILN_EW_REG, mod));
KILN_KERNELS(prelu, KILN_EW_NUMERIC(KILN_EW_REG, prelu));
KILN_KERNELS(bitshift, KILN_EW_UINTS(KILN_EW_REG, bitshift));
KILN_KERNELS(bitwise_and, KILN_EW_INTS(KILN_EW_REG, bitwise_and));
KILN_KERNELS(bitwise_or, KILN_EW_INTS(KILN_EW_REG, bitwise_or));
KILN_KERNELS(bitwise_xor, KILN_EW_INTS(KILN_EW_REG, bitwise_xor));
KILN_KERNELS(equal, KILN_EW_ALL(KILN_EW_REG, equal));
KILN_KERNELS(less, KILN_EW_NUMERIC(KILN_EW_REG, less));
KILN_KERNELS(less_or_equal, KILN_EW_NUMERIC(KILN_EW_REG, less_or_equal));
KILN_KERNELS(greater, KILN_EW_NUMERIC(KILN_EW_REG, greater));
KILN_KERNELS(greater_or_equal, KILN_EW_NUMERIC(KILN_EW_REG, greater_or_equal));
KILN_KERNELS(and, KILN_EW_BOOL(KILN_EW_REG, and));
KILN_KERNELS(or, KILN_EW_BOOL(KILN_EW_REG, or));
KILN_KERNELS(xor, KILN_EW_BOOL(KILN_EW_REG, xor));

/* ---- Pow: the exponent may have any numeric type (opset 12), so it is read as double
 * through a per-dtype loader chosen once per call; the base selects the kernel. ---- */
typedef double (*load_f64_fn)(const void *p, int64_t i);
#define DEF_LOAD_F64(op, s, DT, T, C, LD, ST)                                                  \
    static double load_f64_##s(const void *p, int64_t i) { return (double)LD(((const T *)p)[i]); }
KILN_EW_NUMERIC(DEF_LOAD_F64, _)

static load_f64_fn loader_f64(int dtype)
{
    switch (dtype) {
#define LOADER_CASE(op, s, DT, T, C, LD, ST) case KILN_DTYPE_##DT: return load_f64_##s;
        KILN_EW_NUMERIC(LOADER_CASE, _)
#undef LOADER_CASE
    default: return load_f64_f64;
    }
}

#define DEF_POW(op, s, DT, T, C, LD, ST)                                                       \
    static void kiln_k_pow_##s(const struct kiln_kernel_args *a)                               \
    {                                                                                          \
        struct kiln_tensor b = operand_b(a);                                                   \
        const struct kiln_tensor *ops[2] = {&a->in[0], &b};                                    \
        struct kiln_ew e;                                                                      \
        kiln_ew_init(&e, &a->out[0], ops, 2);                                                  \
        load_f64_fn ly = loader_f64(b.dtype);                                                  \
        const T *x = a->in[0].data;                                                            \
        T *z = a->out[0].data;                                                                 \
        for (int64_t r = 0; r < e.rows; r++, z += e.len) {                                     \
            for (int64_t k = 0; k < e.len; k++)                                                \
                z[k] = ST((C)pow((double)LD(x[e.off[0] + k * e.inner[0]]),                     \
                                 ly(b.data, e.off[1] + k * e.inner[1])));               \
            kiln_ew_next(&e);                                                                  \
        }                                                                                      \
    }
KILN_EW_NUMERIC(DEF_POW, pow)
KILN_KERNELS(pow, KILN_EW_NUMERIC(KILN_EW_REG, pow));

/* ---- variadic Max, Min, Sum, Mean: out = in0 (op) in1, then out = out (op) in_k ---- */
static void copy_broadcast(const struct kiln_tensor *x, const struct kiln_tensor *out)
{
    /* one input: the output has its shape */
    size_t nb = (size_t)kiln_tensor_numel(out) * kiln_dtype_size(out->dtype);
    if (nb && x->data != out->data)
        memmove(out->data, x->data, nb);
}

#define DEF_VARIADIC(op, s, DT, T, C, LD, ST, PAIR)                                            \
    BIN_CORE(kiln_k_##op##_##s, T, T, T, C, LD, ST, PAIR)                                       \
    static void kiln_k_##op##_##s(const struct kiln_kernel_args *a)                            \
    {                                                                                          \
        if (a->n_in == 1)                                                                      \
            copy_broadcast(&a->in[0], &a->out[0]);                                             \
        else                                                                                   \
            kiln_k_##op##_##s##_core(&a->in[0], &a->in[1], &a->out[0], 0);                    \
        for (uint32_t i = 2; i < a->n_in; i++)                                                 \
            kiln_k_##op##_##s##_core(&a->out[0], &a->in[i], &a->out[0], 0);                   \
        MEAN_##op(T, C, LD, ST)                                                                \
    }
#define MEAN_max(T, C, LD, ST)
#define MEAN_min(T, C, LD, ST)
#define MEAN_sum(T, C, LD, ST)
#define MEAN_mean(T, C, LD, ST)                                                                \
    {                                                                                          \
        T *z = a->out[0].data;                                                                 \
        int64_t n = kiln_tensor_numel(&a->out[0]);                                             \
        for (int64_t k = 0; k < n; k++)                                                        \
            z[k] = ST((C)(LD(z[k]) / (C)a->n_in));                                             \
    }
#define DEF_VAR_F(op, s, DT, T, C, LD, ST) DEF_VARIADIC(op, s, DT, T, C, LD, ST, OP_##op)
#define DEF_VAR_I(op, s, DT, T, C, LD, ST) DEF_VARIADIC(op, s, DT, T, C, LD, ST, OP_##op##_int)
#define OP_sum OP_add
#define OP_mean OP_add

KILN_EW_FLOATS(DEF_VAR_F, max)
KILN_EW_INTS(DEF_VAR_I, max)
KILN_EW_FLOATS(DEF_VAR_F, min)
KILN_EW_INTS(DEF_VAR_I, min)
KILN_EW_NUMERIC(DEF_VAR_F, sum)
KILN_EW_FLOATS(DEF_VAR_F, mean)
KILN_KERNELS(max, KILN_EW_NUMERIC(KILN_EW_REG, max));
KILN_KERNELS(min, KILN_EW_NUMERIC(KILN_EW_REG, min));
KILN_KERNELS(sum, KILN_EW_NUMERIC(KILN_EW_REG, sum));
KILN_KERNELS(mean, KILN_EW_FLOATS(KILN_EW_REG, mean));

/* ---- Where(cond, x, y): the compiler selects the variant by x's dtype ---- */
#define DEF_WHERE(op, s, DT, T, C, LD, ST)                                                     \
    static void kiln_k_where_##s(const struct kiln_kernel_args *a)                             \
    {                                                                                          \
        const struct kiln_tensor *ops[3] = {&a->in[0], &a->in[1], &a->in[2]};                 \
        struct kiln_ew e;                                                                      \
        kiln_ew_init(&e, &a->out[0], ops, 3);                                                  \
        const uint8_t *c = a->in[0].data;                                                      \
        const T *x = a->in[1].data, *y = a->in[2].data;                                        \
        T *z = a->out[0].data;                                                                 \
        for (int64_t r = 0; r < e.rows; r++, z += e.len) {                                     \
            const uint8_t *cr = c + e.off[0];                                                  \
            const T *xr = x + e.off[1], *yr = y + e.off[2];                                    \
            for (int64_t k = 0; k < e.len; k++)                                                \
                z[k] = cr[k * e.inner[0]] ? xr[k * e.inner[1]] : yr[k * e.inner[2]];           \
            kiln_ew_next(&e);                                                                  \
        }                                                                                      \
    }
KILN_EW_ALL(DEF_WHERE, where)
KILN_KERNELS(where, KILN_EW_ALL(KILN_EW_REG, where));
