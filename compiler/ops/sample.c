/* sample.c - the ops that sample a feature map at computed, fractional positions, and the
 * grids they sample at: AffineGrid (opset 20: 2-D and 3-D), GridSample (opset 16: bilinear/
 * nearest/bicubic, zeros/border/reflection padding, align_corners; opset 20's names linear/
 * cubic, 4-D only) and RoiAlign (opsets 10 and 16: avg/max, half_pixel/output_half_pixel).
 * Kernels in runtime/kernels/sample.c. */
#include <stdio.h>
#include <string.h>

#include "ops.h"

/* Index of s in the NULL-terminated names, or an error listing them. */
static enum kiln_status pick(struct kiln_infer_ctx *c, const struct kiln_ir_node *n,
                             const char *attr, const char *s, const char *const *names,
                             int32_t *out)
{
    for (int32_t i = 0; names[i]; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return KILN_STATUS_OK;
        }
    char list[128] = "";
    for (size_t i = 0, off = 0; names[i] && off < sizeof list; i++)
        off += (size_t)snprintf(list + off, sizeof list - off, "%s%s", i ? ", " : "", names[i]);
    return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "%s '%s' is not one of %s", attr, s,
                         list);
}

static enum kiln_status infer_grid_sample(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    /* opset 20 renamed the modes (linear, cubic) as it made the op N-d */
    static const char *const modes16[] = {"bilinear", "nearest", "bicubic", NULL};
    static const char *const modes20[] = {"linear", "nearest", "cubic", NULL};
    static const char *const paddings[] = {"zeros", "border", "reflection", NULL};
    bool v20 = c->g->opset >= 20;
    struct kiln_ir_value *x, *grid;
    enum kiln_status st;
    const char *mode, *padding;
    int64_t align;
    if ((st = kiln_need_input(c, n, 0, &x)) || (st = kiln_need_input(c, n, 1, &grid)) ||
        (st = kiln_check_dtype(c, n, 0, kiln_dtypes_ieee)) ||
        (st = kiln_check_same_dtype(c, n, 0, 1)) ||
        (st = kiln_attr_string(c, n, "mode", v20 ? "linear" : "bilinear", &mode)) ||
        (st = kiln_attr_string(c, n, "padding_mode", "zeros", &padding)) ||
        (st = kiln_attr_int(c, n, "align_corners", 0, &align)))
        return st;
    if (x->rank != 4)
        return kiln_op_error(c, n, KILN_STATUS_UNSUPPORTED,
                             "input '%s' has rank %d; kiln supports the 4-D form [N, C, H, W] "
                             "only (opset 20's N-d form with %d spatial axes is not implemented)",
                             x->name, x->rank, x->rank - 2);
    if (grid->rank != 4 || grid->dims[0] != x->dims[0] || grid->dims[3] != 2)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "grid '%s' must be [N, H_out, W_out, 2] with N = %lld", grid->name,
                             (long long)x->dims[0]);
    struct kiln_p_grid_sample *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    if ((st = pick(c, n, "mode", mode, v20 ? modes20 : modes16, &p->mode)) ||
        (st = pick(c, n, "padding_mode", padding, paddings, &p->padding)))
        return st;
    p->align_corners = align != 0;
    int64_t dims[4] = {x->dims[0], x->dims[1], grid->dims[1], grid->dims[2]};
    return kiln_set_output(c, n, 0, x->dtype, 4, dims);
}

