/* indexing.h - helpers shared by the indexing and sorting kernels (GatherElements, GatherND,
 * Scatter*, OneHot, ReverseSequence, NonZero, CumSum, TopK, Einsum) and by the compile-time
 * checks of their op files: reading an index of any numeric dtype, the "non-zero" test, an
 * odometer that walks an index tensor while tracking the matching offset in a data tensor, and
 * the dtype list the arithmetic templates are instantiated with. Static inline: a kernel file
 * stays self-contained for the C emitter. */
#ifndef KILN_RT_INDEXING_H
#define KILN_RT_INDEXING_H

#include "kernels.h"

/* Element k of an index tensor as int64. Integer types exactly; float types truncate towards
 * zero (OneHot accepts float indices), with NaN and out-of-range values mapped to INT64_MIN so
 * that they fail every range check instead of invoking undefined conversions. */
static inline int64_t kiln_ix_f2i(double v)
{
    return v == v && v > -9.2e18 && v < 9.2e18 ? (int64_t)v : INT64_MIN;
}

static inline int64_t kiln_ix_load(const void *p, int dtype, int64_t k)
{
    switch (dtype) {
    case KILN_DTYPE_I64: return ((const int64_t *)p)[k];
    case KILN_DTYPE_I32: return ((const int32_t *)p)[k];
    case KILN_DTYPE_I16: return ((const int16_t *)p)[k];
    case KILN_DTYPE_I8: return ((const int8_t *)p)[k];
    case KILN_DTYPE_U8:
    case KILN_DTYPE_BOOL: return ((const uint8_t *)p)[k];
    case KILN_DTYPE_U16: return ((const uint16_t *)p)[k];
    case KILN_DTYPE_U32: return ((const uint32_t *)p)[k];
    case KILN_DTYPE_U64: {
        uint64_t u = ((const uint64_t *)p)[k];
        return u > (uint64_t)INT64_MAX ? INT64_MIN : (int64_t)u;
    }
    case KILN_DTYPE_F32: return kiln_ix_f2i(((const float *)p)[k]);
    case KILN_DTYPE_F64: return kiln_ix_f2i(((const double *)p)[k]);
    case KILN_DTYPE_F16: return kiln_ix_f2i(kiln_f16_to_f32(((const uint16_t *)p)[k]));
    case KILN_DTYPE_BF16: return kiln_ix_f2i(kiln_bf16_to_f32(((const uint16_t *)p)[k]));
    default: return INT64_MIN;
    }
}

/* Normalises index j against an axis of length len (negative counts from the end); returns
 * -1 when it is out of range even then. */
static inline int64_t kiln_ix_norm(int64_t j, int64_t len)
{
    if (j < 0 && j != INT64_MIN)
        j += len;
    return j >= 0 && j < len ? j : -1;
}

/* Normalises index j and clamps it into [0, len) (len > 0): the gathers' run-time answer to
 * an out-of-range index, so that no read leaves the input. */
static inline int64_t kiln_ix_clamp(int64_t j, int64_t len)
{
    j = j < 0 && j != INT64_MIN ? j + len : j;
    return j < 0 ? 0 : j >= len ? len - 1 : j;
}

/* Whether element k is non-zero: by value for floats (-0.0 is zero, NaN is not), by bytes
 * otherwise. */
static inline int kiln_ix_nonzero(const void *p, int dtype, int64_t k)
{
    switch (dtype) {
    case KILN_DTYPE_F32: return ((const float *)p)[k] != 0;
    case KILN_DTYPE_F64: return ((const double *)p)[k] != 0;
    case KILN_DTYPE_F16:
    case KILN_DTYPE_BF16: return (((const uint16_t *)p)[k] & 0x7fff) != 0;
    default: {
        size_t es = kiln_dtype_size(dtype);
        const unsigned char *b = (const unsigned char *)p + (size_t)k * es;
        for (size_t i = 0; i < es; i++)
            if (b[i])
                return 1;
        return 0;
    }
    }
}

/* Walks the positions of an index tensor (shape dims, row-major) and keeps `base`, the element
 * offset of the same coordinates in a data tensor with strides st, leaving out axis `axis`
 * (GatherElements and ScatterElements replace that coordinate by the index). */
