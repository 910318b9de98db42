/* gemm_core.h - the one GEMM every dense op shares (Conv through im2col, Gemm, MatMul):
 * cache-blocked, with one packing scheme and several float32 register-tile micro-kernels
 * (portable C, AVX2+FMA, AVX-512F) picked at run time in libkilnrt and by compiler macros in
 * emitted C. Its packing buffers come from the calling kernel's scratch, sized at compile time
 * with kiln_gemm_scratch_bytes(), so a run allocates nothing. Included by the compiler too (to
 * size scratch): keep it free of runtime-internal headers. */
#ifndef KILN_RT_GEMM_CORE_H
#define KILN_RT_GEMM_CORE_H

#include <stdint.h>

/* Register tiles (MR rows x NR columns of C): the portable one (which igemm.c shares), and each
 * SIMD variant's. Cache blocks are common to all: MC rows of A, KC deep, NC columns of B. */
#define KILN_GEMM_MR 4
#define KILN_GEMM_NR 8
#define KILN_GEMM_AVX2_MR 6
#define KILN_GEMM_AVX2_NR 16
#define KILN_GEMM_AVX512_MR 8
#define KILN_GEMM_AVX512_NR 32
#define KILN_GEMM_MC 72
#define KILN_GEMM_KC 256
#define KILN_GEMM_NC 1024

static inline uint64_t kiln_gemm_round_up(uint64_t x, uint64_t m)
{
    return (x + m - 1) / m * m;
}

/* n rounded up to a multiple of the tile width NR of every variant: the packed extent of n
 * columns whichever micro-kernel runs, so scratch sized at compile time fits the variant chosen
 * later, on another CPU or with other compiler flags. */
static inline uint64_t kiln_gemm_tile_round_up(uint64_t n)
{
    uint64_t a = kiln_gemm_round_up(n, KILN_GEMM_NR);
    uint64_t b = kiln_gemm_round_up(n, KILN_GEMM_AVX2_NR);
    uint64_t c = kiln_gemm_round_up(n, KILN_GEMM_AVX512_NR);
    a = a > b ? a : b;
    return a > c ? a : c;
}

/* Scratch bytes kiln_gemm_<dtype> needs for an M x N x K product with elements of esize:
 *   [ packed A: MC x KC block (portable kernel only) | pad to 64 | packed B: KC x NC panel ] */
static inline uint64_t kiln_gemm_scratch_bytes(uint64_t m, uint64_t n, uint64_t k, uint64_t esize)
{
    uint64_t kc = k < KILN_GEMM_KC ? k : KILN_GEMM_KC;
    uint64_t mc = kiln_gemm_round_up(m < KILN_GEMM_MC ? m : KILN_GEMM_MC, KILN_GEMM_MR);
    uint64_t nc = kiln_gemm_tile_round_up(n < KILN_GEMM_NC ? n : KILN_GEMM_NC);
    return (mc + nc) * (kc ? kc : 1) * esize + 64;
}

/* What the GEMM applies to C as it writes its final result, while the tile is still in
 * registers (the fused epilogue of Conv, Gemm and MatMul, runtime/kernels/epilogue.h):
 *   C(i, j) = act((C(i, j) + bias[i]) + res[i*ldr + j])
 * in that order, each part optional (bias, res NULL; act NULL or KILN_ACT_NONE), so the result
 * is bit-identical to the product followed by kiln_epilogue_<dtype>(). bias and res have the
 * GEMM's element type. */
struct kiln_act;
struct kiln_gemm_epi {
    const struct kiln_act *act;
    const void *bias;
    const void *res;
    int64_t ldr;
};

/* Flags of kiln_gemm_ex_<dtype>. A_PACKED: A is in the layout kiln_gemm_pack_a_<dtype> writes
 * (a_rs, a_cs ignored); B_PACKED: B in kiln_gemm_pack_b_<dtype>'s (b_rs, b_cs ignored). */
#define KILN_GEMM_ACCUMULATE 1
#define KILN_GEMM_A_PACKED 2
#define KILN_GEMM_B_PACKED 4