static enum kiln_status infer_roi_align(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    static const char *const modes[] = {"avg", "max", NULL};
    static const char *const coords[] = {"output_half_pixel", "half_pixel", NULL};
    struct kiln_ir_value *x, *rois, *bi;
    enum kiln_status st;
    const char *mode, *coord;
    int64_t oh, ow, ratio;
    float scale;
    if ((st = kiln_need_input(c, n, 0, &x)) || (st = kiln_need_input(c, n, 1, &rois)) ||
        (st = kiln_need_input(c, n, 2, &bi)) ||
        (st = kiln_check_dtype(c, n, 0, kiln_dtypes_ieee)) ||
        (st = kiln_check_same_dtype(c, n, 0, 1)) ||
        (st = kiln_check_dtype(c, n, 2, kiln_dtypes_index)) ||
        (st = kiln_attr_string(c, n, "mode", "avg", &mode)) ||
        (st = kiln_attr_string(c, n, "coordinate_transformation_mode",
                               c->g->opset >= 16 ? "half_pixel" : "output_half_pixel", &coord)) ||
        (st = kiln_attr_int(c, n, "output_height", 1, &oh)) ||
        (st = kiln_attr_int(c, n, "output_width", 1, &ow)) ||
        (st = kiln_attr_int(c, n, "sampling_ratio", 0, &ratio)) ||
        (st = kiln_attr_float(c, n, "spatial_scale", 1.0f, &scale)))
        return st;
    if (x->rank != 4)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "input '%s' has rank %d; expected [N, C, H, W]", x->name, x->rank);
    if (rois->rank != 2 || rois->dims[1] != 4 || bi->rank != 1 || bi->dims[0] != rois->dims[0])
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "rois '%s' must be [num_rois, 4] and batch_indices '%s' "
                             "[num_rois]",
                             rois->name, bi->name);
    if (oh < 1 || ow < 1 || ratio < 0 || ratio > INT32_MAX)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "output_height %lld, output_width %lld and sampling_ratio %lld: "
                             "the sizes must be positive and the ratio not negative",
                             (long long)oh, (long long)ow, (long long)ratio);
    struct kiln_p_roi_align *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    if ((st = pick(c, n, "mode", mode, modes, &p->mode)) ||
        (st = pick(c, n, "coordinate_transformation_mode", coord, coords, &p->half_pixel)))
        return st;
    p->sampling_ratio = (int32_t)ratio;
    p->spatial_scale = scale;
    int64_t dims[4] = {rois->dims[0], x->dims[1], oh, ow};
    return kiln_set_output(c, n, 0, x->dtype, 4, dims);
}

/* AffineGrid: theta [N, 2, 3] with size [N, C, H, W], or [N, 3, 4] with [N, C, D, H, W] */
static enum kiln_status infer_affine_grid(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    struct kiln_ir_value *theta;
    enum kiln_status st;
    int64_t *size, ns, align;
    if ((st = kiln_need_input_of(c, n, 0, kiln_dtypes_ieee, &theta)) ||
        (st = kiln_const_ints(c, n, 1, "size", &size, &ns)) ||
        (st = kiln_attr_int(c, n, "align_corners", 0, &align)))
        return st;
    int nsp = (int)ns - 2;
    if ((nsp != 2 && nsp != 3) || theta->rank != 3 || theta->dims[0] != size[0] ||
        theta->dims[1] != nsp || theta->dims[2] != nsp + 1)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "theta '%s' must be [N, 2, 3] with a size of 4 values or [N, 3, 4] "
                             "with 5, N = size[0]",
                             theta->name);
    int64_t dims[5] = {size[0]};
    for (int i = 0; i < nsp; i++) {
        if (size[2 + i] < 0)
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "size has a negative extent");
        dims[1 + i] = size[2 + i];
    }
    dims[1 + nsp] = nsp;
    struct kiln_p_affine_grid *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    p->align_corners = align != 0;
    return kiln_set_output(c, n, 0, theta->dtype, nsp + 2, dims);
}

const struct kiln_op_info kiln_opi_affine_grid = {
    .infer = infer_affine_grid, .dtypes = "float32, float64, float16",
    .notes = "2-D and 3-D; the size input must be constant", .opsets = {20}};
const struct kiln_op_info kiln_opi_grid_sample = {
    .infer = infer_grid_sample, .dtypes = "float32, float64, float16",
    .notes = "4-D only (opset 20's 5-D form refused); bilinear/linear, nearest, bicubic/cubic; "
             "zeros, border, reflection; align_corners",
    .opsets = {16, 20}};
const struct kiln_op_info kiln_opi_roi_align = {
    .infer = infer_roi_align, .dtypes = "float32, float64, float16",
    .notes = "opsets 10 and 16; avg and max; half_pixel and output_half_pixel", .opsets = {10, 16}};
