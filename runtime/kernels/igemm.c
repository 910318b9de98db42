/* igemm.c - the portable integer GEMM (see igemm.h). Same Goto-style loop nest as gemm_core.c:
 * a KC x NC panel of B and an MC x KC block of A are packed into scratch as int16 with their
 * zero points already subtracted, so uint8/int8 mixes and per-row/per-column zero points cost
 * nothing in the MR x NR micro-kernel, which GCC and Clang vectorise. */
#include "igemm.h"
#include "kiln/kiln.h"

#define MR KILN_GEMM_MR
#define NR KILN_GEMM_NR

/* Per 8-bit type: the zero point of row/column r, and the packers
 * pack_a: Ap[(i/MR)*kc*MR + k*MR + i%MR] = A(i0+i, k0+k) - za(i0+i), rows past m zero.
 * pack_b: Bp[(j/NR)*kc*NR + k*NR + j%NR] = B(k0+k, j0+j) - zb(j0+j), columns past n zero. */
#define IGEMM_PACK(sfx, T)                                                                     \
    static inline int16_t zp_##sfx(const struct kiln_igemm_operand *o, int64_t r)              \
    {                                                                                          \
        return o->zp ? (int16_t)((const T *)o->zp)[r * o->zp_stride] : 0;                     \
    }                                                                                          \
    static void pack_a_##sfx(const struct kiln_igemm_operand *o, int64_t i0, int64_t m,         \
                             int64_t k0, int64_t kc, int16_t *Ap)                              \
    {                                                                                          \
        for (int64_t ib = 0; ib < m; ib += MR, Ap += kc * MR) {                                \
            int64_t mr = m - ib < MR ? m - ib : MR;                                            \
            for (int64_t i = 0; i < mr; i++) {                                                 \
                const T *a = (const T *)o->data + (i0 + ib + i) * o->rs + k0 * o->cs;          \
                int16_t z = zp_##sfx(o, i0 + ib + i);                                          \
                for (int64_t k = 0; k < kc; k++)                                               \
                    Ap[k * MR + i] = (int16_t)(a[k * o->cs] - z);                              \
            }                                                                                  \
            for (int64_t i = mr; i < MR; i++)                                                  \
                for (int64_t k = 0; k < kc; k++)                                               \
                    Ap[k * MR + i] = 0;                                                        \
        }                                                                                      \
    }                                                                                          \
    static void pack_b_##sfx(const struct kiln_igemm_operand *o, int64_t k0, int64_t kc,        \
                             int64_t j0, int64_t n, int16_t *Bp)                               \
    {                                                                                          \
        for (int64_t jb = 0; jb < n; jb += NR, Bp += kc * NR) {                                \
            int64_t nr = n - jb < NR ? n - jb : NR;                                            \
            int16_t z[NR];                                                                     \
            for (int64_t j = 0; j < NR; j++)                                                   \
                z[j] = j < nr ? zp_##sfx(o, j0 + jb + j) : 0;                                  \
            for (int64_t k = 0; k < kc; k++) {                                                 \
                const T *b = (const T *)o->data + (k0 + k) * o->rs + (j0 + jb) * o->cs;        \
                for (int64_t j = 0; j < nr; j++)                                               \
                    Bp[k * NR + j] = (int16_t)(b[j * o->cs] - z[j]);                           \
                for (int64_t j = nr; j < NR; j++)                                              \
                    Bp[k * NR + j] = 0;                                                        \
            }                                                                                  \
        }                                                                                      \
    }
IGEMM_PACK(u8, uint8_t)
IGEMM_PACK(i8, int8_t)

/* Calls the packer for the operand's 8-bit type. */
#define PACK(name, o, ...)                                                                     \
    ((o)->dtype == KILN_DTYPE_I8 ? name##_i8(o, __VA_ARGS__) : name##_u8(o, __VA_ARGS__))

/* One MR x NR tile of C over kc packed steps; stores the top-left mr x nr part. */
static void micro(int64_t kc, const int16_t *restrict Ap, const int16_t *restrict Bp, int32_t *C,
                  int64_t ldc, int64_t mr, int64_t nr, int accumulate)
{
    int32_t acc[MR][NR] = {{0}};
    for (int64_t k = 0; k < kc; k++) {
        const int16_t *a = Ap + k * MR, *b = Bp + k * NR;
        for (int i = 0; i < MR; i++)
            for (int j = 0; j < NR; j++)
                acc[i][j] += (int32_t)a[i] * b[j];
    }
    for (int64_t i = 0; i < mr; i++) {
        int32_t *c = C + i * ldc;
        for (int64_t j = 0; j < nr; j++)
            c[j] = accumulate ? c[j] + acc[i][j] : acc[i][j];
    }
}

void kiln_igemm(int64_t M, int64_t N, int64_t K, const struct kiln_igemm_operand *a,
                const struct kiln_igemm_operand *b, int32_t *C, int64_t ldc, int accumulate,
                void *scratch)
{
    if (K == 0) {
        for (int64_t i = 0; !accumulate && i < M; i++)
            for (int64_t j = 0; j < N; j++)
                C[i * ldc + j] = 0;
        return;
    }
    uint64_t kcap = K < KILN_GEMM_KC ? (uint64_t)K : KILN_GEMM_KC;
    uint64_t mcap = kiln_gemm_round_up(M < KILN_GEMM_MC ? (uint64_t)M : KILN_GEMM_MC, MR);
    int16_t *Ap = scratch;
    int16_t *Bp = (int16_t *)((char *)scratch + kiln_gemm_round_up(mcap * kcap * 2, 64));
    for (int64_t jc = 0; jc < N; jc += KILN_GEMM_NC) {
        int64_t nc = N - jc < KILN_GEMM_NC ? N - jc : KILN_GEMM_NC;
        for (int64_t pc = 0; pc < K; pc += KILN_GEMM_KC) {
            int64_t kc = K - pc < KILN_GEMM_KC ? K - pc : KILN_GEMM_KC;
            int acc = accumulate || pc > 0;
            PACK(pack_b, b, pc, kc, jc, nc, Bp);
            for (int64_t ic = 0; ic < M; ic += KILN_GEMM_MC) {
                int64_t mc = M - ic < KILN_GEMM_MC ? M - ic : KILN_GEMM_MC;
                PACK(pack_a, a, ic, mc, pc, kc, Ap);
                for (int64_t jr = 0; jr < nc; jr += NR)
                    for (int64_t ir = 0; ir < mc; ir += MR)
                        micro(kc, Ap + ir * kc, Bp + jr * kc, C + (ic + ir) * ldc + jc + jr, ldc,
                              mc - ir < MR ? mc - ir : MR, nc - jr < NR ? nc - jr : NR, acc);
            }
        }
    }
}
