/* conv_dw.c - the direct float32 depthwise convolution (see conv_dw.h). Each output row is
 * computed along its width: by the SIMD variants one vector of columns at a time (16 lanes
 * AVX-512, 8 AVX2+FMA), summed in a register over all taps and passed through bias and
 * residual before its one store; by the portable variant as a row sweep (one tap over a chunk of
 * the row, loops the compiler vectorises), then bias and residual while the chunk is in L1. The
 * fused activation follows over runs of finished rows (vact.h), still in L1.
 * Interior columns, whose taps all lie inside the input, load without checks (stride 1: one
 * load, stride 2: two loads and a lane permute, else a gather); border columns load the lanes
 * inside the input and shift them into place. The variant is the GEMM's (gemm_core.h). */
#include "conv_dw.h"
#include "epilogue.h"

/* Which SIMD variants this file compiles: as in gemm_core.c, all of them in libkilnrt (GCC or
 * Clang on x86-64, per-function target attributes) and those the compiler flags enable in
 * emitted C. Only AVX-512F instructions in the AVX-512 variant: GCC's -mavx512f does not
 * enable FMA3. */
#if defined(__x86_64__) && !defined(KILN_EMITTED) && defined(__GNUC__)
#define DW_DISPATCH 1
#define DW_HAVE_AVX2 1
#define DW_HAVE_AVX512 1
#define DW_TARGET(isa) __attribute__((target(isa)))
#elif defined(KILN_EMITTED)
#if defined(__AVX2__) && defined(__FMA__)
#define DW_HAVE_AVX2 1
#endif
#if defined(__AVX512F__)
#define DW_HAVE_AVX512 1
#endif
#define DW_TARGET(isa)
#endif
#if defined(DW_HAVE_AVX2) || defined(DW_HAVE_AVX512)
#include <immintrin.h>
#endif
/* the SIMD helpers must inline into their callers, which specialise them on constant strides,
 * kernel extents and lane counts */
#ifdef __GNUC__
#define DW_INLINE static inline __attribute__((always_inline))
#else
#define DW_INLINE static inline
#endif

/* What the rows of one output channel share. */
struct dw_plane {
    const struct kiln_nn_geom *g;
    const float *x;    /* the first input channel of the group */
    const float *w;    /* this output channel's cg * k_size weights */
    const float *bias; /* its bias, or NULL */
    int kind;          /* KILN_ACT_RELU or _CLIP: applied in the SIMD epilogue, else NONE */
    float clo, chi;    /* Clip's bounds */
    int64_t cg;
    int64_t lo, hi; /* interior columns: [lo, hi) read inside the input for every tap */
};

/* One output row and the part of its sum one call adds: n kernel rows (those inside the input,
 * in the order of the sum: input channel, kernel dim 0, kernel dim 1), each an input row x[i]
 * (at column 0) and its k[2] weights w[i]. A sum over more kernel rows than fit is split
 * over calls that keep the partial sum in y (first: start from 0; last: add the epilogue), which
 * continues the same chain of operations. */
#define DW_MAX_TAP_ROWS 32
struct dw_row {
    const float *res; /* NULL: no residual */
    float *y;
    int first, last;
    int64_t n;
    const float *x[DW_MAX_TAP_ROWS], *w[DW_MAX_TAP_ROWS];
};

typedef void (*dw_row_fn)(const struct dw_plane *pl, const struct dw_row *r);

/* ---- portable: row sweep ---- */

KILN_EPILOGUE_DEFINE(f32, float)

/* Columns are swept in chunks that stay in L1 however long the row (1-D convs over audio). */
#define DW_CHUNK 256
/* The fused activation runs over at least this many finished outputs at a time. */
#define DW_ACT_CHUNK 512

/* y[i] += w * x[i * s], i < n; blocks of 8 with a constant trip count, which GCC vectorises at
 * -O2 (its very-cheap cost model skips loops whose count is unknown). */
static void dw_axpy(float *restrict y, const float *restrict x, float w, int64_t n, int64_t s)
{
    int64_t i = 0;
    if (s == 1)
        for (; i + 8 <= n; i += 8)
            for (int j = 0; j < 8; j++)
                y[i + j] += w * x[i + j];
    for (; i < n; i++)
        y[i] += w * x[i * s];
}

