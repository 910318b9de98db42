/* norm.c - BatchNormalization, inference form only: y = (x - mean) / sqrt(var + eps) * scale + B
 * per channel (axis 1). Training mode (opset 14's training_mode, or the running/saved
 * statistics outputs of any opset) and opset 7-8's spatial=0 are refused as UNSUPPORTED. */
#include "ops.h"

static enum kiln_status infer_batch_norm(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    struct kiln_ir_value *x;
    enum kiln_status st;
    if ((st = kiln_need_input_of(c, n, 0, kiln_dtypes_ieee, &x)))
        return st;
    int64_t training_mode = 0, spatial = 1;
    float epsilon;
    if ((st = kiln_attr_float(c, n, "epsilon", 1e-5f, &epsilon)))
        return st;
    if (c->g->opset >= 14 && (st = kiln_attr_int(c, n, "training_mode", 0, &training_mode)))
        return st;
    if (c->g->opset < 9 && (st = kiln_attr_int(c, n, "spatial", 1, &spatial)))
        return st;
    if (training_mode)
        return kiln_op_error(c, n, KILN_STATUS_UNSUPPORTED,
                             "training_mode=1 computes batch statistics; kiln compiles the "
                             "inference form only");
    for (uint32_t i = 1; i < n->n_out; i++)
        if (n->out[i])
            return kiln_op_error(c, n, KILN_STATUS_UNSUPPORTED,
                                 "output %u ('%s') holds training statistics; kiln compiles the "
                                 "inference form only (one output)",
                                 i, n->out[i]->name);
    if (!spatial)
        return kiln_op_error(c, n, KILN_STATUS_UNSUPPORTED,
                             "spatial=0 (per-element statistics) is not supported");
    if (x->rank < 2)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "input '%s' has rank %d; expected [N, C, ...]", x->name, x->rank);
    static const char *const what[] = {"", "scale", "B", "mean", "var"};
    for (uint32_t i = 1; i < 5; i++) {
        struct kiln_ir_value *v;
        if ((st = kiln_need_input(c, n, i, &v)))
            return st;
        if (v->dtype != x->dtype)
            return kiln_op_error(c, n, KILN_STATUS_UNSUPPORTED,
                                 "%s ('%s') is %s and X is %s; kiln needs one type for all",
                                 what[i], v->name, kiln_dtype_name(v->dtype),
                                 kiln_dtype_name(x->dtype));
        if (v->rank != 1 || v->dims[0] != x->dims[1])
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                 "%s ('%s') must be a vector of %lld values (one per channel)",
                                 what[i], v->name, (long long)x->dims[1]);
    }
    struct kiln_p_batch_norm *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    p->epsilon = epsilon;
    return kiln_set_output(c, n, 0, x->dtype, x->rank, x->dims);
}

const struct kiln_op_info kiln_opi_batch_normalization = {
    .flags = KILN_OPF_INPLACE, .infer = infer_batch_norm, .dtypes = "float32, float64, float16",
    .notes = "inference only (training_mode=0, one output); spatial=1", .opsets = {1, 7, 9, 14}};
