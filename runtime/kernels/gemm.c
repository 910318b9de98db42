/* gemm.c - Gemm and MatMul kernels: both reduce to the shared blocked GEMM (gemm_core.c) with
 * strides expressing transposes and batch broadcasting, and its fused epilogue (epilogue.h):
 * the residual input (kiln_residual: Gemm input 3, MatMul input 2) and activation. The _packed
 * variants read B (op(B) for Gemm, a 2-D B for MatMul) packed by the compiler into the GEMM's
 * panels ([panels, K, KILN_GEMM_PANEL_B], gemm_core.h); the _sparse variant reads op(B)
 * compressed by output column (kiln_spgemm_f32). */
#include "epilogue.h"
#include "gemm_core.h"
#include "kernels.h"

KILN_EPILOGUE_DEFINE(f32, float)
#include "threads.h"

#define GEMM_DEFINE(sfx, DT, T)                                                                \
    /* Y = beta * C, C broadcast from rank 0, 1 or 2; whether there was a C term to add to. */ \
    static int gemm_beta_c_##sfx(const struct kiln_kernel_args *a, T *Y, int64_t M, int64_t N) \
    {                                                                                          \
        const struct kiln_p_gemm *p = a->params;                                               \
        const struct kiln_tensor *C = a->n_in > 2 && a->in[2].data ? &a->in[2] : NULL;         \
        if (!C || p->beta == 0.0f)                                                             \
            return 0;                                                                          \
        const T *c = C->data;                                                                  \
        int64_t c_rs = 0, c_cs = 0;                                                            \
        if (C->rank == 2) {                                                                    \
            c_rs = C->dims[0] == 1 ? 0 : C->dims[1];                                           \
            c_cs = C->dims[1] == 1 ? 0 : 1;                                                    \
        } else if (C->rank == 1) {                                                             \
            c_cs = C->dims[0] == 1 ? 0 : 1;                                                    \
        }                                                                                      \
        for (int64_t i = 0; i < M; i++)                                                        \
            for (int64_t j = 0; j < N; j++)                                                    \
                Y[i * N + j] = (T)p->beta * c[i * c_rs + j * c_cs];                            \
        return 1;                                                                              \
    }                                                                                          \
    /* Y = alpha * op(A) op(B) + beta * C */                                                   \
    static void gemm_##sfx(const struct kiln_kernel_args *a, int packed)                       \
    {                                                                                          \
        const struct kiln_p_gemm *p = a->params;                                               \
        const struct kiln_tensor *A = &a->in[0], *B = &a->in[1];                               \
        T *Y = a->out[0].data;                                                                 \
        int64_t M = a->out[0].dims[0], N = a->out[0].dims[1];                                  \
        int64_t K = p->trans_a ? A->dims[0] : A->dims[1];                                      \
        int flags = packed ? KILN_GEMM_B_PACKED : 0;                                           \
        int64_t a_rs = p->trans_a ? 1 : A->dims[1], a_cs = p->trans_a ? A->dims[1] : 1;        \
        int64_t b_rs = p->trans_b ? 1 : N, b_cs = p->trans_b ? K : 1;                          \
        int accumulate = gemm_beta_c_##sfx(a, Y, M, N);                                       \
        struct kiln_gemm_epi epi = {&p->act, NULL, a->n_in > 3 ? a->in[3].data : NULL, N};     \
        kiln_gemm_mt_##sfx(M, N, K, (T)p->alpha, A->data, a_rs, a_cs, B->data, b_rs, b_cs, Y,  \
                           N, flags | accumulate, &epi, a->scratch, a->scratch_size,           \
                           kiln_args_threads(a));                                              \
    }                                                                                          \
    static void kiln_k_gemm_##sfx(const struct kiln_kernel_args *a)                            \
    {                                                                                          \
        gemm_##sfx(a, 0);                                                                      \
    }                                                                                          \
    static void kiln_k_gemm_packed_##sfx(const struct kiln_kernel_args *a)                     \
    {                                                                                          \
        gemm_##sfx(a, 1);                                                                      \
    }                                                                                          \
    /* a 2-D B (packed): one product over all rows of A */                                     \
    static void kiln_k_matmul_packed_##sfx(const struct kiln_kernel_args *a)                   \
    {                                                                                          \
        const struct kiln_p_matmul *p = a->params;                                             \
        const struct kiln_tensor *A = &a->in[0], *Yt = &a->out[0];                             \
        int64_t K = A->dims[A->rank - 1], N = Yt->dims[Yt->rank - 1];                          \
        if (N == 0)                                                                            \
            return;                                                                            \
        struct kiln_gemm_epi epi = {&p->act, NULL, a->n_in > 2 ? a->in[2].data : NULL, N};     \
        kiln_gemm_mt_##sfx(kiln_numel(Yt->dims, Yt->rank) / N, N, K, 1, A->data, K, 1,         \
                           a->in[1].data, 0, 0, Yt->data, N, KILN_GEMM_B_PACKED, &epi,         \
                           a->scratch, a->scratch_size, kiln_args_threads(a));                 \
    }                                                                                          \
    /* numpy matmul: 1-D operands act as a row (A) or column (B); batch dims broadcast. */      \
    static void kiln_k_matmul_##sfx(const struct kiln_kernel_args *a)                          \
    {                                                                                          \
        const struct kiln_p_matmul *p = a->params;                                             \
        const struct kiln_tensor *A = &a->in[0], *B = &a->in[1], *Yt = &a->out[0];             \
        int ra = A->rank, rb = B->rank;                                                        \
        int64_t M = ra >= 2 ? A->dims[ra - 2] : 1, K = A->dims[ra - 1];                        \
        int64_t N = rb >= 2 ? B->dims[rb - 1] : 1;                                             \
        int nba = ra > 2 ? ra - 2 : 0, nbb = rb > 2 ? rb - 2 : 0;                              \
        int nbo = Yt->rank - (ra >= 2) - (rb >= 2);                                            \
        int64_t batch = kiln_numel(Yt->dims, nbo);                                             \
        const T *Ad = A->data, *Bd = B->data;                                                  \
        T *Y = Yt->data;                                                                       \
        const T *R = a->n_in > 2 ? a->in[2].data : NULL;                                       \
        struct kiln_gemm_epi epi = {&p->act, NULL, R, N};                                      \
        if (nbb == 0) { /* B shared by every batch: one product over all rows of A */          \
            kiln_gemm_mt_##sfx(batch * M, N, K, 1, Ad, K, 1, Bd, N, 1, Y, N, 0, &epi,          \
                               a->scratch, a->scratch_size, kiln_args_threads(a));             \
        } else {                                                                               \
            int64_t sa[KILN_MAX_RANK], sb[KILN_MAX_RANK], own_a = M * K, own_b = K * N;        \
            for (int i = nbo - 1; i >= 0; i--) {                                               \
                int ia = i - (nbo - nba), ib = i - (nbo - nbb);                                \
                sa[i] = ia < 0 || A->dims[ia] == 1 ? 0 : own_a;                                \
                sb[i] = ib < 0 || B->dims[ib] == 1 ? 0 : own_b;                                \
                if (ia >= 0)                                                                   \
                    own_a *= A->dims[ia];                                                      \
                if (ib >= 0)                                                                   \
                    own_b *= B->dims[ib];                                                      \
            }                                                                                  \
            for (int64_t bi = 0; bi < batch; bi++) {                                           \
                int64_t rem = bi, oa = 0, ob = 0;                                              \
                for (int i = nbo - 1; i >= 0; i--) {                                           \
                    int64_t idx = rem % Yt->dims[i];                                           \
                    rem /= Yt->dims[i];                                                        \
                    oa += idx * sa[i];                                                         \
                    ob += idx * sb[i];                                                         \
                }                                                                              \
                epi.res = R ? R + bi * M * N : NULL;                                           \
                kiln_gemm_mt_##sfx(M, N, K, 1, Ad + oa, K, 1, Bd + ob, N, 1, Y + bi * M * N,   \
                                   N, 0, &epi, a->scratch, a->scratch_size,                    \
                                   kiln_args_threads(a));                                      \
            }                                                                                  \
        }                                                                                      \
    }

