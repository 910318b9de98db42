/* gemm_core.h - the one GEMM every dense op shares (Conv through im2col, Gemm, MatMul):
 * portable, cache-blocked C that the compiler auto-vectorises. Its packing buffers come from
 * the calling kernel's scratch, sized at compile time with kiln_gemm_scratch_bytes(), so a run
 * allocates nothing. Included by the compiler too (to size scratch): keep it free of
 * runtime-internal headers. */
#ifndef KILN_RT_GEMM_CORE_H
#define KILN_RT_GEMM_CORE_H

#include <stdint.h>

/* Register tile (MR x NR) and cache blocks (MC rows of A, KC deep, NC columns of B). */
#define KILN_GEMM_MR 4
#define KILN_GEMM_NR 8
#define KILN_GEMM_MC 64
#define KILN_GEMM_KC 256
#define KILN_GEMM_NC 1024

static inline uint64_t kiln_gemm_round_up(uint64_t x, uint64_t m)
{
    return (x + m - 1) / m * m;
}

/* Scratch bytes kiln_gemm_<dtype> needs for an M x N x K product with elements of esize. */
static inline uint64_t kiln_gemm_scratch_bytes(uint64_t m, uint64_t n, uint64_t k, uint64_t esize)
{
    uint64_t kc = k < KILN_GEMM_KC ? k : KILN_GEMM_KC;
    uint64_t mc = kiln_gemm_round_up(m < KILN_GEMM_MC ? m : KILN_GEMM_MC, KILN_GEMM_MR);
    uint64_t nc = kiln_gemm_round_up(n < KILN_GEMM_NC ? n : KILN_GEMM_NC, KILN_GEMM_NR);
    return (mc + nc) * (kc ? kc : 1) * esize + 64;
}

/* C = alpha * A * B, or C += alpha * A * B when accumulate is set. C is M x N with row stride
 * ldc; A(i,k) = A[i*a_rs + k*a_cs] and B(k,j) = B[k*b_rs + j*b_cs], so transposed operands are
 * just other strides. scratch holds kiln_gemm_scratch_bytes(M, N, K, sizeof element) bytes. */
#define KILN_GEMM_DECLARE(sfx, T)                                                              \
    void kiln_gemm_##sfx(int64_t M, int64_t N, int64_t K, T alpha, const T *A, int64_t a_rs,   \
                         int64_t a_cs, const T *B, int64_t b_rs, int64_t b_cs, T *C,           \
                         int64_t ldc, int accumulate, void *scratch);
KILN_GEMM_DECLARE(f32, float)
KILN_GEMM_DECLARE(f64, double)
#undef KILN_GEMM_DECLARE

#endif
