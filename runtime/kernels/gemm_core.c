/* gemm_core.c - the shared cache-blocked GEMM (see gemm_core.h). Goto-style loop nest: a KC x NC
 * panel of B (and, for the portable kernel, an MC x KC block of A) is packed into scratch so
 * that the micro-kernel streams it contiguously; the SIMD kernels read A in place. One loop
 * nest and one packer, a template instantiated per variant; only the micro-kernel and its tile
 * differ: plain C with constant trip counts, which GCC and Clang vectorise, or AVX2/AVX-512
 * intrinsics. Edge tiles are zero-padded when packing and clipped when storing. The fused
 * epilogue (bias, residual, activation) is applied as the last K block of a tile is stored, and
 * constant weights come pre-packed (kiln_gemm_pack_a/b at compile time) so that no run packs
 * them. */
#include <string.h>

#include "epilogue.h"
#include "gemm_core.h"
#include "threads.h"

/* Which SIMD micro-kernels this file compiles, and how one is chosen:
 * - libkilnrt with GCC or Clang on x86-64: all of them, each function with its own target
 *   attribute (the build has no -m flags), chosen at run time (KILN_GEMM_DISPATCH);
 * - emitted C (KILN_EMITTED, set by NAME_rt.h): only those the compiler flags enable, the best
 *   of which kiln_gemm_f32 calls; no cpuid, no getenv.
 * The portable micro-kernel is always compiled. An Arm NEON variant would be one more block
 * like these (__ARM_NEON), a micro-kernel instance and a case in gemm_f32_on(). */
#if defined(__x86_64__) && !defined(KILN_EMITTED) && defined(__GNUC__)
#define KILN_GEMM_DISPATCH 1
#define KILN_GEMM_HAVE_AVX2 1
#define KILN_GEMM_HAVE_AVX512 1
#define KILN_GEMM_TARGET(isa) __attribute__((target(isa)))
#elif defined(KILN_EMITTED)
#if defined(__AVX2__) && defined(__FMA__)
#define KILN_GEMM_HAVE_AVX2 1
#endif
#if defined(__AVX512F__)
#define KILN_GEMM_HAVE_AVX512 1
#endif
#define KILN_GEMM_TARGET(isa)
#endif
#if defined(KILN_GEMM_HAVE_AVX2) || defined(KILN_GEMM_HAVE_AVX512)
#include <immintrin.h>
#endif
#ifdef KILN_GEMM_DISPATCH
#include <stdlib.h>
#endif

#define MR KILN_GEMM_MR
#define NR KILN_GEMM_NR

/* The epilogue of one stored tile (rows x cols of C at row i0, column j0 of the product), in
 * memory: the portable kernel, the SIMD edge tiles and the activations the SIMD write-back does
 * not compute in registers. */
#define KILN_GEMM_EPI_TILE(sfx, T)                                                             \
    KILN_EPILOGUE_DEFINE(sfx, T)                                                               \
    static void epi_tile_##sfx(const struct kiln_gemm_epi *e, int64_t i0, int64_t j0, T *C,    \
                               int64_t ldc, int64_t rows, int64_t cols)                        \
    {                                                                                          \
        kiln_epilogue_strided_##sfx(e->act, e->bias ? (const T *)e->bias + i0 : NULL,          \
                                    e->res ? (const T *)e->res + i0 * e->ldr + j0 : NULL,      \
                                    e->ldr, rows, cols, C, ldc);                               \
    }

/* Every micro-kernel computes one tile of C over kc steps from A(i, k) = A[i*ars + k*acs] (a
 * packed block: ars 1, acs the panel height; or A in place) and a panel of B whose k-th row of
 * the tile's columns starts at Bp + k*bks (bks: the panel width, the tile's for B packed per
 * run, KILN_GEMM_PANEL_B for B packed at compile time), and stores the top-left mr x nr part
 * as c = alpha*acc, or c = c + alpha*acc when accumulating, then the epilogue epi (NULL but on
 * the last K block) of the tile at (i0, j0). The portable MR x NR one is plain C the compiler
 * vectorises over the columns of B; it gets a packed A, whose rows past mr are zeros. */
#define KILN_GEMM_MICRO_ARGS(T)                                                                \
    int64_t kc, const T *restrict A, int64_t ars, int64_t acs, const T *restrict Bp,           \
        int64_t bks, T alpha, T *C, int64_t ldc, int64_t mr, int64_t nr, int accumulate,       \
        const struct kiln_gemm_epi *epi, int64_t i0, int64_t j0