KILN_FOR_NATIVE_FLOATS(GEMM_DEFINE)

/* The sparse variant: op(B) stored compressed by output column (gemm_core.h), float32 only;
 * the epilogue (residual, activation) runs over Y afterwards. */
static void kiln_k_gemm_sparse_f32(const struct kiln_kernel_args *a)
{
    const struct kiln_p_gemm *p = a->params;
    const struct kiln_tensor *A = &a->in[0];
    float *Y = a->out[0].data;
    int64_t M = a->out[0].dims[0], N = a->out[0].dims[1];
    int64_t K = p->trans_a ? A->dims[0] : A->dims[1];
    int64_t a_rs = p->trans_a ? 1 : A->dims[1], a_cs = p->trans_a ? A->dims[1] : 1;
    int accumulate = gemm_beta_c_f32(a, Y, M, N);
    kiln_spgemm_f32(M, N, K, p->alpha, A->data, a_rs, a_cs, a->in[1].data, Y, N, accumulate,
                    a->scratch);
    kiln_epilogue_f32(&p->act, NULL, a->n_in > 3 ? a->in[3].data : NULL, M, N, Y);
}

/* packed variants at KILN_GEMM_VARIANT_PACKED + the plain one's index */
KILN_KERNELS(gemm, KILN_K(kiln_k_gemm_f32, F32), KILN_K(kiln_k_gemm_f64, F64),
             KILN_K(kiln_k_gemm_packed_f32, F32), KILN_K(kiln_k_gemm_packed_f64, F64),
             KILN_K(kiln_k_gemm_sparse_f32, F32)); /* at KILN_GEMM_VARIANT_SPARSE */
KILN_KERNELS(matmul, KILN_K(kiln_k_matmul_f32, F32), KILN_K(kiln_k_matmul_f64, F64),
             KILN_K(kiln_k_matmul_packed_f32, F32), KILN_K(kiln_k_matmul_packed_f64, F64));
