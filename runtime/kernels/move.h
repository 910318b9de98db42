/* move.h - helpers shared by the data-movement kernels (Transpose, Slice, Expand, Pad,
 * ConstantOfShape, Range): a strided copy that walks the output contiguously and moves
 * elements by size only, and the conversion of a fill value into one element of any dtype.
 * Static inline so that a kernel file stays self-contained for the C emitter. */
#ifndef KILN_RT_MOVE_H
#define KILN_RT_MOVE_H

#include "kernels.h"

/* Element sizes the movers specialise on; any other size falls back to memcpy. */
#define KILN_FOR_ELEM_SIZES(X) X(1, uint8_t) X(2, uint16_t) X(4, uint32_t) X(8, uint64_t)

/* Drops size-1 axes and merges neighbours that are contiguous in the source too
 * (src_stride[i] == src_stride[i+1] * dims[i+1]), so that e.g. a Slice of whole rows becomes
 * one long run. Works in place; returns the new rank (0 means one element). */
static inline int kiln_move_merge(int rank, int64_t *dims, int64_t *strides)
{
    int r = 0;
    for (int i = 0; i < rank; i++) {
        if (dims[i] == 1)
            continue;
        if (r > 0 && strides[r - 1] == strides[i] * dims[i]) {
            dims[r - 1] *= dims[i];
            strides[r - 1] = strides[i];
            continue;
        }
        dims[r] = dims[i];
        strides[r] = strides[i];
        r++;
    }
    return r;
}

/* dst[k] = src[base + sum_d idx_d(k) * src_strides[d]] for every k of the dense output of shape
 * dims, in output order. Strides and base are in elements and may be negative (Slice with
 * negative steps) or zero (Expand). */
static inline void kiln_strided_copy(void *dst, const void *src, size_t esize, int rank,
                                     const int64_t *dims_in, const int64_t *strides_in,
                                     int64_t base)
{
    int64_t dims[KILN_MAX_RANK], st[KILN_MAX_RANK], idx[KILN_MAX_RANK] = {0};
    for (int i = 0; i < rank; i++) {
        if (dims_in[i] == 0)
            return;
        dims[i] = dims_in[i];
        st[i] = strides_in[i];
    }
    rank = kiln_move_merge(rank, dims, st);
    if (rank == 0) {
        memcpy(dst, (const char *)src + base * (int64_t)esize, esize);
        return;
    }
    /* The innermost axis is a tight loop; the outer ones advance an odometer. */
    int64_t inner = dims[rank - 1], is = st[rank - 1], rows = 1;
    for (int i = 0; i < rank - 1; i++)
        rows *= dims[i];
    char *d = dst;
    int64_t off = base;
    for (int64_t r = 0; r < rows; r++) {
        const char *s = (const char *)src + off * (int64_t)esize;
        if (is == 1) {
            memcpy(d, s, (size_t)inner * esize);
        } else {
            switch (esize) {
#define KILN_MOVE_ROW(SZ, T)                                                                   \
    case SZ:                                                                                   \
        for (int64_t j = 0; j < inner; j++)                                                    \
            ((T *)(void *)d)[j] = ((const T *)(const void *)s)[j * is];                        \
        break;
                KILN_FOR_ELEM_SIZES(KILN_MOVE_ROW)
#undef KILN_MOVE_ROW
            default:
                for (int64_t j = 0; j < inner; j++)
                    memcpy(d + j * (int64_t)esize, s + j * is * (int64_t)esize, esize);
            }
        }
        d += inner * (int64_t)esize;
        for (int k = rank - 2; k >= 0; k--) {
            off += st[k];
            if (++idx[k] < dims[k])
                break;
            off -= st[k] * dims[k];
            idx[k] = 0;
        }
    }
}

/* Writes v (as double f for float types, int64 i for the others) into one element of dtype. */
static inline void kiln_store_value(void *dst, int dtype, double f, int64_t i)
{
    switch (dtype) {
    case KILN_DTYPE_F32: *(float *)dst = (float)f; break;
    case KILN_DTYPE_F64: *(double *)dst = f; break;
    case KILN_DTYPE_F16: *(uint16_t *)dst = kiln_f32_to_f16((float)f); break;
    case KILN_DTYPE_BF16: *(uint16_t *)dst = kiln_f32_to_bf16((float)f); break;
    case KILN_DTYPE_BOOL: *(uint8_t *)dst = i != 0; break;
#define KILN_STORE_INT(sn, E, T)                                                               \
    case KILN_DTYPE_##E: *(T *)dst = (T)i; break;
        KILN_FOR_INTS(KILN_STORE_INT)
#undef KILN_STORE_INT
    /* int4/uint4 unpacked in a byte; float8 as its raw bits (kiln stores float8 as given) */
    case KILN_DTYPE_I4: *(int8_t *)dst = (int8_t)i; break;
    case KILN_DTYPE_U4:
    case KILN_DTYPE_F8E4M3FN:
    case KILN_DTYPE_F8E4M3FNUZ:
    case KILN_DTYPE_F8E5M2:
    case KILN_DTYPE_F8E5M2FNUZ: *(uint8_t *)dst = (uint8_t)i; break;
    default: break;
    }
}

/* Fills n elements of esize bytes with the element at val. */
static inline void kiln_fill_elems(void *dst, const void *val, size_t esize, int64_t n)
{
    switch (esize) {
#define KILN_FILL_SIZE(SZ, T)                                                                  \
    case SZ: {                                                                                 \
        T v;                                                                                   \
        memcpy(&v, val, SZ);                                                                   \
        for (int64_t k = 0; k < n; k++)                                                        \
            ((T *)dst)[k] = v;                                                                 \
        break;                                                                                 \
    }
        KILN_FOR_ELEM_SIZES(KILN_FILL_SIZE)
#undef KILN_FILL_SIZE
    default:
        for (int64_t k = 0; k < n; k++)
            memcpy((char *)dst + k * (int64_t)esize, val, esize);
    }
}

#endif
