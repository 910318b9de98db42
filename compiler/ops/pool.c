/* pool.c - MaxPool, AveragePool, LpPool and the global pools (average, max, Lp): attribute
 * parsing for opsets 1..21 (ceil_mode and dilations from opset 10, AveragePool's dilations
 * from 19, LpPool's ceil_mode from 18, storage_order from 8), output
 * shapes, and the optional int64 Indices output of MaxPool. Kernels in runtime/kernels/pool.c. */
#include "nn.h"

static const int max_pool_dtypes[] = {KILN_DTYPE_F32, KILN_DTYPE_F64, KILN_DTYPE_F16,
                                      KILN_DTYPE_I8,  KILN_DTYPE_U8,  0};

static enum kiln_status infer_window_pool(struct kiln_infer_ctx *c, struct kiln_ir_node *n,
                                          bool is_max)
{
    struct kiln_ir_value *x;
    enum kiln_status st;
    if ((st = kiln_need_input_of(c, n, 0, is_max ? max_pool_dtypes : kiln_dtypes_ieee, &x)))
        return st;
    int64_t ceil_mode = 0, count_include_pad = 0, storage_order = 0;
    if ((st = kiln_attr_int(c, n, "ceil_mode", 0, &ceil_mode)) ||
        (st = kiln_attr_int(c, n, "count_include_pad", 0, &count_include_pad)) ||
        (st = kiln_attr_int(c, n, "storage_order", 0, &storage_order)))
        return st;
    struct kiln_window w;
    /* AveragePool has dilations only from opset 19; accepting them earlier is harmless */
    if ((st = kiln_window_infer(c, n, x, NULL, ceil_mode != 0, true, &w)))
        return st;
    struct kiln_p_pool *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    p->nsp = w.nsp;
    p->count_include_pad = !is_max && count_include_pad != 0;
    p->storage_order = is_max && storage_order != 0;
    int64_t dims[KILN_MAX_RANK] = {x->dims[0], x->dims[1]};
    p->win = w.geom;
    for (int i = 0; i < w.nsp; i++)
        dims[2 + i] = w.out[i];
    if ((st = kiln_set_output(c, n, 0, x->dtype, x->rank, dims)))
        return st;
    return kiln_set_output(c, n, 1, KILN_DTYPE_I64, x->rank, dims);
}

static enum kiln_status infer_max_pool(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    return infer_window_pool(c, n, true);
}

static enum kiln_status infer_average_pool(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    return infer_window_pool(c, n, false);
}

/* LpPool/GlobalLpPool's p: an int from opset 2 (a float in opset 1, read the same way). */
static enum kiln_status lp_pool_params(struct kiln_infer_ctx *c, struct kiln_ir_node *n,
                                       struct kiln_p_lp_pool **out)
{
    int64_t pv = 2;
    enum kiln_status st;
    const struct kiln_ir_attr *a = kiln_ir_attr(n, "p");
    if (a && a->type == KILN_ATTR_FLOAT)
        pv = (int64_t)a->f;
    else if ((st = kiln_attr_int(c, n, "p", 2, &pv)))
        return st;
    if (pv < 1 || pv > 64)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "p is %lld; expected 1 to 64",
                             (long long)pv);
    struct kiln_p_lp_pool *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    p->p = (int32_t)pv;
    *out = p;
    return KILN_STATUS_OK;
}

static enum kiln_status infer_lp_pool(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    struct kiln_ir_value *x;
    enum kiln_status st;
    int64_t ceil_mode = 0;
    struct kiln_p_lp_pool *p;
    struct kiln_window w;
    if ((st = kiln_need_input_of(c, n, 0, kiln_dtypes_ieee, &x)) ||
        (st = kiln_attr_int(c, n, "ceil_mode", 0, &ceil_mode)) ||
        (st = kiln_window_infer(c, n, x, NULL, ceil_mode != 0, true, &w)) ||
        (st = lp_pool_params(c, n, &p)))
        return st;
    p->pool.nsp = w.nsp;
    p->pool.win = w.geom;
    int64_t dims[KILN_MAX_RANK] = {x->dims[0], x->dims[1]};
    for (int i = 0; i < w.nsp; i++)
        dims[2 + i] = w.out[i];
    return kiln_set_output(c, n, 0, x->dtype, x->rank, dims);
}

static enum kiln_status infer_global_pool(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    struct kiln_ir_value *x;
    enum kiln_status st;
    if ((st = kiln_need_input_of(c, n, 0, kiln_dtypes_ieee, &x)))
        return st;
    if (x->rank < 3)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "input '%s' has rank %d; expected [N, C, D1...Dk]", x->name,
                             x->rank);
    int64_t dims[KILN_MAX_RANK];
    for (int i = 0; i < x->rank; i++)
        dims[i] = i < 2 ? x->dims[i] : 1;
    for (int i = 2; i < x->rank; i++)
        if (x->dims[i] == 0)
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                 "input '%s' has an empty spatial dimension", x->name);
    struct kiln_p_lp_pool *p;
    if (n->op == KILN_OP_GLOBAL_LP_POOL && (st = lp_pool_params(c, n, &p)))
        return st;
    return kiln_set_output(c, n, 0, x->dtype, x->rank, dims);
}

const struct kiln_op_info kiln_opi_max_pool = {
    .infer = infer_max_pool, .dtypes = "float32, float64, float16, int8, uint8",
    .notes = "1-3 spatial dims; dilations, ceil_mode, auto_pad, storage_order, Indices output",
    .opsets = {1, 8, 10}};
const struct kiln_op_info kiln_opi_average_pool = {
    .infer = infer_average_pool, .dtypes = "float32, float64, float16",
    .notes = "1-3 spatial dims; count_include_pad, ceil_mode, auto_pad, dilations (opset 19)",
    .opsets = {1, 7, 10, 19}};
const struct kiln_op_info kiln_opi_global_average_pool = {
    .infer = infer_global_pool, .dtypes = "float32, float64, float16", .notes = "any spatial rank",
    .opsets = {1}};
const struct kiln_op_info kiln_opi_global_max_pool = {
    .infer = infer_global_pool, .dtypes = "float32, float64, float16", .notes = "any spatial rank",
    .opsets = {1}};
const struct kiln_op_info kiln_opi_lp_pool = {
    .infer = infer_lp_pool, .dtypes = "float32, float64, float16",
    .notes = "1-3 spatial dims; auto_pad, dilations, ceil_mode (opset 18)",
    .opsets = {1, 2, 18}};
const struct kiln_op_info kiln_opi_global_lp_pool = {
    .infer = infer_global_pool, .dtypes = "float32, float64, float16", .notes = "any spatial rank",
    .opsets = {1, 2}};