static void dw_row_portable(const struct dw_plane *pl, const struct dw_row *r)
{
    const struct kiln_nn_geom *g = pl->g;
    int64_t ow = g->out[2], s = g->s[2];
    float *y = r->y;
    for (int64_t c0 = 0; c0 < ow; c0 += DW_CHUNK) {
        int64_t c1 = ow - c0 < DW_CHUNK ? ow : c0 + DW_CHUNK;
        if (r->first)
            for (int64_t o = c0; o < c1; o++)
                y[o] = 0.0f;
        for (int64_t i = 0; i < r->n; i++)
            for (int64_t kx = 0; kx < g->k[2]; kx++) {
                int64_t off = kx * g->d[2] - g->pb[2], lo, hi;
                kiln_nn_valid_range(off, s, g->in[2], ow, &lo, &hi);
                lo = lo > c0 ? lo : c0;
                hi = hi < c1 ? hi : c1;
                if (lo < hi)
                    dw_axpy(y + lo, r->x[i] + lo * s + off, r->w[i][kx], hi - lo, s);
            }
        if (r->last)
            kiln_epilogue_f32(NULL, pl->bias, r->res ? r->res + c0 : NULL, 1, c1 - c0, y + c0);
    }
}

/* ---- SIMD: one register of columns at a time ----
 * Each ISA provides, for lanes j < n (n <= VW; loads leave lanes past n zero and touch no
 * memory for them):
 *   load1(p, n)          p[j]
 *   load2(p, n)          p[2j] (reads p[0 .. 2n-2] only)
 *   loads(p, s, n)       p[j*s]
 *   shift(v, a, b)       lane j = v[j - a] for j in [a, b), else 0
 *   store(p, v, n)       p[j] = v[j] */

#ifdef DW_HAVE_AVX512
#define DW_A512 DW_TARGET("avx512f")
DW_INLINE DW_A512 __mmask16 avx512_first(int64_t n)
{
    return (__mmask16)(n >= 16 ? 0xffffu : (1u << n) - 1u);
}
DW_INLINE DW_A512 __m512i avx512_iota(void)
{
    return _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
}
DW_INLINE DW_A512 __m512 avx512_load1(const float *p, int64_t n)
{
    return n >= 16 ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(avx512_first(n), p);
}
DW_INLINE DW_A512 __m512 avx512_load2(const float *p, int64_t n)
{
    /* the even lanes of p[0..15] and the odd ones of p[15..30]: p[0], p[2], ..., p[30] */
    const __m512i idx =
        _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 17, 19, 21, 23, 25, 27, 29, 31);
    __m512 a, b;
    if (n >= 16) {
        a = _mm512_loadu_ps(p);
        b = _mm512_loadu_ps(p + 15);
    } else {
        int64_t m = 2 * n - 1;
        a = _mm512_maskz_loadu_ps(avx512_first(m), p);
        b = m > 15 ? _mm512_maskz_loadu_ps(avx512_first(m - 15), p + 15) : _mm512_setzero_ps();
    }
    return _mm512_permutex2var_ps(a, idx, b);
}
DW_INLINE DW_A512 __m512 avx512_loads(const float *p, int64_t s, int64_t n)
{
    __m512i ix = _mm512_mullo_epi32(avx512_iota(), _mm512_set1_epi32((int)s));
    return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), avx512_first(n), ix, p, 4);
}
DW_INLINE DW_A512 __m512 avx512_shift(__m512 v, int64_t a, int64_t b)
{
    __mmask16 m = (__mmask16)(avx512_first(b) & ~avx512_first(a));
    __m512i from = _mm512_sub_epi32(avx512_iota(), _mm512_set1_epi32((int)a));
    return _mm512_maskz_permutexvar_ps(m, from, v);
}
DW_INLINE DW_A512 void avx512_store(float *p, __m512 v, int64_t n)
{
    if (n >= 16)
        _mm512_storeu_ps(p, v);
    else
        _mm512_mask_storeu_ps(p, avx512_first(n), v);
}
#endif

