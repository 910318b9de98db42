/* resize.c - Resize (opsets 10..21; axes, keep_aspect_ratio_policy and antialias when it changes
 * nothing from 18, half_pixel_symmetric from 19) and Upsample (opsets 7..9, deprecated in 10 but accepted;
 * opset 1's experimental form is refused): the import forms that changed (scales as attribute
 * or input, roi/scales/sizes inputs, coordinate modes) all become one struct kiln_p_resize.
 * scales, sizes and roi must be known at compile time. */
#include <math.h>
#include <string.h>

#include "ops.h"

/* Reads a constant float tensor input as doubles; *count = 0 when the input is absent/empty. */
static enum kiln_status const_floats(struct kiln_infer_ctx *c, const struct kiln_ir_node *n,
                                     uint32_t i, const char *what, double *out, int64_t max,
                                     int64_t *count)
{
    struct kiln_ir_value *v = kiln_in(n, i);
    *count = 0;
    if (!v || kiln_ir_value_numel(v) == 0)
        return KILN_STATUS_OK;
    if (!v->data)
        return kiln_not_constant(c, n, v, what, "kiln compiles static shapes only");
    int64_t cnt = kiln_ir_value_numel(v);
    if (cnt > max)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "input '%s' (%s) has %lld values",
                             v->name, what, (long long)cnt);
    for (int64_t k = 0; k < cnt; k++) {
        switch (v->dtype) {
        case KILN_DTYPE_F32: out[k] = ((const float *)v->data)[k]; break;
        case KILN_DTYPE_F64: out[k] = ((const double *)v->data)[k]; break;
        case KILN_DTYPE_F16: out[k] = kiln_f16_to_f32(((const uint16_t *)v->data)[k]); break;
        case KILN_DTYPE_BF16: out[k] = kiln_bf16_to_f32(((const uint16_t *)v->data)[k]); break;
        default:
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "input '%s' (%s) is %s",
                                 v->name, what, kiln_dtype_name(v->dtype));
        }
    }
    *count = cnt;
    return KILN_STATUS_OK;
}

static int lookup(const char *s, const char *const *names)
{
    for (int i = 0; names[i]; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

static enum kiln_status parse_mode(struct kiln_infer_ctx *c, struct kiln_ir_node *n,
                                   struct kiln_p_resize *p)
{
    static const char *const modes[] = {"nearest", "linear", "cubic", "bilinear", NULL};
    const char *m;
    enum kiln_status st = kiln_attr_string(c, n, "mode", "nearest", &m);
    if (st)
        return st;
    int k = lookup(m, modes);
    if (k < 0 || (k == 2 && n->op == KILN_OP_UPSAMPLE))
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "unknown mode '%s'", m);
    p->mode = k == 3 ? KILN_RESIZE_LINEAR : k;
    return KILN_STATUS_OK;
}

/* Output dims and per-axis scales from scales (or sizes); checks counts. */
static enum kiln_status finish(struct kiln_infer_ctx *c, struct kiln_ir_node *n,
                               struct kiln_p_resize *p, const double *scales, int64_t nscales,
                               const int64_t *sizes, int64_t nsizes)
{
    struct kiln_ir_value *x = n->in[0];
    int64_t dims[KILN_MAX_RANK];
    if (nscales && nsizes)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "both scales and sizes are given; only one may be");
    if (!nscales && !nsizes)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "neither scales nor sizes given");
    int64_t cnt = nscales ? nscales : nsizes;
    if (cnt != x->rank)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "%s has %lld values for an input of rank %d",
                             nscales ? "scales" : "sizes", (long long)cnt, x->rank);
    for (int i = 0; i < x->rank; i++) {
        if (nscales) {
            if (!(scales[i] > 0))
                return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                     "scale %g on axis %d must be positive", scales[i], i);
            double f = p->coord == KILN_RESIZE_TF_CROP_AND_RESIZE
                           ? p->roi_end[i] - p->roi_start[i]
                           : 1.0;
            dims[i] = (int64_t)floor((double)x->dims[i] * f * scales[i]);
            p->scales[i] = scales[i];
        } else {
            if (sizes[i] < 0)
                return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                     "size %lld on axis %d is negative", (long long)sizes[i], i);
            dims[i] = sizes[i];
            if (x->dims[i] == 0 && sizes[i] != 0)
                return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                     "cannot resize an empty axis %d to %lld", i,
                                     (long long)sizes[i]);
            p->scales[i] = x->dims[i] ? (double)sizes[i] / (double)x->dims[i] : 1.0;
        }
    }
    uint64_t taps = 0;
    for (int i = 0; i < x->rank; i++)
        taps += (uint64_t)dims[i];
    n->scratch_size = taps * KILN_RESIZE_TAP_BYTES;
    return kiln_set_output(c, n, 0, x->dtype, x->rank, dims);
}