/* C = alpha * A * B, or C += alpha * A * B when accumulate is set. C is M x N with row stride
 * ldc; A(i,k) = A[i*a_rs + k*a_cs] and B(k,j) = B[k*b_rs + j*b_cs], so transposed operands are
 * just other strides. scratch holds kiln_gemm_scratch_bytes(M, N, K, sizeof element) bytes.
 * float32 runs the micro-kernel of kiln_gemm_isa_active() (emitted C: the best one the compiler
 * flags enable); float64 is portable C. kiln_gemm_ex_<dtype> takes KILN_GEMM_* flags instead of
 * accumulate, and an epilogue (NULL: none). */
#define KILN_GEMM_DECLARE(sfx, T)                                                              \
    void kiln_gemm_##sfx(int64_t M, int64_t N, int64_t K, T alpha, const T *A, int64_t a_rs,   \
                         int64_t a_cs, const T *B, int64_t b_rs, int64_t b_cs, T *C,           \
                         int64_t ldc, int accumulate, void *scratch);                          \
    void kiln_gemm_ex_##sfx(int64_t M, int64_t N, int64_t K, T alpha, const T *A, int64_t a_rs, \
                            int64_t a_cs, const T *B, int64_t b_rs, int64_t b_cs, T *C,        \
                            int64_t ldc, int flags, const struct kiln_gemm_epi *epi,           \
                            void *scratch);
KILN_GEMM_DECLARE(f32, float)
KILN_GEMM_DECLARE(f64, double)
#undef KILN_GEMM_DECLARE

/* kiln_gemm_ex_<dtype> on the threads of a pool (runtime/kernels/threads.h), bit-identical to
 * it: parts of whole columns (or rows) of C, each on its own slice of scratch (scratch_size
 * bytes, at least kiln_gemm_scratch_bytes; a part's cache blocks shrink to fit its slice, and
 * a product that does not fit, or is too small to pay for waking threads, runs serially).
 * threads NULL or of one thread: exactly kiln_gemm_ex_<dtype>. */
struct kiln_threads;
#define KILN_GEMM_MT_DECLARE(sfx, T)                                                           \
    void kiln_gemm_mt_##sfx(int64_t M, int64_t N, int64_t K, T alpha, const T *A, int64_t a_rs, \
                            int64_t a_cs, const T *B, int64_t b_rs, int64_t b_cs, T *C,        \
                            int64_t ldc, int flags, const struct kiln_gemm_epi *epi,           \
                            void *scratch, uint64_t scratch_size, struct kiln_threads *threads);
KILN_GEMM_MT_DECLARE(f32, float)
KILN_GEMM_MT_DECLARE(f64, double)
#undef KILN_GEMM_MT_DECLARE

/* Constant operands (weights) are packed at compile time into panels that every variant reads
 * in place (KILN_GEMM_A_PACKED, KILN_GEMM_B_PACKED): a multiple of every tile, so a bundle or
 * emitted C runs on whichever micro-kernel the CPU or the compiler flags pick.
 *   A, M x K: panels of PANEL_A rows, P[(i/PANEL_A)*K*PANEL_A + k*PANEL_A + i%PANEL_A]
 *   B, K x N: panels of PANEL_B columns, P[(j/PANEL_B)*K*PANEL_B + k*PANEL_B + j%PANEL_B]
 * rows (columns) past M (N) zero-filled to a whole panel. */
#define KILN_GEMM_PANEL_A 24
#define KILN_GEMM_PANEL_B 32
/* Conv, Gemm and MatMul list their kernels plain first (f32, f64), then the same that read the
 * constant weight (input 1) packed: plain variant v has its packed twin at v + this. Packed:
 * Conv's weight per group as A ([group, panels, C/group*kernel, PANEL_A]); Gemm's op(B) and
 * MatMul's 2-D B as B ([panels, K, PANEL_B]). */
#define KILN_GEMM_VARIANT_PACKED 2

static inline uint64_t kiln_gemm_packed_a_elems(uint64_t m, uint64_t k)
{
    return kiln_gemm_round_up(m, KILN_GEMM_PANEL_A) * k;
}
static inline uint64_t kiln_gemm_packed_b_elems(uint64_t k, uint64_t n)
{
    return kiln_gemm_round_up(n, KILN_GEMM_PANEL_B) * k;
}

