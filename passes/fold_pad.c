/* fold_pad.c - merges a constant-mode Pad with value 0 on the spatial axes into the pads of
 * the Conv or AveragePool (count_include_pad=1) that reads it: exporters write such a Pad for
 * "SAME" padding and for AvgPool2d. Not folded: other modes or values, padding of the batch or
 * channel axis, negative pads (crops), auto_pad, MaxPool (its implicit padding is -inf), an
 * AveragePool that excludes its own padding or uses ceil_mode, a Pad output read elsewhere. */
#include <string.h>

#include "edit.h"

/* Pad's constant is 0: the attribute (opset < 11, in params) or the constant_value input. */
static bool pads_with_zero(const struct kiln_ir_node *pad)
{
    const struct kiln_p_pad *p = pad->params;
    if (!p || p->mode != KILN_PAD_CONSTANT || p->value != 0)
        return false;
    struct kiln_ir_value *cv = kiln_in(pad, 2);
    if (!cv)
        return true;
    return kiln_edit_is_float_const(cv, cv->dtype) && kiln_edit_get(cv, 0) == 0;
}

static bool explicit_pads(const struct kiln_ir_node *n)
{
    const struct kiln_ir_attr *a = kiln_ir_attr(n, "auto_pad");
    return !a || !a->s || !a->s[0] || strcmp(a->s, "NOTSET") == 0;
}

/* The reader of the Pad accepts extra zero padding in its own pads. */
static bool reader_ok(const struct kiln_ir_node *u, int nsp)
{
    if (!explicit_pads(u))
        return false;
    if (u->op == KILN_OP_CONV)
        return true;
    if (u->op != KILN_OP_AVERAGE_POOL || kiln_edit_attr_int(u, "ceil_mode", 0))
        return false;
    if (kiln_edit_attr_int(u, "count_include_pad", 0))
        return true;
    /* a pool that excludes its own padding can still take the Pad's if it has none itself */
    const struct kiln_ir_attr *a = kiln_ir_attr(u, "pads");
    for (size_t i = 0; a && a->ints && i < a->n && i < (size_t)(2 * nsp); i++)
        if (a->ints[i])
            return false;
    return true;
}

enum kiln_status kiln_pass_fold_pad(struct kiln_pass_ctx *c)
{
    struct kiln_ir_graph *g = c->g;
    struct kiln_ir_node *pad;
    for (uint32_t i = 0; (pad = kiln_edit_next_live(g, &i));) {
        if (pad->op != KILN_OP_PAD || !pads_with_zero(pad))
            continue;
        const struct kiln_p_pad *pp = pad->params;
        struct kiln_ir_value *x = pad->in[0], *y = pad->out[0];
        struct kiln_ir_node *u = kiln_edit_sole_user(g, y);
        int nsp = x->rank - 2;
        if (!u || u->in[0] != y || nsp < 1 || nsp > KILN_MAX_SPATIAL || !reader_ok(u, nsp) ||
            pp->begin[0] || pp->end[0] || pp->begin[1] || pp->end[1])
            continue;
        bool ok = true;
        for (int k = 2; k < x->rank; k++)
            ok = ok && pp->begin[k] >= 0 && pp->end[k] >= 0;
        const struct kiln_ir_attr *a = kiln_ir_attr(u, "pads");
        if (!ok || (a && (!a->ints || a->n != (size_t)(2 * nsp))))
            continue;
        int64_t pads[2 * KILN_MAX_SPATIAL];
        for (int k = 0; k < nsp; k++) {
            pads[k] = (a ? a->ints[k] : 0) + pp->begin[2 + k];
            pads[nsp + k] = (a ? a->ints[nsp + k] : 0) + pp->end[2 + k];
        }
        if (!kiln_edit_set_ints(g, u, "pads", pads, (size_t)(2 * nsp)) ||
            (u->op == KILN_OP_AVERAGE_POOL && !kiln_edit_set_int(g, u, "count_include_pad", 1)))
            return kiln_diag_set(c->d, KILN_STATUS_NO_MEMORY, u->name, u->op_type,
                                 "out of memory");
        u->in[0] = x;
        pad->dead = true;
        enum kiln_status st = kiln_edit_reinfer(c, u);
        if (st)
            return st;
        kiln_pass_log(c, "folded Pad '%s' into the pads of %s '%s'", pad->name, u->op_type,
                      u->name);
    }
    return KILN_STATUS_OK;
}