#ifdef DW_HAVE_AVX2
#define DW_A2 DW_TARGET("avx2,fma")
DW_INLINE DW_A2 __m256i avx2_iota(void)
{
    return _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
}
/* all ones in lanes j < n */
DW_INLINE DW_A2 __m256i avx2_first(int64_t n)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n < 8 ? n : 8)), avx2_iota());
}
DW_INLINE DW_A2 __m256 avx2_load1(const float *p, int64_t n)
{
    return n >= 8 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, avx2_first(n));
}
DW_INLINE DW_A2 __m256 avx2_load2(const float *p, int64_t n)
{
    __m256 a, b;
    if (n >= 8) {
        a = _mm256_loadu_ps(p);
        b = _mm256_loadu_ps(p + 7);
    } else {
        int64_t m = 2 * n - 1;
        a = _mm256_maskload_ps(p, avx2_first(m));
        b = m > 7 ? _mm256_maskload_ps(p + 7, avx2_first(m - 7)) : _mm256_setzero_ps();
    }
    /* per 128-bit half: a0 a2 b1 b3 | a4 a6 b5 b7, then the 64-bit pairs reordered to
     * a0 a2 a4 a6 b1 b3 b5 b7 = p[0], p[2], ..., p[14] */
    __m256 t = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 2, 0));
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(t), _MM_SHUFFLE(3, 1, 2, 0)));
}
DW_INLINE DW_A2 __m256 avx2_loads(const float *p, int64_t s, int64_t n)
{
    __m256i ix = _mm256_mullo_epi32(avx2_iota(), _mm256_set1_epi32((int)s));
    return _mm256_mask_i32gather_ps(_mm256_setzero_ps(), p, ix,
                                    _mm256_castsi256_ps(avx2_first(n)), 4);
}
DW_INLINE DW_A2 __m256 avx2_shift(__m256 v, int64_t a, int64_t b)
{
    __m256i m = _mm256_andnot_si256(avx2_first(a), avx2_first(b));
    v = _mm256_permutevar8x32_ps(v, _mm256_sub_epi32(avx2_iota(), _mm256_set1_epi32((int)a)));
    return _mm256_and_ps(v, _mm256_castsi256_ps(m));
}
DW_INLINE DW_A2 void avx2_store(float *p, __m256 v, int64_t n)
{
    if (n >= 8)
        _mm256_storeu_ps(p, v);
    else
        _mm256_maskstore_ps(p, avx2_first(n), v);
}
#endif

/* ---- narrow planes ----
 * A 2-D plane at stride 1 whose rows are narrower than DW_FLAT_MAX_W columns leaves most lanes of
 * a row-at-a-time register idle and spends its time on border checks (a keyword spotter's 25x5
 * planes, a classifier's last 7x7 stages). The SIMD variants run such a plane through a buffer in
 * which every tap lies inside: the input rows of a band of output rows are copied in with their
 * padding as zeros, the taps are swept over the buffer as if it were one row of Wp = pad + W +
 * pad columns per input row (output column c of row r sits at r * Wp + c; the columns past the
 * output width are computed and dropped), and each output row is taken out through the
 * epilogue. The taps are summed in the row path's order; those on the padding add 0 * w. */
#define DW_FLAT_MAX_W 32
#define DW_FLAT_MAX_TAPS 49 /* up to 7x7 kernels */
#define DW_FLAT_BUF 2048    /* floats in each of the two stack buffers: 16 KiB in all */
/* what the sweep reads and writes past the band's rows: a block of four AVX-512 registers */
#define DW_FLAT_SLACK 64

typedef void (*dw_flat_fn)(const struct dw_plane *pl, float *y, const float *res);

/* The row of one variant: ISA its helpers' prefix, O its vact.h instance, ATTR its target, V
 * the vector type, VW its lanes, P the intrinsics' prefix. Every block of columns starts from 0 (or the partial sum in
 * y), adds its taps in the order of dw_row and ends in ISA##_finish. */
