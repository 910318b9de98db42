/* normalize.c - the statistics-based normalisations: InstanceNormalization,
 * LayerNormalization (opset 17, optional Mean/InvStdDev outputs), GroupNormalization (18, 21),
 * MeanVarianceNormalization,
 * LRN and LpNormalization. The first three share one kernel (per-group mean and variance over
 * the axes of a mask); kernels in runtime/kernels/normalize.c. */
#include "ops.h"

static struct kiln_p_norm *norm_params(struct kiln_infer_ctx *c, struct kiln_ir_node *n,
                                       const struct kiln_ir_value *x, uint32_t mask,
                                       int affine, double epsilon)
{
    struct kiln_p_norm *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return NULL;
    p->reduce_mask = mask;
    p->affine = affine;
    p->scale_step = p->bias_step = 1;
    p->epsilon = epsilon;
    /* reduced axes that are not all behind the kept ones need a table of their offsets */
    int64_t count = 1;
    int suffix = 1, seen = 0;
    for (int i = 0; i < x->rank; i++) {
        int red = (mask >> i) & 1;
        if (red)
            count *= x->dims[i];
        suffix &= !(seen && !red && x->dims[i] != 1);
        seen |= red && x->dims[i] != 1;
    }
    n->scratch_size = suffix ? 0 : (uint64_t)count * sizeof(int64_t);
    return p;
}

/* Requires input i to be a vector or tensor of `want` elements with X's dtype (or one element
 * when allow_one); returns its step (1, or 0 for one element). */
static enum kiln_status affine_input(struct kiln_infer_ctx *c, struct kiln_ir_node *n, uint32_t i,
                                     const char *what, int64_t want, int allow_one, int32_t *step)
{
    struct kiln_ir_value *v;
    enum kiln_status st;
    *step = 1;
    if (!kiln_in(n, i))
        return KILN_STATUS_OK;
    if ((st = kiln_need_input(c, n, i, &v)) || (st = kiln_check_same_dtype(c, n, 0, i)))
        return st;
    int64_t cnt = kiln_ir_value_numel(v);
    if (cnt == want)
        return KILN_STATUS_OK;
    if (allow_one && cnt == 1) {
        *step = 0;
        return KILN_STATUS_OK;
    }
    return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                         "%s '%s' has %lld elements; expected %lld", what, v->name,
                         (long long)cnt, (long long)want);
}

static enum kiln_status infer_instance_norm(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    struct kiln_ir_value *x;
    enum kiln_status st;
    float eps;
    if ((st = kiln_need_input_of(c, n, 0, kiln_dtypes_ieee, &x)) ||
        (st = kiln_attr_float(c, n, "epsilon", 1e-5f, &eps)))
        return st;
    if (x->rank < 3)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "input '%s' has rank %d; expected [N, C, D1...Dk]", x->name,
                             x->rank);
    int32_t step;
    if ((st = affine_input(c, n, 1, "scale", x->dims[1], 0, &step)) ||
        (st = affine_input(c, n, 2, "B", x->dims[1], 0, &step)))
        return st;
    uint32_t mask = ((1u << x->rank) - 1) & ~3u;
    if (!norm_params(c, n, x, mask, KILN_NORM_PER_CHANNEL, eps))
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    return kiln_set_output(c, n, 0, x->dtype, x->rank, x->dims);
}

/* GroupNormalization: opset 18 scales and shifts per group, 21 per channel (and names the
 * statistics' type, stash_type; kiln computes them in double either way). */
