/* conv.c - Conv: type and shape inference for 1-3 spatial dims with groups (including
 * depthwise), dilations, strides, explicit pads or auto_pad, kernel_shape from the weights when
 * absent; sizes the scratch the kernel uses (runtime/kernels/conv.c: im2col + GEMM, none for
 * the direct depthwise kernel). */
#include "fused.h"
#include "nn.h"
#include "../../runtime/kernels/nn.h"

static enum kiln_status infer_conv(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    struct kiln_ir_value *x, *w, *b = kiln_in(n, 2);
    enum kiln_status st;
    if ((st = kiln_need_input(c, n, 0, &x)) || (st = kiln_need_input(c, n, 1, &w)) ||
        (st = kiln_check_dtype(c, n, 0, kiln_dtypes_f32_f64)) ||
        (st = kiln_check_same_dtype(c, n, 0, 1)) || (st = kiln_check_same_dtype(c, n, 0, 2)))
        return st;
    struct kiln_conv_shape sh;
    if ((st = kiln_conv_shape(c, n, x, w, &sh)))
        return st;
    int64_t M = sh.m;
    if (b && (b->rank != 1 || b->dims[0] != M))
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "bias '%s' must be a vector of %lld values (one per output channel)",
                             b->name, (long long)M);
    struct kiln_p_conv *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    p->nsp = sh.win.nsp;
    p->group = (int32_t)sh.group;
    p->win = sh.win.geom;
    if ((st = kiln_fused_attrs(c, n, 3, x->rank, sh.dims, &p->act)))
        return st;
    uint64_t es = kiln_dtype_size(x->dtype);
    n->scratch_size = kiln_conv_scratch_bytes(p, sh.cg, (uint64_t)(M / sh.group), sh.k_size,
                                              sh.out_size, es);
    return kiln_set_output(c, n, 0, x->dtype, x->rank, sh.dims);
}

/* Every output element sums C/group * kernel products: numel(Y) * W[1] * prod(W[2:]). */
static uint64_t macs_conv(const struct kiln_ir_node *n)
{
    const struct kiln_ir_value *w = n->in[1], *y = n->out[0];
    if (!y || !kiln_ir_value_shape_known(w) || !kiln_ir_value_shape_known(y))
        return 0;
    return (uint64_t)kiln_ir_value_numel(y) * (uint64_t)(kiln_ir_value_numel(w) / w->dims[0]);
}

const struct kiln_op_info kiln_opi_conv = {
    .infer = infer_conv, .macs = macs_conv, .dtypes = "float32, float64",
    .notes = "1-3 spatial dims; groups, dilations, auto_pad; im2col + blocked GEMM, float32 "
             "depthwise direct; fused activation and residual (kiln_act, kiln_residual)",
    .opsets = {1}};