#define DW_SIMD(ISA, O, ATTR, V, VW, P)                                                           \
    /* v + bias + res, then Relu or Clip in the register (vact.h's instance O); the other   \
     * activations follow over whole rows (dw_run) */                                          \
    DW_INLINE ATTR V ISA##_epilogue(const struct dw_plane *pl, V v, const float *res, int64_t n) \
    {                                                                                          \
        if (pl->bias)                                                                          \
            v = P##_add_ps(v, P##_set1_ps(*pl->bias));                                         \
        if (res)                                                                               \
            v = P##_add_ps(v, ISA##_load1(res, n));                                            \
        if (pl->kind == KILN_ACT_RELU)                                                         \
            return O##_relu(v, 0.0f, 0.0f);                                                    \
        if (pl->kind == KILN_ACT_CLIP)                                                         \
            return O##_clip(v, pl->clo, pl->chi);                                              \
        return v;                                                                              \
    }                                                                                          \
    DW_INLINE ATTR V ISA##_start(const struct dw_row *r, int64_t o, int64_t n)                 \
    {                                                                                          \
        return r->first ? P##_setzero_ps() : ISA##_load1(r->y + o, n);                         \
    }                                                                                          \
    DW_INLINE ATTR void ISA##_finish(const struct dw_plane *pl, const struct dw_row *r,        \
                                     int64_t o, int64_t n, V acc)                              \
    {                                                                                          \
        if (r->last)                                                                           \
            acc = ISA##_epilogue(pl, acc, r->res ? r->res + o : NULL, n);                      \
        ISA##_store(r->y + o, acc, n);                                                         \
    }                                                                                          \
    /* S: 1 and 2 load rows, other strides gather */                                           \
    DW_INLINE ATTR V ISA##_load(const float *p, int64_t S, int64_t n)                          \
    {                                                                                          \
        return S == 1 ? ISA##_load1(p, n) : S == 2 ? ISA##_load2(p, n) : ISA##_loads(p, S, n); \
    }                                                                                          \
    /* whole blocks of interior columns [lo, lo + k*VW); NT kernel rows of width K2 with the   \
     * weights held in registers when both are constants (0: as the row says) */              \
    DW_INLINE ATTR int64_t ISA##_interior(const struct dw_plane *pl, const struct dw_row *r,   \
                                          int64_t S, int64_t NT, int64_t K2)                   \
    {                                                                                          \
        const struct kiln_nn_geom *g = pl->g;                                                  \
        int64_t nt = NT ? NT : r->n, k2 = K2 ? K2 : g->k[2], d2 = g->d[2], o = pl->lo;         \
        V wv[25];                                                                              \
        if (NT && K2)                                                                          \
            for (int64_t i = 0; i < NT * K2; i++)                                              \
                wv[i] = P##_set1_ps(r->w[i / K2][i % K2]);                                     \
        /* two blocks at a time: two independent chains of multiply-adds */                   \
        for (; o + 2 * VW <= pl->hi; o += 2 * VW) {                                            \
            V acc0 = ISA##_start(r, o, VW), acc1 = ISA##_start(r, o + VW, VW);                 \
            int64_t x0 = o * S - g->pb[2];                                                     \
            for (int64_t i = 0; i < nt; i++) {                                                 \
                const float *xr = r->x[i] + x0;                                                \
                for (int64_t kx = 0; kx < k2; kx++) {                                          \
                    V w = NT && K2 ? wv[i * K2 + kx] : P##_set1_ps(r->w[i][kx]);               \
                    acc0 = P##_fmadd_ps(w, ISA##_load(xr + kx * d2, S, VW), acc0);             \
                    acc1 = P##_fmadd_ps(w, ISA##_load(xr + kx * d2 + VW * S, S, VW), acc1);    \
                }                                                                              \
            }                                                                                  \
            ISA##_finish(pl, r, o, VW, acc0);                                                  \
            ISA##_finish(pl, r, o + VW, VW, acc1);                                             \
        }                                                                                      \
        for (; o + VW <= pl->hi; o += VW) {                                                    \
            V acc = ISA##_start(r, o, VW);                                                     \
            int64_t x0 = o * S - g->pb[2];                                                     \
            for (int64_t i = 0; i < nt; i++) {                                                 \
                const float *xr = r->x[i] + x0;                                                \
                for (int64_t kx = 0; kx < k2; kx++) {                                          \
                    V w = NT && K2 ? wv[i * K2 + kx] : P##_set1_ps(r->w[i][kx]);               \
                    acc = P##_fmadd_ps(w, ISA##_load(xr + kx * d2, S, VW), acc);               \
                }                                                                              \
            }                                                                                  \
            ISA##_finish(pl, r, o, VW, acc);                                                   \
        }                                                                                      \
        return o;                                                                              \
    }                                                                                          \
    /* interior columns o .. o+n-1 for n < VW: loads under a lane mask */                     \
    DW_INLINE ATTR void ISA##_part(const struct dw_plane *pl, const struct dw_row *r,          \
                                   int64_t o, int64_t n, int64_t S)                            \
    {                                                                                          \
        const struct kiln_nn_geom *g = pl->g;                                                  \
        int64_t x0 = o * S - g->pb[2];                                                         \
        V acc = ISA##_start(r, o, n);                                                          \
        for (int64_t i = 0; i < r->n; i++)                                                     \
            for (int64_t kx = 0; kx < g->k[2]; kx++)                                           \
                acc = P##_fmadd_ps(P##_set1_ps(r->w[i][kx]),                                   \
                                   ISA##_load(r->x[i] + x0 + kx * g->d[2], S, n), acc);        \
        ISA##_finish(pl, r, o, n, acc);                                                        \
    }                                                                                          \
    /* columns [b, e) with a bounds check per tap: lanes [ja, jb) of the block read inside    \
     * the input */                                                                            \
    DW_INLINE ATTR void ISA##_edges(const struct dw_plane *pl, const struct dw_row *r,         \
                                    int64_t b, int64_t e, int64_t S)                           \
    {                                                                                          \
        const struct kiln_nn_geom *g = pl->g;                                                  \
        for (int64_t o = b; o < e; o += VW) {                                                  \
            int64_t n = e - o < VW ? e - o : VW;                                               \
            V acc = ISA##_start(r, o, n);                                                      \
            /* kernel columns outer: the lanes inside the input depend on the column only */     \
            for (int64_t kx = 0; kx < g->k[2]; kx++) {                                         \
                int64_t base = o * S + kx * g->d[2] - g->pb[2], ja, jb;                        \
                kiln_nn_valid_range(base, S, g->in[2], n, &ja, &jb);                           \
                if (ja == jb)                                                                  \
                    continue;                                                                  \
                int64_t at = base + ja * S;                                                    \
                for (int64_t i = 0; i < r->n; i++) {                                           \
                    V xv = ISA##_load(r->x[i] + at, S, jb - ja);                               \
                    if (ja)                                                                    \
                        xv = ISA##_shift(xv, ja, jb);                                          \
                    acc = P##_fmadd_ps(P##_set1_ps(r->w[i][kx]), xv, acc);                     \
                }                                                                              \
            }                                                                                  \
            ISA##_finish(pl, r, o, n, acc);                                                    \
        }                                                                                      \
    }                                                                                          \
    /* the left border, whole interior blocks, then the rest with checks; a row narrower than \
     * a vector is one checked block */                                                        \
    DW_INLINE ATTR void ISA##_row_s(const struct dw_plane *pl, const struct dw_row *r,         \
                                    int64_t S)                                                 \
    {                                                                                          \
        const struct kiln_nn_geom *g = pl->g;                                                  \
        int64_t ow = g->out[2], k2 = g->k[2], o;                                               \
        if (ow <= VW) {                                                                        \
            ISA##_edges(pl, r, 0, ow, S);                                                      \
            return;                                                                            \
        }                                                                                      \
        ISA##_edges(pl, r, 0, pl->lo, S);                                                      \
        if (S <= 2 && k2 == 3 && r->n == 3)                                                    \
            o = ISA##_interior(pl, r, S, 3, 3);                                                \
        else if (S <= 2 && k2 == 5 && r->n == 5)                                               \
            o = ISA##_interior(pl, r, S, 5, 5);                                                \
        else                                                                                   \
            o = ISA##_interior(pl, r, S, 0, 0);                                                \
        if (o < pl->hi)                                                                        \
            ISA##_part(pl, r, o, pl->hi - o, S);                                               \
        ISA##_edges(pl, r, pl->hi, ow, S);                                                     \
    }                                                                                          \
    /* a narrow plane through the padded buffer (see DW_FLAT_BUF): band by band of output     \
     * rows, the band's input rows copied in with their padding, the taps swept over the      \
     * buffer as one long row (two blocks of lanes at a time), each output row taken out     \
     * through the epilogue */                                                                 \
    static ATTR void dw_flat_##ISA(const struct dw_plane *pl, float *y, const float *res)      \
    {                                                                                          \
        const struct kiln_nn_geom *g = pl->g;                                                  \
        int64_t wp = g->pb[2] + g->in[2] + g->pe[2], ow = g->out[2], oh = g->out[1];           \
        int64_t k1 = g->k[1], k2 = g->k[2], reach = (k1 - 1) * g->d[1];                        \
        int64_t band = (DW_FLAT_BUF - DW_FLAT_SLACK) / wp - reach, nk = k1 * k2;               \
        float xp[DW_FLAT_BUF + 16], yw[DW_FLAT_BUF + 16]; /* + 16: the zeroing's last store */ \
        int64_t tap[DW_FLAT_MAX_TAPS];                                                         \
        V wv[DW_FLAT_MAX_TAPS];                                                                \
        for (int64_t t = 0; t < nk; t++) {                                                     \
            tap[t] = t / k2 * g->d[1] * wp + t % k2 * g->d[2];                                 \
            wv[t] = P##_set1_ps(pl->w[t]);                                                     \
        }                                                                                      \
        V zero = P##_setzero_ps();                                                             \
        for (int64_t r0 = 0; r0 < oh; r0 += band) {                                            \
            int64_t nr = oh - r0 < band ? oh - r0 : band, rows = nr + reach;                   \
            for (int64_t j = 0; j < rows * wp + DW_FLAT_SLACK; j += VW)                        \
                P##_storeu_ps(xp + j, zero);                                                   \
            for (int64_t j = 0; j < rows; j++) {                                               \
                int64_t i = r0 + j - g->pb[1];                                                 \
                if (i < 0 || i >= g->in[1])                                                    \
                    continue;                                                                  \
                const float *src = pl->x + i * g->in[2];                                       \
                for (int64_t c = 0; c < g->in[2]; c += VW) {                                   \
                    int64_t n = g->in[2] - c < VW ? g->in[2] - c : VW;                         \
                    ISA##_store(xp + j * wp + g->pb[2] + c, ISA##_load1(src + c, n), n);       \
                }                                                                              \
            }                                                                                  \
            /* four independent sums of a register each, taps outer; without a residual the   \
             * epilogue runs here, on whole registers */                                       \
            int64_t nw = (nr - 1) * wp + ow;                                                   \
            for (int64_t p = 0; p < nw; p += 4 * VW) {                                         \
                V a0 = zero, a1 = zero, a2 = zero, a3 = zero;                                  \
                for (int64_t t = 0; t < nk; t++) {                                             \
                    const float *q = xp + p + tap[t];                                          \
                    a0 = P##_fmadd_ps(wv[t], P##_loadu_ps(q), a0);                             \
                    a1 = P##_fmadd_ps(wv[t], P##_loadu_ps(q + VW), a1);                        \
                    a2 = P##_fmadd_ps(wv[t], P##_loadu_ps(q + 2 * VW), a2);                    \
                    a3 = P##_fmadd_ps(wv[t], P##_loadu_ps(q + 3 * VW), a3);                    \
                }                                                                              \
                if (!res) {                                                                    \
                    a0 = ISA##_epilogue(pl, a0, NULL, VW);                                     \
                    a1 = ISA##_epilogue(pl, a1, NULL, VW);                                     \
                    a2 = ISA##_epilogue(pl, a2, NULL, VW);                                     \
                    a3 = ISA##_epilogue(pl, a3, NULL, VW);                                     \
                }                                                                              \
                P##_storeu_ps(yw + p, a0);                                                     \
                P##_storeu_ps(yw + p + VW, a1);                                                \
                P##_storeu_ps(yw + p + 2 * VW, a2);                                            \
                P##_storeu_ps(yw + p + 3 * VW, a3);                                            \
            }                                                                                  \
            for (int64_t r = 0; r < nr; r++)                                                   \
                for (int64_t c = 0; c < ow; c += VW) {                                         \
                    int64_t n = ow - c < VW ? ow - c : VW, o = (r0 + r) * ow + c;              \
                    V v = ISA##_load1(yw + r * wp + c, n);                                     \
                    ISA##_store(y + o, res ? ISA##_epilogue(pl, v, res + o, n) : v, n);        \
                }                                                                              \
        }                                                                                      \
    }                                                                                          \
    static ATTR void dw_row_##ISA(const struct dw_plane *pl, const struct dw_row *r)           \
    {                                                                                          \
        int64_t s = pl->g->s[2];                                                               \
        if (s == 1)                                                                            \
            ISA##_row_s(pl, r, 1);                                                             \
        else if (s == 2)                                                                       \
            ISA##_row_s(pl, r, 2);                                                             \
        else                                                                                   \
            ISA##_row_s(pl, r, s);                                                             \
    }