static enum kiln_status infer_group_norm(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    struct kiln_ir_value *x;
    enum kiln_status st;
    float eps;
    int64_t groups, stash = 1;
    if ((st = kiln_need_input_of(c, n, 0, kiln_dtypes_ieee, &x)) ||
        (st = kiln_attr_float(c, n, "epsilon", 1e-5f, &eps)) ||
        (st = kiln_attr_int(c, n, "num_groups", 0, &groups)) ||
        (c->g->opset >= 21 && (st = kiln_attr_int(c, n, "stash_type", 1, &stash))))
        return st;
    if (stash != KILN_DTYPE_F32)
        return kiln_op_error(c, n, KILN_STATUS_UNSUPPORTED,
                             "stash_type %lld: ONNX defines only 1 (float32)", (long long)stash);
    if (x->rank < 3)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "input '%s' has rank %d; expected [N, C, D1...Dk]", x->name,
                             x->rank);
    if (groups < 1 || groups > INT32_MAX || x->dims[1] % groups)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "num_groups %lld does not divide the %lld channels", (long long)groups,
                             (long long)x->dims[1]);
    bool per_channel = c->g->opset >= 21;
    int32_t step;
    int64_t want = per_channel ? x->dims[1] : groups;
    if ((st = affine_input(c, n, 1, "scale", want, 0, &step)) ||
        (st = affine_input(c, n, 2, "bias", want, 0, &step)))
        return st;
    struct kiln_p_norm *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    p->reduce_mask = 4; /* the last axis of the [N, G, C/G * D...] view */
    p->affine = per_channel ? KILN_NORM_GROUP_CHANNEL : KILN_NORM_PER_CHANNEL;
    p->scale_step = p->bias_step = 1;
    p->num_groups = (int32_t)groups;
    p->epsilon = eps;
    return kiln_set_output(c, n, 0, x->dtype, x->rank, x->dims);
}

/* Accepted at every opset, not only from 17 where ONNX adds it: the layernorm_pattern pass
 * puts it into older graphs in place of their ReduceMean/Sub/Pow/Sqrt/Div decomposition. */
static enum kiln_status infer_layer_norm(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    struct kiln_ir_value *x;
    enum kiln_status st;
    float eps;
    int64_t axis, stash;
    if ((st = kiln_need_input_of(c, n, 0, kiln_dtypes_ieee, &x)) ||
        (st = kiln_attr_float(c, n, "epsilon", 1e-5f, &eps)) ||
        (st = kiln_attr_int(c, n, "axis", -1, &axis)) ||
        (st = kiln_attr_int(c, n, "stash_type", 1, &stash)) ||
        (st = kiln_norm_axis(c, n, axis, x->rank, &axis)))
        return st;
    if (stash != KILN_DTYPE_F32 && stash != KILN_DTYPE_F64)
        return kiln_op_error(c, n, KILN_STATUS_UNSUPPORTED,
                             "stash_type %lld: kiln computes the statistics in double and "
                             "stores them as float32 (1) or float64 (11)",
                             (long long)stash);
    int64_t inner = 1;
    for (int i = (int)axis; i < x->rank; i++)
        inner *= x->dims[i];
    struct kiln_p_norm *p =
        norm_params(c, n, x, ((1u << x->rank) - 1) & ~((1u << axis) - 1), KILN_NORM_PER_ELEMENT,
                    eps);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    if ((st = affine_input(c, n, 1, "Scale", inner, 1, &p->scale_step)) ||
        (st = affine_input(c, n, 2, "B", inner, 1, &p->bias_step)))
        return st;
    int64_t sdims[KILN_MAX_RANK];
    for (int i = 0; i < x->rank; i++)
        sdims[i] = i < axis ? x->dims[i] : 1;
    if ((st = kiln_set_output(c, n, 0, x->dtype, x->rank, x->dims)) ||
        (st = kiln_set_output(c, n, 1, (int)stash, x->rank, sdims)))
        return st;
    return kiln_set_output(c, n, 2, (int)stash, x->rank, sdims);
}

static enum kiln_status infer_mvn(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    struct kiln_ir_value *x;
    enum kiln_status st;
    const int64_t *axes;
    size_t naxes;
    static const int64_t def_axes[] = {0, 2, 3};
    if ((st = kiln_need_input_of(c, n, 0, kiln_dtypes_ieee, &x)) ||
        (st = kiln_attr_ints(c, n, "axes", &axes, &naxes)))
        return st;
    if (!axes) {
        axes = def_axes;
        naxes = 3;
    }
    uint32_t mask = 0;
    for (size_t i = 0; i < naxes; i++) {
        int64_t ax;
        if ((st = kiln_norm_axis(c, n, axes[i], x->rank, &ax)))
            return st;
        mask |= 1u << ax;
    }
    struct kiln_p_norm *p = norm_params(c, n, x, mask, KILN_NORM_PLAIN, 1e-9);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    p->eps_after_sqrt = 1;
    return kiln_set_output(c, n, 0, x->dtype, x->rank, x->dims);
}