#define KILN_GEMM_MICRO_PORTABLE(sfx, T)                                                       \
    static void micro_portable_##sfx(KILN_GEMM_MICRO_ARGS(T))                                  \
    {                                                                                          \
        T acc[MR][NR];                                                                         \
        for (int i = 0; i < MR; i++)                                                           \
            for (int j = 0; j < NR; j++)                                                       \
                acc[i][j] = 0;                                                                 \
        for (int64_t k = 0; k < kc; k++) {                                                     \
            const T *a = A + k * acs, *b = Bp + k * bks;                                       \
            for (int i = 0; i < MR; i++)                                                       \
                for (int j = 0; j < NR; j++)                                                   \
                    acc[i][j] += a[i * ars] * b[j];                                            \
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
        if (epi)                                                                               \
            epi_tile_##sfx(epi, i0, j0, C, ldc, mr, nr);                                       \
    }

/* The blocked loop nest, instantiated per variant (name) with its element type, tile TM x TN,
 * micro-kernel, target attribute and PACK_A, so the tile sizes stay compile-time constants. B
 * is packed per run unless it comes packed: its KC x TN micro-panels are reused from L1 by
 * every row tile and zero-padded past n. A is packed for the portable kernel (its plain C is
 * about 20 % slower on A in place) and read in place by the SIMD kernels, which broadcast one
 * element per row and step: packing A, the weights of a convolution, cost them up to a third
 * of the GEMM's time; weights packed at compile time cost nothing and every kernel reads them.
 * The packed layouts of A and B fit every variant: a tile of TM rows never straddles a panel of
 * KILN_GEMM_PANEL_A rows (TM divides it, and MC is a multiple of it), nor one of TN columns a
 * panel of KILN_GEMM_PANEL_B. */
/* Packs n lines of a KC-deep block in micro-panels of TILE lines:
 * P[(l/TILE)*kc*TILE + k*TILE + l%TILE] = X(l, k) = X[l*ls + k*ks] (rows of A: ls = a_rs,
 * ks = a_cs; columns of B: ls = b_cs, ks = b_rs), lines past n zero-padded to a whole tile. */
#define KILN_GEMM_PACK(fname, T, TILE, ATTR)                                                   \
    static ATTR void fname(int64_t n, int64_t kc, const T *X, int64_t ls, int64_t ks, T *P)    \
    {                                                                                          \
        for (int64_t l0 = 0; l0 < n; l0 += TILE) {                                             \
            int64_t nl = n - l0 < TILE ? n - l0 : TILE;                                        \
            for (int64_t k = 0; k < kc; k++) {                                                 \
                const T *x = X + l0 * ls + k * ks;                                             \
                if (ls == 1 && nl == TILE) {                                                   \
                    memcpy(P + k * TILE, x, TILE * sizeof(T));                                 \
                    continue;                                                                  \
                }                                                                              \
                for (int64_t l = 0; l < nl; l++)                                               \
                    P[k * TILE + l] = x[l * ls];                                               \
                for (int64_t l = nl; l < TILE; l++)                                            \
                    P[k * TILE + l] = 0;                                                       \
            }                                                                                  \
            P += kc * TILE;                                                                    \
        }                                                                                      \
    }
#define PA KILN_GEMM_PANEL_A
#define PB KILN_GEMM_PANEL_B
#define KILN_GEMM_BLOCKED(name, T, TM, TN, MICRO, ATTR, PACK_A, EPI_TILE)                      \
    KILN_GEMM_PACK(pack_a_##name, T, TM, ATTR)                                                 \
    KILN_GEMM_PACK(pack_b_##name, T, TN, ATTR)                                                 \
    static ATTR void gemm_##name(int64_t M, int64_t N, int64_t K, T alpha, const T *A,         \
                                 int64_t a_rs, int64_t a_cs, const T *B, int64_t b_rs,         \
                                 int64_t b_cs, T *C, int64_t ldc, int flags,                   \
                                 const struct kiln_gemm_epi *epi, int64_t mcb, int64_t ncb,    \
                                 void *scratch)                                                \
    {                                                                                          \
        int accumulate = flags & KILN_GEMM_ACCUMULATE;                                         \
        int a_packed = flags & KILN_GEMM_A_PACKED, b_packed = flags & KILN_GEMM_B_PACKED;      \
        if (K == 0) {                                                                          \
            for (int64_t i = 0; !accumulate && i < M; i++)                                     \
                for (int64_t j = 0; j < N; j++)                                                \
                    C[i * ldc + j] = 0;                                                        \
            if (epi)                                                                           \
                EPI_TILE(epi, 0, 0, C, ldc, M, N);                                             \
            return;                                                                            \
        }                                                                                      \
        /* scratch (kiln_gemm_scratch_bytes, 64-aligned arena memory): [ A block | B panel ],  \
         * the A block in the portable tile's rounding, only when A is packed */               \
        uint64_t kcap = K < KILN_GEMM_KC ? (uint64_t)K : KILN_GEMM_KC;                         \
        uint64_t mcap = kiln_gemm_round_up(M < mcb ? (uint64_t)M : (uint64_t)mcb, TM);         \
        T *Ap = scratch;                                                                       \
        T *Bp = PACK_A ? (T *)((char *)scratch + kiln_gemm_round_up(mcap * kcap * sizeof(T), 64)) \
                       : scratch;                                                              \
        for (int64_t jc = 0; jc < N; jc += ncb) {                                              \
            int64_t nc = N - jc < ncb ? N - jc : ncb;                                          \
            for (int64_t pc = 0; pc < K; pc += KILN_GEMM_KC) {                                 \
                int64_t kc = K - pc < KILN_GEMM_KC ? K - pc : KILN_GEMM_KC;                    \
                int acc = accumulate || pc > 0;                                                \
                const struct kiln_gemm_epi *e = pc + kc == K ? epi : NULL;                     \
                /* B's panels: pw columns wide, pstride apart, row k of a panel at k*pw */     \
                const T *Bb = Bp;                                                              \
                int64_t pw = TN, pstride = kc * TN;                                            \
                if (b_packed)                                                                  \
                    Bb = B + jc * K + pc * PB, pw = PB, pstride = K * PB;                      \
                else                                                                           \
                    pack_b_##name(nc, kc, B + pc * b_rs + jc * b_cs, b_cs, b_rs, Bp);          \
                for (int64_t ic = 0; ic < M; ic += mcb) {                                      \
                    int64_t mc = M - ic < mcb ? M - ic : mcb;                                  \
                    /* row ir of this block: at Ab + ir*ars, or in panels of ppanel rows      \
                     * pstep apart when packed; its step k at + k*acs */                        \
                    const T *Ab = A + ic * a_rs + pc * a_cs;                                   \
                    int64_t ars = a_rs, acs = a_cs, ppanel = 0, pstep = 0;                     \
                    if (a_packed) {                                                            \
                        Ab = A + ic * K + pc * PA, ars = 1, acs = PA;                          \
                        ppanel = PA, pstep = K * PA;                                           \
                    } else if (PACK_A) {                                                       \
                        pack_a_##name(mc, kc, Ab, a_rs, a_cs, Ap);                             \
                        Ab = Ap, ars = 1, acs = TM, ppanel = TM, pstep = kc * TM;              \
                    }                                                                          \
                    for (int64_t jr = 0; jr < nc; jr += TN)                                    \
                        for (int64_t ir = 0; ir < mc; ir += TM) {                              \
                            const T *At = ppanel ? Ab + ir / ppanel * pstep + ir % ppanel      \
                                                 : Ab + ir * ars;                              \
                            MICRO(kc, At, ars, acs, Bb + jr / pw * pstride + jr % pw, pw,      \
                                  alpha, C + (ic + ir) * ldc + jc + jr, ldc,                   \
                                  mc - ir < TM ? mc - ir : TM, nc - jr < TN ? nc - jr : TN,    \
                                  acc, e, ic + ir, jc + jr);                                   \
                        }                                                                      \
                }                                                                              \
            }                                                                                  \
        }                                                                                      \
    }

#if KILN_GEMM_MC % KILN_GEMM_PANEL_A || KILN_GEMM_PANEL_A % KILN_GEMM_MR ||                   \
    KILN_GEMM_PANEL_A % KILN_GEMM_AVX2_MR || KILN_GEMM_PANEL_A % KILN_GEMM_AVX512_MR ||       \
    KILN_GEMM_NC % KILN_GEMM_PANEL_B || KILN_GEMM_PANEL_B % KILN_GEMM_NR ||                   \
    KILN_GEMM_PANEL_B % KILN_GEMM_AVX2_NR || KILN_GEMM_PANEL_B % KILN_GEMM_AVX512_NR
#error "gemm_core.h's packed panels do not fit every variant's tile"
#endif

KILN_GEMM_EPI_TILE(f32, float)
KILN_GEMM_EPI_TILE(f64, double)
KILN_GEMM_MICRO_PORTABLE(f32, float)
KILN_GEMM_MICRO_PORTABLE(f64, double)
KILN_GEMM_BLOCKED(portable_f32, float, MR, NR, micro_portable_f32, , 1, epi_tile_f32)
KILN_GEMM_BLOCKED(portable_f64, double, MR, NR, micro_portable_f64, , 1, epi_tile_f64)

/* ---- SIMD micro-kernels: a tile of ROWS rows x 2 vectors of VW float lanes. Per k step: two
 * vector loads of packed B, one broadcast of A per row, 2 * rows FMAs into accumulators held in
 * registers (12 of the 16 ymm for AVX2 6x16, 16 of the 32 zmm for AVX-512 8x32). The store
 * mirrors the portable one (c = alpha*acc, or c + alpha*acc) so only the summation order and
 * the fused multiply-adds differ from it. One template for both ISAs: V is the vector type, VW
 * its float lanes, P the intrinsics' prefix (_mm256, _mm512: P##_fmadd_ps). ROWS(X, ...)
 * expands X(i, ...) for each row i. Tiles of 1, 2 and 4 rows serve the last rows of A (a
 * matrix-vector product has only one: the full tile would compute 8 rows for it); each element
 * is the same chain of fused multiply-adds in every tile height, so results do not depend on
 * which tile computed them. */
#define SIMD_ROWS1(X, ...) X(0, __VA_ARGS__)
#define SIMD_ROWS2(X, ...) X(0, __VA_ARGS__) X(1, __VA_ARGS__)
#define SIMD_ROWS4(X, ...) SIMD_ROWS2(X, __VA_ARGS__) X(2, __VA_ARGS__) X(3, __VA_ARGS__)
#define SIMD_ROWS6(X, ...) SIMD_ROWS4(X, __VA_ARGS__) X(4, __VA_ARGS__) X(5, __VA_ARGS__)
#define SIMD_ROWS8(X, ...) SIMD_ROWS6(X, __VA_ARGS__) X(6, __VA_ARGS__) X(7, __VA_ARGS__)
/* row i of A; rows past mr read row 0 again (valid memory; their results are not stored) */
#define SIMD_DECL(i, V, VW, P)                                                                 \
    V c##i##0 = P##_setzero_ps(), c##i##1 = P##_setzero_ps();                                  \
    const float *a##i = A + (i < mr ? i : 0) * ars;
#define SIMD_STEP(i, V, VW, P)                                                                 \
    {                                                                                          \
        V a_ = P##_set1_ps(a##i[o]);                                                           \
        c##i##0 = P##_fmadd_ps(a_, b0, c##i##0);                                               \
        c##i##1 = P##_fmadd_ps(a_, b1, c##i##1);                                               \
    }
#define SIMD_SCALE(i, V, VW, P)                                                                \
    c##i##0 = P##_mul_ps(va, c##i##0);                                                         \
    c##i##1 = P##_mul_ps(va, c##i##1);
/* c = c_old + c when accumulating (C's row i at c_) */
#define SIMD_ACC_ROW(i, V, VW, P)                                                              \
    float *c_ = C + i * ldc;                                                                   \
    if (accumulate) {                                                                          \
        c##i##0 = P##_add_ps(P##_loadu_ps(c_), c##i##0);                                       \
        c##i##1 = P##_add_ps(P##_loadu_ps(c_ + VW), c##i##1);                                  \
    }
#define SIMD_STORE_ROW(i, V, VW, P)                                                            \
    {                                                                                          \
        SIMD_ACC_ROW(i, V, VW, P)                                                              \
        P##_storeu_ps(c_, c##i##0);                                                            \
        P##_storeu_ps(c_ + VW, c##i##1);                                                       \
    }
#define SIMD_SPILL_ROW(i, V, VW, P)                                                            \
    P##_storeu_ps(t + i * 2 * VW, c##i##0);                                                    \
    P##_storeu_ps(t + i * 2 * VW + VW, c##i##1);
/* The fused write-back of a full tile: what epi_tile() does in memory, in registers ((c + bias)
 * + residual, then Relu or Clip by vact.h's instance of the variant, the bits of actmath.h's). */
#define GEMM_KV__mm256 kv8
#define GEMM_KV__mm512 kv16
#define GEMM_VACT(P, fn) GEMM_VACT_(GEMM_KV_##P, fn)
#define GEMM_VACT_(O, fn) GEMM_VACT__(O, fn)
#define GEMM_VACT__(O, fn) O##_##fn
#define SIMD_EPI_ROW(i, V, VW, P)                                                              \
    {                                                                                          \
        SIMD_ACC_ROW(i, V, VW, P)                                                              \
        if (bias) {                                                                            \
            V b_ = P##_set1_ps(bias[i]);                                                       \
            c##i##0 = P##_add_ps(c##i##0, b_);                                                 \
            c##i##1 = P##_add_ps(c##i##1, b_);                                                 \
        }                                                                                      \
        if (res) {                                                                             \
            c##i##0 = P##_add_ps(c##i##0, P##_loadu_ps(res + i * ldr));                        \
            c##i##1 = P##_add_ps(c##i##1, P##_loadu_ps(res + i * ldr + VW));                   \
        }                                                                                      \
        if (vact == KILN_ACT_RELU) {                                                           \
            c##i##0 = GEMM_VACT(P, relu)(c##i##0, 0.0f, 0.0f);                                 \
            c##i##1 = GEMM_VACT(P, relu)(c##i##1, 0.0f, 0.0f);                                 \
        } else if (vact == KILN_ACT_CLIP) {                                                    \
            c##i##0 = GEMM_VACT(P, clip)(c##i##0, alo, ahi);                                   \
            c##i##1 = GEMM_VACT(P, clip)(c##i##1, alo, ahi);                                   \
        }                                                                                      \
        P##_storeu_ps(c_, c##i##0);                                                            \
        P##_storeu_ps(c_ + VW, c##i##1);                                                       \
    }
#define SIMD_MICRO(isa, target, tm, ROWS, V, VW, P)                                            \
    static KILN_GEMM_TARGET(target) void micro_##isa(KILN_GEMM_MICRO_ARGS(float))              \
    {                                                                                          \
        ROWS(SIMD_DECL, V, VW, P)                                                              \
        for (int64_t k = 0, o = 0; k < kc; k++, o += acs, Bp += bks) {                         \
            V b0 = P##_loadu_ps(Bp), b1 = P##_loadu_ps(Bp + VW);                               \
            ROWS(SIMD_STEP, V, VW, P)                                                          \
        }                                                                                      \
        V va = P##_set1_ps(alpha);                                                             \
        ROWS(SIMD_SCALE, V, VW, P)                                                             \
        if (mr == (tm) && nr == 2 * VW) {                                                      \
            if (!epi) {                                                                        \
                ROWS(SIMD_STORE_ROW, V, VW, P)                                                 \
                return;                                                                        \
            }                                                                                  \
            /* activations other than Relu and Clip: over the stored rows, by vact.h's map */  \
            const struct kiln_act *act_ = epi->act;                                            \
            int kind = act_ ? act_->kind : KILN_ACT_NONE;                                      \
            int vact = kind == KILN_ACT_NONE || kind == KILN_ACT_RELU || kind == KILN_ACT_CLIP  \
                           ? kind                                                              \
                           : -1;                                                               \
            const float *bias = epi->bias ? (const float *)epi->bias + i0 : NULL;              \
            const float *res = NULL;                                                           \
            int64_t ldr = epi->ldr;                                                            \
            float alo = vact == KILN_ACT_CLIP ? act_->alpha : 0.0f;                            \
            float ahi = vact == KILN_ACT_CLIP ? act_->beta : 0.0f;                             \
            if (epi->res)                                                                      \
                res = (const float *)epi->res + i0 * ldr + j0;                                 \
            ROWS(SIMD_EPI_ROW, V, VW, P)                                                       \
            if (vact < 0)                                                                      \
                for (int64_t i = 0; i < (tm); i++)                                             \
                    GEMM_VACT(P, act_map)(act_, C + i * ldc, C + i * ldc, 2 * VW);             \
            return;                                                                            \
        }                                                                                      \
        /* edge tile: through a buffer, clipped to mr x nr */                                  \
        float t[(tm) * 2 * VW];                                                                \
        ROWS(SIMD_SPILL_ROW, V, VW, P)                                                         \
        for (int64_t i = 0; i < mr; i++) {                                                     \
            float *c_ = C + i * ldc;                                                           \
            const float *r_ = t + i * 2 * VW;                                                  \
            if (accumulate)                                                                    \
                for (int64_t j = 0; j < nr; j++)                                               \
                    c_[j] += r_[j];                                                            \
            else                                                                               \
                for (int64_t j = 0; j < nr; j++)                                               \
                    c_[j] = r_[j];                                                             \
        }                                                                                      \
        if (epi)                                                                               \
            epi_tile_f32(epi, i0, j0, C, ldc, mr, nr);                                         \
    }

#if KILN_GEMM_AVX2_MR != 6 || KILN_GEMM_AVX2_NR != 16 || KILN_GEMM_AVX512_MR != 8 ||          \
    KILN_GEMM_AVX512_NR != 32
#error "gemm_core.h's SIMD tiles do not match the micro-kernels"
#endif
/* A variant's micro-kernels for tiles of 1, 2, 4 and tm rows, and micro_<isa>_any, which
 * runs the smallest one that covers mr rows. */
#define SIMD_MICROS(isa, target, tm, ROWS, V, VW, P)                                           \
    SIMD_MICRO(isa##_r1, target, 1, SIMD_ROWS1, V, VW, P)                                      \
    SIMD_MICRO(isa##_r2, target, 2, SIMD_ROWS2, V, VW, P)                                      \
    SIMD_MICRO(isa##_r4, target, 4, SIMD_ROWS4, V, VW, P)                                      \
    SIMD_MICRO(isa, target, tm, ROWS, V, VW, P)                                                \
    static KILN_GEMM_TARGET(target) void micro_##isa##_any(KILN_GEMM_MICRO_ARGS(float))        \
    {                                                                                          \
        if (mr > 4)                                                                            \
            micro_##isa(kc, A, ars, acs, Bp, bks, alpha, C, ldc, mr, nr, accumulate, epi, i0,  \
                        j0);                                                                   \
        else if (mr > 2)                                                                       \
            micro_##isa##_r4(kc, A, ars, acs, Bp, bks, alpha, C, ldc, mr, nr, accumulate, epi, \
                             i0, j0);                                                          \
        else if (mr == 2)                                                                      \
            micro_##isa##_r2(kc, A, ars, acs, Bp, bks, alpha, C, ldc, mr, nr, accumulate, epi, \
                             i0, j0);                                                          \
        else                                                                                   \
            micro_##isa##_r1(kc, A, ars, acs, Bp, bks, alpha, C, ldc, mr, nr, accumulate, epi, \
                             i0, j0);                                                          \
    }
#ifdef KILN_GEMM_HAVE_AVX2
SIMD_MICROS(avx2, "avx2,fma", KILN_GEMM_AVX2_MR, SIMD_ROWS6, __m256, 8, _mm256)
KILN_GEMM_BLOCKED(avx2_f32, float, KILN_GEMM_AVX2_MR, KILN_GEMM_AVX2_NR, micro_avx2_any,
                  KILN_GEMM_TARGET("avx2,fma"), 0, epi_tile_f32)
#endif
#ifdef KILN_GEMM_HAVE_AVX512
SIMD_MICROS(avx512, "avx512f", KILN_GEMM_AVX512_MR, SIMD_ROWS8, __m512, 16, _mm512)
KILN_GEMM_BLOCKED(avx512_f32, float, KILN_GEMM_AVX512_MR, KILN_GEMM_AVX512_NR, micro_avx512_any,
                  KILN_GEMM_TARGET("avx512f"), 0, epi_tile_f32)
#endif

/* ---- the entry points ---- */

#define ARGS_DECL(T)                                                                           \
    int64_t M, int64_t N, int64_t K, T alpha, const T *A, int64_t a_rs, int64_t a_cs,          \
        const T *B, int64_t b_rs, int64_t b_cs, T *C, int64_t ldc
#define ARGS M, N, K, alpha, A, a_rs, a_cs, B, b_rs, b_cs, C, ldc

/* An epilogue that does nothing is none (the kernels then store as they compute). */
static const struct kiln_gemm_epi *epi_or_null(const struct kiln_gemm_epi *e)
{
    return e && (e->bias || e->res || (e->act && e->act->kind != KILN_ACT_NONE)) ? e : NULL;
}

/* The float32 GEMM on variant isa: 0 portable, 1 AVX2, 2 AVX-512 (the order of enum
 * kiln_gemm_isa); a variant not compiled in runs the best one below it. mcb and ncb: the cache
 * blocks MC and NC (smaller in a thread's part; they change no result: only KC splits sums). */
static int isa_clamp(int isa)
{
#ifndef KILN_GEMM_HAVE_AVX512
    if (isa >= 2)
        isa = 1;
#endif
#ifndef KILN_GEMM_HAVE_AVX2
    if (isa == 1)
        isa = 0;
#endif
    return isa;
}

static void gemm_caps_f32(int isa, ARGS_DECL(float), int flags, const struct kiln_gemm_epi *epi,
                          int64_t mcb, int64_t ncb, void *scratch)
{
    switch (isa_clamp(isa)) {
#ifdef KILN_GEMM_HAVE_AVX512
    case 2: gemm_avx512_f32(ARGS, flags, epi, mcb, ncb, scratch); return;
#endif
#ifdef KILN_GEMM_HAVE_AVX2
    case 1: gemm_avx2_f32(ARGS, flags, epi, mcb, ncb, scratch); return;
#endif
    default: gemm_portable_f32(ARGS, flags, epi, mcb, ncb, scratch); return;
    }
}

static void gemm_caps_f64(int isa, ARGS_DECL(double), int flags, const struct kiln_gemm_epi *epi,
                          int64_t mcb, int64_t ncb, void *scratch)
{
    (void)isa;
    gemm_portable_f64(ARGS, flags, epi, mcb, ncb, scratch);
}

void kiln_gemm_ex_f64(ARGS_DECL(double), int flags, const struct kiln_gemm_epi *epi,
                      void *scratch)
{
    gemm_caps_f64(0, ARGS, flags, epi_or_null(epi), KILN_GEMM_MC, KILN_GEMM_NC, scratch);
}

void kiln_gemm_f64(ARGS_DECL(double), int accumulate, void *scratch)
{
    gemm_caps_f64(0, ARGS, accumulate ? KILN_GEMM_ACCUMULATE : 0, NULL, KILN_GEMM_MC,
                  KILN_GEMM_NC, scratch);
}

static void gemm_f32_on(int isa, ARGS_DECL(float), int flags, const struct kiln_gemm_epi *epi,
                        void *scratch)
{
    gemm_caps_f32(isa, ARGS, flags, epi_or_null(epi), KILN_GEMM_MC, KILN_GEMM_NC, scratch);
}

/* ---- threads: a product split between the parts of kiln_par_run ----
 * Each part computes whole columns (or whole rows) of C with the serial loop nest on its own
 * slice of the scratch, so every element is the same chain of K-block sums as in one thread:
 * results are bit-identical for any split. Parts start at multiples of the packed panels
 * (PANEL_B columns, PANEL_A rows), so operands packed at compile time are read in place. */
struct gemm_split {
    int parts, by_n;
    int64_t unit, mcb, ncb;
    uint64_t slice; /* scratch bytes per part, a multiple of 64 */
};

/* Scratch bytes one part needs: the serial loop's layout with blocks mcb x ncb. */
static uint64_t part_bytes(int64_t rows, int64_t cols, int64_t K, uint64_t es, int flags,
                           int tm, int tn, int pack_a, int64_t mcb, int64_t ncb)
{
    uint64_t kc = (uint64_t)(K < KILN_GEMM_KC ? K : KILN_GEMM_KC);
    uint64_t a = 0, b = 0;
    if (pack_a)
        a = kiln_gemm_round_up(kiln_gemm_round_up((uint64_t)(rows < mcb ? rows : mcb),
                                                  (uint64_t)tm) * kc * es, 64);
    if (!(flags & KILN_GEMM_B_PACKED))
        b = kiln_gemm_round_up((uint64_t)(cols < ncb ? cols : ncb), (uint64_t)tn) * kc * es;
    return a + b;
}

/* How to split an M x N x K product over at most `threads` parts in scratch_size bytes, with
 * tiles tm x tn (pack_a: the variant packs blocks of A per run). parts 1: run it serially
 * (small products, where waking threads costs more than it saves). */
static void gemm_plan_split(int64_t M, int64_t N, int64_t K, uint64_t es, int flags, int tm,
                            int tn, int pack_a, uint64_t scratch_size, int threads,
                            uint64_t min_work, struct gemm_split *s)
{
    memset(s, 0, sizeof *s);
    s->parts = 1;
    if (threads < 2 || K == 0 || M == 0 || N == 0 ||
        (uint64_t)M * (uint64_t)N * (uint64_t)K < min_work)
        return;
    const int64_t un = KILN_GEMM_PANEL_B, um = KILN_GEMM_PANEL_A;
    int64_t tiles_n = (N + un - 1) / un, tiles_m = (M + um - 1) / um;
    for (int t = threads; t >= 2; t--) {
        int64_t pn = tiles_n < t ? tiles_n : t, pm = tiles_m < t ? tiles_m : t;
        /* the longest part's share of the product, in elements of C */
        int64_t cost_n = (tiles_n + pn - 1) / pn * un * M;
        int64_t cost_m = (tiles_m + pm - 1) / pm * um * N;
        int by_n = cost_n <= cost_m;
        int parts = (int)(by_n ? pn : pm);
        if (parts < 2)
            return;
        int64_t unit = by_n ? un : um, count = by_n ? N : M;
        int64_t chunk = (count + unit - 1) / unit;
        chunk = (chunk + parts - 1) / parts * unit;
        int64_t rows = by_n ? M : chunk, cols = by_n ? chunk : N;
        uint64_t slice = scratch_size / (uint64_t)parts / 64 * 64;
        static const int64_t mcbs[] = {KILN_GEMM_MC, 48, 24};
        int64_t ncb0 = cols < KILN_GEMM_NC ? kiln_gemm_round_up((uint64_t)cols, un) : KILN_GEMM_NC;
        for (int64_t ncb = ncb0; ncb >= un; ncb -= un) {
            for (int mi = 0; mi < 3 + !(flags & KILN_GEMM_A_PACKED); mi++) {
                int64_t mcb = mi < 3 ? mcbs[mi] : tm;
                if (part_bytes(rows, cols, K, es, flags, tm, tn, pack_a, mcb, ncb) <= slice) {
                    *s = (struct gemm_split){parts, by_n, unit, mcb, ncb, slice};
                    return;
                }
            }
            if (flags & KILN_GEMM_B_PACKED)
                break; /* no B panel: ncb does not matter */
        }
    }
}

/* min_work: products of fewer multiply-adds run serially */
#define KILN_GEMM_MT_MIN_WORK (1u << 18)

#define KILN_GEMM_MT_DEFINE(sfx, T)                                                            \
    struct gemm_job_##sfx {                                                                    \
        int isa;                                                                               \
        int64_t M, N, K;                                                                       \
        T alpha;                                                                               \
        const T *A;                                                                            \
        int64_t a_rs, a_cs;                                                                    \
        const T *B;                                                                            \
        int64_t b_rs, b_cs;                                                                    \
        T *C;                                                                                  \
        int64_t ldc;                                                                           \
        int flags;                                                                             \
        const struct kiln_gemm_epi *epi;                                                       \
        char *scratch;                                                                         \
        struct gemm_split s;                                                                   \
    };                                                                                         \
    static void gemm_part_##sfx(void *ctx, int i, int n)                                       \
    {                                                                                          \
        const struct gemm_job_##sfx *j = ctx;                                                  \
        int64_t lo, hi, M = j->M, N = j->N, K = j->K;                                          \
        kiln_par_range(j->s.by_n ? N : M, j->s.unit, i, n, &lo, &hi);                          \
        if (lo >= hi)                                                                          \
            return;                                                                            \
        struct kiln_gemm_epi e = {NULL, NULL, NULL, 0};                                        \
        if (j->epi)                                                                            \
            e = *j->epi;                                                                       \
        const T *A = j->A, *B = j->B, *bias = e.bias, *res = e.res;                            \
        T *C = j->C;                                                                           \
        if (j->s.by_n) {                                                                       \
            B += j->flags & KILN_GEMM_B_PACKED ? lo * K : lo * j->b_cs;                        \
            C += lo, N = hi - lo;                                                              \
            res = res ? res + lo : NULL;                                                       \
        } else {                                                                               \
            A += j->flags & KILN_GEMM_A_PACKED ? lo * K : lo * j->a_rs;                        \
            C += lo * j->ldc, M = hi - lo;                                                     \
            bias = bias ? bias + lo : NULL;                                                    \
            res = res ? res + lo * e.ldr : NULL;                                               \
        }                                                                                      \
        e.bias = bias, e.res = res;                                                            \
        gemm_caps_##sfx(j->isa, M, N, K, j->alpha, A, j->a_rs, j->a_cs, B, j->b_rs, j->b_cs,   \
                        C, j->ldc, j->flags, j->epi ? &e : NULL, j->s.mcb, j->s.ncb,           \
                        j->scratch + (uint64_t)i * j->s.slice);                                \
    }                                                                                          \
    /* 0 when the product runs serially (the caller then takes the serial entry point) */      \
    static int gemm_mt_##sfx(int isa, ARGS_DECL(T), int flags, const struct kiln_gemm_epi *epi, \
                             void *scratch, uint64_t scratch_size, struct kiln_threads *threads, \
                             uint64_t min_work)                                                \
    {                                                                                          \
        int tm = KILN_GEMM_MR, tn = KILN_GEMM_NR, pack_a = 1;                                  \
        isa = sizeof(T) == 4 ? isa_clamp(isa) : 0;                                             \
        if (isa == 1)                                                                          \
            tm = KILN_GEMM_AVX2_MR, tn = KILN_GEMM_AVX2_NR, pack_a = 0;                        \
        else if (isa == 2)                                                                     \
            tm = KILN_GEMM_AVX512_MR, tn = KILN_GEMM_AVX512_NR, pack_a = 0;                    \
        struct gemm_job_##sfx j = {isa, ARGS, flags, epi_or_null(epi), scratch, {0}};          \
        gemm_plan_split(M, N, K, sizeof(T), flags, tm, tn, pack_a, scratch_size,               \
                        kiln_par_count(threads), min_work, &j.s);                              \
        if (j.s.parts < 2)                                                                     \
            return 0;                                                                          \
        kiln_par_run(threads, j.s.parts, gemm_part_##sfx, &j);                                 \
        return 1;                                                                              \
    }
KILN_GEMM_MT_DEFINE(f32, float)
KILN_GEMM_MT_DEFINE(f64, double)

void kiln_gemm_mt_f64(ARGS_DECL(double), int flags, const struct kiln_gemm_epi *epi,
                      void *scratch, uint64_t scratch_size, struct kiln_threads *threads)
{
    if (kiln_par_count(threads) < 2 ||
        !gemm_mt_f64(0, ARGS, flags, epi, scratch, scratch_size, threads,
                     kiln_par_min(KILN_GEMM_MT_MIN_WORK)))
        kiln_gemm_ex_f64(ARGS, flags, epi, scratch);
}

#ifndef KILN_EMITTED
/* ---- run-time choice (libkilnrt) ---- */

static const char *const isa_names[KILN_GEMM_ISA_COUNT] = {"portable", "avx2", "avx512"};

const char *kiln_gemm_isa_name(enum kiln_gemm_isa isa)
{
    return (unsigned)isa < KILN_GEMM_ISA_COUNT ? isa_names[isa] : NULL;
}

int kiln_gemm_isa_parse(const char *name)
{
    for (int i = 0; name && i < KILN_GEMM_ISA_COUNT; i++)
        if (strcmp(name, isa_names[i]) == 0)
            return i;
    return -1;
}

int kiln_gemm_isa_supported(enum kiln_gemm_isa isa)
{
    switch (isa) {
    case KILN_GEMM_ISA_PORTABLE:
        return 1;
#ifdef KILN_GEMM_DISPATCH
    case KILN_GEMM_ISA_AVX2:
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case KILN_GEMM_ISA_AVX512:
        return __builtin_cpu_supports("avx512f");
#endif
    default:
        return 0;
    }
}

enum kiln_gemm_isa kiln_gemm_isa_fallback(enum kiln_gemm_isa want)
{
    int isa = (unsigned)want < KILN_GEMM_ISA_COUNT ? (int)want : KILN_GEMM_ISA_COUNT - 1;
    while (isa > 0 && !kiln_gemm_isa_supported((enum kiln_gemm_isa)isa))
        isa--;
    return (enum kiln_gemm_isa)isa;
}

/* -1 until the first float32 GEMM (or kiln_gemm_isa_select) decides. Threads racing on the
 * first call compute the same value from the same CPU and environment, so relaxed atomics
 * suffice: no lock, one load per GEMM afterwards. Without the GNU builtins there is nothing
 * to choose from: the portable path. */
#ifdef KILN_GEMM_DISPATCH
static int active_isa = -1;
#define ISA_LOAD() __atomic_load_n(&active_isa, __ATOMIC_RELAXED)
#define ISA_STORE(v) __atomic_store_n(&active_isa, (v), __ATOMIC_RELAXED)
#else
#define ISA_LOAD() KILN_GEMM_ISA_PORTABLE
#define ISA_STORE(v) ((void)(v))
#endif

enum kiln_gemm_isa kiln_gemm_isa_active(void)
{
    int isa = ISA_LOAD();
    if (isa < 0) {
#ifdef KILN_GEMM_DISPATCH
        __builtin_cpu_init();
        int want = kiln_gemm_isa_parse(getenv("KILN_SIMD"));
        isa = kiln_gemm_isa_fallback(want < 0 ? KILN_GEMM_ISA_COUNT - 1
                                              : (enum kiln_gemm_isa)want);
#endif
        ISA_STORE(isa);
    }
    return (enum kiln_gemm_isa)isa;
}

enum kiln_gemm_isa kiln_gemm_isa_select(enum kiln_gemm_isa want)
{
    enum kiln_gemm_isa isa = kiln_gemm_isa_fallback(want);
    ISA_STORE((int)isa);
    return isa;
}

void kiln_gemm_f32_isa(enum kiln_gemm_isa isa, ARGS_DECL(float), int flags,
                       const struct kiln_gemm_epi *epi, void *scratch)
{
    gemm_f32_on(kiln_gemm_isa_fallback(isa), ARGS, flags, epi, scratch);
}

int kiln_gemm_f32_isa_mt(enum kiln_gemm_isa isa, ARGS_DECL(float), int flags,
                         const struct kiln_gemm_epi *epi, void *scratch, uint64_t scratch_size,
                         struct kiln_threads *threads)
{
    int isa_ = (int)kiln_gemm_isa_fallback(isa);
    if (gemm_mt_f32(isa_, ARGS, flags, epi, scratch, scratch_size, threads, 0))
        return 1;
    gemm_f32_on(isa_, ARGS, flags, epi, scratch);
    return 0;
}

static int active_or_best(void)
{
    return kiln_gemm_isa_active();
}

#define KILN_GEMM_PACK_DEFINE(sfx, T)                                                          \
    KILN_GEMM_PACK(panels_a_##sfx, T, PA, )                                                    \
    KILN_GEMM_PACK(panels_b_##sfx, T, PB, )                                                    \
    void kiln_gemm_pack_a_##sfx(int64_t M, int64_t K, const T *A, int64_t a_rs, int64_t a_cs,  \
                                T *P)                                                          \
    {                                                                                          \
        panels_a_##sfx(M, K, A, a_rs, a_cs, P);                                                \
    }                                                                                          \
    void kiln_gemm_pack_b_##sfx(int64_t K, int64_t N, const T *B, int64_t b_rs, int64_t b_cs,  \
                                T *P)                                                          \
    {                                                                                          \
        panels_b_##sfx(N, K, B, b_cs, b_rs, P);                                                \
    }
KILN_GEMM_PACK_DEFINE(f32, float)
KILN_GEMM_PACK_DEFINE(f64, double)
#else
/* Emitted C: the best micro-kernel the compiler flags enabled (gemm_f32_on clamps). */
static int active_or_best(void)
{
    return 2;
}
#endif

void kiln_gemm_ex_f32(ARGS_DECL(float), int flags, const struct kiln_gemm_epi *epi,
                      void *scratch)
{
    gemm_f32_on(active_or_best(), ARGS, flags, epi, scratch);
}

void kiln_gemm_f32(ARGS_DECL(float), int accumulate, void *scratch)
{
    gemm_f32_on(active_or_best(), ARGS, accumulate ? KILN_GEMM_ACCUMULATE : 0, NULL, scratch);
}

/* ---- sparse weights (kiln_spgemm_f32) ----
 * S is stored by output column (gemm_core.h), so each output element is a dot product kept in
 * registers. With at least KILN_SPGEMM_MIN_ROWS rows of A left, KILN_SPGEMM_LANES of them are
 * transposed into scratch (At[k][lane], zero-padded) and one non-zero weight costs one 16-wide
 * FMA; fewer rows (a single input vector) take a scalar dot per row, which reads only the
 * non-zeros' inputs. Four accumulators per row hide the FMA latency. */
/* Writes lanes 0..mb-1 of column n (the row-sums s of 16 lanes). */
static void sp_store(const float *s, float alpha, float *C, int64_t ldc, int64_t n, int64_t mb,
                     int accumulate)
{
    for (int64_t l = 0; l < mb; l++)
        C[l * ldc + n] = accumulate ? C[l * ldc + n] + alpha * s[l] : alpha * s[l];
}

#define SP_LANES_ARGS                                                                          \
    const uint32_t *rp, const uint32_t *col, const float *val, int64_t N, const float *At,     \
        float alpha, float *C, int64_t ldc, int64_t mb, int accumulate

static void sp_lanes_portable(SP_LANES_ARGS)
{
    for (int64_t n = 0; n < N; n++) {
        float s[KILN_SPGEMM_LANES] = {0};
        for (uint32_t p = rp[n]; p < rp[n + 1]; p++) {
            const float *a = At + (size_t)col[p] * KILN_SPGEMM_LANES;
            float v = val[p];
            for (int l = 0; l < KILN_SPGEMM_LANES; l++)
                s[l] += v * a[l];
        }
        sp_store(s, alpha, C, ldc, n, mb, accumulate);
    }
}

#ifdef KILN_GEMM_HAVE_AVX2
static KILN_GEMM_TARGET("avx2,fma") void sp_lanes_avx2(SP_LANES_ARGS)
{
    for (int64_t n = 0; n < N; n++) {
        __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
        uint32_t p = rp[n], e = rp[n + 1];
        for (; p + 1 < e; p += 2) {
            const float *a = At + (size_t)col[p] * KILN_SPGEMM_LANES;
            const float *b = At + (size_t)col[p + 1] * KILN_SPGEMM_LANES;
            __m256 v = _mm256_set1_ps(val[p]), w = _mm256_set1_ps(val[p + 1]);
            s0 = _mm256_fmadd_ps(v, _mm256_load_ps(a), s0);
            s1 = _mm256_fmadd_ps(v, _mm256_load_ps(a + 8), s1);
            s2 = _mm256_fmadd_ps(w, _mm256_load_ps(b), s2);
            s3 = _mm256_fmadd_ps(w, _mm256_load_ps(b + 8), s3);
        }
        if (p < e) {
            const float *a = At + (size_t)col[p] * KILN_SPGEMM_LANES;
            __m256 v = _mm256_set1_ps(val[p]);
            s0 = _mm256_fmadd_ps(v, _mm256_load_ps(a), s0);
            s1 = _mm256_fmadd_ps(v, _mm256_load_ps(a + 8), s1);
        }
        float s[KILN_SPGEMM_LANES];
        _mm256_storeu_ps(s, _mm256_add_ps(s0, s2));
        _mm256_storeu_ps(s + 8, _mm256_add_ps(s1, s3));
        sp_store(s, alpha, C, ldc, n, mb, accumulate);
    }
}
#endif

#ifdef KILN_GEMM_HAVE_AVX512
static KILN_GEMM_TARGET("avx512f") void sp_lanes_avx512(SP_LANES_ARGS)
{
    for (int64_t n = 0; n < N; n++) {
        __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
        uint32_t p = rp[n], e = rp[n + 1];
        for (; p + 3 < e; p += 4) {
            s0 = _mm512_fmadd_ps(_mm512_set1_ps(val[p]),
                                 _mm512_load_ps(At + (size_t)col[p] * KILN_SPGEMM_LANES), s0);
            s1 = _mm512_fmadd_ps(_mm512_set1_ps(val[p + 1]),
                                 _mm512_load_ps(At + (size_t)col[p + 1] * KILN_SPGEMM_LANES), s1);
            s2 = _mm512_fmadd_ps(_mm512_set1_ps(val[p + 2]),
                                 _mm512_load_ps(At + (size_t)col[p + 2] * KILN_SPGEMM_LANES), s2);
            s3 = _mm512_fmadd_ps(_mm512_set1_ps(val[p + 3]),
                                 _mm512_load_ps(At + (size_t)col[p + 3] * KILN_SPGEMM_LANES), s3);
        }
        for (; p < e; p++)
            s0 = _mm512_fmadd_ps(_mm512_set1_ps(val[p]),
                                 _mm512_load_ps(At + (size_t)col[p] * KILN_SPGEMM_LANES), s0);
        float s[KILN_SPGEMM_LANES];
        _mm512_storeu_ps(s, _mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
        sp_store(s, alpha, C, ldc, n, mb, accumulate);
    }
}
#endif

/* One row of A (its elements a[k * a_cs]) against every row of S. */
static void sp_row(const uint32_t *rp, const uint32_t *col, const float *val, int64_t N,
                   const float *a, int64_t a_cs, float alpha, float *c, int accumulate)
{
    for (int64_t n = 0; n < N; n++) {
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        uint32_t p = rp[n], e = rp[n + 1];
        for (; p + 3 < e; p += 4) {
            s0 += val[p] * a[col[p] * a_cs];
            s1 += val[p + 1] * a[col[p + 1] * a_cs];
            s2 += val[p + 2] * a[col[p + 2] * a_cs];
            s3 += val[p + 3] * a[col[p + 3] * a_cs];
        }
        for (; p < e; p++)
            s0 += val[p] * a[col[p] * a_cs];
        float s = (s0 + s1) + (s2 + s3);
        c[n] = accumulate ? c[n] + alpha * s : alpha * s;
    }
}

static void spgemm_on(int isa, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                      int64_t a_rs, int64_t a_cs, const uint32_t *S, float *C, int64_t ldc,
                      int accumulate, void *scratch)
{
    const uint32_t *rp = S + 3, *col = rp + N + 1;
    const float *val = (const float *)(const void *)(col + S[2]);
    float *At = (float *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);
    for (int64_t m0 = 0; m0 < M; m0 += KILN_SPGEMM_LANES) {
        int64_t mb = M - m0 < KILN_SPGEMM_LANES ? M - m0 : KILN_SPGEMM_LANES;
        if (mb < KILN_SPGEMM_MIN_ROWS) {
            for (int64_t i = 0; i < mb; i++)
                sp_row(rp, col, val, N, A + (m0 + i) * a_rs, a_cs, alpha, C + (m0 + i) * ldc,
                       accumulate);
            continue;
        }
        for (int64_t k = 0; k < K; k++)
            for (int64_t l = 0; l < KILN_SPGEMM_LANES; l++)
                At[k * KILN_SPGEMM_LANES + l] = l < mb ? A[(m0 + l) * a_rs + k * a_cs] : 0.0f;
        float *Cb = C + m0 * ldc;
#ifdef KILN_GEMM_HAVE_AVX512
        if (isa >= 2) {
            sp_lanes_avx512(rp, col, val, N, At, alpha, Cb, ldc, mb, accumulate);
            continue;
        }
#endif
#ifdef KILN_GEMM_HAVE_AVX2
        if (isa >= 1) {
            sp_lanes_avx2(rp, col, val, N, At, alpha, Cb, ldc, mb, accumulate);
            continue;
        }
#endif
        (void)isa;
        sp_lanes_portable(rp, col, val, N, At, alpha, Cb, ldc, mb, accumulate);
    }
}

void kiln_spgemm_f32(int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t a_rs,
                     int64_t a_cs, const uint32_t *S, float *C, int64_t ldc, int accumulate,
                     void *scratch)
{
    spgemm_on(active_or_best(), M, N, K, alpha, A, a_rs, a_cs, S, C, ldc, accumulate, scratch);
}

#ifndef KILN_EMITTED
void kiln_spgemm_f32_isa(enum kiln_gemm_isa isa, int64_t M, int64_t N, int64_t K, float alpha,
                         const float *A, int64_t a_rs, int64_t a_cs, const uint32_t *S, float *C,
                         int64_t ldc, int accumulate, void *scratch)
{
    spgemm_on(kiln_gemm_isa_fallback(isa), M, N, K, alpha, A, a_rs, a_cs, S, C, ldc, accumulate,
              scratch);
}
#endif
void kiln_gemm_mt_f32(ARGS_DECL(float), int flags, const struct kiln_gemm_epi *epi,
                      void *scratch, uint64_t scratch_size, struct kiln_threads *threads)
{
    if (kiln_par_count(threads) < 2 ||
        !gemm_mt_f32(active_or_best(), ARGS, flags, epi, scratch, scratch_size, threads,
                     kiln_par_min(KILN_GEMM_MT_MIN_WORK)))
        gemm_f32_on(active_or_best(), ARGS, flags, epi, scratch);
}