#ifdef DW_HAVE_AVX512
DW_SIMD(avx512, kv16, DW_A512, __m512, 16, _mm512)
#endif
#ifdef DW_HAVE_AVX2
DW_SIMD(avx2, kv8, DW_A2, __m256, 8, _mm256)
#endif

/* ---- the entry points ---- */

/* The functions of variant isa (0 portable, 1 AVX2, 2 AVX-512: enum kiln_gemm_isa's order) for
 * geometry g with cg input channels per group; one not compiled in gives the best one below it.
 * flat is NULL unless the plane is narrow (see DW_FLAT_BUF) and fits the buffer, and for the
 * portable variant. The SIMD rows index columns in 32 bits. */
static void dw_fns_on(int isa, const struct kiln_nn_geom *g, int64_t cg, dw_row_fn *row,
                      dw_flat_fn *flat)
{
    int64_t reach = (g->out[2] + 16) * g->s[2] + g->k[2] * g->d[2] + g->pb[2] + g->in[2];
    int64_t wp = g->pb[2] + g->in[2] + g->pe[2];
    int narrow = cg == 1 && g->in[0] == 1 && g->out[0] == 1 && g->s[1] == 1 && g->s[2] == 1 &&
                  g->out[2] < DW_FLAT_MAX_W && g->k[1] * g->k[2] <= DW_FLAT_MAX_TAPS &&
                  (2 + (g->k[1] - 1) * g->d[1]) * wp + DW_FLAT_SLACK <= DW_FLAT_BUF;
    *row = dw_row_portable;
    *flat = NULL;
    if (reach > INT32_MAX / 2)
        return;
#ifdef DW_HAVE_AVX512
    if (isa >= 2) {
        *row = dw_row_avx512;
        *flat = narrow ? dw_flat_avx512 : NULL;
        return;
    }
#endif
#ifdef DW_HAVE_AVX2
    if (isa >= 1) {
        *row = dw_row_avx2;
        *flat = narrow ? dw_flat_avx2 : NULL;
        return;
    }
#endif
    (void)isa;
    (void)narrow;
}

