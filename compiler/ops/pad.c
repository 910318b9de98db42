/* pad.c - Pad: pads and value as attributes (opset < 11; 'paddings' before opset 2), or a
 * constant pads input with an optional constant_value input (and axes from opset 18).
 * Modes constant, reflect, edge, wrap; negative pads crop. A constant_value input that is
 * not constant is read by the kernel at run time. */
#include <string.h>

#include "ops.h"

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

const struct kiln_op_info kiln_opi_pad = {
    .infer = infer_pad, .dtypes = "any",
    .notes = "pads (and axes) must be constant; modes constant, reflect, edge, wrap",
    .opsets = {1, 2, 11, 18}};
