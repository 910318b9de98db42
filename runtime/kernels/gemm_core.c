/* gemm_core.c - the shared cache-blocked GEMM (see gemm_core.h). Goto-style loop nest: a KC x NC
 * panel of B and an MC x KC block of A are packed into scratch so that the MR x NR micro-kernel
 * streams both contiguously; the micro-kernel is plain C with constant trip counts, which GCC
 * and Clang vectorise. Edge tiles are zero-padded when packing and clipped when storing. */
#include <string.h>

#include "gemm_core.h"

#define MR KILN_GEMM_MR
#define NR KILN_GEMM_NR

#define KILN_GEMM_DEFINE(sfx, T)                                                               \
    /* Ap[(i/MR)*kc*MR + k*MR + i%MR] = A(i, k), rows past m are zero. */                       \
    static void pack_a_##sfx(int64_t m, int64_t kc, const T *A, int64_t rs, int64_t cs, T *Ap) \
    {                                                                                          \
        for (int64_t i0 = 0; i0 < m; i0 += MR) {                                               \
            int64_t mr = m - i0 < MR ? m - i0 : MR;                                            \
            for (int64_t k = 0; k < kc; k++) {                                                 \
                for (int64_t i = 0; i < mr; i++)                                               \
                    Ap[k * MR + i] = A[(i0 + i) * rs + k * cs];                                \
                for (int64_t i = mr; i < MR; i++)                                              \
                    Ap[k * MR + i] = 0;                                                        \
            }                                                                                  \
            Ap += kc * MR;                                                                     \
        }                                                                                      \
    }                                                                                          \
    /* Bp[(j/NR)*kc*NR + k*NR + j%NR] = B(k, j), columns past n are zero. */                    \
    static void pack_b_##sfx(int64_t n, int64_t kc, const T *B, int64_t rs, int64_t cs, T *Bp) \
    {                                                                                          \
        for (int64_t j0 = 0; j0 < n; j0 += NR) {                                               \
            int64_t nr = n - j0 < NR ? n - j0 : NR;                                            \
            for (int64_t k = 0; k < kc; k++) {                                                 \
                const T *b = B + k * rs + j0 * cs;                                             \
                if (cs == 1 && nr == NR) {                                                     \
                    memcpy(Bp + k * NR, b, NR * sizeof(T));                                    \
                    continue;                                                                  \
                }                                                                              \
                for (int64_t j = 0; j < nr; j++)                                               \
                    Bp[k * NR + j] = b[j * cs];                                                \
                for (int64_t j = nr; j < NR; j++)                                              \
                    Bp[k * NR + j] = 0;                                                        \
            }                                                                                  \
            Bp += kc * NR;                                                                     \
        }                                                                                      \
    }                                                                                          \
    /* One MR x NR tile of C over kc packed steps; stores the top-left mr x nr part. */         \
    static void micro_##sfx(int64_t kc, const T *restrict Ap, const T *restrict Bp, T alpha,   \
                            T *C, int64_t ldc, int64_t mr, int64_t nr, int accumulate)         \
    {                                                                                          \
        T acc[MR][NR];                                                                         \
        for (int i = 0; i < MR; i++)                                                           \
            for (int j = 0; j < NR; j++)                                                       \
                acc[i][j] = 0;                                                                 \
        for (int64_t k = 0; k < kc; k++) {                                                     \
            const T *a = Ap + k * MR, *b = Bp + k * NR;                                        \
            for (int i = 0; i < MR; i++)                                                       \
                for (int j = 0; j < NR; j++)                                                   \
                    acc[i][j] += a[i] * b[j];                                                  \
        }                                                                                      \
        for (int64_t i = 0; i < mr; i++) {                                                     \
            T *c = C + i * ldc;                                                                \
            if (accumulate)                                                                    \
                for (int64_t j = 0; j < nr; j++)                                               \
                    c[j] += alpha * acc[i][j];                                                 \
            else                                                                               \
                for (int64_t j = 0; j < nr; j++)                                               \
                    c[j] = alpha * acc[i][j];                                                  \
        }                                                                                      \
    }                                                                                          \
    void kiln_gemm_##sfx(int64_t M, int64_t N, int64_t K, T alpha, const T *A, int64_t a_rs,   \
                         int64_t a_cs, const T *B, int64_t b_rs, int64_t b_cs, T *C,           \
                         int64_t ldc, int accumulate, void *scratch)                           \
    {                                                                                          \
        if (K == 0) {                                                                          \
            for (int64_t i = 0; !accumulate && i < M; i++)                                     \
                for (int64_t j = 0; j < N; j++)                                                \
                    C[i * ldc + j] = 0;                                                        \
            return;                                                                            \
        }                                                                                      \
        /* scratch is arena memory aligned to 64; keep both packs aligned for vector loads */   \
        uint64_t kcap = K < KILN_GEMM_KC ? (uint64_t)K : KILN_GEMM_KC;                         \
        uint64_t mcap = kiln_gemm_round_up(M < KILN_GEMM_MC ? (uint64_t)M : KILN_GEMM_MC, MR);  \
        T *Ap = scratch;                                                                       \
        T *Bp = (T *)((char *)scratch + kiln_gemm_round_up(mcap * kcap * sizeof(T), 64));      \
        for (int64_t jc = 0; jc < N; jc += KILN_GEMM_NC) {                                     \
            int64_t nc = N - jc < KILN_GEMM_NC ? N - jc : KILN_GEMM_NC;                        \
            for (int64_t pc = 0; pc < K; pc += KILN_GEMM_KC) {                                 \
                int64_t kc = K - pc < KILN_GEMM_KC ? K - pc : KILN_GEMM_KC;                    \
                int acc = accumulate || pc > 0;                                                \
                pack_b_##sfx(nc, kc, B + pc * b_rs + jc * b_cs, b_rs, b_cs, Bp);               \
                for (int64_t ic = 0; ic < M; ic += KILN_GEMM_MC) {                             \
                    int64_t mc = M - ic < KILN_GEMM_MC ? M - ic : KILN_GEMM_MC;                \
                    pack_a_##sfx(mc, kc, A + ic * a_rs + pc * a_cs, a_rs, a_cs, Ap);           \
                    for (int64_t jr = 0; jr < nc; jr += NR)                                    \
                        for (int64_t ir = 0; ir < mc; ir += MR)                                \
                            micro_##sfx(kc, Ap + ir * kc, Bp + jr * kc, alpha,                 \
                                        C + (ic + ir) * ldc + jc + jr, ldc,                    \
                                        mc - ir < MR ? mc - ir : MR,                           \
                                        nc - jr < NR ? nc - jr : NR, acc);                     \
                }                                                                              \
            }                                                                                  \
        }                                                                                      \
    }

KILN_GEMM_DEFINE(f32, float)
KILN_GEMM_DEFINE(f64, double)