/* kiln_nn_valid_range without its divisions in the common undilated case */
static inline void dw_range(int64_t off, int64_t d, int64_t n, int64_t k, int64_t *lo,
                            int64_t *hi)
{
    if (d == 1)
        kiln_nn_valid_range(off, 1, n, k, lo, hi);
    else
        kiln_nn_valid_range(off, d, n, k, lo, hi);
}

/* Output row (o0, o1) of the plane: its kernel rows inside the input, handed to fn in batches
 * of at most DW_MAX_TAP_ROWS (all at once for any kernel up to 32 rows). */
static void dw_row(const struct dw_plane *pl, int64_t o0, int64_t o1, struct dw_row *r,
                   dw_row_fn fn)
{
    const struct kiln_nn_geom *g = pl->g;
    int64_t i0 = o0 * g->s[0] - g->pb[0], i1 = o1 * g->s[1] - g->pb[1];
    int64_t k0lo, k0hi, k1lo, k1hi;
    dw_range(i0, g->d[0], g->in[0], g->k[0], &k0lo, &k0hi);
    dw_range(i1, g->d[1], g->in[1], g->k[1], &k1lo, &k1hi);
    int64_t left = pl->cg * (k0hi - k0lo) * (k1hi - k1lo);
    int64_t in2 = g->in[2], k2 = g->k[2], xstep = g->d[1] * in2;
    r->first = 1;
    r->last = left == 0;
    r->n = 0;
    for (int64_t ci = 0; left && ci < pl->cg; ci++)
        for (int64_t k0 = k0lo; k0 < k0hi; k0++) {
            /* offsets, not pointers: no pointer is formed past the rows inside the input */
            int64_t xo = ((ci * g->in[0] + i0 + k0 * g->d[0]) * g->in[1] + i1 +
                          k1lo * g->d[1]) * in2;
            int64_t wo = ((ci * g->k[0] + k0) * g->k[1] + k1lo) * k2;
            for (int64_t k1 = k1lo; k1 < k1hi; k1++, xo += xstep, wo += k2) {
                r->x[r->n] = pl->x + xo;
                r->w[r->n] = pl->w + wo;
                r->n++;
                left--;
                if (r->n == DW_MAX_TAP_ROWS || left == 0) {
                    r->last = left == 0;
                    fn(pl, r);
                    r->first = 0;
                    r->n = 0;
                }
            }
        }
    if (r->first) /* no kernel row inside the input: the epilogue of 0 */
        fn(pl, r);
}