/* ---- sparse weights: the sparse Gemm variant ----
 * A float32 Gemm whose weight is mostly zero may store op(B) transposed, S = op(B)^T (N x K,
 * one row per output column), compressed by rows, as 32-bit words (docs/pruning.md):
 *   [ N | K | nnz | rowptr[N + 1] | col[nnz] | val[nnz] (float32 bits) ]
 * rowptr[0] = 0, non-decreasing, rowptr[N] = nnz; every col < K. The Gemm kernel list has it at
 * KILN_GEMM_VARIANT_SPARSE (after the plain and packed pairs). */
#define KILN_GEMM_VARIANT_SPARSE 4
/* Rows of A the vector path computes together (one 64-byte vector of float32 per column), and
 * the fewest it takes: fewer rows go through a scalar dot product each. */
#define KILN_SPGEMM_LANES 16
#define KILN_SPGEMM_MIN_ROWS 4

static inline uint64_t kiln_spgemm_words(uint64_t n, uint64_t nnz)
{
    return 3 + n + 1 + 2 * nnz;
}
/* Writes S (kiln_spgemm_words(N, nnz) words at out) for the K x N matrix b, stored [K, N], or
 * [N, K] when trans; nnz is b's count of non-zero values. The one encoder of the format: the
 * compiler, the tests and the bench call it. */
static inline void kiln_spgemm_encode(const float *b, int64_t K, int64_t N, int trans,
                                      uint64_t nnz, uint32_t *out)
{
    uint32_t *rp = out + 3, *col = rp + N + 1, p = 0;
    float *val = (float *)(void *)(col + nnz);
    out[0] = (uint32_t)N, out[1] = (uint32_t)K, out[2] = (uint32_t)nnz, rp[0] = 0;
    for (int64_t j = 0; j < N; j++) {
        for (int64_t k = 0; k < K; k++) {
            float v = trans ? b[j * K + k] : b[k * N + j];
            if (v != 0.0f) {
                col[p] = (uint32_t)k;
                val[p++] = v;
            }
        }
        rp[j + 1] = p;
    }
}
/* Scratch of kiln_spgemm_f32: A's rows transposed, KILN_SPGEMM_LANES at a time. */
static inline uint64_t kiln_spgemm_scratch_bytes(uint64_t k)
{
    return k * KILN_SPGEMM_LANES * sizeof(float) + 64;
}
/* 0 when words[0..n_words) is a well-formed S of N x K (the load check's test). */
static inline int kiln_spgemm_check(const uint32_t *w, uint64_t n_words, uint64_t N, uint64_t K)
{
    if (n_words < 4 || w[0] != N || w[1] != K || n_words != kiln_spgemm_words(N, w[2]))
        return 1;
    const uint32_t *rp = w + 3, *col = rp + N + 1;
    if (rp[0] != 0 || rp[N] != w[2])
        return 1;
    for (uint64_t n = 0; n < N; n++)
        if (rp[n + 1] < rp[n])
            return 1;
    for (uint64_t p = 0; p < w[2]; p++)
        if (col[p] >= K)
            return 1;
    return 0;
}
/* C = alpha * A * S^T, or C += that when accumulate is set; A(i,k) = A[i*a_rs + k*a_cs], C is
 * M x N with row stride ldc, S as above. scratch: kiln_spgemm_scratch_bytes(K). float32 runs on
 * the variant kiln_gemm_f32 uses (AVX-512, AVX2 or portable). */
void kiln_spgemm_f32(int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t a_rs,
                     int64_t a_cs, const uint32_t *S, float *C, int64_t ldc, int accumulate,
                     void *scratch);

#ifndef KILN_EMITTED
/* ---- libkilnrt only: run-time choice of the float32 micro-kernel ----
 * The first float32 GEMM picks the best variant this CPU supports (__builtin_cpu_supports),
 * unless the environment variable KILN_SIMD names one: portable, avx2 (AVX2 and FMA) or avx512
 * (AVX-512F). A forced variant the CPU (or this build) lacks falls back to the best available
 * one below it (avx512 -> avx2 -> portable); an unknown value is ignored. The choice is made
 * once per process and is thread-safe. Emitted C has none of this: it picks by __AVX512F__,
 * __AVX2__ && __FMA__, else portable. */
