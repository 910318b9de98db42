/* window.c - the sliding-window geometry of Conv, MaxPool and AveragePool: attribute parsing
 * (explicit pads or auto_pad) and output extents, one implementation for all three; and Conv's
 * shape (channels, groups, weights) for Conv and its integer forms. */
#include <string.h>

#include "nn.h"

#define KILN_WINDOW_MAX INT32_MAX

enum kiln_status kiln_window_ints(struct kiln_infer_ctx *c, const struct kiln_ir_node *n,
                                  const char *name, int nsp, int64_t def, int64_t min,
                                  int64_t *out)
{
    const int64_t *v;
    size_t len;
    enum kiln_status st = kiln_attr_ints(c, n, name, &v, &len);
    if (st)
        return st;
    if (v && (int)len != nsp)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "%s has %zu values; the input has %d spatial dimensions", name, len,
                             nsp);
    /* the upper bound keeps every window computation below far from int64 overflow */
    for (int i = 0; i < nsp; i++) {
        out[i] = v ? v[i] : def;
        if (out[i] < min || out[i] > KILN_WINDOW_MAX)
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "%s[%d] is %lld%s", name, i,
                                 (long long)out[i],
                                 out[i] < min ? "" : ", more than kiln allows (2^31 - 1)");
    }
    return KILN_STATUS_OK;
}

enum kiln_status kiln_window_infer(struct kiln_infer_ctx *c, const struct kiln_ir_node *n,
                                   const struct kiln_ir_value *x, const int64_t *kernel_from_w,
                                   bool ceil_mode, bool allow_dilations, struct kiln_window *w)
{
    enum kiln_status st;
    memset(w, 0, sizeof *w);
    int nsp = x->rank - 2;
    if (nsp < 1 || nsp > KILN_MAX_SPATIAL)
        return kiln_op_error(c, n, nsp < 1 ? KILN_STATUS_INVALID_MODEL : KILN_STATUS_UNSUPPORTED,
                             "input '%s' has rank %d; expected [N, C, D1...Dk] with 1 to %d "
                             "spatial dimensions",
                             x->name, x->rank, KILN_MAX_SPATIAL);
    w->nsp = nsp;
    const int64_t *ks;
    size_t nks;
    if ((st = kiln_attr_ints(c, n, "kernel_shape", &ks, &nks)))
        return st;
    if (!ks && !kernel_from_w)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "kernel_shape is required");
    if (ks && (int)nks != nsp)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "kernel_shape has %zu values; the input has %d spatial dimensions",
                             nks, nsp);
    for (int i = 0; i < nsp; i++) {
        w->geom.kernel[i] = ks ? ks[i] : kernel_from_w[i];
        if (w->geom.kernel[i] < 1 || w->geom.kernel[i] > KILN_WINDOW_MAX)
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "kernel_shape[%d] is %lld%s", i,
                                 (long long)w->geom.kernel[i],
                                 w->geom.kernel[i] < 1 ? "" : ", more than kiln allows (2^31 - 1)");
        if (ks && kernel_from_w && ks[i] != kernel_from_w[i])
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                 "kernel_shape[%d] = %lld but the weights have %lld", i,
                                 (long long)ks[i], (long long)kernel_from_w[i]);
    }
    if ((st = kiln_window_ints(c, n, "strides", nsp, 1, 1, w->geom.stride)))
        return st;
    if (allow_dilations) {
        if ((st = kiln_window_ints(c, n, "dilations", nsp, 1, 1, w->geom.dilation)))
            return st;
    } else {
        for (int i = 0; i < nsp; i++)
            w->geom.dilation[i] = 1;
    }
    const char *auto_pad;
    if ((st = kiln_attr_string(c, n, "auto_pad", "NOTSET", &auto_pad)))
        return st;
    bool same_upper = strcmp(auto_pad, "SAME_UPPER") == 0;
    bool same_lower = strcmp(auto_pad, "SAME_LOWER") == 0;
    bool valid = strcmp(auto_pad, "VALID") == 0;
    if (!same_upper && !same_lower && !valid && strcmp(auto_pad, "NOTSET") != 0 && auto_pad[0])
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "auto_pad '%s' is not one of "
                             "NOTSET, SAME_UPPER, SAME_LOWER, VALID", auto_pad);
    const int64_t *pads;
    size_t npads;
    if ((st = kiln_attr_ints(c, n, "pads", &pads, &npads)))
        return st;
    if (pads && (int)npads != 2 * nsp)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "pads has %zu values; expected %d (begin and end per spatial axis)",
                             npads, 2 * nsp);
    for (int i = 0; i < nsp; i++) {
        int64_t in = x->dims[2 + i], s = w->geom.stride[i];
        int64_t dk = (w->geom.kernel[i] - 1) * w->geom.dilation[i] + 1;
        if (same_upper || same_lower) {
            int64_t out = (in + s - 1) / s;
            int64_t total = (out - 1) * s + dk - in;
            if (total < 0)
                total = 0;
            int64_t small = total / 2;
            w->geom.pad_begin[i] = same_upper ? small : total - small;
            w->geom.pad_end[i] = total - w->geom.pad_begin[i];
            w->out[i] = out;
            continue;
        }
        if (!valid && pads) {
            w->geom.pad_begin[i] = pads[i];
            w->geom.pad_end[i] = pads[nsp + i];
            if (pads[i] < 0 || pads[nsp + i] < 0)
                return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                     "negative padding on spatial axis %d", i);
            if (pads[i] > KILN_WINDOW_MAX || pads[nsp + i] > KILN_WINDOW_MAX)
                return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                     "padding (%lld, %lld) on spatial axis %d is more than kiln "
                                     "allows (2^31 - 1)",
                                     (long long)pads[i], (long long)pads[nsp + i], i);
            /* a pooling window lying wholly in the padding has no value (ONNX requires pads
             * smaller than the kernel) */
            if (!kernel_from_w && (pads[i] >= dk || pads[nsp + i] >= dk))
                return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                     "padding (%lld, %lld) on spatial axis %d is not smaller "
                                     "than the window (%lld)",
                                     (long long)pads[i], (long long)pads[nsp + i], i,
                                     (long long)dk);
        }
        int64_t padded = in + w->geom.pad_begin[i] + w->geom.pad_end[i], span = padded - dk;
        if (span < 0)
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                 "the window (%lld with dilation) is larger than the padded "
                                 "input (%lld) on spatial axis %d",
                                 (long long)dk, (long long)padded, i);
        int64_t out = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
        /* as in PyTorch and the ONNX reference: a window may not start in the end padding */
        if (ceil_mode && (out - 1) * s >= in + w->geom.pad_begin[i])
            out--;
        w->out[i] = out;
    }
    return KILN_STATUS_OK;
}

