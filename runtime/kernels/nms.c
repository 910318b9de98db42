/* nms.c - NonMaxSuppression: greedy selection per batch and class (runtime/kernels/nms.h),
 * writing [batch, class, box] int64 triples: as many as the output's bound holds (the exact
 * count when the compiler folded the node), and the count as the output's extent. */
#include "kernels.h"
#include "nms.h"

/* Scalar input i as double (int64 max count or float thresholds); def when omitted. */
static double scalar_in(const struct kiln_kernel_args *a, uint32_t i, double def)
{
    if (i >= a->n_in || !a->in[i].data)
        return def;
    const struct kiln_tensor *t = &a->in[i];
    switch (t->dtype) {
    case KILN_DTYPE_I64: return (double)*(const int64_t *)t->data;
    case KILN_DTYPE_I32: return *(const int32_t *)t->data;
    case KILN_DTYPE_F64: return *(const double *)t->data;
    default: return *(const float *)t->data;
    }
}

static void kiln_k_nms(const struct kiln_kernel_args *a)
{
    const struct kiln_p_nms *p = a->params;
    const struct kiln_tensor *boxes = &a->in[0], *scores = &a->in[1];
    int has_score = a->n_in > 4 && a->in[4].data != NULL;
    double max_boxes = scalar_in(a, 2, 0);
    int64_t n = boxes->dims[1];
    int64_t per_class = kiln_nms_per_class(max_boxes, n);
    /* the selection count is this run's extent of output axis 0 (runtime/dims.c) */
    a->out[0].dims[0] = kiln_nms_run(
        boxes->data, scores->data, boxes->dims[0], scores->dims[1], n,
        per_class, (float)scalar_in(a, 3, 0), has_score,
        (float)scalar_in(a, 4, 0), p->center_point_box, a->out[0].data, a->out[0].dims[0],
        a->scratch);
}

KILN_KERNELS(non_max_suppression, KILN_K(kiln_k_nms, F32));