static void dw_run(int isa, const struct kiln_conv_dw *c)
{
    const struct kiln_nn_geom *g = c->g;
    int64_t cg = c->C / c->group, mg = c->M / c->group;
    dw_row_fn fn;
    dw_flat_fn flat;
    dw_fns_on(isa, g, cg, &fn, &flat);
    struct dw_plane pl = {.g = g, .cg = cg, .kind = KILN_ACT_NONE};
    /* interior: from the first column whose leftmost tap is inside to the last whose rightmost
     * one is */
    int64_t lo, hi, lo_r, hi_r;
    kiln_nn_valid_range(-g->pb[2], g->s[2], g->in[2], g->out[2], &lo, &hi);
    kiln_nn_valid_range((g->k[2] - 1) * g->d[2] - g->pb[2], g->s[2], g->in[2], g->out[2], &lo_r,
                        &hi_r);
    pl.lo = lo;
    pl.hi = hi_r > lo ? hi_r : lo;
    struct dw_row r;
    int act = c->act && c->act->kind != KILN_ACT_NONE;
    /* Relu and Clip cost less than a pass over the row: the SIMD rows apply them in registers
     * (the portable row leaves every activation to the pass below) */
    if (act && fn != dw_row_portable &&
        (c->act->kind == KILN_ACT_RELU || c->act->kind == KILN_ACT_CLIP)) {
        pl.kind = c->act->kind, pl.clo = c->act->alpha, pl.chi = c->act->beta;
        act = 0;
    }
    for (int64_t n = 0; n < c->nb; n++)
        for (int64_t m = 0; m < c->M; m++) {
            pl.x = c->x + (n * c->C + m / mg * cg) * g->in_size;
            pl.w = c->w + m * cg * g->k_size;
            pl.bias = c->bias ? c->bias + m : NULL;
            int64_t y_off = (n * c->M + m) * g->out_size, act_from = y_off;
            if (flat) {
                flat(&pl, c->y + y_off, c->res ? c->res + y_off : NULL);
                if (act)
                    kiln_vact_map(c->act, c->y + y_off, c->y + y_off, g->out_size);
                continue;
            }
            for (int64_t o0 = 0; o0 < g->out[0]; o0++)
                for (int64_t o1 = 0; o1 < g->out[1]; o1++) {
                    int64_t off = y_off + (o0 * g->out[1] + o1) * g->out[2];
                    r.y = c->y + off;
                    r.res = c->res ? c->res + off : NULL;
                    dw_row(&pl, o0, o1, &r, fn);
                    /* the activation over finished rows, DW_ACT_CHUNK elements or more at a
                     * time while they are in L1 (whole vectors, one call per chunk) */
                    int64_t end = off + g->out[2];
                    if (act && (end - act_from >= DW_ACT_CHUNK || end == y_off + g->out_size)) {
                        kiln_vact_map(c->act, c->y + act_from, c->y + act_from, end - act_from);
                        act_from = end;
                    }
                }
        }
}

#ifdef DW_DISPATCH
void kiln_conv_dw_f32_isa(enum kiln_gemm_isa isa, const struct kiln_conv_dw *c)
{
    dw_run((int)kiln_gemm_isa_fallback(isa), c);
}

void kiln_conv_dw_f32(const struct kiln_conv_dw *c)
{
    dw_run((int)kiln_gemm_isa_active(), c);
}
#elif !defined(KILN_EMITTED)
/* libkilnrt without the x86 variants: the portable row whatever is asked */
void kiln_conv_dw_f32_isa(enum kiln_gemm_isa isa, const struct kiln_conv_dw *c)
{
    (void)isa;
    dw_run(0, c);
}

void kiln_conv_dw_f32(const struct kiln_conv_dw *c)
{
    dw_run(0, c);
}
#else
/* Emitted C: the best variant the compiler flags enabled (dw_fns_on clamps). */
void kiln_conv_dw_f32(const struct kiln_conv_dw *c)
{
    dw_run(2, c);
}
#endif
