/* fused.c - parsing of the fused-epilogue attributes shared by Conv, ConvTranspose, Gemm and
 * MatMul (fused.h), and the activation name table the fusion passes write them with. */
#include <math.h>
#include <string.h>

#include "fused.h"

/* name, default alpha, default beta (what the ONNX activation defaults to) */
static const struct {
    const char *name;
    float alpha, beta;
} acts[] = {
    [KILN_ACT_RELU] = {"relu", 0, 0},
    [KILN_ACT_CLIP] = {"clip", -INFINITY, INFINITY},
    [KILN_ACT_LEAKY_RELU] = {"leaky_relu", 0.01f, 0},
    [KILN_ACT_SIGMOID] = {"sigmoid", 0, 0},
    [KILN_ACT_TANH] = {"tanh", 0, 0},
    [KILN_ACT_HARD_SIGMOID] = {"hard_sigmoid", 0.2f, 0.5f},
    [KILN_ACT_HARD_SWISH] = {"hard_swish", 0, 0},
    [KILN_ACT_SILU] = {"silu", 0, 0},
    [KILN_ACT_GELU] = {"gelu", 0, 0},
    [KILN_ACT_AFFINE] = {"affine", 1, 0},
    [KILN_ACT_THRESHOLDED_RELU] = {"thresholded_relu", 1, 0},
    [KILN_ACT_SCALED_TANH] = {"scaled_tanh", 1, 1},
    [KILN_ACT_ELU] = {"elu", 1, 0},
    [KILN_ACT_SOFTSIGN] = {"softsign", 0, 0},
    [KILN_ACT_SOFTPLUS] = {"softplus", 0, 0},
    [KILN_ACT_GELU_TANH] = {"gelu_tanh", 0, 0},
    [KILN_ACT_FAST_SIGMOID] = {"fast_sigmoid", 0, 0},
    [KILN_ACT_FAST_TANH] = {"fast_tanh", 0, 0},
    [KILN_ACT_FAST_SILU] = {"fast_silu", 0, 0},
    [KILN_ACT_FAST_GELU] = {"fast_gelu", 0, 0},
};
#define N_ACTS (int)(sizeof acts / sizeof acts[0])

const char *kiln_fused_act_name(int kind)
{
    return kind > 0 && kind < N_ACTS ? acts[kind].name : NULL;
}

int kiln_fused_act_kind(const char *name)
{
    for (int k = 1; k < N_ACTS; k++)
        if (acts[k].name && strcmp(acts[k].name, name) == 0)
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
