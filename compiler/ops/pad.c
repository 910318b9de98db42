/* pad.c - Pad, and CenterCropPad (a Pad whose pads it computes). Pad: pads and value as
 * attributes (opset < 11; 'paddings' before opset 2), or a constant pads input with an optional
 * constant_value input (and axes from opset 18). Modes constant, reflect, edge, wrap; negative
 * pads crop. A constant_value input that is not constant is read by the kernel at run time. */
#include <string.h>

#include "ops.h"

static enum kiln_status pad_output(struct kiln_infer_ctx *c, struct kiln_ir_node *n,
                                   const struct kiln_p_pad *p, const char *mode);

static enum kiln_status infer_pad(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    struct kiln_ir_value *x = n->in[0];
    enum kiln_status st;
    int64_t *pads, np, *axes = NULL, na = 0;
    float value = 0;
    const char *mode;
    if ((st = kiln_check_dtype(c, n, 0, kiln_dtypes_all)) ||
        (st = kiln_attr_string(c, n, "mode", "constant", &mode)))
        return st;
    if (c->g->opset < 11) {
        const int64_t *pa;
        size_t len;
        if ((st = kiln_attr_ints(c, n, c->g->opset < 2 ? "paddings" : "pads", &pa, &len)) ||
            (st = kiln_attr_float(c, n, "value", 0, &value)))
            return st;
        if (!pa)
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "attribute '%s' is required",
                                 c->g->opset < 2 ? "paddings" : "pads");
        pads = (int64_t *)pa;
        np = (int64_t)len;
    } else {
        if ((st = kiln_const_ints(c, n, 1, "pads", &pads, &np)))
            return st;
        struct kiln_ir_value *cv = kiln_in(n, 2);
        if (cv && (st = kiln_check_same_dtype(c, n, 0, 2)))
            return st;
        if (cv && kiln_ir_value_numel(cv) != 1)
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                 "constant_value '%s' must hold one value", cv->name);
        if (kiln_in(n, 3) && (st = kiln_const_ints(c, n, 3, "axes", &axes, &na)))
            return st;
    }
    int rank = x->rank, nax = axes ? (int)na : rank;
    if (np != 2 * (int64_t)nax)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "pads has %lld entries; expected %d (2 per axis)", (long long)np,
                             2 * nax);
    struct kiln_p_pad *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    if (strcmp(mode, "constant") == 0)
        p->mode = KILN_PAD_CONSTANT;
    else if (strcmp(mode, "reflect") == 0)
        p->mode = KILN_PAD_REFLECT;
    else if (strcmp(mode, "edge") == 0)
        p->mode = KILN_PAD_EDGE;
    else if (strcmp(mode, "wrap") == 0)
        p->mode = KILN_PAD_WRAP;
    else
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "mode '%s' is not one of constant, reflect, edge, wrap", mode);
    p->value = value;
    for (int k = 0; k < nax; k++) {
        int64_t ax = k;
        if (axes && (st = kiln_norm_axis(c, n, axes[k], rank, &ax)))
            return st;
        p->begin[ax] = pads[k];
        p->end[ax] = pads[k + nax];
    }
    return pad_output(c, n, p, mode);
}

/* Sets the output of a Pad-kernel node from p->begin/end (negative: crop) and sizes the
 * kernel's scratch. */
static enum kiln_status pad_output(struct kiln_infer_ctx *c, struct kiln_ir_node *n,
                                   const struct kiln_p_pad *p, const char *mode)
{
    const struct kiln_ir_value *x = n->in[0];
    int rank = x->rank;
    int64_t dims[KILN_MAX_RANK];
    uint64_t table = 0;
    for (int i = 0; i < rank; i++) {
        int64_t d = x->dims[i], b = p->begin[i], e = p->end[i];
        if (b < -d || e < -d || b > INT64_MAX / 4 || e > INT64_MAX / 4 || d + b + e < 0)
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                 "pads %lld, %lld on axis %d of size %lld leave a negative size",
                                 (long long)b, (long long)e, i, (long long)d);
        dims[i] = d + b + e;
        if (d == 0 && dims[i] > 0 && p->mode != KILN_PAD_CONSTANT)
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                 "mode '%s' cannot pad axis %d of size 0", mode, i);
        table += (uint64_t)dims[i];
    }
    n->scratch_size = table * sizeof(int64_t); /* the kernel's per-axis source tables */
    return kiln_set_output(c, n, 0, x->dtype, rank, dims);
}

/* CenterCropPad (opset 18): each listed axis cropped or zero-padded to its new size about the
 * centre, the odd element going to the end; it runs as a Pad with negative pads for a crop. */
static enum kiln_status infer_center_crop_pad(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    struct kiln_ir_value *x = n->in[0];
    enum kiln_status st;
    int64_t *shape, ns;
    const int64_t *axes;
    size_t na;
    if ((st = kiln_const_ints(c, n, 1, "shape", &shape, &ns)) ||
        (st = kiln_attr_ints(c, n, "axes", &axes, &na)))
        return st;
    int count = axes ? (int)na : x->rank;
    if (ns != count)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "shape has %lld values for %d axes", (long long)ns, count);
    struct kiln_p_pad *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    p->mode = KILN_PAD_CONSTANT;
    uint32_t seen = 0;
    for (int k = 0; k < count; k++) {
        int64_t ax = k;
        if (axes && (st = kiln_norm_axis(c, n, axes[k], x->rank, &ax)))
            return st;
        if ((seen >> ax) & 1 || shape[k] < 0)
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                 "axis %lld is repeated or its size %lld is negative",
                                 (long long)ax, (long long)shape[k]);
        seen |= 1u << ax;
        int64_t diff = shape[k] - x->dims[ax]; /* > 0: pad, < 0: crop */
        int64_t half = (diff < 0 ? -diff : diff) / 2;
        p->begin[ax] = diff < 0 ? -half : half;
        p->end[ax] = diff - p->begin[ax];
    }
    return pad_output(c, n, p, "constant");
}

const struct kiln_op_info kiln_opi_center_crop_pad = {
    .infer = infer_center_crop_pad, .dtypes = "any", .notes = "the shape input must be constant",
    .opsets = {18}};
const struct kiln_op_info kiln_opi_pad = {
    .infer = infer_pad, .dtypes = "any",
    .notes = "pads (and axes) must be constant; modes constant, reflect, edge, wrap",
    .opsets = {1, 2, 11, 18}};