struct kiln_ix_walk {
    int rank, axis;
    int64_t base;
    int64_t dims[KILN_MAX_RANK], st[KILN_MAX_RANK], c[KILN_MAX_RANK];
};

static inline void kiln_ix_walk_init(struct kiln_ix_walk *w, const int64_t *dims, int rank,
                                     const int64_t *st, int axis)
{
    w->rank = rank;
    w->axis = axis;
    w->base = 0;
    for (int i = 0; i < rank; i++) {
        w->dims[i] = dims[i];
        w->st[i] = i == axis ? 0 : st[i];
        w->c[i] = 0;
    }
}

static inline void kiln_ix_walk_next(struct kiln_ix_walk *w)
{
    for (int d = w->rank - 1; d >= 0; d--) {
        w->base += w->st[d];
        if (++w->c[d] < w->dims[d])
            return;
        w->base -= w->st[d] * w->dims[d];
        w->c[d] = 0;
    }
}

/* Offset of index tuple n (L components of an index tensor, the last axis of which holds the
 * tuple) into axes 0..L-1 of dims/st; -1 when a component is out of range. */
static inline int64_t kiln_ix_tuple(const void *ind, int dtype, int64_t n, int L,
                                    const int64_t *dims, const int64_t *st)
{
    int64_t off = 0;
    for (int j = 0; j < L; j++) {
        int64_t v = kiln_ix_norm(kiln_ix_load(ind, dtype, n * L + j), dims[j]);
        if (v < 0)
            return -1;
        off += v * st[j];
    }
    return off;
}

/* X(short, DTYPE, storage type, compute type, LOAD, STORE) for the arithmetic templates:
 * floats compute in double (float16/bfloat16 widened), integers in 64 bits. */
#define KILN_IX_ID(v) (v)
#define KILN_IX_LD_F16(v) ((double)kiln_f16_to_f32(v))
#define KILN_IX_LD_BF16(v) ((double)kiln_bf16_to_f32(v))
#define KILN_IX_ST_F16(v) kiln_f32_to_f16((float)(v))
#define KILN_IX_ST_BF16(v) kiln_f32_to_bf16((float)(v))
#define KILN_IX_ST_F32(v) ((float)(v))
#define KILN_IX_ST_I8(v) ((int8_t)(v))
#define KILN_IX_ST_I16(v) ((int16_t)(v))
#define KILN_IX_ST_I32(v) ((int32_t)(v))
#define KILN_IX_ST_U8(v) ((uint8_t)(v))
#define KILN_IX_ST_U16(v) ((uint16_t)(v))
#define KILN_IX_ST_U32(v) ((uint32_t)(v))
#define KILN_IX_ARITH(X)                                                                       \
    X(f32, F32, float, double, KILN_IX_ID, KILN_IX_ST_F32)                                     \
    X(f64, F64, double, double, KILN_IX_ID, KILN_IX_ID)                                        \
    X(f16, F16, uint16_t, double, KILN_IX_LD_F16, KILN_IX_ST_F16)                              \
    X(bf16, BF16, uint16_t, double, KILN_IX_LD_BF16, KILN_IX_ST_BF16)                          \
    X(i8, I8, int8_t, int64_t, KILN_IX_ID, KILN_IX_ST_I8)                                      \
    X(i16, I16, int16_t, int64_t, KILN_IX_ID, KILN_IX_ST_I16)                                  \
    X(i32, I32, int32_t, int64_t, KILN_IX_ID, KILN_IX_ST_I32)                                  \
    X(i64, I64, int64_t, int64_t, KILN_IX_ID, KILN_IX_ID)                                      \
    X(u8, U8, uint8_t, uint64_t, KILN_IX_ID, KILN_IX_ST_U8)                                    \
    X(u16, U16, uint16_t, uint64_t, KILN_IX_ID, KILN_IX_ST_U16)                                \
    X(u32, U32, uint32_t, uint64_t, KILN_IX_ID, KILN_IX_ST_U32)                                \
    X(u64, U64, uint64_t, uint64_t, KILN_IX_ID, KILN_IX_ID)

#endif