enum kiln_status kiln_conv_shape(struct kiln_infer_ctx *c, const struct kiln_ir_node *n,
                                 const struct kiln_ir_value *x, const struct kiln_ir_value *w,
                                 struct kiln_conv_shape *s)
{
    enum kiln_status st;
    if (w->rank != x->rank)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "weights '%s' have rank %d; expected %d like the input '%s'", w->name,
                             w->rank, x->rank, x->name);
    if ((st =
             kiln_window_infer(c, n, x, x->rank >= 3 ? w->dims + 2 : NULL, false, true, &s->win)) ||
        (st = kiln_attr_int(c, n, "group", 1, &s->group)))
        return st;
    int64_t C = x->dims[1], M = w->dims[0], group = s->group;
    if (group < 1 || C % group || M % group)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "group %lld must be at least 1 and divide both the input channels "
                             "(%lld) and the output channels (%lld)",
                             (long long)group, (long long)C, (long long)M);
    if (w->dims[1] != C / group)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "channel mismatch: input '%s' has %lld channels in %lld group(s), "
                             "so the weights need %lld input channels, but '%s' has %lld",
                             x->name, (long long)C, (long long)group, (long long)(C / group),
                             w->name, (long long)w->dims[1]);
    if (group > INT32_MAX)
        return kiln_op_error(c, n, KILN_STATUS_UNSUPPORTED, "group %lld is too large",
                             (long long)group);
    s->c = C, s->m = M;
    s->cg = (uint64_t)(C / group);
    s->k_size = s->out_size = 1;
    s->dims[0] = x->dims[0], s->dims[1] = M;
    for (int i = 0; i < s->win.nsp; i++) {
        s->dims[2 + i] = s->win.out[i];
        s->k_size *= (uint64_t)s->win.geom.kernel[i];
        s->out_size *= (uint64_t)s->win.out[i];
    }
    return KILN_STATUS_OK;
}