static enum kiln_status infer_lrn(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    struct kiln_ir_value *x;
    enum kiln_status st;
    int64_t size;
    float alpha, beta, bias;
    if ((st = kiln_need_input_of(c, n, 0, kiln_dtypes_ieee, &x)) ||
        (st = kiln_attr_int(c, n, "size", 0, &size)) ||
        (st = kiln_attr_float(c, n, "alpha", 1e-4f, &alpha)) ||
        (st = kiln_attr_float(c, n, "beta", 0.75f, &beta)) ||
        (st = kiln_attr_float(c, n, "bias", 1.0f, &bias)))
        return st;
    if (size < 1 || size > INT32_MAX)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "size is %lld; it is required and must be at least 1",
                             (long long)size);
    if (x->rank < 2)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "input '%s' has rank %d; expected [N, C, ...]", x->name, x->rank);
    struct kiln_p_lrn *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    p->alpha = alpha, p->beta = beta, p->bias = bias, p->size = (int32_t)size;
    return kiln_set_output(c, n, 0, x->dtype, x->rank, x->dims);
}

static enum kiln_status infer_lp_norm(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    struct kiln_ir_value *x;
    enum kiln_status st;
    int64_t axis, pv;
    if ((st = kiln_need_input_of(c, n, 0, kiln_dtypes_ieee, &x)) ||
        (st = kiln_attr_int(c, n, "axis", -1, &axis)) || (st = kiln_attr_int(c, n, "p", 2, &pv)) ||
        (st = kiln_norm_axis(c, n, axis, x->rank, &axis)))
        return st;
    if (pv != 1 && pv != 2)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "p is %lld; it must be 1 or 2",
                             (long long)pv);
    struct kiln_p_lp_norm *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    p->outer = p->inner = 1;
    for (int i = 0; i < x->rank; i++)
        *(i < axis ? &p->outer : &p->inner) *= i == axis ? 1 : x->dims[i];
    p->axis_len = x->dims[axis];
    p->p = (int32_t)pv;
    return kiln_set_output(c, n, 0, x->dtype, x->rank, x->dims);
}

const struct kiln_op_info kiln_opi_instance_normalization = {
    .infer = infer_instance_norm, .dtypes = "float32, float64, float16",
    .notes = "statistics accumulated in double (two passes)", .opsets = {1}};
const struct kiln_op_info kiln_opi_layer_normalization = {
    .infer = infer_layer_norm, .dtypes = "float32, float64, float16",
    .notes = "opset 17 (kiln: any opset); optional Mean/InvStdDev outputs (stash_type 1 or 11); "
             "statistics in double",
    .opsets = {17}};
const struct kiln_op_info kiln_opi_group_normalization = {
    .infer = infer_group_norm, .dtypes = "float32, float64, float16",
    .notes = "scale and bias per group (opset 18) or per channel (21); statistics in double",
    .opsets = {18, 21}};
const struct kiln_op_info kiln_opi_mean_variance_normalization = {
    .infer = infer_mvn, .dtypes = "float32, float64, float16",
    .notes = "any axes; (x - mean) / (std + 1e-9) as the ONNX function", .opsets = {9}};
const struct kiln_op_info kiln_opi_lrn = {
    .infer = infer_lrn, .dtypes = "float32, float64, float16", .notes = "across channels",
    .opsets = {1}};
const struct kiln_op_info kiln_opi_lp_normalization = {
    .infer = infer_lp_norm, .dtypes = "float32, float64, float16", .notes = "p = 1 or 2",
    .opsets = {1}};
