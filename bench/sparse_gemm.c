/* sparse_gemm.c - times kiln's sparse Gemm kernel (kiln_spgemm_f32, weights compressed by output
 * column) against the dense one on pre-packed weights (what a Gemm with constant weights runs),
 * side by side in one process, for each SIMD variant this CPU has, a few shapes and unstructured
 * sparsities; prints the speedups and the break-even sparsity per shape (the lowest measured at
 * which sparse is faster). Built and run by bench/sparse_gemm.sh; numbers in docs/pruning.md. */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gemm_core.h"

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static uint64_t rng = 88172645463325252ull;
static double uniform(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* B [K, N] row-major -> S = B^T compressed by rows (gemm_core.h); malloc'd. */
static uint32_t *compress(const float *B, int64_t K, int64_t N)
{
    uint64_t nnz = 0;
    for (int64_t i = 0; i < K * N; i++)
        nnz += B[i] != 0.0f;
    uint32_t *S = malloc(kiln_spgemm_words((uint64_t)N, nnz) * 4);
    if (S)
        kiln_spgemm_encode(B, K, N, 0, nnz, S);
    return S;
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 30;
    static const int64_t shapes[][3] = {{1, 1024, 1024}, {16, 1024, 1024}, {64, 1024, 1024},
                                        {64, 256, 256}};
    static const double sparsity[] = {0.5, 0.6, 0.65, 0.7, 0.8, 0.9, 0.95};
    const int n_sp = (int)(sizeof sparsity / sizeof sparsity[0]);
    printf("%-8s %4s %5s %5s %8s %10s %10s %8s\n", "simd", "M", "K", "N", "sparsity", "dense us",
           "sparse us", "speedup");
    for (int isa = 0; isa < KILN_GEMM_ISA_COUNT; isa++) {
        if (!kiln_gemm_isa_supported((enum kiln_gemm_isa)isa))
            continue;
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            int64_t M = shapes[s][0], K = shapes[s][1], N = shapes[s][2];
            float *A = malloc((size_t)(M * K) * 4), *B = malloc((size_t)(K * N) * 4);
            float *C = malloc((size_t)(M * N) * 4);
            float *Bp = malloc(kiln_gemm_packed_b_elems((uint64_t)K, (uint64_t)N) * 4);
            uint64_t sb = kiln_gemm_scratch_bytes((uint64_t)M, (uint64_t)N, (uint64_t)K, 4);
            uint64_t ss = kiln_spgemm_scratch_bytes((uint64_t)K);
            void *scratch = aligned_alloc(64, ((sb > ss ? sb : ss) + 63) / 64 * 64);
            for (int64_t i = 0; i < M * K; i++)
                A[i] = (float)(uniform() * 2 - 1);
            double even = -1;
            for (int q = 0; q < n_sp; q++) {
                for (int64_t i = 0; i < K * N; i++)
                    B[i] = uniform() < sparsity[q] ? 0.0f : (float)(uniform() * 2 - 1);
                kiln_gemm_pack_b_f32(K, N, B, N, 1, Bp);
                uint32_t *S = compress(B, K, N);
                double td[200], tsp[200];
                int r = reps < 200 ? reps : 200;
                for (int i = -2; i < r; i++) { /* interleaved, two warm-up rounds */
                    double t0 = now_us();
                    kiln_gemm_f32_isa((enum kiln_gemm_isa)isa, M, N, K, 1.0f, A, K, 1, Bp, 0, 0,
                                      C, N, KILN_GEMM_B_PACKED, NULL, scratch);
                    double t1 = now_us();
                    kiln_spgemm_f32_isa((enum kiln_gemm_isa)isa, M, N, K, 1.0f, A, K, 1, S, C, N,
                                        0, scratch);
                    double t2 = now_us();
                    if (i >= 0)
                        td[i] = t1 - t0, tsp[i] = t2 - t1;
                }
                qsort(td, (size_t)r, sizeof *td, cmp_d);
                qsort(tsp, (size_t)r, sizeof *tsp, cmp_d);
                double d = td[r / 2], sp = tsp[r / 2];
                if (even < 0 && sp < d)
                    even = sparsity[q];
                printf("%-8s %4lld %5lld %5lld %8.2f %10.1f %10.1f %7.2fx\n",
                       kiln_gemm_isa_name((enum kiln_gemm_isa)isa), (long long)M, (long long)K,
                       (long long)N, sparsity[q], d, sp, d / sp);
                free(S);
            }
            if (even >= 0)
                printf("  break-even: sparse is faster from %.2f sparsity (of those measured)\n",
                       even);
            else
                printf("  break-even: sparse was slower at every sparsity measured\n");
            free(A), free(B), free(C), free(Bp), free(scratch);
        }
    }
    return 0;
}
