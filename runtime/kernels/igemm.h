/* igemm.h - the one integer GEMM shared by ConvInteger, QLinearConv, MatMulInteger and
 * QLinearMatMul: 8-bit operands (uint8 or int8, each with its own zero point per tensor, per row
 * of A or per column of B) multiplied into int32, as the ONNX integer ops define it. Portable C;
 * a SIMD/VNNI variant replaces kiln_igemm() behind the same contract. Included by the compiler
 * too (to size scratch): keep it free of runtime-internal headers. */
#ifndef KILN_RT_IGEMM_H
#define KILN_RT_IGEMM_H

#include <stdint.h>

#include "gemm_core.h"

/* One 8-bit operand. Element (r, c) is at data[r*rs + c*cs]: (i, k) for A, (k, j) for B, so a
 * transposed or strided operand is just other strides. Its zero point for row r of A (column c
 * of B) is zp[r * zp_stride] (zp_stride 0: one for the tensor; zp NULL: zero). */
struct kiln_igemm_operand {
    const void *data;
    int64_t rs, cs;
    const void *zp;
    int64_t zp_stride;
    int32_t dtype; /* KILN_DTYPE_U8 or KILN_DTYPE_I8, for data and zp alike */
    int32_t reserved;
};

/* The portable path packs both operands minus their zero points as int16 (|value| <= 255), in
 * the blocks and the portable tile of gemm_core.h: [ A: MC x KC | pad to 64 | B: KC x NC ]; a
 * variant with another packing must still fit in these bytes. */
static inline uint64_t kiln_igemm_scratch_bytes(uint64_t m, uint64_t n, uint64_t k)
{
    uint64_t kc = k < KILN_GEMM_KC ? k : KILN_GEMM_KC;
    uint64_t mc = kiln_gemm_round_up(m < KILN_GEMM_MC ? m : KILN_GEMM_MC, KILN_GEMM_MR);
    uint64_t nc = kiln_gemm_round_up(n < KILN_GEMM_NC ? n : KILN_GEMM_NC, KILN_GEMM_NR);
    return (mc + nc) * (kc ? kc : 1) * sizeof(int16_t) + 64;
}

/* C(i, j) = sum_k (A(i,k) - za(i)) * (B(k,j) - zb(j)) for an M x N result with row stride ldc,
 * accumulated in int32 as the ONNX ops specify (no overflow guard: K * 255 * 255 must fit).
 * accumulate: add to C instead of overwriting it. scratch: kiln_igemm_scratch_bytes(M, N, K)
 * bytes, 64-byte aligned. */
void kiln_igemm(int64_t M, int64_t N, int64_t K, const struct kiln_igemm_operand *a,
                const struct kiln_igemm_operand *b, int32_t *C, int64_t ldc, int accumulate,
                void *scratch);

#endif