/* Resize-18's attributes: the axes scales/sizes/roi refer to (every axis when absent),
 * antialias and keep_aspect_ratio_policy (0 stretch, 1 not_larger, 2 not_smaller). */
static enum kiln_status resize18_attrs(struct kiln_infer_ctx *c, struct kiln_ir_node *n,
                                       int *ax, int *na, int64_t *antialias, int64_t *policy)
{
    static const char *const policies[] = {"stretch", "not_larger", "not_smaller", NULL};
    int rank = n->in[0]->rank;
    const int64_t *axes = NULL;
    size_t len = 0;
    const char *pol = "stretch";
    enum kiln_status st;
    if (c->g->opset >= 18 &&
        ((st = kiln_attr_int(c, n, "antialias", 0, antialias)) ||
         (st = kiln_attr_ints(c, n, "axes", &axes, &len)) ||
         (st = kiln_attr_string(c, n, "keep_aspect_ratio_policy", "stretch", &pol))))
        return st;
    if ((*policy = lookup(pol, policies)) < 0)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "unknown keep_aspect_ratio_policy '%s'", pol);
    *na = axes ? (int)len : rank;
    if (axes && len > (size_t)rank)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "axes has %zu entries for rank %d",
                             len, rank);
    uint32_t seen = 0;
    for (int k = 0; k < *na; k++) {
        int64_t a = k;
        if (axes && (st = kiln_norm_axis(c, n, axes[k], rank, &a)))
            return st;
        if ((seen >> a) & 1)
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "axis %lld is repeated",
                                 (long long)a);
        seen |= 1u << a;
        ax[k] = (int)a;
    }
    return KILN_STATUS_OK;
}

static const int resize_dtypes[] = {KILN_DTYPE_F32, KILN_DTYPE_F64, KILN_DTYPE_F16,
                                    KILN_DTYPE_BF16, KILN_DTYPE_U8, KILN_DTYPE_I8,
                                    KILN_DTYPE_I32, 0};

static enum kiln_status infer_resize(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    struct kiln_ir_value *x = n->in[0];
    enum kiln_status st;
    if ((st = kiln_check_dtype(c, n, 0, resize_dtypes)))
        return st;
    struct kiln_p_resize *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    if ((st = parse_mode(c, n, p)))
        return st;
    double scales[KILN_MAX_RANK];
    int64_t nscales = 0, nsizes = 0, *sizes = NULL;
    if (c->g->opset < 11) { /* Resize-10: Upsample semantics */
        p->coord = KILN_RESIZE_ASYMMETRIC;
        p->nearest = KILN_RESIZE_FLOOR;
        if ((st = const_floats(c, n, 1, "scales", scales, KILN_MAX_RANK, &nscales)))
            return st;
        return finish(c, n, p, scales, nscales, NULL, 0);
    }
    static const char *const coords[] = {"half_pixel",           "pytorch_half_pixel",
                                         "align_corners",        "asymmetric",
                                         "tf_half_pixel_for_nn", "tf_crop_and_resize",
                                         "half_pixel_symmetric", NULL};
    static const char *const nearests[] = {"round_prefer_floor", "round_prefer_ceil", "floor",
                                           "ceil", NULL};
    const char *cm, *nm;
    int64_t excl;
    if ((st = kiln_attr_string(c, n, "coordinate_transformation_mode", "half_pixel", &cm)) ||
        (st = kiln_attr_string(c, n, "nearest_mode", "round_prefer_floor", &nm)) ||
        (st = kiln_attr_float(c, n, "cubic_coeff_a", -0.75f, &p->cubic_a)) ||
        (st = kiln_attr_int(c, n, "exclude_outside", 0, &excl)) ||
        (st = kiln_attr_float(c, n, "extrapolation_value", 0.0f, &p->extrapolation)))
        return st;
    if ((p->coord = lookup(cm, coords)) < 0 ||
        (p->coord == KILN_RESIZE_HALF_PIXEL_SYMMETRIC && c->g->opset < 19))
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "unknown coordinate_transformation_mode '%s' at opset %lld", cm,
                             (long long)c->g->opset);
    int ax[KILN_MAX_RANK], na = 0;
    int64_t antialias = 0, policy = 0;
    if ((st = resize18_attrs(c, n, ax, &na, &antialias, &policy)))
        return st;
    if ((p->nearest = lookup(nm, nearests)) < 0)
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "unknown nearest_mode '%s'", nm);
    p->exclude_outside = excl != 0;
    for (int i = 0; i < KILN_MAX_RANK; i++)
        p->roi_end[i] = 1.0;
    if (p->coord == KILN_RESIZE_TF_CROP_AND_RESIZE) {
        double roi[2 * KILN_MAX_RANK];
        int64_t nroi;
        if ((st = const_floats(c, n, 1, "roi", roi, 2 * KILN_MAX_RANK, &nroi)))
            return st;
        if (nroi != 2 * na)
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                                 "tf_crop_and_resize needs a roi of %d values, got %lld", 2 * na,
                                 (long long)nroi);
        for (int k = 0; k < na; k++) {
            p->roi_start[ax[k]] = roi[k];
            p->roi_end[ax[k]] = roi[na + k];
        }
    }
    double part[KILN_MAX_RANK];
    int64_t npart = 0, *psizes = NULL;
    if ((st = const_floats(c, n, 2, "scales", part, KILN_MAX_RANK, &npart)))
        return st;
    struct kiln_ir_value *sz = kiln_in(n, 3);
    if (sz && kiln_ir_value_numel(sz) > 0 &&
        (st = kiln_const_ints(c, n, 3, "sizes", &psizes, &nsizes)))
        return st;
    if ((npart && npart != na) || (nsizes && nsizes != na))
        return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL,
                             "%s has %lld values for %d axes", npart ? "scales" : "sizes",
                             (long long)(npart ? npart : nsizes), na);
    /* the axes not listed keep their extent (scale 1) */
    int64_t full[KILN_MAX_RANK];
    for (int i = 0; i < x->rank; i++)
        scales[i] = 1, full[i] = x->dims[i];
    for (int k = 0; k < na; k++) {
        if (npart)
            scales[ax[k]] = part[k];
        if (nsizes)
            full[ax[k]] = psizes[k];
    }
    /* keep_aspect_ratio_policy: one scale for every listed axis, the largest that fits in
     * sizes (not_larger) or the smallest that covers them (not_smaller) */
    double keep = policy == 1 ? INFINITY : 0;
    for (int k = 0; nsizes && policy && k < na; k++) {
        double s = x->dims[ax[k]] ? (double)psizes[k] / (double)x->dims[ax[k]] : 1;
        keep = policy == 1 ? fmin(keep, s) : fmax(keep, s);
    }
    for (int k = 0; nsizes && policy && k < na; k++)
        full[ax[k]] = (int64_t)floor(keep * (double)x->dims[ax[k]] + 0.5);
    if (npart)
        nscales = x->rank;
    else if (nsizes)
        sizes = full, nsizes = x->rank;
    if ((st = finish(c, n, p, scales, nscales, sizes, nsizes)))
        return st;
    for (int k = 0; nsizes && policy && k < na; k++)
        p->scales[ax[k]] = keep;
    for (int i = 0; antialias && p->mode != KILN_RESIZE_NEAREST && i < x->rank; i++)
        if (p->scales[i] < 1)
            return kiln_op_error(c, n, KILN_STATUS_UNSUPPORTED,
                                 "antialias=1 when downscaling (axis %d, scale %g) is not "
                                 "implemented by kiln; set antialias=0 or resize up",
                                 i, p->scales[i]);
    return KILN_STATUS_OK;
}

