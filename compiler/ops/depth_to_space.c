/* depth_to_space.c - DepthToSpace (modes DCR and CRD) and SpaceToDepth on NCHW tensors. Each
 * is reshape-transpose-reshape; this file works out the output's 6-D view and the input
 * strides it reads with (struct kiln_p_strided), so the kernel is one strided copy. */
#include <string.h>

#include "ops.h"

/* p->dims = out6; p->strides[i] = the input view's stride (view shape in6) of axis perm[i]. */
static void set_view(struct kiln_p_strided *p, const int64_t *in6, const int *perm)
{
    int64_t st[6], s = 1;
    for (int i = 5; i >= 0; i--) {
        st[i] = s;
        s *= in6[i];
    }
    p->rank = 6;
    for (int i = 0; i < 6; i++) {
        p->dims[i] = in6[perm[i]];
        p->strides[i] = st[perm[i]];
    }
}

static enum kiln_status infer_depth_space(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    struct kiln_ir_value *x = n->in[0];
    enum kiln_status st;
    int64_t b;
    const char *mode = "DCR";
    bool to_space = n->op == KILN_OP_DEPTH_TO_SPACE;
    if ((st = kiln_check_dtype(c, n, 0, kiln_dtypes_all)) ||
        (st = kiln_attr_int(c, n, "blocksize", 0, &b)))
        return st;
    if (to_space && c->g->opset >= 11 && (st = kiln_attr_string(c, n, "mode", "DCR", &mode)))
        return st;
    if (x->rank != 4)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "input must have rank 4, has %d",
                             x->rank);
    if (b < 1 || b > 65536)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "blocksize %lld must be positive", (long long)b);
    int64_t N = x->dims[0], C = x->dims[1], H = x->dims[2], W = x->dims[3], dims[4];
    struct kiln_p_strided *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    if (to_space) {
        if (C % (b * b))
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                 "channels (%lld) are not a multiple of blocksize^2 (%lld)",
                                 (long long)C, (long long)(b * b));
        int64_t Cb = C / (b * b);
        if (strcmp(mode, "DCR") == 0)
            set_view(p, (int64_t[]){N, b, b, Cb, H, W}, (int[]){0, 3, 4, 1, 5, 2});
        else if (strcmp(mode, "CRD") == 0)
            set_view(p, (int64_t[]){N, Cb, b, b, H, W}, (int[]){0, 1, 4, 2, 5, 3});
        else
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                 "mode '%s' is neither DCR nor CRD", mode);
        memcpy(dims, (int64_t[]){N, Cb, H * b, W * b}, sizeof dims);
    } else {
        if (H % b || W % b)
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                 "height %lld and width %lld must be multiples of blocksize "
                                 "%lld",
                                 (long long)H, (long long)W, (long long)b);
        set_view(p, (int64_t[]){N, C, H / b, b, W / b, b}, (int[]){0, 3, 5, 1, 2, 4});
        memcpy(dims, (int64_t[]){N, C * b * b, H / b, W / b}, sizeof dims);
    }
    return kiln_set_output(c, n, 0, x->dtype, 4, dims);
}

const struct kiln_op_info kiln_opi_depth_to_space = {
    .infer = infer_depth_space, .dtypes = "any", .notes = "modes DCR and CRD", .opsets = {1, 11}};
const struct kiln_op_info kiln_opi_space_to_depth = {
    .infer = infer_depth_space, .dtypes = "any", .notes = "", .opsets = {1}};
