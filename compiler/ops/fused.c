/* fused.c - parsing of the fused-epilogue attributes shared by Conv, ConvTranspose, Gemm and
 * MatMul (fused.h), and the activation table (expanded from kiln/acts.def) that the fusion
 * passes, the recurrent ops and the reports read names and defaults from. */
#include <math.h>
#include <string.h>

#include "fused.h"

static const struct kiln_act_info acts[KILN_ACT_COUNT] = {
#define KILN_ACT(E, lname, onnx, an, ad, bn, bd, flags)                                            \
    [KILN_ACT_##E] = {#lname, onnx, an, bn, ad, bd, flags},
#include "kiln/acts.def"
#undef KILN_ACT
};

const struct kiln_act_info *kiln_act_info_of(int kind)
{
    return kind > KILN_ACT_NONE && kind < KILN_ACT_COUNT ? &acts[kind] : NULL;
}

int kiln_act_of_op(enum kiln_op op)
{
    const char *name = op < KILN_OP_COUNT ? kiln_op_name(op) : NULL;
    for (int k = 1; name && k < KILN_ACT_COUNT; k++)
        if (acts[k].onnx && strcmp(acts[k].onnx, name) == 0)
            return k;
    return KILN_ACT_NONE;
}

const char *kiln_fused_act_name(int kind)
{
    const struct kiln_act_info *a = kiln_act_info_of(kind);
    return a ? a->name : NULL;
}

int kiln_fused_act_kind(const char *name)
{
    for (int k = 1; k < KILN_ACT_COUNT; k++)
        if (strcmp(acts[k].name, name) == 0)
            return k;
    return KILN_ACT_NONE;
}

enum kiln_status kiln_fused_attrs(struct kiln_infer_ctx *c, const struct kiln_ir_node *n,
                                  uint32_t res_index, int rank, const int64_t *dims,
                                  struct kiln_act *act)
{
    const char *name;
    int64_t residual;
    enum kiln_status st;
    memset(act, 0, sizeof *act);
    if ((st = kiln_attr_string(c, n, "kiln_act", NULL, &name)) ||
        (st = kiln_attr_int(c, n, "kiln_residual", 0, &residual)))
        return st;
    if (name) {
        act->kind = kiln_fused_act_kind(name);
        if (act->kind == KILN_ACT_NONE)
            return kiln_op_error(c, n, KILN_STATUS_UNSUPPORTED,
                                 "kiln_act '%s' is not an activation kiln can fuse", name);
        if ((st = kiln_attr_float(c, n, "kiln_act_alpha", acts[act->kind].alpha, &act->alpha)) ||
            (st = kiln_attr_float(c, n, "kiln_act_beta", acts[act->kind].beta, &act->beta)))
            return st;
    }
    if (residual != 0 && residual != 1)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "kiln_residual must be 0 or 1");
    if (!residual) {
        if (res_index && n->n_in > res_index)
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                 "%u inputs: the input after the op's own ones is the residual "
                                 "of kiln_residual=1",
                                 n->n_in);
        return KILN_STATUS_OK;
    }
    struct kiln_ir_value *r;
    if (!res_index)
        return kiln_op_error(c, n, KILN_STATUS_UNSUPPORTED,
                             "kiln_residual is not supported by this op's kernel");
    if (n->n_in != res_index + 1)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "kiln_residual=1 needs the residual as input %u (the last)",
                             res_index);
    if ((st = kiln_need_input(c, n, res_index, &r)) ||
        (st = kiln_check_same_dtype(c, n, 0, res_index)))
        return st;
    bool same = r->rank == rank;
    for (int i = 0; same && i < rank; i++)
        same = r->dims[i] == dims[i];
    if (!same)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "residual '%s' must have the output's shape exactly", r->name);
    return KILN_STATUS_OK;
}
