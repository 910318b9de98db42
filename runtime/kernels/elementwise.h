/* elementwise.h - shared by the elementwise kernel families (binary.c, unary.c, cast.c):
 * the broadcast iterator and the per-dtype lists with their load/store conversions.
 * The iterator drops size-1 axes and merges axes that every operand walks contiguously, so
 * most broadcasts reduce to rows whose operand strides are 0 or 1: loops the compiler
 * vectorises. Internal to the runtime. */
#ifndef KILN_RT_ELEMENTWISE_H
#define KILN_RT_ELEMENTWISE_H

#include <stdbool.h>

#include "kernels.h"

#define KILN_EW_MAX_IN 3

/* Walks an output (contiguous, row-major) and up to KILN_EW_MAX_IN broadcast operands row by
 * row: each row has `len` elements; operand k starts at off[k] and steps by inner[k]. */
struct kiln_ew {
    int rank, n;
    int64_t rows, len;
    int64_t dims[KILN_MAX_RANK];
    int64_t st[KILN_EW_MAX_IN][KILN_MAX_RANK];
    int64_t inner[KILN_EW_MAX_IN];
    int64_t off[KILN_EW_MAX_IN];
    int64_t idx[KILN_MAX_RANK];
};

/* in[k] may be NULL for a tensor given by pointer list; out defines the iteration shape. */
static inline void kiln_ew_init(struct kiln_ew *e, const struct kiln_tensor *out,
                                const struct kiln_tensor *const *in, int n)
{
    int64_t st[KILN_EW_MAX_IN][KILN_MAX_RANK];
    int r = out->rank;
    for (int k = 0; k < n; k++)
        kiln_bcast_strides(in[k], r, st[k]);
    e->n = n;
    e->rank = 0;
    int64_t numel = kiln_numel(out->dims, r);
    for (int i = 0; i < r; i++) {
        if (out->dims[i] == 1)
            continue; /* contributes nothing to addressing */
        int m = e->rank;
        bool merge = m > 0;
        for (int k = 0; k < n && merge; k++)
            merge = e->st[k][m - 1] == st[k][i] * out->dims[i];
        if (merge) {
            e->dims[m - 1] *= out->dims[i];
            for (int k = 0; k < n; k++)
                e->st[k][m - 1] = st[k][i];
            continue;
        }
        e->dims[m] = out->dims[i];
        for (int k = 0; k < n; k++)
            e->st[k][m] = st[k][i];
        e->rank++;
    }
    if (e->rank == 0) {
        e->rank = 1;
        e->dims[0] = 1;
        for (int k = 0; k < n; k++)
            e->st[k][0] = 0;
    }
    e->len = e->dims[e->rank - 1];
    e->rows = numel && e->len ? numel / e->len : 0;
    for (int k = 0; k < n; k++) {
        e->inner[k] = e->st[k][e->rank - 1];
        e->off[k] = 0;
    }
    for (int i = 0; i < e->rank; i++)
        e->idx[i] = 0;
}

/* Moves to the next row (call after each row). */
static inline void kiln_ew_next(struct kiln_ew *e)
{
    for (int d = e->rank - 2; d >= 0; d--) {
        if (++e->idx[d] < e->dims[d]) {
            for (int k = 0; k < e->n; k++)
                e->off[k] += e->st[k][d];
            return;
        }
        e->idx[d] = 0;
        for (int k = 0; k < e->n; k++)
            e->off[k] -= e->st[k][d] * (e->dims[d] - 1);
    }
}

/* ---- dtype lists: X(op, short, DTYPE, storage_t, compute_t, LOAD, STORE) ----
 * LOAD widens a stored element to compute_t, STORE narrows it back; only float16/bfloat16
 * need them (computed through float). `op` is passed through so one list serves every op. */
#define KILN_EW_ID(v) (v)
#define KILN_EW_F16_ST(v) kiln_f32_to_f16((float)(v))
#define KILN_EW_BF16_ST(v) kiln_f32_to_bf16((float)(v))

#define KILN_EW_FLOATS(X, op)                                                                \
    X(op, f32, F32, float, float, KILN_EW_ID, KILN_EW_ID)                                    \
    X(op, f64, F64, double, double, KILN_EW_ID, KILN_EW_ID)                                  \
    X(op, f16, F16, uint16_t, float, kiln_f16_to_f32, KILN_EW_F16_ST)                        \
    X(op, bf16, BF16, uint16_t, float, kiln_bf16_to_f32, KILN_EW_BF16_ST)
#define KILN_EW_SINTS(X, op)                                                                 \
    X(op, i8, I8, int8_t, int8_t, KILN_EW_ID, KILN_EW_ID)                                    \
    X(op, i16, I16, int16_t, int16_t, KILN_EW_ID, KILN_EW_ID)                                \
    X(op, i32, I32, int32_t, int32_t, KILN_EW_ID, KILN_EW_ID)                                \
    X(op, i64, I64, int64_t, int64_t, KILN_EW_ID, KILN_EW_ID)
#define KILN_EW_UINTS(X, op)                                                                 \
    X(op, u8, U8, uint8_t, uint8_t, KILN_EW_ID, KILN_EW_ID)                                  \
    X(op, u16, U16, uint16_t, uint16_t, KILN_EW_ID, KILN_EW_ID)                              \
    X(op, u32, U32, uint32_t, uint32_t, KILN_EW_ID, KILN_EW_ID)                              \
    X(op, u64, U64, uint64_t, uint64_t, KILN_EW_ID, KILN_EW_ID)
#define KILN_EW_BOOL(X, op) X(op, b8, BOOL, uint8_t, uint8_t, KILN_EW_ID, KILN_EW_ID)
#define KILN_EW_INTS(X, op) KILN_EW_SINTS(X, op) KILN_EW_UINTS(X, op)
#define KILN_EW_SIGNED(X, op) KILN_EW_FLOATS(X, op) KILN_EW_SINTS(X, op)
#define KILN_EW_NUMERIC(X, op) KILN_EW_FLOATS(X, op) KILN_EW_INTS(X, op)
#define KILN_EW_ALL(X, op) KILN_EW_NUMERIC(X, op) KILN_EW_BOOL(X, op)

/* Registration entry for kernel kiln_k_<op>_<short>; use inside KILN_KERNELS(...). */
#define KILN_EW_REG(op, s, DT, T, C, LD, ST) KILN_K(kiln_k_##op##_##s, DT),

#endif
