/* conv_transpose.c - ConvTranspose: type and shape inference for 1-3 spatial dims with groups,
 * dilations, strides, pads, output_padding, output_shape and auto_pad (the rules of the ONNX
 * reference, including its floor division of an odd total padding), kernel_shape from the
 * weights when absent; sizes the GEMM + col2im scratch of runtime/kernels/conv_transpose.c. */
#include <string.h>

#include "fused.h"
#include "nn.h"
#include "../../runtime/kernels/nn.h"

static int64_t floor_div2(int64_t v)
{
    return v >= 0 ? v / 2 : -((-v + 1) / 2);
}

/* Fills pads and output extents of axis i; total = natural extent - wanted output extent. */
static void split_padding(struct kiln_p_window *w, int i, int64_t total, bool same_upper)
{
    int64_t half = floor_div2(total);
    w->pad_begin[i] = same_upper ? half : total - half;
    w->pad_end[i] = same_upper ? total - half : half;
}

static enum kiln_status infer_conv_transpose(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    struct kiln_ir_value *x, *w, *b = kiln_in(n, 2);
    enum kiln_status st;
    if ((st = kiln_need_input(c, n, 0, &x)) || (st = kiln_need_input(c, n, 1, &w)) ||
        (st = kiln_check_dtype(c, n, 0, kiln_dtypes_f32_f64)) ||
        (st = kiln_check_same_dtype(c, n, 0, 1)) || (st = kiln_check_same_dtype(c, n, 0, 2)))
        return st;
    int nsp = x->rank - 2;
    if (nsp < 1 || nsp > KILN_MAX_SPATIAL)
        return kiln_op_error(c, n, nsp < 1 ? KILN_STATUS_INVALID_MODEL : KILN_STATUS_UNSUPPORTED,
                             "input '%s' has rank %d; expected [N, C, D1...Dk] with 1 to %d "
                             "spatial dimensions",
                             x->name, x->rank, KILN_MAX_SPATIAL);
    if (w->rank != x->rank)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "weights '%s' have rank %d; expected %d like the input '%s'",
                             w->name, w->rank, x->rank, x->name);
    int64_t group;
    if ((st = kiln_attr_int(c, n, "group", 1, &group)))
        return st;
    int64_t C = x->dims[1];
    if (group < 1 || group > INT32_MAX || C % group)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "group %lld must be at least 1 and divide the input channels (%lld)",
                             (long long)group, (long long)C);
    if (w->dims[0] != C)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "weights '%s' have %lld rows; ConvTranspose weights are [C, M/group, "
                             "k...] with C = %lld input channels",
                             w->name, (long long)w->dims[0], (long long)C);
    int64_t mg = w->dims[1], M = mg * group;
    if (b && (b->rank != 1 || b->dims[0] != M))
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "bias '%s' must be a vector of %lld values (one per output channel)",
                             b->name, (long long)M);
    struct kiln_p_conv *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    p->nsp = nsp;
    p->group = (int32_t)group;
    struct kiln_p_window *win = &p->win;
    const int64_t *ks, *pads, *oshape;
    size_t nks, npads, noshape;
    int64_t opad[KILN_MAX_SPATIAL];
    const char *auto_pad;
    if ((st = kiln_attr_ints(c, n, "kernel_shape", &ks, &nks)) ||
        (st = kiln_attr_ints(c, n, "pads", &pads, &npads)) ||
        (st = kiln_attr_ints(c, n, "output_shape", &oshape, &noshape)) ||
        (st = kiln_attr_string(c, n, "auto_pad", "NOTSET", &auto_pad)) ||
        (st = kiln_window_ints(c, n, "strides", nsp, 1, 1, win->stride)) ||
        (st = kiln_window_ints(c, n, "dilations", nsp, 1, 1, win->dilation)) ||
        (st = kiln_window_ints(c, n, "output_padding", nsp, 0, 0, opad)))
        return st;
    if (ks && (int)nks != nsp)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "kernel_shape has %zu values; the input has %d spatial dimensions",
                             nks, nsp);
    if (pads && (int)npads != 2 * nsp)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "pads has %zu values; expected %d (begin and end per spatial axis)",
                             npads, 2 * nsp);
    /* output_shape may list the spatial extents only, or the whole output shape */
    if (oshape && (int)noshape != nsp && (int)noshape != nsp + 2)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "output_shape has %zu values; expected %d spatial extents", noshape,
                             nsp);
    if (oshape && (int)noshape == nsp + 2)
        oshape += 2;
    bool same_upper = strcmp(auto_pad, "SAME_UPPER") == 0;
    bool same_lower = strcmp(auto_pad, "SAME_LOWER") == 0;
    bool valid = strcmp(auto_pad, "VALID") == 0;
    if (!same_upper && !same_lower && !valid && strcmp(auto_pad, "NOTSET") != 0 && auto_pad[0])
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "auto_pad '%s' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID",
                             auto_pad);
    int64_t dims[KILN_MAX_RANK] = {x->dims[0], M};
    uint64_t k_size = 1, in_size = 1;
    for (int i = 0; i < nsp; i++) {
        win->kernel[i] = ks ? ks[i] : w->dims[2 + i];
        if (win->kernel[i] != w->dims[2 + i])
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                 "kernel_shape[%d] = %lld but the weights have %lld", i,
                                 (long long)win->kernel[i], (long long)w->dims[2 + i]);
        if (win->kernel[i] < 1)
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "kernel_shape[%d] is %lld", i,
                                 (long long)win->kernel[i]);
        if (opad[i] >= win->stride[i] && opad[i] >= win->dilation[i])
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                 "output_padding[%d] = %lld must be smaller than the stride or "
                                 "the dilation",
                                 i, (long long)opad[i]);
        int64_t in = x->dims[2 + i], s = win->stride[i];
        int64_t natural = s * (in - 1) + opad[i] + (win->kernel[i] - 1) * win->dilation[i] + 1;
        int64_t out;
        if (oshape) {
            out = oshape[i];
            split_padding(win, i, natural - out, same_upper);
        } else if (same_upper || same_lower) {
            out = in * s;
            split_padding(win, i, natural - out, same_upper);
        } else {
            if (pads && !valid) {
                win->pad_begin[i] = pads[i];
                win->pad_end[i] = pads[nsp + i];
                if (pads[i] < 0 || pads[nsp + i] < 0)
                    return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                         "negative padding on spatial axis %d", i);
            }
            out = natural - win->pad_begin[i] - win->pad_end[i];
        }
        if (out < 1)
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                 "spatial axis %d would have extent %lld", i, (long long)out);
        dims[2 + i] = out;
        k_size *= (uint64_t)win->kernel[i];
        in_size *= (uint64_t)in;
    }
    if ((st = kiln_fused_attrs(c, n, 0, x->rank, dims, &p->act)))
        return st;
    n->scratch_size = kiln_conv_transpose_scratch((uint64_t)(C / group), (uint64_t)mg, k_size,
                                                  in_size, kiln_dtype_size(x->dtype));
    return kiln_set_output(c, n, 0, x->dtype, x->rank, dims);
}

/* Every input element meets every weight of its group: numel(X) * M/group * kernel size. */
static uint64_t macs_conv_transpose(const struct kiln_ir_node *n)
{
    const struct kiln_ir_value *x = n->in[0], *w = n->in[1];
    if (!kiln_ir_value_shape_known(x) || !kiln_ir_value_shape_known(w) || !w->dims[0])
        return 0;
    return (uint64_t)kiln_ir_value_numel(x) * (uint64_t)(kiln_ir_value_numel(w) / w->dims[0]);
}

const struct kiln_op_info kiln_opi_conv_transpose = {
    .infer = infer_conv_transpose, .macs = macs_conv_transpose, .dtypes = "float32, float64",
    .notes = "1-3 spatial dims; groups, dilations, output_padding, output_shape, auto_pad; GEMM + "
             "col2im; fused activation (kiln_act)",
    .opsets = {1}};
