/* quant.h - scratch layouts of the integer convolution and matrix-product kernels
 * (runtime/kernels/quant.c), shared with the compiler side that sizes them
 * (compiler/ops/quant.c). Free of runtime-internal headers so compiler/ops can include it. */
#ifndef KILN_RT_QUANT_H
#define KILN_RT_QUANT_H

#include <stdint.h>

#include "igemm.h"
#include "nn.h"

/* ConvInteger / QLinearConv scratch, per image and group:
 *   [ im2col bytes (0 for a pointwise conv) | int32 accumulators (QLinearConv only) | igemm ]
 * mg: output channels per group, kdim: C/group * kernel size. */
static inline uint64_t kiln_qconv_acc_bytes(int qlinear, uint64_t mg, uint64_t out_size)
{
    return qlinear ? kiln_gemm_round_up(mg * out_size * sizeof(int32_t), 64) : 0;
}

static inline uint64_t kiln_qconv_scratch_bytes(const struct kiln_p_conv *p, int qlinear,
                                                uint64_t mg, uint64_t cg, uint64_t k_size,
                                                uint64_t out_size)
{
    return kiln_conv_col_bytes(p, cg, k_size, out_size, 1) +
           kiln_qconv_acc_bytes(qlinear, mg, out_size) +
           kiln_igemm_scratch_bytes(mg, out_size, cg * k_size);
}

/* MatMulInteger / QLinearMatMul scratch, per batch matrix:
 *   [ int32 accumulators M x N (QLinearMatMul only) | igemm ] */
static inline uint64_t kiln_qmatmul_scratch_bytes(int qlinear, uint64_t m, uint64_t n,
                                                  uint64_t k)
{
    return kiln_qconv_acc_bytes(qlinear, m, n) + kiln_igemm_scratch_bytes(m, n, k);
}

#endif