enum kiln_gemm_isa {
    KILN_GEMM_ISA_PORTABLE,
    KILN_GEMM_ISA_AVX2,
    KILN_GEMM_ISA_AVX512,
    /* a NEON variant (say 8x8 or 4x16 with vfmaq_f32) belongs here, before the count, once it
     * can be run on an Arm machine: its SIMD_MICRO instance and KILN_GEMM_BLOCKED instance
     * under __ARM_NEON in gemm_core.c, a case in gemm_f32_on() and in _supported() */
    KILN_GEMM_ISA_COUNT
};

/* "portable", "avx2", "avx512"; NULL for a value out of range. */
const char *kiln_gemm_isa_name(enum kiln_gemm_isa isa);
/* The variant a KILN_SIMD value names, or -1. */
int kiln_gemm_isa_parse(const char *name);
/* Nonzero when the variant is compiled into this runtime and the CPU runs it. */
int kiln_gemm_isa_supported(enum kiln_gemm_isa isa);
/* The best supported variant at or below want. */
enum kiln_gemm_isa kiln_gemm_isa_fallback(enum kiln_gemm_isa want);
/* The variant kiln_gemm_f32 uses (chosen on first call: KILN_SIMD or the best). */
enum kiln_gemm_isa kiln_gemm_isa_active(void);
/* Makes want's fallback the variant kiln_gemm_f32 uses from now on, process-wide, and returns
 * it (kiln bench's simd:NAME configs switch between runs). Not for use while another thread
 * runs a model: each GEMM reads the choice once, so that model's nodes would mix variants. */
enum kiln_gemm_isa kiln_gemm_isa_select(enum kiln_gemm_isa want);
/* Compile-time packers (the compiler calls them; kernels only read their output): P holds
 * kiln_gemm_packed_a_elems(M, K) (resp. _b_elems(K, N)) elements; A and B as for the GEMM. */
#define KILN_GEMM_PACK_DECLARE(sfx, T)                                                         \
    void kiln_gemm_pack_a_##sfx(int64_t M, int64_t K, const T *A, int64_t a_rs, int64_t a_cs,  \
                                T *P);                                                         \
    void kiln_gemm_pack_b_##sfx(int64_t K, int64_t N, const T *B, int64_t b_rs, int64_t b_cs,  \
                                T *P);
KILN_GEMM_PACK_DECLARE(f32, float)
KILN_GEMM_PACK_DECLARE(f64, double)
#undef KILN_GEMM_PACK_DECLARE
/* Test hook: kiln_gemm_ex_f32 on the given variant (one the CPU lacks falls back as above). */
void kiln_gemm_f32_isa(enum kiln_gemm_isa isa, int64_t M, int64_t N, int64_t K, float alpha,
                       const float *A, int64_t a_rs, int64_t a_cs, const float *B, int64_t b_rs,
                       int64_t b_cs, float *C, int64_t ldc, int flags,
                       const struct kiln_gemm_epi *epi, void *scratch);
/* Test and bench hook: kiln_spgemm_f32 on the given variant (with the same fallback). */
void kiln_spgemm_f32_isa(enum kiln_gemm_isa isa, int64_t M, int64_t N, int64_t K, float alpha,
                         const float *A, int64_t a_rs, int64_t a_cs, const uint32_t *S, float *C,
                         int64_t ldc, int accumulate, void *scratch);
/* Test hook: kiln_gemm_mt_f32 on the given variant with no minimum size; returns 1 when it
 * split the product between threads, 0 when it ran serially. */
int kiln_gemm_f32_isa_mt(enum kiln_gemm_isa isa, int64_t M, int64_t N, int64_t K, float alpha,
                         const float *A, int64_t a_rs, int64_t a_cs, const float *B,
                         int64_t b_rs, int64_t b_cs, float *C, int64_t ldc, int flags,
                         const struct kiln_gemm_epi *epi, void *scratch, uint64_t scratch_size,
                         struct kiln_threads *threads);
#endif

#endif