static enum kiln_status infer_upsample(struct kiln_infer_ctx *c, struct kiln_ir_node *n)
{
    enum kiln_status st;
    if ((st = kiln_check_since(c, n, "experimental form (height_scale, width_scale)")) ||
        (st = kiln_check_dtype(c, n, 0, resize_dtypes)))
        return st;
    struct kiln_p_resize *p = kiln_node_params(c, n, sizeof *p);
    if (!p)
        return kiln_op_error(c, n, KILN_STATUS_NO_MEMORY, "out of memory");
    if ((st = parse_mode(c, n, p)))
        return st;
    p->coord = KILN_RESIZE_ASYMMETRIC;
    p->nearest = KILN_RESIZE_FLOOR;
    double scales[KILN_MAX_RANK];
    int64_t nscales = 0;
    if (kiln_in(n, 1)) {
        if ((st = const_floats(c, n, 1, "scales", scales, KILN_MAX_RANK, &nscales)))
            return st;
    } else {
        const float *fs;
        size_t len;
        if ((st = kiln_attr_floats(c, n, "scales", &fs, &len)))
            return st;
        if (len > KILN_MAX_RANK)
            return kiln_op_error(c, n, KILN_STATUS_INVALID_MODEL, "too many scales");
        for (size_t i = 0; i < len; i++)
            scales[i] = fs[i];
        nscales = (int64_t)len;
    }
    return finish(c, n, p, scales, nscales, NULL, 0);
}

const struct kiln_op_info kiln_opi_resize = {
    .infer = infer_resize, .dtypes = "float32, float64, float16, bfloat16, uint8, int8, int32",
    .notes = "modes nearest, linear, cubic; every coordinate_transformation_mode and "
             "nearest_mode; roi, scales and sizes must be constant",
    .opsets = {10, 11, 13, 18, 19}};
const struct kiln_op_info kiln_opi_upsample = {
    .infer = infer_upsample, .dtypes = "float32, float64, float16, bfloat16, uint8, int8, int32",
    .notes = "nearest and linear, asymmetric coordinates; deprecated in opset 10 (kiln still "
             "accepts it); opset 1's experimental form (height_scale, width_scale) is refused",
    .opsets = {7, 9}};
